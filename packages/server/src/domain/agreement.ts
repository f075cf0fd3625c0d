import { seededUniform, type Seed } from './seeded-random.js';

/**
 * Agreement between raters: Krippendorff's alpha, exactly as Krippendorff defines it for any number
 * of raters and missing values (K. Krippendorff, "Computing Krippendorff's Alpha-Reliability",
 * 2011), with a bootstrap interval, per-rater statistics, and the comparison of two groups of
 * raters (people against an automatic judge).
 *
 * The reliability data are ratings: one value per (unit, rater). A unit is a request; a value is
 * the integer a rater gave (a label counts as the integer it maps to; under the nominal metric
 * only equality of values matters). A rater who did not rate a unit is a missing value: nothing is
 * imputed. A unit with fewer than two values has no pair to compare and is left out of every
 * coefficient ("not pairable").
 *
 * Alpha = 1 - Do / De, from the coincidence matrix o: each unit u with m_u >= 2 values adds, for
 * every ordered pair of values (c, k) from two different raters, 1 / (m_u - 1) to o[c][k], so
 * each pairable value weighs 1 in total. With n_c the row sums and n their sum (the pairable
 * values):
 *   Do = (1/n) sum_c sum_k o[c][k] d(c,k)      observed disagreement
 *   De = 1/(n(n-1)) sum_c sum_k n_c n_k d(c,k)  disagreement expected by chance
 * and the metric's squared difference d:
 *   nominal  d = 0 if c = k, else 1
 *   ordinal  d = (sum of n_g for g from c to k  -  (n_c + n_k) / 2)^2
 *   interval d = (c - k)^2
 * Alpha is undefined (null) when fewer than two values are pairable or when all pairable values
 * are equal (De = 0: there is no variation to agree on).
 */

export type AgreementMetric = 'nominal' | 'ordinal' | 'interval';
export const AGREEMENT_METRICS: readonly AgreementMetric[] = ['nominal', 'ordinal', 'interval'];

/** Most scored requests an agreement over a filter reads. */
export const MAX_AGREEMENT_ITEMS = 100_000;
/**
 * Scored requests an agreement over a filter reads unless asked for more: the newest ones. Enough
 * for a tight interval, and few enough to answer within a second on a million requests.
 */
export const DEFAULT_AGREEMENT_ITEMS = 5_000;

/** One rater's value for one unit. A later rating of the same (unit, rater) replaces an earlier one. */
export interface Rating {
  unit: string;
  rater: string;
  value: number;
}

export interface AlphaResult {
  /** Krippendorff's alpha; null when undefined (see above). */
  alpha: number | null;
  /** Observed disagreement Do. */
  observed: number;
  /** Expected disagreement De. */
  expected: number;
  /** Units with two or more values (the pairable units). */
  units: number;
  /** Values in pairable units (n). */
  values: number;
}

/** Reliability data: the distinct values (ascending), and per pairable unit its values by rater. */
interface Reliability {
  values: number[];
  units: { unit: string; byRater: Map<string, number> }[];
}

function reliability(ratings: readonly Rating[]): Reliability {
  const units = new Map<string, Map<string, number>>();
  for (const r of ratings) {
    if (!Number.isFinite(r.value)) throw new RangeError(`rating of ${r.unit} by ${r.rater} is not a finite number`);
    let byRater = units.get(r.unit);
    if (!byRater) units.set(r.unit, (byRater = new Map()));
    byRater.set(r.rater, r.value);
  }
  // Sorted by unit, so the bootstrap draws the same replicates whatever order the ratings came in.
  const pairable = [...units]
    .filter(([, byRater]) => byRater.size >= 2)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([unit, byRater]) => ({ unit, byRater }));
  const distinct = new Set<number>();
  for (const u of pairable) for (const v of u.byRater.values()) distinct.add(v);
  return { values: [...distinct].sort((a, b) => a - b), units: pairable };
}

/**
 * A unit's share of the coincidence matrix, as (c, k, weight) triples over value indices, ordered
 * pairs included both ways and the diagonal too. Kept per unit so a bootstrap replicate is a sum.
 */
type Contribution = { c: number; k: number; w: number }[];

function contribution(valuesInUnit: readonly number[], indexOf: Map<number, number>): Contribution {
  const counts = new Map<number, number>();
  for (const v of valuesInUnit) {
    const i = indexOf.get(v)!;
    counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  const m = valuesInUnit.length;
  const out: Contribution = [];
  for (const [c, nc] of counts) {
    for (const [k, nk] of counts) {
      // Ordered pairs of values from different raters: nc * nk for c != k, nc * (nc - 1) on the diagonal.
      const pairs = c === k ? nc * (nc - 1) : nc * nk;
      if (pairs > 0) out.push({ c, k, w: pairs / (m - 1) });
    }
  }
  return out;
}

/** The metric's squared differences d(c, k) over value indices, for the given row sums n_c. */
function differences(values: readonly number[], marginals: Float64Array, metric: AgreementMetric): Float64Array {
  const size = values.length;
  const d = new Float64Array(size * size);
  if (metric === 'nominal') {
    for (let c = 0; c < size; c++) for (let k = 0; k < size; k++) d[c * size + k] = c === k ? 0 : 1;
  } else if (metric === 'interval') {
    for (let c = 0; c < size; c++) for (let k = 0; k < size; k++) d[c * size + k] = (values[c]! - values[k]!) ** 2;
  } else {
    // Ordinal: sum_{g=c..k} n_g - (n_c + n_k)/2 is the distance between the mid-ranks of c and k
    // among the pairable values, so d is the squared difference of mid-ranks.
    const midRank = new Float64Array(size);
    let below = 0;
    for (let c = 0; c < size; c++) {
      midRank[c] = below + marginals[c]! / 2;
      below += marginals[c]!;
    }
    for (let c = 0; c < size; c++) for (let k = 0; k < size; k++) d[c * size + k] = (midRank[c]! - midRank[k]!) ** 2;
  }
  return d;
}

function alphaFromCoincidences(o: Float64Array, values: readonly number[], metric: AgreementMetric, units: number): AlphaResult {
  const size = values.length;
  const marginals = new Float64Array(size);
  let n = 0;
  for (let c = 0; c < size; c++) {
    let row = 0;
    for (let k = 0; k < size; k++) row += o[c * size + k]!;
    marginals[c] = row;
    n += row;
  }
  if (n < 2) return { alpha: null, observed: 0, expected: 0, units, values: Math.round(n) };
  const d = differences(values, marginals, metric);
  let observed = 0;
  let expected = 0;
  for (let c = 0; c < size; c++) {
    for (let k = 0; k < size; k++) {
      const dck = d[c * size + k]!;
      if (dck === 0) continue;
      observed += o[c * size + k]! * dck;
      expected += marginals[c]! * marginals[k]! * dck;
    }
  }
  observed /= n;
  expected /= n * (n - 1);
  // Sums of products of exact integers and thirds: a De of a few ulps is no variation at all.
  const alpha = expected > 1e-12 ? 1 - observed / expected : null;
  return { alpha, observed, expected, units, values: Math.round(n) };
}

function coincidenceMatrix(contributions: readonly Contribution[], size: number, weights?: readonly number[]): Float64Array {
  const o = new Float64Array(size * size);
  contributions.forEach((unit, i) => {
    const times = weights ? weights[i]! : 1;
    if (times === 0) return;
    for (const { c, k, w } of unit) o[c * size + k]! += w * times;
  });
  return o;
}

/** Krippendorff's alpha of the ratings under `metric`. */
export function krippendorffAlpha(ratings: readonly Rating[], metric: AgreementMetric): AlphaResult {
  const data = reliability(ratings);
  const indexOf = new Map(data.values.map((v, i) => [v, i]));
  const contributions = data.units.map((u) => contribution([...u.byRater.values()], indexOf));
  return alphaFromCoincidences(coincidenceMatrix(contributions, data.values.length), data.values, metric, data.units.length);
}

export interface BootstrapOptions {
  /** Replicates drawn; default 1000. */
  replicates?: number;
  /** Seed of the resampling, so the interval can be reproduced; default 1. */
  seed?: Seed;
  /** Coverage of the interval; default 0.95. */
  level?: number;
}

export interface AlphaInterval {
  low: number;
  high: number;
  level: number;
  /** Replicates drawn. */
  replicates: number;
  /** Replicates whose alpha was defined (a replicate that drew only units of one value has none). */
  defined: number;
  seed: number;
  method: 'percentile bootstrap over units';
}

/** Linear interpolation between closest ranks (numpy's default) of an ascending array. */
function quantile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * The percentile bootstrap interval of alpha over units: each replicate draws as many pairable
 * units as there are, with replacement, and recomputes alpha from their coincidences (the ordinal
 * metric from the replicate's own row sums); the interval is the (1-level)/2 and (1+level)/2
 * quantiles of the defined replicates. Resampling units keeps the raters' values of a unit
 * together, which is where their dependence lies. (Krippendorff's own procedure resamples pairs
 * of values from the coincidence matrix instead; resampling units is the textbook bootstrap for
 * data clustered in units and needs no assumption about the pairs.)
 * Null when fewer than two units are pairable or fewer than half the replicates are defined.
 */
function bootstrap(contributions: readonly Contribution[], values: readonly number[], metric: AgreementMetric, opts: BootstrapOptions): AlphaInterval | null {
  const replicates = opts.replicates ?? 1000;
  const seed = (opts.seed ?? 1) >>> 0;
  const level = opts.level ?? 0.95;
  const units = contributions.length;
  if (units < 2 || replicates < 1) return null;
  const random = seededUniform(seed);
  const alphas: number[] = [];
  const weights = new Array<number>(units);
  for (let r = 0; r < replicates; r++) {
    weights.fill(0);
    for (let i = 0; i < units; i++) weights[Math.floor(random() * units)]!++;
    const { alpha } = alphaFromCoincidences(coincidenceMatrix(contributions, values.length, weights), values, metric, units);
    if (alpha !== null) alphas.push(alpha);
  }
  if (alphas.length * 2 < replicates) return null;
  alphas.sort((a, b) => a - b);
  return {
    low: quantile(alphas, (1 - level) / 2),
    high: quantile(alphas, (1 + level) / 2),
    level,
    replicates,
    defined: alphas.length,
    seed,
    method: 'percentile bootstrap over units',
  };
}

export interface RaterAgreement {
  rater: string;
  /** Units the rater rated (pairable or not). */
  items: number;
  /** Units the rater rated that at least one other rater rated too. */
  sharedItems: number;
  /**
   * Mean over the shared units of (the rater's value - the mean of the other raters' values), in
   * score units: positive for a rater who rates higher than the others. Null without shared units.
   */
  meanOffset: number | null;
  /**
   * The rater's alpha against the rest: 1 - Do_r / De, where Do_r is the weighted mean
   * disagreement of the coincidence pairs that pair this rater's value with another rater's value
   * in the same unit (each weighted 1 / (m_u - 1), as in the full matrix), and De is the expected
   * disagreement of all pairable values. With two raters it equals alpha; a rater whose pairs
   * disagree more than the average pair scores below alpha. Null when the rater shares no unit or
   * De is 0.
   */
  alpha: number | null;
}

export interface AgreementReport extends AlphaResult {
  metric: AgreementMetric;
  interval: AlphaInterval | null;
  raters: RaterAgreement[];
}

/**
 * Krippendorff's alpha with its bootstrap interval and per-rater statistics.
 * @example agreement([{ unit: '1', rater: 'user:1', value: 80 }, ...], 'interval', { seed: 7 })
 */
export function agreement(ratings: readonly Rating[], metric: AgreementMetric, opts: BootstrapOptions = {}): AgreementReport {
  const data = reliability(ratings);
  const size = data.values.length;
  const indexOf = new Map(data.values.map((v, i) => [v, i]));
  const contributions = data.units.map((u) => contribution([...u.byRater.values()], indexOf));
  const o = coincidenceMatrix(contributions, size);
  const overall = alphaFromCoincidences(o, data.values, metric, data.units.length);

  const marginals = new Float64Array(size);
  for (let c = 0; c < size; c++) for (let k = 0; k < size; k++) marginals[c]! += o[c * size + k]!;
  const d = differences(data.values, marginals, metric);

  const stats = new Map<string, { items: number; shared: number; offsetSum: number; weight: number; disagreement: number }>();
  const statsOf = (rater: string) => {
    let s = stats.get(rater);
    if (!s) stats.set(rater, (s = { items: 0, shared: 0, offsetSum: 0, weight: 0, disagreement: 0 }));
    return s;
  };
  // Units with a single value count towards `items` only.
  const seen = new Set<string>();
  for (const r of ratings) {
    const key = `${r.unit.length}:${r.unit}${r.rater}`;
    if (seen.has(key)) continue;
    seen.add(key);
    statsOf(r.rater).items++;
  }
  for (const { byRater } of data.units) {
    const m = byRater.size;
    let total = 0;
    for (const v of byRater.values()) total += v;
    for (const [rater, v] of byRater) {
      const s = statsOf(rater);
      s.shared++;
      s.offsetSum += v - (total - v) / (m - 1);
      const c = indexOf.get(v)!;
      for (const [other, w] of byRater) {
        if (other === rater) continue;
        // Both orders of the pair (v, w), each 1 / (m - 1); d is symmetric.
        s.weight += 2 / (m - 1);
        s.disagreement += (2 / (m - 1)) * d[c * size + indexOf.get(w)!]!;
      }
    }
  }
  const raters: RaterAgreement[] = [...stats]
    .map(([rater, s]) => ({
      rater,
      items: s.items,
      sharedItems: s.shared,
      meanOffset: s.shared > 0 ? s.offsetSum / s.shared : null,
      alpha: s.weight > 0 && overall.alpha !== null ? 1 - s.disagreement / s.weight / overall.expected : null,
    }))
    .sort((a, b) => (a.rater < b.rater ? -1 : a.rater > b.rater ? 1 : 0));

  return { metric, ...overall, interval: bootstrap(contributions, data.values, metric, opts), raters };
}

/** The value a group of raters gives a unit, when it is several. */
function consensus(values: readonly number[], metric: AgreementMetric): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (metric === 'interval') return sorted.reduce((s, v) => s + v, 0) / sorted.length;
  if (metric === 'ordinal') return sorted[Math.floor((sorted.length - 1) / 2)]!;
  // Nominal: the most frequent value; a tie goes to the lowest, so the result is deterministic.
  let best = sorted[0]!;
  let bestCount = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    if (j - i > bestCount) [best, bestCount] = [sorted[i]!, j - i];
    i = j;
  }
  return best;
}

export interface GroupDisagreement {
  unit: string;
  a: number;
  b: number;
  /** |a - b|. */
  difference: number;
}

export interface GroupComparison {
  metric: AgreementMetric;
  /** Units rated by both groups. */
  items: number;
  /** Alpha between the two groups' values (two raters: group a and group b) over those units. */
  alpha: number | null;
  /** Mean of |a - b| over those units, in score units; null without any. */
  meanAbsoluteDifference: number | null;
  /** Under the nominal metric: counts[i][j] = units where group a gave values[i] and group b values[j]. */
  confusion: { values: number[]; counts: number[][] } | null;
  /** Units where the groups disagree, largest difference first (ties by unit). */
  disagreements: GroupDisagreement[];
}

/**
 * Compares two groups of raters, e.g. people against an automatic judge. Where a group has several
 * raters on a unit, its value is their consensus: the mean (interval), the lower median (ordinal)
 * or the most frequent value, lowest on a tie (nominal). Raters `groupOf` maps to null are left out.
 * A unit is a disagreement when the values differ (nominal), or differ by `minDifference` or more
 * (interval and ordinal; default 1).
 */
export function compareGroups(
  ratings: readonly Rating[],
  groupOf: (rater: string) => 'a' | 'b' | null,
  metric: AgreementMetric,
  opts: { minDifference?: number } = {},
): GroupComparison {
  const units = new Map<string, { a: Map<string, number>; b: Map<string, number> }>();
  for (const r of ratings) {
    const group = groupOf(r.rater);
    if (group === null) continue;
    let u = units.get(r.unit);
    if (!u) units.set(r.unit, (u = { a: new Map(), b: new Map() }));
    u[group].set(r.rater, r.value);
  }
  const pairs: { unit: string; a: number; b: number }[] = [];
  for (const [unit, { a, b }] of units) {
    if (a.size === 0 || b.size === 0) continue;
    pairs.push({ unit, a: consensus([...a.values()], metric), b: consensus([...b.values()], metric) });
  }
  const alpha = krippendorffAlpha(
    pairs.flatMap((p) => [
      { unit: p.unit, rater: 'a', value: p.a },
      { unit: p.unit, rater: 'b', value: p.b },
    ]),
    metric,
  ).alpha;
  const minDifference = opts.minDifference ?? 1;
  const disagreements = pairs
    .map((p) => ({ ...p, difference: Math.abs(p.a - p.b) }))
    .filter((p) => (metric === 'nominal' ? p.a !== p.b : p.difference >= minDifference))
    .sort((x, y) => y.difference - x.difference || (x.unit < y.unit ? -1 : x.unit > y.unit ? 1 : 0));
  let confusion: GroupComparison['confusion'] = null;
  if (metric === 'nominal') {
    const values = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort((x, y) => x - y);
    const at = new Map(values.map((v, i) => [v, i]));
    const counts = values.map(() => values.map(() => 0));
    for (const p of pairs) counts[at.get(p.a)!]![at.get(p.b)!]!++;
    confusion = { values, counts };
  }
  return {
    metric,
    items: pairs.length,
    alpha,
    meanAbsoluteDifference: pairs.length > 0 ? pairs.reduce((s, p) => s + Math.abs(p.a - p.b), 0) / pairs.length : null,
    confusion,
    disagreements,
  };
}

export interface Spread {
  /** max - min of the unit's values, in score units. */
  spread: number;
  /** How many distinct values the unit has. */
  distinct: number;
}

/** How far apart the ratings of one unit are. */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) return { spread: 0, distinct: 0 };
  return { spread: Math.max(...values) - Math.min(...values), distinct: new Set(values).size };
}
