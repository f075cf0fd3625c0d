/**
 * Tally as a user installs it (issue 32): `npm pack` makes @tally/sdk and @tally/server (with the
 * built dashboard inside); `npm install --omit=dev` of the two tarballs into an empty folder outside
 * the repository gives a production install with no dev dependency, under 60 MB; `tally serve`
 * starts from it, serves the dashboard, and a request is logged and scored through the installed
 * SDK. The registry packages come from npm's cache when it has them (`--prefer-offline`).
 *
 * better-sqlite3 installs a prebuilt binary that prebuild-install downloads from GitHub, which
 * this machine cannot reach (it would compile SQLite from source instead, minutes). The test hands
 * it the same binary, built by the repository's own install, through prebuild-install's
 * local-prebuilds folder: what the download would have given.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER = join(ROOT, 'packages/server');
const MAX_INSTALL_BYTES = 60_000_000;

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

/** Bytes of every file under `dir` (what the files hold, not the blocks a file system gives them). */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += bytesUnder(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

/** Names of every package installed under `nodeModules`, nested ones too. */
function installedPackages(nodeModules: string, out = new Set<string>()): Set<string> {
  if (!existsSync(nodeModules)) return out;
  for (const e of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const dirs = e.name.startsWith('@') ? readdirSync(join(nodeModules, e.name)).map((n) => `${e.name}/${n}`) : [e.name];
    for (const name of dirs) {
      out.add(name);
      installedPackages(join(nodeModules, name, 'node_modules'), out);
    }
  }
  return out;
}

/** Every package name some installed package depends on at run time (dependencies, optional or peer). */
function neededByInstalled(nodeModules: string, installed: Set<string>): Set<string> {
  const needed = new Set<string>();
  for (const name of installed) {
    // Nested copies are left out: the hoisted one declares the same dependencies.
    const file = join(nodeModules, name, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = readJson(file);
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) for (const d of Object.keys((pkg[field] ?? {}) as object)) needed.add(d);
  }
  return needed;
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('npm', args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** prebuild-install's local-prebuilds folder holding the better-sqlite3 binary the repository built. */
function localPrebuilds(work: string): string {
  const pkgJson = createRequire(join(SERVER, 'package.json')).resolve('better-sqlite3/package.json');
  const version = readJson(pkgJson).version as string;
  const binary = join(dirname(pkgJson), 'build/Release/better_sqlite3.node');
  assert.ok(existsSync(binary), `the repository's better-sqlite3 is built: ${binary}`);
  const stage = join(work, 'prebuild-stage/build/Release');
  mkdirSync(stage, { recursive: true });
  writeFileSync(join(stage, 'better_sqlite3.node'), readFileSync(binary));
  const dir = join(work, 'prebuilds');
  mkdirSync(dir);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['czf', join(dir, name), '-C', join(work, 'prebuild-stage'), 'build']);
  return dir;
}

describe('npm pack, a production install, and tally serve from it', { timeout: 600_000 }, () => {
  let work: string;
  let app: string;
  let installMs = 0;
  let server: ReturnType<typeof spawn> | null = null;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'tally-install-'));
    app = join(work, 'app');
    mkdirSync(app);
    if (!existsSync(join(ROOT, 'packages/dashboard/dist/index.html'))) npm(['run', 'build', '-w', '@tally/dashboard'], ROOT);
  });
  after(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server!.once('close', r));
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('packs @tally/sdk and @tally/server, the dashboard inside the server, no tests or sources', () => {
    const packed = JSON.parse(npm(['pack', '-w', '@tally/sdk', '-w', '@tally/server', '--pack-destination', work, '--json'], ROOT)) as { name: string; filename: string; files: { path: string }[] }[];
    assert.deepEqual(packed.map((p) => p.name).sort(), ['@tally/sdk', '@tally/server']);
    const files = packed.find((p) => p.name === '@tally/server')!.files.map((f) => f.path);
    for (const needed of ['bin/tally.js', 'dist/cli.js', 'dist/setting-flags.json', 'data/common-passwords.txt', 'dashboard/index.html']) assert.ok(files.includes(needed), `the server package holds ${needed}`);
    assert.ok(files.some((f) => /^dashboard\/assets\/.+\.js$/.test(f)), 'and the dashboard assets');
    assert.deepEqual(files.filter((f) => /^(src|test|scripts)\/|\.map$/.test(f)), [], 'no sources, tests or source maps');
    // `postpack` removes the dashboard copy it made for the tarball.
    assert.equal(existsSync(join(SERVER, 'dashboard')), false);
  });

  it('installs with --omit=dev into an empty folder: no dev dependency, under 60 MB', (t) => {
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tally-install-check', private: true, type: 'module', allowScripts: { 'better-sqlite3': true } }));
    const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz')).map((f) => join(work, f));
    assert.equal(tarballs.length, 2);
    const started = Date.now();
    npm(['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], app, { npm_config_better_sqlite3_local_prebuilds: localPrebuilds(work) });
    installMs = Date.now() - started;

    const installed = installedPackages(join(app, 'node_modules'));
    assert.ok(installed.has('@tally/server') && installed.has('@tally/sdk') && installed.has('fastify'), `installed: ${installed.size} packages`);
    const devOnly = [ROOT, SERVER, join(ROOT, 'packages/sdk'), join(ROOT, 'packages/dashboard')].flatMap((d) => Object.keys((readJson(join(d, 'package.json')).devDependencies ?? {}) as object));
    // pg is a dev dependency of the root (bench, tests) and a runtime one of the server; a few dev
    // dependencies of ours (@types/node, @opentelemetry/api) are also runtime dependencies of a
    // runtime dependency (protobufjs, prom-client): those are needed, not dev-only.
    const runtime = new Set(Object.keys(readJson(join(SERVER, 'package.json')).dependencies as object));
    const needed = neededByInstalled(join(app, 'node_modules'), installed);
    assert.deepEqual(devOnly.filter((d) => !runtime.has(d) && !needed.has(d) && installed.has(d)), [], 'no dev dependency is installed');
    assert.ok(!installed.has('typescript') && !installed.has('tsx') && !installed.has('promptlayer') && !installed.has('openai'));
    const bytes = bytesUnder(join(app, 'node_modules'));
    t.diagnostic(`production install: ${installed.size} packages, ${(bytes / 1e6).toFixed(1)} MB in files, ${(installMs / 1000).toFixed(1)} s`);
    assert.ok(bytes < MAX_INSTALL_BYTES, `the production install holds ${(bytes / 1e6).toFixed(1)} MB, at most 60 MB`);
  });

  it('tally serve starts from the install, serves the dashboard, and the installed SDK logs and scores a request', async () => {
    const bin = join(app, 'node_modules/.bin/tally');
    assert.match(execFileSync(bin, ['--help'], { cwd: app, encoding: 'utf8' }), /^Usage: tally/);
    // Run from the install's folder, with no --data: the store goes to ./data there.
    const child = spawn(bin, ['serve', '--port', '0', '--log-level', 'warn'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 30 s:\n${out}`)), 30_000);
      child.stdout!.on('data', () => {
        const m = /Tally listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('close', (code) => reject(new Error(`tally serve exited ${code}:\n${out}`)));
    });
    const key = /^(tl_[0-9A-Za-z]+)$/m.exec(out)?.[1];
    assert.ok(key, `the first start prints the key:\n${out}`);
    assert.ok(existsSync(join(app, 'data/tally.db')), 'the store is in ./data of the folder it runs in');

    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { success: true, status: 'ok' });
    const page = await fetch(`${url}/login`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, `the dashboard page names its script:\n${html.slice(0, 500)}`);
    assert.equal((await fetch(`${url}${asset}`)).status, 200, 'the packaged dashboard assets are served');

    // The installed SDK, imported by its package name from the install's folder.
    writeFileSync(
      join(app, 'log-and-score.mjs'),
      `import { Tally } from '@tally/sdk';
const tally = new Tally({ apiKey: process.env.TALLY_API_KEY, baseURL: process.env.TALLY_BASE_URL });
const t = new Date();
const { id } = await tally.logRequest({ provider: 'openai', model: 'gpt-4o-mini', input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }, output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }] }, request_start_time: t.toISOString(), request_end_time: t.toISOString() });
await tally.track.score({ request_id: id, score: 87 });
const r = await tally.requests.get(id);
console.log(JSON.stringify({ id, scores: r.scores, model: r.model }));
`,
    );
    const result = JSON.parse(execFileSync(process.execPath, ['log-and-score.mjs'], { cwd: app, encoding: 'utf8', env: { ...process.env, TALLY_API_KEY: key, TALLY_BASE_URL: url } })) as { id: number; scores: Record<string, number>; model: string };
    assert.ok(Number.isSafeInteger(result.id) && result.id > 0);
    assert.deepEqual(result.scores, { default: 87 });
    assert.equal(result.model, 'gpt-4o-mini');

    child.kill('SIGTERM');
    assert.equal(await new Promise((r) => child.once('close', r)), 0, 'SIGTERM exits 0');
  });
});
