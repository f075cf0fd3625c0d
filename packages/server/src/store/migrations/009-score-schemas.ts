import { sql, type Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * Score schemas, ratings and the workspace's strict score names (issue 26).
 *
 * - `score_schemas`: every version of every schema, keyed (workspace_id, name, version). The one in
 *   force for a name is its highest version, unless that version is archived (`archived_at`).
 *   Labels and reasons are JSON text.
 * - `workspaces.strict_score_names` (0 or 1): a score write to a name without a schema is refused.
 * - `scores` gains what the latest change gave beside the value: label, comment, reasons (JSON
 *   text), rater and the schema version in force. Existing rows keep nulls there (their rater reads
 *   as `updated_by`): filling them would fire the score-totals triggers once per row for nothing.
 * - `score_events` gains rater, rating (the value that rater gave; null when the row withdraws a
 *   rating or deletes the score), label, reasons, schema_version and kind (`rating`, `delete`,
 *   `adjudication`). A rating is such a row: there is no table of ratings. Existing rows become
 *   ratings by their actor (`delete` where the score was deleted), so the ratings derived from the
 *   history of a store migrated from 008 are its latest writes per actor.
 */
export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('score_schemas')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('rubric', 'text')
    .addColumn('higher_is_better', 'integer', (c) => c.notNull())
    .addColumn('min_value', 'integer', (c) => c.notNull())
    .addColumn('max_value', 'integer', (c) => c.notNull())
    .addColumn('labels', 'text')
    .addColumn('reasons', 'text', (c) => c.notNull())
    .addColumn('comment_required_below', 'integer')
    .addColumn('aggregate', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('archived_at', 'bigint')
    .addPrimaryKeyConstraint('score_schemas_pk', ['workspace_id', 'name', 'version'])
    .execute();

  await db.schema.alterTable('workspaces').addColumn('strict_score_names', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  // One column per statement: SQLite's ALTER TABLE adds one at a time.
  for (const [column, type] of [
    ['label', 'text'],
    ['comment', 'text'],
    ['reasons', 'text'],
    ['rater', 'text'],
    ['schema_version', 'integer'],
  ] as const) {
    await db.schema.alterTable('scores').addColumn(column, type).execute();
  }

  for (const [column, type] of [
    ['rater', 'text'],
    ['rating', 'integer'],
    ['label', 'text'],
    ['reasons', 'text'],
    ['schema_version', 'integer'],
  ] as const) {
    await db.schema.alterTable('score_events').addColumn(column, type).execute();
  }
  // A constant default: PostgreSQL (11+) and SQLite add it without rewriting the table.
  await db.schema.alterTable('score_events').addColumn('kind', 'text', (c) => c.notNull().defaultTo('rating')).execute();
  await sql`update score_events set rater = actor, rating = new_value, kind = case when new_value is null then 'delete' else 'rating' end`.execute(db);
  if (d.backend === 'postgres') await sql`analyze score_events`.execute(db);
}
