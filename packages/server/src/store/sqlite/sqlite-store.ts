import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from '../schema.js';
import { withStatementCache } from './statement-cache.js';
import { withOutageErrors } from '../database-errors.js';
import { holdInUseLock } from './sqlite-backup.js';
import { SqlStore } from '../sql-store.js';

export interface SqliteOptions {
  /** Path of the database file; its folder is created when missing. */
  file: string;
  /** `FULL` (the default) survives a power cut; `NORMAL` only a process crash. */
  synchronous?: 'FULL' | 'NORMAL';
}

const LOCK_WAIT_MS = 60_000;

/**
 * Serializes migrations across processes sharing one database file (a server and a CLI command
 * started together). An exclusive transaction on a side file is the lock: SQLite releases it when
 * its holder exits, even by a crash. Waiting polls instead of blocking, so the event loop runs on.
 */
async function withFileLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
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

/** The embedded backend: one better-sqlite3 connection in WAL mode. */
export function openSqliteStore(opts: SqliteOptions): SqlStore {
  mkdirSync(dirname(opts.file), { recursive: true });
  const conn = new SQLite(opts.file);
  // Lets `tally restore` see that the store is open (see sqlite-backup.ts).
  const releaseInUse = holdInUseLock(opts.file);
  conn.pragma('journal_mode = WAL');
  conn.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  conn.pragma('foreign_keys = ON');
  // The CLI may write while a server runs on the same file: wait for its lock instead of failing.
  conn.pragma('busy_timeout = 5000');

  const db = new Kysely<Database>({ dialect: withOutageErrors(new SqliteDialect({ database: withStatementCache(conn) })) });
  return new SqlStore(db, {
    backend: 'sqlite',
    migrationDialect: {
      idType: 'integer',
      identity: (c) => c.primaryKey().autoIncrement(),
    },
    // BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads before it writes
    // cannot fail half-way when another process (the CLI) writes to the same file.
    writeTransaction: (fn) =>
      db.connection().execute(async (c) => {
        await sql`begin immediate`.execute(c);
        try {
          const result = await fn(c);
          await sql`commit`.execute(c);
          return result;
        } catch (err) {
          if (conn.inTransaction) await sql`rollback`.execute(c);
          throw err;
        }
      }),
    withMigrationLock: (fn) => withFileLock(`${opts.file}-migrate-lock`, fn),
    close: async () => {
      await db.destroy();
      releaseInUse();
    },
  });
}
