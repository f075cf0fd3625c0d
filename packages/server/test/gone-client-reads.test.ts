import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ReadCancelledError } from '../src/store/read-scope.js';
import type { Store } from '../src/store/store.js';
import { DEFAULT_WORKSPACE_READ_LIMITS, WorkspaceReads } from '../src/store/workspace-reads.js';
import { heavyReadsFixture, heaviestTextFilter, type HeavyReadsFixture } from './helpers/search-fixtures.js';
import { BACKENDS, withPgClient } from './helpers/backends.js';
import type { TestWorkspace } from './helpers/test-app.js';

/**
 * A read whose client goes away before the answer (a browser leaving a dashboard page aborts its
 * fetches by closing their connections) is stopped: one waiting for its workspace's turn leaves
 * the line, one running is interrupted (SQLite: tally_alive() on its reader thread; PostgreSQL:
 * pg_cancel_backend), and either way the workspace's next read runs at once instead of after the
 * abandoned one's deadline. Real connections on a loopback port: closing one is what is tested.
 */

// Long enough that a read left running would hold the workspace's turn for the whole test.
const READ_TIMEOUT_MS = 12_000;
const ROWS = 120;
const HEAVIEST = heaviestTextFilter();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a read waiting for its workspace\'s turn', () => {
  it('leaves the line at once when its client disconnects, and the next read gets the turn', async () => {
    const reads = new WorkspaceReads({ ...DEFAULT_WORKSPACE_READ_LIMITS, perWorkspace: 1, waitingPerWorkspace: 4 }, READ_TIMEOUT_MS);
    const now = Date.now();
    const leave = await reads.enter({ workspace: 1, startedAt: now });
    const gone = new AbortController();
    const abandoned = reads.enter({ workspace: 1, startedAt: now, signal: gone.signal });
    const next = reads.enter({ workspace: 1, startedAt: now });
    assert.deepEqual(reads.of(1), { running: 1, waiting: 2 });
    gone.abort();
    await assert.rejects(abandoned, ReadCancelledError);
    assert.deepEqual(reads.of(1), { running: 1, waiting: 1 });
    leave();
    // The turn goes to the read still wanted, not to the one whose client went away.
    const leaveNext = await next;
    assert.deepEqual(reads.of(1), { running: 1, waiting: 0 });
    leaveNext();
    assert.deepEqual(reads.of(1), { running: 0, waiting: 0 });
  });

  it('is refused at once when its client has already gone', async () => {
    const reads = new WorkspaceReads({ ...DEFAULT_WORKSPACE_READ_LIMITS, perWorkspace: 1, waitingPerWorkspace: 4 }, READ_TIMEOUT_MS);
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(reads.enter({ workspace: 1, startedAt: Date.now(), signal: gone.signal }), ReadCancelledError);
    assert.deepEqual(reads.of(1), { running: 0, waiting: 0 });
  });
});

for (const backend of BACKENDS) {
  describe(`a read whose client has gone is stopped [${backend}]`, () => {
    let f: HeavyReadsFixture;
    let store: Store;
    let app: FastifyInstance;
    let base: string;
    let b: TestWorkspace;

    before(async () => {
      f = await heavyReadsFixture(backend, { store: { readTimeoutMs: READ_TIMEOUT_MS, readsPerWorkspace: 1 }, rows: ROWS });
      ({ store, app, b } = f);
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      // SQLite's reader threads start at the first read (seconds under tsx): before the reads timed here.
      assert.equal((await lightSearch()).statusCode, 200);
    });
    after(async () => {
      await f?.close();
    });

    /** B's heaviest search on a connection of its own, to be closed before its answer. */
    const abandonedSearch = (): ClientRequest => {
      const req = httpRequest(`${base}/v1/requests/search`, { method: 'POST', headers: { 'x-api-key': b.key, 'content-type': 'application/json' } });
      req.on('error', () => {});
      req.end(JSON.stringify({ filter: HEAVIEST, limit: 50 }));
      return req;
    };
    const until = async (what: string, test: () => boolean | Promise<boolean>, ms = 3000) => {
      const end = Date.now() + ms;
      while (!(await test())) {
        if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
        await sleep(20);
      }
    };
    const lightSearch = () => app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': b.key }, payload: { filter: { field: 'model', op: '=', value: 'gpt-4o-mini' }, limit: 5 } });
    const runningOnPostgres = async () => {
      const { rows } = await withPgClient(f.location.databaseUrl!, (c) => c.query<{ n: string }>(`select count(*) as n from pg_stat_activity where datname = current_database() and state = 'active' and query like '%"requests"%' and pid <> pg_backend_pid()`));
      return Number(rows[0]!.n);
    };

    it("stops a running read when its client disconnects, and the workspace's next read runs at once", async () => {
      const req = abandonedSearch();
      await until('the heavy search holds the place', () => store.workspaceReads!.of(b.workspace.id).running === 1);
      if (backend === 'postgres') await until('the statement runs on PostgreSQL', async () => (await runningOnPostgres()) === 1);
      // Running for a while, far from its deadline.
      await sleep(300);
      const t0 = Date.now();
      req.destroy();
      const next = await lightSearch();
      const waited = Date.now() - t0;
      assert.equal(next.statusCode, 200, next.body.slice(0, 300));
      assert.ok(waited < 3000, `the next read waited ${waited} ms for the abandoned one (its deadline is ${READ_TIMEOUT_MS} ms)`);
      await until('the place is free', () => store.workspaceReads!.of(b.workspace.id).running === 0);
      if (backend === 'postgres') assert.equal(await runningOnPostgres(), 0, 'the abandoned statement still runs on PostgreSQL');
    });

    it('answers a read whose client stays', async () => {
      const r = await lightSearch();
      assert.equal(r.statusCode, 200, r.body.slice(0, 300));
      assert.ok((r.json() as { items: unknown[] }).items.length > 0);
    });
  });
}
