import { tCdf, tQuantile } from './t-distribution.js';
import { SCORE_MAX, SCORE_MIN } from './score.js';

/**
 * Score statistics, computed from a score distribution: how many times each integer value 0..100
 * occurs. Scores are integers in a range of 101 values, so the store can hand over the exact
 * distribution of any number of rows in at most 101 counts (a GROUP BY), and everything below is
 * exact and independent of the backend: SQLite and PostgreSQL give identical numbers because they
 * only ever count integers.
 */

/** One distinct score value and how many scores have it. */
export interface ValueCount {
  value: number;
  count: number;
}

export interface Summary {
  count: number;
  mean: number | null;
  /** Sample standard deviation (divides by n - 1); null below two values. */
  stddev: number | null;
  min: number | null;
  max: number | null;
  /** Percentiles by linear interpolation between closest ranks (PostgreSQL's percentile_cont, numpy's default). */
  p50: number | null;
  p90: number | null;
}

export interface HistogramBucket {
  /** Lower bound, inclusive. */
  from: number;
  /** Upper bound: exclusive, except the last bucket's, which is inclusive (it holds 100). */
  to: number;
  count: number;
}

export const DEFAULT_HISTOGRAM_BUCKETS = 10;
export const MAX_HISTOGRAM_BUCKETS = 100;
/**
 * Grouping statistics by tag or by a metadata key keeps the groups with the most scores, at most
 * this many: a key such as a user id could otherwise make one group per request.
 */
export const MAX_STATS_GROUPS = 50;

const sortedByValue = (dist: readonly ValueCount[]): ValueCount[] =>
  dist.filter((d) => d.count > 0).sort((x, y) => x.value - y.value);

/** The value at 0-based rank `rank` of the sorted scores the distribution describes. */
function valueAtRank(sorted: readonly ValueCount[], rank: number): number {
  let seen = 0;
  for (const d of sorted) {
    seen += d.count;
    if (rank < seen) return d.value;
  }
  throw new RangeError(`rank ${rank} is outside the distribution`);
}

/** Percentile `p` (0..1) by linear interpolation between the closest ranks. */
export function percentile(dist: readonly ValueCount[], p: number): number | null {
  const sorted = sortedByValue(dist);
  const n = sorted.reduce((s, d) => s + d.count, 0);
  if (n === 0) return null;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const low = valueAtRank(sorted, lo);
  if (hi === lo) return low;
  return low + (h - lo) * (valueAtRank(sorted, hi) - low);
}

/** Mean, sample variance and count of a distribution, in two passes for numerical stability. */
export function moments(dist: readonly ValueCount[]): { count: number; mean: number | null; variance: number | null } {
  let count = 0;
  let sum = 0;
  for (const d of dist) {
    count += d.count;
    sum += d.value * d.count;
  }
  if (count === 0) return { count, mean: null, variance: null };
  const mean = sum / count;
  if (count < 2) return { count, mean, variance: null };
  let squares = 0;
  for (const d of dist) squares += d.count * (d.value - mean) ** 2;
  return { count, mean, variance: squares / (count - 1) };
}

export function summarize(dist: readonly ValueCount[]): Summary {
  const sorted = sortedByValue(dist);
  const { count, mean, variance } = moments(sorted);
  return {
    count,
    mean,
    stddev: variance === null ? null : Math.sqrt(variance),
    min: sorted[0]?.value ?? null,
    max: sorted.at(-1)?.value ?? null,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
  };
}

/** The bucket a score falls in: `buckets` equal widths over 0..100, the last one closed at 100. */
export function bucketIndex(value: number, buckets: number): number {
  return Math.min(Math.floor(((value - SCORE_MIN) * buckets) / (SCORE_MAX - SCORE_MIN)), buckets - 1);
}

/** A histogram of `buckets` equal-width buckets over 0..100: [0,10), [10,20), ..., [90,100] by default. */
export function histogram(dist: readonly ValueCount[], buckets = DEFAULT_HISTOGRAM_BUCKETS): HistogramBucket[] {
  const width = (SCORE_MAX - SCORE_MIN) / buckets;
  const out: HistogramBucket[] = Array.from({ length: buckets }, (_, i) => ({
    from: SCORE_MIN + i * width,
    to: i === buckets - 1 ? SCORE_MAX : SCORE_MIN + (i + 1) * width,
    count: 0,
  }));
  for (const d of dist) out[bucketIndex(d.value, buckets)]!.count += d.count;
  return out;
}

export type CompareVerdict = 'a_better' | 'b_better' | 'no_significant_difference' | 'not_enough_data';

export interface CohortSummary {
  count: number;
  mean: number | null;
  stddev: number | null;
}

export interface Comparison {
  test: 'welch_t';
  confidence: number;
  a: CohortSummary;
  b: CohortSummary;
  /** mean(b) - mean(a); positive when b scores higher. Null when a cohort is empty. */
  difference: number | null;
  /** Confidence interval of the difference; null when there is not enough data for a test. */
  ci: { low: number; high: number } | null;
  t: number | null;
  df: number | null;
  p_value: number | null;
  verdict: CompareVerdict;
}

const cohort = (m: ReturnType<typeof moments>): CohortSummary => ({
  count: m.count,
  mean: m.mean,
  stddev: m.variance === null ? null : Math.sqrt(m.variance),
});

/**
 * Welch's unequal-variances t-test of cohort b against cohort a, two-sided, with the
 * Welch-Satterthwaite degrees of freedom. Higher scores are better. Not enough data: fewer than two
 * scores in a cohort, or no variance in either (the standard error is zero, so the test is undefined).
 */
export function welchTTest(aDist: readonly ValueCount[], bDist: readonly ValueCount[], confidence = 0.95): Comparison {
  const a = moments(aDist);
  const b = moments(bDist);
  const difference = a.mean !== null && b.mean !== null ? b.mean - a.mean : null;
  const base = { test: 'welch_t' as const, confidence, a: cohort(a), b: cohort(b), difference };
  const notEnough: Comparison = { ...base, ci: null, t: null, df: null, p_value: null, verdict: 'not_enough_data' };
  if (a.variance === null || b.variance === null || difference === null) return notEnough;
  const va = a.variance / a.count;
  const vb = b.variance / b.count;
  const se = Math.sqrt(va + vb);
  if (se === 0) return notEnough;
  const t = difference / se;
  const df = (va + vb) ** 2 / (va ** 2 / (a.count - 1) + vb ** 2 / (b.count - 1));
  const pValue = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  const margin = tQuantile(1 - (1 - confidence) / 2, df) * se;
  const significant = pValue < 1 - confidence;
  return {
    ...base,
    ci: { low: difference - margin, high: difference + margin },
    t,
    df,
    p_value: pValue,
    verdict: !significant ? 'no_significant_difference' : difference > 0 ? 'b_better' : 'a_better',
  };
}
