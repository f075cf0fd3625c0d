/**
 * A page that is left aborts the reads it still waits for, so the server stops them (a read whose
 * client closes the request is stopped: server test gone-client-reads) instead of running them for
 * nobody before the next page's. The analytics page's correlation read is held unanswered here,
 * then the user moves to the request log within the app.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Route } from 'playwright-core';
import { logRequests, startHarness, type Harness } from './helpers/browser.js';

describe('leaving a page aborts its reads', { timeout: 90_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('abort');
    for (const [i, id] of (await logRequests(h, 3)).entries()) {
      const res = await h.apiCall('PUT', `/v1/requests/${id}/scores/quality`, { score: 40 + 20 * i });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  });
  after(async () => h?.close());

  it('aborts the analytics page\'s unanswered read when the user moves to the request log', async () => {
    const { page, base } = h;
    let held: Route | null = null;
    const arrived = new Promise<void>((resolve) => {
      void page.route('**/v1/scores/correlation*', (route) => {
        held = route;
        resolve();
      });
    });
    const failed: string[] = [];
    page.on('requestfailed', (r) => {
      if (r.url().includes('/v1/scores/correlation')) failed.push(r.failure()?.errorText ?? '');
    });
    await page.goto(`${base}/analytics?name=quality`);
    await arrived;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Requests' }).click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    for (let i = 0; i < 50 && failed.length === 0; i++) await page.waitForTimeout(100);
    assert.deepEqual(failed, ['net::ERR_ABORTED'], 'the held correlation read was aborted when the page was left');
    await (held as Route | null)?.continue().catch(() => {});
    await page.unroute('**/v1/scores/correlation*');
  });
});
