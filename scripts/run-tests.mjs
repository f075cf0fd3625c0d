#!/usr/bin/env node
/**
 * Runs test files in parallel, each in a node process of its own, and prints each file's
 * output whole when it ends (so parallel files never interleave), then every file's duration.
 *
 *   node scripts/run-tests.mjs fast|slow|all [package-dir ...]
 *
 * Without package dirs: the workspaces and bench/. The root package.json's "slowTests" lists, per
 * package dir, its slow files (real processes, browsers, kill -9, several instances, timing); every
 * other file of test/*.test.ts is fast (in-process). Fast files run TALLY_TEST_JOBS at a time (default:
 * twice the cores, since they mostly wait on the database), slow ones TALLY_TEST_SLOW_JOBS (default:
 * the cores, since they time what they start). The files the root package.json lists under
 * "splitByBackend" run as one job per backend (TALLY_TEST_BACKENDS), and those under "shards" as that many
 * jobs (TALLY_TEST_SHARD). The files share nothing: each makes its own temp
 * folders, PostgreSQL databases and port-0 listeners.
 *
 * The other files of a package run several to a process (scripts/test-batch.mjs), fast ones about
 * four and slow ones about three, in at most TALLY_TEST_BATCHES processes per package and group
 * (default: twice the fast jobs), since starting one costs seconds of CPU (tsx, the server's
 * modules, the first app's compiled schemas) that a small file's tests do not. The files of a batch
 * run one after another, so a slow file's timing is no more disturbed than alone.
 * TALLY_TEST_BATCHES=0 runs every file in a process of its own.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [mode = 'all', ...dirs] = process.argv.slice(2);
if (!['fast', 'slow', 'all'].includes(mode)) {
  console.error('usage: run-tests.mjs fast|slow|all [package-dir ...]');
  process.exit(2);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const SLOW = readJson(join(ROOT, 'package.json')).slowTests ?? {};
const packages = dirs.length > 0 ? dirs.map((d) => resolve(d)) : [...readJson(join(ROOT, 'package.json')).workspaces.map((w) => join(ROOT, w)), join(ROOT, 'bench')];

/** The test files of a package, each marked slow or fast. */
function filesOf(dir) {
  const testDir = join(dir, 'test');
  if (!existsSync(testDir)) return [];
  const slow = new Set(SLOW[relative(ROOT, dir)] ?? []);
  const all = readdirSync(testDir).filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`);
  for (const s of slow) if (!all.includes(s)) throw new Error(`package.json's slowTests lists ${relative(ROOT, dir)}/${s}, but there is no such file`);
  return all.map((f) => ({ dir, file: f, slow: slow.has(f), size: statSync(join(dir, f)).size }));
}

const cores = availableParallelism();
const jobs = (name, fallback) => {
  const n = Number(process.env[name] ?? fallback);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
};
// The long files start first instead of ending the run alone: slow files in the order listed
// (longest first), fast files biggest first.
const slowOrder = Object.entries(SLOW).flatMap(([pkg, files]) => files.map((f) => join(ROOT, pkg, f)));
const rank = (f) => (f.slow ? slowOrder.indexOf(join(f.dir, f.file)) : -f.size);
// The longest files that run every test once per backend run as one job per backend, in parallel.
const SPLIT = new Set((readJson(join(ROOT, 'package.json')).splitByBackend ?? []).map((f) => join(ROOT, f)));
const backends = (process.env.TALLY_TEST_BACKENDS ?? 'sqlite,postgres').split(',').map((b) => b.trim()).filter(Boolean);
const perBackend = (f) => (SPLIT.has(join(f.dir, f.file)) && backends.length > 1 ? backends.map((backend) => ({ ...f, backend })) : [f]);
// Files that walk every route run as several processes besides, each taking every n-th route
// (TALLY_TEST_SHARD=k/n; test/helpers/shard.ts), so they end with the others instead of alone.
const SHARDS = new Map(Object.entries(readJson(join(ROOT, 'package.json')).shards ?? {}).map(([f, n]) => [join(ROOT, f), n]));
const perShard = (f) => {
  const n = SHARDS.get(join(f.dir, f.file)) ?? 1;
  return n > 1 ? Array.from({ length: n }, (_, i) => ({ ...f, shard: `${i + 1}/${n}` })) : [f];
};
const all = packages.flatMap(filesOf).sort((a, b) => rank(a) - rank(b)).flatMap(perBackend).flatMap(perShard);
const fastJobs = jobs('TALLY_TEST_JOBS', cores * 2);
const batchCount = Number(process.env.TALLY_TEST_BATCHES ?? fastJobs * 2);

/**
 * A package's files that run alone in their process (split by backend or into shards) stay alone;
 * the others are dealt into batches of about `perBatch` (at most `batchCount`), biggest file first
 * to the lightest batch, so the batches end at about the same time.
 */
function batched(files, perBatch) {
  if (!(Number.isInteger(batchCount) && batchCount >= 1)) return files;
  const alone = files.filter((f) => f.backend || f.shard);
  const rest = files.filter((f) => !f.backend && !f.shard);
  const out = [...alone];
  for (const dir of [...new Set(rest.map((f) => f.dir))]) {
    const mine = rest.filter((f) => f.dir === dir).sort((a, b) => b.size - a.size);
    const bins = Array.from({ length: Math.min(batchCount, Math.ceil(mine.length / perBatch)) }, () => ({ files: [], size: 0 }));
    for (const f of mine) {
      const bin = bins.reduce((a, b) => (b.size < a.size ? b : a));
      bin.files.push(f);
      bin.size += f.size;
    }
    for (const bin of bins) out.push(bin.files.length === 1 ? bin.files[0] : { dir, file: bin.files.map((f) => f.file), slow: bin.files[0].slow, size: bin.size });
  }
  return out.sort((a, b) => (a.backend || a.shard ? 0 : 1) - (b.backend || b.shard ? 0 : 1) || b.size - a.size);
}

const groups = [
  { name: 'fast', files: batched(all.filter((f) => !f.slow), 4), jobs: fastJobs },
  { name: 'slow', files: batched(all.filter((f) => f.slow), 3), jobs: jobs('TALLY_TEST_SLOW_JOBS', cores) },
].filter((g) => mode === 'all' || g.name === mode);

// A file that hangs (a wait without an end, a process never reaped) fails after this long instead
// of holding the run until CI gives up on it.
const FILE_TIMEOUT_MS = Number(process.env.TALLY_TEST_FILE_TIMEOUT_MS ?? 30 * 60_000);
// Each file runs in a process group of its own, so a timeout or Ctrl-C also ends the servers,
// browsers and databases its tests started.
const running = new Set();
const killGroup = (child) => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) killGroup(child);
    process.exit(130);
  });
}

/**
 * One file's process. The file runs its node:test tests itself, with the spec reporter, rather than
 * under `node --test`, which would start a second process (and a second loader) to run it.
 */
function runFile({ dir, file, backend, shard }) {
  return new Promise((done) => {
    const started = Date.now();
    const env = { ...process.env, ...(backend ? { TALLY_TEST_BACKENDS: backend } : {}), ...(shard ? { TALLY_TEST_SHARD: shard } : {}) };
    const args = Array.isArray(file) ? [join(ROOT, 'scripts', 'test-batch.mjs'), ...file] : [file];
    const child = spawn(process.execPath, ['--import', 'tsx', '--test-reporter=spec', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    running.add(child);
    const chunks = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, FILE_TIMEOUT_MS);
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const output = Buffer.concat(chunks).toString() + (timedOut ? `\nkilled after ${FILE_TIMEOUT_MS / 1000} s (TALLY_TEST_FILE_TIMEOUT_MS)\n` : '');
      done({ code: timedOut ? 1 : (code ?? 1), signal, ms: Date.now() - started, output });
    });
  });
}

/** Busy and total jiffies of all cores so far, from /proc/stat (null where there is none). */
const cpuTimes = () => {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
};
const busyShare = (from, to) => (from && to && to.total > from.total ? `, cores ${Math.round((100 * (to.busy - from.busy)) / (to.total - from.total))}% busy` : '');

const results = [];
for (const group of groups) {
  const queue = [...group.files];
  const groupStart = Date.now();
  const cpuStart = cpuTimes();
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const r = await runFile(next);
      const name = Array.isArray(next.file)
        ? `${relative(ROOT, next.dir)}: ${next.file.map((f) => f.replace(/^test\//, '')).join(', ')}`
        : relative(ROOT, join(next.dir, next.file)) + (next.backend ? ` [${next.backend}]` : '') + (next.shard ? ` [shard ${next.shard}]` : '');
      results.push({ name, group: group.name, ...r });
      process.stdout.write(`\n━━ ${name} (${group.name}) ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code}${r.signal ? `, ${r.signal}` : ''})`} in ${(r.ms / 1000).toFixed(1)} s\n${r.output}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(group.jobs, queue.length) }, worker));
  console.log(`\n━━ ${group.name}: ${group.files.length} processes, ${group.jobs} at a time, ${((Date.now() - groupStart) / 1000).toFixed(1)} s${busyShare(cpuStart, cpuTimes())}`);
}

console.log('\n━━ duration of each process (s):');
for (const r of [...results].sort((a, b) => b.ms - a.ms)) console.log(`${(r.ms / 1000).toFixed(1).padStart(8)}  ${r.group}  ${r.code === 0 ? 'ok    ' : 'FAILED'}  ${r.name}`);
// Skipped tests are listed with their reasons, so a skip is never lost in the output above.
const skipped = results.flatMap((r) => r.output.split('\n').filter((l) => /^\s*\u{FE63} /u.test(l)).map((l) => `${r.name}: ${l.trim().slice(2)}`));
if (skipped.length > 0) console.log(`\n━━ ${skipped.length} tests skipped:\n${skipped.join('\n')}`);
const failed = results.filter((r) => r.code !== 0);
if (failed.length > 0) {
  console.log(`\n━━ ${failed.length} of ${results.length} processes failed: ${failed.map((r) => r.name).join(', ')}`);
  process.exit(1);
}
console.log(`\n━━ all ${results.length} processes passed`);
