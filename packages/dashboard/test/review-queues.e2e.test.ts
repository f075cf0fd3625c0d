/**
 * Review queues in a real browser: a queue made from the request log's filter, worked through by
 * keyboard in blind review (claim, rate, skip, next), progress per rater on the queues page, and
 * the agreement page's alpha, raters and disputes with adjudication.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMAIL, logRequests, startHarness, type Harness } from './helpers/browser.js';

describe('review queues in the dashboard', { timeout: 150_000 }, () => {
  let h: Harness;
  let big: number[] = [];
  let queueId = 0;

  before(async () => {
    h = await startHarness('queues');
    big = await logRequests(h, 4, 'gpt-4o');
    await logRequests(h, 2, 'gpt-4o-mini');
    const put = await h.apiCall('PUT', '/v1/score-schemas/verdict', {
      kind: 'categorical',
      labels: [
        { label: 'pass', value: 100 },
        { label: 'fail', value: 0 },
      ],
      aggregate: 'adjudicated',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  });
  after(async () => h?.close());

  it('makes a queue from the request log’s filter', async () => {
    const { page, base } = h;
    await page.goto(`${base}/requests?model=gpt-4o`);
    await page.getByTestId('page-range').filter({ hasText: '1–4 of 4' }).waitFor();
    await page.getByRole('link', { name: 'Queue these' }).click();
    const form = page.getByRole('form', { name: 'New queue' });
    await form.getByText('model=gpt-4o').waitFor();
    await form.getByLabel('Queue name').fill('gpt-4o verdicts');
    await form.getByLabel('Score to rate').fill('verdict');
    await form.getByLabel('Raters per item').fill('2');
    assert.equal(await form.getByLabel(/^Blind/).isChecked(), true);
    await form.getByRole('button', { name: 'Create queue' }).click();
    const card = page.getByRole('region', { name: 'Queue gpt-4o verdicts' });
    await card.waitFor();
    queueId = Number(await card.getAttribute('data-queue-id'));
    await card.getByLabel('Items completed: 0 of 4').waitFor();
    // The filter reached the server: the four gpt-4o requests, none of the others.
    const q = (await h.apiCall('GET', `/v1/review-queues/${queueId}`)).body.queue as { filter: unknown; blind: boolean; progress: { items: number } };
    assert.deepEqual(q.filter, { field: 'model', op: 'eq', value: 'gpt-4o' });
    assert.equal(q.blind, true);
    assert.equal(q.progress.items, 4);
  });

  it('works through the queue blind by keyboard: claim, rate, skip, next; progress per rater', async () => {
    const { page, base } = h;
    // A vendor rates every item first through the API: "fail" on each.
    for (let i = 0; i < 4; i++) {
      const c = await h.apiCall('POST', `/v1/review-queues/${queueId}/claim`, { rater: 'vendor-b' });
      const item = c.body.item as { request_id: number };
      const r = await h.apiCall('POST', `/v1/review-queues/${queueId}/items/${item.request_id}/ratings`, { label: 'fail', rater: 'vendor-b', comment: 'vendor says no' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    await page.goto(`${base}/queues`);
    await page.getByRole('region', { name: 'Queue gpt-4o verdicts' }).getByRole('link', { name: 'Start reviewing' }).click();
    await page.getByRole('heading', { name: 'Queue: gpt-4o verdicts' }).waitFor();
    const itemId = async () => Number((await page.getByTestId('item-id').textContent())!.replace(/\D/g, ''));
    await page.getByTestId('item-id').waitFor();
    // Blind: nothing of the vendor's rating before this rater submits.
    await page.getByTestId('blind-note').waitFor();
    assert.equal(await page.getByText('vendor-b').count(), 0);
    assert.equal(await page.getByText('vendor says no').count(), 0);
    const shots = await h.shotAtWidths('queue-review');
    console.log(`screenshots: ${shots.join(' ')}`);

    const first = await itemId();
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('1');
    await page.keyboard.press('Enter');
    await page.getByTestId('review-status').filter({ hasText: `Rated request ${first}: verdict = pass (100) · item complete` }).waitFor();
    await page.waitForFunction((prev) => Number(document.querySelector('[data-testid="item-id"]')?.textContent?.replace(/\D/g, '')) !== prev, first);
    const second = await itemId();
    await page.keyboard.press('x');
    await page.getByTestId('review-status').filter({ hasText: `Skipped request ${second}` }).waitFor();
    await page.waitForFunction((prev) => Number(document.querySelector('[data-testid="item-id"]')?.textContent?.replace(/\D/g, '')) !== prev, second);
    const third = await itemId();
    await page.keyboard.press('2');
    await page.keyboard.press('Enter');
    await page.getByTestId('review-status').filter({ hasText: `Rated request ${third}: verdict = fail (0)` }).waitFor();
    await page.waitForFunction((prev) => Number(document.querySelector('[data-testid="item-id"]')?.textContent?.replace(/\D/g, '')) !== prev, third);
    const fourth = await itemId();
    await page.keyboard.press('1');
    await page.keyboard.press('Enter');
    // The skipped item is not handed back: the queue has nothing more for this rater.
    await page.getByText('Nothing left for you in this queue').waitFor();
    await page.getByTestId('queue-progress').filter({ hasText: '3 of 4 items complete · 3 rated this sitting' }).waitFor();
    assert.equal(new Set([first, second, third, fourth]).size, 4);
    assert.deepEqual(new Set([first, second, third, fourth]), new Set(big));

    // Ratings landed as this user's, each under its label.
    const detail = (await h.apiCall('GET', `/v1/requests/${first}`)).body.request as { score_details: Record<string, { ratings: { rater: string; label: string }[] }> };
    assert.deepEqual(detail.score_details.verdict!.ratings.map((r) => [r.rater, r.label]).sort(), [[`external:vendor-b`, 'fail'], [`user:${h.userId}`, 'pass']].sort());

    // The queues page: items complete, and each rater's own bar.
    await page.getByRole('link', { name: '← Queues' }).click();
    const card = page.getByRole('region', { name: 'Queue gpt-4o verdicts' });
    await card.getByLabel('Items completed: 3 of 4').waitFor();
    await card.getByLabel(`${EMAIL}: 3 of 4`).waitFor();
    await card.getByLabel('vendor-b (external): 4 of 4').waitFor();
    const shots2 = await h.shotAtWidths('queues');
    console.log(`screenshots: ${shots2.join(' ')}`);
  });

  it('shows agreement, per-rater offsets and the disputes, and adjudicates one', async () => {
    const { page, base } = h;
    await page.goto(`${base}/queues`);
    await page.getByRole('region', { name: 'Queue gpt-4o verdicts' }).getByRole('link', { name: 'Agreement' }).click();
    await page.getByRole('heading', { name: 'Agreement' }).waitFor();
    const reply = (await h.apiCall('GET', `/v1/review-queues/${queueId}/agreement`)).body.agreement as { alpha: number | null; raters: { rater: string; mean_offset: number | null }[] };
    await page.getByTestId('alpha').filter({ hasText: reply.alpha === null ? '–' : reply.alpha.toFixed(3) }).waitFor();
    const raters = page.getByRole('region', { name: 'Raters' });
    await raters.locator(`tr[data-rater="user:${h.userId}"]`).waitFor();
    const vendor = raters.locator('tr[data-rater="external:vendor-b"]');
    const offset = reply.raters.find((r) => r.rater === 'external:vendor-b')!.mean_offset!;
    assert.ok(offset < 0, 'the vendor rates lower than the user');
    await vendor.getByText(Number.isInteger(offset) ? String(offset) : offset.toFixed(2)).waitFor();

    // Disputes: the items rated pass by one and fail by the other (largest spread first).
    const table = page.getByRole('region', { name: 'Disputes' });
    const rows = table.locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    const disputed = Number(await rows.first().getAttribute('data-request-id'));
    await shotAgreement(h);
    const form = page.getByRole('form', { name: `Adjudicate request ${disputed}` });
    await form.getByRole('button', { name: /pass/ }).click();
    await form.getByLabel(`Adjudication comment for request ${disputed}`).fill('the answer is right');
    await form.getByRole('button', { name: 'Adjudicate' }).click();
    await page.getByRole('status').filter({ hasText: `Adjudicated request ${disputed}: verdict = pass` }).waitFor();
    const d = (await h.apiCall('GET', `/v1/requests/${disputed}`)).body.request as { scores: Record<string, number> };
    assert.equal(d.scores.verdict, 100);
    const history = (await h.apiCall('GET', `/v1/requests/${disputed}/scores/history`)).body.events as { kind: string; rater: string; comment: string | null }[];
    const last = history.at(-1)!;
    assert.equal(last.kind, 'adjudication');
    assert.equal(last.rater, `user:${h.userId}`);
    assert.equal(last.comment, 'the answer is right');
  });
});

async function shotAgreement(h: Harness) {
  const shots = await h.shotAtWidths('agreement');
  console.log(`screenshots: ${shots.join(' ')}`);
}
