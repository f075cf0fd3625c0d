import { Migrator, sql, type Kysely, type Selectable } from 'kysely';
import { TallyError } from '../domain/errors.js';
import type { RequestFilter, SortPosition, SortSpec } from '../domain/search-query.js';
import { SqlAccounts } from './accounts.js';
import type { MigrationDialect } from './migrations/index.js';
import { TallyMigrations } from './migrations/index.js';
import { countMatchingRequests, detailsOf, exportColumnsSql, readRequest, selectPageEnds, selectRequestContentPage, selectRequestPage, selectScoreNamesOf, type RequestContentText, type RequestDetails, type RequestPage, type RequestSearch, type RequestSummary } from './search.js';
import type { ApiKeysTable, Database, ScoreEventsTable, WorkspacesTable } from './schema.js';
import { SqlWriter } from './sql-writer.js';
import { selectExistingRequestIds, selectScoreEvents, selectScoreNameExists, type ScoreEventQuery } from './score-events.js';
import { commitBatch, type InsertRequestCommand, type Outcome, type SetScoreCommand, type WriteCommand } from './write-commands.js';
import { selectScoreDistribution, selectScoreStats, type DistributionRow, type ScoreAggregateQuery, type ScoreStatsRows, type StatsInterval } from './score-stats.js';
import type {
  ApiKeyInfo,
  Backend,
  ReadSource,
  ScoreEvent,
  Store,
  StoreWriter,
  StoredRequest,
  Workspace,
} from './store.js';

/** What a backend folder supplies; everything else is shared SQL through Kysely. */
export interface BackendTraits {
  backend: Backend;
  migrationDialect: MigrationDialect;
  /**
   * Runs `fn` in one write transaction that no other write transaction overlaps, whatever process
   * runs it (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock taken first). So a score's old
   * value cannot change between reading and replacing it, and history ids are handed out in commit
   * order: a feed reader never sees event N+1 before event N.
   */
  writeTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Runs migrations, holding whatever lock keeps concurrent starts apart. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Commits a batch elsewhere (SQLite's writer thread); absent, batches run on this connection. */
  writeBatch?(batch: readonly WriteCommand[]): Promise<Outcome[]>;
  /** Writes many scores in one statement (StoreWriter.setEachScore), where the backend can. */
  setEachScore?(trx: Kysely<Database>, cmds: readonly SetScoreCommand[]): Promise<Outcome[]>;
  /** Inserts many logged requests in a few statements (StoreWriter.insertEachRequest), where the backend can. */
  insertEachRequest?(trx: Kysely<Database>, cmds: readonly InsertRequestCommand[]): Promise<Outcome[]>;
  /** Readies whatever `writeBatch` runs on, so the first batch does not wait for it. */
  startWriter?(): Promise<void>;
  /**
   * A number that changes whenever another connection or process may have changed API keys
   * (SQLite: `data_version`; PostgreSQL: a notification), or null when that cannot be known right
   * now. Found keys are served from memory while it stays the same.
   */
  keyChangeToken?(): number | null;
  /** Runs in the transaction that revokes a key, to tell the other processes (PostgreSQL: NOTIFY). */
  announceKeyChange?(trx: Kysely<Database>): Promise<void>;
  /** Server settings that will make the queries slow (see Store.maintenanceWarnings). */
  maintenanceWarnings?(): Promise<string[]>;
  close(): Promise<void>;
  /** The readiness check, when the backend has one better than `select 1`. */
  ping?: () => Promise<void>;
  /** How another thread opens a read connection of its own to the same data. */
  readSource?: ReadSource;
  /** PostgreSQL: the rows of a SELECT (values inlined) as `COPY ... TO STDOUT (FORMAT csv)` gives them. */
  copyCsv?(query: string): AsyncIterable<Buffer>;
}

// Row converters: snake_case columns and JSON text stop here.
const toWorkspace = (r: Selectable<WorkspacesTable>): Workspace => ({ id: r.id, name: r.name, createdAt: Number(r.created_at) });

const toApiKey = (r: Selectable<ApiKeysTable>): ApiKeyInfo => ({
  id: r.id,
  workspaceId: Number(r.workspace_id),
  label: r.label,
  prefix: r.prefix,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

const toScoreEvent = (r: Selectable<ScoreEventsTable>): ScoreEvent => ({
  id: r.id,
  requestId: Number(r.request_id),
  name: r.name,
  oldValue: r.old_value,
  newValue: r.new_value,
  actor: r.actor,
  source: r.source,
  comment: r.comment,
  batchId: r.batch_id,
  at: Number(r.at),
});

const MAX_LIVE_KEYS = 10_000;

/** The Store over Kysely; the backend folders supply the connection and their few differences. */
export class SqlStore implements Store {
  readonly backend: Backend;
  readonly accounts: SqlAccounts;
  readonly readSource: ReadSource | null;
  private readonly liveKeys = new Map<string, ApiKeyInfo>();
  private liveKeysToken: number | null = null;

  constructor(
    readonly db: Kysely<Database>,
    private readonly traits: BackendTraits,
  ) {
    this.backend = traits.backend;
    this.accounts = new SqlAccounts(db);
    this.readSource = traits.readSource ?? null;
  }

  /** Runs the migrations not yet run, up to `to` (a migration's name; tests of a migration's backfill) or the latest. */
  async migrate(to?: string): Promise<void> {
    await this.traits.withMigrationLock(async () => {
      const migrator = new Migrator({ db: this.db, provider: new TallyMigrations(this.traits.migrationDialect) });
      const { error, results } = await (to === undefined ? migrator.migrateToLatest() : migrator.migrateTo(to));
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
        throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  close(): Promise<void> {
    return this.traits.close();
  }

  async ping(): Promise<void> {
    if (this.traits.ping) return this.traits.ping();
    await sql`select 1`.execute(this.db);
  }

  write<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    return this.traits.writeTransaction((trx) => fn(new SqlWriter(trx, { numberedParameters: this.backend === 'postgres', eachScore: this.traits.setEachScore, eachRequest: this.traits.insertEachRequest })));
  }

  async startWriter(): Promise<void> {
    await this.traits.startWriter?.();
  }

  async maintenanceWarnings(): Promise<string[]> {
    return (await this.traits.maintenanceWarnings?.()) ?? [];
  }

  writeBatch(batch: readonly WriteCommand[]): Promise<Outcome[]> {
    return this.traits.writeBatch ? this.traits.writeBatch(batch) : commitBatch((fn) => this.write(fn), batch);
  }

  async bootstrapDefaultWorkspace(): Promise<Workspace | null> {
    const any = await this.db.selectFrom('workspaces').select('id').limit(1).executeTakeFirst();
    if (any) return null;
    // Two instances starting at once on one PostgreSQL: the unique name lets exactly one win.
    const row = await this.db
      .insertInto('workspaces')
      .values({ name: 'default', created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async createWorkspace(name: string): Promise<Workspace> {
    const existing = await this.findWorkspace(name);
    if (existing) throw new TallyError('conflict', `name: a workspace named "${name}" already exists`, { field: 'name' });
    const row = await this.db
      .insertInto('workspaces')
      .values({ name, created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new TallyError('conflict', `name: a workspace named "${name}" already exists`, { field: 'name' });
    return toWorkspace(row);
  }

  async listWorkspaces(): Promise<Workspace[]> {
    const rows = await this.db.selectFrom('workspaces').selectAll().orderBy('id').execute();
    return rows.map(toWorkspace);
  }

  async findWorkspace(name: string): Promise<Workspace | null> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async createApiKey(workspaceId: number, label: string, prefix: string, secretHash: string): Promise<ApiKeyInfo> {
    const row = await this.db
      .insertInto('api_keys')
      .values({ workspace_id: workspaceId, label, prefix, secret_hash: secretHash, created_at: Date.now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApiKey(row);
  }

  async listApiKeys(workspaceId: number): Promise<ApiKeyInfo[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
    return rows.map(toApiKey);
  }

  async revokeApiKey(id: number): Promise<boolean> {
    const revoked = await this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('api_keys').set({ revoked_at: Date.now() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await this.traits.announceKeyChange?.(trx);
      return true;
    });
    // This connection's own change does not move SQLite's data_version, so forget keys here too.
    this.liveKeys.clear();
    return revoked;
  }

  /**
   * The live key with this hash. Every request asks, so found keys are kept in memory for as long
   * as the backend's key-change token stays the same: a key revoked by any process is refused on
   * its next request. Unknown hashes are never kept (a flood of bad keys cannot grow memory).
   */
  async findApiKey(secretHash: string): Promise<ApiKeyInfo | null> {
    const token = this.traits.keyChangeToken?.() ?? null;
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
    if (key && token !== null && this.traits.keyChangeToken!() === token && this.liveKeysToken === token) {
      if (this.liveKeys.size >= MAX_LIVE_KEYS) this.liveKeys.clear();
      this.liveKeys.set(secretHash, key);
    }
    return key;
  }

  async touchApiKey(id: number, at: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  getRequest(workspaceId: number, id: number): Promise<StoredRequest | null> {
    return readRequest(this.db, workspaceId, id);
  }

  searchRequests(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestSummary>> {
    return selectRequestPage(this.db, workspaceId, query);
  }

  searchRequestContents(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestContentText>> {
    return selectRequestContentPage(this.db, workspaceId, query);
  }

  get copiesCsv(): boolean {
    return this.traits.copyCsv !== undefined;
  }

  copyExportColumns(workspaceId: number, filter: RequestFilter | null, sort: SortSpec): AsyncIterable<Buffer> {
    if (!this.traits.copyCsv) throw new Error(`${this.backend} has no COPY`);
    return this.traits.copyCsv(exportColumnsSql(this.db, workspaceId, filter, sort));
  }

  requestDetails(ids: number[]): Promise<Map<number, RequestDetails>> {
    return detailsOf(this.db, ids);
  }

  pageEnds(workspaceId: number, filter: RequestFilter | null, sort: SortSpec, rows: number): Promise<SortPosition[]> {
    return selectPageEnds(this.db, this.backend, workspaceId, filter, sort, rows);
  }

  countRequests(workspaceId: number, filter: RequestFilter | null): Promise<number> {
    return countMatchingRequests(this.db, workspaceId, filter);
  }

  scoreNamesOf(workspaceId: number, filter: RequestFilter | null): Promise<string[]> {
    return selectScoreNamesOf(this.db, workspaceId, filter);
  }

  async scoreHistory(workspaceId: number, requestId: number): Promise<ScoreEvent[]> {
    const rows = await this.db
      .selectFrom('score_events')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('request_id', '=', requestId)
      .orderBy('id')
      .execute();
    return rows.map(toScoreEvent);
  }

  async scoreEvents(workspaceId: number, query: ScoreEventQuery): Promise<ScoreEvent[]> {
    return (await selectScoreEvents(this.db, workspaceId, query)).map(toScoreEvent);
  }

  existingRequestIds(workspaceId: number, ids: readonly number[]): Promise<Set<number>> {
    return selectExistingRequestIds(this.db, workspaceId, ids);
  }

  scoreNameExists(workspaceId: number, name: string): Promise<boolean> {
    return selectScoreNameExists(this.db, workspaceId, name);
  }

  scoreDistribution(workspaceId: number, query: ScoreAggregateQuery): Promise<DistributionRow[]> {
    return selectScoreDistribution(this.db, workspaceId, query);
  }

  scoreStats(workspaceId: number, query: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows> {
    return selectScoreStats(this.db, workspaceId, query);
  }
}
