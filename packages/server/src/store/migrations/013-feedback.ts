import type { Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/**
 * End users' feedback (docs/feedback.md): per workspace, the secret that signs its feedback tokens
 * and the browser origins allowed to submit them. A table of its own, one row per workspace, made
 * the first time the workspace mints a token or sets its origins; no existing table changes.
 *
 * Only the current secret is kept: a token carries the id of the secret that signed it
 * (`secret_id`), and one signed by a secret rotated out no longer matches and is refused. The
 * secret itself is stored as is (an HMAC key must be readable to check a signature); it grants
 * nothing but writing end-user ratings within what each token allows.
 */
export async function up(db: Kysely<unknown>, _d: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('workspace_feedback')
    .addColumn('workspace_id', 'bigint', (c) => c.primaryKey().references('workspaces.id'))
    .addColumn('secret_id', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    // A JSON array of exact origins (`["https://app.example.com"]`); `[]`: no browser page.
    .addColumn('origins', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('rotated_at', 'bigint')
    .execute();
}
