import type SQLite from 'better-sqlite3';
import { classifyDatabaseError } from '../database-errors.js';
import type { Step } from '../write-programs.js';
import { bindParameters, givesRow, renderStatements, type StatementName } from '../write-statements.js';

/** The write statements as better-sqlite3 takes them: `?` for every parameter, in order. */
export const SQLITE_WRITE_SQL = renderStatements(() => '?');

/**
 * Runs program steps (write-programs.ts) as plain synchronous calls of statements prepared once on
 * `conn`, for SQLite's writer thread: the batch's transaction is already open on the same
 * connection, and a trip through Kysely's driver and its promises costs more per statement than
 * SQLite takes to run it (`npm run bench:writer`). Outage errors become DatabaseUnavailableError
 * here, as Kysely's driver maps them for every other statement (database-errors.ts).
 */
export function hotStatements(conn: SQLite.Database): (step: Step) => unknown {
  // Prepared on first use: the writer thread opens its connection before the tables may exist.
  const prepared: Partial<Record<StatementName, { statement: SQLite.Statement; reader: boolean }>> = {};
  const prepare = (name: StatementName) => {
    const s = conn.prepare(SQLITE_WRITE_SQL[name]);
    // Each gives at most one value: read as a plain value, not a row object (a row statement: its row).
    return { statement: s.reader && !givesRow(name) ? s.pluck() : s, reader: s.reader };
  };
  return (step) => {
    try {
      if ('query' in step) {
        const q = conn.prepare(step.query.sql);
        const parameters = step.query.parameters as unknown[];
        if (q.reader) return q.all(parameters);
        q.run(parameters);
        return [];
      }
      const s = (prepared[step.statement] ??= prepare(step.statement));
      const parameters = bindParameters(step.statement, step.params);
      if (s.reader) return s.statement.get(parameters);
      s.statement.run(parameters);
      return undefined;
    } catch (err) {
      throw classifyDatabaseError(err) ?? err;
    }
  };
}
