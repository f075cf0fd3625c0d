import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS, PG_ADMIN_URL, withPgClient } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A database that disappears under a running server (renamed, dropped and restored) is an outage
// like a stopped server: 503 with Retry-After in Tally's shape, never 500, and back when it returns.
if (BACKENDS.includes('postgres')) {
  describe('a database renamed away while the server runs [postgres]', () => {
    let t: TestApp;
    let name: string;
    before(async () => {
      t = await createTestApp('postgres');
      name = new URL(t.location.databaseUrl!).pathname.slice(1);
    });
    after(() => t.close());

    const rename = (from: string, to: string) =>
      withPgClient(PG_ADMIN_URL, async (c) => {
        // PostgreSQL renames only a database nobody is connected to: end this one's sessions first.
        for (let i = 0; i < 50; i++) {
          await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [from]);
          try {
            await c.query(`alter database ${from} rename to ${to}`);
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== '55006') throw err;
            await sleep(20);
          }
        }
        throw new Error(`could not rename ${from}`);
      });

    it('answers 503 with Retry-After, not 500, while it is gone, and serves again once it is back', async () => {
      const id = await logRequest(t, { tags: ['before'] });
      const gone = `${name}_gone`;
      await rename(name, gone);
      try {
        const calls = [
          () => t.get(`/v1/requests/${id}`),
          () => t.post('/v1/requests/search', { filters: [] }),
          () => t.post('/log-request', { provider: 'p', model: 'm', input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] }, request_start_time: 1, request_end_time: 2 }),
          () => t.post('/rest/track-score', { request_id: id, score: 5 }),
          () => t.get('/readyz'),
        ];
        // Several rounds: the first calls meet pooled connections the server ended, later ones new connections refused.
        for (let round = 0; round < 3; round++) {
          for (const call of calls) {
            const res = await call();
            assert.equal(res.statusCode, 503, `round ${round}: ${res.statusCode} ${res.body}`);
            assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After');
            const body = res.json() as { success: boolean; code: string; message: string };
            assert.equal(body.success, false);
            assert.equal(body.code, 'unavailable');
            assert.match(body.message, /^database: /);
          }
        }
      } finally {
        await rename(gone, name);
      }
      let status = 0;
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(100)) {
        status = (await t.get(`/v1/requests/${id}`)).statusCode;
        if (status === 200) break;
      }
      assert.equal(status, 200, 'serves again once the database is back');
    });
  });
}
