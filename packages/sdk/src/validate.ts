import { invalidField } from './errors.js';

// The same limits and messages as the server (packages/server/src/domain), so a value refused here
// reads exactly as the server would have refused it.
export const SCORE_MIN = 0;
export const SCORE_MAX = 100;
export const SCORE_NAME_MAX = 512;
const ID_TEXT = /^[1-9][0-9]{0,15}$/;

/** An integer 0..100. */
export function checkScore(value: unknown, field = 'score'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < SCORE_MIN || value > SCORE_MAX) {
    throw invalidField(field, `must be an integer from ${SCORE_MIN} to ${SCORE_MAX}`);
  }
  return value;
}

/** A label of a schema: 1..128 characters. */
export function checkLabel(value: unknown, field = 'label'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw invalidField(field, 'must be a string of 1 to 128 characters');
  return value;
}

/** A positive integer id, or a decimal string of one (as the SDKs of PromptLayer send). */
export function checkId(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && ID_TEXT.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  throw invalidField(field, 'must be a positive integer id');
}

/** A score name: absent means `default` (left to the server); otherwise 1..512 characters. */
export function checkScoreName(value: unknown, field = 'name'): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > SCORE_NAME_MAX) {
    throw invalidField(field, `must be 1 to ${SCORE_NAME_MAX} characters`);
  }
  return value;
}

/** An object of string to string. */
export function checkMetadata(value: unknown, field = 'metadata'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidField(field, 'must be an object of string values');
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidField(`${field}.${k}`, 'must be a string');
  }
  return value as Record<string, string>;
}
