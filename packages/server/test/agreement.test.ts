import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agreement, compareGroups, krippendorffAlpha, spreadOf, type AgreementMetric, type Rating } from '../src/domain/agreement.js';
import { seededRandom } from './helpers/random.js';

const _ = null;
type Matrix = (number | null)[][];

/** Reliability data as printed in the papers: one row per rater, one column per unit, null missing. */
function ratingsOf(matrix: Matrix, raters = matrix.map((_row, i) => String.fromCharCode(65 + i))): Rating[] {
  return matrix.flatMap((row, r) => row.flatMap((value, u) => (value === null ? [] : [{ unit: String(u + 1), rater: raters[r]!, value }])));
}

/** `actual`, rounded to 3 decimals, reads `expected`. */
function threeDecimals(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null, `${what}: alpha is undefined`);
  assert.equal(Math.round(actual * 1000) / 1000, expected, `${what}: ${actual} should read ${expected}`);
}

/**
 * Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: nominal data, any
 * number of observers, missing data. 4 observers, 12 units; unit 12 has one value and is not
 * pairable. Hand computation:
 *   pairable values n = 3 + 8*4 + 3 + 2 = 40; marginals n_1..n_5 = 9, 13, 10, 5, 3.
 *   Disagreeing units: 2 (2,2,2,3), 6 (1,2,3,4), 8 (1,1,1,2), each m_u = 4.
 *   nominal:  Do = (6/3 + 12/3 + 6/3)/40 = 0.2; De = (40^2 - 384)/(40*39) = 1216/1560;
 *             alpha = 1 - 0.2/0.779487 = 0.743 (the paper's 0.743).
 *   interval: Do = (6*1/3 + 2*20/3 + 6*1/3)/40 = 17.333/40; De = 2*2240/1560 = 2.871795;
 *             alpha = 1 - 0.433333/2.871795 = 0.849 (the paper's 0.849).
 *   ordinal:  mid-ranks of 1..5 are 5, 16, 27.5, 35, 39; d(1,2) = 121, d(2,3) = 132.25, ...
 *             Do = (264.5 + 1384.333 + 242)/40 = 47.2708; De = 2*199740/1560 = 256.0769;
 *             alpha = 1 - 47.2708/256.0769 = 0.815 (the paper's 0.815).
 */
const KRIPPENDORFF_2011: Matrix = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
  [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
];

/**
 * Wikipedia, "Krippendorff's alpha", the worked example: 3 coders, 15 units, many missing values.
 * Pairable units 3-13 and 15 (12 units), n = 26, marginals n_1..n_4 = 7, 4, 10, 5.
 *   nominal:  Do = (4/2 + 2 + 2)/26 = 6/26; De = (26^2 - 190)/(26*25) = 486/650;
 *             alpha = 1 - 0.230769/0.747692 = 0.691.
 *   interval: Do = (4/2 + 2*4 + 2*1)/26 = 12/26; De = 2*793/650 = 2.44;
 *             alpha = 1 - 0.461538/2.44 = 0.811.
 */
const WIKIPEDIA: Matrix = [
  [_, _, _, _, _, 3, 4, 1, 2, 1, 1, 3, 3, _, 3],
  [1, _, 2, 1, 3, 3, 4, 3, _, _, _, _, _, _, _],
  [_, _, 2, 1, 3, 4, 4, _, 2, 1, 1, 3, 3, _, 4],
];

/**
 * An independent implementation from the pairwise form of the definition, with no coincidence
 * matrix: Do averages d over every ordered pair of values of two raters in a unit, weighted
 * 1/(m_u - 1); De averages d over every ordered pair of distinct pooled pairable values. The
 * ordinal d is Krippendorff's formula written out literally over the pooled values.
 */
function bruteForceAlpha(ratings: readonly Rating[], metric: AgreementMetric): number | null {
  const units = new Map<string, number[]>();
  for (const r of ratings) units.set(r.unit, [...(units.get(r.unit) ?? []), r.value]);
  const pairable = [...units.values()].filter((vs) => vs.length >= 2);
  const pooled = pairable.flat();
  const n = pooled.length;
  const count = (g: number) => pooled.filter((v) => v === g).length;
  const d = (c: number, k: number): number => {
    if (metric === 'nominal') return c === k ? 0 : 1;
    if (metric === 'interval') return (c - k) ** 2;
    const [lo, hi] = c <= k ? [c, k] : [k, c];
    const between = [...new Set(pooled)].filter((g) => g >= lo && g <= hi).reduce((s, g) => s + count(g), 0);
    return (between - (count(c) + count(k)) / 2) ** 2;
  };
  let observed = 0;
  for (const vs of pairable) {
    for (let i = 0; i < vs.length; i++) for (let j = 0; j < vs.length; j++) if (i !== j) observed += d(vs[i]!, vs[j]!) / (vs.length - 1);
  }
  let expected = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) expected += d(pooled[i]!, pooled[j]!);
  if (expected === 0) return null;
  return 1 - (observed / n) / (expected / (n * (n - 1)));
}

/** Random reliability data: `raters` raters, `units` units, values from `values`, each value missing with probability `missing`. */
function randomRatings(seed: number, raters: number, units: number, values: readonly number[], missing: number): Rating[] {
  const random = seededRandom(seed);
  const out: Rating[] = [];
  for (let u = 0; u < units; u++) {
    const base = Math.floor(random() * values.length);
    for (let r = 0; r < raters; r++) {
      if (random() < missing) continue;
      // Raters mostly agree with the unit's base value, sometimes drift one step, sometimes anywhere.
      const roll = random();
      const at = roll < 0.6 ? base : roll < 0.85 ? Math.min(values.length - 1, base + 1) : Math.floor(random() * values.length);
      out.push({ unit: `u${u}`, rater: `r${r}`, value: values[at]! });
    }
  }
  return out;
}

const METRICS: AgreementMetric[] = ['nominal', 'ordinal', 'interval'];

describe("Krippendorff's alpha", () => {
  it("reads 0.743 nominal, 0.815 ordinal, 0.849 interval on Krippendorff's 2011 example with missing values", () => {
    const ratings = ratingsOf(KRIPPENDORFF_2011);
    threeDecimals(krippendorffAlpha(ratings, 'nominal').alpha, 0.743, 'nominal');
    threeDecimals(krippendorffAlpha(ratings, 'ordinal').alpha, 0.815, 'ordinal');
    threeDecimals(krippendorffAlpha(ratings, 'interval').alpha, 0.849, 'interval');
    const result = krippendorffAlpha(ratings, 'nominal');
    assert.equal(result.units, 11, 'unit 12 has a single value and is not pairable');
    assert.equal(result.values, 40);
  });

  it("reads 0.691 nominal and 0.811 interval on Wikipedia's worked example", () => {
    const ratings = ratingsOf(WIKIPEDIA);
    threeDecimals(krippendorffAlpha(ratings, 'nominal').alpha, 0.691, 'nominal');
    threeDecimals(krippendorffAlpha(ratings, 'interval').alpha, 0.811, 'interval');
    assert.equal(krippendorffAlpha(ratings, 'nominal').values, 26);
  });

  it('matches a brute-force pairwise computation on both examples and on random data with missing values', () => {
    const sets: [string, Rating[]][] = [
      ['2011', ratingsOf(KRIPPENDORFF_2011)],
      ['wikipedia', ratingsOf(WIKIPEDIA)],
      ...[1, 2, 3, 4, 5, 6].map((seed): [string, Rating[]] => [`random ${seed}`, randomRatings(seed, 2 + (seed % 4), 30, seed % 2 ? [0, 50, 100] : [0, 10, 20, 35, 60, 100], 0.35)]),
    ];
    for (const [name, ratings] of sets) {
      for (const metric of METRICS) {
        const fast = krippendorffAlpha(ratings, metric).alpha;
        const slow = bruteForceAlpha(ratings, metric);
        assert.ok(fast !== null && slow !== null, `${name} ${metric}: defined`);
        assert.ok(Math.abs(fast - slow) < 1e-9, `${name} ${metric}: ${fast} vs brute force ${slow}`);
      }
    }
  });

  it('is 1 on perfect agreement and undefined when there is no variation or no pair', () => {
    const perfect = ratingsOf([
      [10, 20, 30, _],
      [10, 20, 30, 40],
    ]);
    for (const metric of METRICS) assert.equal(krippendorffAlpha(perfect, metric).alpha, 1, metric);
    const constant = ratingsOf([
      [50, 50, 50],
      [50, 50, _],
    ]);
    assert.equal(krippendorffAlpha(constant, 'interval').alpha, null);
    const noPairs = ratingsOf([
      [10, _, 30],
      [_, 20, _],
    ]);
    assert.equal(krippendorffAlpha(noPairs, 'nominal').alpha, null);
    assert.equal(krippendorffAlpha(noPairs, 'nominal').units, 0);
  });

  it('takes the last of two ratings of the same unit by the same rater', () => {
    const ratings = [...ratingsOf(KRIPPENDORFF_2011), { unit: '1', rater: 'A', value: 4 }, { unit: '1', rater: 'A', value: 1 }];
    threeDecimals(krippendorffAlpha(ratings, 'nominal').alpha, 0.743, 'nominal');
  });
});

describe('agreement report', () => {
  it('gives a bootstrap interval that the same seed reproduces and that holds the estimate', () => {
    const ratings = randomRatings(11, 4, 60, [0, 25, 50, 75, 100], 0.3);
    const one = agreement(ratings, 'interval', { seed: 7, replicates: 500 });
    const again = agreement([...ratings].reverse(), 'interval', { seed: 7, replicates: 500 });
    const other = agreement(ratings, 'interval', { seed: 8, replicates: 500 });
    assert.ok(one.interval && again.interval && other.interval);
    assert.deepEqual(again.interval, one.interval, 'same seed, same data in another order: same interval');
    assert.notDeepEqual(other.interval, one.interval, 'another seed draws other replicates');
    assert.ok(one.interval.low < one.alpha! && one.alpha! < one.interval.high, `${one.interval.low} < ${one.alpha} < ${one.interval.high}`);
    assert.ok(one.interval.high - one.interval.low < 0.5, 'an interval over 60 units is not the whole range');
    assert.equal(one.interval.replicates, 500);
    assert.equal(one.interval.level, 0.95);
  });

  it('widens the interval when there are fewer units', () => {
    const many = agreement(randomRatings(5, 3, 200, [0, 50, 100], 0.2), 'nominal', { seed: 3, replicates: 400 }).interval!;
    const few = agreement(randomRatings(5, 3, 15, [0, 50, 100], 0.2), 'nominal', { seed: 3, replicates: 400 }).interval!;
    assert.ok(few.high - few.low > many.high - many.low, `15 units ${few.high - few.low} vs 200 units ${many.high - many.low}`);
  });

  it("reports each rater's items, mean offset from the others and own alpha by its definition", () => {
    // C rates 10 above A and B, who agree; D rated one unit alone.
    const ratings = ratingsOf(
      [
        [20, 40, 60, 80, _],
        [20, 40, 60, _, _],
        [30, 50, 70, 90, _],
        [_, _, _, _, 10],
      ],
      ['A', 'B', 'C', 'D'],
    );
    const report = agreement(ratings, 'interval', { replicates: 50 });
    const byRater = new Map(report.raters.map((r) => [r.rater, r]));
    assert.deepEqual([...byRater.keys()], ['A', 'B', 'C', 'D']);
    assert.equal(byRater.get('C')!.items, 4);
    assert.equal(byRater.get('C')!.meanOffset, 10);
    // A: -5 on units 1-3 (vs the mean of B and C), -10 on unit 4 (vs C alone).
    assert.equal(byRater.get('A')!.meanOffset, (-5 * 3 - 10) / 4);
    assert.equal(byRater.get('D')!.items, 1);
    assert.equal(byRater.get('D')!.sharedItems, 0);
    assert.equal(byRater.get('D')!.meanOffset, null);
    assert.equal(byRater.get('D')!.alpha, null);
    // By the definition: 1 - (weighted mean d of the pairs with the rater) / De of all values.
    for (const rater of ['A', 'B', 'C']) {
      let weight = 0;
      let disagreement = 0;
      const units = new Map<string, Rating[]>();
      for (const r of ratings) units.set(r.unit, [...(units.get(r.unit) ?? []), r]);
      for (const values of units.values()) {
        const mine = values.find((v) => v.rater === rater);
        if (!mine || values.length < 2) continue;
        for (const other of values) {
          if (other === mine) continue;
          weight += 1 / (values.length - 1);
          disagreement += (mine.value - other.value) ** 2 / (values.length - 1);
        }
      }
      const expected = 1 - disagreement / weight / report.expected;
      assert.ok(Math.abs(byRater.get(rater)!.alpha! - expected) < 1e-12, `${rater}: ${byRater.get(rater)!.alpha} vs ${expected}`);
    }
    assert.ok(byRater.get('C')!.alpha! < report.alpha!, 'the rater off by 10 agrees less than the whole');
    assert.ok(byRater.get('B')!.alpha! > report.alpha!);
  });

  it("gives each of two raters the pair's alpha", () => {
    const ratings = randomRatings(21, 2, 40, [0, 30, 70, 100], 0.1);
    for (const metric of METRICS) {
      const report = agreement(ratings, metric, { replicates: 10 });
      for (const r of report.raters) assert.ok(Math.abs(r.alpha! - report.alpha!) < 1e-12, `${metric} ${r.rater}`);
    }
  });
});

describe('two groups of raters', () => {
  const group = (rater: string) => (rater.startsWith('key:') ? 'b' : rater.startsWith('user:') ? 'a' : null);

  it('counts a confusion matrix, the mean absolute difference and the disagreements for labels', () => {
    const ratings: Rating[] = [
      // unit 1: both say 100; unit 2: people 0, judge 100; unit 3: people split 100/0/0 -> 0, judge 0;
      // unit 4: judge only; unit 5: people only; end users are left out.
      { unit: '1', rater: 'user:1', value: 100 },
      { unit: '1', rater: 'key:9', value: 100 },
      { unit: '2', rater: 'user:1', value: 0 },
      { unit: '2', rater: 'key:9', value: 100 },
      { unit: '3', rater: 'user:1', value: 100 },
      { unit: '3', rater: 'user:2', value: 0 },
      { unit: '3', rater: 'user:3', value: 0 },
      { unit: '3', rater: 'key:9', value: 0 },
      { unit: '4', rater: 'key:9', value: 0 },
      { unit: '5', rater: 'user:2', value: 100 },
      { unit: '1', rater: 'end_user:x', value: 0 },
    ];
    const result = compareGroups(ratings, group, 'nominal');
    assert.equal(result.items, 3);
    assert.deepEqual(result.confusion, { values: [0, 100], counts: [[1, 1], [0, 1]] });
    assert.equal(result.meanAbsoluteDifference, 100 / 3);
    assert.deepEqual(result.disagreements.map((d) => d.unit), ['2']);
    assert.equal(result.alpha, krippendorffAlpha(ratingsOf([[100, 0, 0], [100, 100, 0]]), 'nominal').alpha);
  });

  it('averages a group under the interval metric and orders disagreements by difference', () => {
    const ratings: Rating[] = [
      { unit: '1', rater: 'user:1', value: 40 },
      { unit: '1', rater: 'user:2', value: 60 },
      { unit: '1', rater: 'key:1', value: 50 },
      { unit: '2', rater: 'user:1', value: 90 },
      { unit: '2', rater: 'key:1', value: 60 },
      { unit: '3', rater: 'user:1', value: 10 },
      { unit: '3', rater: 'key:1', value: 80 },
      { unit: '4', rater: 'user:1', value: 10 },
      { unit: '4', rater: 'key:1', value: 15 },
    ];
    const result = compareGroups(ratings, group, 'interval', { minDifference: 10 });
    assert.equal(result.confusion, null);
    assert.equal(result.meanAbsoluteDifference, (0 + 30 + 70 + 5) / 4);
    assert.deepEqual(result.disagreements.map((d) => [d.unit, d.difference]), [['3', 70], ['2', 30]]);
  });

  it('measures the spread of a unit', () => {
    assert.deepEqual(spreadOf([50, 20, 90, 20]), { spread: 70, distinct: 3 });
    assert.deepEqual(spreadOf([]), { spread: 0, distinct: 0 });
  });
});
