import type { AgreementMetric } from '../domain/agreement.js';
import { allOf, type RequestFilter } from '../domain/search-query.js';
import type { ReviewQueue } from '../store/review-queues.js';
import type { Store } from '../store/store.js';
import type { CurrentRating } from '../store/types.js';
import { metricOfKind } from './agreement-view.js';

/**
 * The ratings a queue's agreement and disputes are computed from: the current ratings (latest per
 * rater, after the last deletion) of the queue's score name on its items, by the raters who rated
 * the item through the queue. Ratings given elsewhere (an automatic judge's, say) are left out, so
 * the figures describe the queue's reviewers.
 */
export async function queueRatings(store: Store, q: ReviewQueue): Promise<CurrentRating[]> {
  const done = new Set((await store.reviewQueues.claims(q.id, null)).filter((c) => c.state === 'done').map((c) => `${c.requestId}\u0000${c.rater}`));
  const ids = [...new Set([...done].map((k) => Number(k.split('\u0000')[0])))];
  const ratings = await store.scores.currentRatings(q.workspaceId, ids, q.scoreName);
  return ratings.filter((r) => done.has(`${r.requestId}\u0000${r.rater}`));
}

const scoredBy = (filter: RequestFilter | null, name: string) => allOf(filter, { kind: 'score', name, test: { op: 'exists' } });

/** The requests an agreement over a filter was computed from: the newest `limit` that match and carry the score. */
export interface RatingWindow {
  /** Most requests read (asked for, or the default). */
  limit: number;
  /** Requests read: at most `limit`. */
  requests: number;
  /** True when older matching requests were left out. */
  truncated: boolean;
}

/**
 * The current ratings of `name` on the newest `limit` requests (by id) that `filter` matches and
 * that carry a score of `name`. The window is chosen before anything is read, so a filter matching
 * every request costs what one matching `limit` of them does.
 */
export async function windowRatings(store: Store, workspaceId: number, name: string, filter: RequestFilter | null, limit: number): Promise<{ ratings: CurrentRating[]; window: RatingWindow }> {
  const matched = await store.reviewQueues.matching(workspaceId, scoredBy(filter, name), { afterId: 0, upToId: Number.MAX_SAFE_INTEGER, limit: limit + 1, newestFirst: true }, null);
  const read = matched.slice(0, limit);
  const ratings = await store.scores.currentRatings(workspaceId, read.map((m) => m.id), name);
  return { ratings, window: { limit, requests: read.length, truncated: matched.length > limit } };
}

/** The metric for a name (asked for, or from its schema's kind), and the label of each value under a labelled schema. */
export async function metricFor(store: Store, workspaceId: number, name: string, asked: AgreementMetric | undefined): Promise<{ metric: AgreementMetric; labelOf: (value: number) => string | null }> {
  const schema = (await store.scoreSchemas.current(workspaceId, [name])).get(name) ?? null;
  const labels = new Map((schema?.labels ?? []).map((l) => [l.value, l.label]));
  return { metric: asked ?? metricOfKind(schema?.kind ?? null), labelOf: (value) => labels.get(value) ?? null };
}
