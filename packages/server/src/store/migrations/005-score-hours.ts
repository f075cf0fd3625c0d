import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * Per-hour totals of each score name, `score_hours(workspace_id, name, hour_start, count, sum)`,
 * by the UTC hour of the request's start time. The statistics of a whole workspace (or one score
 * name in it) read their series from here, a few thousand rows a year, instead of joining every
 * score with its request, which grows with the store.
 *
 * Triggers on `scores` keep the totals in the transaction that writes the score, whichever
 * statement writes it: an insert adds (1, value) to its hour, a delete adds (-1, -value), an update
 * takes the old row out and puts the new one in. A request's start time never changes, so its hour
 * is fixed. An hour whose scores were all deleted keeps a row with count 0; readers skip it.
 * PostgreSQL's triggers are per statement over transition tables, so a statement that writes many
 * scores (postgres/score-run.ts) updates each hour once.
 */
const HOUR_MS = 3_600_000;

export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('score_hours')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('hour_start', 'bigint', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('sum', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('score_hours_pk', ['workspace_id', 'name', 'hour_start'])
    // SQLite: the table is its primary-key index, so a series is one range read.
    .$call((b) => (d.backend === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
    .execute();

  const hour = (t: string) => sql.raw(`(${t}.request_start_time - ${t}.request_start_time % ${HOUR_MS})`);
  await sql`
    insert into score_hours (workspace_id, name, hour_start, count, sum)
    select s.workspace_id, s.name, ${hour('r')}, count(*), sum(s.value)
    from scores s join requests r on r.id = s.request_id
    group by s.workspace_id, s.name, ${hour('r')}
  `.execute(db);

  if (d.backend === 'sqlite') await sqliteTriggers(db);
  else await postgresTriggers(db);
}

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  // `row` is NEW or OLD; sign is +1 to add the row, -1 to take it out.
  const apply = (row: 'new' | 'old', sign: 1 | -1) => `
    insert into score_hours (workspace_id, name, hour_start, count, sum)
    select ${row}.workspace_id, ${row}.name, r.request_start_time - r.request_start_time % ${HOUR_MS}, ${sign}, ${sign} * ${row}.value
    from requests r where r.id = ${row}.request_id
    on conflict (workspace_id, name, hour_start) do update set count = count + excluded.count, sum = sum + excluded.sum;`;
  await sql.raw(`create trigger score_hours_insert after insert on scores begin ${apply('new', 1)} end`).execute(db);
  await sql.raw(`create trigger score_hours_delete after delete on scores begin ${apply('old', -1)} end`).execute(db);
  await sql.raw(`create trigger score_hours_update after update on scores begin ${apply('old', -1)} ${apply('new', 1)} end`).execute(db);
}

async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  // One function per event: a function may name only the transition tables its trigger declares.
  const rows = (table: string, sign: 1 | -1) => `select workspace_id, request_id, name, ${sign} as n, ${sign} * value as v from ${table}`;
  const fn = async (name: string, changes: string) => {
    await sql
      .raw(
        `create function ${name}() returns trigger language plpgsql as $$
        begin
          insert into score_hours (workspace_id, name, hour_start, count, sum)
          select c.workspace_id, c.name, r.request_start_time - r.request_start_time % ${HOUR_MS}, sum(c.n), sum(c.v)
          from (${changes}) c join requests r on r.id = c.request_id
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
  await sql`create trigger score_hours_insert after insert on scores referencing new table as new_rows for each statement execute function score_hours_on_insert()`.execute(db);
  await sql`create trigger score_hours_delete after delete on scores referencing old table as old_rows for each statement execute function score_hours_on_delete()`.execute(db);
  await sql`create trigger score_hours_update after update on scores referencing old table as old_rows new table as new_rows for each statement execute function score_hours_on_update()`.execute(db);
}
