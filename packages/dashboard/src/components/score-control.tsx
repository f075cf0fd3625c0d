import { forwardRef, useId } from 'react';
import { actorLabel, fmtTime } from '../format.js';
import { labelFor, labelsOf, type ScoreRating, type ScoreSchemaDef } from '../score-schemas.js';
import type { ApiKeyItem, Member } from '../api.js';
import { ScoreSlider } from './score-slider.js';

type SchemaLike = Pick<ScoreSchemaDef, 'kind' | 'labels' | 'min' | 'max'> | null | undefined;

/** The value a fresh control starts at: the middle of a numeric range, nothing for labels. */
export function startValue(schema: SchemaLike): number | null {
  if (labelsOf(schema)) return null;
  const lo = schema?.min ?? 0;
  const hi = schema?.max ?? 100;
  return Math.round((lo + hi) / 2);
}

/**
 * The control a score name is rated with, by its schema's kind: a slider over min..max for a
 * numeric name (or one with no schema), one button per label for categorical and boolean names.
 * With `keyHints`, each label button shows the number key (1-9) that picks it in review mode.
 */
export const ScoreControl = forwardRef<
  HTMLInputElement,
  { name: string; schema: SchemaLike; value: number | null; onChange: (v: number) => void; onEnter?: () => void; keyHints?: boolean }
>(function ScoreControl({ name, schema, value, onChange, onEnter, keyHints }, ref) {
  const labels = labelsOf(schema);
  if (!labels) {
    const lo = schema?.min ?? 0;
    const hi = schema?.max ?? 100;
    return <ScoreSlider ref={ref} label={name} min={lo} max={hi} value={value ?? Math.round((lo + hi) / 2)} onChange={onChange} onEnter={onEnter} />;
  }
  return (
    <div className={`label-buttons kind-${schema!.kind}`} role="group" aria-label={`${name} label`}>
      <span className="control-name">{name}</span>
      <div>
        {labels.map((l, i) => (
          <button
            key={l.label}
            type="button"
            className={`label-button${value === l.value ? ' selected' : ''}`}
            aria-pressed={value === l.value}
            data-label={l.label}
            onClick={() => onChange(l.value)}
          >
            {keyHints && i < 9 && <kbd aria-hidden="true">{i + 1}</kbd>}
            {l.label}
            <span className="label-value">{l.value}</span>
          </button>
        ))}
      </div>
    </div>
  );
});

/** A comment (required below the schema's threshold) and the schema's reasons as checkboxes. */
export function RatingExtras({
  name,
  schema,
  value,
  comment,
  onComment,
  reasons,
  onReasons,
}: {
  name: string;
  schema: Pick<ScoreSchemaDef, 'reasons' | 'comment_required_below'> | null | undefined;
  value: number | null;
  comment: string;
  onComment: (c: string) => void;
  reasons: string[];
  onReasons: (r: string[]) => void;
}) {
  const id = useId();
  const needed = schema?.comment_required_below != null && value !== null && value < schema.comment_required_below;
  const declared = schema?.reasons ?? [];
  return (
    <div className="rating-extras">
      {declared.length > 0 && (
        <fieldset className="reasons">
          <legend>Reasons</legend>
          {declared.map((r) => (
            <label key={r} className={`reason-chip${reasons.includes(r) ? ' checked' : ''}`}>
              <input type="checkbox" checked={reasons.includes(r)} onChange={(e) => onReasons(e.target.checked ? [...reasons, r] : reasons.filter((x) => x !== r))} />
              {r}
            </label>
          ))}
        </fieldset>
      )}
      <label htmlFor={`${id}-comment`} className="comment-label">
        Comment{needed ? ' (required for this value)' : ''}
      </label>
      <textarea
        id={`${id}-comment`}
        aria-label={`${name} comment`}
        value={comment}
        rows={2}
        maxLength={4096}
        aria-required={needed}
        placeholder={needed ? `a comment is required below ${schema!.comment_required_below}` : 'optional'}
        onChange={(e) => onComment(e.target.value)}
      />
    </div>
  );
}

/** The rubric of a name, folded: raters open it when they need it. */
export function Rubric({ schema, open }: { schema: Pick<ScoreSchemaDef, 'rubric' | 'description'> | null | undefined; open?: boolean }) {
  if (!schema?.rubric && !schema?.description) return null;
  return (
    <details className="rubric" open={open}>
      <summary>Rubric{schema.description ? `: ${schema.description}` : ''}</summary>
      {schema.rubric && <pre className="text">{schema.rubric}</pre>}
    </details>
  );
}

/** Whose ratings make a score: one row per rater with value (and label), comment, reasons, source and time. */
export function RatingsList({ name, ratings, schema, members, keys }: { name: string; ratings: ScoreRating[]; schema: SchemaLike; members: Member[]; keys: ApiKeyItem[] }) {
  if (ratings.length === 0) return null;
  return (
    <table className="ratings" aria-label={`Ratings of ${name}`}>
      <thead>
        <tr>
          <th scope="col">Rater</th>
          <th scope="col">Rating</th>
          <th scope="col">Comment</th>
        </tr>
      </thead>
      <tbody>
        {ratings.map((r) => (
          <tr key={r.rater} data-rater={r.rater}>
            <td className="who">
              {raterLabel(r.rater, members, keys)}
              <div className="muted">
                via {r.source} · {fmtTime(r.at)}
              </div>
            </td>
            <td className="nowrap">
              <strong>{r.label ?? labelFor(schema, r.value) ?? r.value}</strong>
              {(r.label ?? labelFor(schema, r.value)) !== null && <span className="muted"> ({r.value})</span>}
            </td>
            <td>
              {r.comment && <div className="rating-comment">{r.comment}</div>}
              {r.reasons && r.reasons.length > 0 && (
                <div>
                  {r.reasons.map((x) => (
                    <span key={x} className="tag reason">
                      {x}
                    </span>
                  ))}
                </div>
              )}
              {!r.comment && !r.reasons?.length && <span className="muted">–</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A rater as people know it: a member's email, a key's label, an external rater's name. */
export function raterLabel(rater: string, members: Member[], keys: ApiKeyItem[]): string {
  if (rater.startsWith('external:')) return `${rater.slice('external:'.length)} (external)`;
  if (rater.startsWith('end_user:')) return `end user ${rater.slice('end_user:'.length)}`;
  return actorLabel(rater, members, keys);
}

/**
 * A score name field with the workspace's names (those with a schema first) offered as it is typed;
 * any other name can still be typed.
 */
export function ScoreNamePicker({ value, onChange, names, label = 'Score name', name, placeholder }: { value: string; onChange: (v: string) => void; names: string[]; label?: string; name?: string; placeholder?: string }) {
  const id = useId();
  return (
    <label>
      {label}
      <input value={value} name={name} list={`${id}-names`} autoComplete="off" maxLength={512} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />
      <datalist id={`${id}-names`}>
        {names.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
    </label>
  );
}
