import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { SqlStore } from '../src/store/sql-store.js';
import { EXPORT_READER_CACHE_KIB, openSqliteReader, openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const cacheSize = async (store: SqlStore) => (await sql<{ cache_size: number }>`pragma cache_size`.execute(store.db)).rows[0]?.cache_size;

/**
 * An export thread's connection reads every page of a large export once; a big page cache there
 * only keeps pages resident (better-sqlite3's default is 16 MB per connection).
 */
describe("an export thread's SQLite reader", () => {
  it('keeps a page cache of EXPORT_READER_CACHE_KIB, smaller than the main connection keeps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-reader-'));
    const store = openSqliteStore({ file: join(dir, 'tally.db') });
    await store.migrate();
    const reader = openSqliteReader(join(dir, 'tally.db'), 15_000);
    try {
      const main = await cacheSize(store);
      assert.equal(await cacheSize(reader), -EXPORT_READER_CACHE_KIB);
      assert.ok(main !== undefined && -main > EXPORT_READER_CACHE_KIB, `main connection's cache_size ${main}`);
      // It still reads what the store wrote.
      const ws = await store.workspaces.create('w');
      assert.equal((await reader.workspaces.find('w'))?.id, ws.id);
    } finally {
      await reader.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
