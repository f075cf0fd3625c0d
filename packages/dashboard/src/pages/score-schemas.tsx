import { useEffect, useState } from 'react';
import { api, ApiError } from '../api.js';
import { useActors } from '../components/actors.js';
import { RatingExtras, Rubric, ScoreControl, startValue } from '../components/score-control.js';
import { actorLabel, fmtTime } from '../format.js';
import { navigate, useLocation } from '../router.js';
import {
  archiveSchema,
  byName,
  getSchema,
  labelFor,
  listSchemas,
  putSchema,
  SCORE_AGGREGATES,
  SCORE_KINDS,
  type ScoreAggregate,
  type ScoreKind,
  type ScoreSchema,
  type ScoreSchemaDef,
} from '../score-schemas.js';

/** The editor's fields as the inputs hold them (numbers as text, reasons one per line). */
interface Draft {
  name: string;
  kind: ScoreKind;
  description: string;
  rubric: string;
  higher_is_better: boolean;
  min: string;
  max: string;
  labels: { label: string; value: string }[];
  reasons: string;
  comment_required_below: string;
  aggregate: ScoreAggregate;
}

const DEFAULT_LABELS: Record<ScoreKind, { label: string; value: string }[]> = {
  numeric: [],
  categorical: [
    { label: 'good', value: '100' },
    { label: 'ok', value: '50' },
    { label: 'bad', value: '0' },
  ],
  boolean: [
    { label: 'yes', value: '100' },
    { label: 'no', value: '0' },
  ],
};

const emptyDraft = (): Draft => ({
  name: '',
  kind: 'numeric',
  description: '',
  rubric: '',
  higher_is_better: true,
  min: '0',
  max: '100',
  labels: DEFAULT_LABELS.categorical,
  reasons: '',
  comment_required_below: '',
  aggregate: 'latest',
});

const draftOf = (s: ScoreSchema): Draft => ({
  name: s.name,
  kind: s.kind,
  description: s.description ?? '',
  rubric: s.rubric ?? '',
  higher_is_better: s.higher_is_better,
  min: String(s.min),
  max: String(s.max),
  labels: s.labels ? s.labels.map((l) => ({ label: l.label, value: String(l.value) })) : DEFAULT_LABELS.categorical,
  reasons: s.reasons.join('\n'),
  comment_required_below: s.comment_required_below === null ? '' : String(s.comment_required_below),
  aggregate: s.aggregate,
});

const int = (v: string): number => (v.trim() === '' ? NaN : Number(v));

/** The definition a draft sends: only the fields its kind takes. */
function defOf(d: Draft): ScoreSchemaDef {
  const labels = d.kind === 'numeric' ? null : d.labels.map((l) => ({ label: l.label.trim(), value: int(l.value) }));
  return {
    kind: d.kind,
    description: d.description.trim() || null,
    rubric: d.rubric.trim() || null,
    higher_is_better: d.higher_is_better,
    min: d.kind === 'numeric' ? int(d.min) : (null as unknown as number),
    max: d.kind === 'numeric' ? int(d.max) : (null as unknown as number),
    labels,
    reasons: d.reasons
      .split('\n')
      .map((r) => r.trim())
      .filter(Boolean),
    comment_required_below: d.comment_required_below.trim() === '' ? null : int(d.comment_required_below),
    aggregate: d.aggregate,
  };
}

/** The schema the preview renders: the draft with whatever is not yet a number left at its default. */
function previewOf(d: Draft): ScoreSchemaDef {
  const def = defOf(d);
  const ok = (n: number, dflt: number) => (Number.isInteger(n) && n >= 0 && n <= 100 ? n : dflt);
  const labels = def.labels?.filter((l) => l.label && Number.isInteger(l.value)) ?? null;
  return {
    ...def,
    min: d.kind === 'numeric' ? ok(def.min, 0) : Math.min(...(labels ?? []).map((l) => l.value), 100),
    max: d.kind === 'numeric' ? ok(def.max, 100) : Math.max(...(labels ?? []).map((l) => l.value), 0),
    labels,
    comment_required_below: def.comment_required_below === null || !Number.isInteger(def.comment_required_below) ? null : def.comment_required_below,
  };
}

const AGGREGATE_HELP: Record<ScoreAggregate, string> = {
  latest: 'latest: the last rating is the score (PromptLayer’s behaviour)',
  mean: 'mean: the mean of every rater’s current rating, rounded',
  median: 'median: the median of the raters’ ratings, rounded',
  adjudicated: 'adjudicated: the last adjudication; until then the median',
};

/** One line that says what a version allows: its range or labels, and its aggregate. */
function summary(s: ScoreSchemaDef): string {
  const values = s.kind === 'numeric' ? `${s.min}..${s.max}` : (s.labels ?? []).map((l) => `${l.label}=${l.value}`).join(', ');
  return `${s.kind} ${values} · ${s.aggregate}${s.reasons.length ? ` · ${s.reasons.length} reason${s.reasons.length === 1 ? '' : 's'}` : ''}${s.comment_required_below !== null ? ` · comment below ${s.comment_required_below}` : ''}`;
}

function Preview({ draft }: { draft: Draft }) {
  const schema = previewOf(draft);
  const name = draft.name.trim() || 'score';
  const kindKey = `${schema.kind}:${schema.min}:${schema.max}:${(schema.labels ?? []).map((l) => l.value).join(',')}`;
  const [value, setValue] = useState<number | null>(startValue(schema));
  const [comment, setComment] = useState('');
  const [reasons, setReasons] = useState<string[]>([]);
  useEffect(() => setValue(startValue(schema)), [kindKey]);
  const label = value === null ? null : labelFor(schema, value);
  return (
    <section className="card schema-preview" aria-label="Preview">
      <h2>Preview</h2>
      <p className="muted">How raters will see {name} on a request and in review mode. Try it: nothing is saved.</p>
      <Rubric schema={schema} open />
      <ScoreControl name={name} schema={schema} value={value} onChange={setValue} keyHints />
      <RatingExtras name={name} schema={schema} value={value} comment={comment} onComment={setComment} reasons={reasons} onReasons={setReasons} />
      <p className="preview-result" data-testid="preview-result">
        {value === null ? 'No label picked yet.' : `Would be stored as ${value}${label ? ` (${label})` : ''}; ${schema.higher_is_better ? 'higher is better' : 'lower is better'}.`}
      </p>
    </section>
  );
}

function LabelsEditor({ draft, set }: { draft: Draft; set: (d: Draft) => void }) {
  const rows = draft.labels;
  const setRow = (i: number, row: Partial<{ label: string; value: string }>) => set({ ...draft, labels: rows.map((r, j) => (j === i ? { ...r, ...row } : r)) });
  const fixed = draft.kind === 'boolean';
  return (
    <fieldset className="labels-editor">
      <legend>{fixed ? 'Labels (one for 100, one for 0)' : 'Labels and the value each stores'}</legend>
      {rows.map((r, i) => (
        <div key={i} className="label-row">
          <label>
            Label {i + 1}
            <input value={r.label} maxLength={128} onChange={(e) => setRow(i, { label: e.target.value })} aria-label={`Label ${i + 1}`} />
          </label>
          <label>
            Value
            <input
              type="number"
              min={0}
              max={100}
              step={1}
              value={r.value}
              readOnly={fixed}
              onChange={(e) => setRow(i, { value: e.target.value })}
              aria-label={`Value of label ${i + 1}`}
            />
          </label>
          {!fixed && (
            <button type="button" aria-label={`Remove label ${i + 1}`} disabled={rows.length < 2} onClick={() => set({ ...draft, labels: rows.filter((_, j) => j !== i) })}>
              Remove
            </button>
          )}
        </div>
      ))}
      {!fixed && (
        <button type="button" disabled={rows.length >= 50} onClick={() => set({ ...draft, labels: [...rows, { label: '', value: '' }] })}>
          Add label
        </button>
      )}
    </fieldset>
  );
}

function Editor({ initial, isNew, existing, onSaved }: { initial: Draft; isNew: boolean; existing: string[]; onSaved: (name: string, note: string) => void }) {
  const [d, set] = useState<Draft>(initial);
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const setKind = (kind: ScoreKind) => set({ ...d, kind, labels: kind === 'numeric' ? d.labels : kind === 'boolean' ? DEFAULT_LABELS.boolean : d.labels.length && d.kind === 'categorical' ? d.labels : DEFAULT_LABELS.categorical });
  return (
    <div className="schema-editor">
      <form
        className="card schema-form"
        aria-label={isNew ? 'New score schema' : `Edit ${d.name}`}
        onSubmit={async (e) => {
          e.preventDefault();
          const name = d.name.trim();
          if (!name) return setError({ message: 'name: give the score name this schema is for', field: 'name' });
          if (isNew && existing.includes(name)) return setError({ message: `name: "${name}" already has a schema; pick it in the list to edit it`, field: 'name' });
          setError(null);
          try {
            const r = await putSchema(name, defOf(d));
            onSaved(name, r.created ? `Saved ${name}: version ${r.schema.version}` : `No change: version ${r.schema.version} is already this definition`);
          } catch (err) {
            const body = err instanceof ApiError ? (err.body as { field?: string } | null) : null;
            setError({ message: (err as Error).message, field: body?.field });
          }
        }}
      >
        <h2>{isNew ? 'New score schema' : `Edit ${d.name}`}</h2>
        {isNew && (
          <label className="wide">
            Score name
            <input name="schema-name" value={d.name} maxLength={512} placeholder="e.g. helpfulness" onChange={(e) => set({ ...d, name: e.target.value })} aria-invalid={error?.field === 'name'} />
          </label>
        )}
        <fieldset className="kind-picker">
          <legend>Kind</legend>
          {SCORE_KINDS.map((k) => (
            <label key={k} className="radio">
              <input type="radio" name="kind" value={k} checked={d.kind === k} onChange={() => setKind(k)} />
              {k === 'numeric' ? 'Numeric (a range)' : k === 'categorical' ? 'Categorical (labels)' : 'Boolean (two labels)'}
            </label>
          ))}
        </fieldset>
        <label className="wide">
          Description
          <input value={d.description} maxLength={1024} placeholder="one line: what this score measures" onChange={(e) => set({ ...d, description: e.target.value })} />
        </label>
        <label className="wide">
          Rubric
          <textarea value={d.rubric} rows={4} maxLength={16384} placeholder="how to score, shown to raters" onChange={(e) => set({ ...d, rubric: e.target.value })} />
        </label>
        {d.kind === 'numeric' ? (
          <div className="form-row">
            <label>
              Min
              <input type="number" min={0} max={100} step={1} value={d.min} onChange={(e) => set({ ...d, min: e.target.value })} aria-invalid={error?.field === 'min'} />
            </label>
            <label>
              Max
              <input type="number" min={0} max={100} step={1} value={d.max} onChange={(e) => set({ ...d, max: e.target.value })} aria-invalid={error?.field === 'max'} />
            </label>
          </div>
        ) : (
          <LabelsEditor draft={d} set={set} />
        )}
        <label className="wide">
          Reasons (one per line)
          <textarea value={d.reasons} rows={3} placeholder={'hallucination\noff-topic'} onChange={(e) => set({ ...d, reasons: e.target.value })} aria-invalid={error?.field?.startsWith('reasons') ?? false} />
        </label>
        <div className="form-row">
          <label>
            Comment required below
            <input type="number" min={0} max={101} step={1} value={d.comment_required_below} placeholder="never" onChange={(e) => set({ ...d, comment_required_below: e.target.value })} />
          </label>
          <label>
            Aggregate
            <select value={d.aggregate} onChange={(e) => set({ ...d, aggregate: e.target.value as ScoreAggregate })}>
              {SCORE_AGGREGATES.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label className="check">
            <input type="checkbox" checked={d.higher_is_better} onChange={(e) => set({ ...d, higher_is_better: e.target.checked })} />
            Higher is better
          </label>
        </div>
        <p className="muted help">{AGGREGATE_HELP[d.aggregate]}</p>
        {error && (
          <p role="alert" className="error">
            {error.message}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="primary">
            {isNew ? 'Create schema' : 'Save as a new version'}
          </button>
        </div>
      </form>
      <Preview draft={d} />
    </div>
  );
}

function Versions({ versions }: { versions: ScoreSchema[] }) {
  const { members, keys } = useActors();
  return (
    <section className="card" aria-label="Versions">
      <h2>Versions</h2>
      <table className="versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Saved</th>
            <th scope="col">By</th>
            <th scope="col">Definition</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} data-version={v.version}>
              <td>
                v{v.version}
                {v.archived_at && <span className="tag">archived</span>}
              </td>
              <td className="nowrap">{fmtTime(v.created_at)}</td>
              <td>{actorLabel(v.created_by, members, keys)}</td>
              <td>
                {summary(v)}
                {v.description && <div className="muted">{v.description}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * Score schemas: what each score name means. The list on the left; on the right the schema picked
 * (its editor, a live preview of the control raters will get, and every version), or a new one.
 */
export function ScoreSchemasPage() {
  const loc = useLocation();
  const selected = loc.query.get('name');
  const isNew = loc.query.get('new') !== null || selected === null;
  const [showArchived, setShowArchived] = useState(false);
  const [list, setList] = useState<ScoreSchema[] | null>(null);
  const [detail, setDetail] = useState<{ schema: ScoreSchema | null; versions: ScoreSchema[] } | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [strict, setStrict] = useState<boolean | null>(null);
  const [n, setN] = useState(0);

  useEffect(() => {
    listSchemas(showArchived).then(
      (l) => setList(l.sort((a, b) => byName(a.name, b.name))),
      (e: Error) => (setError(e.message), setList([])),
    );
  }, [showArchived, n]);
  useEffect(() => {
    api<{ workspace: { strict_score_names: boolean } }>('GET', '/v1/workspace').then(
      (r) => setStrict(r.workspace.strict_score_names),
      () => setStrict(null),
    );
  }, []);
  useEffect(() => {
    setDetail(null);
    if (!selected) return;
    getSchema(selected).then(
      (r) => setDetail(r),
      (e: Error) => setError(e.message),
    );
  }, [selected, n]);

  const pick = (name: string | null) => {
    setStatus(null);
    setError(null);
    navigate(name === null ? '/score-schemas?new' : `/score-schemas?${new URLSearchParams([['name', name]])}`);
  };
  const current = detail?.schema ?? null;
  const editing = !isNew && detail;
  return (
    <div className="page schemas-page">
      <div className="page-head">
        <h1>Score schemas</h1>
        <div className="head-actions">
          <label className="check">
            <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} />
            Show archived
          </label>
          {strict !== null && (
            <label className="check" title="When on, a score under a name with no schema is refused">
              <input
                type="checkbox"
                checked={strict}
                onChange={async (e) => {
                  const want = e.target.checked;
                  try {
                    const r = await api<{ workspace: { strict_score_names: boolean } }>('PATCH', '/v1/workspace', { strict_score_names: want });
                    setStrict(r.workspace.strict_score_names);
                    setStatus(want ? 'Strict names on: scores under names with no schema are refused' : 'Strict names off: any name may be scored');
                  } catch (err) {
                    setError((err as Error).message);
                  }
                }}
              />
              Only names with a schema
            </label>
          )}
          <button type="button" className="primary" onClick={() => pick(null)}>
            New schema
          </button>
        </div>
      </div>
      {status && (
        <p role="status" className="status">
          {status}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="schemas-layout">
        <nav className="card schema-list" aria-label="Schemas">
          {list === null ? (
            <p className="muted">Loading…</p>
          ) : list.length === 0 ? (
            <p className="muted">No schemas yet. Any name can still be scored 0..100; a schema gives one meaning.</p>
          ) : (
            <ul>
              {list.map((s) => (
                <li key={s.name} className={s.name === selected ? 'active' : ''}>
                  <a
                    href={`/score-schemas?name=${encodeURIComponent(s.name)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      pick(s.name);
                    }}
                    aria-current={s.name === selected ? 'page' : undefined}
                  >
                    <span className="score-name">{s.name}</span>
                    {s.archived_at && <span className="tag">archived</span>}
                    <span className="muted">
                      {s.kind} · v{s.version}
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          )}
        </nav>
        <div className="schema-main">
          {isNew ? (
            <Editor
              key="new"
              initial={emptyDraft()}
              isNew
              existing={(list ?? []).filter((s) => !s.archived_at).map((s) => s.name)}
              onSaved={(name, note) => {
                setN((x) => x + 1);
                pick(name);
                setStatus(note);
              }}
            />
          ) : !editing ? (
            <p className="muted">Loading…</p>
          ) : (
            <>
              {current === null && <p className="note">This schema is archived: its scores and history stay, and writes are no longer checked. Saving makes it current again.</p>}
              <Editor
                key={`${selected}:${detail.versions[0]?.version ?? 0}`}
                initial={draftOf(current ?? detail.versions[0]!)}
                isNew={false}
                existing={[]}
                onSaved={(_, note) => {
                  setN((x) => x + 1);
                  setStatus(note);
                }}
              />
              {current && (
                <p>
                  <button
                    type="button"
                    className="danger"
                    onClick={async () => {
                      if (!window.confirm(`Archive the schema of ${current.name}? Its scores and history stay.`)) return;
                      try {
                        await archiveSchema(current.name);
                        setStatus(`Archived ${current.name}`);
                        setN((x) => x + 1);
                      } catch (err) {
                        setError((err as Error).message);
                      }
                    }}
                  >
                    Archive {current.name}
                  </button>
                </p>
              )}
              <Versions versions={detail.versions} />
            </>
          )}
        </div>
      </div>
    </div>
  );
}
