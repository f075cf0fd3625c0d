import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Kysely prepares every query anew; on the hot path (auth lookup, score writes) preparing costs as
 * much as running. This hands Kysely the connection with a bounded cache of prepared statements.
 * Reuse is safe because Kysely runs one query at a time on its single SQLite connection.
 */
export function withStatementCache(conn: SqliteConnection, capacity = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => conn.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Refresh its place: the map's order is the eviction order.
        cache.delete(sql);
      } else {
        stmt = rowsAsObjects(conn.prepare(sql));
        if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

/**
 * A reading statement whose rows come out of better-sqlite3 as arrays and become objects in
 * JavaScript, through a constructor made once per statement from its column names. Creating each
 * row object property by property from C++, as better-sqlite3 does, costs about twice as much on wide
 * rows such as a page of requests. The object is the
 * one better-sqlite3 would make: same keys in the same order, a repeated name keeps its last value.
 */
function rowsAsObjects(stmt: Statement): SqliteStatement {
  if (!stmt.reader) return stmt as unknown as SqliteStatement;
  stmt.raw(true);
  const toRow = rowConstructor(stmt.columns().map((c) => c.name));
  return {
    reader: true,
    all: (parameters) => (stmt.all(parameters) as unknown[][]).map(toRow),
    run: (parameters) => stmt.run(parameters),
    *iterate(parameters) {
      for (const row of stmt.iterate(parameters) as IterableIterator<unknown[]>) yield toRow(row);
    },
  };
}

/**
 * `(row) => ({ "name": row[0], ... })`: an object literal, so every row shares one shape. The names
 * are written as JSON string literals, which any column name is safe in.
 */
export function rowConstructor(names: string[]): (row: unknown[]) => Record<string, unknown> {
  return new Function('row', `return { ${names.map((n, i) => `${JSON.stringify(n)}: row[${i}]`).join(', ')} };`) as (row: unknown[]) => Record<string, unknown>;
}
