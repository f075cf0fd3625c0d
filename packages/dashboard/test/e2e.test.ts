/**
 * End-to-end: Debian's chromium driven by playwright-core against an in-process Tally server over a
 * temporary SQLite store, with the built dashboard. Steps run in order and share one browser page,
 * like one person's session: set up the owner, log requests through the API, score, filter, review,
 * bulk-score, read analytics, create a key, and check that logged HTML never runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp } from '../../server/src/app.js';
import { configWith } from '../../server/src/config.js';
import { generateApiKey } from '../../server/src/auth/api-keys.js';
import { inviteUser, ownerSetupToken } from '../../server/src/commands/users.js';
import { openStore } from '../../server/src/store/open-store.js';
import type { Store } from '../../server/src/store/store.js';
import { startReceiver } from '../../server/test/helpers/webhook-receiver.js';

const DASHBOARD = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(DASHBOARD, 'dist');
const SCREENSHOTS = fileURLToPath(new URL('../../../.screenshots/', import.meta.url));
const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
const EMAIL = 'owner@example.com';
const PASSWORD = 'a long enough password';
// axe-core, run inside the page by evaluation (the page's CSP would refuse it as a script tag).
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

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

describe('dashboard in a real browser', { timeout: 240_000 }, () => {
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
  /** Screenshots at the two widths the layout must hold at, then back to the default viewport. */
  const shotAtWidths = async (name: string, check?: (width: number) => Promise<void>) => {
    for (const width of [1024, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(100);
      await shot(`${name}-${width}`);
      // Nothing runs off the side of the page.
      const wide = await page.evaluate(() => [document.documentElement.scrollWidth, ...[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth).slice(0, 3).map((e) => e.className || e.tagName)]);
      assert.ok((wide[0] as number) <= width, `${name}: no horizontal page scroll at ${width} px: ${wide}`);
      if (check) await check(width);
    }
    await page.setViewportSize({ width: 1400, height: 900 });
  };
  let keyDisplay = '';
  let scratchKey = '';
  /** axe-core's serious and critical findings on the page as it is now (WCAG 2.1 A and AA, best practices). */
  const axeFindings = async (): Promise<AxeFinding[]> => {
    if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(AXE);
    return (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ': ' + n.html.slice(0, 120) + ' (' + (n.failureSummary || '').split('\\n').slice(1).join(' ').trim() + ')') })))`)) as AxeFinding[];
  };
  const assertAccessible = async (name: string) => {
    const found = await axeFindings();
    assert.deepEqual(found, [], `${name}: axe-core finds ${found.map((f) => `${f.impact} ${f.id} (${f.help}) at ${f.nodes.join(', ')}`).join('; ')}`);
  };
  /**
   * Every action by keyboard: Tab from the top reaches every visible control of the page, and no
   * element looks clickable (a pointer cursor) without being a control or inside one.
   */
  const assertKeyboardReachable = async (name: string) => {
    const controls = (await page.evaluate(`(() => {
      const visible = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
      // Native controls count even when taken out of the Tab order (tabindex="-1"): then Tab misses them.
      const native = 'a[href], button, input, select, textarea, summary';
      const all = [...document.querySelectorAll(native + ', [tabindex]')]
        .filter((e) => visible(e) && !e.disabled && (e.matches(native) || e.tabIndex >= 0));
      all.forEach((e, i) => e.setAttribute('data-kb', String(i)));
      return all.length;
    })()`)) as number;
    const reached = new Set<string>();
    await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
    // A date-time field takes one Tab per part (day, month, year, hour, minute).
    for (let i = 0; i < controls * 6 + 20 && reached.size < controls; i++) {
      await page.keyboard.press('Tab');
      const at = (await page.evaluate(`document.activeElement && document.activeElement.getAttribute('data-kb')`)) as string | null;
      if (at !== null) reached.add(at);
    }
    const missed = (await page.evaluate(`[...document.querySelectorAll('[data-kb]')].filter((e) => !${JSON.stringify([...reached])}.includes(e.getAttribute('data-kb'))).map((e) => e.outerHTML.slice(0, 100))`)) as string[];
    assert.deepEqual(missed, [], `${name}: Tab never reaches ${missed.length} of ${controls} controls`);
    const pointerOnly = (await page.evaluate(`[...document.querySelectorAll('body *')]
      .filter((e) => getComputedStyle(e).cursor === 'pointer' && !e.closest('a[href], button, input, select, textarea, label, summary, [tabindex]:not([tabindex="-1"])'))
      .map((e) => e.outerHTML.slice(0, 100))`)) as string[];
    assert.deepEqual(pointerOnly, [], `${name}: clickable-looking elements no key reaches`);
  };

  before(async () => {
    ensureBuilt();
    mkdirSync(SCREENSHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'tally-e2e-'));
    store = await openStore({ dataDir, sqliteSynchronous: 'NORMAL' });
    const ws = (await store.workspaces.bootstrapDefault())!;
    const k = generateApiKey();
    await store.keys.create({ workspaceId: ws.id, label: 'e2e logger', prefix: k.display, secretHash: k.hash });
    keyDisplay = k.display;
    const scratch = await store.workspaces.create('scratch');
    const sk = generateApiKey();
    await store.keys.create({ workspaceId: scratch.id, label: 'scratch', prefix: sk.display, secretHash: sk.hash });
    scratchKey = sk.key;
    key = k.key;
    setupToken = (await ownerSetupToken(store))!;
    app = await buildApp(configWith(), { store, logger: false, dashboardDir: DIST });
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
    await page.getByLabel('Password (at least 15 characters').fill(PASSWORD);
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

  it('a new workspace shows the key, a curl and an SDK snippet, and the docs', async () => {
    await page.goto(`${base}/requests`);
    const first = page.getByRole('region', { name: 'Log your first request' });
    await first.waitFor();
    assert.equal(await first.getByTestId('key-prefix').textContent(), `${keyDisplay}…`);
    const curl = (await first.getByLabel('curl example').textContent())!;
    assert.ok(curl.startsWith(`curl -s ${base}/log-request`), curl);
    assert.ok(curl.includes(`X-API-KEY: ${keyDisplay}…`));
    const sdk = (await first.getByLabel('SDK example').textContent())!;
    assert.ok(sdk.includes(`new Tally({ apiKey: '${keyDisplay}…', baseURL: '${base}' })`), sdk);
    assert.equal(await first.getByRole('link', { name: 'API reference' }).getAttribute('href'), '/docs');
    assert.equal(await page.getByText('No requests match').count(), 0);
    assert.equal(await page.locator('table.log').isVisible(), false, 'no empty table');
    assert.equal(await page.getByRole('navigation', { name: 'Pages' }).isVisible(), false, 'no pager');
    assert.equal(await page.getByRole('region', { name: 'Bulk scoring' }).isVisible(), false, 'no bulk scoring');
    await page.getByTestId('total').filter({ hasText: '0 matching' }).waitFor();
    // The nav links the API reference (under Settings), and the page has an icon.
    await page.getByRole('navigation', { name: 'Main' }).getByText('Settings').click();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API docs' }).getAttribute('href'), '/docs');
    await page.keyboard.press('Escape');
    assert.match((await page.locator('link[rel="icon"]').getAttribute('href'))!, /^data:image\/svg\+xml,/);
    await shotAtWidths('request-log-empty');
    await assertAccessible('the empty request log');

    // The curl snippet's body, sent as shown (to a scratch workspace, so the story's log stays
    // empty), is a request the server takes.
    const res = await apiCall('POST', '/log-request', JSON.parse(/-d '([\s\S]*)'$/.exec(curl)![1]!), scratchKey);
    assert.equal(res.status, 201, JSON.stringify(res.body));
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
    // While the page loads the table says so (held back here), never "0 shown".
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/v1/requests/search?*', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${base}/requests`);
    await page.getByRole('status').filter({ hasText: 'Loading requests…' }).waitFor();
    assert.equal(await page.getByTestId('page-range').textContent(), 'Loading…');
    assert.equal(await page.getByText(/0 shown|No requests/).count(), 0);
    release();
    const rows = page.locator('table.log tbody tr');
    await page.getByTestId('page-range').filter({ hasText: '1–15 of 15' }).waitFor();
    await page.unroute('**/v1/requests/search?*');
    assert.equal(await rows.count(), 15);
    assert.equal(await page.getByTestId('total').textContent(), '15 matching');
    await page.getByText('openai / gpt-4o-mini').first().waitFor();
    await page.getByText('greeter v2').first().waitFor();
    // Status as text; previews of the last user message and of the answer, as plain text.
    assert.deepEqual(new Set(await page.locator('table.log tbody .status-badge').allTextContents()), new Set(['SUCCESS']));
    const row0 = rows.filter({ hasText: 'Question number 0' });
    await row0.locator('[data-preview="output"]').filter({ hasText: 'Answer number 0' }).waitFor();
    assert.equal(await row0.locator('[data-preview="input"]').textContent(), 'Question number 0');
    assert.equal(await rows.locator('[data-preview="output"]').filter({ hasText: '[tool call get_weather]' }).count(), 1);

    // Past the server's bound the total reads "10,000+" (the bound itself is tested in the server suite).
    await page.route('**/v1/requests/count?*', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify({ success: true, count: 10000, exact: false }) }));
    await page.reload();
    await page.getByTestId('total').filter({ hasText: '10,000+ matching' }).waitFor();
    await page.getByTestId('page-range').filter({ hasText: '1–15 of 10,000+' }).waitFor();
    await page.unroute('**/v1/requests/count?*');
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
    // "Who" never breaks inside a word: each side of the email's "@" sits on one line.
    const whoLines = async () =>
      history
        .locator('td.who')
        .first()
        .evaluate((td) => {
          const range = document.createRange();
          return [...td.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => (range.selectNodeContents(n), range.getClientRects().length));
        });
    assert.deepEqual(await whoLines(), [1, 1]);
    await shotAtWidths('request', async () => assert.deepEqual(await whoLines(), [1, 1]));
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
    // Every DOM state the page passes through, as (progress line, request shown): a request on screen
    // must always be the one the progress line names, even for one frame, or a key press acts on it.
    // (A string, not a function: tsx would wrap a named arrow function in a helper the page lacks.)
    await page.evaluate(`(() => {
      const seen = (window.reviewSeen = []);
      const record = () => {
        const progress = document.querySelector('.progress')?.textContent?.match(/Request \\d+/)?.[0];
        const link = [...document.querySelectorAll('a')].find((a) => /^Open request \\d+$/.test(a.textContent ?? ''));
        if (progress && link) seen.push([progress, link.textContent]);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
      record();
    })()`);
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
    const shown = new Map<string, Set<string>>();
    for (const [p, l] of await page.evaluate(() => (window as unknown as { reviewSeen: [string, string][] }).reviewSeen)) shown.set(p, (shown.get(p) ?? new Set()).add(l));
    for (const [p, links] of shown) assert.equal(links.size, 1, `${p} showed one request only, saw ${[...links]}`);
    assert.deepEqual([...shown.get('Request 1')!], [`Open request ${first}`]);
    assert.deepEqual([...shown.get('Request 2')!], [`Open request ${second}`]);
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

  it('"Review these" on a log filtered by a score reviews that score, showing the current scores', async () => {
    await page.goto(`${base}/requests?has_score=tone`);
    await page.getByTestId('page-range').filter({ hasText: '1–6 of 6' }).waitFor();
    await page.getByRole('link', { name: 'Review these' }).click();
    await page.waitForURL(/\/review\?.*name=tone/);
    const picker = page.getByLabel('Score to review');
    assert.equal(await picker.inputValue(), 'tone');
    // The picker starts with the name from the link and fills from the facets' score names.
    await picker.locator('option', { hasText: /^default$/ }).waitFor({ state: 'attached' });
    assert.deepEqual(new Set(await picker.locator('option').allTextContents()), new Set(['default', 'tone']));
    await page.locator('.progress').filter({ hasText: 'Request 1 of 6' }).waitFor();
    await page.locator('.hint strong').filter({ hasText: /^tone$/ }).waitFor();
    const id = Number((await page.getByRole('link', { name: /^Open request \d+$/ }).textContent())!.replace(/\D/g, ''));
    const current = page.getByLabel('Current scores');
    const expected = await scoresOf(id);
    assert.equal(expected.tone, 44);
    for (const [n, v] of Object.entries(expected)) assert.equal(await current.locator(`[data-score-chip="${n}"]`).textContent(), `${n} ${v}`);
    assert.equal(await page.getByRole('slider', { name: 'tone score' }).getAttribute('aria-valuenow'), '44', 'the slider starts at the current score');

    // "Saved" appears without moving anything below it.
    const top = async () => (await page.locator('.review-bar').boundingBox())!.y;
    const before = await top();
    await page.keyboard.press('s');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.getByTestId('review-status').filter({ hasText: `Saved tone = 45 on request ${id}` }).waitFor();
    await page.locator('.progress').filter({ hasText: 'Request 2 of 6' }).waitFor();
    assert.equal(await top(), before);
    assert.equal((await scoresOf(id)).tone, 45);
    await shotAtWidths('review');

    // The picker switches the score under review.
    await picker.selectOption('default');
    await page.waitForURL(/name=default/);
    await page.locator('.hint strong').filter({ hasText: /^default$/ }).waitFor();
    await page.getByRole('slider', { name: 'default score' }).waitFor();
  });

  it('the log holds four score columns at 1,024 and 1,440 px', async () => {
    for (const [i, l] of logged.slice(0, 4).entries()) {
      assert.equal((await apiCall('PUT', `/v1/requests/${l.id}/scores/accuracy`, { score: 60 + i })).status, 200);
      assert.equal((await apiCall('PUT', `/v1/requests/${l.id}/scores/helpfulness`, { score: 70 + i })).status, 200);
    }
    await page.goto(`${base}/requests`);
    await page.getByRole('button', { name: 'Score: helpfulness' }).waitFor();
    await page.locator('[data-preview="input"]').filter({ hasText: 'Question number 1' }).first().waitFor();
    assert.equal(await page.locator('table.log thead th.score-col').count(), 4);
    await shotAtWidths('request-log-scores', async (width) => {
      // No header wraps onto a second line, and the time stays on one line.
      const heights = await page.locator('table.log thead th').evaluateAll((ths) => ths.map((th) => th.getBoundingClientRect().height).filter((h) => h > 0));
      assert.equal(new Set(heights).size, 1, `header heights at ${width}: ${heights}`);
      const timeRects = await page.locator('table.log tbody tr td:nth-child(2) a').first().evaluate((a) => a.getClientRects().length);
      assert.equal(timeRects, 1);
      const wrap = await page.locator('.table-wrap').evaluate((w) => [w.scrollWidth, w.clientWidth, ...[...w.querySelectorAll('thead th')].map((th) => Math.round(th.getBoundingClientRect().width))]);
      assert.ok(wrap[0]! <= wrap[1]!, `no sideways scroll at ${width} px: ${wrap}`);
      // Every row is two lines high at most (model over prompt, input over output), never more.
      const rowHeights = await page.locator('table.log tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getBoundingClientRect().height));
      assert.ok(Math.max(...rowHeights) < 60, `row heights at ${width}: ${rowHeights}`);
    });
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

    // The pickers offer what exists: both versions, the models logged.
    const versionPicker = page.locator('select[name="a.prompt_version"]');
    await versionPicker.locator('option[value="2"]').waitFor({ state: 'attached' });
    assert.deepEqual(await versionPicker.locator('option').allTextContents(), ['any', '1', '2']);
    assert.ok((await page.locator('select[name="b.model"] option').allTextContents()).includes('gpt-4o-mini'));
    await versionPicker.selectOption('1');
    await page.locator('select[name="b.prompt_version"]').selectOption('2');
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

  it('analytics puts the series on a time axis that keeps gaps, with labelled axes and a legend', async () => {
    // Scores so far fall on 10, 11 and 12 January; one more, eight days after the last.
    const start = Date.UTC(2025, 0, 20, 12) / 1000;
    const late = await apiCall('POST', '/log-request', {
      provider: 'openai',
      model: 'gpt-4o',
      input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Later question' }] }] },
      output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Later answer' }] }] },
      request_start_time: start,
      request_end_time: start + 1,
    });
    assert.equal(late.status, 201);
    assert.equal((await apiCall('PUT', `/v1/requests/${late.body.id as number}/scores/default`, { score: 30 })).status, 200);

    await page.goto(`${base}/analytics?name=default`);
    const chart = page.getByRole('region', { name: 'Over time' });
    const dots = chart.locator('.recharts-line-dot');
    await dots.nth(3).waitFor();
    assert.equal(await dots.count(), 4);
    const xs = await dots.evaluateAll((ds) => ds.map((d) => Number(d.getAttribute('cx'))));
    const day = xs[1]! - xs[0]!;
    assert.ok(day > 0 && Math.abs(xs[2]! - xs[1]! - day) < 1, `evenly spaced days: ${xs}`);
    assert.ok(Math.abs((xs[3]! - xs[2]!) / day - 8) < 0.05, `eight days apart on the axis: ${xs}`);
    // The mean's line is not drawn across the eight days without data.
    const path = (await chart.locator('.recharts-line-curve').getAttribute('d'))!;
    assert.equal(path.match(/M/g)?.length, 2, path);
    await chart.locator('.recharts-cartesian-axis-tick-value').filter({ hasText: '2025-01-20' }).first().waitFor();
    for (const label of ['day (UTC)', 'mean default', 'scored requests']) await chart.locator('.recharts-label').filter({ hasText: label }).waitFor();
    assert.deepEqual(new Set(await chart.locator('.recharts-legend-item-text').allTextContents()), new Set(['scored requests', 'mean default']));
    const histogram = page.getByRole('region', { name: 'Histogram' });
    for (const label of ['default score', 'requests']) await histogram.locator('.recharts-label').filter({ hasText: label }).waitFor();
    await shotAtWidths('analytics');

    // By hour, the same data spans hundreds of hours: the tick labels thin out rather than overlap.
    await page.getByLabel('Interval').selectOption('hour');
    await chart.getByText('hour (UTC)').waitFor();
    await dots.nth(3).waitFor();
    // The chart is drawn in a render after the summary's, so its ticks may be in the page before
    // they are laid out (every box 0 wide): wait for the laid-out ones.
    const hourTicks = chart.locator('.recharts-cartesian-axis-tick-value').filter({ hasText: /\d\d:00$/ });
    const laidOut = () => hourTicks.evaluateAll((ts) => ts.map((t) => t.getBoundingClientRect()).map((r) => [r.left, r.right]));
    let ticks = await laidOut();
    for (const until = Date.now() + 10_000; !(ticks.length >= 2 && ticks.every(([l, r]) => r! > l!)) && Date.now() < until; ticks = await laidOut()) await page.waitForTimeout(50);
    assert.ok(ticks.length >= 2);
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i]![0]! > ticks[i - 1]![1]!, `ticks overlap: ${JSON.stringify(ticks)}`);
    await shot('analytics-hour');
  });

  it('analytics filters by tag and time range, breaks down by a metadata key, and sets the score against latency', async () => {
    await page.goto(`${base}/analytics?name=default`);
    const count = page.locator('[data-stat="Count"]');
    await count.waitFor();
    // By a metadata key picked from the keys that exist: the same groups and counts as the API's.
    const breakdown = page.getByRole('region', { name: 'Breakdown' });
    await breakdown.getByLabel('Break down by').locator('option[value="metadata.customer"]').waitFor({ state: 'attached' });
    await breakdown.getByLabel('Break down by').selectOption('metadata.customer');
    const byCustomer = await apiCall('GET', '/v1/scores/stats?name=default&group_by=metadata.customer');
    const groups = (byCustomer.body.scores as { group: { metadata_value: string | null }; count: number }[]).map((e) => [e.group.metadata_value ?? '', String(e.count)]);
    assert.ok(groups.length >= 3, JSON.stringify(groups));
    await breakdown.locator('tr[data-group="c0"]').waitFor();
    const shown = await breakdown.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-group'), tr.children[1]!.textContent]));
    assert.deepEqual(shown, groups);
    // Spearman's rho as the API gives it.
    const corr = await apiCall('GET', '/v1/scores/correlation?name=default&x=latency_ms');
    const rho = (corr.body.spearman as { rho: number | null }).rho;
    const against = page.getByRole('region', { name: 'Score against' });
    await against.locator('.rho').waitFor();
    assert.equal(await against.locator('.rho strong').textContent(), rho === null ? '–' : rho.toFixed(2));
    await against.locator('.recharts-line-dot').first().waitFor();
    await shotAtWidths('analytics-breakdown');
    // A tag narrows every figure: the count is the API's for the tag.
    const eu = await apiCall('GET', '/v1/scores/stats?name=default&tag=eu');
    const euCount = String((eu.body.scores as { count: number }[])[0]!.count);
    await page.getByRole('region', { name: 'Filters' }).getByLabel('Tag').selectOption('eu');
    await count.filter({ hasText: new RegExp(`^${euCount}$`) }).waitFor();
    assert.match(page.url(), /tag=eu/);
    // The scores were logged in January 2025: none in the last 24 hours.
    await page.getByLabel('Time range').selectOption('24h');
    await page.getByText('No scores of default match these filters.').waitFor();
    await page.getByLabel('Time range').selectOption('custom');
    await page.locator('input[name="range.from"]').fill('2025-01-11T00:00');
    await count.waitFor();
    await shot('analytics-filters');
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

  it("a failed request shows ERROR in the log and its error on its page", async () => {
    const res = await apiCall('POST', '/log-request', {
      provider: 'openai',
      model: 'gpt-4o',
      input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'This one times out' }] }] },
      output: { type: 'chat', messages: [] },
      request_start_time: Date.UTC(2025, 0, 12) / 1000,
      request_end_time: Date.UTC(2025, 0, 12) / 1000 + 30,
      status: 'ERROR',
      error_type: 'PROVIDER_TIMEOUT',
      error_message: 'upstream timed out after 30 s',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as number;
    await page.goto(`${base}/requests?status=ERROR`);
    await page.getByTestId('page-range').filter({ hasText: '1–1 of 1' }).waitFor();
    const row = page.locator('table.log tbody tr').first();
    assert.equal(await row.locator('.status-badge').textContent(), 'ERROR');
    assert.equal(await row.locator('.status-badge').evaluate((b) => getComputedStyle(b).color), 'rgb(163, 24, 13)');
    await row.locator('[data-preview="output"]').filter({ hasText: '(failed)' }).waitFor();

    await page.goto(`${base}/requests/${id}`);
    const box = page.getByRole('note', { name: 'Error' });
    await box.getByText('This request failed').waitFor();
    await box.getByText('PROVIDER_TIMEOUT').waitFor();
    await box.getByText('upstream timed out after 30 s').waitFor();
    await page.getByRole('region', { name: 'Output' }).getByText('No output: the request failed before an answer was logged').waitFor();
    await shotAtWidths('request-failed');
  });

  it('creates a webhook, shows its secret once, and lists its deliveries as they arrive', async () => {
    const rx = await startReceiver();
    try {
      await page.goto(`${base}/webhooks`);
      await page.getByLabel('URL').fill(rx.url);
      await page.getByLabel('Description').fill('e2e receiver');
      await page.getByRole('button', { name: 'Create webhook' }).click();
      const secret = (await page.getByTestId('webhook-secret').textContent())!;
      assert.match(secret, /^whsec_/);
      const scored = await apiCall('PUT', `/v1/requests/${logged[0]!.id}/scores/e2e-hook`, { score: 77 });
      assert.equal(scored.status, 200);
      const deliveries = page.getByRole('table', { name: 'Deliveries' });
      await deliveries.getByRole('row').filter({ hasText: 'score.created' }).filter({ hasText: 'delivered' }).waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: 'Send test event' }).click();
      await deliveries.getByRole('row').filter({ hasText: 'webhook.test' }).filter({ hasText: 'delivered' }).waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: 'Done' }).click();
      assert.equal(await page.getByText(secret).count(), 0, 'the secret is gone once dismissed');
      await shotAtWidths('webhooks');
      assert.ok(rx.received.some((r) => (JSON.parse(r.body) as { type: string; data: { new_value?: number } }).data.new_value === 77), 'the receiver got the score');
    } finally {
      await rx.close();
    }
  });

  it('creates an alert, evaluates it, and shows its state, chart and history', async () => {
    for (let i = 0; i < 12; i++) {
      const res = await apiCall('POST', '/log-request', {
        provider: 'openai',
        model: 'gpt-4o-mini',
        input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: `alert ${i}` }] }] },
        output: { type: 'chat', messages: [] },
        request_start_time: Date.now() / 1000 - 5,
        request_end_time: Date.now() / 1000,
        score: 10 + i,
        score_name: 'e2e-watch',
      });
      assert.equal(res.status, 201);
    }
    await page.goto(`${base}/alerts`);
    const form = page.getByRole('form', { name: 'New alert' });
    await form.getByLabel('Name', { exact: true }).fill('watch drops');
    await form.getByLabel('Score name').fill('e2e-watch');
    await form.getByLabel('Min. scores').fill('10');
    await form.getByRole('button', { name: 'Create alert' }).click();
    const view = page.getByRole('region', { name: 'Alert watch drops' });
    await view.getByRole('button', { name: 'Evaluate now' }).click();
    await view.getByTestId('evaluation').filter({ hasText: 'firing' }).waitFor();
    await view.getByRole('img', { name: /mean of e2e-watch and its interval against the threshold/ }).waitFor();
    await view.getByRole('list', { name: 'State changes' }).getByText('fired').waitFor();
    await page.getByRole('table', { name: 'Alerts' }).getByRole('row').filter({ hasText: 'watch drops' }).filter({ hasText: 'firing' }).waitFor();
    await shotAtWidths('alerts');
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
  it('axe-core finds no serious or critical violation on any page, and Tab reaches every control', async () => {
    const pages: [string, string, () => Promise<unknown>][] = [
      ['the request log', '/requests', () => page.waitForFunction(() => document.querySelectorAll('table.log tbody tr').length > 0)],
      ['the filtered log', '/requests?status=ERROR', () => page.getByTestId('page-range').filter({ hasText: '1–1 of 1' }).waitFor()],
      ['a request', `/requests/${logged[0]!.id}`, () => page.getByRole('region', { name: 'Input' }).waitFor()],
      ['review', '/review?name=tone&has_score=tone', () => page.getByRole('link', { name: /^Open request \d+$/ }).waitFor()],
      ['analytics', '/analytics', () => page.getByRole('region', { name: 'Over time' }).locator('.recharts-line-dot').first().waitFor()],
      ['API keys', '/keys', () => page.getByRole('heading', { name: 'API keys' }).waitFor()],
    ];
    for (const [name, path, ready] of pages) {
      await page.goto(`${base}${path}`);
      await ready();
      await assertAccessible(name);
      await assertKeyboardReachable(name);
    }
    // The signed-out pages: the sign-in form, and an invitation's password form.
    const ws = (await store.workspaces.find('default'))!;
    const { token } = await inviteUser(store, ws, 'axe@example.com');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Tally' }).waitFor();
    await assertAccessible('sign-in');
    await assertKeyboardReachable('sign-in');
    await page.goto(`${base}/setup/${token}`);
    await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await assertAccessible('an invitation');
    await assertKeyboardReachable('an invitation');
  });
});
