import { sql, type Kysely } from 'kysely';
import { notFound, TallyError } from '../domain/errors.js';
import type { Program, ProgramContext } from './program-steps.js';
import type { ClaimResult, ReviewCommand, ReviewRating } from './review-commands.js';
import type { ReviewQueuesTable, ReviewTables } from './review-queues.js';
import type { Database } from './schema.js';
import type { ScoreChange } from './types.js';

/**
 * The programs of the review-queue commands (review-commands.ts), for both dialects. Every query
 * that writes ends in `returning`, since SQLite's writer thread reads the rows of every built query.
 */

type Compiler = Kysely<Database & ReviewTables>;
const compilerOf = (ctx: ProgramContext): Compiler => ctx.compiler.withTables<ReviewTables>();

// Rows per multi-row insert: 5 parameters each, far below both backends' parameter limits.
const CHUNK = 500;

const rows = <T>(given: unknown): T[] => given as T[];

const queueMissing = () => notFound('id', 'review queue');
const queueArchived = () => new TallyError('conflict', 'id: the review queue is archived', { field: 'id' });

/** The queue of this workspace (not archived), or a refusal. */
function* liveQueue(db: Compiler, workspaceId: number, queueId: number): Program<ReviewQueuesTable> {
  const found = rows<ReviewQueuesTable>(yield { query: db.selectFrom('review_queues').selectAll().where('id', '=', queueId).where('workspace_id', '=', workspaceId).compile() });
  const queue = found[0];
  if (!queue) throw queueMissing();
  if (queue.archived_at !== null) throw queueArchived();
  return queue;
}

/** Inserts items from `position` on, in order; one already in the queue is left alone. Gives how many were added. */
function* insertItems(db: Compiler, queueId: number, requestIds: readonly number[], firstPosition: number, at: number): Program<number> {
  let added = 0;
  for (let i = 0; i < requestIds.length; i += CHUNK) {
    const values = requestIds.slice(i, i + CHUNK).map((requestId, j) => ({ queue_id: queueId, request_id: requestId, position: firstPosition + i + j, added_at: at, completed_at: null }));
    const query = db
      .insertInto('review_items')
      .values(values)
      .onConflict((oc) => oc.columns(['queue_id', 'request_id']).doNothing())
      .returning('request_id')
      .compile();
    added += rows(yield { query }).length;
  }
  return added;
}

function* createReviewQueue(c: Extract<ReviewCommand, { op: 'createReviewQueue' }>, db: Compiler): Program<number> {
  const d = c.definition;
  const at = Date.now();
  const inserted = rows<{ id: unknown }>(
    yield {
      query: db
        .insertInto('review_queues')
        .values({
          workspace_id: c.workspaceId,
          name: d.name,
          origin: d.origin,
          score_name: d.scoreName,
          filter: d.filter === null ? null : JSON.stringify(d.filter),
          sample: d.sample === null ? null : JSON.stringify(d.sample),
          include_new: d.includeNew ? 1 : 0,
          raters_per_item: d.ratersPerItem,
          blind: d.blind ? 1 : 0,
          instructions: d.instructions,
          claim_ttl_ms: d.claimTtlMs,
          created_at: at,
          created_by: c.actor.id,
          archived_at: null,
          request_cursor: c.requestCursor,
          event_cursor: c.eventCursor,
        } as never)
        .returning('id')
        .compile(),
    },
  );
  const id = Number(inserted[0]!.id);
  yield* insertItems(db, id, c.requestIds, 1, at);
  return id;
}

function* addReviewItems(c: Extract<ReviewCommand, { op: 'addReviewItems' }>, db: Compiler): Program<number> {
  const queue = yield* liveQueue(db, c.workspaceId, c.queueId);
  const [stats] = rows<{ n: unknown; last: unknown }>(
    yield { query: db.selectFrom('review_items').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('position').as('last')]).where('queue_id', '=', c.queueId).compile() },
  );
  const count = Number(stats?.n ?? 0);
  const room = c.maxItems === null ? c.requestIds.length : Math.max(0, c.maxItems - count);
  const added = yield* insertItems(db, c.queueId, c.requestIds.slice(0, room), Number(stats?.last ?? 0) + 1, Date.now());
  // Cursors only move forward: two passes that overlap cannot move one back.
  yield {
    query: db
      .updateTable('review_queues')
      .set({
        request_cursor: Math.max(Number(queue.request_cursor), c.requestCursor),
        event_cursor: Math.max(Number(queue.event_cursor), c.eventCursor),
      })
      .where('id', '=', c.queueId)
      .returning('id')
      .compile(),
  };
  return added;
}

/**
 * The rater's next item. A rater who holds an item gets it back. Otherwise the first open item (by
 * position) that the rater has not claimed, rated or skipped in this queue, and whose other raters
 * (rated through the queue, or holding a live claim) are fewer than raters_per_item, and that the
 * rater has never rated under the queue's score name (anywhere). A claim that
 * has expired frees its slot; its rater may take the item again.
 */
function* claimReviewItem(c: Extract<ReviewCommand, { op: 'claimReviewItem' }>, db: Compiler): Program<ClaimResult | null> {
  const queue = yield* liveQueue(db, c.workspaceId, c.queueId);
  const now = Date.now();
  const [held] = rows<{ request_id: unknown; claimed_at: unknown; expires_at: unknown }>(
    yield {
      query: db
        .selectFrom('review_claims')
        .select(['request_id', 'claimed_at', 'expires_at'])
        .where('queue_id', '=', c.queueId)
        .where('rater', '=', c.rater)
        .where('state', '=', 'claimed')
        .where('expires_at', '>', now)
        .orderBy('claimed_at')
        .limit(1)
        .compile(),
    },
  );
  if (held) return { requestId: Number(held.request_id), claimedAt: Number(held.claimed_at), expiresAt: Number(held.expires_at), held: true };

  const [next] = rows<{ request_id: unknown }>(
    yield {
      query: db
        .selectFrom('review_items as i')
        .select('i.request_id')
        .where('i.queue_id', '=', c.queueId)
        .where('i.completed_at', 'is', null)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('review_claims as mine')
                .select(sql`1`.as('one'))
                .whereRef('mine.queue_id', '=', 'i.queue_id')
                .whereRef('mine.request_id', '=', 'i.request_id')
                .where('mine.rater', '=', c.rater)
                .where((eb) => eb.or([eb('mine.state', '!=', 'claimed'), eb('mine.expires_at', '>', now)])),
            ),
          ),
        )
        .where(
          (eb) =>
            eb
              .selectFrom('review_claims as taken')
              .select(eb.fn.countAll().as('n'))
              .whereRef('taken.queue_id', '=', 'i.queue_id')
              .whereRef('taken.request_id', '=', 'i.request_id')
              .where('taken.rater', '!=', c.rater)
              .where((inner) => inner.or([inner('taken.state', '=', 'done'), inner.and([inner('taken.state', '=', 'claimed'), inner('taken.expires_at', '>', now)])])),
          '<',
          Number(queue.raters_per_item),
        )
        // Never an item the rater has rated, through this queue or any other way.
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('score_events as e')
                .select(sql`1`.as('one'))
                .whereRef('e.request_id', '=', 'i.request_id')
                .where('e.name', '=', queue.score_name)
                .where('e.rater', '=', c.rater)
                .where('e.kind', '=', 'rating'),
            ),
          ),
        )
        .orderBy('i.position')
        .orderBy('i.request_id')
        .limit(1)
        .compile(),
    },
  );
  if (!next) return null;
  const requestId = Number(next.request_id);
  const expiresAt = now + Number(queue.claim_ttl_ms);
  yield {
    query: db
      .insertInto('review_claims')
      .values({ queue_id: c.queueId, request_id: requestId, rater: c.rater, state: 'claimed', claimed_at: now, expires_at: expiresAt, finished_at: null })
      // Only an expired claim of this rater can be here (anything else excluded the item above).
      .onConflict((oc) => oc.columns(['queue_id', 'request_id', 'rater']).doUpdateSet({ state: 'claimed', claimed_at: now, expires_at: expiresAt, finished_at: null }))
      .returning('request_id')
      .compile(),
  };
  return { requestId, claimedAt: now, expiresAt, held: false };
}

function* skipReviewItem(c: Extract<ReviewCommand, { op: 'skipReviewItem' }>, db: Compiler): Program<void> {
  yield* liveQueue(db, c.workspaceId, c.queueId);
  const released = rows(
    yield {
      query: db
        .updateTable('review_claims')
        .set({ state: 'skipped', finished_at: Date.now() })
        .where('queue_id', '=', c.queueId)
        .where('request_id', '=', c.requestId)
        .where('rater', '=', c.rater)
        .where('state', '=', 'claimed')
        .returning('request_id')
        .compile(),
    },
  );
  if (released.length === 0) throw new TallyError('not_found', 'request_id: you hold no claim on this item of the queue', { field: 'request_id' });
}

function* archiveReviewQueue(c: Extract<ReviewCommand, { op: 'archiveReviewQueue' }>, db: Compiler): Program<void> {
  yield* liveQueue(db, c.workspaceId, c.queueId);
  yield { query: db.updateTable('review_queues').set({ archived_at: Date.now() }).where('id', '=', c.queueId).returning('id').compile() };
}

/** How many raters other than `rater` have rated the item through the queue or hold it now. */
const slotsTaken = (db: Compiler, queueId: number, requestId: number, rater: string, now: number) =>
  db
    .selectFrom('review_claims')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('queue_id', '=', queueId)
    .where('request_id', '=', requestId)
    .where('rater', '!=', rater)
    .where((eb) => eb.or([eb('state', '=', 'done'), eb.and([eb('state', '=', 'claimed'), eb('expires_at', '>', now)])]))
    .compile();

/**
 * A rating through a queue: the item must be in the queue, and the rater must hold (or have held)
 * a claim on it, or have rated it through the queue before (a second rating replaces the first), or
 * find a slot free. Then `rate` (the score write, which checks the rating against the name's schema
 * before it writes) runs, the claim becomes `done`, and the item is completed once raters_per_item
 * raters are done with it.
 */
export function* rateReviewItem(
  c: { workspaceId: number; queueId: number; requestId: number; name: string; rater: string },
  ctx: ProgramContext,
  rate: Program<ScoreChange>,
): Program<ReviewRating> {
  const db = compilerOf(ctx);
  const queue = yield* liveQueue(db, c.workspaceId, c.queueId);
  if (queue.score_name !== c.name) throw new TallyError('invalid_field', `name: the queue rates "${queue.score_name}"`, { field: 'name' });
  const [item] = rows<{ completed_at: unknown }>(
    yield { query: db.selectFrom('review_items').select('completed_at').where('queue_id', '=', c.queueId).where('request_id', '=', c.requestId).compile() },
  );
  if (!item) throw notFound('request_id', 'item in this review queue');
  const now = Date.now();
  const [mine] = rows<{ state: string }>(
    yield { query: db.selectFrom('review_claims').select('state').where('queue_id', '=', c.queueId).where('request_id', '=', c.requestId).where('rater', '=', c.rater).compile() },
  );
  if (!mine || mine.state === 'skipped') {
    const [taken] = rows<{ n: unknown }>(yield { query: slotsTaken(db, c.queueId, c.requestId, c.rater, now) });
    if (Number(taken?.n ?? 0) >= Number(queue.raters_per_item)) {
      throw new TallyError('conflict', 'request_id: this item has all the raters it needs; claim an item first', { field: 'request_id' });
    }
  }
  const change = yield* rate;
  yield {
    query: db
      .insertInto('review_claims')
      .values({ queue_id: c.queueId, request_id: c.requestId, rater: c.rater, state: 'done', claimed_at: now, expires_at: now, finished_at: now })
      .onConflict((oc) => oc.columns(['queue_id', 'request_id', 'rater']).doUpdateSet({ state: 'done', finished_at: now }))
      .returning('request_id')
      .compile(),
  };
  const [done] = rows<{ n: unknown }>(
    yield {
      query: db
        .selectFrom('review_claims')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('queue_id', '=', c.queueId)
        .where('request_id', '=', c.requestId)
        .where('state', '=', 'done')
        .compile(),
    },
  );
  const completed = Number(done?.n ?? 0) >= Number(queue.raters_per_item);
  if (completed && item.completed_at === null) {
    yield { query: db.updateTable('review_items').set({ completed_at: now }).where('queue_id', '=', c.queueId).where('request_id', '=', c.requestId).returning('request_id').compile() };
  }
  return { change, completed };
}

/** The program of a review command. */
export function reviewProgram(c: ReviewCommand, ctx: ProgramContext): Program<unknown> {
  const db = compilerOf(ctx);
  switch (c.op) {
    case 'createReviewQueue':
      return createReviewQueue(c, db);
    case 'addReviewItems':
      return addReviewItems(c, db);
    case 'claimReviewItem':
      return claimReviewItem(c, db);
    case 'skipReviewItem':
      return skipReviewItem(c, db);
    case 'archiveReviewQueue':
      return archiveReviewQueue(c, db);
  }
}
