import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * An index over the text of every logged request's input and output (their stored JSON text), for
 * the `text` / `input` / `output` filters (store/search-filter.ts), which are substring tests that
 * ignore ASCII case. Both indexes keep substring semantics: they find the rows that hold the
 * term's three-character pieces (trigrams), and the unchanged LIKE test then runs on those rows.
 *
 * - SQLite: an FTS5 table with the trigram tokenizer, its content read from `requests` (external
 *   content, so the text is not stored twice), `detail=none` (row ids only, about a fifth of the
 *   size of the text, where position lists made it twice the text; the filter asks for rows that
 *   hold each of a few trigrams, which needs no positions). Triggers keep it in the transaction of
 *   every write of `requests`, whichever statement or connection makes it; `rebuild` fills it
 *   from the rows already stored.
 * - PostgreSQL: pg_trgm's GIN operator class on `lower(input)` and `lower(output)`, written as the
 *   filter writes them, so the planner uses them for `lower(col) like '%...%'` as it stands.
 *
 * A term shorter than three characters (as stored) has no trigram: both backends then test every
 * row the other filters leave, within the read deadline.
 */
export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  if (d.backend === 'sqlite') {
    await sql`create virtual table requests_text using fts5(input, output, content='requests', content_rowid='id', tokenize='trigram', detail='none')`.execute(db);
    await sql`create trigger requests_text_insert after insert on requests begin
      insert into requests_text (rowid, input, output) values (new.id, new.input, new.output);
    end`.execute(db);
    await sql`create trigger requests_text_delete after delete on requests begin
      insert into requests_text (requests_text, rowid, input, output) values ('delete', old.id, old.input, old.output);
    end`.execute(db);
    await sql`create trigger requests_text_update after update of input, output on requests begin
      insert into requests_text (requests_text, rowid, input, output) values ('delete', old.id, old.input, old.output);
      insert into requests_text (rowid, input, output) values (new.id, new.input, new.output);
    end`.execute(db);
    await sql`insert into requests_text (requests_text) values ('rebuild')`.execute(db);
    return;
  }
  // A trusted extension since PostgreSQL 13: the database's owner may create it.
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`create index requests_input_trgm on requests using gin (lower(input) gin_trgm_ops)`.execute(db);
  await sql`create index requests_output_trgm on requests using gin (lower(output) gin_trgm_ops)`.execute(db);
}
