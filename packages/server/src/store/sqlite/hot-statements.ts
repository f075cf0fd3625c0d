import type SQLite from 'better-sqlite3';
import { classifyDatabaseError } from '../database-errors.js';
import { HOT_SQL, type HotRunner, type HotStatement } from '../sql-writer.js';

/**
 * The hot statements (HOT_SQL) as plain synchronous calls of statements prepared once on `conn`,
 * for SqlWriter on SQLite's writer thread: the batch's transaction is already open on the same
 * connection, and a trip through Kysely's driver and its promises costs more per statement than
 * SQLite takes to run it (`npm run bench:writer`). Outage errors become DatabaseUnavailableError
 * here, as Kysely's driver maps them for every other statement (database-errors.ts).
 */
export function hotStatements(conn: SQLite.Database): HotRunner {
  // Prepared on first use: the writer thread opens its connection before the tables may exist.
  const prepared: Partial<Record<HotStatement, { statement: SQLite.Statement; reader: boolean }>> = {};
  const prepare = (statement: HotStatement) => {
    const s = conn.prepare(HOT_SQL[statement]);
    // Each gives at most one value (HotRunner): read as a plain value, not a row object.
    return { statement: s.reader ? s.pluck() : s, reader: s.reader };
  };
  return (statement, parameters) => {
    try {
      const s = (prepared[statement] ??= prepare(statement));
      if (s.reader) return s.statement.get(parameters);
      s.statement.run(parameters);
      return undefined;
    } catch (err) {
      throw classifyDatabaseError(err) ?? err;
    }
  };
}
