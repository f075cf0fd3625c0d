import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * Indexes for search, export and statistics (store/search.ts, store/search-filter.ts). Every index
 * leads with workspace_id, so a workspace's reads never touch another's rows. The sort indexes end
 * in id, the keyset tie-breaker, so a page is one ordered index walk; the filter indexes carry
 * request_start_time, the default sort, so "model = x, newest first" is one walk too.
 *
 * Not indexed on purpose: metadata values (up to 64 KiB, beyond PostgreSQL's btree row limit; the
 * primary key (request_id, key) answers the per-row EXISTS test) and text over input and output
 * (a substring scan; it runs over the rows the other filters leave).
 */
export async function up(db: Kysely<unknown>, _d: MigrationDialect): Promise<void> {
  const index = (name: string, columns: string[]) => db.schema.createIndex(name).on('requests').columns(columns).execute();

  // Sort keys (with the time sort already covered by 001's requests_ws_start).
  await index('requests_ws_id', ['workspace_id', 'id']);
  await index('requests_ws_latency', ['workspace_id', 'latency_ms', 'id']);
  await index('requests_ws_price', ['workspace_id', 'price', 'id']);
  await index('requests_ws_input_tokens', ['workspace_id', 'input_tokens', 'id']);
  await index('requests_ws_output_tokens', ['workspace_id', 'output_tokens', 'id']);
  // Written exactly as search-filter.ts writes `tokens`, so both planners match the expression.
  await sql`create index requests_ws_tokens on requests (workspace_id, (input_tokens + output_tokens), id)`.execute(db);

  // Equality filters, newest first.
  await index('requests_ws_model_start', ['workspace_id', 'model', 'request_start_time']);
  await index('requests_ws_provider_start', ['workspace_id', 'provider', 'request_start_time']);
  await index('requests_ws_prompt_start', ['workspace_id', 'prompt_name', 'prompt_version', 'request_start_time']);
  await index('requests_ws_status_start', ['workspace_id', 'status', 'request_start_time']);
}
