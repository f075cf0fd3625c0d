import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * Score totals per prompt version and model, so that statistics grouped by prompt or by model,
 * and comparisons of prompt versions or models, read totals instead of joining every score with
 * its request (on a large store almost all of that time is one index lookup per request).
 *
 * - `score_hours` gains the prompt (name and version) and the model of the request: count and sum
 *   per score name, prompt, model and UTC hour of the request start time. The series of a whole
 *   workspace sums the groups of each hour.
 * - `score_values` is new: how many scores have each integer value, per score name, prompt and
 *   model. At most 101 rows per group; the distribution (histogram, percentiles, mean and
 *   standard deviation) is computed from it.
 *
 * The prompt is stored as three NOT NULL key columns: `prompt_named` (1 when the request has a
 * prompt name, 0 when it has none), `prompt_name` ('' when none) and `prompt_version` (0 when none;
 * a stored version is always 1 or more). Nullable columns cannot be a primary key, and an empty
 * prompt name is a name the API accepts, so the flag keeps "no name" apart from "". A request's
 * model is never null.
 *
 * Triggers keep both tables in the transaction of every write that changes them, whichever
 * statement it is: a score inserted adds to its groups, one deleted takes out, one updated does
 * both; a request whose prompt name or version changes (`track-prompt`) moves its scores from the
 * old prompt's totals to the new one's. A request's start time and model never change. Rows whose
 * count falls to 0 stay; readers skip them.
 */
const HOUR_MS = 3_600_000;

const GROUP_COLUMNS = 'prompt_named, prompt_name, prompt_version, model';

/** The group columns (prompt and model) of a row of `requests` (or OLD / NEW of one) named `r`. */
function groupKey(r: string, backend: MigrationDialect['backend']): string {
  const named = backend === 'postgres' ? `(${r}.prompt_name is not null)::int` : `(${r}.prompt_name is not null)`;
  return `${named}, coalesce(${r}.prompt_name, ''), coalesce(${r}.prompt_version, 0), ${r}.model`;
}

const HOURS_KEY = `workspace_id, name, ${GROUP_COLUMNS}, hour_start`;
const VALUES_KEY = `workspace_id, name, ${GROUP_COLUMNS}, value`;
const hourOf = (t: string) => `${t} - ${t} % ${HOUR_MS}`;

export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  if (d.backend === 'sqlite') {
    for (const event of ['insert', 'delete', 'update']) await sql.raw(`drop trigger score_hours_${event}`).execute(db);
  } else {
    for (const event of ['insert', 'delete', 'update']) await sql.raw(`drop trigger score_hours_${event} on scores`).execute(db);
    for (const event of ['insert', 'delete', 'update']) await sql.raw(`drop function score_hours_on_${event}()`).execute(db);
  }
  await db.schema.dropTable('score_hours').execute();

  const key = groupKey('r', d.backend);
  // SQLite, left to itself, walks an index of requests and reads each request's whole row out of
  // order, the rows being large; NOT INDEXED and CROSS JOIN make it read the requests in rowid
  // order and look their scores up, which is faster.
  const scored = d.backend === 'sqlite' ? 'requests r not indexed cross join scores s on s.request_id = r.id' : 'scores s join requests r on r.id = s.request_id';
  // Each table: the key (workspace, score name, prompt, model, then its own last column) and its totals,
  // filled by grouping the scores already stored with their requests.
  const totals = async (table: string, last: [string, 'bigint' | 'integer', string], measures: [string, string][]) => {
    let create = db.schema
      .createTable(table)
      .addColumn('workspace_id', 'bigint', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('prompt_named', 'integer', (c) => c.notNull())
      .addColumn('prompt_name', 'text', (c) => c.notNull())
      .addColumn('prompt_version', 'integer', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn(last[0], last[1], (c) => c.notNull());
    for (const [column] of measures) create = create.addColumn(column, 'bigint', (c) => c.notNull());
    create = create.addPrimaryKeyConstraint(`${table}_pk`, ['workspace_id', 'name', 'prompt_named', 'prompt_name', 'prompt_version', 'model', last[0]]);
    // SQLite: the table is its primary-key index, so a read is one range of it.
    await (d.backend === 'sqlite' ? create.modifyEnd(sql`without rowid`) : create).execute();
    await sql
      .raw(
        `insert into ${table} (workspace_id, name, ${GROUP_COLUMNS}, ${last[0]}, ${measures.map(([c]) => c).join(', ')})
        select s.workspace_id, s.name, ${key}, ${last[2]}, ${measures.map(([, e]) => e).join(', ')}
        from ${scored}
        group by 1, 2, 3, 4, 5, 6, 7`,
      )
      .execute(db);
  };
  await totals('score_hours', ['hour_start', 'bigint', hourOf('r.request_start_time')], [['count', 'count(*)'], ['sum', 'sum(s.value)']]);
  await totals('score_values', ['value', 'integer', 's.value'], [['count', 'count(*)']]);

  if (d.backend === 'sqlite') await sqliteTriggers(db);
  else {
    await postgresTriggers(db);
    // Statistics for the planner now rather than at autovacuum's next pass: without them, reads of
    // the totals on a large store plan badly until ANALYZE has run.
    await sql`analyze score_hours, score_values`.execute(db);
  }
}

// Both backends add a signed change to a total the same way.
const ADD_TO_HOURS = `on conflict (${HOURS_KEY}) do update set count = score_hours.count + excluded.count, sum = score_hours.sum + excluded.sum`;
const ADD_TO_VALUES = `on conflict (${VALUES_KEY}) do update set count = score_values.count + excluded.count`;

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  const key = groupKey('r', 'sqlite');
  // `row` is NEW or OLD of a score; sign is +1 to add it, -1 to take it out.
  const apply = (row: 'new' | 'old', sign: 1 | -1) => `
    insert into score_hours (${HOURS_KEY}, count, sum)
    select ${row}.workspace_id, ${row}.name, ${key}, ${hourOf('r.request_start_time')}, ${sign}, ${sign} * ${row}.value
    from requests r where r.id = ${row}.request_id
    ${ADD_TO_HOURS};
    insert into score_values (${VALUES_KEY}, count)
    select ${row}.workspace_id, ${row}.name, ${key}, ${row}.value, ${sign}
    from requests r where r.id = ${row}.request_id
    ${ADD_TO_VALUES};`;
  await sql.raw(`create trigger score_totals_insert after insert on scores begin ${apply('new', 1)} end`).execute(db);
  await sql.raw(`create trigger score_totals_delete after delete on scores begin ${apply('old', -1)} end`).execute(db);
  await sql.raw(`create trigger score_totals_update after update on scores begin ${apply('old', -1)} ${apply('new', 1)} end`).execute(db);

  // A request's prompt changed: its scores leave the old prompt's totals and join the new one's.
  const move = (req: 'old' | 'new', sign: 1 | -1) => `
    insert into score_hours (${HOURS_KEY}, count, sum)
    select s.workspace_id, s.name, ${groupKey(req, 'sqlite')}, ${hourOf(`${req}.request_start_time`)}, ${sign} * count(*), ${sign} * sum(s.value)
    from scores s where s.request_id = ${req}.id
    group by s.workspace_id, s.name
    ${ADD_TO_HOURS};
    insert into score_values (${VALUES_KEY}, count)
    select s.workspace_id, s.name, ${groupKey(req, 'sqlite')}, s.value, ${sign} * count(*)
    from scores s where s.request_id = ${req}.id
    group by s.workspace_id, s.name, s.value
    ${ADD_TO_VALUES};`;
  await sql
    .raw(
      `create trigger score_totals_prompt after update of prompt_name, prompt_version on requests
      when old.prompt_name is not new.prompt_name or old.prompt_version is not new.prompt_version
      begin ${move('old', -1)} ${move('new', 1)} end`,
    )
    .execute(db);
}

/**
 * A PL/pgSQL trigger function that adds signed changes to both totals. `changes` is a query with
 * the columns workspace_id, name, named, pname, pversion, model, start, value and n (+1 or -1).
 */
async function postgresTotalsFunction(db: Kysely<unknown>, name: string, changes: string): Promise<void> {
  await sql
    .raw(
      `create function ${name}() returns trigger language plpgsql as $$
      begin
        with c as materialized (${changes}), totals_by_hour as (
          insert into score_hours (${HOURS_KEY}, count, sum)
          select workspace_id, name, named, pname, pversion, model, ${hourOf('start')}, sum(n), sum(n * value)
          from c group by 1, 2, 3, 4, 5, 6, 7
          ${ADD_TO_HOURS}
        )
        insert into score_values (${VALUES_KEY}, count)
        select workspace_id, name, named, pname, pversion, model, value, sum(n)
        from c group by 1, 2, 3, 4, 5, 6, 7
        ${ADD_TO_VALUES};
        return null;
      end $$`,
    )
    .execute(db);
}

async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  // One function per event: a function may name only the transition tables its trigger declares.
  const rows = (table: string, sign: 1 | -1) => `select workspace_id, request_id, name, value, ${sign} as n from ${table}`;
  // Each changed score's request is found by a lookup on its primary key. `offset 0` keeps the
  // lateral subquery from being flattened into a join, which the planner could turn into a hash
  // over all of `requests`, and PL/pgSQL would keep that plan while the table grows (see 006).
  const scored = (changes: string) => `
    select c.workspace_id, c.name, r.named, r.pname, r.pversion, r.model, r.start, c.value, c.n
    from (${changes}) c
    cross join lateral (
      select (q.prompt_name is not null)::int as named, coalesce(q.prompt_name, '') as pname,
        coalesce(q.prompt_version, 0) as pversion, q.model, q.request_start_time as start
      from requests q where q.id = c.request_id offset 0
    ) r`;
  await postgresTotalsFunction(db, 'score_totals_on_insert', scored(rows('new_rows', 1)));
  await postgresTotalsFunction(db, 'score_totals_on_delete', scored(rows('old_rows', -1)));
  await postgresTotalsFunction(db, 'score_totals_on_update', scored(`${rows('old_rows', -1)} union all ${rows('new_rows', 1)}`));

  // A request's prompt changed: its scores leave the old prompt's totals and join the new one's.
  // Row-level: a statement-level trigger with transition tables cannot name the columns it watches.
  await postgresTotalsFunction(
    db,
    'score_totals_on_prompt',
    `select s.workspace_id, s.name, p.named, p.pname, p.pversion, p.model, old.request_start_time as start, s.value, p.n
    from scores s cross join (values
      (${groupKey('old', 'postgres')}, -1),
      (${groupKey('new', 'postgres')}, 1)
    ) p(named, pname, pversion, model, n)
    where s.request_id = old.id`,
  );
  await sql`create trigger score_totals_prompt after update of prompt_name, prompt_version on requests for each row
    when (old.prompt_name is distinct from new.prompt_name or old.prompt_version is distinct from new.prompt_version)
    execute function score_totals_on_prompt()`.execute(db);
  await sql`create trigger score_totals_insert after insert on scores referencing new table as new_rows for each statement execute function score_totals_on_insert()`.execute(db);
  await sql`create trigger score_totals_delete after delete on scores referencing old table as old_rows for each statement execute function score_totals_on_delete()`.execute(db);
  await sql`create trigger score_totals_update after update on scores referencing old table as old_rows new table as new_rows for each statement execute function score_totals_on_update()`.execute(db);
}
