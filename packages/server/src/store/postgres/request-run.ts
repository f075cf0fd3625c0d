import { sql, type Kysely, type RawBuilder } from 'kysely';
import { computedPrice, overridesFor } from '../pricing.js';
import type { Database } from '../schema.js';
import { REQUEST_COLUMNS, requestRow } from '../write-statements.js';
import type { InsertRequestCommand, Outcome } from '../write-commands.js';

/**
 * Many logged requests in four statements instead of one round trip per request, tag and metadata
 * entry (five for a typical log, 250 for a batch of 50): one takes an id for each request from the
 * identity sequence, one inserts every request row with its id, one every tag and one every
 * metadata entry, each over `unnest` arrays; a fifth reads the workspaces' price overrides when a
 * request was logged without a price (pricing.ts). Ids are taken first so that tags and metadata
 * know their request without relying on the order RETURNING gives rows in; they are handed out in
 * ascending order in command order. The caller passes only commands with no group to check and no
 * score to write (postgres-batch-writer.ts), so nothing here can refuse one command alone: a
 * failure fails the statement, and the batch falls back to one transaction per command
 * (group-commit.ts).
 */
const PG_TYPES: Record<(typeof REQUEST_COLUMNS)[number], string> = {
  workspace_id: 'int8',
  provider: 'text',
  model: 'text',
  function_name: 'text',
  api_type: 'text',
  input: 'text',
  output: 'text',
  parameters: 'text',
  prompt_name: 'text',
  prompt_id: 'text',
  prompt_version: 'int4',
  prompt_label: 'text',
  prompt_input_variables: 'text',
  input_tokens: 'int4',
  output_tokens: 'int4',
  price: 'float8',
  status: 'text',
  error_type: 'text',
  error_message: 'text',
  request_start_time: 'int8',
  request_end_time: 'int8',
  latency_ms: 'int8',
  span_id: 'text',
  created_at: 'int8',
  price_source: 'text',
};

const array = (values: unknown[], type: string): RawBuilder<unknown> => sql`${values}::${sql.raw(type)}[]`;

export async function insertEachRequest(trx: Kysely<Database>, cmds: readonly InsertRequestCommand[]): Promise<Outcome[]> {
  const { rows: taken } = await sql<{ id: string }>`
    select nextval(pg_get_serial_sequence('requests', 'id')) as id from generate_series(1, ${cmds.length}::int4)
  `.execute(trx);
  const ids = taken.map((r) => Number(r.id)).sort((a, b) => a - b);
  // One query for the price overrides of every request logged without a price (none: no query).
  const overrides = await overridesFor(trx, cmds);
  const now = Date.now();
  const rows = cmds.map((c) => requestRow(c.workspaceId, c.request, now, computedPrice(c.request, overrides.get(c.workspaceId) ?? [])));
  const columns = REQUEST_COLUMNS.map((c) => array(rows.map((r) => r[c] ?? null), PG_TYPES[c]));
  await sql`
    insert into requests (id, ${sql.join(REQUEST_COLUMNS.map((c) => sql.ref(c)))})
    select * from unnest(${array(ids, 'int8')}, ${sql.join(columns)})
  `.execute(trx);

  const tags = cmds.flatMap((c, i) => c.request.tags.map((tag) => [c.workspaceId, ids[i]!, tag] as const));
  if (tags.length > 0) {
    await sql`
      insert into request_tags (workspace_id, request_id, tag)
      select * from unnest(${array(tags.map((t) => t[0]), 'int8')}, ${array(tags.map((t) => t[1]), 'int8')}, ${array(tags.map((t) => t[2]), 'text')})
    `.execute(trx);
  }
  const metadata = cmds.flatMap((c, i) => Object.entries(c.request.metadata).map(([key, value]) => [c.workspaceId, ids[i]!, key, value] as const));
  if (metadata.length > 0) {
    await sql`
      insert into request_metadata (workspace_id, request_id, key, value)
      select * from unnest(${array(metadata.map((m) => m[0]), 'int8')}, ${array(metadata.map((m) => m[1]), 'int8')},
        ${array(metadata.map((m) => m[2]), 'text')}, ${array(metadata.map((m) => m[3]), 'text')})
    `.execute(trx);
  }
  return ids.map((id) => ({ ok: true, value: id }));
}
