import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { withOutageErrors, type OutageListener } from '../database-errors.js';
import type { Database } from '../schema.js';
import { createPrivateFile, privateSideFiles } from './private-files.js';
import { registerAlive, withReadDeadline } from './read-deadline.js';
import { withStatementCache } from './statement-cache.js';

export type Synchronous = 'FULL' | 'NORMAL';

/** A connection as Tally uses every one: WAL, the chosen fsync policy, foreign keys, a lock wait. */
export function openConnection(file: string, synchronous: Synchronous): SQLite.Database {
  createPrivateFile(file);
  const conn = new SQLite(file);
  try {
    conn.pragma('journal_mode = WAL');
    privateSideFiles(file);
    conn.pragma(`synchronous = ${synchronous}`);
    conn.pragma('foreign_keys = ON');
    // The CLI may write while a server runs on the same file: wait for its lock instead of failing.
    conn.pragma('busy_timeout = 5000');
  } catch (err) {
    conn.close();
    throw err;
  }
  return conn;
}

/** Kysely over the connection, with prepared statements reused and outages mapped to 503. */
export function kyselyOver(conn: SQLite.Database, onOutage?: OutageListener, readTimeoutMs?: number): Kysely<Database> {
  // Filtered queries call it on every connection; it can stop them only on a thread of their own
  // (a reader thread, or an export thread given `readTimeoutMs`).
  registerAlive(conn);
  const database = readTimeoutMs === undefined ? withStatementCache(conn) : withReadDeadline(withStatementCache(conn), readTimeoutMs);
  return new Kysely<Database>({ dialect: withOutageErrors(new SqliteDialect({ database }), onOutage) });
}

/**
 * A write transaction. BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads
 * before it writes cannot fail half-way when another connection (the CLI, the writer thread)
 * writes to the same file.
 */
export function immediateTransaction<T>(db: Kysely<Database>, conn: SQLite.Database, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (c) => {
    await sql`begin immediate`.execute(c);
    try {
      const result = await fn(c);
      await sql`commit`.execute(c);
      return result;
    } catch (err) {
      if (conn.inTransaction) await sql`rollback`.execute(c);
      throw err;
    }
  });
}
