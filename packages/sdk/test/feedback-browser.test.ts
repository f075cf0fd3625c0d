/**
 * examples/feedback-thumbs in a real browser: a real `tally serve` on one origin, the example's
 * backend (which logs answers with its key and mints their tokens) on another, and chromium clicking
 * thumbs up then down on the example's page. The page talks to Tally directly, across origins,
 * with no key: afterwards the request has one end-user rating (down) and two history rows.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { BACKENDS, freshLocation, type StoreLocationForTest } from '../../server/test/helpers/backends.js';
import { startServer, type ServerProcess } from '../../server/test/helpers/process.js';
import { ensureSdkBuilt } from './helpers/built-sdk.js';

const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface Example {
  url: string;
  child: ChildProcess;
  output(): string;
}

/** Starts the example's backend on a free port and waits for the address it prints. */
function startExample(env: NodeJS.ProcessEnv): Promise<Example> {
  const child = spawn(process.execPath, ['examples/feedback-thumbs/server.mjs'], { cwd: ROOT, env: { ...process.env, ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example did not start:\n${out}`)), 20_000);
    child.stderr!.on('data', (d) => (out += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /example listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, child, output: () => out });
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`example exited with ${code}:\n${out}`));
    });
  });
}

let browser: Browser;
before(async () => {
  ensureSdkBuilt();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
});
after(async () => {
  await browser?.close();
});

for (const backend of BACKENDS) {
  describe(`examples/feedback-thumbs in chromium, page and Tally on two origins [${backend}]`, { timeout: 180_000 }, () => {
    let location: StoreLocationForTest;
    let server: ServerProcess;
    let example: Example;
    let key: string;

    before(async () => {
      location = await freshLocation(backend);
      server = await startServer(location.args);
      key = server.firstKey!;
      example = await startExample({ TALLY_API_KEY: key, TALLY_BASE_URL: server.url });
    });
    after(async () => {
      example?.child.kill('SIGTERM');
      server?.child.kill('SIGTERM');
      await server?.exited;
      await location?.drop();
    });

    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': key } });
      assert.equal(res.status, 200, path);
      return (await res.json()) as T;
    };

    let ratedId = 0;

    it('thumbs up then down leaves one end-user rating (down) and two history rows', async () => {
      assert.notEqual(new URL(example.url).origin, new URL(server.url).origin);
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        const consoleLines: string[] = [];
        page.on('console', (m) => consoleLines.push(m.text()));
        await page.goto(example.url);
        await page.waitForSelector('body[data-ready="true"]');
        const article = page.locator('article').first();
        const id = Number(await article.getAttribute('data-request-id'));
        assert.ok(id > 0);
        // The page holds no API key, only tokens.
        assert.equal((await page.content()).includes(key), false);

        await article.locator('button.up').click();
        await page.waitForFunction(() => document.querySelector('article .status')?.textContent !== 'sending' && document.querySelector('article .status')?.textContent !== '');
        assert.equal(await article.locator('.status').textContent(), 'recorded up', consoleLines.join('\n'));
        await article.locator('button.down').click();
        await page.waitForFunction(() => document.querySelector('article .status')?.textContent === 'recorded down' || document.querySelector('article .status')?.textContent?.startsWith('failed'));
        assert.equal(await article.locator('.status').textContent(), 'recorded down', consoleLines.join('\n'));

        ratedId = id;
        const { request } = await api<{ request: { scores: Record<string, number>; score_details: Record<string, { ratings: { rater: string; value: number; source: string }[] }> } }>(`/v1/requests/${id}`);
        assert.deepEqual(request.scores, { thumbs: 0 });
        assert.deepEqual(request.score_details.thumbs!.ratings.map((r) => [r.rater, r.value, r.source]), [['end_user:demo-visitor', 0, 'end_user']]);
        const { events } = await api<{ events: { name: string; old_value: number | null; new_value: number | null; actor: string; source: string }[] }>(`/v1/requests/${id}/scores/history`);
        assert.deepEqual(
          events.map((e) => [e.name, e.old_value, e.new_value, e.actor, e.source]),
          [
            ['thumbs', null, 100, 'end_user:demo-visitor', 'end_user'],
            ['thumbs', 100, 0, 'end_user:demo-visitor', 'end_user'],
          ],
        );
        // The other answer on the page was not touched.
        const otherId = Number(await page.locator('article').nth(1).getAttribute('data-request-id'));
        assert.deepEqual((await api<{ events: unknown[] }>(`/v1/requests/${otherId}/scores/history`)).events, []);
      } finally {
        await context.close();
      }
    });

    it("the dashboard's request page shows the end user's rating apart from the reviewers'", async () => {
      assert.ok(ratedId > 0, 'the first test rated a request');
      const setup = /\/setup\/[A-Za-z0-9_-]+/.exec(server.stdout());
      assert.ok(setup, server.stdout());
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        await page.goto(`${server.url}${setup[0]}`);
        await page.getByLabel('Email').fill('owner@example.com');
        await page.getByLabel('Password (at least 15 characters').fill('a long enough password');
        await page.getByLabel('Repeat the password').fill('a long enough password');
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.getByRole('heading', { name: 'Requests' }).waitFor();
        await page.goto(`${server.url}/requests/${ratedId}`);
        const section = page.getByRole('region', { name: "End users' ratings" });
        await section.waitFor();
        const text = (await section.textContent()) ?? '';
        assert.match(text, /thumbs\s*1 end user, mean 0/);
        assert.match(text, /demo-visitor/);
      } finally {
        await context.close();
      }
    });
  });
}
