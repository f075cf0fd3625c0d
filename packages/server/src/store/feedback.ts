import { randomBytes } from 'node:crypto';
import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

// The feedback table (migration 013), kept beside its queries: nothing else reads it.
export type WorkspaceFeedbackTable = {
  workspace_id: number;
  secret_id: string;
  secret: string;
  origins: string;
  created_at: number;
  rotated_at: number | null;
};

type FeedbackTables = { workspace_feedback: WorkspaceFeedbackTable };

/** The secret that signs a workspace's feedback tokens now, and its id (a token's `kid`). */
export interface FeedbackSecret {
  secretId: string;
  /** 32 random bytes, base64url. */
  secret: string;
}

export interface FeedbackSettings extends FeedbackSecret {
  /** Exact origins whose pages may submit feedback from a browser; empty: none. */
  origins: string[];
  createdAt: number;
  /** When the secret was last rotated; null if never. */
  rotatedAt: number | null;
}

export interface FeedbackStore {
  /** The workspace's settings, or null before it first minted a token or set origins. */
  find(workspaceId: number): Promise<FeedbackSettings | null>;
  /** The current signing secret, made on first use. Race-safe: every caller gets the same one. */
  signingSecret(workspaceId: number): Promise<FeedbackSecret>;
  /** Replaces the secret: every token signed before is refused from now on. */
  rotate(workspaceId: number): Promise<FeedbackSettings>;
  /**
   * Forgets the cached union of origins, after a write changed them (`updateWorkspace` with
   * `feedbackOrigins`), so this instance judges the next preflight by the new list.
   */
  originsChanged(): void;
  /**
   * Every origin any workspace allows (what a preflight, which carries no token, can be checked
   * against), cached for a few seconds in this process and dropped here whenever origins change.
   */
  anyWorkspaceOrigins(): Promise<ReadonlySet<string>>;
}

/** How long the union of all workspaces' origins is reused before it is read again. */
const ORIGINS_CACHE_MS = 5_000;

const newSecret = (): FeedbackSecret => ({ secretId: randomBytes(6).toString('base64url'), secret: randomBytes(32).toString('base64url') });

function parseOrigins(text: string): string[] {
  const parsed = JSON.parse(text) as unknown;
  return Array.isArray(parsed) ? parsed.filter((o): o is string => typeof o === 'string') : [];
}

const toSettings = (r: WorkspaceFeedbackTable): FeedbackSettings => ({
  secretId: r.secret_id,
  secret: r.secret,
  origins: parseOrigins(r.origins),
  createdAt: Number(r.created_at),
  rotatedAt: r.rotated_at === null ? null : Number(r.rotated_at),
});

export class SqlFeedback implements FeedbackStore {
  private readonly db: Kysely<Database & FeedbackTables>;
  private origins: { set: ReadonlySet<string>; until: number } | null = null;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<FeedbackTables>();
  }

  async find(workspaceId: number): Promise<FeedbackSettings | null> {
    const row = await this.db.selectFrom('workspace_feedback').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirst();
    return row ? toSettings(row) : null;
  }

  async signingSecret(workspaceId: number): Promise<FeedbackSecret> {
    const found = await this.find(workspaceId);
    if (found) return { secretId: found.secretId, secret: found.secret };
    // Two instances minting the first token at once: the primary key lets one secret win, and
    // both read it back.
    const s = newSecret();
    await this.db
      .insertInto('workspace_feedback')
      .values({ workspace_id: workspaceId, secret_id: s.secretId, secret: s.secret, origins: '[]', created_at: Date.now(), rotated_at: null })
      .onConflict((oc) => oc.column('workspace_id').doNothing())
      .execute();
    const row = await this.find(workspaceId);
    if (!row) throw new Error(`feedback: no settings row for workspace ${workspaceId} after creating it`);
    return { secretId: row.secretId, secret: row.secret };
  }

  async rotate(workspaceId: number): Promise<FeedbackSettings> {
    const s = newSecret();
    const now = Date.now();
    const row = await this.db
      .insertInto('workspace_feedback')
      .values({ workspace_id: workspaceId, secret_id: s.secretId, secret: s.secret, origins: '[]', created_at: now, rotated_at: now })
      .onConflict((oc) => oc.column('workspace_id').doUpdateSet({ secret_id: s.secretId, secret: s.secret, rotated_at: now }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSettings(row);
  }

  originsChanged(): void {
    this.origins = null;
  }

  async anyWorkspaceOrigins(): Promise<ReadonlySet<string>> {
    const now = Date.now();
    if (this.origins && this.origins.until > now) return this.origins.set;
    const rows = await this.db.selectFrom('workspace_feedback').select('origins').where('origins', '<>', '[]').execute();
    const set = new Set(rows.flatMap((r) => parseOrigins(r.origins)));
    this.origins = { set, until: now + ORIGINS_CACHE_MS };
    return set;
  }
}

/**
 * The statement that sets a workspace's feedback origins (making its row, with a fresh secret, if
 * it has none), for the `updateWorkspace` write program, so that it commits with the other settings.
 */
export function setOriginsQuery(compiler: Kysely<Database>, workspaceId: number, origins: readonly string[]): CompiledQuery {
  const s = newSecret();
  const text = JSON.stringify([...new Set(origins)]);
  return compiler
    .withTables<FeedbackTables>()
    .insertInto('workspace_feedback')
    .values({ workspace_id: workspaceId, secret_id: s.secretId, secret: s.secret, origins: text, created_at: Date.now(), rotated_at: null })
    .onConflict((oc) => oc.column('workspace_id').doUpdateSet({ origins: text }))
    .compile();
}
