/**
 * Dashboard speed (a script, not a test): opens each page in chromium against an in-process
 * server over a given store (e.g. one filled by `npm run bench:seed`) and prints, per page, the
 * time from navigation start to its first data (a log row, a chart, a table row) as the median of
 * `--runs` loads, after one warm-up load that fills the browser's cache as a returning user's is.
 * The time is read inside the page (performance.now() when a MutationObserver first sees the
 * element), so Playwright's polling adds nothing.
 *
 *   node --import tsx bench/dashboard-speed.ts --store ./bench-data [--runs 5] [--name quality] [--timeout-ms 30000]
 *
 * A page whose data has not shown within `--timeout-ms` is reported as such and not retried.
 *
 * It signs in as `bench@example.com` (an owner, created in the store's first workspace if absent).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { buildApp } from '../packages/server/src/app.js';
import { configWith } from '../packages/server/src/config.js';
import { hashPassword } from '../packages/server/src/auth/passwords.js';
import { openStore } from '../packages/server/src/store/open-store.js';
import { ROOT, median } from './lib/processes.js';

const { values: opts } = parseArgs({
  options: {
    store: { type: 'string' },
    'database-url': { type: 'string' },
    runs: { type: 'string', default: '5' },
    name: { type: 'string', default: 'quality' },
    chromium: { type: 'string', default: process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '30000' },
  },
});
if (!opts.store && !opts['database-url']) throw new Error('--store PATH (a data folder) or --database-url URL is required');
const RUNS = Number(opts.runs);
const TIMEOUT_MS = Number(opts['timeout-ms']);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a positive integer, not ${opts.runs}`);
const DIST = join(ROOT, 'packages/dashboard/dist');
if (!existsSync(join(DIST, 'index.html'))) throw new Error('the dashboard is not built: npm run build -w @tally/dashboard');
const EMAIL = 'bench@example.com';
const PASSWORD = 'a long enough bench password';

async function main() {
  const store = await openStore({ dataDir: opts.store ?? '.', databaseUrl: opts['database-url'] });
  const ws = (await store.workspaces.find('default')) ?? (await store.workspaces.list())[0];
  if (!ws) throw new Error('the store has no workspace: seed it first (npm run bench:seed)');
  const user = (await store.accounts.findUserByEmail(EMAIL)) ?? (await store.accounts.createUser(EMAIL, await hashPassword(PASSWORD)));
  await store.accounts.addMembership(user.id, ws.id, 'owner');
  const app = await buildApp(configWith({ alertIntervalMs: 0, webhookPollMs: 0 }), { store, logger: false, dashboardDir: DIST });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const login = await context.request.post(`${base}/ui/api/login`, { data: { email: EMAIL, password: PASSWORD } });
    if (!login.ok()) throw new Error(`sign-in failed: ${login.status()} ${await login.text()}`);
    const newest = (await context.request.get(`${base}/v1/requests/search?limit=1`).then((r) => r.json())) as { items: { id: number }[] };
    const id = newest.items[0]?.id;
    if (id === undefined) throw new Error('the workspace has no request: seed it first');
    const name = encodeURIComponent(opts.name!);
    const pages: [string, string, string][] = [
      ['request log', '/requests', 'table.log tbody tr'],
      ['request page', `/requests/${id}`, '[aria-label="Input"]'],
      ['review', `/review?name=${name}`, 'main a[href^="/requests/"]'],
      ['analytics', `/analytics?name=${name}`, '.recharts-bar-rectangle, .recharts-line-dot'],
      ['agreement', `/agreement?name=${name}`, '[data-testid="alpha"]'],
      ['queues', '/queues', 'h1'],
      ['members', '/members', 'table.members tbody tr'],
    ];
    // Records, inside the page, when each watched selector first matches.
    // A string: the page's code, kept out of this file's (DOM-less) type checking.
    await context.addInitScript(`(() => {
      const selectors = ${JSON.stringify(pages.map((p) => p[2]))};
      const seen = (window.__firstSeen = {});
      const check = () => {
        for (const s of selectors) if (seen[s] === undefined && document.querySelector(s)) seen[s] = performance.now();
      };
      new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
    })()`);
    const page = await context.newPage();
    // The slowest API call of each load, to say where a slow page spends its time.
    let calls: { url: string; ms: number }[] = [];
    page.on('requestfinished', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/v1/') || path.startsWith('/ui/api/')) calls.push({ url: r.url().slice(base.length), ms: r.timing().responseEnd });
    });
    console.log(`page\tmedian ms\truns (ms)\tslowest API call of the last run`);
    for (const [label, path, selector] of pages) {
      const times: number[] = [];
      let slowest = '';
      for (let run = 0; run <= RUNS; run++) {
        calls = [];
        await page.goto(`${base}${path}`, { waitUntil: 'commit' });
        const shown = await page.waitForSelector(selector, { state: 'attached', timeout: TIMEOUT_MS }).then(
          () => true,
          () => false,
        );
        const t = shown ? ((await page.evaluate(`window.__firstSeen[${JSON.stringify(selector)}]`)) as number) : Infinity;
        const top = calls.sort((a, b) => b.ms - a.ms)[0];
        slowest = top ? `${top.url} ${Math.round(top.ms)} ms` : '';
        if (run > 0) times.push(t);
        // A page that never shows its data is not loaded five more times.
        if (!shown) break;
      }
      const fmt = (t: number) => (Number.isFinite(t) ? String(Math.round(t)) : `>${TIMEOUT_MS}`);
      console.log(`${label}\t${times.length === RUNS ? fmt(median(times)) : `>${TIMEOUT_MS}`}\t${times.map(fmt).join(' ')}\t${slowest}`);
    }
  } finally {
    await browser.close();
    await app.close();
    await store.close();
  }
}

await main();
