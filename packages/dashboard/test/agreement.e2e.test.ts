/**
 * Agreement outside queues in a real browser: a score name's alpha over the request log's filter,
 * people against an automatic rater (confusion matrix, disagreements sent to a new queue), and the
 * analytics page's reason counts filtering the request log. Also screenshots the top bar.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { logRequests, startHarness, type Harness } from './helpers/browser.js';

interface AgreementBody {
  agreement: { alpha: number | null };
  comparison?: { disagreement_count: number; confusion: { values: number[]; labels: (string | null)[]; counts: number[][] } | null };
}

describe('agreement over a filter and reason counts in the dashboard', { timeout: 150_000 }, () => {
  let h: Harness;
  let big: number[] = [];
  let mini: number[] = [];

  before(async () => {
    h = await startHarness('agreement');
    big = await logRequests(h, 6, 'gpt-4o');
    mini = await logRequests(h, 2, 'gpt-4o-mini');
    const put = await h.apiCall('PUT', '/v1/score-schemas/verdict', {
      kind: 'categorical',
      labels: [
        { label: 'pass', value: 100 },
        { label: 'fail', value: 0 },
      ],
      reasons: ['hallucination', 'too long', 'off topic'],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  });
  after(async () => h?.close());

  const rate = async (id: number, name: string, body: Record<string, unknown>) => {
    const r = await h.apiCall('PUT', `/v1/requests/${id}/scores/${name}`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const alphaText = (a: number | null) => (a === null ? '–' : a.toFixed(3));

  it('groups the less used pages under a keyboard-operable Settings menu in the top bar', async () => {
    const { page, base } = h;
    await page.goto(`${base}/requests`);
    const nav = page.getByRole('navigation', { name: 'Main' });
    // allTextContents does not wait: the app renders its bar after the page loads.
    await nav.getByText('Settings').waitFor();
    assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Requests', 'Review', 'Queues', 'Agreement', 'Analytics']);
    const shots = await h.shotAtWidths('topbar-closed');
    // By keyboard: focus the menu, open it with Enter, Tab to a page, follow it.
    await nav.getByText('Settings').focus();
    await page.keyboard.press('Enter');
    await nav.getByRole('link', { name: 'Schemas' }).waitFor();
    assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Requests', 'Review', 'Queues', 'Agreement', 'Analytics', 'Schemas', 'Alerts', 'Webhooks', 'API keys', 'Members', 'API docs']);
    for (const width of [1024, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      // One row: every entry, the menu's summary included, on the bar's first line.
      const tops = await page.locator('.topbar nav > *').evaluateAll((es) => es.map((e) => Math.round(e.getBoundingClientRect().top)));
      assert.ok(Math.max(...tops) - Math.min(...tops) < 16, `the nav fits one line at ${width} px: ${tops}`);
      await page.screenshot({ path: `${h.shotsDir}/topbar-open-${width}.png`, clip: { x: 0, y: 0, width, height: 260 } });
    }
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.keyboard.press('Escape');
    assert.equal(await nav.getByRole('link', { name: 'Webhooks' }).count(), 0, 'Escape closes the menu');
    await page.keyboard.press('Enter');
    await nav.getByRole('link', { name: 'Schemas' }).waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Webhooks' }).count(), 0, 'choosing a page closes the menu');
    assert.equal(await page.locator('.topbar .menu.active').count(), 1, 'Settings shows it holds the current page');
    console.log(`screenshots: ${shots.join(' ')} ${h.shotsDir}/topbar-open-1024.png ${h.shotsDir}/topbar-open-1440.png`);
  });

  it('shows the alpha of two raters of a score name over the request log’s filter', async () => {
    const { page, base } = h;
    // Two named raters through the API: close on gpt-4o, opposite on gpt-4o-mini.
    const ann = [10, 20, 80, 90];
    const bob = [12, 25, 78, 95];
    for (let i = 0; i < 4; i++) {
      await rate(big[i]!, 'quality', { score: ann[i], rater: 'ann' });
      await rate(big[i]!, 'quality', { score: bob[i], rater: 'bob' });
    }
    await rate(mini[0]!, 'quality', { score: 90, rater: 'ann' });
    await rate(mini[0]!, 'quality', { score: 5, rater: 'bob' });
    await rate(mini[1]!, 'quality', { score: 5, rater: 'ann' });
    await rate(mini[1]!, 'quality', { score: 90, rater: 'bob' });
    const filtered = (await h.apiCall('GET', '/v1/scores/agreement?name=quality&model=gpt-4o')).body as unknown as AgreementBody;
    const all = (await h.apiCall('GET', '/v1/scores/agreement?name=quality')).body as unknown as AgreementBody;
    assert.ok(filtered.agreement.alpha! > 0.9, `close raters agree: ${filtered.agreement.alpha}`);
    assert.notEqual(alphaText(filtered.agreement.alpha), alphaText(all.agreement.alpha));

    // From the filtered log to the agreement page, then the name.
    await page.goto(`${base}/requests?model=gpt-4o`);
    await page.getByTestId('page-range').filter({ hasText: '1–6 of 6' }).waitFor();
    await page.getByRole('link', { name: 'Agreement on these' }).click();
    await page.getByRole('heading', { name: 'Agreement' }).waitFor();
    await page.getByRole('region', { name: 'Filter' }).getByText('model=gpt-4o').waitFor();
    const form = page.getByRole('form', { name: 'Score name' });
    await form.getByLabel('Score name').fill('quality');
    await form.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('alpha').filter({ hasText: alphaText(filtered.agreement.alpha) }).waitFor();
    const raters = page.getByRole('region', { name: 'Raters' });
    await raters.locator('tr[data-rater="external:ann"]').waitFor();
    await raters.locator('tr[data-rater="external:bob"]').waitFor();
    assert.match(page.url(), /name=quality/);
    assert.match(page.url(), /model=gpt-4o/);
    await page.getByTestId('agreement-window').filter({ hasText: 'Based on all 4 requests scored quality that match the filter.' }).waitFor();

    // A window smaller than the scored requests says so, and offers a wider one.
    await page.goto(`${base}/agreement?name=quality&limit=2`);
    const note = page.getByTestId('agreement-window');
    await note.filter({ hasText: 'Based on the latest 2 requests scored quality; older ones are left out.' }).waitFor();
    await note.getByRole('button', { name: 'Use the latest 5,000 (slower)' }).click();
    await note.filter({ hasText: 'Based on all 6 requests scored quality.' }).waitFor();
    assert.match(page.url(), /limit=5000/);

    // From analytics, the agreement of the selected name over every request.
    await page.goto(`${base}/analytics?name=quality`);
    await page.getByRole('link', { name: 'Agreement of quality' }).click();
    await page.getByTestId('alpha').filter({ hasText: alphaText(all.agreement.alpha) }).waitFor();
    const shots = await h.shotAtWidths('agreement-name');
    console.log(`screenshots: ${shots.join(' ')}`);
  });

  it('compares people with an automatic rater: confusion matrix, and the disagreements sent to a queue', async () => {
    const { page, base } = h;
    // A person (ann) and the API key itself (an LLM judge) label the six gpt-4o requests.
    const person = ['pass', 'pass', 'pass', 'pass', 'fail', 'fail'];
    const judge = ['pass', 'pass', 'fail', 'fail', 'fail', 'fail'];
    for (let i = 0; i < 6; i++) {
      await rate(big[i]!, 'verdict', { label: person[i], rater: 'ann' });
      await rate(big[i]!, 'verdict', { label: judge[i] });
    }
    const reply = (await h.apiCall('GET', '/v1/scores/agreement?name=verdict&compare=humans,automatic')).body as unknown as AgreementBody;
    const c = reply.comparison!;
    assert.equal(c.disagreement_count, 2);
    assert.deepEqual(c.confusion!.values, [0, 100]);

    await page.goto(`${base}/agreement?name=verdict`);
    await page.getByTestId('alpha').waitFor();
    assert.equal(await page.getByRole('region', { name: 'People against automatic raters' }).count(), 0);
    await page.getByLabel('People against automatic raters').check();
    const region = page.getByRole('region', { name: 'People against automatic raters' });
    await region.waitFor();
    await region.getByTestId('disagreement-count').filter({ hasText: '2' }).waitFor();
    const matrix = region.getByRole('table', { name: 'Confusion matrix' });
    // Labels from the schema head the rows (people) and the columns (automatic).
    assert.deepEqual(await matrix.locator('thead th').allTextContents(), ['People ↓ · automatic →', 'fail (0)', 'pass (100)']);
    assert.deepEqual(await matrix.locator('tbody th').allTextContents(), ['fail (0)', 'pass (100)']);
    for (const [i, hv] of c.confusion!.values.entries()) {
      for (const [j, av] of c.confusion!.values.entries()) {
        const cell = matrix.locator(`td[data-humans="${hv}"][data-automatic="${av}"]`);
        assert.equal(await cell.textContent(), String(c.confusion!.counts[i]![j]), `cell people=${hv} automatic=${av}`);
      }
    }
    // The judge failed two items people passed, and passed none they failed.
    assert.equal(await matrix.locator('td[data-humans="100"][data-automatic="0"]').textContent(), '2');
    assert.equal(await matrix.locator('td[data-humans="0"][data-automatic="100"]').textContent(), '0');
    const disagreeing = await region.getByRole('table', { name: 'Disagreements' }).locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-request-id'))));
    assert.deepEqual(new Set(disagreeing), new Set([big[2], big[3]]));
    const shots = await h.shotAtWidths('agreement-compare');
    console.log(`screenshots: ${shots.join(' ')}`);

    const send = region.getByRole('form', { name: 'Send the disagreements to a queue' });
    await send.getByLabel('Queue name').fill('judge disputes');
    await send.getByRole('button', { name: 'Send the disagreements to a queue' }).click();
    await send.getByRole('status').filter({ hasText: 'Queue “judge disputes” made with 2 items' }).waitFor();
    const queues = (await h.apiCall('GET', '/v1/review-queues')).body.queues as { id: number; name: string; origin: string; score_name: string; progress: { items: number } }[];
    const made = queues.find((q) => q.name === 'judge disputes')!;
    assert.equal(made.origin, 'disagreements');
    assert.equal(made.score_name, 'verdict');
    assert.equal(made.progress.items, 2);
    await send.getByRole('link', { name: 'Review it' }).click();
    await page.getByRole('heading', { name: 'Queue: judge disputes' }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/queues/${made.id}/review`);
    const item = Number((await page.getByTestId('item-id').textContent())!.replace(/\D/g, ''));
    assert.ok([big[2], big[3]].includes(item), `the queue hands out a disagreement: ${item}`);
  });

  it('counts reasons on analytics, and a reason filters the request log', async () => {
    const { page, base } = h;
    // Reasons on the people's ratings: two hallucinations (both fail), one too long (a pass).
    await rate(big[3]!, 'verdict', { label: 'fail', rater: 'ann', reasons: ['hallucination'] });
    await rate(big[4]!, 'verdict', { label: 'fail', rater: 'ann', reasons: ['hallucination'] });
    await rate(big[0]!, 'verdict', { label: 'pass', rater: 'ann', reasons: ['too long'] });
    const stats = (await h.apiCall('GET', '/v1/scores/stats?name=verdict')).body as { reasons: { name: string; reasons: { reason: string; count: number; low: number }[] }[] };
    const counts = stats.reasons.find((r) => r.name === 'verdict')!.reasons;
    const search = (await h.apiCall('GET', `/v1/requests/search?${new URLSearchParams([['reason.verdict', 'hallucination']])}`)).body as { items: { id: number }[] };
    const expected = search.items.map((i) => i.id).sort();
    assert.ok(expected.length > 0);

    await page.goto(`${base}/analytics?name=verdict`);
    const table = page.getByRole('region', { name: 'Reasons' });
    await table.waitFor();
    for (const r of counts) {
      const row = table.locator(`tr[data-reason="${r.reason}"]`);
      assert.deepEqual((await row.locator('td.num').allTextContents()).map(Number), [r.count, r.low], r.reason);
    }
    const shots = await h.shotAtWidths('analytics-reasons');
    console.log(`screenshots: ${shots.join(' ')}`);
    await table.getByRole('link', { name: 'Requests whose verdict gave the reason hallucination' }).click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    await page.getByTestId('page-range').filter({ hasText: `1–${expected.length} of ${expected.length}` }).waitFor();
    assert.equal(new URL(page.url()).searchParams.get('reason.verdict'), 'hallucination');
    const ids = (await page.locator('tbody tr a[href^="/requests/"]').evaluateAll((as) => as.map((a) => Number(a.getAttribute('href')!.split('/').pop())))).sort();
    assert.deepEqual([...new Set(ids)], expected);
  });
});
