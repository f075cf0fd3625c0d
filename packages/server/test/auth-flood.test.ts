import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { BACKENDS } from './helpers/backends.js';
import { addDashboardUser } from './helpers/dashboard-users.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const LIMIT = 15;
const FLOOD = 120;
const PASSWORD = 'correct horse battery staple';

/** Counts of answers by status; every 429 in Tally's shape with Retry-After. */
function tally(answers: LightMyRequestResponse[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const res of answers) {
    counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode === 429) {
      assert.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After on a 429');
      const body = res.json() as { success: boolean; code: string };
      assert.equal(body.success, false);
      assert.equal(body.code, 'rate_limited');
    }
  }
  return counts;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const backend of BACKENDS) {
  describe(`failed authentications are counted before the check [${backend}]`, () => {
    let t: TestApp;
    let assets: string;
    before(async () => {
      assets = mkdtempSync(join(tmpdir(), 'tally-assets-'));
      mkdirSync(join(assets, 'assets'));
      writeFileSync(join(assets, 'assets', 'app.js'), 'x'.repeat(200_000));
      writeFileSync(join(assets, 'index.html'), '<!doctype html>');
      t = await createTestApp(backend, { authFailuresPerMinute: LIMIT, dashboardDir: assets });
      await addDashboardUser(t, t.alpha.workspace, 'owner@example.com', PASSWORD);
    });
    after(async () => {
      await t.close();
      rmSync(assets, { recursive: true, force: true });
    });

    const login = (password: string, remoteAddress: string) =>
      t.inject({ method: 'POST', url: '/ui/api/login', remoteAddress, payload: { email: 'owner@example.com', password } });

    it(`answers ${FLOOD} wrong passwords sent at once from one address with ${LIMIT} × 401 and the rest 429`, async () => {
      const answers = await Promise.all(Array.from({ length: FLOOD }, (_, i) => login(`wrong password ${i}`, '10.0.0.1')));
      const counts = tally(answers);
      assert.equal(counts.get(401), LIMIT, JSON.stringify([...counts]));
      assert.equal(counts.get(429), FLOOD - LIMIT, JSON.stringify([...counts]));
      // The right password from that address is refused too until the window ends; elsewhere it works.
      assert.equal((await login(PASSWORD, '10.0.0.1')).statusCode, 429);
      assert.equal((await login(PASSWORD, '10.0.0.2')).statusCode, 200);
    });

    it(`answers ${FLOOD} bad API keys sent at once from one address with ${LIMIT} × 401 and the rest 429`, async () => {
      const answers = await Promise.all(
        Array.from({ length: FLOOD }, (_, i) => t.inject({ method: 'GET', url: '/v1/requests/search', remoteAddress: '10.0.1.1', headers: { 'x-api-key': `tl_not_a_key_${i}` } })),
      );
      const counts = tally(answers);
      assert.equal(counts.get(401), LIMIT, JSON.stringify([...counts]));
      assert.equal(counts.get(429), FLOOD - LIMIT, JSON.stringify([...counts]));
    });

    it('never refuses a valid key sent many times at once from one address', async () => {
      // A fresh key: the store has not seen it, so each of these looks it up.
      // Reads without the workspace's turns: 60 searches at once would otherwise queue there and
      // some be answered 429, which is not what this test is about.
      const fresh = await createTestApp(backend, { authFailuresPerMinute: LIMIT, readsPerWorkspace: 0 });
      try {
        const answers = await Promise.all(
          Array.from({ length: 4 * LIMIT }, () => fresh.inject({ method: 'GET', url: '/v1/requests/search', remoteAddress: '10.0.2.1', headers: { 'x-api-key': fresh.alpha.key } })),
        );
        assert.deepEqual([...tally(answers)], [[200, 4 * LIMIT]]);
      } finally {
        await fresh.close();
      }
    });

    it('keeps serving a static asset while wrong passwords pour in from many addresses', { timeout: 180_000 }, async () => {
      const asset = async () => {
        const started = performance.now();
        const res = await t.inject({ method: 'GET', url: '/assets/app.js' });
        assert.equal(res.statusCode, 200);
        return performance.now() - started;
      };
      const quiet: number[] = [];
      for (let i = 0; i < 10; i++) quiet.push(await asset());
      // Addresses of their own, each well under the limit: only the bound on concurrent checks helps.
      let stop = false;
      const statuses = new Map<number, number>();
      const flooder = async (k: number) => {
        for (let i = 0; !stop; i++) {
          const res = await login(`wrong ${k} ${i}`, `10.1.${k}.${i % 200}`);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode === 503) assert.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After on a 503');
        }
      };
      // Fewer flooders than checks may wait (SCRYPT_CONCURRENCY + SCRYPT_QUEUE): every one of their logins runs scrypt.
      const flood = Array.from({ length: 16 }, (_, k) => flooder(k));
      const loud: number[] = [];
      // Without the scrypt bound the asset waits for the whole queued flood: tens of seconds. A
      // second of slack keeps a busy shared machine from failing the test while still catching that.
      const bound = 5 * median(quiet) + 1000;
      try {
        await new Promise((r) => setTimeout(r, 300));
        // Up to 5 samples, ending once the median is sure to be over the bound.
        for (let i = 0; i < 5 && loud.filter((ms) => ms > bound).length < 3; i++) loud.push(await asset());
      } finally {
        stop = true;
        await Promise.all(flood);
      }
      assert.ok((statuses.get(401) ?? 0) > 0, `the flood ran: ${JSON.stringify([...statuses])}`);
      assert.ok([...statuses.keys()].every((s) => s === 401 || s === 503), JSON.stringify([...statuses]));
      // Relative to the same asset without the flood: the pool has free threads, so no seconds-long wait.
      assert.ok(median(loud) <= bound, `asset during the flood: median ${median(loud).toFixed(1)} ms, without it ${median(quiet).toFixed(1)} ms`);
    });
  });
}
