import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { exportThreads } from '../src/export/export-stream.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import type { ReadSource } from '../src/store/types.js';
import { heaviestTextFilter } from './helpers/search-fixtures.js';
import { BACKENDS, freshLocation, withPgClient, type StoreLocationForTest } from './helpers/backends.js';
import { addWorkspace, type TestWorkspace } from './helpers/test-app.js';

/**
 * An export's reads have the store's read deadline wherever they run (an export thread's own
 * connection, or the event loop's store; on PostgreSQL a CSV export is one COPY): a filter that
 * keeps the database scanning is stopped at it and refused with 503 in Tally's shape, and the
 * thread and the database connection are free again. Without it such an export runs to its end,
 * however long that takes.
 */

const READ_TIMEOUT_MS = 300;
const ROWS = 200;

const HEAVIEST = heaviestTextFilter();

for (const backend of BACKENDS) {
  describe(`an export that outruns the read deadline [${backend}]`, () => {
    let location: StoreLocationForTest;
    let store: Store;
    let app: FastifyInstance;
    let a: TestWorkspace;

    before(async () => {
      location = await freshLocation(backend);
      store = await openStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, readTimeoutMs: READ_TIMEOUT_MS });
      app = await buildApp(configWith({ rateLimitPerKey: 0 }), { store, logger: false });
      a = await addWorkspace(store, 'a');
      for (let i = 0; i < ROWS; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            app.inject({
              method: 'POST',
              url: '/log-request',
              headers: { 'x-api-key': a.key },
              payload: { provider: 'openai', model: 'm', input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'a'.repeat(8000) }] }] }, output: { type: 'chat', messages: [] }, request_start_time: 1_732_700_000 + i + j, request_end_time: 1_732_700_001 + i + j },
            }),
          ),
        );
        for (const r of batch) assert.equal(r.statusCode, 201, r.body);
      }
    });
    after(async () => {
      await app?.close();
      await store?.close();
      await location?.drop();
    });

    const copies = async () =>
      backend === 'postgres'
        ? withPgClient(location.databaseUrl!, async (c) => Number((await c.query<{ n: string }>("select count(*) as n from pg_stat_activity where datname = current_database() and query ilike 'copy (%'")).rows[0]!.n))
        : 0;

    for (const format of ['csv', 'jsonl'] as const) {
      for (const where of ['a thread', 'the event loop'] as const) {
        it(`refuses a ${format} export on ${where} with 503 once a read passes the deadline, and frees what it held`, async () => {
          const s = store as { readSource: ReadSource | null };
          const real = s.readSource;
          if (where === 'the event loop') s.readSource = null;
          try {
            const res = await app.inject({ method: 'GET', url: `/v1/requests/export?format=${format}&filter=${encodeURIComponent(JSON.stringify(HEAVIEST))}`, headers: { 'x-api-key': a.key } });
            assert.equal(res.statusCode, 503, res.body.slice(0, 300));
            assert.ok(res.headers['retry-after'], 'a 503 says when to retry');
            const body = res.json() as Record<string, unknown>;
            assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'success']);
            assert.equal(body.success, false);
          } finally {
            s.readSource = real;
          }
          const until = Date.now() + 10_000;
          while (exportThreads().running > 0 || (await copies()) > 0) {
            assert.ok(Date.now() < until, `still held: ${exportThreads().running} export threads, ${await copies()} COPYs`);
            await sleep(50);
          }
        });
      }
    }
  });
}
