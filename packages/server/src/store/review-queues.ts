import { sql, type Kysely, type Selectable } from 'kysely';
import type { SampleSpec, StratumField } from '../domain/sampling.js';
import type { RequestFilter } from '../domain/search-query.js';
import { readFor } from './read-scope.js';
import type { Database } from './schema.js';
import { applyRequestFilter, planTextSearch } from './search-filter.js';

// The review tables (migration 012). Kept beside their queries, like the account tables: the
// programs that write them (review-programs.ts) and these reads are all that use them.
export type ReviewQueuesTable = {
  id: number;
  workspace_id: number;
  name: string;
  origin: QueueOrigin;
  score_name: string;
  filter: string | null;
  sample: string | null;
  include_new: number;
  raters_per_item: number;
  blind: number;
  instructions: string | null;
  claim_ttl_ms: number;
  created_at: number;
  created_by: string;
  archived_at: number | null;
  request_cursor: number;
  event_cursor: number;
};

export type ReviewItemsTable = {
  queue_id: number;
  request_id: number;
  position: number;
  added_at: number;
  completed_at: number | null;
};

export type ReviewClaimsTable = {
  queue_id: number;
  request_id: number;
  rater: string;
  state: ClaimState;
  claimed_at: number;
  expires_at: number;
  finished_at: number | null;
};

export type ReviewTables = {
  review_queues: ReviewQueuesTable;
  review_items: ReviewItemsTable;
  review_claims: ReviewClaimsTable;
};

/** `claimed`: held until it expires; `done`: rated through the queue; `skipped`: passed over by that rater. */
export type ClaimState = 'claimed' | 'done' | 'skipped';

/** `filter`: made from a filter (and sample); `disagreements`: from the items where people and automatic raters disagree. */
export type QueueOrigin = 'filter' | 'disagreements';

/** What a queue is made with. */
export interface ReviewQueueDefinition {
  name: string;
  origin: QueueOrigin;
  scoreName: string;
  /** The native filter node as the client gave it (checked); null: every request of the workspace. */
  filter: unknown;
  sample: SampleSpec | null;
  includeNew: boolean;
  ratersPerItem: number;
  blind: boolean;
  instructions: string | null;
  claimTtlMs: number;
}

export interface ReviewQueue extends ReviewQueueDefinition {
  id: number;
  workspaceId: number;
  createdAt: number;
  createdBy: string;
  archivedAt: number | null;
  /** The last request id and score-event id the queue has examined for new matches. */
  requestCursor: number;
  eventCursor: number;
}

export interface RaterProgress {
  rater: string;
  /** Items the rater holds now (live claims). */
  claimed: number;
  /** Items the rater rated through the queue. */
  done: number;
  skipped: number;
}

export interface ReviewProgress {
  items: number;
  /** Items with all the ratings they need. */
  completed: number;
  /** Items not completed that someone holds now. */
  inProgress: number;
  /** Ratings given through the queue. */
  ratings: number;
  raters: RaterProgress[];
}

export interface ReviewClaim {
  requestId: number;
  rater: string;
  state: ClaimState;
  claimedAt: number;
  expiresAt: number;
  finishedAt: number | null;
}

export interface ReviewItem {
  requestId: number;
  position: number;
  addedAt: number;
  completedAt: number | null;
}

/** A matching request and its stratum (the value of the sample's `by` field; '' without one). */
export interface MatchedRequest {
  id: number;
  stratum: string;
}

/** Reads of review queues. Their writes are commands (review-programs.ts) that go through the write queue. */
export interface ReviewQueueStore {
  get(workspaceId: number, id: number): Promise<ReviewQueue | null>;
  list(workspaceId: number, opts: { includeArchived: boolean }): Promise<ReviewQueue[]>;
  /** Counts per queue (the same for each as `progress`, without the raters). */
  progress(queueId: number, now: number): Promise<ReviewProgress>;
  item(queueId: number, requestId: number): Promise<ReviewItem | null>;
  /** The queue's items in the order they are handed out. */
  items(queueId: number): Promise<ReviewItem[]>;
  /** Every claim row of one item, or of the whole queue (requestId null). */
  claims(queueId: number, requestId: number | null): Promise<ReviewClaim[]>;
  /** The newest request id and score-event id of the workspace (0 when none). */
  heads(workspaceId: number): Promise<{ requestId: number; eventId: number }>;
  /**
   * Requests matching `filter` with `afterId < id <= upToId`, by id (the newest first with
   * `newestFirst`), at most `limit`; with the stratum of each under `by`.
   */
  matching(workspaceId: number, filter: RequestFilter | null, range: { afterId: number; upToId: number; limit: number; newestFirst?: boolean }, by: StratumField | null): Promise<MatchedRequest[]>;
  /** Those of `ids` that match `filter`, with their strata. */
  matchingAmong(workspaceId: number, filter: RequestFilter | null, ids: readonly number[], by: StratumField | null): Promise<MatchedRequest[]>;
  /** The distinct requests of score events with `afterId < id <= upToId`, and the last event id read (at most `limit` events). */
  scoredSince(workspaceId: number, range: { afterId: number; upToId: number; limit: number }): Promise<{ requestIds: number[]; lastEventId: number }>;
}

const toQueue = (r: Selectable<ReviewQueuesTable>): ReviewQueue => ({
  id: Number(r.id),
  workspaceId: Number(r.workspace_id),
  name: r.name,
  origin: r.origin,
  scoreName: r.score_name,
  filter: r.filter === null ? null : (JSON.parse(r.filter) as unknown),
  sample: r.sample === null ? null : (JSON.parse(r.sample) as SampleSpec),
  includeNew: Number(r.include_new) === 1,
  ratersPerItem: Number(r.raters_per_item),
  blind: Number(r.blind) === 1,
  instructions: r.instructions,
  claimTtlMs: Number(r.claim_ttl_ms),
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  archivedAt: r.archived_at === null ? null : Number(r.archived_at),
  requestCursor: Number(r.request_cursor),
  eventCursor: Number(r.event_cursor),
});

const toItem = (r: Selectable<ReviewItemsTable>): ReviewItem => ({
  requestId: Number(r.request_id),
  position: Number(r.position),
  addedAt: Number(r.added_at),
  completedAt: r.completed_at === null ? null : Number(r.completed_at),
});

const toClaim = (r: Selectable<ReviewClaimsTable>): ReviewClaim => ({
  requestId: Number(r.request_id),
  rater: r.rater,
  state: r.state,
  claimedAt: Number(r.claimed_at),
  expiresAt: Number(r.expires_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
});

/** The SQL of a request's stratum under `by`, as text ('' when the request has no value there). */
function stratumSql(by: StratumField | null) {
  if (by === null) return sql<string>`''`;
  switch (by.kind) {
    case 'column':
      return sql<string>`coalesce(${sql.ref(`requests.${by.column}`)}, '')`;
    case 'prompt_version':
      return sql<string>`coalesce(${sql.ref('requests.prompt_name')}, '') || '@' || coalesce(cast(${sql.ref('requests.prompt_version')} as text), '')`;
    case 'metadata':
      return sql<string>`coalesce((select m.value from request_metadata as m where m.request_id = ${sql.ref('requests.id')} and m.key = ${by.key}), '')`;
  }
}

// Keeps each IN list well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

export class SqlReviewQueues implements ReviewQueueStore {
  private readonly db: Kysely<Database & ReviewTables>;

  /** @param reads where the reads that clients' filters steer run, with a deadline (BackendTraits.readDb). */
  constructor(
    db: Kysely<Database>,
    private readonly reads: Kysely<Database>,
  ) {
    this.db = db.withTables<ReviewTables>();
  }

  async get(workspaceId: number, id: number): Promise<ReviewQueue | null> {
    const row = await this.db.selectFrom('review_queues').selectAll().where('id', '=', id).where('workspace_id', '=', workspaceId).executeTakeFirst();
    return row ? toQueue(row) : null;
  }

  async list(workspaceId: number, opts: { includeArchived: boolean }): Promise<ReviewQueue[]> {
    const rows = await this.db
      .selectFrom('review_queues')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .$if(!opts.includeArchived, (qb) => qb.where('archived_at', 'is', null))
      .orderBy('id')
      .execute();
    return rows.map(toQueue);
  }

  async progress(queueId: number, now: number): Promise<ReviewProgress> {
    const counts = await this.db
      .selectFrom('review_items as i')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('items'),
        eb.fn.count<number | string>('i.completed_at').as('completed'),
        eb.fn
          .sum<number | string | null>(
            sql<number>`case when i.completed_at is null and exists (select 1 from review_claims as c where c.queue_id = i.queue_id and c.request_id = i.request_id and c.state = 'claimed' and c.expires_at > ${now}) then 1 else 0 end`,
          )
          .as('in_progress'),
      ])
      .where('i.queue_id', '=', queueId)
      .executeTakeFirstOrThrow();
    const raters = await this.db
      .selectFrom('review_claims')
      .select((eb) => [
        'rater',
        eb.fn.sum<number | string>(sql<number>`case when state = 'claimed' and expires_at > ${now} then 1 else 0 end`).as('claimed'),
        eb.fn.sum<number | string>(sql<number>`case when state = 'done' then 1 else 0 end`).as('done'),
        eb.fn.sum<number | string>(sql<number>`case when state = 'skipped' then 1 else 0 end`).as('skipped'),
      ])
      .where('queue_id', '=', queueId)
      .groupBy('rater')
      .orderBy('rater')
      .execute();
    const perRater = raters.map((r) => ({ rater: r.rater, claimed: Number(r.claimed), done: Number(r.done), skipped: Number(r.skipped) }));
    return {
      items: Number(counts.items),
      completed: Number(counts.completed),
      inProgress: Number(counts.in_progress ?? 0),
      ratings: perRater.reduce((s, r) => s + r.done, 0),
      raters: perRater,
    };
  }

  async item(queueId: number, requestId: number): Promise<ReviewItem | null> {
    const row = await this.db.selectFrom('review_items').selectAll().where('queue_id', '=', queueId).where('request_id', '=', requestId).executeTakeFirst();
    return row ? toItem(row) : null;
  }

  async items(queueId: number): Promise<ReviewItem[]> {
    const rows = await this.db.selectFrom('review_items').selectAll().where('queue_id', '=', queueId).orderBy('position').orderBy('request_id').execute();
    return rows.map(toItem);
  }

  async claims(queueId: number, requestId: number | null): Promise<ReviewClaim[]> {
    const rows = await this.db
      .selectFrom('review_claims')
      .selectAll()
      .where('queue_id', '=', queueId)
      .$if(requestId !== null, (qb) => qb.where('request_id', '=', requestId!))
      .orderBy('request_id')
      .orderBy('claimed_at')
      .orderBy('rater')
      .execute();
    return rows.map(toClaim);
  }

  async heads(workspaceId: number): Promise<{ requestId: number; eventId: number }> {
    const request = await this.db.selectFrom('requests').select((eb) => eb.fn.max('id').as('id')).where('workspace_id', '=', workspaceId).executeTakeFirst();
    const event = await this.db.selectFrom('score_events').select((eb) => eb.fn.max('id').as('id')).where('workspace_id', '=', workspaceId).executeTakeFirst();
    return { requestId: Number(request?.id ?? 0), eventId: Number(event?.id ?? 0) };
  }

  matching(workspaceId: number, filter: RequestFilter | null, range: { afterId: number; upToId: number; limit: number; newestFirst?: boolean }, by: StratumField | null): Promise<MatchedRequest[]> {
    return readFor(workspaceId, async () => {
      await planTextSearch(this.reads, filter);
      const rows = await applyRequestFilter(this.reads.selectFrom('requests').select(['requests.id', stratumSql(by).as('stratum')]), workspaceId, filter)
        .where('requests.id', '>', range.afterId)
        .where('requests.id', '<=', range.upToId)
        .orderBy('requests.id', range.newestFirst ? 'desc' : 'asc')
        .limit(range.limit)
        .execute();
      return rows.map((r) => ({ id: Number(r.id), stratum: String(r.stratum) }));
    });
  }

  matchingAmong(workspaceId: number, filter: RequestFilter | null, ids: readonly number[], by: StratumField | null): Promise<MatchedRequest[]> {
    return readFor(workspaceId, async () => {
      await planTextSearch(this.reads, filter);
      const out: MatchedRequest[] = [];
      const unique = [...new Set(ids)].sort((a, b) => a - b);
      for (let i = 0; i < unique.length; i += CHUNK) {
        const rows = await applyRequestFilter(this.reads.selectFrom('requests').select(['requests.id', stratumSql(by).as('stratum')]), workspaceId, filter)
          .where('requests.id', 'in', unique.slice(i, i + CHUNK))
          .orderBy('requests.id')
          .execute();
        for (const r of rows) out.push({ id: Number(r.id), stratum: String(r.stratum) });
      }
      return out;
    });
  }

  async scoredSince(workspaceId: number, range: { afterId: number; upToId: number; limit: number }): Promise<{ requestIds: number[]; lastEventId: number }> {
    const rows = await this.db
      .selectFrom('score_events')
      .select(['id', 'request_id'])
      .where('workspace_id', '=', workspaceId)
      .where('id', '>', range.afterId)
      .where('id', '<=', range.upToId)
      .orderBy('id')
      .limit(range.limit)
      .execute();
    // Fewer than the limit: every event up to upToId was read.
    const lastEventId = rows.length < range.limit ? range.upToId : Number(rows.at(-1)!.id);
    return { requestIds: [...new Set(rows.map((r) => Number(r.request_id)))], lastEventId };
  }
}
