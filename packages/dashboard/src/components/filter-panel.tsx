import { useState } from 'react';
import { emptyFilters, type FilterState, type ScoreFilterRow } from '../filters.js';
import { useScoreNames } from '../score-schemas.js';
import { ScoreNamePicker } from './score-control.js';

type Simple = Exclude<keyof FilterState, 'scores' | 'tag_match'>;

// Number fields take whole numbers (the server refuses fractions of ids, versions, milliseconds and
// tokens) unless `step` says otherwise, as cost does.
function Field({ label, name, f, set, type = 'text', placeholder, step = '1' }: { label: string; name: Simple; f: FilterState; set: (f: FilterState) => void; type?: string; placeholder?: string; step?: string }) {
  return (
    <label>
      {label}
      <input type={type} name={name} value={f[name]} placeholder={placeholder} step={type === 'number' ? step : undefined} min={type === 'number' ? 0 : undefined} onChange={(e) => set({ ...f, [name]: e.target.value })} />
    </label>
  );
}

/** Every search filter of the API as a form; Apply writes it into the URL. */
export function FilterPanel({ initial, onApply }: { initial: FilterState; onApply: (f: FilterState) => void }) {
  const [f, set] = useState(initial);
  const { names } = useScoreNames();
  const setRow = (i: number, row: Partial<ScoreFilterRow>) => set({ ...f, scores: f.scores.map((r, j) => (j === i ? { ...r, ...row } : r)) });
  return (
    <form
      className="filters"
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(f);
      }}
    >
      <div className="filter-grid">
        <Field label="Text in input or output" name="q" f={f} set={set} placeholder="search…" />
        <Field label="Provider" name="provider" f={f} set={set} />
        <Field label="Model" name="model" f={f} set={set} />
        <Field label="Prompt name" name="prompt_name" f={f} set={set} />
        <Field label="Prompt version" name="prompt_version" f={f} set={set} type="number" />
        <label>
          Status
          <select name="status" value={f.status} onChange={(e) => set({ ...f, status: e.target.value })}>
            <option value="">any</option>
            <option value="SUCCESS">SUCCESS</option>
            <option value="WARNING">WARNING</option>
            <option value="ERROR">ERROR</option>
          </select>
        </label>
        <Field label="Tags (comma separated)" name="tags" f={f} set={set} />
        <label>
          Tag match
          <select name="tag_match" value={f.tag_match} onChange={(e) => set({ ...f, tag_match: e.target.value as 'any' | 'all' })}>
            <option value="all">all of them</option>
            <option value="any">any of them</option>
          </select>
        </label>
        <Field label="Metadata key" name="metadata_key" f={f} set={set} />
        <Field label="Metadata value (empty: key exists)" name="metadata_value" f={f} set={set} />
        <Field label="From" name="from" f={f} set={set} type="datetime-local" />
        <Field label="To" name="to" f={f} set={set} type="datetime-local" />
        <Field label="Min latency (ms)" name="min_latency_ms" f={f} set={set} type="number" />
        <Field label="Max latency (ms)" name="max_latency_ms" f={f} set={set} type="number" />
        <Field label="Min cost ($)" name="min_cost" f={f} set={set} type="number" step="any" />
        <Field label="Max cost ($)" name="max_cost" f={f} set={set} type="number" step="any" />
        <Field label="Min tokens" name="min_tokens" f={f} set={set} type="number" />
        <Field label="Max tokens" name="max_tokens" f={f} set={set} type="number" />
      </div>
      <fieldset className="score-filters">
        <legend>Score filters</legend>
        {f.scores.map((r, i) => (
          <div key={i} className="score-filter-row">
            <ScoreNamePicker value={r.name} onChange={(v) => setRow(i, { name: v })} names={names} />
            <label>
              Condition
              <select value={r.mode} onChange={(e) => setRow(i, { mode: e.target.value as ScoreFilterRow['mode'] })}>
                <option value="range">in range</option>
                <option value="unscored">unscored</option>
                <option value="scored">has a score</option>
              </select>
            </label>
            {r.mode === 'range' && (
              <>
                <label>
                  Min
                  <input type="number" min={0} max={100} value={r.min} onChange={(e) => setRow(i, { min: e.target.value })} />
                </label>
                <label>
                  Max
                  <input type="number" min={0} max={100} value={r.max} onChange={(e) => setRow(i, { max: e.target.value })} />
                </label>
              </>
            )}
            <button type="button" aria-label={`Remove score filter ${r.name || i + 1}`} onClick={() => set({ ...f, scores: f.scores.filter((_, j) => j !== i) })}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => set({ ...f, scores: [...f.scores, { name: 'default', mode: 'range', min: '', max: '' }] })}>
          Add score filter
        </button>
      </fieldset>
      <div className="actions">
        <button type="submit" className="primary">
          Apply filters
        </button>
        <button
          type="button"
          onClick={() => {
            const e = emptyFilters();
            set(e);
            onApply(e);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
