import type { Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * OpenTelemetry intake and computed prices (issue 30):
 *
 * - `requests.price_source`: 'logged' when the client sent the price, 'computed' when Tally priced
 *   the request from its model and tokens, null when neither. Existing rows keep null; reads take
 *   a null with a price above 0 as logged (that is what every earlier row was), so no row is rewritten.
 * - `requests_ws_span`: finds a request by its span id within a workspace (search's `span_id`,
 *   `PUT /v1/spans/{span_id}/scores/{name}`).
 * - `trace_spans`: the spans taken in through `POST /v1/traces`, keyed by workspace, trace and
 *   span id, so the same span sent twice is one request.
 * - `trace_groups`: the group each trace became, one per trace and workspace.
 * - `model_prices`: a workspace's own prices per model (USD per million tokens), each from an
 *   effective time on, overriding the table shipped with Tally (domain/model-prices.ts).
 */
export async function up(db: Kysely<unknown>, _d: MigrationDialect): Promise<void> {
  await db.schema.alterTable('requests').addColumn('price_source', 'text').execute();
  await db.schema.createIndex('requests_ws_span').on('requests').columns(['workspace_id', 'span_id']).execute();

  await db.schema
    .createTable('trace_spans')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('trace_id', 'text', (c) => c.notNull())
    .addColumn('span_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addPrimaryKeyConstraint('trace_spans_pk', ['workspace_id', 'trace_id', 'span_id'])
    .execute();

  await db.schema
    .createTable('trace_groups')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('trace_id', 'text', (c) => c.notNull())
    .addColumn('group_id', 'bigint', (c) => c.notNull().references('groups.id'))
    .addPrimaryKeyConstraint('trace_groups_pk', ['workspace_id', 'trace_id'])
    .execute();

  await db.schema
    .createTable('model_prices')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('effective_from', 'bigint', (c) => c.notNull())
    .addColumn('input', 'double precision', (c) => c.notNull())
    .addColumn('output', 'double precision', (c) => c.notNull())
    .addColumn('cached_input', 'double precision')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_prices_pk', ['workspace_id', 'model', 'effective_from'])
    .execute();
}
