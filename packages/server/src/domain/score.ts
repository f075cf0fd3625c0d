import { invalidField } from './errors.js';
import { LIMITS } from './limits.js';

export const DEFAULT_SCORE_NAME = 'default';
export const SCORE_MIN = 0;
export const SCORE_MAX = 100;

/** Where a score change came from; recorded in its history row. `end_user`: the feedback route only. */
export type ScoreSource = 'api' | 'dashboard' | 'sdk' | 'batch' | 'cli' | 'end_user';

/** Checks a score value: an integer 0..100 inclusive. Returns it unchanged or throws naming the field. */
export function checkScore(value: unknown, field = 'score'): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidField(field, `must be an integer from ${SCORE_MIN} to ${SCORE_MAX}`);
  }
  if (value < SCORE_MIN || value > SCORE_MAX) {
    throw invalidField(field, `must be an integer from ${SCORE_MIN} to ${SCORE_MAX}`);
  }
  return value;
}

/** A score name: absent or null means `default`; otherwise 1..512 characters. */
export function scoreName(value: string | null | undefined, field = 'name'): string {
  if (value === undefined || value === null) return DEFAULT_SCORE_NAME;
  if (value.length === 0 || value.length > LIMITS.scoreName) {
    throw invalidField(field, `must be 1 to ${LIMITS.scoreName} characters`);
  }
  // A lone surrogate is valid JSON but no text, and U+FFFD is what bytes that were not UTF-8 decode
  // to: either way the name stored would not be the name the client meant.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/.test(value)) {
    throw invalidField(field, 'must be valid Unicode text (no lone surrogates, no bytes that are not UTF-8)');
  }
  return value;
}
