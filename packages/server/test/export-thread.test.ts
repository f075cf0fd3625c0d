import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../src/config.js';
import { exportThreads, maxExportThreads, runningExportWorkers } from '../src/export/export-stream.js';
import type { ReadSource } from '../src/store/types.js';
import { BACKENDS, withPgClient } from './helpers/backends.js';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';
import { parseCsv } from './helpers/parse-csv.js';
import { BASE, bulkInsert, reply } from './helpers/search-fixtures.js';

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function waitForAsync(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A GET over real HTTP on a new connection, resolved with the response once its headers came; the
 * caller reads the body. Never a kept-alive socket: Linux grows a connection's receive buffer as
 * its reader keeps up (up to tcp_rmem's maximum, 32 MB here), so a socket that already carried a
 * whole export fast could take in all of the next one while its client pauses.
 */
function open(url: string, key: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'x-api-key': key }, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** The first chunk of a body, then the response is paused. */
function firstChunk(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    res.once('data', (chunk: Buffer) => {
      res.pause();
      resolve(chunk);
    });
    res.once('error', reject);
  });
}

async function rest(res: IncomingMessage, first: Buffer): Promise<string> {
  const chunks = [first];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Records in a CSV body whose cells hold no line breaks (parseCsv takes seconds on 24 MB). */
const lines = (csv: string) => csv.split('\r\n').length - 1;

const ROWS = 3000;
// About 8 KB a row: 24 MB, more than a new loopback connection's socket buffers and the stream's
// hold, so an export whose client stops reading is still running.
const BIG = 'x'.repeat(8000);

describe('--export-threads', () => {
  it('defaults to 1, comes from the flag or TALLY_EXPORT_THREADS, and refuses 0 naming the setting', () => {
    assert.equal(loadConfig({}, {}).exportThreads, 1);
    assert.equal(loadConfig({}, { TALLY_EXPORT_THREADS: '3' }).exportThreads, 3);
    assert.equal(loadConfig({ exportThreads: '2' }, { TALLY_EXPORT_THREADS: '3' }).exportThreads, 2);
    assert.throws(() => loadConfig({ exportThreads: '0' }, {}), (err: unknown) => err instanceof ConfigError && /export-threads/.test(err.message));
  });
});

for (const backend of BACKENDS) for (const parts of [1, 2]) {
  describe(`export threads [${backend}, --export-threads ${parts}]`, () => {
    // The threads one export runs on: on PostgreSQL a CSV export is one COPY, read on one thread.
    const each = backend === 'postgres' ? 1 : parts;
    let t: LiveApp;
    let url: string;
    before(async () => {
      t = await createLiveApp(backend, { exportThreads: parts, exportsPerKey: 0, exportsInAll: 0 });
      await bulkInsert(t, ROWS, 'big', BASE, () => ({ output: reply(BIG) }));
      url = `${t.baseURL}/v1/requests/export?format=csv&tag=big`;
    });
    after(() => t.close());

    it(`streams an export from ${each} thread(s) of its own, which end with the export`, async () => {
      assert.equal(exportThreads().running, 0);
      const res = await open(url, t.alpha.key);
      assert.equal(res.statusCode, 200);
      const first = await firstChunk(res);
      // 12 pages of rows: on SQLite the export is split among as many threads as it may use.
      assert.equal(exportThreads().running, each);
      const body = await rest(res, first);
      // Every record on a line of its own (no cell holds a line break): the CSV format itself is
      // export.test.ts's, and parsing 24 MB here would cost seconds for nothing more.
      const [header, ...records] = body.split('\r\n').slice(0, -1);
      assert.equal(records.length, ROWS);
      assert.ok(parseCsv(`${header}\r\n`)[0]!.includes('output'));
      assert.ok(records.every((r) => r.includes(BIG)));
      await waitFor('the thread to be free', () => exportThreads().running === 0);
      const { idle } = exportThreads();
      assert.ok(idle >= each);
      // The next export runs on waiting threads rather than new ones.
      const again = await open(url, t.alpha.key);
      const againFirst = await firstChunk(again);
      assert.deepEqual(exportThreads(), { running: each, idle: idle - each });
      assert.equal(await rest(again, againFirst), body);
      await waitFor('the thread to be free', () => exportThreads().running === 0);
      assert.deepEqual(exportThreads(), { running: 0, idle });
    });

    it('stops the export and frees its thread when the client goes away mid-export', async () => {
      const res = await open(url, t.alpha.key);
      try {
        await firstChunk(res);
        // The client stopped reading: the thread waits for it rather than finishing or buffering.
        await sleep(500);
        assert.equal(exportThreads().running, each);
      } finally {
        // Also when failing: an open export would hold the app's close until its connection timeout.
        res.destroy();
      }
      await waitFor('the thread to be free', () => exportThreads().running === 0);
      // The server goes on answering exports.
      const again = await open(url, t.alpha.key);
      assert.equal(again.statusCode, 200);
      assert.equal(lines(await rest(again, Buffer.alloc(0))), ROWS + 1);
    });

    it(`runs an export that finds none of the ${maxExportThreads(parts)} threads free on the event loop, with the same bytes`, async () => {
      const opened: { res: IncomingMessage; first: Buffer }[] = [];
      // Exports until every thread is taken, then one more.
      for (let i = 0; i <= Math.ceil(maxExportThreads(parts) / each); i++) {
        const res = await open(url, t.alpha.key);
        opened.push({ res, first: await firstChunk(res) });
      }
      assert.equal(exportThreads().running, maxExportThreads(parts));
      const bodies = await Promise.all(opened.map(({ res, first }) => rest(res, first)));
      assert.equal(lines(bodies[0]!), ROWS + 1);
      for (const b of bodies.slice(1)) assert.ok(b === bodies[0], 'every export has the same bytes');
      await waitFor('every thread to be free', () => exportThreads().running === 0);
    });

    it('leaves the response incomplete, never cut short as if whole, when a thread dies mid-export', async () => {
      const res = await open(url, t.alpha.key);
      await firstChunk(res);
      const workers = runningExportWorkers();
      assert.equal(workers.length, each);
      // The last thread taken: with 2, the one exporting the odd pages.
      await workers[each - 1]!.terminate();
      const complete = await new Promise<boolean>((resolve) => {
        res.on('close', () => resolve(res.complete));
        res.on('error', () => {});
        res.resume();
      });
      assert.equal(complete, false);
      await waitFor('every thread to be free', () => exportThreads().running === 0);
      const again = await open(url, t.alpha.key);
      assert.equal(lines(await rest(again, Buffer.alloc(0))), ROWS + 1);
    });

    it('answers 503 with Retry-After, before any row, when the thread cannot reach the database', async () => {
      const unreachable: ReadSource =
        backend === 'sqlite' ? { backend: 'sqlite', file: join(t.location.dataDir, 'missing.db'), readTimeoutMs: 15_000 } : { backend: 'postgres', connectionString: 'postgres://root@127.0.0.1:1/none', readTimeoutMs: 15_000 };
      const store = t.store as { readSource: ReadSource | null };
      const real = store.readSource;
      store.readSource = unreachable;
      try {
        const res = await open(url, t.alpha.key);
        const body = await rest(res, Buffer.alloc(0));
        assert.equal(res.statusCode, 503, body);
        assert.ok(res.headers['retry-after']);
        assert.equal((JSON.parse(body) as { success: boolean }).success, false);
      } finally {
        store.readSource = real;
      }
      await waitFor('the thread to be free', () => exportThreads().running === 0);
    });
  });
}

for (const backend of BACKENDS) {
  describe(`an export whose client stops reading [${backend}]`, () => {
    // A whole request within 1 s: a socket silent for 6 s (the connection timeout) is closed.
    const SILENT_MS = 1000 + 5000;
    let t: LiveApp;
    let url: string;
    before(async () => {
      t = await createLiveApp(backend, { requestTimeoutMs: 1000 });
      await bulkInsert(t, ROWS, 'big', BASE, () => ({ output: reply(BIG) }));
      url = `${t.baseURL}/v1/requests/export?format=csv&tag=big`;
    });
    after(() => t.close());

    /** Backends of the test's database running a COPY (the export's, on PostgreSQL). */
    const copies = () =>
      withPgClient(t.location.databaseUrl!, async (c) => {
        const { rows } = await c.query<{ n: string }>("select count(*) as n from pg_stat_activity where datname = current_database() and query ilike 'copy (%'");
        return Number(rows[0]!.n);
      });
    /** The server's open connections. */
    const connections = () => new Promise<number>((resolve, reject) => t.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

    for (const where of ['a thread', 'the event loop'] as const) {
      it(`is ended on ${where} once its socket has been silent for the connection timeout, freeing its thread and its database connection`, async () => {
        // No store to open elsewhere: the export runs on the event loop (as when no thread is free).
        const store = t.store as { readSource: ReadSource | null };
        const real = store.readSource;
        if (where === 'the event loop') store.readSource = null;
        try {
          const res = await open(url, t.alpha.key);
          res.on('error', () => {});
          const started = Date.now();
          try {
            await firstChunk(res);
            await sleep(500);
            // Paused, not finished: the export waits for the client, and on PostgreSQL so does the COPY.
            assert.equal(exportThreads().running, where === 'a thread' ? 1 : 0);
            if (backend === 'postgres') assert.equal(await copies(), 1);
            assert.equal(await connections(), 1);
            // The server closes its end (the client, not reading, has yet to see it).
            await waitForAsync('the server to close the connection', async () => (await connections()) === 0, 4 * SILENT_MS);
            await waitFor('the thread to be free', () => exportThreads().running === 0);
          } finally {
            res.destroy();
          }
          const waited = Date.now() - started;
          assert.ok(waited >= SILENT_MS - 1000, `ended after ${waited} ms, before the socket had been silent for ${SILENT_MS} ms`);
          if (backend === 'postgres') await waitForAsync('the COPY to end', async () => (await copies()) === 0, 5000);
        } finally {
          store.readSource = real;
        }
        // The server goes on answering exports.
        const again = await open(url, t.alpha.key);
        assert.equal(lines(await rest(again, Buffer.alloc(0))), ROWS + 1);
      });
    }
  });
}
