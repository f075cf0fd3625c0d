/**
 * Tenant-isolation benchmark (`npm run bench:tenants`): how much workspace B's worst input slows
 * workspace A's score writes, on a real `tally serve` per backend. A's writers (concurrent
 * `/rest/track-score` calls, each writer one after another) run alone, then while B sends logs
 * nested 10,000 levels deep, the heaviest text search a filter may hold and a flood of full
 * exports; the two alternate round by round (which goes first alternates too), so drift on a shared
 * machine hits both. Prints, per round and as the median over rounds, A's p99 under B as a ratio to
 * A's p99 alone, against the target of 2x, and counts any of A's writes that failed (the unit test
 * workspace-load-isolation.test.ts asserts there are none, without timing). Writes the figures as
 * JSON under bench/results/.
 *
 *   npm run bench:tenants -- [--rounds 5] [--writers 20] [--writes 30] [--backends sqlite,postgres] [--pg-url URL]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freshPgDatabase } from '../packages/server/test/helpers/backends.js';
import { ROOT, median, startProcess, writeResults, type Served } from './lib/processes.js';

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    writers: { type: 'string', default: '20' },
    writes: { type: 'string', default: '30' },
    backends: { type: 'string', default: 'sqlite,postgres' },
    'pg-url': { type: 'string', default: process.env.TALLY_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/postgres' },
  },
});
const positive = (name: 'rounds' | 'writers' | 'writes') => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not ${opts[name]}`);
  return n;
};
const ROUNDS = positive('rounds');
const WRITERS = positive('writers');
const WRITES = positive('writes');
const BACKENDS = opts.backends!.split(',').filter(Boolean);
/** The issue's target: A's p99 under B's load at most twice its p99 without B. */
const TARGET = 2;
const NESTING = 10_000;
const TALLY = join(ROOT, 'packages/server/bin/tally.js');

/** 20 OR'd text terms of 256 characters that almost match B's 8,000-character texts at every position. */
const HEAVIEST_FILTER = {
  logic: 'or',
  filters: Array.from({ length: 20 }, (_, i) => ({ field: 'text', op: 'contains', value: `${'a'.repeat(240)}c${String(i).padStart(2, '0')}${'a'.repeat(13)}` })),
};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TALLY, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tally ${args.join(' ')} exited with ${code}: ${err}`))));
  });
}

async function call(url: string, key: string, method: 'GET' | 'POST', path: string, body?: string): Promise<number> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
  await res.arrayBuffer();
  return res.status;
}

interface Tenants {
  served: Served;
  keyA: string;
  keyB: string;
  ids: number[];
  cleanup(): Promise<void>;
}

/** Tally on a backend, with workspace A's requests to score and workspace B's heavy rows. */
async function start(backend: string): Promise<Tenants> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-bench-tenants-'));
  const database = backend === 'postgres' ? await freshPgDatabase(opts['pg-url']!, 'tally_bench') : null;
  const where = database ? ['--database-url', database.url] : ['--data', dataDir];
  // The per-key rate limit is a policy, not a capacity; the read deadline is the one the test uses.
  const served = await startProcess(`tally-${backend}`, [TALLY, 'serve', '--port', '0', '--log-level', 'warn', '--rate-limit-per-key', '0', '--read-timeout-ms', '3000', ...where]);
  await cli(['workspaces', 'create', 'b', ...where]);
  const keyB = (await cli(['keys', 'create', '--workspace', 'b', ...where])).trim().split('\n').pop()!;
  const keyA = served.key!;
  const log = async (key: string, text: string) => {
    const res = await fetch(`${served.url}/log-request`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'openai', model: 'gpt-4o', input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text }] }] }, output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'ok' }] }] }, request_start_time: 1_732_700_000, request_end_time: 1_732_700_001 }),
    });
    if (res.status !== 201) throw new Error(`seeding ${backend}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: number }).id;
  };
  const ids: number[] = [];
  for (let i = 0; i < 40; i++) ids.push(await log(keyA, `request ${i} of a`));
  for (let i = 0; i < 200; i += 10) await Promise.all(Array.from({ length: 10 }, () => log(keyB, 'a'.repeat(8000))));
  return {
    served,
    keyA,
    keyB,
    ids,
    cleanup: async () => {
      await served.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

/** A's writers, each sending its score writes one after another: sorted latencies (ms) and failures. */
async function scoreWrites(t: Tenants): Promise<{ latencies: number[]; failures: number }> {
  const latencies: number[] = [];
  let failures = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < WRITES; i++) {
        const t0 = performance.now();
        const status = await call(t.served.url, t.keyA, 'POST', '/rest/track-score', JSON.stringify({ request_id: t.ids[(w * WRITES + i) % t.ids.length], name: `w${w}`, score: i % 101 }));
        latencies.push(performance.now() - t0);
        if (status !== 200) failures++;
      }
    }),
  );
  return { latencies: latencies.sort((x, y) => x - y), failures };
}

/** A's writes while B sends its worst in loops (2 deep logs, 2 heaviest searches, 4 exports at a time); B's statuses by kind. */
async function underLoad(t: Tenants): Promise<{ writes: Awaited<ReturnType<typeof scoreWrites>>; b: Record<string, number[]> }> {
  let stopped = false;
  const b: Record<string, number[]> = { deep: [], search: [], export: [] };
  const deep = `{"type":"chat","messages":${'['.repeat(NESTING)}1${']'.repeat(NESTING)}}`;
  const deepLog = `{"provider":"openai","model":"m","input":${deep},"output":{"type":"chat","messages":[]},"request_start_time":1732700000,"request_end_time":1732700001}`;
  const search = JSON.stringify({ filter: HEAVIEST_FILTER, limit: 50 });
  const loop = async (kind: string, send: () => Promise<number>) => {
    while (!stopped) b[kind]!.push(await send());
  };
  const loops = Promise.all([
    ...Array.from({ length: 2 }, () => loop('deep', () => call(t.served.url, t.keyB, 'POST', '/log-request', deepLog))),
    ...Array.from({ length: 2 }, () => loop('search', () => call(t.served.url, t.keyB, 'POST', '/v1/requests/search', search))),
    ...Array.from({ length: 4 }, () => loop('export', () => call(t.served.url, t.keyB, 'GET', '/v1/requests/export?format=csv'))),
  ]);
  await new Promise((r) => setTimeout(r, 500)); // B's load under way
  const writes = await scoreWrites(t);
  stopped = true;
  await loops;
  return { writes, b };
}

const counts = (statuses: number[]) => {
  const by = new Map<number, number>();
  for (const s of statuses) by.set(s, (by.get(s) ?? 0) + 1);
  return [...by].map(([s, n]) => `${n}x${s}`).join(' ');
};

async function main() {
  console.log(`tenant isolation: ${WRITERS} writers x ${WRITES} score writes in workspace A, alone and under workspace B's worst input, ${ROUNDS} rounds a backend`);
  const figures: Record<string, unknown> = { writers: WRITERS, writes: WRITES, rounds: ROUNDS, target: TARGET };
  let allPass = true;
  for (const backend of BACKENDS) {
    const t = await start(backend);
    try {
      await scoreWrites(t); // warm-up: connections, caches, the writer thread
      const rounds: { p99AloneMs: number; p99LoadedMs: number; p50AloneMs: number; p50LoadedMs: number; ratio: number; failedAlone: number; failedLoaded: number; b: Record<string, string> }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        let alone: Awaited<ReturnType<typeof scoreWrites>>;
        let loaded: Awaited<ReturnType<typeof underLoad>>;
        if (r % 2 === 0) {
          alone = await scoreWrites(t);
          loaded = await underLoad(t);
        } else {
          loaded = await underLoad(t);
          alone = await scoreWrites(t);
        }
        const round = {
          p99AloneMs: percentile(alone.latencies, 99),
          p99LoadedMs: percentile(loaded.writes.latencies, 99),
          p50AloneMs: percentile(alone.latencies, 50),
          p50LoadedMs: percentile(loaded.writes.latencies, 50),
          ratio: percentile(loaded.writes.latencies, 99) / percentile(alone.latencies, 99),
          failedAlone: alone.failures,
          failedLoaded: loaded.writes.failures,
          b: Object.fromEntries(Object.entries(loaded.b).map(([k, v]) => [k, counts(v)])),
        };
        rounds.push(round);
        console.log(
          `  [${backend}] round ${r + 1}: A's p99 ${round.p99AloneMs.toFixed(1)} ms alone, ${round.p99LoadedMs.toFixed(1)} ms under B (${round.ratio.toFixed(2)}x); ` +
            `p50 ${round.p50AloneMs.toFixed(1)} / ${round.p50LoadedMs.toFixed(1)} ms; A's failed writes ${round.failedAlone} / ${round.failedLoaded}; ` +
            `B: ${Object.entries(round.b).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        );
      }
      const ratio = median(rounds.map((x) => x.ratio));
      const failed = rounds.reduce((n, x) => n + x.failedAlone + x.failedLoaded, 0);
      const pass = ratio <= TARGET && failed === 0;
      allPass &&= pass;
      console.log(`  [${backend}] A's p99 under B: median ${ratio.toFixed(2)}x its p99 alone (target at most ${TARGET}x); A's failed writes: ${failed}: ${pass ? 'PASS' : 'FAIL'}`);
      figures[backend] = { medianRatio: ratio, failedWrites: failed, pass, rounds };
    } finally {
      await t.cleanup();
    }
  }
  console.log(`figures written to ${writeResults('tenant-isolation', figures)}`);
  console.log(allPass ? 'PASS on every backend' : 'FAIL');
  process.exitCode = allPass ? 0 : 1;
}

await main();
