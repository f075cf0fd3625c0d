/**
 * End-to-end: Debian's chromium driven by playwright-core against an in-process Tally server over a
 * temporary SQLite store, with the built dashboard. Steps run in order and share one browser page,
 * like one person's session: set up the owner, log requests through the API, score, filter, review,
 * bulk-score, read analytics, create a key, and check that logged HTML never runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp } from '../../server/src/app.js';
import { generateApiKey } from '../../server/src/auth/api-keys.js';
import { ownerSetupToken } from '../../server/src/commands/users.js';
import { openStore } from '../../server/src/store/open-store.js';
import type { Store } from '../../server/src/store/store.js';

const DASHBOARD = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(DASHBOARD, 'dist');
const SCREENSHOTS = fileURLToPath(new URL('../../../.screenshots/', import.meta.url));
const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
const EMAIL = 'owner@example.com';
const PASSWORD = 'a long enough password';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the dashboard when dist/ is missing or older than its sources. */
function ensureBuilt(): void {
  const index = join(DIST, 'index.html');
  const sources = Math.max(newestMtime(join(DASHBOARD, 'src')), statSync(join(DASHBOARD, 'index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(process.execPath, [resolveVite(), 'build'], { cwd: DASHBOARD, stdio: 'ignore' });
}

function resolveVite(): string {
  // npm workspaces hoist vite to the repository root.
  for (const base of [join(DASHBOARD, 'node_modules'), join(DASHBOARD, '../../node_modules')]) {
    const bin = join(base, 'vite/bin/vite.js');
    if (existsSync(bin)) return bin;
  }
  throw new Error('vite is not installed: run npm install at the repository root');
}

interface Logged {
  id: number;
  model: string;
  version: number;
}

describe('dashboard in a real browser', { timeout: 150_000 }, () => {
  let store: Store;
  let dataDir: string;
  let app: FastifyInstance;
  let base: string;
  let key: string;
  let setupToken: string;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const logged: Logged[] = [];
  let xssIds: number[] = [];
  let toolId = 0;

  const apiCall = async (method: string, path: string, body?: unknown, apiKey = key) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-api-key': apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const scoresOf = async (id: number) => ((await apiCall('GET', `/v1/requests/${id}`)).body.request as { scores: Record<string, number> }).scores;
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  before(async () => {
    ensureBuilt();
    mkdirSync(SCREENSHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'tally-e2e-'));
    store = await openStore({ dataDir, sqliteSynchronous: 'NORMAL' });
    const ws = (await store.bootstrapDefaultWorkspace())!;
    const k = generateApiKey();
    await store.createApiKey(ws.id, 'e2e logger', k.display, k.hash);
    key = k.key;
    setupToken = (await ownerSetupToken(store))!;
    app = await buildApp({ store, logger: false, dashboardDir: DIST });
    base = await app.listen({ host: '127.0.0.1', port: 0 });

    // chromium.launch gives every run a fresh temporary profile (user-data dir) of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // A flag any injected script would flip; checked after the untrusted content is on screen.
    await context.addInitScript(() => {
      (window as unknown as { __xss: boolean }).__xss = false;
    });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('dialog', (d) => {
      if (d.type() === 'confirm' && d.message().startsWith('Revoke')) return void d.accept();
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an unauthenticated visit gets 401 and the sign-in form', async () => {
    const res = await page.goto(`${base}/requests`);
    assert.equal(res?.status(), 401);
    await page.getByRole('heading', { name: 'Sign in to Tally' }).waitFor();
  });

  it('the one-time setup link creates the owner and signs them in', async () => {
    await page.goto(`${base}/setup/${setupToken}`);
    await page.getByRole('heading', { name: 'Create the owner account' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password (at least 10 characters)').fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await shot('setup');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/requests');
    await page.getByText(EMAIL).waitFor();
    // The link is spent.
    await page.goto(`${base}/setup/${setupToken}`);
    await page.getByRole('heading', { name: 'This link is not valid' }).waitFor();
  });

  it('signs out and back in with the password', async () => {
    await page.goto(`${base}/requests`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Tally' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('wrong password!!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'email or password is wrong' }).waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await shot('login');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
  });

  it('requests logged through the API appear in the log', async () => {
    const day = Date.UTC(2025, 0, 10, 9) / 1000;
    for (let i = 0; i < 12; i++) {
      const version = i % 2 === 0 ? 1 : 2;
      const model = i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini';
      const start = day + i * 3600 * 5;
      const res = await apiCall('POST', '/log-request', {
        provider: 'openai',
        model,
        input: { type: 'chat', messages: [{ role: 'system', content: [{ type: 'text', text: 'You are terse.' }] }, { role: 'user', content: [{ type: 'text', text: `Question number ${i}` }] }] },
        output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: `Answer number ${i}` }] }] },
        request_start_time: start,
        request_end_time: start + 0.2 + i * 0.05,
        prompt_name: 'greeter',
        prompt_version_number: version,
        input_tokens: 10 + i,
        output_tokens: 5 + i,
        price: 0.001 * (i + 1),
        tags: i % 4 === 0 ? ['prod', 'eu'] : ['prod'],
        metadata: { customer: `c${i % 3}` },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      logged.push({ id: res.body.id as number, model, version });
    }
    const tool = await apiCall('POST', '/log-request', {
      provider: 'openai',
      model: 'gpt-4o',
      input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] }] },
      output: {
        type: 'chat',
        messages: [{ role: 'assistant', content: [], tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }],
      },
      request_start_time: day + 100,
      request_end_time: day + 101,
    });
    toolId = tool.body.id as number;
    xssIds = [];
    for (const text of ['<img src=x onerror="window.__xss=true;alert(1)">', '<script>window.__xss=true;alert(2)</script>']) {
      const res = await apiCall('POST', '/log-request', {
        provider: 'openai',
        model: 'gpt-4o',
        input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text }] }] },
        output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text }] }] },
        request_start_time: day - 3600,
        request_end_time: day - 3599,
        tags: [text],
        metadata: { note: text },
      });
      xssIds.push(res.body.id as number);
    }
    await page.goto(`${base}/requests`);
    const rows = page.locator('table.log tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 15);
    await page.getByText('openai / gpt-4o-mini').first().waitFor();
    await page.getByText('greeter v2').first().waitFor();
  });

  it('renders a conversation with roles and tool calls', async () => {
    await page.goto(`${base}/requests/${toolId}`);
    await page.getByText('Tool call').waitFor();
    await page.getByText('get_weather').waitFor();
    await page.getByText('"city": "Paris"').waitFor();
  });

  it('scores with the slider and shows the change in the history', async () => {
    const id = logged[0]!.id;
    await page.goto(`${base}/requests/${id}`);
    await page.getByText('Question number 0').waitFor();
    await page.getByText('You are terse.').waitFor();
    await page.getByLabel('New score name').fill('default');
    const slider = page.getByRole('slider', { name: 'New score score' });
    await slider.focus();
    for (let i = 0; i < 7; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await slider.getAttribute('aria-valuenow'), '57');
    await page.getByRole('button', { name: 'Add score' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved default = 57' }).waitFor();
    assert.deepEqual(await scoresOf(id), { default: 57 });

    const existing = page.getByRole('slider', { name: 'default score' });
    await existing.focus();
    await page.keyboard.press('PageUp');
    await page.keyboard.press('PageUp');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await existing.getAttribute('aria-valuenow'), '76');
    assert.equal(await page.getByRole('spinbutton', { name: 'default value' }).inputValue(), '76');
    await page.getByRole('button', { name: 'Save default' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved default = 76' }).waitFor();
    assert.deepEqual(await scoresOf(id), { default: 76 });

    const history = page.getByRole('region', { name: 'Score history' });
    await history.getByText('57 → 76').waitFor();
    await history.getByText('∅ → 57').waitFor();
    assert.equal(await history.getByText(EMAIL).count(), 2, 'who: the signed-in user');
    await shot('request');
  });

  it('filters by a score range and sorts by the score, with both in the URL', async () => {
    // Give a spread of scores through the API (the program path), then filter in the UI.
    const values = [76, 10, 90, 40, 65, 20];
    for (let i = 1; i < values.length; i++) {
      assert.equal((await apiCall('PUT', `/v1/requests/${logged[i]!.id}/scores/default`, { score: values[i] })).status, 200);
    }
    await page.goto(`${base}/requests`);
    await page.getByRole('button', { name: /^Filters/ }).click();
    await page.getByRole('button', { name: 'Add score filter' }).click();
    await page.getByLabel('Min', { exact: true }).fill('30');
    await page.getByLabel('Max', { exact: true }).fill('80');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/score\.default=between%3A30%2C80/);
    await page.getByRole('button', { name: 'Score: default' }).click();
    await page.waitForURL(/sort_by=score\.default/);
    const cells = page.locator('table.log tbody td[data-score-name="default"]');
    await page.waitForFunction(() => document.querySelectorAll('table.log tbody tr').length === 3);
    assert.deepEqual(await cells.allTextContents(), ['76', '65', '40']);
    await page.getByRole('button', { name: 'Score: default' }).click();
    await page.waitForURL(/sort_order=asc/);
    await page.waitForFunction(() => document.querySelector('table.log tbody td[data-score-name="default"]')?.textContent === '40');
    assert.deepEqual(await cells.allTextContents(), ['40', '65', '76']);
    await shot('request-log-filtered');

    // Export of the current filter, with the browser's session cookie.
    const href = (await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href'))!;
    assert.match(href, /score\.default=between%3A30%2C80/);
    const csv = await page.request.get(`${base}${href}`);
    assert.equal(csv.status(), 200);
    const lines = (await csv.text()).trim().split('\n');
    assert.equal(lines.length, 4, 'a header and the 3 matching rows');
    const jsonl = await page.request.get(`${base}${(await page.getByRole('link', { name: 'Export JSONL' }).getAttribute('href'))!}`);
    const rows = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l) as { scores: Record<string, number> });
    assert.deepEqual(rows.map((r) => r.scores.default).sort(), [40, 65, 76]);

    // The "unscored" filter, from a bookmarked URL.
    await page.goto(`${base}/requests?no_score=default`);
    await page.waitForFunction(() => document.querySelectorAll('table.log tbody tr').length === 9);
    assert.deepEqual(new Set(await cells.allTextContents()), new Set(['–']));
  });

  it('review mode scores by keyboard alone: s, arrows, Enter, j and k', async () => {
    await page.goto(`${base}/review`);
    const progress = page.locator('.progress');
    await progress.filter({ hasText: 'Request 1 of 9' }).waitFor();
    const first = Number((await page.getByRole('link', { name: /^Open request \d+$/ }).textContent())!.replace(/\D/g, ''));
    await page.keyboard.press('s');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await progress.filter({ hasText: 'Request 2 of 9 · 1 scored' }).waitFor();
    assert.equal((await scoresOf(first)).default, 55);

    const second = Number((await page.getByRole('link', { name: /^Open request \d+$/ }).textContent())!.replace(/\D/g, ''));
    await page.locator('body').click({ position: { x: 5, y: 200 } });
    await page.keyboard.press('j');
    await progress.filter({ hasText: 'Request 3 of 9' }).waitFor();
    await page.getByRole('link', { name: /^Open request \d+$/ }).waitFor();
    await page.keyboard.press('k');
    await progress.filter({ hasText: 'Request 2 of 9' }).waitFor();
    await page.getByRole('link', { name: `Open request ${second}` }).waitFor();
    await page.keyboard.press('s');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
    await shot('review');
    await page.keyboard.press('Enter');
    await progress.filter({ hasText: 'Request 3 of 9 · 2 scored' }).waitFor();
    assert.equal((await scoresOf(second)).default, 47);
    assert.notEqual(first, second);
  });

  it('bulk-scores selected rows in one batch', async () => {
    await page.goto(`${base}/requests?prompt_version=2`);
    await page.waitForFunction(() => document.querySelectorAll('table.log tbody tr').length === 6);
    const ids = logged.filter((l) => l.version === 2).map((l) => l.id).sort((a, b) => b - a).slice(0, 3);
    for (const id of ids) await page.getByRole('checkbox', { name: `Select request ${id}` }).check();
    await page.getByLabel('Score name', { exact: true }).fill('tone');
    await page.getByLabel('Value', { exact: true }).fill('33');
    await page.getByRole('button', { name: 'Set score on 3' }).click();
    await page.getByRole('status').filter({ hasText: 'Set tone = 33 on 3 requests in one batch' }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('td[data-score-name="tone"]')].filter((c) => c.textContent === '33').length === 3);
    const feed = (await apiCall('GET', '/v1/score-events?name=tone&limit=100')).body.events as { request_id: number; batch_id: string; source: string }[];
    assert.deepEqual(feed.map((e) => e.request_id).sort(), [...ids].sort());
    assert.equal(new Set(feed.map((e) => e.batch_id)).size, 1, 'one batch id');
    assert.ok(feed.every((e) => e.source === 'batch'));

    // "All matching the filter": every version-2 request, also in one batch.
    await page.getByRole('checkbox', { name: 'Select all rows on this page' }).check();
    await page.getByLabel('Value', { exact: true }).fill('44');
    await page.getByRole('button', { name: 'Set score on 6' }).click();
    await page.getByRole('status').filter({ hasText: 'Set tone = 44 on 6 requests in one batch' }).waitFor();
    for (const l of logged.filter((x) => x.version === 2)) assert.equal((await scoresOf(l.id)).tone, 44);
    await shot('request-log-bulk');
  });

  it('analytics shows the real count, mean, histogram, tables and a comparison', async () => {
    // Independently: every default score now in the store, through the API.
    const values: number[] = [];
    const byVersion: Record<number, number[]> = { 1: [], 2: [] };
    for (const l of logged) {
      const s = (await scoresOf(l.id)).default;
      if (s !== undefined) {
        values.push(s);
        byVersion[l.version]!.push(s);
      }
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    await page.goto(`${base}/analytics?name=default`);
    await page.locator('[data-stat="Count"]').filter({ hasText: String(values.length) }).waitFor();
    assert.equal(await page.locator('[data-stat="Mean"]').textContent(), mean.toFixed(2));
    assert.equal(await page.locator('[data-stat="Max"]').textContent(), String(Math.max(...values)));
    await page.locator('.recharts-bar-rectangle').first().waitFor();
    assert.ok((await page.locator('[aria-label="Histogram"] .recharts-bar-rectangle').count()) >= 3);
    await page.locator('[aria-label="Over time"] .recharts-line').waitFor();
    const promptTable = page.getByRole('region', { name: 'By prompt version' });
    const v1Row = promptTable.locator('tr', { has: page.locator('td', { hasText: /^1$/ }) });
    await v1Row.waitFor();
    assert.equal(await v1Row.locator('td').nth(2).textContent(), String(byVersion[1]!.length));
    await page.getByRole('region', { name: 'By model' }).getByText('gpt-4o-mini').waitFor();

    await page.locator('input[name="a.prompt_version"]').fill('1');
    await page.locator('input[name="b.prompt_version"]').fill('2');
    await page.getByRole('button', { name: 'Compare' }).click();
    const result = page.getByLabel('Comparison result');
    await result.waitFor();
    // The verdict shown is the one the API gives for the same cohorts, and no other.
    const verdicts = { a_better: 'A scores better', b_better: 'B scores better', no_significant_difference: 'No significant difference', not_enough_data: 'Not enough data to tell' };
    const api = await apiCall('GET', '/v1/scores/compare?name=default&a.prompt_version=1&b.prompt_version=2');
    assert.equal(api.status, 200, JSON.stringify(api.body));
    const verdict = api.body.verdict as keyof typeof verdicts;
    const shownText = (await result.textContent())!;
    assert.deepEqual(Object.entries(verdicts).filter(([, text]) => shownText.includes(text)).map(([v]) => v), [verdict], `shown: ${shownText}`);
    const aMean = byVersion[1]!.reduce((x, y) => x + y, 0) / byVersion[1]!.length;
    assert.equal(await result.locator('tbody tr').first().locator('td').nth(2).textContent(), Number.isInteger(aMean) ? String(aMean) : aMean.toFixed(2));
    await shot('analytics');
  });

  it('creates an API key shown once that works, then revokes it', async () => {
    await page.goto(`${base}/keys`);
    await page.getByLabel('Label').fill('from e2e');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = (await page.getByTestId('new-key').textContent())!;
    assert.match(shown, /^tl_[0-9A-Za-z]{43}$/);
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await shot('keys');
    assert.equal((await apiCall('GET', '/v1/score-events', undefined, shown)).status, 200);
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByText(shown).count(), 0, 'the secret is gone once dismissed');
    await page.getByRole('button', { name: /^Revoke key .*\(from e2e\)$/ }).click();
    await page.getByText(/^revoked /).waitFor();
    assert.equal((await apiCall('GET', '/v1/score-events', undefined, shown)).status, 401);
  });

  it('logged <img onerror> and <script> content is shown as text and never runs', async () => {
    for (const id of xssIds) {
      await page.goto(`${base}/requests/${id}`);
      await page.getByRole('region', { name: 'Input' }).waitFor();
      await page.waitForTimeout(150);
    }
    await page.getByText('<script>window.__xss=true;alert(2)</script>').first().waitFor();
    await page.goto(`${base}/requests`);
    await page.getByText('<img src=x onerror="window.__xss=true;alert(1)">').first().waitFor();
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss: boolean }).__xss), false);
    assert.equal(await page.locator('table.log img, .conversation img, .conversation script').count(), 0);
    assert.deepEqual(dialogs, []);
    await shot('request-log');
  });
});
