/**
 * Seeder (`npm run bench:seed`): fills a store with realistic requests for the query benchmarks:
 * chat bodies of a few hundred words, 1-3 tags, 2 metadata entries, 3 versions of one prompt,
 * and two named scores (with their history rows) on most requests. Inserts are batched, many rows
 * per statement and thousands per transaction; prints rows per second.
 *
 *   npm run bench:seed -- [--count 1000000] [--data ./bench-data] [--database-url URL] [--workspace default]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Insertable, Kysely } from 'kysely';
import pg from 'pg';
import { ExportProgress } from '../packages/server/src/commands/export-progress.js';
import { generateApiKey } from '../packages/server/src/auth/api-keys.js';
import type { Database, RequestsTable } from '../packages/server/src/store/schema.js';
import { openStore } from '../packages/server/src/store/open-store.js';
import type { SqlStore } from '../packages/server/src/store/sql-store.js';
import { ROOT } from './lib/processes.js';

const { values: opts } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    data: { type: 'string', default: join(ROOT, 'bench-data') },
    'database-url': { type: 'string' },
    workspace: { type: 'string', default: 'default' },
    seed: { type: 'string', default: '42' },
  },
});
const COUNT = Number(opts.count);
// Rows per INSERT stay under both backends' bind-parameter limits (SQLite 32766, PostgreSQL 65535).
const ROWS_PER_STATEMENT = 500;
const ROWS_PER_TRANSACTION = 10_000;

// A small deterministic generator, so two seeded stores hold the same data.
let state = Number(opts.seed) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const WORDS = 'the report shows steady growth in every region with retention up and churn down while costs stayed flat across teams customers asked for faster answers clearer summaries better citations fewer errors and shorter waits model quality improved after the prompt change but latency rose slightly during peak hours'.split(' ');
const sentence = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet', 'llama-3.1-70b'] as const;
const PROVIDERS: Record<string, string> = { 'gpt-4o-mini': 'openai', 'gpt-4o': 'openai', 'claude-3-5-sonnet': 'anthropic', 'llama-3.1-70b': 'together' };
const TAGS = ['prod', 'staging', 'eu', 'us', 'mobile', 'web', 'batch', 'beta'] as const;
const TEAMS = ['search', 'support', 'sales', 'research'] as const;
const START = Date.UTC(2026, 0, 1);
const SPAN_MS = 300 * 24 * 3600 * 1000;

/** A score whose mean depends on the prompt version, so comparisons have something to find. */
const scoreFor = (version: number) => Math.max(0, Math.min(100, Math.round(55 + version * 6 + (rand() + rand() + rand() - 1.5) * 40)));

async function main() {
  const store = (await openStore({ dataDir: opts.data!, databaseUrl: opts['database-url'] })) as SqlStore;
  const db: Kysely<Database> = store.db;
  const ws = (await store.workspaces.find(opts.workspace!)) ?? (await store.workspaces.create(opts.workspace!));
  const { key, display, hash } = generateApiKey();
  await store.keys.create({ workspaceId: ws.id, label: 'bench seeder', prefix: display, secretHash: hash });
  const where = opts['database-url'] ? 'PostgreSQL' : `SQLite at ${opts.data}/tally.db`;
  console.log(`seeding ${COUNT.toLocaleString('en-US')} requests into workspace "${ws.name}" (${where})`);
  console.log(`API key for the benchmarks: ${key}`);

  const progress = new ExportProgress(process.stderr);
  progress.setTotal(COUNT);
  const started = Date.now();
  let done = 0;
  let nextReport = COUNT / 10;
  while (done < COUNT) {
    const n = Math.min(ROWS_PER_TRANSACTION, COUNT - done);
    await db.transaction().execute(async (trx) => {
      for (let off = 0; off < n; off += ROWS_PER_STATEMENT) {
        const m = Math.min(ROWS_PER_STATEMENT, n - off);
        const rows: Insertable<RequestsTable>[] = [];
        const extras: { tags: string[]; team: string; version: number; scored: boolean; at: number }[] = [];
        for (let i = 0; i < m; i++) {
          const seq = done + off + i;
          const model = pick(MODELS);
          const version = 1 + Math.floor(rand() * 3);
          const at = START + Math.floor((seq / COUNT) * SPAN_MS);
          const latency = 200 + Math.floor(rand() * 3000);
          const inTok = 200 + Math.floor(rand() * 800);
          const outTok = 50 + Math.floor(rand() * 400);
          const input = { type: 'chat', messages: [{ role: 'system', content: [{ type: 'text', text: 'You summarise reports for busy readers.' }] }, { role: 'user', content: [{ type: 'text', text: sentence(90) }] }] };
          const output = { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: sentence(60) }] }] };
          rows.push({
            workspace_id: ws.id, provider: PROVIDERS[model]!, model, function_name: 'chat.completions.create', api_type: null,
            input: JSON.stringify(input), output: JSON.stringify(output), parameters: JSON.stringify({ temperature: 0.3 }),
            prompt_name: 'summarise', prompt_id: null, prompt_version: version, prompt_label: null,
            prompt_input_variables: JSON.stringify({ length: 'short' }), input_tokens: inTok, output_tokens: outTok,
            price: Math.round((inTok * 0.15 + outTok * 0.6)) / 1e6, status: rand() < 0.02 ? 'ERROR' : 'SUCCESS',
            error_type: null, error_message: null, request_start_time: at, request_end_time: at + latency, latency_ms: latency,
            span_id: `seed-${seq}`, created_at: Date.now(),
          });
          const tagCount = 1 + Math.floor(rand() * 3);
          extras.push({ tags: [...new Set(Array.from({ length: tagCount }, () => pick(TAGS)))], team: pick(TEAMS), version, scored: rand() < 0.85, at });
        }
        const ids = await trx.insertInto('requests').values(rows).returning(['id', 'span_id']).execute();
        const idOf = new Map(ids.map((r) => [r.span_id!, Number(r.id)]));
        const tags: { workspace_id: number; request_id: number; tag: string }[] = [];
        const meta: { workspace_id: number; request_id: number; key: string; value: string }[] = [];
        const scores: { workspace_id: number; request_id: number; name: string; value: number; updated_at: number; updated_by: string; source: string }[] = [];
        rows.forEach((r, i) => {
          const id = idOf.get(r.span_id!)!;
          const x = extras[i]!;
          for (const tag of x.tags) tags.push({ workspace_id: ws.id, request_id: id, tag });
          meta.push({ workspace_id: ws.id, request_id: id, key: 'team', value: x.team }, { workspace_id: ws.id, request_id: id, key: 'user', value: `u-${Math.floor(rand() * 5000)}` });
          if (x.scored) {
            scores.push({ workspace_id: ws.id, request_id: id, name: 'quality', value: scoreFor(x.version), updated_at: x.at, updated_by: 'seed', source: 'batch' });
            scores.push({ workspace_id: ws.id, request_id: id, name: 'helpfulness', value: scoreFor(x.version), updated_at: x.at, updated_by: 'seed', source: 'batch' });
          }
        });
        await trx.insertInto('request_tags').values(tags).execute();
        await trx.insertInto('request_metadata').values(meta).execute();
        if (scores.length > 0) {
          await trx.insertInto('scores').values(scores).execute();
          // History and current value agree: each seeded score has its one creating event.
          await trx
            .insertInto('score_events')
            .values(scores.map((s) => ({ workspace_id: s.workspace_id, request_id: s.request_id, name: s.name, old_value: null, new_value: s.value, actor: 'seed', source: 'batch', comment: null, batch_id: 'seed', at: s.updated_at })))
            .execute();
        }
      }
    });
    done += n;
    progress.add(n);
    if (!progress.enabled && done >= nextReport) {
      console.log(`  ${done.toLocaleString('en-US')} rows, ${Math.round(done / ((Date.now() - started) / 1000)).toLocaleString('en-US')} rows/s`);
      nextReport += COUNT / 10;
    }
  }
  progress.finish();
  const seconds = (Date.now() - started) / 1000;
  console.log(`seeded ${COUNT.toLocaleString('en-US')} requests in ${seconds.toFixed(1)} s: ${Math.round(COUNT / seconds).toLocaleString('en-US')} rows/s`);
  if (store.backend === 'postgres') {
    // What autovacuum (on by default) does to a running database soon after such a load: without
    // planner statistics and a visibility map, PostgreSQL plans for a table of a few thousand rows
    // and cannot answer from an index alone. Some servers run with autovacuum off (this kind of
    // machine does); the benchmarks measure the state a default server reaches.
    // On a connection of its own: the store's pool gives up on any query after 30 s, and a million
    // rows take longer than that to vacuum on a busy machine.
    const vacuumStarted = Date.now();
    const client = new pg.Client({ connectionString: opts['database-url'] });
    await client.connect();
    try {
      await client.query('vacuum analyze');
    } finally {
      await client.end();
    }
    console.log(`vacuum analyze: ${((Date.now() - vacuumStarted) / 1000).toFixed(1)} s`);
  }
  await store.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
