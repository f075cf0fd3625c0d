import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { BACKENDS, freshLocation, openUnmigrated } from './helpers/backends.js';
import { seededRandom } from './helpers/random.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

/**
 * The per-hour score totals (migration 005) that the unfiltered statistics read their series from
 * must equal what the scores as they stand give, after any mix of writes: scores set at log time,
 * through PromptLayer's track-score, the native PUT, batches (one statement for many scores on
 * PostgreSQL), changes and deletes. The expected series is computed here from a model of the scores.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 2, 30, 21, 40); // three hours before a UTC day boundary

type Series = { start: string; count: number; mean: number }[];

/** The series the model's scores give for one name, or for each name. */
function expectedSeries(scores: Map<string, number>, startOf: Map<number, number>, name: string, width: number): [string, number, number][] {
  const buckets = new Map<number, number[]>();
  for (const [k, v] of scores) {
    const [id, n] = k.split('|');
    if (n !== name) continue;
    const at = startOf.get(Number(id))!;
    const b = at - (at % width);
    buckets.set(b, [...(buckets.get(b) ?? []), v]);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, xs]) => [new Date(b).toISOString(), xs.length, xs.reduce((s, x) => s + x, 0) / xs.length]);
}

function assertSeries(actual: Series | undefined, expected: [string, number, number][], what: string): void {
  assert.ok(actual, `${what}: no entry`);
  assert.deepEqual(actual.map((p) => [p.start, p.count]), expected.map(([s, c]) => [s, c]), what);
  actual.forEach((p, i) => assert.ok(Math.abs(p.mean - expected[i]![2]) < 1e-9, `${what}: mean at ${p.start}: ${p.mean} != ${expected[i]![2]}`));
}

for (const backend of BACKENDS) {
  describe(`per-hour score totals [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    it('give the series of the scores as they stand after sets, changes, deletes and batches, per name and for all names', async () => {
      const rand = seededRandom(7);
      const names = ['quality', 'tone', 'default'];
      const scores = new Map<string, number>(); // "id|name" -> value
      const startOf = new Map<number, number>();
      // 24 requests over six hours across a day boundary, some sharing an hour; a third scored at log time.
      const ids: number[] = [];
      for (let i = 0; i < 24; i++) {
        const at = T0 + Math.floor(rand() * 6 * HOUR);
        const score = i % 3 === 0 ? Math.floor(rand() * 101) : undefined;
        const id = await logRequest(t, { request_start_time: at / 1000, request_end_time: at / 1000 + 1, ...(score === undefined ? {} : { score }) });
        ids.push(id);
        startOf.set(id, at);
        if (score !== undefined) scores.set(`${id}|default`, score);
      }
      // A request and scores in the other workspace: none of them may count in alpha's totals.
      const foreign = await logRequest(t, { request_start_time: T0 / 1000, request_end_time: T0 / 1000 + 1 }, t.other.key);
      assert.equal((await t.post('/v1/scores/batch', { items: [{ request_id: foreign, name: 'quality', score: 3 }] }, { key: t.other.key })).statusCode, 200);

      for (let wave = 0; wave < 12; wave++) {
        // Each wave writes distinct (request, name) pairs at once, so they share group-commit batches
        // and the final value of every pair is known.
        const pairs = new Set<string>();
        while (pairs.size < 10) pairs.add(`${ids[Math.floor(rand() * ids.length)]!}|${names[Math.floor(rand() * names.length)]!}`);
        const batch: { request_id: number; name: string; score: number }[] = [];
        const calls: Promise<void>[] = [];
        for (const pair of pairs) {
          const [idText, name] = pair.split('|') as [string, string];
          const id = Number(idText);
          const value = Math.floor(rand() * 101);
          const how = rand();
          if (how < 0.2 && scores.has(pair)) {
            scores.delete(pair);
            calls.push(t.inject({ method: 'DELETE', url: `/v1/requests/${id}/scores/${name}`, headers: { 'x-api-key': t.alpha.key } }).then((r) => assert.equal(r.statusCode, 200, r.body)));
            continue;
          }
          scores.set(pair, value);
          if (how < 0.45) batch.push({ request_id: id, name, score: value });
          else if (how < 0.7) calls.push(t.post('/library-track-score', { request_id: id, name, score: value }).then((r) => assert.equal(r.statusCode, 200, r.body)));
          else
            calls.push(
              t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/${name}`, headers: { 'x-api-key': t.alpha.key }, payload: { score: value } }).then((r) => assert.equal(r.statusCode, 200, r.body)),
            );
        }
        if (batch.length > 0) calls.push(t.post('/v1/scores/batch', { items: batch }).then((r) => assert.equal(r.statusCode, 200, r.body)));
        await Promise.all(calls);

        for (const [interval, width] of [['hour', HOUR], ['day', DAY]] as const) {
          const all = (await t.get(`/v1/scores/stats?interval=${interval}`)).json() as { scores: { name: string; count: number; series: Series }[] };
          const present = names.filter((n) => [...scores.keys()].some((k) => k.endsWith(`|${n}`))).sort();
          assert.deepEqual(all.scores.map((e) => e.name), present, `wave ${wave}: names`);
          for (const name of present) {
            assertSeries(all.scores.find((e) => e.name === name)?.series, expectedSeries(scores, startOf, name, width), `wave ${wave}, ${interval}, ${name} among all`);
            const one = (await t.get(`/v1/scores/stats?name=${name}&interval=${interval}`)).json() as { scores: { series: Series }[] };
            assertSeries(one.scores[0]?.series, expectedSeries(scores, startOf, name, width), `wave ${wave}, ${interval}, ${name} alone`);
          }
        }
      }
      // The waves did delete scores, so hours emptied by deletes were exercised.
      assert.ok(scores.size > 0);
    });

    it('look each request up by id, however small the table was when the connection first wrote a score', { skip: backend !== 'postgres' }, async () => {
      // PL/pgSQL keeps a statement's plan for the life of a connection: a plan made over a tiny
      // `requests` and kept while the table grows would scan every request on every score write.
      const loc = await freshLocation(backend);
      const store = openPostgresStore({ connectionString: loc.databaseUrl! });
      const client = new pg.Client({ connectionString: loc.databaseUrl });
      try {
        await store.migrate();
        const ws = await store.workspaces.create('w');
        await client.connect();
        // No statistics are gathered meanwhile, so nothing but the plan cache decides the later plan.
        await client.query('alter table requests set (autovacuum_enabled = false)');
        const addRequests = async (n: number) =>
          (
            await client.query<{ id: number }>(
              `insert into requests (workspace_id, provider, model, function_name, input, output, parameters, prompt_input_variables,
                input_tokens, output_tokens, price, status, request_start_time, request_end_time, latency_ms, created_at)
              select $1, 'openai', 'm', '', '{}', '{}', '{}', '{}', 0, 0, 0, 'SUCCESS', $2::int8 + i * 1000, $2::int8 + i * 1000 + 1, 1, 0
              from generate_series(1, $3::int) i returning id`,
              [ws.id, T0, n],
            )
          ).rows.map((r) => Number(r.id));
        const score = (id: number, value: number) =>
          client.query(`insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source) values ($1, $2, 'q', $3, 0, 'key:1', 'api')`, [ws.id, id, value]);
        // The connection's first score statement: two thousand scores over as many requests, where
        // hashing the small table is the best plan.
        const firstIds = await addRequests(2000);
        await client.query(`insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source) select $1, id, 'q', 10, 0, 'key:1', 'api' from unnest($2::int8[]) id`, [ws.id, firstIds]);
        const many = await addRequests(100_000);
        const plans: string[] = [];
        client.on('notice', (n) => plans.push(n.message ?? ''));
        await client.query("load 'auto_explain'");
        await client.query('set auto_explain.log_min_duration = 0');
        await client.query('set auto_explain.log_nested_statements = on');
        await client.query('set client_min_messages = log');
        await score(many.at(-1)!, 30);
        await client.query('set client_min_messages = notice');
        const totals = plans.filter((p) => p.includes('insert into score_hours'));
        assert.equal(totals.length, 1, plans.join('\n---\n'));
        assert.match(totals[0]!, /Index (Only )?Scan using requests_pkey on requests \w+/, totals[0]);
        assert.doesNotMatch(totals[0]!, /Seq Scan on requests/, totals[0]);
        const byHour = await sql<{ hour: number; count: number; sum: number }>`
          select r.request_start_time - r.request_start_time % ${HOUR} as hour, count(*) as count, sum(s.value) as sum
          from scores s join requests r on r.id = s.request_id where s.workspace_id = ${ws.id} group by 1 order by 1`.execute(store.db);
        const stored = await store.db.selectFrom('score_hours').select(['hour_start', 'count', 'sum']).where('workspace_id', '=', ws.id).where('count', '>', 0).orderBy('hour_start').execute();
        assert.deepEqual(
          stored.map((h) => [Number(h.hour_start), Number(h.count), Number(h.sum)]),
          byHour.rows.map((h) => [Number(h.hour), Number(h.count), Number(h.sum)]),
        );
      } finally {
        await client.end().catch(() => {});
        await store.close();
        await loc.drop();
      }
    });

    it('are filled by the migration from the scores written before it', async () => {
      const loc = await freshLocation(backend);
      const open = () => openUnmigrated(loc);
      let store = open();
      try {
        await store.migrate('004-accounts');
        const ws = await store.workspaces.create('w');
        const other = await store.workspaces.create('x');
        const rows = [
          { ws: ws.id, at: T0, scores: { quality: 10, tone: 4 } },
          { ws: ws.id, at: T0 + 5 * 60_000, scores: { quality: 30 } },
          { ws: ws.id, at: T0 + HOUR, scores: { quality: 99 } },
          { ws: ws.id, at: T0 + 3 * HOUR, scores: {} },
          { ws: other.id, at: T0, scores: { quality: 1 } },
        ];
        for (const r of rows) {
          const [{ id }] = await sql<{ id: number }>`
            insert into requests (workspace_id, provider, model, function_name, input, output, parameters, prompt_input_variables,
              input_tokens, output_tokens, price, status, request_start_time, request_end_time, latency_ms, created_at)
            values (${r.ws}, 'openai', 'm', '', '{}', '{}', '{}', '{}', 0, 0, 0, 'SUCCESS', ${r.at}, ${r.at + 1}, 1, 0) returning id`
            .execute(store.db)
            .then((q) => q.rows as [{ id: number }]);
          for (const [name, value] of Object.entries(r.scores)) {
            await sql`insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source) values (${r.ws}, ${id}, ${name}, ${value}, 0, 'key:1', 'api')`.execute(store.db);
          }
        }
        await store.close();
        store = open();
        await store.migrate();
        const hours = await store.db.selectFrom('score_hours').selectAll().orderBy('workspace_id').orderBy('name').orderBy('hour_start').execute();
        const h0 = T0 - (T0 % HOUR);
        assert.deepEqual(
          hours.map((h) => [Number(h.workspace_id), h.name, Number(h.hour_start), Number(h.count), Number(h.sum)]),
          [
            [ws.id, 'quality', h0, 2, 40],
            [ws.id, 'quality', h0 + HOUR, 1, 99],
            [ws.id, 'tone', h0, 1, 4],
            [other.id, 'quality', h0, 1, 1],
          ],
        );
        // And from there on the triggers keep them.
        const [req] = await store.db.selectFrom('requests').select('id').where('workspace_id', '=', ws.id).orderBy('id').limit(1).execute();
        await store.writeBatch([{ op: 'setScore', workspaceId: ws.id, requestId: Number(req!.id), name: 'quality', value: 50, actor: { id: 'key:1', source: 'api' } }]);
        const { series } = await store.scores.stats(ws.id, { name: 'quality', interval: 'hour' });
        assert.deepEqual(series.map((s) => [s.bucketStart, s.count, s.sum]), [[h0, 2, 80], [h0 + HOUR, 1, 99]]);
      } finally {
        await store.close();
        await loc.drop();
      }
    });
  });
}
