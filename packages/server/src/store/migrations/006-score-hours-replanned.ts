import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * PostgreSQL only: the score-total trigger functions of 005 find each score's request by a lookup
 * per score instead of a join the planner may choose to do by hashing `requests`. PL/pgSQL caches
 * a statement's plan for the life of a connection, and a statement without parameters keeps its
 * first plan until something invalidates it. A plan made while `requests` was small hashed the
 * whole table; kept while it grew, every score write scanned every request, and bulk loads slowed
 * as the table grew. A scalar
 * subquery per score is always a lookup by primary key, whatever the sizes, so the cached plan
 * stays right (planning every call instead, with EXECUTE, would cost a plan per statement).
 */
const HOUR_MS = 3_600_000;

export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  if (d.backend !== 'postgres') return;
  const rows = (table: string, sign: 1 | -1) => `select workspace_id, request_id, name, ${sign} as n, ${sign} * value as v from ${table}`;
  const fn = async (name: string, changes: string) => {
    await sql
      .raw(
        `create or replace function ${name}() returns trigger language plpgsql as $$
        begin
          insert into score_hours (workspace_id, name, hour_start, count, sum)
          select workspace_id, name, start - start % ${HOUR_MS}, sum(n), sum(v)
          from (
            select c.workspace_id, c.name, c.n, c.v, (select r.request_start_time from requests r where r.id = c.request_id) as start
            from (${changes}) c
          ) scored
          where start is not null
          group by 1, 2, 3
          on conflict (workspace_id, name, hour_start)
            do update set count = score_hours.count + excluded.count, sum = score_hours.sum + excluded.sum;
          return null;
        end $$`,
      )
      .execute(db);
  };
  await fn('score_hours_on_insert', rows('new_rows', 1));
  await fn('score_hours_on_delete', rows('old_rows', -1));
  await fn('score_hours_on_update', `${rows('old_rows', -1)} union all ${rows('new_rows', 1)}`);
}
