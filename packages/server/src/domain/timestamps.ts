import { invalidField } from './errors.js';

// Accepts 1970..2200; anything outside is almost certainly milliseconds sent as seconds or garbage.
const MAX_EPOCH_SECONDS = 7_258_118_400;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * Whether an ISO 8601 text (already matching ISO_8601) names a date and time that exists. Date.parse
 * rolls impossible ones over (`2024-02-30` becomes March 1st), which would store a time the client
 * never meant.
 */
function isCalendarDateTime(text: string): boolean {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  if (month < 1 || month > 12 || day < 1) return false;
  const days = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day > days) return false;
  if (text.length === 10) return true;
  const hour = Number(text.slice(11, 13));
  const minute = Number(text.slice(14, 16));
  const second = text.length >= 19 && text[16] === ':' ? Number(text.slice(17, 19)) : 0;
  if (hour > 23 || minute > 59 || second > 59) return false;
  const zone = /([+-])(\d{2}):?(\d{2})$/.exec(text.slice(16));
  return zone === null || (Number(zone[2]) <= 23 && Number(zone[3]) <= 59);
}

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
    if (!isCalendarDateTime(value)) throw invalidField(field, 'is not a real date and time (month 1-12, a day the month has, hour 0-23, minute and second 0-59)');
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
