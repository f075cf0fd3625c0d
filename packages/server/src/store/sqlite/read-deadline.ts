import type SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { DatabaseUnavailableError } from '../database-errors.js';
import { ReadCancelledError } from '../read-scope.js';

/**
 * better-sqlite3 cannot interrupt a statement, and a thread running one cannot be stopped from
 * outside. So every filtered query calls `tally_alive()` for each row it examines (search-filter.ts
 * puts it first in the WHERE clause), and the function throws once this thread's current read is
 * past its deadline: SQLite then abandons the statement, whatever it was doing with the rows.
 */
export const readDeadline = {
  at: Number.POSITIVE_INFINITY,
  ms: 0,
  /** A reader thread's job running now (0 for none), for a cancel of that job (registerAlive). */
  job: 0,
};

/** The error a read past its deadline ends with: 503 with Retry-After, in Tally's shape. */
export function readTimedOut(ms: number): DatabaseUnavailableError {
  return new DatabaseUnavailableError(`the read took longer than its limit of ${ms} ms (a narrower filter may help)`, 'READ_DEADLINE');
}

/**
 * Registers `tally_alive()` on a connection; it answers 1 while the thread's read has time left.
 * `cancelled` is a reader thread's word shared with the main thread (reader-pool.ts), which writes
 * into it the id of a job whose client has gone: the function then stops that job's statement as
 * it stops one past its deadline.
 */
export function registerAlive(conn: SQLite.Database, cancelled: Int32Array | null = null): void {
  // The clock is read for every row: one row's tests can take milliseconds (a long LIKE pattern
  // over long text), so checking every so many rows could overshoot the deadline by seconds.
  conn.function('tally_alive', { deterministic: false }, () => {
    if (Date.now() > readDeadline.at) throw readTimedOut(readDeadline.ms);
    if (cancelled !== null && readDeadline.job !== 0 && Atomics.load(cancelled, 0) === readDeadline.job) throw new ReadCancelledError();
    return 1;
  });
}

/**
 * `db` with every reading statement run under a deadline of `ms` from its start, for a connection
 * that has a thread to itself and runs one statement at a time (an export thread's): a read that
 * runs past it is stopped by `tally_alive()` as on a reader thread.
 */
export function withReadDeadline(db: SqliteDatabase, ms: number): SqliteDatabase {
  const during = <T>(run: () => T): T => {
    readDeadline.at = Date.now() + ms;
    readDeadline.ms = ms;
    try {
      return run();
    } finally {
      readDeadline.at = Number.POSITIVE_INFINITY;
    }
  };
  return {
    close: () => db.close(),
    prepare(text) {
      const stmt = db.prepare(text);
      if (!stmt.reader) return stmt;
      return {
        reader: true,
        all: (parameters) => during(() => stmt.all(parameters)),
        run: (parameters) => stmt.run(parameters),
        // Rows are taken one by one between other work; only all() is bounded (Kysely streams none here).
        iterate: (parameters) => stmt.iterate(parameters),
      };
    },
  };
}
