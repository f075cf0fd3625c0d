import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Store } from '../src/store/store.js';
import { heavyReadsFixture, heaviestTextFilter, type HeavyReadsFixture } from './helpers/search-fixtures.js';
import { BACKENDS, withPgClient } from './helpers/backends.js';
import type { TestWorkspace } from './helpers/test-app.js';

/**
 * One workspace's slow reads take turns among themselves (`--reads-per-workspace`): with one place
 * and one waiting, B's heaviest searches sent at once run one at a time, one waits, the rest are
 * refused with 429 and Retry-After in Tally's shape, and A's search, sent while all that runs, is
 * answered at once. Without the bound every one of B's searches runs (on PostgreSQL each on a
 * connection of its own) and none is refused. On PostgreSQL a read also runs in one process, not
 * with parallel workers that take every core.
 */

const READ_TIMEOUT_MS = 2000;
const ROWS = 120;

const HEAVIEST = heaviestTextFilter();

for (const backend of BACKENDS) {
  describe(`one workspace's reads take turns [${backend}]`, () => {
    let f: HeavyReadsFixture;
    let store: Store;
    let app: FastifyInstance;
    let a: TestWorkspace;
    let b: TestWorkspace;

    before(async () => {
      f = await heavyReadsFixture(backend, {
        store: { readTimeoutMs: READ_TIMEOUT_MS, readsPerWorkspace: 1, readsWaitingPerWorkspace: 1 },
        rows: ROWS,
        // PostgreSQL would plan a parallel scan even of this small table: the read sessions' own
        // setting is what keeps their statements in one process.
        prepare: async (location) => {
          if (location.databaseUrl) {
            await withPgClient(location.databaseUrl, (c) =>
              c.query(`do $$ begin execute format('alter database %I set parallel_setup_cost = 0; alter database %I set parallel_tuple_cost = 0; alter database %I set min_parallel_table_scan_size = 0; alter database %I set min_parallel_index_scan_size = 0', current_database(), current_database(), current_database(), current_database()); end $$`),
            );
          }
        },
      });
      ({ store, app, a, b } = f);
      // Statistics as autovacuum would leave them, so the planner's choice does not hang on its timing.
      if (f.location.databaseUrl) await withPgClient(f.location.databaseUrl, (c) => c.query('analyze'));
    });
    after(async () => {
      await f?.close();
    });

    const search = (key: string, filter: unknown) => app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': key }, payload: { filter, limit: 50 } });
    const heavySearch = () => search(b.key, HEAVIEST);
    const refused = (r: LightMyRequestResponse) => {
      assert.equal(r.statusCode, 429, r.body.slice(0, 300));
      assert.ok(Number(r.headers['retry-after']) > 0, 'a 429 says when to retry');
      const body = r.json() as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'success']);
      assert.equal(body.code, 'rate_limited');
      assert.match(String(body.message), /reads: this workspace runs at most 1 reads? at once/);
    };
    /** A's search, sent while B's reads hold B's place: answered at once, with A's row. */
    const aGoesThrough = async () => {
      const t0 = Date.now();
      const r = await search(a.key, { field: 'text', op: 'contains', value: 'short' });
      assert.equal(r.statusCode, 200, r.body.slice(0, 300));
      assert.equal((r.json() as { items: unknown[] }).items.length, 1);
      // B's reads run until their deadline: A's answer before it did not wait for them.
      assert.ok(Date.now() - t0 < READ_TIMEOUT_MS, `A's search took ${Date.now() - t0} ms while B's reads ran`);
    };

    it("runs B's heaviest searches one at a time, refuses those past its queue with 429, and answers A's at once", async () => {
      const bs = Array.from({ length: 4 }, heavySearch);
      // B's first search holds its one place and the next waits; the other two are refused.
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(store.workspaceReads!.of(b.workspace.id), { running: 1, waiting: 1 });
      await aGoesThrough();
      const answers = await Promise.all(bs);
      const statuses = answers.map((r) => r.statusCode).sort();
      assert.deepEqual(statuses, [429, 429, 503, 503], answers.map((r) => `${r.statusCode} ${r.body.slice(0, 120)}`).join('\n'));
      for (const r of answers.filter((x) => x.statusCode === 429)) refused(r);
      assert.deepEqual(store.workspaceReads!.of(b.workspace.id), { running: 0, waiting: 0 });
    });

    if (backend === 'postgres') {
      it("runs B's heaviest search in one PostgreSQL process, without parallel workers", async () => {
        const running = heavySearch();
        let most = 0;
        await withPgClient(f.location.databaseUrl!, async (c) => {
          for (let i = 0; i < 15; i++) {
            const { rows } = await c.query<{ n: string }>("select count(*) as n from pg_stat_activity where backend_type = 'parallel worker' and datname = current_database()");
            most = Math.max(most, Number(rows[0]!.n));
            await new Promise((r) => setTimeout(r, 50));
          }
        });
        assert.equal((await running).statusCode, 503);
        assert.equal(most, 0, 'parallel workers ran the read');
      });
    }
  });
}
