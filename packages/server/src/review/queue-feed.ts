import { invalidField } from '../domain/errors.js';
import { admitsLater, parseStratum, sample, type StratumField } from '../domain/sampling.js';
import { parseFilter, type RequestFilter } from '../domain/search-query.js';
import type { WriteQueue } from '../ingest/write-queue.js';
import type { MatchedRequest, ReviewQueue, ReviewQueueDefinition } from '../store/review-queues.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../store/types.js';

/**
 * How a review queue fills: with the requests its filter matches when it is made (the backfill,
 * sampled if it says so), and, with `include_new`, with each request that comes to match later.
 *
 * Later matches are found by a pass over what is new since the queue's cursors: requests logged
 * after the last request id examined, and, when the filter tests scores, requests whose scores
 * changed after the last score event examined (a request can come to match by being scored). A
 * pass runs before every claim and every read of the queue, so a request logged after the queue
 * was made is in it by the next claim, and the write path of logging and scoring does no extra
 * work. Request and event ids are handed out in commit order (store.ts writeTransaction), so a
 * cursor never passes a row that is not committed yet. Changes of tags or metadata do not bring a
 * request in.
 */

/** Most items one queue holds. */
export const MAX_QUEUE_ITEMS = 100_000;
/** Most matching requests a backfill reads before sampling. */
export const MAX_BACKFILL_MATCHES = 1_000_000;
const PAGE = 5_000;
/** Pages of new requests one pass reads at most; the rest waits for the next pass. */
const MAX_PAGES_PER_PASS = 20;

const stratumOf = (q: Pick<ReviewQueueDefinition, 'sample'>): StratumField | null => (q.sample?.by === undefined ? null : parseStratum(q.sample.by));

/** The filter as stored (checked when the queue was made), parsed for a query. */
const filterOf = (q: Pick<ReviewQueueDefinition, 'filter'>): RequestFilter | null => (q.filter === null || q.filter === undefined ? null : parseFilter(q.filter));

function testsScores(f: RequestFilter | null): boolean {
  if (f === null) return false;
  if (f.kind === 'group') return f.filters.some(testsScores);
  return f.kind === 'score';
}

/**
 * Makes a queue: reads every request the filter matches (up to MAX_BACKFILL_MATCHES), samples
 * them, and writes the queue with them as its items. Its cursors start at the newest request and
 * score event seen before the read, so nothing logged during the read is missed by later passes.
 */
export async function createReviewQueue(store: Store, queue: WriteQueue, workspaceId: number, actor: Actor, definition: ReviewQueueDefinition): Promise<number> {
  const filter = filterOf(definition);
  const by = stratumOf(definition);
  const heads = await store.reviewQueues.heads(workspaceId);
  const matched: MatchedRequest[] = [];
  for (let afterId = 0; ; ) {
    const page = await store.reviewQueues.matching(workspaceId, filter, { afterId, upToId: heads.requestId, limit: 50_000 }, by);
    matched.push(...page);
    if (matched.length > MAX_BACKFILL_MATCHES) throw invalidField('filter', `matches more than ${MAX_BACKFILL_MATCHES} requests; narrow it`);
    if (page.length < 50_000) break;
    afterId = page.at(-1)!.id;
  }
  const chosen = definition.sample === null ? matched : sample(matched, definition.sample, (m) => m.id, (m) => m.stratum);
  if (chosen.length > MAX_QUEUE_ITEMS) {
    const field = definition.sample === null ? 'sample' : 'sample.count';
    throw invalidField(field, `the filter gives ${chosen.length} requests and a queue holds at most ${MAX_QUEUE_ITEMS}: give a sample or narrow the filter`);
  }
  return queue.submit({
    op: 'createReviewQueue',
    workspaceId,
    definition,
    requestIds: chosen.map((m) => m.id),
    requestCursor: heads.requestId,
    eventCursor: heads.eventId,
    actor,
  });
}

// One pass per queue at a time in this process; a claim that arrives during a pass waits for it.
const running = new Map<number, Promise<number>>();

/**
 * Adds to an `include_new` queue the requests that came to match since its last pass. Gives how
 * many items were added. A queue without `include_new`, or archived, is left alone. Later requests
 * join a sample by the same rule as the backfill's (sampling.ts admitsLater), not by strata.
 */
export function catchUp(store: Store, queue: WriteQueue, q: ReviewQueue): Promise<number> {
  if (!q.includeNew || q.archivedAt !== null) return Promise.resolve(0);
  const pending = running.get(q.id);
  if (pending) return pending;
  const pass = runPass(store, queue, q).finally(() => running.delete(q.id));
  running.set(q.id, pass);
  return pass;
}

async function runPass(store: Store, queue: WriteQueue, q: ReviewQueue): Promise<number> {
  const filter = filterOf(q);
  const scores = testsScores(filter);
  const heads = await store.reviewQueues.heads(q.workspaceId);
  let requestCursor = q.requestCursor;
  let eventCursor = q.eventCursor;
  let added = 0;
  for (let page = 0; page < MAX_PAGES_PER_PASS; page++) {
    const requestsLeft = requestCursor < heads.requestId;
    const eventsLeft = scores && eventCursor < heads.eventId;
    if (!requestsLeft && !eventsLeft) break;
    const fresh = requestsLeft ? await store.reviewQueues.matching(q.workspaceId, filter, { afterId: requestCursor, upToId: heads.requestId, limit: PAGE }, null) : [];
    const nextRequestCursor = fresh.length < PAGE ? heads.requestId : fresh.at(-1)!.id;
    let rescored: MatchedRequest[] = [];
    let nextEventCursor = eventCursor;
    if (eventsLeft) {
      const scored = await store.reviewQueues.scoredSince(q.workspaceId, { afterId: eventCursor, upToId: heads.eventId, limit: PAGE });
      // Requests past the request cursor are examined by the request pages themselves.
      rescored = await store.reviewQueues.matchingAmong(q.workspaceId, filter, scored.requestIds.filter((id) => id <= nextRequestCursor), null);
      nextEventCursor = scored.lastEventId;
    }
    const candidates = [...new Map([...fresh, ...rescored].map((m) => [m.id, m])).values()].sort((a, b) => a.id - b.id);
    const admitted = q.sample === null || q.sample.count !== undefined ? candidates : candidates.filter((m) => admitsLater(q.sample!, m.id, 0));
    if (admitted.length > 0 || nextRequestCursor !== requestCursor || nextEventCursor !== eventCursor) {
      added += await queue.submit({
        op: 'addReviewItems',
        workspaceId: q.workspaceId,
        queueId: q.id,
        requestIds: admitted.map((m) => m.id),
        requestCursor: nextRequestCursor,
        eventCursor: nextEventCursor,
        maxItems: q.sample?.count ?? MAX_QUEUE_ITEMS,
      });
    }
    requestCursor = nextRequestCursor;
    eventCursor = nextEventCursor;
  }
  return added;
}
