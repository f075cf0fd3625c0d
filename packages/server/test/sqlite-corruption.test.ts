import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { BACKENDS } from './helpers/backends.js';
import { BASE, bulkInsert, chat } from './helpers/search-fixtures.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/** Overwrites bytes of the file at `offset` with a pattern no SQLite page holds. */
function scribble(file: string, offset: number, length: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

function expect503(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown; body: string }, what: string): void {
  assert.equal(res.statusCode, 503, `${what}: ${res.statusCode} ${res.body}`);
  assert.ok(Number(res.headers['retry-after']) > 0, `${what}: Retry-After`);
  const body = res.json() as { success: boolean; code: string; message: string };
  assert.equal(body.success, false);
  assert.equal(body.code, 'unavailable');
  assert.match(body.message, /^database: .*(corrupt|not a SQLite database)/, what);
}

if (BACKENDS.includes('sqlite')) {
  describe('a SQLite file damaged while the server runs [sqlite]', () => {
    let t: TestApp | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    /** A store with enough rows to span many pages, all checkpointed into the main file. */
    async function damagedLater(): Promise<{ t: TestApp; file: string; ids: number[] }> {
      t = await createTestApp('sqlite', process.env.DEBUG_T ? { logger: { level: 'error' } } : {});
      const ids = await bulkInsert(t, 400, 'many', BASE, (i) => ({ input: chat(`row ${i} `.repeat(200)) }));
      const file = join(t.location.dataDir, 'tally.db');
      const side = new SQLite(file);
      side.pragma('wal_checkpoint(TRUNCATE)');
      side.close();
      assert.equal((await t.get('/readyz')).statusCode, 200, 'ready before the damage');
      return { t, file, ids };
    }

    it("answers reads that meet damaged pages with 503, not 500, and /readyz says not ready from then on", async () => {
      const { t, file, ids } = await damagedLater();
      const pageSize = 4096;
      // Every page but the first (the header and schema): the table and index pages of the rows.
      scribble(file, pageSize, statSync(file).size - pageSize);
      // Another connection's write makes this one drop its page cache, as a running server's writes do.
      await t.post('/log-request', { provider: 'p', model: 'm', input: chat('x'), output: chat('y'), request_start_time: 1, request_end_time: 2 });
      const reads = [() => t.get(`/v1/requests/${ids[7]}`), () => t.get('/v1/requests/search?tag=many&limit=50'), () => t.get('/v1/requests/export?format=csv&tag=many')];
      for (const read of reads) {
        const res = await read();
        assert.notEqual(res.statusCode, 500, res.body);
        if (res.statusCode !== 200) expect503(res, 'a read');
      }
      const readyz = await t.get('/readyz');
      assert.equal(readyz.statusCode, 503, readyz.body);
      assert.match(readyz.json<{ message: string }>().message, /corrupt|not a SQLite database/);
      // It stays so: damage does not pass by itself.
      assert.equal((await t.get('/readyz')).statusCode, 503);
    });

    it('says not ready when the header is damaged, before any read meets it', async () => {
      const { t, file } = await damagedLater();
      scribble(file, 0, 100);
      // The readiness check runs at most every few seconds; the first probe after the damage may be answered from before it.
      let status = 0;
      for (const deadline = Date.now() + 12_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
        const res = await t.get('/readyz');
        status = res.statusCode;
        if (status === 503) {
          assert.match(res.json<{ message: string }>().message, /corrupt|not a SQLite database/);
          break;
        }
      }
      assert.equal(status, 503);
    });
  });
}
