import { useEffect, useState } from 'react';
import { deleteScore, type RequestDetail } from '../api.js';
import { labelFor, labelsOf, rate, useScoreNames, type ScoreDetail, type ScoreSchema } from '../score-schemas.js';
import { useActors } from './actors.js';
import { RatingExtras, RatingsList, Rubric, ScoreControl, ScoreNamePicker, startValue } from './score-control.js';

const AGGREGATE_TEXT: Record<string, string> = {
  latest: 'the latest rating',
  mean: 'the mean of the ratings',
  median: 'the median of the ratings',
  adjudicated: 'the adjudicated value (until then the median)',
};

/** What a save says: `helpfulness = 80`, or `quality = good (100)` for a label. */
const savedText = (name: string, schema: ScoreSchema | undefined, value: number) => {
  const label = labelFor(schema, value);
  return label === null ? `${name} = ${value}` : `${name} = ${label} (${value})`;
};

/** Whether a rating may be saved: a label picked, and a comment where the schema requires one. */
function missing(schema: ScoreSchema | undefined, value: number | null, comment: string): string | null {
  if (value === null) return 'pick a label';
  if (schema?.comment_required_below != null && value < schema.comment_required_below && !comment.trim()) return `a comment is required below ${schema.comment_required_below}`;
  return null;
}

/** One score name of the request: its value, rubric, control, comment and reasons, and each rater's rating. */
function ScoreEditor({
  requestId,
  name,
  schema,
  current,
  detail,
  onSaved,
  onStatus,
}: {
  requestId: number;
  name: string;
  schema: ScoreSchema | undefined;
  current: number;
  detail: ScoreDetail | undefined;
  onSaved: () => void;
  onStatus: (s: string) => void;
}) {
  const { members, keys } = useActors();
  const [value, setValue] = useState<number>(current);
  const [comment, setComment] = useState('');
  const [reasons, setReasons] = useState<string[]>([]);
  useEffect(() => setValue(current), [current]);
  const labelled = labelsOf(schema) !== null;
  const save = async () => {
    const why = missing(schema, value, comment);
    if (why) return onStatus(`Not saved: ${why}`);
    try {
      await rate(requestId, name, { ...(labelled ? { label: labelFor(schema, value)! } : { score: value }), comment, reasons });
      onStatus(`Saved ${savedText(name, schema, value)}`);
      setComment('');
      setReasons([]);
      onSaved();
    } catch (e) {
      onStatus(`Not saved: ${(e as Error).message}`);
    }
  };
  const label = detail?.label ?? labelFor(schema, current);
  const ratings = detail?.ratings ?? [];
  const changed = value !== current || comment.trim() !== '' || reasons.length > 0;
  return (
    <div className="score-editor" data-score-editor={name}>
      <div className="score-head">
        <span className="score-name">{name}</span>
        <span className="score-current" data-testid={`score-${name}`}>
          {label !== null ? (
            <>
              <strong>{label}</strong> <span className="muted">({current})</span>
            </>
          ) : (
            <strong>{current}</strong>
          )}
        </span>
        {schema && (
          <span className="muted schema-note" title={`The score is ${AGGREGATE_TEXT[schema.aggregate]}`}>
            {schema.kind} · {schema.aggregate}
            {ratings.length > 1 ? ` of ${ratings.length}` : ''} · v{schema.version}
          </span>
        )}
      </div>
      <Rubric schema={schema} />
      <div className="score-row">
        <ScoreControl name={name} schema={schema} value={value} onChange={setValue} onEnter={save} />
      </div>
      <RatingExtras name={name} schema={schema} value={value} comment={comment} onComment={setComment} reasons={reasons} onReasons={setReasons} />
      <div className="score-actions">
        <button type="button" className="primary" disabled={!changed && !labelled} onClick={save} aria-label={`Save ${name}`}>
          Save
        </button>
        <button
          type="button"
          aria-label={`Remove ${name}`}
          onClick={async () => {
            try {
              await deleteScore(requestId, name);
              onStatus(`Removed ${name}`);
              onSaved();
            } catch (e) {
              onStatus(`Not removed: ${(e as Error).message}`);
            }
          }}
        >
          Remove
        </button>
      </div>
      {detail && ratings.length === 0 && detail.comment && <p className="rating-comment">{detail.comment}</p>}
      <RatingsList name={name} ratings={ratings} schema={schema} members={members} keys={keys} />
    </div>
  );
}

/**
 * Each score of the request, rated with the control its schema calls for (slider, or label
 * buttons), with a comment and reasons, and who rated what; and a new name to add.
 */
export function ScoresPanel({ request, onChanged }: { request: RequestDetail; onChanged: () => void }) {
  const { schemas, names: known } = useScoreNames();
  const [newName, setNewName] = useState('');
  const [newValue, setNewValue] = useState<number | null>(50);
  const [newComment, setNewComment] = useState('');
  const [newReasons, setNewReasons] = useState<string[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const scores = request.scores;
  const details = request.score_details ?? {};
  const picked = newName.trim();
  const newSchema = schemas.get(picked);
  const newKind = newSchema ? `${newSchema.kind}:${newSchema.version}` : '';
  // A different schema starts its control over: a label to pick, or the middle of its range.
  useEffect(() => setNewValue(newSchema ? startValue(newSchema) : 50), [newKind]);

  const names = Object.keys(scores).sort();
  const offered = known.filter((n) => !(n in scores));
  return (
    <section className="scores-panel" aria-label="Scores">
      <h2>Scores</h2>
      {names.length === 0 && <p className="muted">No scores yet.</p>}
      {names.map((name) => (
        <ScoreEditor key={name} requestId={request.id} name={name} schema={schemas.get(name)} current={scores[name]!} detail={details[name]} onSaved={onChanged} onStatus={setStatus} />
      ))}
      <form
        className="add-score"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!picked) return;
          const why = missing(newSchema, newValue, newComment);
          if (why) return setStatus(`Not saved: ${why}`);
          try {
            const labelled = labelsOf(newSchema) !== null;
            await rate(request.id, picked, { ...(labelled ? { label: labelFor(newSchema, newValue!)! } : { score: newValue! }), comment: newComment, reasons: newReasons });
            setStatus(`Saved ${savedText(picked, newSchema, newValue!)}`);
            setNewName('');
            setNewComment('');
            setNewReasons([]);
            onChanged();
          } catch (err) {
            setStatus(`Not saved: ${(err as Error).message}`);
          }
        }}
      >
        <h3>Add a score</h3>
        <ScoreNamePicker label="New score name" value={newName} onChange={setNewName} names={offered} placeholder="e.g. helpfulness" />
        {newSchema && <Rubric schema={newSchema} />}
        <ScoreControl name={newSchema ? picked : 'New score'} schema={newSchema} value={newValue} onChange={setNewValue} />
        <RatingExtras name={picked || 'New score'} schema={newSchema} value={newValue} comment={newComment} onComment={setNewComment} reasons={newReasons} onReasons={setNewReasons} />
        <button type="submit" disabled={!picked}>
          Add score
        </button>
      </form>
      {status && (
        <p role="status" className="status">
          {status}
        </p>
      )}
    </section>
  );
}
