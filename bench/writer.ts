/**
 * Write-path benchmark (`npm run bench:writer`): what the store spends per logged request and per
 * score write, against the floor of the same rows inserted with raw prepared statements on the
 * same SQLite schema, in the same run. Batches of 50 per transaction, as the write queue groups
 * them under load; CPU microseconds per write (process.cpuUsage, both threads) and writes per
 * second, medians of the rounds, and the ratio of Tally's CPU per write to the floor's. A third
 * row shows what the floor costs without the search indexes on `requests` (what they cost writes)
 * and, for score writes, without the triggers that keep the score totals per hour and prompt.
 *
 * With `--pg-url`, the same writes through a store on PostgreSQL instead (a database created for
 * the run on that server and dropped after): time per batch and writes per second, and this
 * process's CPU per write (PostgreSQL's own CPU is not counted); no floor.
 *
 *   npm run bench:writer -- [--rounds 5] [--seconds 2] [--batch 50] [--pg-url postgres://root@127.0.0.1:5432/postgres]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import type { NewRequest } from '../packages/server/src/domain/request-shape.js';
import { openStore } from '../packages/server/src/store/open-store.js';
import { SQLITE_WRITE_SQL } from '../packages/server/src/store/sqlite/hot-statements.js';
import type { Store } from '../packages/server/src/store/store.js';
import type { Actor } from '../packages/server/src/store/types.js';
import type { WriteCommand } from '../packages/server/src/store/write-commands.js';
import { freshPgDatabase } from '../packages/server/test/helpers/backends.js';
import { median, writeResults } from './lib/processes.js';

const { values: opts } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '2' }, batch: { type: 'string', default: '50' }, 'pg-url': { type: 'string' } },
});
const ROUNDS = Number(opts.rounds);
const SECONDS = Number(opts.seconds);
const BATCH = Number(opts.batch);

const paragraph = 'The quarterly report shows steady growth in every region, with retention up and churn down. ';
const request: NewRequest = {
  provider: 'openai', model: 'gpt-4o-mini', functionName: '', apiType: null,
  input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: paragraph.repeat(18) }] }] },
  output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: paragraph.repeat(12) }] }] },
  parameters: {}, promptName: null, promptId: null, promptVersion: null, promptInputVariables: {}, inputTokens: 700, outputTokens: 240, price: 0.0012,
  status: 'SUCCESS', errorType: null, errorMessage: null, startMs: 1_764_230_400_123, endMs: 1_764_230_401_456, tags: ['bench', 'summary'],
  metadata: { team: 'bench', env: 'load' }, groupId: null, spanId: null, score: null,
};
const actor: Actor = { id: 'key:1', source: 'api' };

interface Sample {
  cpuUsPerWrite: number;
  writesPerSecond: number;
}

/** Runs `batch` over and over for SECONDS; CPU of the whole process (the writer thread included). */
async function measure(batch: () => Promise<void> | void): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let writes = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    await batch();
    writes += BATCH;
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuUsPerWrite: (cpu.user + cpu.system) / writes, writesPerSecond: (writes / (performance.now() - t0)) * 1000 };
}

/** Batches of `kind`, one after another; ids of logged requests to score are taken from `ids`. */
function batchOf(kind: 'log-request' | 'track-score', workspaceId: number, ids: number[], n: { i: number }): WriteCommand[] {
  return Array.from({ length: BATCH }, () => {
    n.i++;
    return kind === 'log-request'
      ? ({ op: 'insertRequest', workspaceId, request, actor } as WriteCommand)
      : ({ op: 'setScore', workspaceId, requestId: ids[n.i % ids.length]!, name: `n${n.i}`, value: n.i % 101, actor } as WriteCommand);
  });
}

/** `count` logged requests written through the store, in batches of 200; their ids. */
async function logRequests(store: Store, workspaceId: number, count: number): Promise<number[]> {
  const ids: number[] = [];
  while (ids.length < count) {
    const out = await store.writeBatch(Array.from({ length: Math.min(200, count - ids.length) }, () => ({ op: 'insertRequest', workspaceId, request, actor }) as WriteCommand));
    ids.push(...out.map((o) => (o.ok ? (o.value as number) : assert(o.error))));
  }
  return ids;
}

/** One batch of `kind` through `store.writeBatch`, each write required to succeed. */
const tallyBatch = (store: Store, workspaceId: number, ids: number[], n: { i: number }) => (kind: 'log-request' | 'track-score') => async () => {
  const out = await store.writeBatch(batchOf(kind, workspaceId, ids, n));
  if (!out.every((o) => o.ok)) throw new Error('a write failed');
};

/** `--pg-url`: Tally's write batches on PostgreSQL, in a database of their own. */
async function postgresMain(adminUrl: string) {
  console.log(`write-path benchmark on PostgreSQL: ${ROUNDS} rounds x ${SECONDS} s per workload, batches of ${BATCH}`);
  const database = await freshPgDatabase(adminUrl, 'tally_bench_writer');
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-writer-'));
  const store = await openStore({ databaseUrl: database.url, dataDir: dir });
  try {
    const ws = await store.workspaces.create('bench');
    const batch = tallyBatch(store, ws.id, await logRequests(store, ws.id, 2000), { i: 0 });
    const summary: Record<string, { cpuUsPerWrite: number; writesPerSecond: number; msPerBatch: number }> = {};
    const kinds = ['log-request', 'track-score'] as const;
    const samples: Record<string, Sample[]> = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of kinds) {
        samples[kind]!.push(await measure(batch(kind)));
      }
    }
    for (const kind of kinds) {
      const cpu = median(samples[kind]!.map((x) => x.cpuUsPerWrite));
      const wps = median(samples[kind]!.map((x) => x.writesPerSecond));
      summary[kind] = { cpuUsPerWrite: cpu, writesPerSecond: wps, msPerBatch: (BATCH / wps) * 1000 };
      console.log(`${kind.padEnd(12)} ${((BATCH / wps) * 1000).toFixed(2).padStart(6)} ms per batch  ${wps.toFixed(0).padStart(6)} writes/s  ${cpu.toFixed(1).padStart(6)} us CPU per write in this process`);
    }
    const file = writeResults('writer-postgres', { batch: BATCH, rounds: ROUNDS, seconds: SECONDS, ...summary });
    console.log(`\nwritten to ${file}`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    await database.drop();
  }
}

async function tallyStore() {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-writer-'));
  const store = await openStore({ dataDir: dir });
  const ws = await store.workspaces.create('bench');
  await store.startWriter();
  return { dir, store, ws };
}

/** The same rows with raw prepared statements on a connection of its own (the floor). */
async function rawStore(withSearchIndexes: boolean) {
  const { dir, store, ws } = await tallyStore();
  await store.close();
  const db = new SQLite(join(dir, 'tally.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  if (!withSearchIndexes) {
    const indexes = db.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'requests' and sql is not null").pluck().all() as string[];
    for (const name of indexes) db.exec(`drop index ${name}`);
    // And without the triggers that keep the score totals per hour and prompt (migrations 005, 007).
    const triggers = db.prepare("select name from sqlite_master where type = 'trigger' and tbl_name = 'scores'").pluck().all() as string[];
    for (const name of triggers) db.exec(`drop trigger ${name}`);
  }
  // The statements Tally's writer thread runs (SQLITE_WRITE_SQL), called directly.
  const insert = db.prepare(SQLITE_WRITE_SQL.insertRequest);
  const tag = db.prepare(SQLITE_WRITE_SQL.insertTag);
  const meta = db.prepare(SQLITE_WRITE_SQL.insertMetadata);
  const exists = db.prepare(SQLITE_WRITE_SQL.requireRequest);
  const old = db.prepare(SQLITE_WRITE_SQL.oldScore);
  const upsert = db.prepare(SQLITE_WRITE_SQL.upsertScore);
  const event = db.prepare(SQLITE_WRITE_SQL.appendEvent);
  const r = request;
  const logOne = () => {
    const now = Date.now();
    const { id } = insert.get(ws.id, r.provider, r.model, r.functionName, r.apiType, JSON.stringify(r.input), JSON.stringify(r.output), '{}', null, null, null, null, '{}',
      r.inputTokens, r.outputTokens, r.price, r.status, null, null, r.startMs, r.endMs, r.endMs - r.startMs, null, now) as { id: number };
    for (const t of r.tags) tag.run(ws.id, id, t);
    for (const [k, v] of Object.entries(r.metadata)) meta.run(ws.id, id, k, v);
    return id;
  };
  const scoreOne = (requestId: number, name: string, value: number) => {
    if (!exists.get(requestId, ws.id)) throw new Error('missing request');
    const before = old.get(requestId, name) as { value: number } | undefined;
    const at = Date.now();
    upsert.run(ws.id, requestId, name, value, at, actor.id, actor.source);
    event.run(ws.id, requestId, name, before?.value ?? null, value, actor.id, actor.source, null, null, at);
  };
  const inTransaction = (fn: () => void) => {
    db.exec('begin immediate');
    fn();
    db.exec('commit');
  };
  return { dir, db, logOne, scoreOne, inTransaction };
}

async function main() {
  console.log(`write-path benchmark: ${ROUNDS} rounds x ${SECONDS} s per target, batches of ${BATCH}, SQLite synchronous=FULL`);
  const tally = await tallyStore();
  const floor = await rawStore(true);
  const bare = await rawStore(false);
  const ids: number[] = [];
  for (let i = 0; i < 2000; i++) ids.push(floor.logOne());
  for (let i = 0; i < 2000; i++) bare.logOne(); // the same ids in the bare store
  const n = { i: 0 };
  const batch = tallyBatch(tally.store, tally.ws.id, await logRequests(tally.store, tally.ws.id, 2000), n);
  const scores = (raw: typeof floor) => () =>
    raw.inTransaction(() => {
      for (let i = 0; i < BATCH; i++) {
        n.i++;
        raw.scoreOne(ids[n.i % ids.length]!, `n${n.i}`, n.i % 101);
      }
    });
  const targets: Record<string, Record<string, () => Promise<void> | void>> = {
    'log-request': {
      tally: batch('log-request'),
      floor: () => floor.inTransaction(() => Array.from({ length: BATCH }, () => floor.logOne())),
      'floor without search indexes': () => bare.inTransaction(() => Array.from({ length: BATCH }, () => bare.logOne())),
    },
    'track-score': { tally: batch('track-score'), floor: scores(floor), 'floor without score totals': scores(bare) },
  };

  const summary: Record<string, Record<string, { cpuUsPerWrite: number; writesPerSecond: number; cpuRatioToFloor: number }>> = {};
  for (const [workload, runs] of Object.entries(targets)) {
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
    // Alternating, round by round, so drift on a shared machine hits every target alike.
    for (let r = 0; r < ROUNDS; r++) for (const [name, fn] of Object.entries(runs)) samples[name]!.push(await measure(fn));
    const floorCpu = median(samples.floor!.map((s) => s.cpuUsPerWrite));
    summary[workload] = {};
    for (const [name, s] of Object.entries(samples)) {
      const cpu = median(s.map((x) => x.cpuUsPerWrite));
      const wps = median(s.map((x) => x.writesPerSecond));
      summary[workload]![name] = { cpuUsPerWrite: cpu, writesPerSecond: wps, cpuRatioToFloor: cpu / floorCpu };
      console.log(`${workload.padEnd(12)} ${name.padEnd(30)} ${cpu.toFixed(1).padStart(6)} us CPU per write  ${(cpu / floorCpu).toFixed(2)}x the floor  ${wps.toFixed(0).padStart(6)} writes/s`);
    }
  }
  const file = writeResults('writer', { batch: BATCH, rounds: ROUNDS, seconds: SECONDS, ...summary });
  console.log(`\nwritten to ${file}`);

  await tally.store.close();
  for (const s of [floor, bare]) s.db.close();
  for (const d of [tally.dir, floor.dir, bare.dir]) rmSync(d, { recursive: true, force: true });
}

function assert(err: unknown): never {
  throw err instanceof Error ? err : new Error(String(err));
}

(opts['pg-url'] ? postgresMain(opts['pg-url']) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
