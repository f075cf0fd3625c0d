import { invalidField } from './errors.js';
import { checkScore, scoreName } from './score.js';

/** A feedback token lives a day unless the minting call asks otherwise, and never more than 30. */
export const FEEDBACK_TTL_DEFAULT_S = 86_400;
export const FEEDBACK_TTL_MAX_S = 30 * 86_400;
export const FEEDBACK_TTL_MIN_S = 60;
/** An end user's id as the app gives it: it becomes the rater `end_user:<id>`. */
export const END_USER_MAX_CHARS = 128;
/** Labels a token may allow, and their length. */
export const FEEDBACK_LABELS_MAX = 64;
export const FEEDBACK_LABEL_MAX_CHARS = 128;
/** A submission's comment (UTF-16 code units, as JavaScript counts). */
export const FEEDBACK_COMMENT_MAX_CHARS = 4096;
/** The rater prefix of every end-user rating; no other route may write a rater with it. */
export const END_USER_RATER_PREFIX = 'end_user:';

/**
 * What a token lets its holder submit. At most one of the three; none: any value 0..100 (still
 * within the name's schema, when it has one).
 */
export interface FeedbackAllowance {
  values?: number[];
  labels?: string[];
  range?: { min: number; max: number };
}

/** What the app's backend asks for when it mints a token (a route's body, checked). */
export interface FeedbackTokenSpec extends FeedbackAllowance {
  name: string;
  endUser: string | null;
  /** Seconds from now. */
  expiresIn: number;
}

/**
 * The signed claims of a token, with short keys because the token travels in a web page: `ws`
 * workspace, `rid` request, `n` score name, `v` / `l` / `r` the allowance, `eu` end user, `exp`
 * expiry (epoch seconds), `kid` the id of the secret that signed it, `jti` the token's own id.
 */
export interface FeedbackClaims {
  ws: number;
  rid: number;
  n: string;
  v?: number[];
  l?: string[];
  r?: [number, number];
  eu?: string;
  exp: number;
  kid: string;
  jti: string;
}

/** The spec's fields as a minting body sends them (after schema validation). */
export interface FeedbackSpecInput {
  name?: string | null | undefined;
  values?: number[] | null | undefined;
  labels?: string[] | null | undefined;
  range?: { min: number; max: number } | null | undefined;
  end_user?: string | null | undefined;
  expires_in?: number | null | undefined;
}

const LONE_SURROGATE_OR_REPLACEMENT = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F]/;

function checkText(value: string, field: string, max: number): string {
  if (value.length === 0 || value.length > max) throw invalidField(field, `must be 1 to ${max} characters`);
  if (LONE_SURROGATE_OR_REPLACEMENT.test(value) || CONTROL.test(value)) throw invalidField(field, 'must be printable Unicode text');
  return value;
}

/**
 * Checks a minting request's spec; `at` prefixes the field names (`items.3.`) in a batch. Values
 * are kept in the order given, without duplicates.
 */
export function checkTokenSpec(input: FeedbackSpecInput, at = ''): FeedbackTokenSpec {
  const name = scoreName(input.name, `${at}name`);
  const given = (['values', 'labels', 'range'] as const).filter((k) => input[k] !== undefined && input[k] !== null);
  if (given.length > 1) throw invalidField(`${at}${given[1]!}`, `give one of values, labels or range, not ${given.join(' and ')}`);
  const spec: FeedbackTokenSpec = { name, endUser: null, expiresIn: FEEDBACK_TTL_DEFAULT_S };
  if (input.values !== undefined && input.values !== null) {
    if (input.values.length === 0) throw invalidField(`${at}values`, 'must list at least one value');
    input.values.forEach((v, i) => checkScore(v, `${at}values.${i}`));
    spec.values = [...new Set(input.values)];
  }
  if (input.labels !== undefined && input.labels !== null) {
    if (input.labels.length === 0 || input.labels.length > FEEDBACK_LABELS_MAX) throw invalidField(`${at}labels`, `must list 1 to ${FEEDBACK_LABELS_MAX} labels`);
    input.labels.forEach((l, i) => checkText(l, `${at}labels.${i}`, FEEDBACK_LABEL_MAX_CHARS));
    spec.labels = [...new Set(input.labels)];
  }
  if (input.range !== undefined && input.range !== null) {
    const min = checkScore(input.range.min, `${at}range.min`);
    const max = checkScore(input.range.max, `${at}range.max`);
    if (min > max) throw invalidField(`${at}range`, 'min must not be above max');
    spec.range = { min, max };
  }
  if (input.end_user !== undefined && input.end_user !== null) spec.endUser = checkText(input.end_user, `${at}end_user`, END_USER_MAX_CHARS);
  if (input.expires_in !== undefined && input.expires_in !== null) {
    const s = input.expires_in;
    if (!Number.isInteger(s) || s < FEEDBACK_TTL_MIN_S || s > FEEDBACK_TTL_MAX_S) {
      throw invalidField(`${at}expires_in`, `must be a whole number of seconds from ${FEEDBACK_TTL_MIN_S} to ${FEEDBACK_TTL_MAX_S} (30 days)`);
    }
    spec.expiresIn = s;
  }
  return spec;
}

/** The claims of a new token for a request (without `kid`, which the signer adds). */
export function claimsFor(workspaceId: number, requestId: number, spec: FeedbackTokenSpec, jti: string, nowMs: number): Omit<FeedbackClaims, 'kid'> {
  const claims: Omit<FeedbackClaims, 'kid'> = { ws: workspaceId, rid: requestId, n: spec.name, exp: Math.floor(nowMs / 1000) + spec.expiresIn, jti };
  if (spec.values) claims.v = spec.values;
  if (spec.labels) claims.l = spec.labels;
  if (spec.range) claims.r = [spec.range.min, spec.range.max];
  if (spec.endUser !== null) claims.eu = spec.endUser;
  return claims;
}

/** The rater an end user's rating is recorded under: the app's id for them, else the token's. */
export const endUserRater = (c: Pick<FeedbackClaims, 'eu' | 'jti'>): string => `${END_USER_RATER_PREFIX}${c.eu ?? c.jti}`;

/** What a submission carries besides its token. */
export interface FeedbackSubmission {
  value?: number | undefined;
  label?: string | undefined;
}

/**
 * Checks a submitted value or label against what the token allows. A label is returned as given
 * (the name's schema turns it into a value); a value is returned checked. Throws a 400 naming
 * `value` or `label`.
 */
export function checkSubmission(c: FeedbackClaims, s: FeedbackSubmission): { value: number } | { label: string } {
  const hasValue = s.value !== undefined;
  const hasLabel = s.label !== undefined;
  if (hasValue === hasLabel) throw invalidField(hasValue ? 'label' : 'value', 'give either value or label, not both or neither');
  if (hasLabel) {
    const label = s.label!;
    if (c.v || c.r) throw invalidField('label', `this token takes a value (${describeAllowance(c)}), not a label`);
    if (c.l && !c.l.includes(label)) throw invalidField('label', `must be one of ${c.l.map((l) => JSON.stringify(l)).join(', ')}`);
    return { label };
  }
  const value = checkScore(s.value, 'value');
  if (c.l) throw invalidField('value', `this token takes a label (${describeAllowance(c)}), not a value`);
  if (c.v && !c.v.includes(value)) throw invalidField('value', `must be one of ${c.v.join(', ')}`);
  if (c.r && (value < c.r[0] || value > c.r[1])) throw invalidField('value', `must be from ${c.r[0]} to ${c.r[1]}`);
  return { value };
}

function describeAllowance(c: FeedbackClaims): string {
  if (c.v) return `one of ${c.v.join(', ')}`;
  if (c.r) return `from ${c.r[0]} to ${c.r[1]}`;
  if (c.l) return `one of ${c.l.map((l) => JSON.stringify(l)).join(', ')}`;
  return 'any score';
}
