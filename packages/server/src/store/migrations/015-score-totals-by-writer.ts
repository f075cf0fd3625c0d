import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * PostgreSQL only: the batch writer's score statement (postgres/score-run.ts) adds to the score
 * totals itself, one upsert per group the batch touches, from the request columns its lookup has
 * read already; the statement-level triggers of 007 would look each request up again and group
 * the transition tables in PL/pgSQL. That statement marks itself by setting `tally.score_totals`
 * to its own start time (statement_timestamp()), and the insert and update triggers skip a
 * statement so marked. Every other statement, in the same transaction or not, has another start
 * time and fires them as before; the mark needs no reset. The rows are unchanged.
 */
const SCORE_TOTALS_MARK = 'tally.score_totals';

export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  if (d.backend !== 'postgres') return;
  const unmarked = `current_setting('${SCORE_TOTALS_MARK}', true) is distinct from statement_timestamp()::text`;
  await sql`drop trigger score_totals_insert on scores`.execute(db);
  await sql`drop trigger score_totals_update on scores`.execute(db);
  await sql
    .raw(`create trigger score_totals_insert after insert on scores referencing new table as new_rows for each statement when (${unmarked}) execute function score_totals_on_insert()`)
    .execute(db);
  await sql
    .raw(
      `create trigger score_totals_update after update on scores referencing old table as old_rows new table as new_rows for each statement when (${unmarked}) execute function score_totals_on_update()`,
    )
    .execute(db);
}
