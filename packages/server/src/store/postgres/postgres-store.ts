import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.js';
import { withOutageErrors } from '../database-errors.js';
import { SqlStore } from '../sql-store.js';
import { cancellableReads } from './cancel-reads.js';
import { CsvCopier } from './copy-csv.js';
import { KEY_CHANGE_CHANNEL, KeyChangeListener } from './key-change-listener.js';
import { renderStatements } from '../write-statements.js';
import { PostgresBatchWriter } from './postgres-batch-writer.js';
import { preparingPool } from './prepared-statements.js';
import { WRITE_ORDER_LOCK_KEY } from './write-order.js';
import { DEFAULT_READ_TIMEOUT_MS } from '../read-scope.js';
import { DEFAULT_WORKSPACE_READ_LIMITS, withWorkspacePlaces, WorkspaceReads, type WorkspaceReadLimits } from '../workspace-reads.js';

/**
 * Without planner statistics PostgreSQL plans for a small table and cannot answer from an index
 * alone, so searches on a large store read far more than they need (`npm run bench:queries`
 * compares a store before and after VACUUM ANALYZE).
 */
const WITHOUT_AUTOVACUUM =
  'the planner then has no statistics, and searches can take hundreds of times longer on a large store. Turn autovacuum on, or run VACUUM ANALYZE after large imports and regularly.';

// Any fixed number shared by every Tally instance: the advisory lock that serializes migrations.
const MIGRATION_LOCK_KEY = 7_316_051;

// PostgreSQL numbers its parameters.
const PG_WRITE_SQL = renderStatements((n) => `$${n}`);

const INT8_OID = 20;
// Ids, counts and epoch-millisecond times are int8; all stay below 2^53, so numbers are exact.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PostgresOptions {
  connectionString: string;
  /** Pool size; default 10. */
  maxConnections?: number;
  /** How long to wait for a new connection before answering 503; default 3000 ms. */
  connectTimeoutMs?: number;
  /** How long one query may run before it fails (and the request answers 503); default 30000 ms. */
  queryTimeoutMs?: number;
  /**
   * How long one read statement of requests and scores may run before PostgreSQL cancels it (its
   * `statement_timeout`) and the request answers 503; default 15000 ms.
   */
  readTimeoutMs?: number;
  /**
   * A store that only reads (an export thread's): its other pool's statements get the read
   * deadline too, so no query of a stuck export holds a connection past it.
   */
  readOnly?: boolean;
  /**
   * Parallel workers one read statement may use (`max_parallel_workers_per_gather` of the read
   * sessions); default 0.
   */
  readParallelWorkers?: number;
  /** How many read statements of one workspace run at once and wait (workspace-reads.ts). */
  workspaceReads?: WorkspaceReadLimits;
}

/** Read sessions' parallel workers unless configured otherwise (see readSessionOptions). */
export const DEFAULT_READ_PARALLEL_WORKERS = 0;

/**
 * A read steered by a client's filter may scan until its deadline; with parallel workers, one such
 * read keeps several processes busy (on two cores, both of them and more), and every other
 * workspace's writes and the server's own event loop wait for the CPU. Without, one read takes one
 * core at most, and reads of a workspace take turns (workspace-reads.ts).
 */
const readSessionOptions = (parallelWorkers: number) => `-c max_parallel_workers_per_gather=${parallelWorkers}`;

/**
 * A pool of connections to the store. Both timeouts keep a request from hanging while PostgreSQL
 * is down or unreachable: it fails fast with 503 and Retry-After, and the pool connects again once
 * the server is back.
 */
function openPool(opts: PostgresOptions, extra: Pick<pg.PoolConfig, 'statement_timeout' | 'options'> = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.maxConnections ?? 10,
    types,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
    query_timeout: opts.queryTimeoutMs ?? 30_000,
    ...extra,
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // Nor may a checked-out client whose server goes away between queries (PostgreSQL stopped): its
  // next query fails and the request answers 503 (database-errors.ts); the pool then discards it.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** The scale-out backend: stateless Tally instances over one PostgreSQL. */
export function openPostgresStore(opts: PostgresOptions): SqlStore {
  const readTimeoutMs = opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  const readParallelWorkers = opts.readParallelWorkers ?? DEFAULT_READ_PARALLEL_WORKERS;
  const readSession = { statement_timeout: readTimeoutMs, options: readSessionOptions(readParallelWorkers) };
  const pool = openPool(opts, opts.readOnly ? readSession : {});
  const db = new Kysely<Database>({ dialect: withOutageErrors(new PostgresDialect({ pool: preparingPool(pool) })) });
  // Reads steered by clients' filters get a pool of their own whose sessions carry
  // statement_timeout: the server itself stops a read at its deadline (the client-side
  // query_timeout only stops waiting), and writes and migrations keep no such limit.
  const readPool = openPool(opts, readSession);
  // One workspace's reads take turns among themselves, not every connection of the pool; a read
  // whose client has gone is cancelled through the other pool (cancel-reads.ts).
  const workspaceReads = new WorkspaceReads(opts.workspaceReads ?? DEFAULT_WORKSPACE_READ_LIMITS, readTimeoutMs);
  const readDb = new Kysely<Database>({ dialect: withWorkspacePlaces(withOutageErrors(new PostgresDialect({ pool: cancellableReads(readPool, pool) })), workspaceReads) });
  const keyChanges = new KeyChangeListener(opts.connectionString);
  const copier = new CsvCopier(opts.connectionString, readTimeoutMs, readSession.options);
  // Group commit makes each instance's writes one transaction at a time; this lock lines up the
  // transactions of every instance (and of the CLI) so that they commit in the order they began.
  // BEGIN and the lock go in one round trip: a query without parameters is sent as a simple
  // query, which may hold several statements. (Kysely's transaction() sends BEGIN alone.) The
  // batch writer's transactions plan prepared statements once (prepared-statements.ts).
  const begin = `begin; select pg_advisory_xact_lock(${WRITE_ORDER_LOCK_KEY})`;
  const beginGeneric = `begin; set local plan_cache_mode = force_generic_plan; select pg_advisory_xact_lock(${WRITE_ORDER_LOCK_KEY})`;
  const writeTransaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>, genericPlans = false): Promise<T> =>
    db.connection().execute(async (conn) => {
      await sql.raw(genericPlans ? beginGeneric : begin).execute(conn);
      let result: T;
      try {
        result = await fn(conn);
      } catch (err) {
        await sql.raw('rollback').execute(conn).catch(() => {});
        throw err;
      }
      await sql.raw('commit').execute(conn);
      return result;
    });
  return new SqlStore(db, {
    backend: 'postgres',
    migrationDialect: {
      backend: 'postgres',
      idType: 'bigint',
      identity: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
    },
    writeTransaction,
    workerTransaction: (fn) => db.transaction().execute(fn),
    rowLocks: true,
    writeStatements: PG_WRITE_SQL,
    batchWriter: new PostgresBatchWriter({ writeTransaction, onConnection: (fn) => db.connection().execute(fn), statements: PG_WRITE_SQL }),
    // Kysely's own migration lock assumes its lock table exists; two instances creating it at once
    // can collide, so a session-level advisory lock serializes the whole migration instead.
    withMigrationLock: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          return await fn();
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      } finally {
        client.release();
      }
    },
    readSource: { backend: 'postgres', connectionString: opts.connectionString, readTimeoutMs, readParallelWorkers },
    reads: { pageEndsInOneQuery: true, copyCsv: (query) => copier.copy(query) },
    readAhead: true,
    readDb,
    workspaceReads,
    codePointCollation: 'C',
    maintenanceWarnings: async () => {
      const warnings: string[] = [];
      const { rows: settings } = await sql<{ on: boolean }>`
        select current_setting('autovacuum') = 'on' and current_setting('track_counts') = 'on' as on`.execute(db);
      if (!settings[0]?.on) warnings.push(`PostgreSQL runs with autovacuum (or track_counts) off: ${WITHOUT_AUTOVACUUM}`);
      // A table can be left out on its own (ALTER TABLE ... SET (autovacuum_enabled = false)).
      const { rows: tables } = await sql<{ name: string }>`
        select c.relname as name from pg_class c
          join pg_namespace n on n.oid = c.relnamespace
          cross join lateral pg_options_to_table(c.reloptions) o
          where n.nspname = current_schema() and c.relkind = 'r' and o.option_name = 'autovacuum_enabled'
            and lower(o.option_value) in ('false', 'off', 'no', '0', 'f', 'n')
          order by c.relname`.execute(db);
      if (tables.length > 0) warnings.push(`autovacuum is disabled on table ${tables.map((t) => t.name).join(', ')}: ${WITHOUT_AUTOVACUUM}`);
      return warnings;
    },
    keyChanges: {
      token: () => keyChanges.token(),
      // Delivered to every listener when the revoking transaction commits.
      announce: async (trx) => {
        await sql`select pg_notify(${KEY_CHANGE_CHANNEL}, '')`.execute(trx);
      },
    },
    close: async () => {
      await keyChanges.close();
      await copier.close();
      await readDb.destroy();
      await db.destroy();
    },
  });
}
