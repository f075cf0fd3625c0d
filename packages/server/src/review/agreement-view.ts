import { agreement, compareGroups, spreadOf, type AgreementMetric, type Rating } from '../domain/agreement.js';

/**
 * The agreement answers of the API, from current ratings: Krippendorff's alpha with its interval
 * and per-rater figures, the comparison of people with automatic raters, and the disputes of a
 * queue. Pure: the routes read the ratings and the schema, and hand them here.
 */

/** One rater's current value for one request. */
export interface RatingPoint {
  requestId: number;
  rater: string;
  value: number;
}

/** The metric that fits a schema's kind: interval for numeric (and names without a schema), nominal for labels. */
export function metricOfKind(kind: 'numeric' | 'categorical' | 'boolean' | null): AgreementMetric {
  return kind === 'categorical' || kind === 'boolean' ? 'nominal' : 'interval';
}

export type RaterGroup = 'humans' | 'automatic';

/**
 * Which side of the human-against-automatic comparison a rater is on: dashboard users and named
 * external raters are people (`user:`, `external:`); API keys rating as themselves are automatic
 * (`key:`, an LLM judge logging its scores). End users (`end_user:`) are on neither side.
 */
export function raterGroup(rater: string): RaterGroup | null {
  if (rater.startsWith('user:') || rater.startsWith('external:')) return 'humans';
  if (rater.startsWith('key:')) return 'automatic';
  return null;
}

const toRatings = (points: readonly RatingPoint[]): Rating[] => points.map((p) => ({ unit: String(p.requestId), rater: p.rater, value: p.value }));

export function agreementReply(points: readonly RatingPoint[], metric: AgreementMetric, bootstrap: { seed: number; replicates: number }) {
  const report = agreement(toRatings(points), metric, { seed: bootstrap.seed, replicates: bootstrap.replicates });
  return {
    metric,
    alpha: report.alpha,
    interval:
      report.interval === null
        ? null
        : {
            low: report.interval.low,
            high: report.interval.high,
            level: report.interval.level,
            replicates: report.interval.replicates,
            defined_replicates: report.interval.defined,
            seed: report.interval.seed,
            method: report.interval.method,
          },
    items_rated: new Set(points.map((p) => p.requestId)).size,
    items_pairable: report.units,
    values_pairable: report.values,
    observed_disagreement: report.observed,
    expected_disagreement: report.expected,
    raters: report.raters.map((r) => ({ rater: r.rater, items: r.items, shared_items: r.sharedItems, mean_offset: r.meanOffset, alpha: r.alpha })),
  };
}

/** How many disagreements a comparison lists at most. */
export const MAX_LISTED_DISAGREEMENTS = 1000;

export function comparisonReply(points: readonly RatingPoint[], metric: AgreementMetric, minDifference: number, labelOf: (value: number) => string | null, listed = MAX_LISTED_DISAGREEMENTS) {
  const group = (rater: string) => {
    const g = raterGroup(rater);
    return g === 'humans' ? 'a' : g === 'automatic' ? 'b' : null;
  };
  const result = compareGroups(toRatings(points), group, metric, { minDifference });
  return {
    groups: { humans: 'user: and external: raters', automatic: 'key: raters' },
    metric,
    items: result.items,
    alpha: result.alpha,
    mean_absolute_difference: result.meanAbsoluteDifference,
    confusion:
      result.confusion === null
        ? null
        : { values: result.confusion.values, labels: result.confusion.values.map(labelOf), counts: result.confusion.counts, rows: 'humans' as const, columns: 'automatic' as const },
    disagreement_count: result.disagreements.length,
    disagreements: result.disagreements.slice(0, listed).map((d) => ({ request_id: Number(d.unit), humans: d.a, automatic: d.b, difference: d.difference })),
  };
}

/**
 * The items rated by two or more raters whose ratings differ, largest spread (max - min) first,
 * then most distinct values, then by request id.
 */
export function disputes(points: readonly RatingPoint[]) {
  const byItem = new Map<number, RatingPoint[]>();
  for (const p of points) {
    let list = byItem.get(p.requestId);
    if (!list) byItem.set(p.requestId, (list = []));
    list.push(p);
  }
  return [...byItem]
    .map(([requestId, list]) => ({ request_id: requestId, ...spreadOf(list.map((p) => p.value)), ratings: list.map((p) => ({ rater: p.rater, value: p.value })) }))
    .filter((d) => d.ratings.length >= 2 && d.distinct >= 2)
    .sort((x, y) => y.spread - x.spread || y.distinct - x.distinct || x.request_id - y.request_id);
}
