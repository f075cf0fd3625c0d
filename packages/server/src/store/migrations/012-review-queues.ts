import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * Review queues (issue 27): a queue hands the requests a filter matched to raters, each to
 * `raters_per_item` of them.
 *
 * - `review_queues`: the queue's definition (the filter and the sample as JSON text), and two
 *   cursors for `include_new`: the last request id and the last score-event id already examined,
 *   so each pass looks only at what was logged or scored since.
 * - `review_items`: the requests of a queue, each once (primary key), in the order they are handed
 *   out (`position`); `completed_at` is set when the item has its ratings, so a claim reads only
 *   the open ones (a partial index).
 * - `review_claims`: one row per queue, request and rater: `claimed` (held until `expires_at`),
 *   `done` (rated through the queue) or `skipped`.
 * No existing table changes.
 */
export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('review_queues')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    // `filter`: made from the filter (and sample); `disagreements`: from where people and automatic raters disagree.
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('score_name', 'text', (c) => c.notNull())
    // A native filter node as JSON text; null: every request of the workspace.
    .addColumn('filter', 'text')
    // { count | ratio, seed, by? } as JSON text; null: every matching request.
    .addColumn('sample', 'text')
    .addColumn('include_new', 'integer', (c) => c.notNull())
    .addColumn('raters_per_item', 'integer', (c) => c.notNull())
    .addColumn('blind', 'integer', (c) => c.notNull())
    .addColumn('instructions', 'text')
    .addColumn('claim_ttl_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('archived_at', 'bigint')
    .addColumn('request_cursor', 'bigint', (c) => c.notNull())
    .addColumn('event_cursor', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('review_queues_ws').on('review_queues').columns(['workspace_id', 'id']).execute();

  await db.schema
    .createTable('review_items')
    .addColumn('queue_id', 'bigint', (c) => c.notNull().references('review_queues.id'))
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addColumn('position', 'bigint', (c) => c.notNull())
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addPrimaryKeyConstraint('review_items_pk', ['queue_id', 'request_id'])
    .execute();
  await sql`create index review_items_open on review_items (queue_id, position, request_id) where completed_at is null`.execute(db);

  await db.schema
    .createTable('review_claims')
    .addColumn('queue_id', 'bigint', (c) => c.notNull().references('review_queues.id'))
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addColumn('rater', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('claimed_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addPrimaryKeyConstraint('review_claims_pk', ['queue_id', 'request_id', 'rater'])
    .execute();
  await db.schema.createIndex('review_claims_rater').on('review_claims').columns(['queue_id', 'rater', 'state']).execute();
}
