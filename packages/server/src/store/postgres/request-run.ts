import { CompiledQuery, type Kysely } from 'kysely';
import { computedPrice, overridesFor } from '../pricing.js';
import type { Database } from '../schema.js';
import { REQUEST_COLUMNS, requestRow } from '../write-statements.js';
import type { InsertRequestCommand, Outcome } from '../write-commands.js';
import { preparedStatement } from './prepared-statements.js';
import { WRITE_ORDER_LOCK_KEY } from './write-order.js';

/**
 * Many logged requests in one prepared statement instead of one round trip per request, tag and
 * metadata entry (five for a typical log, 250 for a batch of 50): it takes an id for each request
 * from the identity sequence, in command order, and inserts every request row with its id, every
 * tag and every metadata entry, each over `unnest` arrays, tags and metadata finding their request
 * by its place in the batch; another statement reads the workspaces' price overrides when a
 * request was logged without a price (pricing.ts). The caller passes only commands with no group
 * to check and no score to write (postgres-batch-writer.ts), so nothing here can refuse one
 * command alone: a failure fails the statement, and the batch falls back to one transaction per
 * command (group-commit.ts).
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

const n = REQUEST_COLUMNS.length;
/**
 * Alone (outside a transaction), the statement first takes the write-order lock (write-order.ts),
 * before it takes any id: every row of the input waits for the lock's one row.
 */
const insertRequests = (alone: boolean) => `with ${alone ? `write_order as materialized (select pg_advisory_xact_lock(${WRITE_ORDER_LOCK_KEY})), ` : ''}input as materialized (
    select nextval(pg_get_serial_sequence('requests', 'id')) as id, u.*
    from ${alone ? 'write_order, ' : ''}unnest(${REQUEST_COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ')}) with ordinality as u(${REQUEST_COLUMNS.join(', ')}, ord)
  ), inserted as (
    insert into requests (id, ${REQUEST_COLUMNS.join(', ')}) select id, ${REQUEST_COLUMNS.join(', ')} from input
  ), tags as (
    insert into request_tags (workspace_id, request_id, tag)
    select input.workspace_id, input.id, t.tag from unnest($${n + 1}::int8[], $${n + 2}::text[]) as t(ord, tag) join input using (ord)
  ), metadata as (
    insert into request_metadata (workspace_id, request_id, key, value)
    select input.workspace_id, input.id, m.key, m.value from unnest($${n + 3}::int8[], $${n + 4}::text[], $${n + 5}::text[]) as m(ord, key, value) join input using (ord)
  )
  select id from input order by ord`;
const INSERT_REQUESTS = preparedStatement('insert_requests', insertRequests(false));
const INSERT_REQUESTS_ALONE = preparedStatement('insert_requests_alone', insertRequests(true));

/**
 * With `alone`, the statement runs outside a transaction and commits on its own; the caller
 * passes only requests that need no price looked up then.
 */
export async function insertEachRequest(trx: Kysely<Database>, cmds: readonly InsertRequestCommand[], opts: { alone?: boolean } = {}): Promise<Outcome[]> {
  // One query for the price overrides of every request logged without a price (none: no query).
  const overrides = await overridesFor(trx, cmds);
  const now = Date.now();
  const rows = cmds.map((c) => requestRow(c.workspaceId, c.request, now, computedPrice(c.request, overrides.get(c.workspaceId) ?? [])));
  const tagOrd: number[] = [];
  const tags: string[] = [];
  const metaOrd: number[] = [];
  const metaKeys: string[] = [];
  const metaValues: string[] = [];
  cmds.forEach((c, i) => {
    for (const tag of c.request.tags) tagOrd.push(i + 1), tags.push(tag);
    for (const [key, value] of Object.entries(c.request.metadata)) metaOrd.push(i + 1), metaKeys.push(key), metaValues.push(value);
  });
  const params = [...REQUEST_COLUMNS.map((c) => rows.map((r) => r[c] ?? null)), tagOrd, tags, metaOrd, metaKeys, metaValues];
  const { rows: ids } = await trx.executeQuery<{ id: number }>(CompiledQuery.raw(opts.alone ? INSERT_REQUESTS_ALONE : INSERT_REQUESTS, params));
  return ids.map((r) => ({ ok: true, value: Number(r.id) }));
}
