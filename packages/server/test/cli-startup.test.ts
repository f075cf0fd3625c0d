/**
 * The CLI as a new user meets it (issue 32): `--help` loads only the commands' declarations (what
 * made it take over a second), every command but `serve` refuses a missing store and says where it
 * looked, `--workspace` defaults to `default`, `backup` creates its folder, and printed links start
 * with `--public-url`. No timing is asserted here: `npm run bench:cli` measures the start-up.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { settingFlags } from '../src/cli-settings.js';
import { openStore } from '../src/store/open-store.js';
import { BACKENDS, freshLocation, withPgClient, type StoreLocationForTest } from './helpers/backends.js';
import { CLI, runCli, startServer } from './helpers/process.js';

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Runs the built CLI with a module hook that lists every module it loads (on stderr, one per line). */
function modulesLoadedBy(args: string[], hookDir: string): Promise<{ code: number | null; modules: string[]; stdout: string }> {
  const hook = join(hookDir, 'list-loads.mjs');
  writeFileSync(
    hook,
    `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`export async function load(url, context, next) { process._rawDebug('LOADED ' + url); return next(url, context); }\`));
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', hook, ...CLI, ...args], { cwd: SERVER_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, modules: [...stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!) }));
  });
}

describe('tally --help', () => {
  let hookDir: string;
  before(() => {
    hookDir = mkdtempSync(join(tmpdir(), 'tally-hook-'));
  });
  after(() => rmSync(hookDir, { recursive: true, force: true }));

  it('loads commander and the command declarations only: no store, HTTP server, schemas or settings check', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['keys', 'list', '--help'], ['export', '--help'], ['backup', '--help']]) {
      const run = await modulesLoadedBy(args, hookDir);
      assert.equal(run.code, 0, `tally ${args.join(' ')}`);
      assert.match(run.stdout, /^Usage: tally/);
      // The hook sees modules: a run that loaded none would pass the checks below for nothing.
      assert.ok(run.modules.some((m) => m.includes('/dist/cli.js')), `the hook lists modules: ${run.modules.length}`);
      const packages = new Set(run.modules.flatMap((m) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1] ?? []));
      assert.deepEqual([...packages], ['commander'], `tally ${args.join(' ')} loads only commander from node_modules`);
      const own = run.modules.filter((m) => m.includes('/dist/')).map((m) => m.slice(m.indexOf('/dist/') + 6));
      const heavy = own.filter((m) => /^(store|routes|search|export|schemas|ingest)\/|^(app|config|cli-settings|threads|metrics)\.js$/.test(m));
      assert.deepEqual(heavy, [], `tally ${args.join(' ')} loads no store, routes, schemas or settings check`);
    }
  });

  it('lists every setting flag from the table the build writes, equal to the settings', async () => {
    const built = JSON.parse(readFileSync(join(SERVER_DIR, 'dist/setting-flags.json'), 'utf8')) as unknown;
    assert.deepEqual(built, settingFlags(), 'dist/setting-flags.json matches src/config.ts: run npm run build -w @tally/server');
    const help = await runCli(['serve', '--help']);
    for (const s of settingFlags()) assert.ok(help.stdout.includes(s.flags), `serve --help lists ${s.flags}`);
    assert.match(help.stdout, /--public-url <url>/);
  });
});

for (const backend of BACKENDS) {
  describe(`store commands [${backend}]`, () => {
    let loc: StoreLocationForTest;
    before(async () => {
      loc = await freshLocation(backend);
    });
    after(() => loc.drop());

    it('refuse a missing store, naming where they looked, and create nothing there', async () => {
      for (const args of [['workspaces', 'list'], ['keys', 'create'], ['requests', 'search'], ['score', '1', '50'], ['users', 'list'], ['export', '--format', 'jsonl']]) {
        const res = await runCli([...args, ...loc.args]);
        assert.equal(res.code, 2, `tally ${args.join(' ')}: ${res.stderr}`);
        const where = backend === 'sqlite' ? join(loc.dataDir, 'tally.db') : new URL(loc.databaseUrl!).pathname.slice(1);
        assert.ok(res.stderr.includes(where), `tally ${args.join(' ')} names ${where}: ${res.stderr}`);
        assert.match(res.stderr, /^tally: no Tally store .*tally serve/);
        assert.equal(res.stderr.trim().split('\n').length, 1, `one line, no stack trace: ${res.stderr}`);
      }
      if (backend === 'sqlite') assert.deepEqual(readdirSync(loc.dataDir), [], 'no store file was created');
      else {
        const tables = await withPgClient(loc.databaseUrl!, (c) => c.query(`select count(*)::int as n from information_schema.tables where table_schema = 'public'`));
        assert.equal(tables.rows[0].n, 0, 'no table was created');
      }
    });

    it('--workspace defaults to "default" for keys and users; links start with --public-url', async () => {
      // `tally serve` creates the store and workspace "default" at its first start.
      const server = await startServer([...loc.args, '--public-url', 'https://tally.example.com/']);
      try {
        for (let i = 0; i < 50 && !/\/setup\//.test(server.stdout()); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(server.stdout(), /^https:\/\/tally\.example\.com\/setup\/[0-9a-f]{64}$/m, `the owner link starts with --public-url:\n${server.stdout()}`);
      } finally {
        server.child.kill('SIGTERM');
        assert.equal(await server.exited, 0);
      }
      const key = await runCli(['keys', 'create', '--label', 'no workspace flag', ...loc.args]);
      assert.equal(key.code, 0, key.stderr);
      assert.match(key.stdout, /for workspace default;/);
      const keys = await runCli(['keys', 'list', ...loc.args]);
      assert.equal(keys.code, 0, keys.stderr);
      assert.match(keys.stdout, /\tno workspace flag\t/);

      const invited = await runCli(['users', 'create', '--email', 'dana@example.com', ...loc.args], { TALLY_PUBLIC_URL: 'https://reviews.example.org' });
      assert.equal(invited.code, 0, invited.stderr);
      assert.match(invited.stdout, /in workspace default;/);
      assert.match(invited.stdout.trim().split('\n').at(-1)!, /^https:\/\/reviews\.example\.org\/setup\/[0-9a-f]{64}$/);
      const byFlag = await runCli(['users', 'create', '--email', 'eve@example.com', '--public-url', 'http://10.1.2.3:9000', ...loc.args]);
      assert.match(byFlag.stdout.trim().split('\n').at(-1)!, /^http:\/\/10\.1\.2\.3:9000\/setup\/[0-9a-f]{64}$/);
      const users = await runCli(['users', 'list', ...loc.args]);
      assert.match(users.stdout, /dana@example\.com/);

      const bad = await runCli(['users', 'create', '--email', 'x@example.com', '--public-url', 'tally.example.com', ...loc.args]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--public-url \/ TALLY_PUBLIC_URL/);
    });
  });
}

describe('tally backup', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tally-backup-dir-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the folders of its file; with no store it says where it looked and creates none', async () => {
    const data = join(dir, 'data');
    const missing = await runCli(['backup', join(dir, 'nothing/here.db'), '--data', data]);
    assert.equal(missing.code, 2);
    assert.ok(missing.stderr.includes(join(data, 'tally.db')), missing.stderr);
    assert.equal(existsSync(join(dir, 'nothing')), false, 'no folder for a backup that did not happen');

    await (await openStore({ dataDir: data })).close();
    const target = join(dir, 'backups/2024/11/tally.db');
    const res = await runCli(['backup', target, '--data', data]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(existsSync(target));
  });
});
