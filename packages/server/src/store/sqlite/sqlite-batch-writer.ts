import type SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { classifyDatabaseError } from '../database-errors.js';
import { refusal, type BatchWriter } from '../group-commit.js';
import type { Database } from '../schema.js';
import type { Outcome, WriteCommand } from '../write-commands.js';
import { programOf, runNow, type Step } from '../write-programs.js';
import { hotStatements } from './hot-statements.js';

/**
 * SQLite's side of the write seam, on the writer thread: the whole batch runs synchronously in one
 * BEGIN IMMEDIATE transaction on this thread's connection, each statement a plain call of one
 * prepared once. Nothing in it awaits, so a batch costs no turns of the event loop; the promise
 * is only the seam's shape.
 */
export class SqliteBatchWriter implements BatchWriter {
  private readonly exec: (step: Step) => unknown;
  private readonly inTransaction: (batch: readonly WriteCommand[]) => Outcome[];

  /** `compiler` only compiles the few queries a program builds per call (never runs them). */
  constructor(conn: SQLite.Database, compiler: Kysely<Database>) {
    this.exec = hotStatements(conn);
    const ctx = { compiler };
    const runBatch = (batch: readonly WriteCommand[]): Outcome[] =>
      batch.map((c): Outcome => {
        try {
          return { ok: true, value: runNow(programOf(c, ctx), this.exec) };
        } catch (error) {
          return refusal(error);
        }
      });
    // IMMEDIATE takes the write lock up front, so a transaction that reads before it writes cannot
    // fail half-way when another connection (the CLI, the main thread) writes to the same file.
    // BEGIN and COMMIT are statements of their own, not better-sqlite3's transaction(), so the
    // COMMIT is a statement that can be watched (the durability test holds it).
    const begin = conn.prepare('BEGIN IMMEDIATE');
    const commit = conn.prepare('COMMIT');
    const rollback = conn.prepare('ROLLBACK');
    this.inTransaction = (batch) => {
      begin.run();
      try {
        const outcomes = runBatch(batch);
        commit.run();
        return outcomes;
      } catch (err) {
        if (conn.inTransaction) rollback.run();
        throw err;
      }
    };
  }

  async commit(batch: readonly WriteCommand[]): Promise<Outcome[]> {
    try {
      return this.inTransaction(batch);
    } catch (err) {
      // BEGIN and COMMIT are not prepared statements of hotStatements: map their outages too.
      throw classifyDatabaseError(err) ?? err;
    }
  }
}
