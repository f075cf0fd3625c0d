/**
 * When an alert fires and when it resolves: the confidence interval of a window's scores against a
 * threshold, with hysteresis. Pure: no I/O.
 *
 * - `mean` alerts: the t-interval of the mean of the scores in the window.
 * - `share` alerts: the Wilson score interval of the share of scores equal to a value (e.g. a
 *   thumbs-down stored as 0), a proportion from 0 to 1.
 *
 * An alert fires only when at least `minCount` scores are in the window and the whole interval
 * lies past the threshold (below it for `below`, above for `above`); a firing alert resolves only
 * when the whole interval lies back on the good side. Between the two, and with too few scores,
 * the state stays as it is, so a noisy window neither fires nor flaps.
 */
import { invalidField } from './errors.js';
import { moments, type ValueCount } from './statistics.js';
import { tQuantile } from './t-distribution.js';

export type AlertDirection = 'below' | 'above';
export type AlertKind = 'mean' | 'share';
export type AlertState = 'ok' | 'firing';

export interface AlertRule {
  kind: AlertKind;
  /** share: the score value counted. */
  shareValue: number | null;
  minCount: number;
  threshold: number;
  direction: AlertDirection;
  confidence: number;
}

export interface Evaluation {
  state: AlertState;
  /** Whether this evaluation changed the state. */
  changed: boolean;
  count: number;
  /** The mean (mean alerts) or the share (share alerts); null without scores. */
  value: number | null;
  /** The interval; null when there are too few scores to have one (fewer than 2 for a mean). */
  low: number | null;
  high: number | null;
  /** Why the state is what it is, for people. */
  reason: 'too_few_scores' | 'past_threshold' | 'back_within' | 'undecided';
}

/**
 * The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9),
 * for the Wilson interval.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError('p must be in (0, 1)');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** The two-sided t-interval of the mean; null below two scores. */
export function meanInterval(dist: readonly ValueCount[], confidence: number): { count: number; mean: number | null; low: number | null; high: number | null } {
  const { count, mean, variance } = moments(dist);
  if (mean === null || variance === null) return { count, mean, low: null, high: null };
  const half = tQuantile((1 + confidence) / 2, count - 1) * Math.sqrt(variance / count);
  return { count, mean, low: mean - half, high: mean + half };
}

/** The Wilson score interval of `hits` out of `count`; null without scores. */
export function wilsonInterval(hits: number, count: number, confidence: number): { share: number | null; low: number | null; high: number | null } {
  if (count === 0) return { share: null, low: null, high: null };
  const z = normalQuantile((1 + confidence) / 2);
  const p = hits / count;
  const z2n = (z * z) / count;
  const center = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / count + (z * z) / (4 * count * count));
  return { share: p, low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** The next state of an alert from the scores in its window. */
export function evaluateAlert(rule: AlertRule, current: AlertState, dist: readonly ValueCount[]): Evaluation {
  let count: number;
  let value: number | null;
  let low: number | null;
  let high: number | null;
  if (rule.kind === 'mean') {
    ({ count, mean: value, low, high } = meanInterval(dist, rule.confidence));
  } else {
    count = dist.reduce((n, d) => n + d.count, 0);
    const hits = dist.filter((d) => d.value === rule.shareValue).reduce((n, d) => n + d.count, 0);
    ({ share: value, low, high } = wilsonInterval(hits, count, rule.confidence));
  }
  const keep = (reason: Evaluation['reason']): Evaluation => ({ state: current, changed: false, count, value, low, high, reason });
  if (count < rule.minCount || low === null || high === null) return keep('too_few_scores');
  const past = rule.direction === 'below' ? high < rule.threshold : low > rule.threshold;
  const within = rule.direction === 'below' ? low >= rule.threshold : high <= rule.threshold;
  if (past) return { state: 'firing', changed: current !== 'firing', count, value, low, high, reason: 'past_threshold' };
  if (within) return { state: 'ok', changed: current !== 'ok', count, value, low, high, reason: 'back_within' };
  return keep('undecided');
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
/** The longest window: 30 days. */
export const MAX_WINDOW_MS = 30 * 86_400_000;

/** A window as `90` / `'90'` (seconds) or `'15m'`, `'1h'`, `'7d'`, in milliseconds. */
export function parseWindow(raw: unknown, field = 'window'): number {
  let ms: number | null = null;
  if (typeof raw === 'number' && Number.isInteger(raw)) ms = raw * 1000;
  else if (typeof raw === 'string') {
    const m = /^(\d{1,7})([smhd])?$/.exec(raw.trim());
    if (m) ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  }
  if (ms === null) throw invalidField(field, 'must be a number of seconds or a duration like "15m", "1h", "7d"');
  if (ms < 60_000 || ms > MAX_WINDOW_MS) throw invalidField(field, 'must be from 1 minute to 30 days');
  return ms;
}

/** A window in the shortest unit that says it exactly: `3600000` is `1h`. */
export function formatWindow(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}
