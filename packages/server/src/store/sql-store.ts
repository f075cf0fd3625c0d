import { Migrator, sql, type Kysely } from 'kysely';
import { SqlAccounts } from './accounts.js';
import { SqlKeys, type KeyChangeSignal } from './keys.js';
import type { MigrationDialect } from './migrations/dialect.js';
import { TallyMigrations } from './migrations/index.js';
import { SqlRequests, type RequestReadTraits } from './requests.js';
import type { Database } from './schema.js';
import { SqlScores } from './scores.js';
import { SqlWriter } from './sql-writer.js';
import type { Store, StoreCapabilities } from './store.js';
import type { Backend, ReadSource } from './types.js';
import { SqlWorkspaces } from './workspaces.js';
import { commitBatch, type InsertRequestCommand, type Outcome, type SetScoreCommand, type StoreWriter, type WriteCommand } from './write-commands.js';

/** What a backend folder supplies; everything else is shared SQL through Kysely. */
export interface BackendTraits {
  backend: Backend;
  migrationDialect: MigrationDialect;
  /** How requests are read where the backends differ (page ends, COPY). */
  reads: RequestReadTraits;
  /** Whether a read runs off this thread (see StoreCapabilities.readAhead). */
  readAhead: boolean;
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
  /** How key changes by other processes are noticed; absent, found keys are not cached. */
  keyChanges?: KeyChangeSignal;
  /** Server settings that will make the queries slow (see Store.maintenanceWarnings). */
  maintenanceWarnings?(): Promise<string[]>;
  close(): Promise<void>;
  /** How another thread opens a read connection of its own to the same data. */
  readSource?: ReadSource;
}

/** The Store over Kysely: one implementation of each aggregate, given the backend's few differences. */
export class SqlStore implements Store {
  readonly backend: Backend;
  readonly capabilities: StoreCapabilities;
  readonly requests: SqlRequests;
  readonly scores: SqlScores;
  readonly keys: SqlKeys;
  readonly workspaces: SqlWorkspaces;
  readonly accounts: SqlAccounts;
  readonly readSource: ReadSource | null;

  constructor(
    readonly db: Kysely<Database>,
    private readonly traits: BackendTraits,
  ) {
    this.backend = traits.backend;
    this.capabilities = { copyCsv: traits.reads.copyCsv !== undefined, readAhead: traits.readAhead };
    this.requests = new SqlRequests(db, traits.reads);
    this.scores = new SqlScores(db);
    this.keys = new SqlKeys(db, traits.keyChanges ?? null);
    this.workspaces = new SqlWorkspaces(db);
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
}
