import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTimestamp, toIso } from '../src/domain/timestamps.js';
import { seededRandom } from './helpers/random.js';

// toIso keeps the date part of the previous call's day; it must still give exactly what Date gives.
describe('toIso', () => {
  const date = (ms: number) => new Date(ms).toISOString();
  const DAY = 86_400_000;

  it('gives what Date#toISOString gives at the edges of days, seconds and the supported years', () => {
    const edges = [0, 1, 9, 10, 99, 100, 999, 1000, 59_999, 60_000, 3_599_999, 3_600_000, DAY - 1, DAY, DAY + 1, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 2, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    for (const ms of edges) assert.equal(toIso(ms), date(ms), `at ${ms}`);
  });

  it('gives what Date gives outside 1970-9999 and for fractions of a millisecond', () => {
    for (const ms of [-1, -DAY, -62_198_755_200_000, Date.UTC(10000, 0, 1), Date.UTC(20000, 5, 1, 3), 1_700_000_000_000.5, 0.25]) assert.equal(toIso(ms), date(ms), `at ${ms}`);
  });

  it('gives what Date gives for random times, in runs within one day and jumping between days', () => {
    const rand = seededRandom(12345);
    let ms = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 20_000; i++) {
      ms = rand() < 0.1 ? Math.floor(rand() * Date.UTC(2200, 0, 1)) : ms + Math.floor(rand() * 120_000);
      assert.equal(toIso(ms), date(ms), `at ${ms}`);
    }
  });
});

describe('parseTimestamp', () => {
  it('refuses dates and times that do not exist, with a message naming the field', () => {
    for (const text of ['2024-02-30T00:00:00Z', '2023-02-29', '1900-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-00-10', '2024-13-01', '2024-06-00T00:00Z', '2024-01-01T25:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T23:60:00Z', '2024-01-01T23:59:60Z', '2024-01-01T10:00:00+24:00', '2024-01-01T10:00:00+05:60']) {
      assert.throws(() => parseTimestamp(text, 'request_start_time'), (err: Error) => err.message.startsWith('request_start_time: '), text);
    }
  });

  it('accepts leap days, the last instant of a day and offsets, as the instant they name', () => {
    const cases: [string, number][] = [
      ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
      ['2000-02-29', Date.UTC(2000, 1, 29)],
      ['2024-04-30T23:59:59.999Z', Date.UTC(2024, 3, 30, 23, 59, 59, 999)],
      ['2024-12-31T23:59:59+05:30', Date.UTC(2024, 11, 31, 18, 29, 59)],
      ['2024-12-31T23:59:59-0800', Date.UTC(2025, 0, 1, 7, 59, 59)],
      ['2024-12-31 10:00', Date.UTC(2024, 11, 31, 10)],
    ];
    for (const [text, ms] of cases) assert.equal(parseTimestamp(text, 't'), ms, text);
  });
});
