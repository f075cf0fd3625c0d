/**
 * Load benchmark (`npm run bench`): Tally on SQLite and on PostgreSQL against a bare node:http
 * baseline that parses the same JSON, and against the durable floor (lib/durable-floor-server.mjs:
 * the least a server can do that commits each write before answering) and the schema floor
 * (lib/schema-floor-server.mjs: that design doing Tally's writes behind Fastify), driven alike by
 * autocannon, alternating targets round by round so drift on a shared machine hits all of them.
 * Prints medians and ratios to the baseline (and Tally's to the floors) measured in the same run,
 * with the CPU one answered call costs the load generator, the server (and its main thread) and
 * PostgreSQL (the backends connected to the target's database, from /proc), and writes them as JSON under bench/results/.
 *
 *   npm run bench -- [--duration 10] [--connections 50] [--rounds 3] [--requests 2000]
 *                    [--backends floor,schema-floor,pg-floor,sqlite,postgres]
 *                    [--workloads track-score,log-request,score-realistic,log-realistic,half-rate]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { freshPgDatabase } from '../packages/server/test/helpers/backends.js';
import { ROOT, backendCpuSeconds, cpuNow, cpuUsed, median, startProcess, watchRss, writeResults, type Served } from './lib/processes.js';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    // Requests each target logs before it is driven, for the score workloads to score.
    requests: { type: 'string', default: '2000' },
    // floor: the durable floor (lib/durable-floor-server.mjs), the least any service that commits
    // each write before answering can do; schema-floor: the same design doing Tally's writes behind
    // Fastify (lib/schema-floor-server.mjs); pg-floor: the durable floor on PostgreSQL
    // (lib/pg-floor-server.mjs), the reference for Tally on PostgreSQL. All measured alongside Tally.
    backends: { type: 'string', default: 'floor,schema-floor,sqlite,postgres' },
    // half-rate drives track-score at half the rate the baseline reached in its track-score rounds.
    workloads: { type: 'string', default: 'track-score,log-request,half-rate' },
    'pg-url': { type: 'string', default: process.env.TALLY_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/postgres' },
  },
});
const duration = Number(opts.duration);
const connections = Number(opts.connections);
const rounds = Number(opts.rounds);
const seedCount = Number(opts.requests);
if (!Number.isInteger(seedCount) || seedCount < 1) throw new Error('--requests: must be a positive integer');
const backends = opts.backends!.split(',');
for (const b of backends) if (!['floor', 'schema-floor', 'pg-floor', 'sqlite', 'postgres'].includes(b)) throw new Error(`--backends: unknown backend ${b}`);
const workloads = opts.workloads!.split(',');
for (const w of workloads) if (!['track-score', 'log-request', 'score-realistic', 'log-realistic', 'half-rate'].includes(w)) throw new Error(`--workloads: unknown workload ${w}`);
if (workloads.includes('half-rate') && !workloads.includes('track-score')) throw new Error('--workloads: half-rate needs track-score (its rate is half the baseline\'s)');

interface Target {
  served: Served;
  /** The PostgreSQL database the target writes to, if any. */
  pgDatabase: string | null;
  rss: { stop(): number };
  ids: number[];
  cleanup(): Promise<void>;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Tally only: writes per committed batch over the sample (`tally_write_batch_size` from /metrics). */
  meanBatch: number | null;
  /** CPU per answered call in µs, and the cores busy: what limits throughput on a machine that runs them all. */
  cpu: CpuPerCall;
  /** Rate-limited runs only: the share of answers in each tenth of a second (see loadShape). */
  shape: number[] | null;
}

interface CpuPerCall {
  /** The load generator (autocannon runs in this process). */
  client: number;
  /** The server's main thread: HTTP, routing, validation, handlers. */
  serverMain: number;
  /** All the server's threads (SQLite's writer thread, the garbage collector's helpers, libuv's pool). */
  server: number;
  /** Every PostgreSQL process (backends, WAL writer); null for the targets that do not use it. */
  postgres: number | null;
  /** Cores the three kept busy together over the round (CPU seconds per second). */
  coresBusy: number;
}

// A 3 KB chat body, as a realistic /log-request.
const paragraph = 'The quarterly report shows steady growth in every region, with retention up and churn down. ';
const logBody = JSON.stringify({
  provider: 'openai',
  model: 'gpt-4o-mini',
  input: { type: 'chat', messages: [{ role: 'system', content: [{ type: 'text', text: 'You summarise reports.' }] }, { role: 'user', content: [{ type: 'text', text: paragraph.repeat(18) }] }] },
  output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: paragraph.repeat(12) }] }] },
  request_start_time: 1764230400.123,
  request_end_time: 1764230401.456,
  tags: ['bench', 'summary'],
  metadata: { team: 'bench', env: 'load' },
  input_tokens: 700,
  output_tokens: 240,
  price: 0.0012,
});

/** Tally on a backend, or one of the floors; either way on a data folder of its own, with requests logged to score. */
async function startTarget(backend: string): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-bench-'));
  let database: Awaited<ReturnType<typeof freshPgDatabase>> | null = null;
  // The per-key rate limit (default 60,000 a minute) is a policy, not a capacity: one key driving
  // 10,000 writes a second is answered 429 after six seconds, and cheap 429s would count as work.
  const args = [join(ROOT, 'packages/server/bin/tally.js'), 'serve', '--port', '0', '--log-level', 'warn', '--data', dataDir, '--rate-limit-per-key', '0'];
  if (backend === 'postgres' || backend === 'pg-floor') {
    database = await freshPgDatabase(opts['pg-url']!, 'tally_bench');
    args.push('--database-url', database.url);
  }
  const floorServer: Record<string, string> = { floor: 'durable-floor', 'schema-floor': 'schema-floor', 'pg-floor': 'pg-floor' };
  const served = floorServer[backend]
    ? await startProcess(backend, [join(ROOT, `bench/lib/${floorServer[backend]}-server.mjs`)], { FLOOR_DIR: dataDir, ...(database ? { FLOOR_PG_URL: database.url } : {}) })
    : await startProcess(`tally-${backend}`, args);
  // Requests to score: distinct ids so every score write touches its own rows.
  const ids: number[] = [];
  const res = await autocannon({
    url: `${served.url}/log-request`,
    connections: 20,
    amount: seedCount,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': served.key! },
    body: logBody,
    setupClient: (client) => client.on('body', (b: Buffer) => ids.push((JSON.parse(b.toString()) as { id: number }).id)),
  } as autocannon.Options);
  if (res.non2xx > 0 || ids.length === 0) throw new Error(`seeding ${backend} failed: ${res.non2xx} non-2xx`);
  return {
    served,
    pgDatabase: database ? new URL(database.url).pathname.slice(1) : null,
    rss: watchRss(served.child.pid!),
    ids,
    cleanup: async () => {
      await served.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

let counter = 0;
function scoreRequest(key: string | null, ids: number[]): autocannon.Request {
  return {
    method: 'POST',
    path: '/library-track-score',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    setupRequest: (req) => {
      const n = counter++;
      req.body = JSON.stringify({ request_id: ids[n % ids.length], score: n % 101, name: `n${n}` });
      return req;
    },
  };
}

/** The score names of the realistic score workload. */
const SCORE_NAMES = ['quality', 'relevance', 'tone', 'safety'];

/** Where a target's realistic scoring stands: pairs (request, name) are scored in order, once each, before any is re-scored. */
interface RealisticScores {
  /** Pairs scored for the first time so far: pair p is request ids[p % ids.length], name SCORE_NAMES[p / ids.length]. */
  fresh: number;
  /** Calls that meant to score a new pair when every pair already had its score (a re-score instead). */
  exhausted: number;
  calls: number;
}
const realisticState = (): RealisticScores => ({ fresh: 0, exhausted: 0, calls: 0 });

/**
 * Scores for requests logged before the run (never a new request per call), over 4 score names;
 * one call in five re-scores a pair that already has its score (taken well behind the newest, so
 * its first score has been answered), the others score a pair that has none yet.
 */
function realisticScoreRequest(key: string | null, ids: number[], state: RealisticScores): autocannon.Request {
  const pairs = ids.length * SCORE_NAMES.length;
  return {
    method: 'POST',
    path: '/library-track-score',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    setupRequest: (req) => {
      const n = state.calls++;
      const settled = state.fresh - 2 * connections;
      let pair: number;
      if (n % 5 === 4 && settled > 0) pair = (n * 7919) % settled;
      else if (state.fresh < pairs) pair = state.fresh++;
      else pair = (state.exhausted++ * 7919) % pairs;
      req.body = JSON.stringify({ request_id: ids[pair % ids.length], score: (n * 37) % 101, name: SCORE_NAMES[Math.floor(pair / ids.length)] });
      return req;
    },
  };
}

// Realistic logs: a 3 KB chat body whose text varies, 1-3 tags of 12, metadata with a user and a
// session, and a prompt name and version among 36 (6 prompts, 6 versions each).
const TAGS = ['prod', 'staging', 'summary', 'support', 'search', 'chat', 'eval', 'beta', 'mobile', 'web', 'batch', 'retry'];
const sentences = [
  'The quarterly report shows steady growth in every region, with retention up and churn down. ',
  'Customers asked about pricing tiers, onboarding time and the export formats we support. ',
  'The incident was traced to a stale cache entry and resolved by a configuration change. ',
  'Our roadmap puts search quality first, then latency, then the long tail of integrations. ',
];
function realisticLogBody(n: number): string {
  const text = (words: number, from: number) => Array.from({ length: words }, (_, i) => sentences[(from + i) % sentences.length]).join('');
  return JSON.stringify({
    provider: 'openai',
    model: n % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    input: { type: 'chat', messages: [{ role: 'system', content: [{ type: 'text', text: 'You answer support questions.' }] }, { role: 'user', content: [{ type: 'text', text: `Ticket ${n}. ${text(18, n)}` }] }] },
    output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: text(12, n + 1) }] }] },
    request_start_time: 1764230400.123 + n / 1000,
    request_end_time: 1764230401.456 + n / 1000,
    tags: TAGS.slice(n % TAGS.length, (n % TAGS.length) + 1 + (n % 3)),
    metadata: { team: `team-${n % 7}`, env: n % 10 === 0 ? 'staging' : 'prod', user_id: `u${(n * 31) % 5000}`, session_id: `s${Math.floor(n / 4)}` },
    prompt_name: `prompt-${n % 6}`,
    prompt_version_number: 1 + (Math.floor(n / 6) % 6),
    input_tokens: 700 + (n % 50),
    output_tokens: 240 + (n % 30),
    price: 0.0012,
  });
}

let logCounter = 0;
function realisticLogRequest(key: string | null): autocannon.Request {
  return {
    method: 'POST',
    path: '/log-request',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    setupRequest: (req) => {
      req.body = realisticLogBody(logCounter++);
      return req;
    },
  };
}

function logRequestSpec(key: string | null): autocannon.Request {
  return { method: 'POST', path: '/log-request', headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) }, body: logBody };
}

/** The write queue's batch-size histogram totals, as Tally's /metrics gives them. */
async function batchTotals(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const total = (name: string) => Number(new RegExp(`^tally_write_batch_size_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { sum: total('sum'), count: total('count') };
}

/** The targets that are Tally (with its /metrics), as opposed to the baseline and the floors. */
const isTally = (name: string) => name === 'sqlite' || name === 'postgres';


interface Driven {
  url: string;
  pid: number;
  tally: boolean;
  /** The PostgreSQL database the target writes to: its backends' CPU is counted as PostgreSQL's. */
  pgDatabase: string | null;
}

/**
 * The process ids of the PostgreSQL backends connected to a database. On a shared machine, other
 * databases' work (other benchmarks, tests) must not count as the target's, so PostgreSQL's CPU
 * is that of these backends alone: those connected at the start or the end of a round (one that
 * connects and exits within the round is missed, as are the shared WAL writer and checkpointer).
 */
async function backendsOf(database: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: opts['pg-url'] });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}

/**
 * Where within each second the answers of a rate-limited run fall, in tenths of a second. autocannon
 * paces `overallRate` as a quota per connection per second (a counter reset by a 1 s interval), and
 * every connection sends its quota back to back from the start of the second: the offered rate is
 * the average over the second, delivered as a burst at full speed followed by silence. A server
 * slower than the burst never reaches the quota and answers its own full-load rate.
 */
function loadShape(): { setupClient(client: { on(event: 'response', fn: () => void): void }): void; shares(): number[] } {
  const tenths = new Array<number>(10).fill(0);
  const start = performance.now();
  return {
    setupClient: (client) => client.on('response', () => tenths[Math.floor(((performance.now() - start) % 1000) / 100)]!++),
    shares: () => {
      const total = tenths.reduce((a, b) => a + b, 0);
      return tenths.map((t) => (total === 0 ? 0 : t / total));
    },
  };
}

async function drive(target: Driven, request: autocannon.Request, rate?: number): Promise<Sample> {
  const url = target.url;
  const before = target.tally ? await batchTotals(url) : null;
  const pids0 = target.pgDatabase ? await backendsOf(target.pgDatabase) : [];
  const pg0 = backendCpuSeconds(pids0);
  const cpu0 = cpuNow(target.pid, false);
  const shape = rate ? loadShape() : null;
  const r = await autocannon({ url, connections, duration, requests: [request], ...(shape ? { overallRate: rate, setupClient: shape.setupClient } : {}) } as autocannon.Options);
  const cpu1 = cpuNow(target.pid, false);
  const pg1 = backendCpuSeconds(target.pgDatabase ? [...new Set([...pids0, ...(await backendsOf(target.pgDatabase))])] : []);
  // A backend still connected at the end: all it used since the start (from 0 if it connected since).
  cpu1.pg = [...pg1].reduce((sum, [pid, seconds]) => sum + seconds - (pg0.get(pid) ?? 0), 0);
  const after = target.tally ? await batchTotals(url) : null;
  const meanBatch = before && after ? (after.sum - before.sum) / (after.count - before.count) : null;
  const used = cpuUsed(cpu0, cpu1);
  const perCall = (seconds: number) => (seconds * 1e6) / (r['2xx'] + r.non2xx);
  const cpu: CpuPerCall = {
    client: perCall(used.client),
    serverMain: perCall(used.main),
    server: perCall(used.server),
    postgres: target.pgDatabase ? perCall(used.pg) : null,
    coresBusy: (used.client + used.server + used.pg) / r.duration,
  };
  // Answered writes only: a 4xx or 5xx answer is not throughput (it is reported beside it).
  return { rps: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, meanBatch, cpu, shape: shape?.shares() ?? null };
}

const shapeNote = (shares: number[]) => `answers by tenth of each second: ${shares.map((x) => `${Math.round(100 * x)}%`).join(' ')}`;

/** A ratio to the baseline's figure; latency and memory, where more is worse. */
const times = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x baseline` : 'baseline 0');

const batchNote = (meanBatch: number | null) => (meanBatch === null ? '' : `  batches of ${meanBatch.toFixed(1)}`);

const us = (x: number) => `${x.toFixed(0)} µs`;
const cpuNote = (c: CpuPerCall) =>
  `CPU/call: client ${us(c.client)}, server ${us(c.server)} (main thread ${us(c.serverMain)})${c.postgres === null ? '' : `, PostgreSQL ${us(c.postgres)}`}`;

/** The median of each CPU figure over the rounds. */
function medianCpu(s: Sample[]): CpuPerCall {
  const m = (f: (c: CpuPerCall) => number) => median(s.map((x) => f(x.cpu)));
  return {
    client: m((c) => c.client),
    serverMain: m((c) => c.serverMain),
    server: m((c) => c.server),
    postgres: s[0]!.cpu.postgres === null ? null : m((c) => c.postgres!),
    coresBusy: m((c) => c.coresBusy),
  };
}

type Workload = 'track-score' | 'log-request' | 'score-realistic' | 'log-realistic';

async function main() {
  console.log(`load benchmark: ${rounds} rounds x ${duration} s, ${connections} connections, backends ${backends.join(', ')}`);
  const baseline = await startProcess('baseline', [join(ROOT, 'bench/lib/baseline-server.mjs')]);
  const baselineRss = watchRss(baseline.child.pid!);
  const targets = new Map<string, Target>();
  for (const b of backends) targets.set(b, await startTarget(b));
  const realistic = new Map<string, RealisticScores>(['baseline', ...backends].map((b) => [b, realisticState()]));

  const names = ['baseline', ...backends];
  const spec = (name: string, w: Workload) => {
    const t = targets.get(name);
    const key = t ? t.served.key : null;
    const ids = t ? t.ids : Array.from({ length: seedCount }, (_, i) => i + 1);
    if (w === 'score-realistic') return realisticScoreRequest(key, ids, realistic.get(name)!);
    if (w === 'log-realistic') return realisticLogRequest(key);
    return w === 'track-score' ? scoreRequest(key, ids) : logRequestSpec(key);
  };
  const targetOf = (name: string): Driven => {
    const served = name === 'baseline' ? baseline : targets.get(name)!.served;
    return { url: served.url, pid: served.child.pid!, tally: isTally(name), pgDatabase: targets.get(name)?.pgDatabase ?? null };
  };

  const samples: Record<string, Record<string, Sample[]>> = {};
  const driven = (['track-score', 'log-request', 'score-realistic', 'log-realistic'] as Workload[]).filter((w) => workloads.includes(w));
  for (const w of driven) {
    samples[w] = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      // A B C, A B C, ...: every target sees the same drift.
      for (const name of names) {
        const s = await drive(targetOf(name), spec(name, w));
        samples[w]![name]!.push(s);
        console.log(`  ${w.padEnd(12)} round ${r + 1} ${name.padEnd(12)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50} ms  p99 ${s.p99} ms${batchNote(s.meanBatch)}  ${cpuNote(s.cpu)}${s.non2xx ? `  NON-2XX ${s.non2xx}` : ''}${s.errors ? `  ERRORS ${s.errors}` : ''}`);
      }
    }
  }

  // p99 at half the baseline's maximum rate, for the score route.
  const halfRate = workloads.includes('half-rate') ? Math.floor(median(samples['track-score']!.baseline!.map((s) => s.rps)) / 2) : null;
  const atHalf: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; halfRate !== null && r < rounds; r++) {
    for (const name of names) {
      const s = await drive(targetOf(name), spec(name, 'track-score'), halfRate);
      atHalf[name]!.push(s);
      console.log(`  half-rate    round ${r + 1} ${name.padEnd(12)} ${s.rps.toFixed(0).padStart(7)} req/s answered  p99 ${s.p99} ms${batchNote(s.meanBatch)}  ${cpuNote(s.cpu)}  ${shapeNote(s.shape!)}`);
    }
  }

  const peakRss: Record<string, number> = { baseline: baselineRss.stop() };
  for (const [b, t] of targets) peakRss[b] = t.rss.stop();

  const summary: Record<string, unknown> = { duration, connections, rounds, halfRate, peakRssMB: {} };
  const lines: string[] = [];
  // The load generator and the servers share the machine's cores: when they keep them all busy,
  // requests per second follow the CPU one call costs everything on the machine.
  const machine = (c: CpuPerCall) => c.client + c.server + (c.postgres ?? 0);
  for (const w of driven) {
    const base = samples[w]!.baseline!;
    const baseRps = median(base.map((s) => s.rps));
    const baseCpu = machine(medianCpu(base));
    const rows: Record<string, unknown> = {};
    const cpuLines: string[] = [];
    for (const name of names) {
      const s = samples[w]![name]!;
      const rps = median(s.map((x) => x.rps));
      const p50 = median(s.map((x) => x.p50));
      const p99 = median(s.map((x) => x.p99));
      // Ratios per round (each round against the reference's round of the same turn), then the median.
      const perRound = (f: (x: Sample) => number, reference = base) => median(s.map((x, i) => f(x) / f(reference[i]!)));
      const ratio = perRound((x) => x.rps);
      // Tally against each floor, when it ran: against the durable floor, what Tally's own work
      // costs; against the schema floor, what its layers above its schema and writes cost.
      const rpsAgainst = (floor: string) => (isTally(name) && samples[w]![floor] ? perRound((x) => x.rps, samples[w]![floor]) : null);
      const floorRatio = rpsAgainst('floor');
      const schemaFloorRatio = rpsAgainst('schema-floor');
      // Tally on PostgreSQL against the durable floor built on PostgreSQL: the issue's reference for that backend.
      const pgFloorRatio = name === 'postgres' ? rpsAgainst('pg-floor') : null;
      const serverSide = (c: CpuPerCall) => c.server + (c.postgres ?? 0);
      const pgFloorCpu = pgFloorRatio === null ? null : serverSide(medianCpu(s)) / serverSide(medianCpu(samples[w]!['pg-floor']!));
      const p50Ratio = perRound((x) => x.p50);
      const p99Ratio = perRound((x) => x.p99);
      const refused = s.reduce((a, x) => a + x.non2xx, 0);
      const meanBatch = s[0]!.meanBatch === null ? null : median(s.map((x) => x.meanBatch!));
      const cpu = medianCpu(s);
      rows[name] = { rps, p50, p99, ratioToBaseline: ratio, ...(floorRatio === null ? {} : { ratioToFloor: floorRatio }), ...(schemaFloorRatio === null ? {} : { ratioToSchemaFloor: schemaFloorRatio }), ...(pgFloorRatio === null ? {} : { ratioToPgFloor: pgFloorRatio }), p50RatioToBaseline: p50Ratio, p99RatioToBaseline: p99Ratio, non2xx: refused, ...(meanBatch === null ? {} : { meanBatch }), cpu };
      lines.push(
        `${w.padEnd(12)} ${name.padEnd(12)} ${rps.toFixed(0).padStart(7)} req/s  ${ratio.toFixed(2)}x baseline${floorRatio === null ? '' : ` (${floorRatio.toFixed(2)}x floor)`}${schemaFloorRatio === null ? '' : ` (${schemaFloorRatio.toFixed(2)}x schema floor)`}${pgFloorRatio === null ? '' : ` (${pgFloorRatio.toFixed(2)}x pg floor)`}  p50 ${p50} ms (${times(p50Ratio)})  p99 ${p99} ms (${times(p99Ratio)})${batchNote(meanBatch)}${refused ? `  (${refused} answers not 2xx, not counted)` : ''}`,
      );
      cpuLines.push(`${''.padEnd(12)} ${name.padEnd(12)} ${cpuNote(cpu)}; all: ${us(machine(cpu))}, ${cpu.coresBusy.toFixed(2)} cores busy${name === 'baseline' ? '' : `, CPU ratio ${(baseCpu / machine(cpu)).toFixed(2)}x`}${pgFloorCpu === null ? '' : `; server and PostgreSQL CPU ${pgFloorCpu.toFixed(2)}x the pg floor's`}`);
    }
    lines.push(...cpuLines);
    summary[w] = { baselineRps: baseRps, ...rows };
  }
  if (halfRate !== null) {
    const baseHalfP99 = median(atHalf.baseline!.map((s) => s.p99));
    const half: Record<string, unknown> = {};
    for (const name of names) {
      const p99 = median(atHalf[name]!.map((s) => s.p99));
      const answered = median(atHalf[name]!.map((s) => s.rps));
      // With a fixed number of connections autocannon sends a call only when one is free, so a
      // server slower than the offered rate is sent fewer calls rather than queueing more: its p99
      // is then that of a lower rate, and says nothing about the bound at this one.
      const keptUp = answered >= 0.95 * halfRate;
      // The median round's shape: how bursty the load this p99 was measured under (loadShape).
      const shares = atHalf[name]!.map((x) => x.shape!);
      const firstSix = (x: number[]) => x.slice(0, 6).reduce((a, b) => a + b, 0);
      const shareInFirstSixTenths = median(shares.map(firstSix));
      half[name] = { p99, ratioToBaseline: p99 / baseHalfP99, answeredRps: answered, keptUp, shareInFirstSixTenths, shapes: shares };
      lines.push(
        `half-rate    ${name.padEnd(12)} ${halfRate} req/s offered, ${answered.toFixed(0)} answered  p99 ${p99} ms  ${(p99 / baseHalfP99).toFixed(2)}x baseline p99, ${Math.round(100 * shareInFirstSixTenths)}% of answers in the first 0.6 s of each second${keptUp ? '' : '  (did not keep up with the offered rate: not a measure at half rate)'}`,
      );
    }
    summary.trackScoreAtHalfRate = half;
  }
  if (workloads.includes('score-realistic')) {
    // Past every (request, name) pair the workload scores nothing new: it only re-scores, and says so.
    for (const name of names) {
      const st = realistic.get(name)!;
      if (st.exhausted > 0) lines.push(`score-realistic ${name}: every pair of ${seedCount} requests x ${SCORE_NAMES.length} names was scored after ${st.calls - st.exhausted} of ${st.calls} calls; the rest re-scored (raise --requests)`);
    }
  }
  summary.peakRssRatioToBaseline = {};
  for (const name of names) {
    const rssRatio = peakRss[name]! / peakRss.baseline!;
    (summary.peakRssMB as Record<string, number>)[name] = Math.round(peakRss[name]! / 1048576);
    (summary.peakRssRatioToBaseline as Record<string, number>)[name] = rssRatio;
    lines.push(`peak RSS     ${name.padEnd(12)} ${Math.round(peakRss[name]! / 1048576)} MB (${times(rssRatio)})`);
  }

  console.log('\nmedians of the rounds; ratios against the baseline measured in the same run');
  for (const l of lines) console.log(l);
  const file = writeResults('load', summary);
  console.log(`\nwritten to ${file}`);

  await baseline.stop();
  for (const t of targets.values()) await t.cleanup();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
