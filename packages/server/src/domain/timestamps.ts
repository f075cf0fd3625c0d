import { invalidField } from './errors.js';

// Accepts 1970..2200; anything outside is almost certainly milliseconds sent as seconds or garbage.
const MAX_EPOCH_SECONDS = 7_258_118_400;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Parses a timestamp given as epoch seconds (integer or float, as the Python SDK sends) or as an
 * ISO 8601 string (as the JS SDK sends). Returns epoch milliseconds.
 */
export function parseTimestamp(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value < 0 || value > MAX_EPOCH_SECONDS) throw invalidField(field, 'epoch seconds out of range');
    return Math.round(value * 1000);
  }
  if (typeof value === 'string') {
    if (!ISO_8601.test(value)) throw invalidField(field, 'must be epoch seconds or an ISO 8601 date-time');
    // A date-time without an offset is read as UTC, never as the server's local time.
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value) && value.length > 10;
    const ms = Date.parse(hasZone || value.length === 10 ? value : `${value.replace(' ', 'T')}Z`);
    if (Number.isNaN(ms) || ms < 0 || ms > MAX_EPOCH_SECONDS * 1000) {
      throw invalidField(field, 'must be epoch seconds or an ISO 8601 date-time');
    }
    return ms;
  }
  throw invalidField(field, 'must be epoch seconds or an ISO 8601 date-time');
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
