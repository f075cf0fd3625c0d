import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * The scores that carry reasons, per workspace and name: statistics count reasons on every read
 * (scores.ts reasonRows), and without this index that count visits every score of the name in
 * scores_ws_name_value to find the few with reasons, seconds at a million scores. Partial, so it
 * holds only those rows and costs the writes of scores without reasons nothing. The reasons text
 * stays out of the key (it may pass PostgreSQL's btree row limit); the rows found are read from
 * the table.
 */
export async function up(db: Kysely<unknown>, _d: MigrationDialect): Promise<void> {
  await sql`create index scores_ws_name_reasons on scores (workspace_id, name, value) where reasons is not null`.execute(db);
}
