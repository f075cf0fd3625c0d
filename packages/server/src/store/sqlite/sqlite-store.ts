import SQLite from 'better-sqlite3';
import { classifyDatabaseError } from '../database-errors.js';
import { SqlStore, type BackendTraits } from '../sql-store.js';
import { immediateTransaction, kyselyOver, openConnection, type Synchronous } from './connection.js';
import { SQLITE_WRITE_SQL } from './hot-statements.js';
import { createPrivateFile } from './private-files.js';
import { SqliteReadiness } from './readiness.js';
import { holdInUseLock } from './sqlite-backup.js';
import { ReaderPool, readerDialect } from './reader-pool.js';
import { withOutageErrors } from '../database-errors.js';
import { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { DEFAULT_READ_TIMEOUT_MS } from '../read-scope.js';
import { DEFAULT_WORKSPACE_READ_LIMITS, withWorkspacePlaces, WorkspaceReads, type WorkspaceReadLimits } from '../workspace-reads.js';
import { WriterConnection } from './writer-client.js';

export interface SqliteOptions {
  /** Path of the database file; its folder is created when missing. */
  file: string;
  /** `FULL` (the default) survives a power cut; `NORMAL` only a process crash. */
  synchronous?: Synchronous;
  /** Threads that run filtered reads off the event loop; default 2 (reader-pool.ts). */
  readerThreads?: number;
  /** How long one read statement may take before it is stopped and answered 503; default 15000 ms. */
  readTimeoutMs?: number;
  /** How many read statements of one workspace run at once and wait (workspace-reads.ts). */
  workspaceReads?: WorkspaceReadLimits;
}

const LOCK_WAIT_MS = 60_000;

// Each query runs on this thread and costs no round trip: page ends are found one cheap query a page.
const SQLITE_READS = { pageEndsInOneQuery: false };

const MIGRATION_DIALECT: BackendTraits['migrationDialect'] = {
  backend: 'sqlite',
  idType: 'integer',
  identity: (c) => c.primaryKey().autoIncrement(),
};

/**
 * Serializes migrations across processes sharing one database file (a server and a CLI command
 * started together). An exclusive transaction on a side file is the lock: SQLite releases it when
 * its holder exits, even by a crash. Waiting polls instead of blocking, so the event loop runs on.
 */
async function withFileLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  createPrivateFile(lockFile);
  const lock = new SQLite(lockFile, { timeout: 0 });
  try {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        lock.exec('BEGIN EXCLUSIVE');
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    try {
      return await fn();
    } finally {
      lock.exec('COMMIT');
    }
  } finally {
    lock.close();
  }
}

/** How long a key revoked by another process (the CLI, another server on the file) may still be accepted. */
export const KEY_CHANGE_CHECK_MS = 100;

/**
 * The embedded backend: a better-sqlite3 connection in WAL mode for reads and the occasional
 * write, and a connection on the process's writer thread (writer-thread.ts) for the write queue's
 * batches, so their fsync never blocks the event loop. WAL lets the reader and the writer work at once.
 */
export function openSqliteStore(opts: SqliteOptions): SqlStore {
  const synchronous = opts.synchronous ?? 'FULL';
  const conn = openConnection(opts.file, synchronous);
  // Lets `tally restore` see that the store is open (see sqlite-backup.ts).
  const releaseInUse = holdInUseLock(opts.file);
  const writer = new WriterConnection(opts.file, synchronous);
  const readiness = new SqliteReadiness(opts.file);
  const db = kyselyOver(conn, readiness.noteOutage);
  const readers = new ReaderPool({ file: opts.file, threads: opts.readerThreads, timeoutMs: opts.readTimeoutMs });
  // One workspace's reads take turns among themselves (its exports included), and on the reader
  // threads none holds all of them (reader-pool.ts).
  const workspaceReads = new WorkspaceReads(opts.workspaceReads ?? DEFAULT_WORKSPACE_READ_LIMITS, readers.timeoutMs);
  const readDb = new Kysely<Database>({ dialect: withWorkspacePlaces(withOutageErrors(readerDialect(readers), readiness.noteOutage), workspaceReads) });
  // The key-change token: how many keys have been revoked (keys are never deleted or restored, so
  // it only grows). It is counted again only when data_version says another connection (the
  // writer thread, another process) committed something, and data_version itself is read at most
  // once every KEY_CHANGE_CHECK_MS: under load the writer thread commits every few milliseconds,
  // and a PRAGMA and a count on every call cost more than the rest of the key check. A key revoked
  // by another process is so refused within that time; one revoked through this store at once
  // (SqlKeys.revoke forgets its keys).
  const dataVersion = conn.prepare('PRAGMA data_version').pluck();
  let revokedKeys: SQLite.Statement | null = null; // prepared on first use: the table exists once migrated
  let seenVersion: unknown = null;
  let revokedCount = 0;
  let checkedAt = -Infinity;
  const keyChangeToken = () => {
    const now = performance.now();
    if (now - checkedAt < KEY_CHANGE_CHECK_MS) return revokedCount;
    const version = dataVersion.get();
    if (version !== seenVersion) {
      // Run on the connection itself, not through Kysely: outages (a damaged file) are mapped here.
      try {
        revokedKeys ??= conn.prepare('select count(*) from api_keys where revoked_at is not null').pluck();
        revokedCount = revokedKeys.get() as number;
      } catch (err) {
        const outage = classifyDatabaseError(err);
        if (outage) readiness.noteOutage(outage);
        throw outage ?? err;
      }
      seenVersion = version;
    }
    checkedAt = now;
    return revokedCount;
  };
  return new SqlStore(db, {
    backend: 'sqlite',
    migrationDialect: MIGRATION_DIALECT,
    readSource: { backend: 'sqlite', file: opts.file, readTimeoutMs: opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS },
    reads: SQLITE_READS,
    readAhead: false,
    readDb,
    workspaceReads,
    codePointCollation: null,
    writeTransaction: (fn) => immediateTransaction(db, conn, fn),
    workerTransaction: (fn) => immediateTransaction(db, conn, fn),
    rowLocks: false,
    withMigrationLock: (fn) => withFileLock(`${opts.file}-migrate-lock`, fn),
    writeStatements: SQLITE_WRITE_SQL,
    batchWriter: writer,
    startWriter: () => writer.start(),
    keyChanges: { token: keyChangeToken },
    ping: () => readiness.ping(),
    close: async () => {
      await writer.close();
      await readDb.destroy();
      await db.destroy();
      releaseInUse();
    },
  });
}

const readOnly = (): never => {
  throw new Error('this store was opened read-only');
};

/**
 * The page cache of an export thread's connection, in KiB. An export reads each page once, in
 * order, so a cache only holds pages that are not read again: better-sqlite3's larger default
 * fills up during every large export and stays resident in each export thread, for no speed.
 */
export const EXPORT_READER_CACHE_KIB = 2048;

/**
 * A read-only store on the file of a store opened elsewhere in the process (an export thread's):
 * no writer thread, no migrations, no in-use lock. Each query sees the newest commit, as the
 * main connection's do.
 */
export function openSqliteReader(file: string, readTimeoutMs: number): SqlStore {
  const conn = new SQLite(file, { readonly: true, fileMustExist: true });
  conn.pragma('busy_timeout = 5000');
  conn.pragma(`cache_size = -${EXPORT_READER_CACHE_KIB}`);
  const db = kyselyOver(conn, undefined, readTimeoutMs);
  return new SqlStore(db, {
    backend: 'sqlite',
    migrationDialect: MIGRATION_DIALECT,
    reads: SQLITE_READS,
    readAhead: false,
    codePointCollation: null,
    writeTransaction: readOnly,
    workerTransaction: readOnly,
    rowLocks: false,
    withMigrationLock: readOnly,
    writeStatements: SQLITE_WRITE_SQL,
    batchWriter: { commit: readOnly },
    close: () => db.destroy(),
  });
}
