import { invalidField } from './errors.js';

// Ids are integers below 2^53 so they survive JSON and JavaScript numbers on every client.
const DIGITS = /^[1-9][0-9]{0,15}$/;

/**
 * Reads an id given as a positive integer or as a decimal string (the SDKs send both).
 * Booleans, floats, negative numbers and anything else are rejected, naming the field.
 */
export function parseId(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && DIGITS.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  throw invalidField(field, 'must be a positive integer id');
}
