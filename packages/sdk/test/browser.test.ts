/**
 * The built SDK in a real browser: Debian's chromium driven by playwright-core opens a page served
 * by a tiny static server (one loopback origin) that imports `dist/` as ES modules and calls a real
 * `tally serve` process (another origin) started with `--cors-origins` set to the page's origin.
 * A page of a third origin, not in the list, is blocked by the browser. Each backend gets its own
 * server; the browser is shared.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { BACKENDS, freshLocation, type StoreLocationForTest } from '../../server/test/helpers/backends.js';
import { startServer, type ServerProcess } from '../../server/test/helpers/process.js';
import { ensureSdkBuilt } from './helpers/built-sdk.js';
import { checkScenarioErrors, checkScenarioResult, checkStored, httpApi, idsTagged, type Failure, type NativeApi, type ScenarioResult } from './helpers/scenario-checks.js';
import { startStaticSite, type StaticSite } from './helpers/static-site.js';

const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
// Low, so the last test can reach the limit and see its 429 and Retry-After from the page.
const AUTH_FAILURES_PER_MINUTE = 3;

/** What fixtures/page.html puts on `window`. */
interface TestWindow {
  tallyTest: {
    scenario(opts: { apiKey: string; baseURL: string; tag: string }): Promise<ScenarioResult>;
    untilRateLimited(opts: { baseURL: string }): Promise<Failure[]>;
    withoutEnvironment(): Promise<{ hasProcess: boolean; noKey: Failure; defaultBaseURL: string }>;
    calls(opts: { apiKey: string; baseURL: string; tag: string; readId: number }): Promise<{ log: Failure; read: Failure }>;
  };
}

let browser: Browser;
let site: StaticSite;
let foreignSite: StaticSite;

before(async () => {
  ensureSdkBuilt();
  site = await startStaticSite();
  foreignSite = await startStaticSite();
  // As the dashboard's e2e test: chromium.launch gives every run a fresh temporary user-data dir.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await foreignSite?.close();
});

/** A page of `origin` with the SDK loaded, collecting what the browser prints to its console. */
async function openPage(context: BrowserContext, origin: string): Promise<{ page: Page; console: string[] }> {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const messages: string[] = [];
  page.on('console', (m) => messages.push(m.text()));
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  const res = await page.goto(`${origin}/`);
  assert.equal(res?.status(), 200);
  await page.waitForFunction('document.getElementById("status").textContent === "ready"');
  return { page, console: messages };
}

for (const backend of BACKENDS) {
  describe(`@tally/sdk in chromium, from a page of another origin [${backend}]`, { timeout: 180_000 }, () => {
    let location: StoreLocationForTest;
    let server: ServerProcess;
    let key: string;
    let context: BrowserContext;
    let page: Page;
    let pageConsole: string[];
    let result: ScenarioResult;
    // The server's native API, called from Node (no CORS involved).
    let api: NativeApi;
    const tag = `browser-${backend}`;

    before(async () => {
      location = await freshLocation(backend);
      server = await startServer([...location.args, '--cors-origins', site.origin, '--auth-failures-per-minute', String(AUTH_FAILURES_PER_MINUTE)]);
      assert.ok(server.firstKey, `the first start printed a key:\n${server.stdout()}`);
      key = server.firstKey;
      api = httpApi(server.url, key);
      assert.notEqual(new URL(server.url).origin, site.origin);
      context = await browser.newContext();
      ({ page, console: pageConsole } = await openPage(context, site.origin));
      result = await page.evaluate((opts) => (window as unknown as TestWindow).tallyTest.scenario(opts), { apiKey: key, baseURL: server.url, tag });
    });
    after(async () => {
      await context?.close();
      if (server) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      await location?.drop();
    });

    it('logs, scores (POST, PUT, DELETE), searches every page and exports from the page', () => {
      checkScenarioResult(result, tag);
      assert.deepEqual(pageConsole.filter((m) => /CORS|pageerror/.test(m)), []);
    });

    it('what the page wrote is in Tally, read through the native API', async () => {
      await checkStored(api, result, tag);
    });

    it('a score of 101, a missing id and a wrong key reject with a typed TallyError in the page', () => {
      checkScenarioErrors(result);
    });

    it('without `process` (a browser), no key is a TallyError naming TALLY_API_KEY and the base URL is the default', async () => {
      const r = await page.evaluate(() => (window as unknown as TestWindow).tallyTest.withoutEnvironment());
      assert.deepEqual(r, {
        hasProcess: false,
        noKey: { tallyError: true, name: 'TallyError', status: 0, code: 'missing_api_key', message: 'apiKey: no API key given and TALLY_API_KEY is not set', retryAfter: null },
        defaultBaseURL: 'http://127.0.0.1:8787',
      });
    });

    it('a page of an origin not in --cors-origins is blocked by the browser: nothing written, nothing read', async () => {
      const foreignContext = await browser.newContext();
      try {
        const { page: foreign, console: foreignConsole } = await openPage(foreignContext, foreignSite.origin);
        const foreignTag = `${tag}-blocked`;
        const r = await foreign.evaluate((opts) => (window as unknown as TestWindow).tallyTest.calls(opts), { apiKey: key, baseURL: server.url, tag: foreignTag, readId: result.ids[0] });
        for (const f of [r.log, r.read]) {
          assert.deepEqual([f.tallyError, f.status, f.code], [true, 0, 'network'], JSON.stringify(f));
          assert.match(f.message ?? '', /^request: could not reach Tally at /);
        }
        // The browser says why: the preflight answer allows no origin.
        const blocked = foreignConsole.filter((m) => m.includes('has been blocked by CORS policy'));
        assert.ok(blocked.some((m) => m.includes(`${server.url}/log-request`) && m.includes(`from origin '${foreignSite.origin}'`)), foreignConsole.join('\n'));
        assert.ok(blocked.some((m) => m.includes(`${server.url}/v1/requests/${result.ids[0]}`)), foreignConsole.join('\n'));
        assert.deepEqual(await idsTagged(api, foreignTag), []);
      } finally {
        await foreignContext.close();
      }
    });

    it('a 429 with Retry-After reaches the allowed page as a TallyError carrying retryAfter', async () => {
      const seen = await page.evaluate((opts) => (window as unknown as TestWindow).tallyTest.untilRateLimited(opts), { baseURL: server.url });
      const last = seen.at(-1)!;
      assert.ok(seen.length >= 1 && seen.length <= AUTH_FAILURES_PER_MINUTE, JSON.stringify(seen));
      assert.deepEqual(
        seen.slice(0, -1).map((f) => [f.status, f.code]),
        seen.slice(0, -1).map(() => [401, 'unauthorized']),
      );
      assert.deepEqual([last.tallyError, last.status, last.code], [true, 429, 'rate_limited'], JSON.stringify(last));
      assert.ok(typeof last.retryAfter === 'number' && last.retryAfter >= 1 && last.retryAfter <= 60, `retryAfter: ${last.retryAfter}`);
    });
  });
}
