import type { Kysely } from 'kysely';

/**
 * Indexes for the score-event feed filtered by score name (`GET /v1/score-events?name=`): without
 * it the keyset scan over (workspace_id, id) reads past every event of other names to fill a page.
 * Statistics need none: they read scores through (workspace_id, name, value, request_id) of 001
 * and requests by primary key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('score_events_ws_name').on('score_events').columns(['workspace_id', 'name', 'id']).execute();
}
