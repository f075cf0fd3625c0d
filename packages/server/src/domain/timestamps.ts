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

const DAY_MS = 86_400_000;
// 10000-01-01T00:00:00Z: from here on (and before 1970) the date part has another shape.
const YEAR_10000_MS = 253_402_300_800_000;
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
let cachedDay = Number.NaN;
let cachedDayText = '';

/**
 * `new Date(ms).toISOString()`, with the date part (`YYYY-MM-DDT`) kept from the previous call on
 * the same UTC day. The times of a page or an export mostly share their day, and a Date per time
 * was 4% of a CSV export's CPU. Times that are not whole milliseconds between 1970 and 9999 go to
 * Date as they are.
 */
export function toIso(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= YEAR_10000_MS) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayText = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  const t = ms - day * DAY_MS;
  const milli = t % 1000;
  const sec = (t - milli) / 1000;
  const ms3 = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : `${milli}`;
  return `${cachedDayText}${two(Math.floor(sec / 3600))}:${two(Math.floor(sec / 60) % 60)}:${two(sec % 60)}.${ms3}Z`;
}
