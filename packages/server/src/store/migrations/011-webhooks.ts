import type { Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * Webhooks and alerts (docs/webhooks.md).
 *
 * - `webhooks`: where to POST, which events, the signing secret (kept as given: it signs every
 *   delivery, so it cannot be stored as a hash), and one cursor per event stream: the last
 *   `score_events.id`, `requests.id` and `alert_events.id` already turned into deliveries. Those
 *   three tables are the outbox: each row is written in the transaction of the change it reports,
 *   with ids handed out in commit order, so a worker that reads past its cursor misses nothing.
 * - `webhook_deliveries`: one row per (webhook, event), with its attempts; `order_key` holds back a
 *   delivery while an earlier one of the same request is still pending; `claimed_until` is the
 *   lease of the instance sending it.
 * - `alerts`, their evaluations (`alert_states`) and the outbox of their state changes (`alert_events`).
 * - An index of scores by name and update time: an alert reads the scores of one name updated
 *   within its window.
 */
export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'text')
    .addColumn('failing_since', 'bigint')
    .addColumn('score_cursor', 'bigint', (c) => c.notNull())
    .addColumn('request_cursor', 'bigint', (c) => c.notNull())
    .addColumn('alert_cursor', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_workspace').on('webhooks').columns(['workspace_id', 'id']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('webhook_id', 'bigint', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('order_key', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('give_up_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_attempt_at', 'bigint')
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'bigint')
    .addUniqueConstraint('webhook_deliveries_event', ['webhook_id', 'event_id'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_deliveries_order').on('webhook_deliveries').columns(['webhook_id', 'order_key', 'status', 'id']).execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('score_name', 'text', (c) => c.notNull())
    .addColumn('filter', 'text')
    .addColumn('window_ms', 'bigint', (c) => c.notNull())
    .addColumn('min_count', 'integer', (c) => c.notNull())
    .addColumn('threshold', 'double precision', (c) => c.notNull())
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('confidence', 'double precision', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('share_value', 'integer')
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('next_evaluation_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alerts_workspace').on('alerts').columns(['workspace_id', 'id']).execute();
  await db.schema.createIndex('alerts_due').on('alerts').columns(['next_evaluation_at']).execute();

  await db.schema
    .createTable('alert_states')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('alert_id', 'bigint', (c) => c.notNull().references('alerts.id').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('changed', 'integer', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('value', 'double precision')
    .addColumn('low', 'double precision')
    .addColumn('high', 'double precision')
    .execute();
  await db.schema.createIndex('alert_states_alert').on('alert_states').columns(['alert_id', 'id']).execute();

  await db.schema
    .createTable('alert_events')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('alert_id', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_events_ws').on('alert_events').columns(['workspace_id', 'id']).execute();

  await db.schema.createIndex('scores_ws_name_updated').on('scores').columns(['workspace_id', 'name', 'updated_at']).execute();
}
