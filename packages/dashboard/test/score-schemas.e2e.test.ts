/**
 * Score schemas in a real browser: a categorical schema made on the schema page (with a live
 * preview), versions, a request scored with its label buttons, a comment and a reason, each
 * rater's rating on the request page, review mode's number keys, labels in the analytics
 * histogram, and archiving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMAIL, logRequests, startHarness, type Harness } from './helpers/browser.js';

interface Detail {
  scores: Record<string, number>;
  score_details?: Record<string, { value: number; label: string | null; comment: string | null; reasons: string[] | null; ratings?: { rater: string; value: number; label: string | null; comment: string | null; reasons: string[] | null }[] }>;
}

describe('score schemas in the dashboard', { timeout: 150_000 }, () => {
  let h: Harness;
  let ids: number[] = [];
  const detail = async (id: number) => (await h.apiCall('GET', `/v1/requests/${id}`)).body.request as Detail;

  before(async () => {
    h = await startHarness('schemas');
    ids = await logRequests(h, 4);
  });
  after(async () => h?.close());

  it('creates a categorical schema on the schema page, with a live preview of its buttons', async () => {
    const { page, base } = h;
    await page.goto(`${base}/requests`);
    await page.getByRole('navigation', { name: 'Main' }).getByText('Settings').click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Schemas' }).click();
    await page.getByRole('heading', { name: 'Score schemas' }).waitFor();
    await page.getByRole('button', { name: 'New schema' }).click();
    const form = page.getByRole('form', { name: 'New score schema' });
    const preview = page.getByRole('region', { name: 'Preview' });

    // A numeric range: the preview is a slider over it; a range upside down is refused, naming min.
    await form.getByLabel('Score name').fill('quality');
    await form.getByLabel('Min').fill('60');
    await form.getByLabel('Max').fill('40');
    const slider = preview.getByRole('slider', { name: 'quality score' });
    await page.waitForFunction(() => document.querySelector('[aria-label="Preview"] input[type=range]')?.getAttribute('min') === '60');
    assert.equal(await slider.getAttribute('max'), '40');
    await form.getByRole('button', { name: 'Create schema' }).click();
    await page.getByRole('alert').filter({ hasText: /^min: / }).waitFor();
    assert.equal((await h.apiCall('GET', '/v1/score-schemas/quality')).status, 404, 'nothing written');

    // Categorical: three labels, the last renamed; the preview shows one button per label.
    await form.getByLabel('Categorical (labels)').check();
    await form.getByLabel('Label 3', { exact: true }).fill('wrong');
    assert.deepEqual(await preview.getByRole('group', { name: 'quality label' }).getByRole('button').allTextContents(), ['1good100', '2ok50', '3wrong0']);
    await form.getByLabel('Rubric').fill('good: correct and complete.\nok: correct, missing detail.\nwrong: any false claim.');
    await form.getByLabel('Reasons (one per line)').fill('hallucination\noff-topic');
    await form.getByLabel('Comment required below').fill('50');
    await form.getByLabel('Aggregate').selectOption('mean');
    // The preview takes the comment rule and the reasons as they are typed.
    await preview.getByRole('button', { name: /wrong/ }).click();
    await preview.getByText('Comment (required for this value)').waitFor();
    await preview.getByRole('checkbox', { name: 'off-topic' }).waitFor();
    await preview.getByTestId('preview-result').filter({ hasText: 'Would be stored as 0 (wrong)' }).waitFor();
    await form.getByRole('button', { name: 'Create schema' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved quality: version 1' }).waitFor();

    const got = (await h.apiCall('GET', '/v1/score-schemas/quality')).body as { schema: { kind: string; labels: unknown; reasons: string[]; comment_required_below: number; aggregate: string; version: number } };
    assert.equal(got.schema.kind, 'categorical');
    assert.deepEqual(got.schema.labels, [
      { label: 'good', value: 100 },
      { label: 'ok', value: 50 },
      { label: 'wrong', value: 0 },
    ]);
    assert.deepEqual(got.schema.reasons, ['hallucination', 'off-topic']);
    assert.equal(got.schema.comment_required_below, 50);
    assert.equal(got.schema.aggregate, 'mean');
  });

  it('each save is a new version, listed', async () => {
    const { page } = h;
    const form = page.getByRole('form', { name: 'Edit quality' });
    await form.getByLabel('Description').fill('Is the answer right?');
    await form.getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved quality: version 2' }).waitFor();
    const versions = page.getByRole('region', { name: 'Versions' });
    await versions.locator('tr[data-version="2"]').waitFor();
    assert.equal(await versions.locator('tbody tr').count(), 2);
    assert.match((await versions.locator('tr[data-version="1"]').textContent())!, /categorical good=100, ok=50, wrong=0 · mean · 2 reasons · comment below 50/);
    assert.match((await versions.locator('tr[data-version="2"]').textContent())!, new RegExp(EMAIL));
    // The same definition again makes no version.
    await page.getByRole('form', { name: 'Edit quality' }).getByRole('button', { name: 'Save as a new version' }).click();
    await page.getByRole('status').filter({ hasText: 'No change: version 2' }).waitFor();
    await page.getByRole('navigation', { name: 'Schemas' }).getByRole('link', { name: /quality/ }).waitFor();
    await preview(h, 'quality');
    const shots = await h.shotAtWidths('score-schemas');
    console.log(`screenshots: ${shots.join(' ')}`);
  });

  it('scores a request with its buttons and a comment; the label, comment and rater show on the request page', async () => {
    const { page, base } = h;
    const id = ids[0]!;
    await page.goto(`${base}/requests/${id}`);
    const panel = page.getByRole('region', { name: 'Scores' });
    await panel.getByLabel('New score name').fill('quality');
    const buttons = panel.getByRole('group', { name: 'quality label' });
    await buttons.getByRole('button', { name: /wrong/ }).click();
    assert.equal(await buttons.getByRole('button', { name: /wrong/ }).getAttribute('aria-pressed'), 'true');
    // Below 50 a comment is required: refused in the page before any write.
    await panel.getByRole('button', { name: 'Add score' }).click();
    await panel.getByRole('status').filter({ hasText: 'Not saved: a comment is required below 50' }).waitFor();
    await panel.getByLabel('quality comment').fill('Cites a paper that does not exist.');
    await panel.getByRole('checkbox', { name: 'hallucination' }).check();
    await panel.getByRole('button', { name: 'Add score' }).click();
    await panel.getByRole('status').filter({ hasText: 'Saved quality = wrong (0)' }).waitFor();

    let d = await detail(id);
    assert.equal(d.scores.quality, 0);
    assert.equal(d.score_details?.quality?.label, 'wrong');
    assert.equal(d.score_details?.quality?.comment, 'Cites a paper that does not exist.');
    assert.deepEqual(d.score_details?.quality?.reasons, ['hallucination']);
    assert.deepEqual(
      d.score_details?.quality?.ratings?.map((r) => [r.rater, r.label]),
      [[`user:${h.userId}`, 'wrong']],
    );

    // On the page: the label, and a ratings row naming the rater with the comment and reason.
    const editor = panel.locator('[data-score-editor="quality"]');
    await editor.getByTestId('score-quality').filter({ hasText: 'wrong' }).waitFor();
    const mine = editor.getByRole('table', { name: 'Ratings of quality' }).locator(`tr[data-rater="user:${h.userId}"]`);
    await mine.waitFor();
    assert.match((await mine.textContent())!, new RegExp(`${EMAIL}.*via dashboard.*wrong \\(0\\)Cites a paper that does not exist\\.hallucination`));
    await editor.getByText('Rubric: Is the answer right?').click();
    await editor.getByText('wrong: any false claim.').waitFor();

    // A labelling vendor's rating: under `mean` the score becomes 50, which is "ok".
    assert.equal((await h.apiCall('PUT', `/v1/requests/${id}/scores/quality`, { label: 'good', rater: 'vendor-a', comment: 'fine by us' })).status, 200);
    await page.reload();
    await editor.getByTestId('score-quality').filter({ hasText: 'ok' }).waitFor();
    const table = editor.getByRole('table', { name: 'Ratings of quality' });
    await table.locator('tr[data-rater="external:vendor-a"]').filter({ hasText: 'vendor-a (external)' }).filter({ hasText: 'fine by us' }).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 2);
    await editor.getByText('categorical · mean of 2 · v2').waitFor();

    // The history says whose rating each change was, and its label.
    const history = page.getByRole('region', { name: 'Score history' });
    await history.getByText(/rated by vendor-a · good/).waitFor();

    // Changing my rating with the buttons: both raters say good, so the score is good.
    await editor.getByRole('group', { name: 'quality label' }).getByRole('button', { name: /good/ }).click();
    await editor.getByRole('button', { name: 'Save quality' }).click();
    await panel.getByRole('status').filter({ hasText: 'Saved quality = good (100)' }).waitFor();
    await editor.getByTestId('score-quality').filter({ hasText: 'good' }).waitFor();
    d = await detail(id);
    assert.equal(d.scores.quality, 100);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const shots = await h.shotAtWidths('score-schemas-request');
    console.log(`screenshots: ${shots.join(' ')}`);
  });

  it('review mode picks a label with its number key', async () => {
    const { page, base } = h;
    await page.goto(`${base}/review?name=quality`);
    await page.locator('.progress').filter({ hasText: 'Request 1 of 3' }).waitFor();
    const first = Number((await page.getByRole('link', { name: /^Open request \d+$/ }).textContent())!.replace(/\D/g, ''));
    const group = page.getByRole('group', { name: 'quality label' });
    assert.deepEqual(await group.getByRole('button').allTextContents(), ['1good100', '2ok50', '3wrong0']);
    // Enter with no label picked saves nothing.
    await page.keyboard.press('Enter');
    await page.getByTestId('review-status').filter({ hasText: 'Not saved: pick a label' }).waitFor();
    await page.keyboard.press('2');
    assert.equal(await group.getByRole('button', { name: /ok/ }).getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('Enter');
    await page.getByTestId('review-status').filter({ hasText: `Saved quality = ok (50) on request ${first}` }).waitFor();
    await page.locator('.progress').filter({ hasText: 'Request 2 of 3' }).waitFor();
    assert.equal((await detail(first)).scores.quality, 50);
    assert.equal((await detail(first)).score_details?.quality?.label, 'ok');
  });

  it('bulk scoring offers the schema names and sends a label', async () => {
    const { page, base } = h;
    const unscored: number[] = [];
    for (const id of ids) if ((await detail(id)).scores.quality === undefined) unscored.push(id);
    assert.equal(unscored.length, 2);
    await page.goto(`${base}/requests?no_score=quality`);
    await page.getByTestId('page-range').filter({ hasText: '1–2 of 2' }).waitFor();
    const bulk = page.getByRole('region', { name: 'Bulk scoring' });
    assert.ok((await bulk.locator('datalist option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value))).includes('quality'));
    await page.getByRole('checkbox', { name: 'Select all rows on this page' }).check();
    await bulk.getByLabel('Score name', { exact: true }).fill('quality');
    await bulk.getByLabel('Label', { exact: true }).selectOption('good');
    await bulk.getByRole('button', { name: 'Set score on 2' }).click();
    await bulk.getByRole('status').filter({ hasText: 'Set quality = good on 2 requests in one batch' }).waitFor();
    for (const id of unscored) assert.equal((await detail(id)).score_details?.quality?.label, 'good');
  });

  it('the analytics histogram puts each label under its value’s bar', async () => {
    const { page, base } = h;
    await page.goto(`${base}/analytics?name=quality`);
    const chart = page.getByRole('region', { name: 'Histogram' });
    await chart.locator('text.label-tick').filter({ hasText: 'wrong' }).waitFor();
    const ticks = await chart.locator('text.label-tick').allTextContents();
    // Lowest value first: wrong (0), ok (50), good (100); no request's score is wrong now.
    assert.deepEqual(ticks, ['0wrong', '50ok', '100good']);
    const heights = (await chart.locator('path.recharts-rectangle').evaluateAll((ps) => ps.map((p) => Math.round(p.getBoundingClientRect().height)))).filter((x) => x > 0);
    // ok: 1 request, good: 3 (the vendor-rated one and the two bulk-scored): bars in ratio 1:3.
    assert.equal(heights.length, 2, `bars: ${heights}`);
    assert.ok(Math.abs(heights[1]! - 3 * heights[0]!) <= 2, `bars: ${heights}`);
    await h.shotAtWidths('score-schemas-analytics');
  });

  it('archives a schema: it leaves the list, and its scores stay', async () => {
    const { page, base } = h;
    await page.goto(`${base}/score-schemas?name=quality`);
    await page.getByRole('button', { name: 'Archive quality' }).click();
    await page.getByRole('status').filter({ hasText: 'Archived quality' }).waitFor();
    await page.getByText('This schema is archived').waitFor();
    const list = page.getByRole('navigation', { name: 'Schemas' });
    await list.getByText('No schemas yet').waitFor();
    await page.getByLabel('Show archived').check();
    await list.getByRole('link', { name: /quality.*archived/ }).waitFor();
    assert.equal((await detail(ids[0]!)).scores.quality, 100);
  });
});

/** The preview of a saved schema shows its buttons with their number keys. */
async function preview(h: Harness, name: string) {
  const group = h.page.getByRole('region', { name: 'Preview' }).getByRole('group', { name: `${name} label` });
  // The form may be drawing the saved version again: wait for its buttons, then count them.
  await group.getByRole('button').first().waitFor();
  assert.equal(await group.getByRole('button').count(), 3);
}
