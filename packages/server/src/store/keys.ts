import type { Kysely, Selectable } from 'kysely';
import type { ApiKeysTable, Database } from './schema.js';
import type { ApiKeyInfo } from './types.js';

export interface NewApiKey {
  workspaceId: number;
  label: string;
  prefix: string;
  secretHash: string;
}

export interface KeyStore {
  create(key: NewApiKey): Promise<ApiKeyInfo>;
  list(workspaceId: number): Promise<ApiKeyInfo[]>;
  /** Returns false when no such key exists or it was already revoked. */
  revoke(id: number): Promise<boolean>;
  /** The live (not revoked) key with this hash. */
  find(secretHash: string): Promise<ApiKeyInfo | null>;
  touch(id: number, at: number): Promise<void>;
}

/** How a backend tells processes sharing its database that API keys changed. */
export interface KeyChangeSignal {
  /**
   * A number that changes whenever another connection or process may have changed API keys
   * (SQLite: `data_version`; PostgreSQL: a notification), or null when that cannot be known right
   * now. Found keys are served from memory while it stays the same.
   */
  token(): number | null;
  /** Runs in the transaction that revokes a key, to tell the other processes (PostgreSQL: NOTIFY). */
  announce?(trx: Kysely<Database>): Promise<void>;
}

const toApiKey = (r: Selectable<ApiKeysTable>): ApiKeyInfo => ({
  id: r.id,
  workspaceId: Number(r.workspace_id),
  label: r.label,
  prefix: r.prefix,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

const MAX_LIVE_KEYS = 10_000;

export class SqlKeys implements KeyStore {
  private readonly liveKeys = new Map<string, ApiKeyInfo>();
  private liveKeysToken: number | null = null;

  /** Without a signal (a read-only store) nothing is cached. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly changes: KeyChangeSignal | null,
  ) {}

  async create(key: NewApiKey): Promise<ApiKeyInfo> {
    const row = await this.db
      .insertInto('api_keys')
      .values({ workspace_id: key.workspaceId, label: key.label, prefix: key.prefix, secret_hash: key.secretHash, created_at: Date.now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApiKey(row);
  }

  async list(workspaceId: number): Promise<ApiKeyInfo[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
    return rows.map(toApiKey);
  }

  async revoke(id: number): Promise<boolean> {
    const revoked = await this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('api_keys').set({ revoked_at: Date.now() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await this.changes?.announce?.(trx);
      return true;
    });
    // This connection's own change does not move SQLite's data_version, so forget keys here too.
    this.liveKeys.clear();
    return revoked;
  }

  /**
   * The live key with this hash. Every request asks, so found keys are kept in memory for as long
   * as the backend's key-change token stays the same: a key revoked by any process is refused on
   * its next request once the token moves (SQLite reads it at most every KEY_CHANGE_CHECK_MS).
   * Unknown hashes are never kept (a flood of bad keys cannot grow memory).
   */
  async find(secretHash: string): Promise<ApiKeyInfo | null> {
    const token = this.changes?.token() ?? null;
    if (token !== null) {
      if (token !== this.liveKeysToken) {
        this.liveKeys.clear();
        this.liveKeysToken = token;
      }
      const hit = this.liveKeys.get(secretHash);
      if (hit) return hit;
    }
    const row = await this.db.selectFrom('api_keys').selectAll().where('secret_hash', '=', secretHash).where('revoked_at', 'is', null).executeTakeFirst();
    const key = row ? toApiKey(row) : null;
    // Kept only if nothing changed while the query ran (a revocation may have raced it).
    if (key && token !== null && this.changes!.token() === token && this.liveKeysToken === token) {
      if (this.liveKeys.size >= MAX_LIVE_KEYS) this.liveKeys.clear();
      this.liveKeys.set(secretHash, key);
    }
    return key;
  }

  async touch(id: number, at: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
