import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './index.js';

/**
 * PostgreSQL only: the score-total trigger functions of 005 plan their statement afresh on every
 * call. PL/pgSQL caches a statement's plan for the life of a connection, and a statement without
 * parameters keeps its first (generic) plan until something invalidates it. A plan made while
 * `requests` was small hashes the whole table; kept while it grows, every score write scanned
 * every request (seen: the 1M-row seed fell from 4,000 to 1,700 rows/s, with its connection in a
 * hash join over `requests`). Planned per call with the transition table's real size, the join
 * looks each request up by id. Planning costs a fraction of a millisecond per statement, and a
 * statement here is a whole batch of scores.
 */
const HOUR_MS = 3_600_000;

export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  if (d.backend !== 'postgres') return;
  const rows = (table: string, sign: 1 | -1) => `select workspace_id, request_id, name, ${sign} as n, ${sign} * value as v from ${table}`;
  const fn = async (name: string, changes: string) => {
    // EXECUTE plans each time; the transition tables are visible to it as to a static statement.
    await sql
      .raw(
        `create or replace function ${name}() returns trigger language plpgsql as $$
        begin
          execute '
            insert into score_hours (workspace_id, name, hour_start, count, sum)
            select c.workspace_id, c.name, r.request_start_time - r.request_start_time % ${HOUR_MS}, sum(c.n), sum(c.v)
            from (${changes}) c join requests r on r.id = c.request_id
            group by 1, 2, 3
            on conflict (workspace_id, name, hour_start)
              do update set count = score_hours.count + excluded.count, sum = score_hours.sum + excluded.sum';
          return null;
        end $$`,
      )
      .execute(db);
  };
  await fn('score_hours_on_insert', rows('new_rows', 1));
  await fn('score_hours_on_delete', rows('old_rows', -1));
  await fn('score_hours_on_update', `${rows('old_rows', -1)} union all ${rows('new_rows', 1)}`);
}
