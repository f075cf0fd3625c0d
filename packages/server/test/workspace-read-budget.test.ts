import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { TallyError } from '../src/domain/errors.js';
import type { Store } from '../src/store/store.js';
import { WorkspaceReads } from '../src/store/workspace-reads.js';
import { heavyReadsFixture, heaviestTextFilter, type HeavyReadsFixture } from './helpers/search-fixtures.js';
import { BACKENDS } from './helpers/backends.js';
import { addWorkspace, type TestWorkspace } from './helpers/test-app.js';

/**
 * A workspace's read-time budget (`--read-budget-ms` in `--read-budget-window-ms`): once B's
 * heaviest searches, each stopped at the read deadline, have spent it, B's next reads are refused
 * at once with 429 and Retry-After instead of taking a core for another deadline (and B starts no
 * export), A's reads go on
 * as before, and B reads again once that time has left the window. Without a budget B's third
 * heavy search runs to its deadline like the first two (503).
 */

const READ_TIMEOUT_MS = 1500;
const BUDGET_MS = 2200;
const WINDOW_MS = 6000;
const ROWS = 120;

const HEAVIEST = heaviestTextFilter();

const refusedForBudget = (r: LightMyRequestResponse) => {
  assert.equal(r.statusCode, 429, r.body.slice(0, 300));
  const retryAfter = Number(r.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= Math.ceil(WINDOW_MS / 1000) + 1, `Retry-After ${r.headers['retry-after']} within the window`);
  const body = r.json() as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'success']);
  assert.equal(body.code, 'rate_limited');
  assert.match(String(body.message), /read-time budget/);
  return retryAfter;
};

for (const backend of BACKENDS) {
  describe(`a workspace's read-time budget [${backend}]`, () => {
    let f: HeavyReadsFixture;
    let store: Store;
    let app: FastifyInstance;
    let a: TestWorkspace;
    let b: TestWorkspace;

    before(async () => {
      f = await heavyReadsFixture(backend, {
        store: { readTimeoutMs: READ_TIMEOUT_MS, readsPerWorkspace: 1, readBudgetMs: BUDGET_MS, readBudgetWindowMs: WINDOW_MS },
        rows: ROWS,
      });
      ({ store, app, a, b } = f);
      // The first read starts SQLite's reader threads, which on a loaded machine may take longer
      // than the short deadline here; reads after it find them started. A third workspace's reads,
      // so that the time they take is charged to neither A nor B.
      let warm = 0;
      for (let i = 0; i < 10 && warm !== 200; i++) {
        const c = await addWorkspace(store, `warm-up ${i}`);
        warm = (await app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': c.key }, payload: { limit: 1 } })).statusCode;
      }
      assert.equal(warm, 200);
    });
    after(async () => {
      await f?.close();
    });

    const search = (key: string, filter: unknown) => app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': key }, payload: { filter, limit: 50 } });
    const lightSearch = (key: string) => app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': key }, payload: { limit: 1 } });

    it("refuses B's reads with 429 once its heaviest searches spent its budget, answers A's, and lets B read again after the window", async () => {
      // Heavy searches one after the other, each stopped at the deadline: two spend B's 2.2 s (one
      // may, on a loaded machine, where stopping a statement takes a while), then one is refused
      // before it runs: at once, not after another deadline.
      const statuses: number[] = [];
      let refusal: LightMyRequestResponse | null = null;
      let tookMs = 0;
      for (let i = 0; i < 5 && refusal === null; i++) {
        const t0 = Date.now();
        const r = await search(b.key, HEAVIEST);
        tookMs = Date.now() - t0;
        statuses.push(r.statusCode);
        if (r.statusCode === 429) refusal = r;
        else assert.equal(r.statusCode, 503, r.body.slice(0, 300));
      }
      assert.ok(refusal !== null, `B's heavy searches were never refused: ${statuses.join(', ')}`);
      assert.ok(statuses.length >= 2 && statuses.length <= 3, `refused after ${statuses.join(', ')}`);
      assert.ok(store.workspaceReads!.spentBy(b.workspace.id) >= BUDGET_MS, `B spent ${store.workspaceReads!.spentBy(b.workspace.id)} ms`);
      const retryAfter = refusedForBudget(refusal);
      assert.ok(tookMs < READ_TIMEOUT_MS / 2, `the refusal took ${tookMs} ms`);
      // Every read of B's waits for the budget, a light one too, and B starts no export; A's
      // reads are answered.
      refusedForBudget(await lightSearch(b.key));
      refusedForBudget(await app.inject({ method: 'GET', url: '/v1/requests/export?format=csv', headers: { 'x-api-key': b.key } }));
      const mine = await lightSearch(a.key);
      assert.equal(mine.statusCode, 200, mine.body.slice(0, 300));
      assert.equal((mine.json() as { items: unknown[] }).items.length, 1);
      assert.equal(store.workspaceReads!.spentBy(a.workspace.id) < BUDGET_MS, true);
      // After Retry-After, B's time has left the window.
      await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
      const again = await lightSearch(b.key);
      assert.equal(again.statusCode, 200, again.body.slice(0, 300));
    });
  });
}

describe('WorkspaceReads: the read-time budget', () => {
  const limits = { perWorkspace: 1, waitingPerWorkspace: 4, budgetMs: 100, budgetWindowMs: 1000 };
  const read = (workspace: number) => ({ workspace, startedAt: Date.now() });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('refuses the read waiting for its turn when the running one spends the budget, and new ones until the time leaves the window', async () => {
    const reads = new WorkspaceReads(limits, 5000);
    const first = await reads.enter(read(1));
    const waiting = reads.enter(read(1));
    await sleep(150);
    first();
    await assert.rejects(waiting, (err: unknown) => err instanceof TallyError && err.code === 'rate_limited' && err.retryAfter !== undefined && err.retryAfter >= 1);
    await assert.rejects(reads.enter(read(1)), (err: unknown) => err instanceof TallyError && err.code === 'rate_limited');
    assert.deepEqual(reads.of(1), { running: 0, waiting: 0 });
    // Another workspace's reads do not share the budget.
    (await reads.enter(read(2)))();
    // Slots are kept to a sixtieth of the window, at least 100 ms: gone within the window and one slot.
    await sleep(limits.budgetWindowMs + 150);
    assert.equal(reads.spentBy(1), 0);
    (await reads.enter(read(1)))();
  });

  it('lets a workspace whose reads are short read on', async () => {
    const reads = new WorkspaceReads(limits, 5000);
    for (let i = 0; i < 50; i++) (await reads.enter(read(1)))();
    assert.ok(reads.spentBy(1) < limits.budgetMs);
  });

  it('charges nothing and refuses nothing with a budget of 0', async () => {
    const reads = new WorkspaceReads({ ...limits, budgetMs: 0 }, 5000);
    const first = await reads.enter(read(1));
    await sleep(150);
    first();
    (await reads.enter(read(1)))();
    assert.equal(reads.spentBy(1), 0);
  });
});
