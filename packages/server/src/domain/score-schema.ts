/**
 * Score schemas, ratings and aggregates: the rules that give a score name meaning. A schema says
 * what values a name takes (a numeric range, labels mapped to integers, or a boolean pair), which
 * reasons a rating may carry, when a comment is required, and how raters' ratings become the one
 * score every read returns. Pure: no I/O; the write programs (store/write-programs.ts) apply these
 * rules inside the write transaction.
 */
import { invalidField } from './errors.js';
import { SCORE_MAX, SCORE_MIN } from './score.js';

export const SCORE_KINDS = ['numeric', 'categorical', 'boolean'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

/** How ratings become the score: PromptLayer's last-write-wins by default. */
export const SCORE_AGGREGATES = ['latest', 'mean', 'median', 'adjudicated'] as const;
export type ScoreAggregate = (typeof SCORE_AGGREGATES)[number];

export interface ScoreLabel {
  label: string;
  value: number;
}

/** Limits of a schema definition and of what a rating carries; documented in docs/api.md. */
export const SCHEMA_LIMITS = {
  labels: 50,
  labelChars: 128,
  reasons: 100,
  reasonChars: 128,
  descriptionChars: 1024,
  rubricChars: 16_384,
  /** A comment, in UTF-8 bytes. */
  commentBytes: 4096,
  raterChars: 128,
} as const;

/** A schema as defined (one version), in domain form. */
export interface ScoreSchemaDefinition {
  kind: ScoreKind;
  description: string | null;
  rubric: string | null;
  higherIsBetter: boolean;
  /** The range a value must lie in; for labelled kinds, the lowest and highest label value. */
  min: number;
  max: number;
  /** The labels of a categorical or boolean schema; null for numeric. */
  labels: ScoreLabel[] | null;
  /** The reasons a rating may carry (empty: none allowed). */
  reasons: string[];
  /** A value below this needs a comment; null: never. */
  commentRequiredBelow: number | null;
  aggregate: ScoreAggregate;
}

/** What `PUT /v1/score-schemas/{name}` takes (after TypeBox has checked the types). */
export interface ScoreSchemaInput {
  kind: ScoreKind;
  description?: string | null | undefined;
  rubric?: string | null | undefined;
  higher_is_better?: boolean | null | undefined;
  min?: number | null | undefined;
  max?: number | null | undefined;
  labels?: ScoreLabel[] | null | undefined;
  reasons?: string[] | null | undefined;
  comment_required_below?: number | null | undefined;
  aggregate?: ScoreAggregate | null | undefined;
}

const BOOLEAN_DEFAULT_LABELS: ScoreLabel[] = [
  { label: 'yes', value: SCORE_MAX },
  { label: 'no', value: SCORE_MIN },
];

const isScoreValue = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= SCORE_MIN && v <= SCORE_MAX;

/** A label or reason: printable text without quotes or backslashes (see checkReasonText), trimmed, 1..max characters. */
function checkWord(v: string, field: string, max: number): string {
  if (v.length === 0 || v.length > max) throw invalidField(field, `must be 1 to ${max} characters`);
  if (v.trim() !== v) throw invalidField(field, 'must not start or end with white space');
  // Reasons are matched inside their stored JSON array text (search by reason): a quote or a
  // backslash would make the JSON encoding differ from the text itself.
  if (/["\\\u0000-\u001f\u007f]/.test(v)) throw invalidField(field, 'must not hold quotes, backslashes or control characters');
  return v;
}

/**
 * Checks a definition as a whole and fills its defaults: numeric ranges inside 0..100 with min <=
 * max; categorical labels (1 to 50, unique names, unique values); boolean exactly two labels valued
 * 100 and 0 (`yes` / `no` when none are given); reasons unique ignoring ASCII case (search by
 * reason ignores it). Throws a 400 naming the field.
 */
export function checkSchemaDefinition(input: ScoreSchemaInput): ScoreSchemaDefinition {
  const kind = input.kind;
  if (!SCORE_KINDS.includes(kind)) throw invalidField('kind', `must be one of ${SCORE_KINDS.join(', ')}`);
  let labels: ScoreLabel[] | null = null;
  let min: number = SCORE_MIN;
  let max: number = SCORE_MAX;
  if (kind === 'numeric') {
    if (input.labels !== undefined && input.labels !== null) throw invalidField('labels', 'a numeric schema has no labels (use categorical)');
    if (input.min !== undefined && input.min !== null) {
      if (!isScoreValue(input.min)) throw invalidField('min', `must be an integer from ${SCORE_MIN} to ${SCORE_MAX}`);
      min = input.min;
    }
    if (input.max !== undefined && input.max !== null) {
      if (!isScoreValue(input.max)) throw invalidField('max', `must be an integer from ${SCORE_MIN} to ${SCORE_MAX}`);
      max = input.max;
    }
    if (min > max) throw invalidField('min', 'must not be greater than max');
  } else {
    if (input.min !== undefined && input.min !== null) throw invalidField('min', `a ${kind} schema takes its range from its labels`);
    if (input.max !== undefined && input.max !== null) throw invalidField('max', `a ${kind} schema takes its range from its labels`);
    const given = input.labels ?? (kind === 'boolean' ? BOOLEAN_DEFAULT_LABELS : null);
    if (given === null || given.length === 0) throw invalidField('labels', 'a categorical schema needs at least one label');
    if (given.length > SCHEMA_LIMITS.labels) throw invalidField('labels', `must have at most ${SCHEMA_LIMITS.labels} labels`);
    const names = new Set<string>();
    const values = new Set<number>();
    labels = given.map((l, i) => {
      const label = checkWord(String(l.label), `labels.${i}.label`, SCHEMA_LIMITS.labelChars);
      if (!isScoreValue(l.value)) throw invalidField(`labels.${i}.value`, `must be an integer from ${SCORE_MIN} to ${SCORE_MAX}`);
      if (names.has(label)) throw invalidField(`labels.${i}.label`, `"${label}" is given twice`);
      if (values.has(l.value)) throw invalidField(`labels.${i}.value`, `${l.value} is the value of another label`);
      names.add(label);
      values.add(l.value);
      return { label, value: l.value };
    });
    if (kind === 'boolean' && (labels.length !== 2 || !values.has(SCORE_MAX) || !values.has(SCORE_MIN))) {
      throw invalidField('labels', `a boolean schema has exactly two labels, valued ${SCORE_MAX} and ${SCORE_MIN}`);
    }
    min = Math.min(...values);
    max = Math.max(...values);
  }
  const reasons = input.reasons ?? [];
  if (reasons.length > SCHEMA_LIMITS.reasons) throw invalidField('reasons', `must have at most ${SCHEMA_LIMITS.reasons} reasons`);
  const folded = new Set<string>();
  reasons.forEach((r, i) => {
    checkWord(r, `reasons.${i}`, SCHEMA_LIMITS.reasonChars);
    const key = r.toLowerCase();
    if (folded.has(key)) throw invalidField(`reasons.${i}`, `"${r}" is given twice (reasons are matched ignoring case)`);
    folded.add(key);
  });
  const below = input.comment_required_below ?? null;
  if (below !== null && (!Number.isInteger(below) || below < SCORE_MIN || below > SCORE_MAX + 1)) {
    throw invalidField('comment_required_below', `must be an integer from ${SCORE_MIN} to ${SCORE_MAX + 1}`);
  }
  const aggregate = input.aggregate ?? 'latest';
  if (!SCORE_AGGREGATES.includes(aggregate)) throw invalidField('aggregate', `must be one of ${SCORE_AGGREGATES.join(', ')}`);
  const text = (v: string | null | undefined, field: string, limit: number) => {
    if (v === undefined || v === null || v === '') return null;
    if (v.length > limit) throw invalidField(field, `must be at most ${limit} characters`);
    return v;
  };
  return {
    kind,
    description: text(input.description, 'description', SCHEMA_LIMITS.descriptionChars),
    rubric: text(input.rubric, 'rubric', SCHEMA_LIMITS.rubricChars),
    higherIsBetter: input.higher_is_better ?? true,
    min,
    max,
    labels,
    reasons: [...reasons],
    commentRequiredBelow: below,
    aggregate,
  };
}

/** Whether two definitions say the same (an identical PUT makes no new version). */
export function sameDefinition(a: ScoreSchemaDefinition, b: ScoreSchemaDefinition): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The part of the schema in force that a write is checked against, and the workspace's strictness. */
export interface RatingRules {
  strict: boolean;
  schema: (Pick<ScoreSchemaDefinition, 'kind' | 'min' | 'max' | 'labels' | 'reasons' | 'commentRequiredBelow' | 'aggregate'> & { version: number }) | null;
}

/** What one write gives for a name: a value or a label (one of them), and optionally comment and reasons. */
export interface RatingInput {
  value: number | null;
  label?: string | null | undefined;
  comment?: string | null | undefined;
  reasons?: readonly string[] | null | undefined;
}

/** A write checked against the rules: its value and label both known. */
export interface CheckedRating {
  value: number;
  label: string | null;
  reasons: string[] | null;
  schemaVersion: number | null;
  aggregate: ScoreAggregate;
}

const UTF8 = new TextEncoder();

/** Refuses a comment over SCHEMA_LIMITS.commentBytes bytes of UTF-8, naming `field`. */
export function checkComment(comment: string | null | undefined, field = 'comment'): string | null {
  if (comment === undefined || comment === null) return null;
  if (UTF8.encode(comment).length > SCHEMA_LIMITS.commentBytes) throw invalidField(field, `must be at most ${SCHEMA_LIMITS.commentBytes} bytes (UTF-8)`);
  return comment;
}

/**
 * Checks one write of `name` against the rules; throws a 400 naming the field (`name`, `score`,
 * `label`, `reasons` or `comment`) and writes nothing then. `scoreField` is how the value's field is
 * called where it came from.
 */
export function checkRating(rules: RatingRules, name: string, input: RatingInput, scoreField = 'score'): CheckedRating {
  const { schema } = rules;
  const label = input.label ?? null;
  const reasons = input.reasons === undefined || input.reasons === null || input.reasons.length === 0 ? null : [...input.reasons];
  checkComment(input.comment);
  if (input.value === null && label === null) throw invalidField(scoreField, 'give score or label');
  if (input.value !== null && label !== null) throw invalidField('label', 'give either score or label, not both');
  if (schema === null) {
    if (rules.strict) throw invalidField('name', `"${name}" has no score schema, and this workspace takes scores only under names with one (strict_score_names)`);
    if (label !== null) throw invalidField('label', `"${name}" has no schema with labels; send score`);
    if (reasons !== null) throw invalidField('reasons', `no schema of "${name}" declares reasons`);
    return { value: input.value!, label: null, reasons: null, schemaVersion: null, aggregate: 'latest' };
  }
  let value: number;
  let resolved: string | null = null;
  if (schema.labels !== null) {
    const labels = schema.labels;
    const list = () => labels.map((l) => `${l.label} (${l.value})`).join(', ');
    if (label !== null) {
      const found = labels.find((l) => l.label === label);
      if (!found) throw invalidField('label', `must be one of the labels of "${name}": ${list()}`);
      value = found.value;
      resolved = found.label;
    } else {
      const found = labels.find((l) => l.value === input.value);
      if (!found) throw invalidField(scoreField, `must be the value of a label of "${name}": ${list()}`);
      value = found.value;
      resolved = found.label;
    }
  } else {
    if (label !== null) throw invalidField('label', `the schema of "${name}" is numeric; send score`);
    value = input.value!;
    if (value < schema.min || value > schema.max) throw invalidField(scoreField, `must be an integer from ${schema.min} to ${schema.max} (the schema of "${name}")`);
  }
  if (reasons !== null) {
    const seen = new Set<string>();
    for (const r of reasons) {
      if (!schema.reasons.includes(r)) {
        const declared = schema.reasons.length === 0 ? 'it declares none' : `declared: ${schema.reasons.join(', ')}`;
        throw invalidField('reasons', `"${r}" is not a reason of the schema of "${name}" (${declared})`);
      }
      if (seen.has(r)) throw invalidField('reasons', `"${r}" is given twice`);
      seen.add(r);
    }
  }
  if (schema.commentRequiredBelow !== null && value < schema.commentRequiredBelow && (input.comment ?? '').trim() === '') {
    throw invalidField('comment', `a score below ${schema.commentRequiredBelow} of "${name}" needs a comment`);
  }
  return { value, label: resolved, reasons, schemaVersion: schema.version, aggregate: schema.aggregate };
}

/** The label a schema gives a value, if any. */
export function labelOf(rules: RatingRules, value: number): string | null {
  return rules.schema?.labels?.find((l) => l.value === value)?.label ?? null;
}

// ---------------------------------------------------------------------------------------------
// Raters

/** Prefixes of rater ids: API keys, dashboard users, named external raters, end users. */
export type RaterKind = 'key' | 'user' | 'external' | 'end_user';

/**
 * A named external rater as a `/v1` write gives it (`rater`), as its rater id `external:<name>`.
 * `external:` may be given already. Ids of keys, users and end users cannot be claimed this way:
 * end users rate only through the feedback route, and a key cannot rate as another key or a user.
 */
export function externalRater(value: string, field = 'rater'): string {
  const name = value.startsWith('external:') ? value.slice('external:'.length) : value;
  if (/^(end_user|key|user):/.test(name)) throw invalidField(field, 'cannot name a key, user or end user; give the name of an external rater');
  if (name.length === 0 || name.length > SCHEMA_LIMITS.raterChars) throw invalidField(field, `must be 1 to ${SCHEMA_LIMITS.raterChars} characters`);
  if (name.trim() !== name) throw invalidField(field, 'must not start or end with white space');
  if (/[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) throw invalidField(field, 'must be printable text');
  return `external:${name}`;
}

// ---------------------------------------------------------------------------------------------
// Ratings and aggregates

/** Kinds of score history rows: a rater's rating (null rating: withdrawn), a whole-score deletion, an adjudication. */
export type ScoreEventKind = 'rating' | 'delete' | 'adjudication';

/** The fields of a history row the rating rules read. */
export interface RatingEventRow {
  id: number;
  kind: ScoreEventKind;
  rater: string | null;
  rating: number | null;
}

/**
 * The current ratings of one request and name from its history rows in id order: after the last
 * `delete`, each rater's latest rating row (a rater whose latest row has a null rating has none),
 * ordered by that row's id; and the latest adjudication after the last delete.
 */
export function reduceRatings<E extends RatingEventRow>(events: Iterable<E>): { ratings: E[]; adjudication: E | null } {
  let byRater = new Map<string, E>();
  let adjudication: E | null = null;
  for (const e of events) {
    if (e.kind === 'delete') {
      byRater = new Map();
      adjudication = null;
    } else if (e.kind === 'adjudication') {
      adjudication = e;
    } else if (e.rater !== null) {
      // Deleted first, so the map keeps raters in the order of their latest row.
      byRater.delete(e.rater);
      if (e.rating !== null) byRater.set(e.rater, e);
    }
  }
  return { ratings: [...byRater.values()], adjudication };
}

/**
 * The scores row of an adjudicated score carries its adjudicator behind this marker as its rater:
 * rating writes leave such a row alone (write-statements.ts upsertScore), without reading the
 * history, until a newer adjudication or a delete of the score. Rater ids never start with it.
 */
export const ADJUDICATED_MARK = 'adjudicated:';

/** The scores row rater of a score adjudicated by `adjudicator`. */
export const adjudicatedRater = (adjudicator: string): string => `${ADJUDICATED_MARK}${adjudicator}`;

/** Whether a scores row's rater marks its value as adjudicated. */
export const isAdjudicatedRater = (rater: string | null | undefined): boolean => rater?.startsWith(ADJUDICATED_MARK) === true;

/** The rater id a scores row's rater stands for: the adjudicator of an adjudicated score. */
export const scoreRowRater = (rater: string): string => (isAdjudicatedRater(rater) ? rater.slice(ADJUDICATED_MARK.length) : rater);

/** The mean of integers, rounded half up to an integer. */
export function roundedMean(values: readonly number[]): number {
  const n = values.length;
  const sum = values.reduce((a, b) => a + b, 0);
  return Math.floor((2 * sum + n) / (2 * n));
}

/** The median of integers; for an even count the mean of the middle two, rounded half up. */
export function roundedMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid]!;
  return Math.floor((sorted[mid - 1]! + sorted[mid]! + 1) / 2);
}

/**
 * The score of ratings (in the order of their latest rows) under an aggregate; null when there are
 * no ratings and no adjudication. An adjudication (since the last delete) is the score under every
 * aggregate. Without one, `latest`: the last rating; `adjudicated`: the median.
 */
export function aggregateOf(aggregate: ScoreAggregate, ratings: readonly number[], adjudication: number | null): number | null {
  if (adjudication !== null) return adjudication;
  if (ratings.length === 0) return null;
  switch (aggregate) {
    case 'latest':
      return ratings[ratings.length - 1]!;
    case 'mean':
      return roundedMean(ratings);
    case 'median':
    case 'adjudicated':
      return roundedMedian(ratings);
  }
}

// ---------------------------------------------------------------------------------------------
// Reason statistics

/**
 * The value below which a score counts as low in reason statistics: the schema's
 * comment_required_below when it has one, else the middle of its range rounded up (50 for 0..100;
 * for labels good=100, ok=50, bad=0 only `bad` is low), 50 without a schema.
 */
export function lowThreshold(schema: Pick<ScoreSchemaDefinition, 'min' | 'max' | 'commentRequiredBelow'> | null | undefined): number {
  if (!schema) return 50;
  if (schema.commentRequiredBelow !== null) return schema.commentRequiredBelow;
  return Math.ceil((schema.min + schema.max) / 2);
}

export interface ReasonCount {
  reason: string;
  /** Current scores carrying the reason. */
  count: number;
  /** Of those, the ones below the name's low threshold. */
  low: number;
}

/** Counts per reason (most frequent first, then by reason) from rows of (value, reasons, count). */
export function countReasons(rows: readonly { value: number; reasons: readonly string[]; count: number }[], lowBelow: number): ReasonCount[] {
  const counts = new Map<string, ReasonCount>();
  for (const r of rows) {
    for (const reason of new Set(r.reasons)) {
      let c = counts.get(reason);
      if (!c) counts.set(reason, (c = { reason, count: 0, low: 0 }));
      c.count += r.count;
      if (r.value < lowBelow) c.low += r.count;
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}
