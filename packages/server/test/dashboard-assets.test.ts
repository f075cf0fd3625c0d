import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const DASHBOARD = fileURLToPath(new URL('../../dashboard/', import.meta.url));
const VITE = fileURLToPath(new URL('../../../node_modules/vite/bin/vite.js', import.meta.url));
// Vite's default chunk-size warning: kB of minified code, 1000 bytes each.
const CHUNK_LIMIT_BYTES = 500 * 1000;
const IMMUTABLE = 'public, max-age=31536000, immutable';

describe('dashboard pages and assets, from a fresh build', () => {
  let dir: string;
  let build: { stdout: string; stderr: string };
  let t: TestApp;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-dashboard-'));
    // The build as shipped, into a folder of this test's own (the shared dist/ may be in use).
    const res = spawnSync(process.execPath, [VITE, 'build', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: DASHBOARD, encoding: 'utf8' });
    assert.equal(res.status, 0, `vite build: ${res.stderr}`);
    build = { stdout: res.stdout, stderr: res.stderr };
    t = await createTestApp(BACKENDS[0]!, { dashboardDir: dir });
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const assetsOf = (html: string) => [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);

  it('serves every page of the app with cache-control no-cache', async () => {
    for (const url of ['/', '/requests', '/requests/12', '/review', '/analytics', '/keys', '/score-schemas', '/queues', '/queues/3', '/queues/3/review', '/agreement', '/login', '/setup/abc']) {
      const res = await t.inject({ method: 'GET', url });
      assert.ok(res.statusCode === 200 || res.statusCode === 401, `${url}: ${res.statusCode}`);
      assert.equal(res.headers['cache-control'], 'no-cache', url);
      assert.match(res.body, /<div id="root">/, url);
      assert.ok(assetsOf(res.body).length >= 2, `${url} names its script and stylesheet`);
    }
  });

  it('serves hashed assets as immutable, brotli or gzip by Accept-Encoding, with Vary', async () => {
    const page = await t.inject({ method: 'GET', url: '/login' });
    const files = readdirSync(join(dir, 'assets')).filter((f) => /\.(js|css)$/.test(f));
    assert.ok(files.length > 2, 'the build has several chunks');
    for (const url of assetsOf(page.body)) assert.ok(files.includes(url.slice('/assets/'.length)), `${url} is in the build`);
    for (const file of files) {
      const url = `/assets/${file}`;
      const original = readFileSync(join(dir, 'assets', file));
      const get = (encoding: string) => t.inject({ method: 'GET', url, headers: { 'accept-encoding': encoding } });
      const check = async (encoding: string, expected: 'br' | 'gzip' | undefined) => {
        const res = await get(encoding);
        assert.equal(res.statusCode, 200, url);
        assert.equal(res.headers['cache-control'], IMMUTABLE, url);
        assert.match(String(res.headers.vary), /accept-encoding/i, `${url}: Vary`);
        if (original.length < 1024) return; // too small to be worth a compressed copy
        assert.equal(res.headers['content-encoding'], expected, `${url} asked with ${encoding}`);
        const body = expected === 'br' ? brotliDecompressSync(res.rawPayload) : expected === 'gzip' ? gunzipSync(res.rawPayload) : res.rawPayload;
        assert.ok(body.equals(original), `${url} decodes to the built file`);
        if (expected !== undefined) assert.ok(res.rawPayload.length < original.length, `${url} is sent smaller`);
      };
      await check('gzip, deflate, br', 'br');
      await check('br', 'br');
      await check('gzip', 'gzip');
      await check('identity', undefined);
    }
  });

  it('splits the dashboard so that no chunk passes Vite’s default warning', () => {
    assert.doesNotMatch(build.stdout + build.stderr, /larger than/i, 'vite warns of no large chunk');
    const js = readdirSync(join(dir, 'assets')).filter((f) => f.endsWith('.js'));
    assert.ok(js.length >= 4, `pages are chunks of their own: ${js.join(', ')}`);
    for (const f of js) {
      const bytes = readFileSync(join(dir, 'assets', f)).length;
      assert.ok(bytes <= CHUNK_LIMIT_BYTES, `${f}: ${bytes} bytes`);
    }
  });
});
