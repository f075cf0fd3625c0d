import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toIso } from '../src/domain/timestamps.js';
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
