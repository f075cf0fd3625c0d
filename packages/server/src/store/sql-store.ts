import { Migrator, sql, type Kysely } from 'kysely';
import { SqlAccounts } from './accounts.js';
import { SqlAlerts } from './alerts.js';
import { SqlFeedback } from './feedback.js';
import { SqlKeys, type KeyChangeSignal } from './keys.js';
import type { MigrationDialect } from './migrations/dialect.js';
import { SqlPrices } from './pricing.js';
import { TallyMigrations } from './migrations/index.js';
import { SqlRequests, type RequestReadTraits } from './requests.js';
import type { Database } from './schema.js';
import { SqlReviewQueues } from './review-queues.js';
import { SqlScores } from './scores.js';
import { SqlScoreSchemas } from './score-schemas.js';
import type { Store, StoreCapabilities } from './store.js';
import type { Backend, ReadSource } from './types.js';
import { SqlWebhooks } from './webhooks.js';
import { SqlWorkspaces } from './workspaces.js';
import type { WorkspaceReads } from './workspace-reads.js';
import { groupCommit, type BatchWriter } from './group-commit.js';
import { TransactionWriter, type StoreWriter } from './transaction-writer.js';
import type { Outcome, WriteCommand } from './write-commands.js';
import type { StatementName } from './write-statements.js';

/** What a backend folder supplies; everything else is shared SQL through Kysely. */
export interface BackendTraits {
  backend: Backend;
  migrationDialect: MigrationDialect;
  /** How requests are read where the backends differ (page ends, COPY). */
  reads: RequestReadTraits;
  /** The collation that orders text by code point (see score-stats.ts StatsSource); null: the default does. */
  codePointCollation: string | null;
  /** Whether a read runs off this thread (see StoreCapabilities.readAhead). */
  readAhead: boolean;
  /**
   * Runs `fn` in one write transaction that no other write transaction overlaps, whatever process
   * runs it (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock taken first). So a score's old
   * value cannot change between reading and replacing it, and history ids are handed out in commit
   * order: a feed reader never sees event N+1 before event N.
   */
  writeTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * A transaction for writes that report no change and need no place in the write order (the
   * webhook worker's cursors, claims and attempts), so they never wait behind the write path's
   * lock on PostgreSQL; SQLite: its write transaction, as the file has one writer at a time.
   */
  workerTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Whether `for update skip locked` works (PostgreSQL): instances claim rows without waiting on each other. */
  rowLocks: boolean;
  /** Runs migrations, holding whatever lock keeps concurrent starts apart. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  /** The write statements' text with the dialect's placeholders (write-statements.ts). */
  writeStatements: Readonly<Record<StatementName, string>>;
  /** The backend's side of the write seam: how it commits a batch in one transaction. */
  batchWriter: BatchWriter;
  /** Readies whatever `batchWriter` runs on, so the first batch does not wait for it. */
  startWriter?(): Promise<void>;
  /** How key changes by other processes are noticed; absent, found keys are not cached. */
  keyChanges?: KeyChangeSignal;
  /** Server settings that will make the queries slow (see Store.maintenanceWarnings). */
  maintenanceWarnings?(): Promise<string[]>;
  close(): Promise<void>;
  /** The readiness check, when the backend has one better than `select 1`. */
  ping?: () => Promise<void>;
  /** How another thread opens a read connection of its own to the same data. */
  readSource?: ReadSource;
  /**
   * Where the reads of requests and scores run, with a deadline that stops each statement
   * (SQLite: reader threads; PostgreSQL: a pool with statement_timeout); absent, on `db`.
   */
  readDb?: Kysely<Database>;
  /** The places `readDb`'s statements take per workspace; absent, reads take none. */
  workspaceReads?: WorkspaceReads;
}

/** The Store over Kysely: one implementation of each aggregate, given the backend's few differences. */
export class SqlStore implements Store {
  readonly backend: Backend;
  readonly capabilities: StoreCapabilities;
  readonly requests: SqlRequests;
  readonly scores: SqlScores;
  readonly scoreSchemas: SqlScoreSchemas;
  readonly reviewQueues: SqlReviewQueues;
  readonly keys: SqlKeys;
  readonly workspaces: SqlWorkspaces;
  readonly prices: SqlPrices;
  readonly accounts: SqlAccounts;
  readonly webhooks: SqlWebhooks;
  readonly alerts: SqlAlerts;
  readonly feedback: SqlFeedback;
  readonly readSource: ReadSource | null;
  readonly workspaceReads: WorkspaceReads | null;

  constructor(
    readonly db: Kysely<Database>,
    private readonly traits: BackendTraits,
  ) {
    this.backend = traits.backend;
    this.capabilities = { copyCsv: traits.reads.copyCsv !== undefined, readAhead: traits.readAhead };
    const reads = traits.readDb ?? db;
    this.requests = new SqlRequests(db, reads, traits.reads);
    this.scores = new SqlScores(db, reads, traits.codePointCollation);
    this.scoreSchemas = new SqlScoreSchemas(db);
    this.reviewQueues = new SqlReviewQueues(db, reads);
    this.keys = new SqlKeys(db, traits.keyChanges ?? null);
    this.workspaces = new SqlWorkspaces(db);
    this.prices = new SqlPrices(db, reads);
    this.accounts = new SqlAccounts(db, (fn) => traits.workerTransaction(fn), traits.rowLocks);
    this.webhooks = new SqlWebhooks(db, (fn) => traits.workerTransaction(fn), traits.rowLocks);
    this.alerts = new SqlAlerts(db, reads, (fn) => traits.writeTransaction(fn));
    this.feedback = new SqlFeedback(db);
    this.readSource = traits.readSource ?? null;
    this.workspaceReads = traits.workspaceReads ?? null;
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
    return this.traits.writeTransaction((trx) => fn(new TransactionWriter(trx, this.traits.writeStatements)));
  }

  async startWriter(): Promise<void> {
    await this.traits.startWriter?.();
  }

  async maintenanceWarnings(): Promise<string[]> {
    return (await this.traits.maintenanceWarnings?.()) ?? [];
  }

  writeBatch(batch: readonly WriteCommand[]): Promise<Outcome[]> {
    return groupCommit(this.traits.batchWriter, batch);
  }
}
