import type { Database as SqliteConnection, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * Kysely prepares every query anew; on the hot path (auth lookup, score writes) preparing costs as
 * much as running. This hands Kysely the connection with a bounded cache of prepared statements.
 * Reuse is safe because Kysely runs one query at a time on its single SQLite connection.
 */
export function withStatementCache(conn: SqliteConnection, capacity = 256): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => conn.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Refresh its place: the map's order is the eviction order.
        cache.delete(sql);
      } else {
        stmt = conn.prepare(sql);
        if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  } as SqliteDatabase;
}
