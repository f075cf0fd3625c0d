/**
 * What the dashboard's browser tests share: a built dashboard, an in-process Tally server over a
 * temporary SQLite store with one workspace and API key, Debian's chromium, and an owner signed
 * in through the one-time setup link. Each test file starts its own, so files run side by side.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildApp } from '../../../server/src/app.js';
import { configWith, type Config } from '../../../server/src/config.js';
import { generateApiKey } from '../../../server/src/auth/api-keys.js';
import { ownerSetupToken } from '../../../server/src/commands/users.js';
import { openStore } from '../../../server/src/store/open-store.js';
import type { Store } from '../../../server/src/store/store.js';

const DASHBOARD = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(DASHBOARD, 'dist');
const CHROMIUM = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
export const EMAIL = 'owner@example.com';
export const PASSWORD = 'a long enough password';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the dashboard when dist/ is missing or older than its sources. */
export function ensureBuilt(): void {
  const index = join(DIST, 'index.html');
  const sources = Math.max(newestMtime(join(DASHBOARD, 'src')), statSync(join(DASHBOARD, 'index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  let vite: string | null = null;
  for (const base of [join(DASHBOARD, 'node_modules'), join(DASHBOARD, '../../node_modules')]) if (!vite && existsSync(join(base, 'vite/bin/vite.js'))) vite = join(base, 'vite/bin/vite.js');
  if (!vite) throw new Error('vite is not installed: run npm install at the repository root');
  execFileSync(process.execPath, [vite, 'build'], { cwd: DASHBOARD, stdio: 'ignore' });
}

export interface Harness {
  base: string;
  key: string;
  store: Store;
  page: Page;
  userId: number;
  shotsDir: string;
  /** A call to the API with the workspace's key. */
  apiCall: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;
  /** Full-page screenshots at 1,024 and 1,440 px, asserting nothing runs off the side. */
  shotAtWidths: (name: string) => Promise<string[]>;
  close: () => Promise<void>;
}

/** Starts a server (with settings besides the defaults) and a browser, and signs the owner in. */
export async function startHarness(label: string, settings: Partial<Config> = {}): Promise<Harness> {
  ensureBuilt();
  const shotsDir = process.env.TALLY_SHOTS ?? join(tmpdir(), 'tally-shots');
  mkdirSync(shotsDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), `tally-${label}-`));
  const store = await openStore({ dataDir, sqliteSynchronous: 'NORMAL' });
  const ws = (await store.workspaces.bootstrapDefault())!;
  const k = generateApiKey();
  await store.keys.create({ workspaceId: ws.id, label: `${label} logger`, prefix: k.display, secretHash: k.hash });
  const setupToken = (await ownerSetupToken(store))!;
  const app: FastifyInstance = await buildApp(configWith(settings), { store, logger: false, dashboardDir: DIST });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('dialog', (d) => void d.accept());

  await page.goto(`${base}/setup/${setupToken}`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password (at least 15 characters').fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Requests' }).waitFor();
  const session = (await (await page.request.get(`${base}/ui/api/session`)).json()) as { user: { id: number } };

  const apiCall = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'x-api-key': k.key, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const shotAtWidths = async (name: string) => {
    const paths: string[] = [];
    for (const width of [1024, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(150);
      const path = join(shotsDir, `${name}-${width}.png`);
      await page.screenshot({ path, fullPage: true });
      paths.push(path);
      const wide = await page.evaluate(() => [document.documentElement.scrollWidth, ...[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth).slice(0, 3).map((e) => e.className || e.tagName)]);
      assert.ok((wide[0] as number) <= width, `${name}: no horizontal page scroll at ${width} px: ${wide}`);
    }
    await page.setViewportSize({ width: 1400, height: 900 });
    return paths;
  };
  return {
    base,
    key: k.key,
    store,
    page,
    userId: session.user.id,
    shotsDir,
    apiCall,
    shotAtWidths,
    close: async () => {
      await browser.close();
      await app.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Logs `n` chat requests through the API; their ids, oldest first. */
export async function logRequests(h: Harness, n: number, model = 'gpt-4o'): Promise<number[]> {
  const ids: number[] = [];
  const start = Date.UTC(2025, 0, 10, 9) / 1000;
  for (let i = 0; i < n; i++) {
    const res = await h.apiCall('POST', '/log-request', {
      provider: 'openai',
      model,
      input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: `Question ${i} for ${model}` }] }] },
      output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: `Answer ${i} from ${model}` }] }] },
      request_start_time: start + i * 60,
      request_end_time: start + i * 60 + 1,
      tags: ['e2e'],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    ids.push(res.body.id as number);
  }
  return ids;
}
