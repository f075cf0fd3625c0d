import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import type { RequestFilter } from '../src/domain/search-query.js';
import { totalsSelection } from '../src/store/score-stats.js';
import type { Database } from '../src/store/schema.js';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS, freshLocation, openUnmigrated } from './helpers/backends.js';
import { seededRandom } from './helpers/random.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

/**
 * The score totals per prompt and model (migration 007) that statistics and comparisons read instead of
 * joining scores with requests. Two oracles: the tables must hold exactly what grouping the scores
 * and their requests as they stand gives, and every answer read from them must equal the answer
 * of the same query made to take the join (a filter on the start time that every request passes).
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 2, 30, 21, 40);

type Row = (string | number)[];

/** score_values as grouping the scores with their requests gives it, rows with a count only. */
async function expectedValues(db: Kysely<Database>): Promise<Row[]> {
  const { rows } = await sql<Record<string, unknown>>`
    select s.workspace_id, s.name, case when r.prompt_name is null then 0 else 1 end as named, coalesce(r.prompt_name, '') as pname,
      coalesce(r.prompt_version, 0) as pversion, r.model, s.value, count(*) as n
    from scores s join requests r on r.id = s.request_id
    group by 1, 2, 3, 4, 5, 6, 7 order by 1, 2, 3, 4, 5, 6, 7`.execute(db);
  return rows.map((r) => [Number(r.workspace_id), String(r.name), Number(r.named), String(r.pname), Number(r.pversion), String(r.model), Number(r.value), Number(r.n)]);
}

async function storedValues(db: Kysely<Database>): Promise<Row[]> {
  const rows = await db.selectFrom('score_values').selectAll().where('count', '>', 0).orderBy(['workspace_id', 'name', 'prompt_named', 'prompt_name', 'prompt_version', 'model', 'value']).execute();
  return rows.map((r) => [Number(r.workspace_id), r.name, Number(r.prompt_named), r.prompt_name, Number(r.prompt_version), r.model, Number(r.value), Number(r.count)]);
}

async function expectedHours(db: Kysely<Database>): Promise<Row[]> {
  const { rows } = await sql<Record<string, unknown>>`
    select s.workspace_id, s.name, case when r.prompt_name is null then 0 else 1 end as named, coalesce(r.prompt_name, '') as pname,
      coalesce(r.prompt_version, 0) as pversion, r.model, r.request_start_time - r.request_start_time % ${HOUR} as hour, count(*) as n, sum(s.value) as total
    from scores s join requests r on r.id = s.request_id
    group by 1, 2, 3, 4, 5, 6, 7 order by 1, 2, 3, 4, 5, 6, 7`.execute(db);
  return rows.map((r) => [Number(r.workspace_id), String(r.name), Number(r.named), String(r.pname), Number(r.pversion), String(r.model), Number(r.hour), Number(r.n), Number(r.total)]);
}

async function storedHours(db: Kysely<Database>): Promise<Row[]> {
  const rows = await db.selectFrom('score_hours').selectAll().where('count', '>', 0).orderBy(['workspace_id', 'name', 'prompt_named', 'prompt_name', 'prompt_version', 'model', 'hour_start']).execute();
  return rows.map((r) => [Number(r.workspace_id), r.name, Number(r.prompt_named), r.prompt_name, Number(r.prompt_version), r.model, Number(r.hour_start), Number(r.count), Number(r.sum)]);
}

/** The same query made to take the join: every request started after 2000. */
const JOINED = 'from=2000-01-01T00:00:00Z';

const STATS_QUERIES = [
  'interval=hour',
  'name=quality&interval=day',
  'group_by=prompt&interval=hour',
  'name=quality&group_by=prompt',
  'prompt_name=alpha',
  'prompt_name=alpha&prompt_version=2&group_by=prompt',
  'prompt_version=1&prompt_version=3&interval=hour',
  // The empty name is a name, not the absence of one.
  `filter=${encodeURIComponent(JSON.stringify({ field: 'prompt_name', op: '=', value: '' }))}&group_by=prompt`,
  'group_by=model&interval=hour',
  'name=tone&model=gpt-b&group_by=prompt',
  'model=gpt-a&model=gpt-c&prompt_name=alpha&group_by=model',
];
const COMPARE_QUERIES = [
  'name=quality&a.prompt_version=1&b.prompt_version=2',
  'name=tone&a.prompt_name=alpha&a.prompt_version=1&b.prompt_name=beta',
  'name=quality&a.model=gpt-a&b.model=gpt-b&b.prompt_version=2',
];

describe('which statistics queries the totals answer', () => {
  const name = (value: string): RequestFilter => ({ kind: 'string', column: 'prompt_name', test: { op: 'eq', value } });
  const version = (...values: number[]): RequestFilter => ({ kind: 'number', column: 'prompt_version', test: { op: 'in', values } });
  const and = (...filters: RequestFilter[]): RequestFilter => ({ kind: 'group', logic: 'and', filters });

  it('answers no filter, prompt names, versions and models that must all hold, ungrouped or grouped by prompt or model', () => {
    assert.deepEqual(totalsSelection({}), []);
    assert.deepEqual(totalsSelection({ groupBy: 'prompt' }), []);
    assert.deepEqual(totalsSelection({ groupBy: 'model', filter: and(name('a'), { kind: 'string', column: 'model', test: { op: 'in', values: ['m', 'n'] } }) }), [
      { column: 'prompt_name', values: ['a'] },
      { column: 'model', values: ['m', 'n'] },
    ]);
    assert.deepEqual(totalsSelection({ filter: and(name('a'), version(1, 3)) }), [
      { column: 'prompt_name', values: ['a'] },
      { column: 'prompt_version', values: [1, 3] },
    ]);
    assert.deepEqual(totalsSelection({ filter: { kind: 'group', logic: 'or', filters: [name('')] } }), [{ column: 'prompt_name', values: [''] }]);
  });

  it('leaves to the join any other grouping, any other condition, alternatives, and versions the totals cannot hold', () => {
    assert.equal(totalsSelection({ groupBy: 'tag' }), null);
    assert.equal(totalsSelection({ filter: and(name('a'), { kind: 'string', column: 'provider', test: { op: 'eq', value: 'openai' } }) }), null);
    assert.equal(totalsSelection({ filter: and(name('a'), { kind: 'tags', match: 'any', tags: ['x'] }) }), null);
    assert.equal(totalsSelection({ filter: { kind: 'string', column: 'model', test: { op: 'starts_with', value: 'gpt' } } }), null);
    assert.equal(totalsSelection({ filter: { kind: 'group', logic: 'or', filters: [name('a'), name('b')] } }), null);
    assert.equal(totalsSelection({ filter: { kind: 'string', column: 'prompt_name', test: { op: 'neq', value: 'a' } } }), null);
    assert.equal(totalsSelection({ filter: { kind: 'string', column: 'prompt_name', test: { op: 'exists' } } }), null);
    assert.equal(totalsSelection({ filter: version(0) }), null);
    assert.equal(totalsSelection({ filter: version(1.5) }), null);
    assert.equal(totalsSelection({ filter: { kind: 'number', column: 'prompt_version', test: { op: 'gte', value: 2 } } }), null);
    assert.equal(totalsSelection({ filter: { kind: 'number', column: 'request_start_time', test: { op: 'gte', value: 0 } } }), null);
  });
});

for (const backend of BACKENDS) {
  describe(`score totals per prompt [${backend}]`, () => {
    let t: TestApp;
    let db: Kysely<Database>;
    before(async () => {
      t = await createTestApp(backend);
      db = (t.store as SqlStore).db;
    });
    after(() => t.close());

    it('hold what the scores and their requests give, and answer as the join does, after scores and prompts change', async () => {
      const rand = seededRandom(11);
      const prompts: Record<string, unknown>[] = [
        {},
        { prompt_name: '' },
        { prompt_name: '', prompt_version_number: 1 },
        { prompt_name: 'alpha', prompt_version_number: 1 },
        { prompt_name: 'alpha', prompt_version_number: 2 },
        { prompt_name: 'beta' },
        { prompt_version_number: 3 },
      ];
      const ids: number[] = [];
      for (let i = 0; i < 28; i++) {
        const at = (T0 + Math.floor(rand() * 30 * HOUR)) / 1000;
        const score = i % 4 === 0 ? { score: Math.floor(rand() * 101) } : {};
        // Models cycle at another period than prompts, so prompt and model vary independently.
        const model = ['gpt-a', 'gpt-b', 'gpt-c'][i % 3];
        ids.push(await logRequest(t, { request_start_time: at, request_end_time: at + 1, model, ...prompts[i % prompts.length], ...score }));
      }
      // Another workspace's scores under the same prompt: never in alpha's answers.
      const foreign = await logRequest(t, { prompt_name: 'alpha', prompt_version_number: 1, score: 1 }, t.other.key);
      assert.equal((await t.post('/v1/scores/batch', { items: [{ request_id: foreign, name: 'quality', score: 2 }] }, { key: t.other.key })).statusCode, 200);

      const names = ['quality', 'tone', 'default'];
      const newPrompts = [
        { prompt_name: 'alpha', version: 1 },
        { prompt_name: 'alpha', version: 2 },
        { prompt_name: 'beta', version: null },
        { prompt_name: 'gamma', version: 3 },
      ];
      for (let wave = 0; wave < 10; wave++) {
        // Distinct (request, name) pairs per wave, so every pair's final value is the one written.
        const pairs = new Set<string>();
        while (pairs.size < 10) pairs.add(`${ids[Math.floor(rand() * ids.length)]!}|${names[Math.floor(rand() * names.length)]!}`);
        const batch: { request_id: number; name: string; score: number }[] = [];
        const calls: Promise<void>[] = [];
        const ok = (what: string) => (r: { statusCode: number; body: string }) => assert.equal(r.statusCode, 200, `${what}: ${r.body}`);
        for (const pair of pairs) {
          const [idText, name] = pair.split('|') as [string, string];
          const id = Number(idText);
          const value = Math.floor(rand() * 101);
          const how = rand();
          if (how < 0.15) calls.push(t.inject({ method: 'DELETE', url: `/v1/requests/${id}/scores/${name}`, headers: { 'x-api-key': t.alpha.key } }).then(() => undefined));
          else if (how < 0.45) batch.push({ request_id: id, name, score: value });
          else if (how < 0.7) calls.push(t.post('/library-track-score', { request_id: id, name, score: value }).then(ok('track-score')));
          else calls.push(t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/${name}`, headers: { 'x-api-key': t.alpha.key }, payload: { score: value } }).then(ok('PUT')));
        }
        if (batch.length > 0) calls.push(t.post('/v1/scores/batch', { items: batch }).then(ok('batch')));
        // Prompts move in the same waves, so their moves share batches with score writes.
        for (let k = 0; k < 3; k++) {
          const p = newPrompts[Math.floor(rand() * newPrompts.length)]!;
          const id = ids[Math.floor(rand() * ids.length)]!;
          calls.push(t.post('/library-track-prompt', { request_id: id, prompt_name: p.prompt_name, version: p.version, prompt_input_variables: {} }).then(ok('track-prompt')));
        }
        await Promise.all(calls);

        assert.deepEqual(await storedValues(db), await expectedValues(db), `wave ${wave}: score_values`);
        assert.deepEqual(await storedHours(db), await expectedHours(db), `wave ${wave}: score_hours`);
        for (const q of STATS_QUERIES) {
          const fromTotals = await t.get(`/v1/scores/stats?${q}`);
          const fromJoin = await t.get(`/v1/scores/stats?${q}&${JOINED}`);
          assert.equal(fromTotals.statusCode, 200, fromTotals.body);
          assert.deepEqual(fromTotals.json(), fromJoin.json(), `wave ${wave}: stats ${q}`);
        }
        for (const q of COMPARE_QUERIES) {
          const fromTotals = await t.get(`/v1/scores/compare?${q}`);
          const fromJoin = await t.get(`/v1/scores/compare?${q}&${JOINED}`);
          assert.equal(fromTotals.statusCode, 200, fromTotals.body);
          assert.deepEqual(fromTotals.json(), fromJoin.json(), `wave ${wave}: compare ${q}`);
        }
      }
      // The waves reached every kind of group the key has to keep apart.
      const groups = (await t.get('/v1/scores/stats?group_by=prompt')).json() as { scores: { group: { prompt_name: string | null; prompt_version: number | null } }[] };
      const seen = new Set(groups.scores.map((e) => JSON.stringify(e.group)));
      for (const g of [{ prompt_name: null, prompt_version: null }, { prompt_name: '', prompt_version: null }, { prompt_name: '', prompt_version: 1 }, { prompt_name: 'gamma', prompt_version: 3 }]) {
        assert.ok(seen.has(JSON.stringify(g)), `group ${JSON.stringify(g)} among ${[...seen].join(' ')}`);
      }
    });
  });

  describe(`migration 007 [${backend}]`, () => {
    it('fills the totals per prompt from the scores written before it, and the triggers keep them from there', async () => {
      const loc = await freshLocation(backend);
      const open = () => openUnmigrated(loc);
      let store = open();
      try {
        await store.migrate('006-score-hours-replanned');
        const ws = await store.workspaces.create('w');
        const rows = [
          { name: null, version: null, model: 'm', at: T0, scores: { quality: 10, tone: 4 } },
          { name: 'p', version: 1, model: 'm', at: T0 + 60_000, scores: { quality: 30 } },
          { name: 'p', version: 1, model: 'n', at: T0 + HOUR, scores: { quality: 99 } },
          { name: 'p', version: 2, model: 'm', at: T0, scores: { quality: 30 } },
          { name: '', version: null, model: 'm', at: T0, scores: { quality: 7 } },
          { name: 'p', version: 1, model: 'm', at: T0 + 2 * 60_000, scores: { quality: 30 } },
        ];
        const ids: number[] = [];
        for (const r of rows) {
          const [{ id }] = await sql<{ id: number }>`
            insert into requests (workspace_id, provider, model, function_name, input, output, parameters, prompt_input_variables,
              input_tokens, output_tokens, price, status, request_start_time, request_end_time, latency_ms, created_at, prompt_name, prompt_version)
            values (${ws.id}, 'openai', ${r.model}, '', '{}', '{}', '{}', '{}', 0, 0, 0, 'SUCCESS', ${r.at}, ${r.at + 1}, 1, 0, ${r.name}, ${r.version}) returning id`
            .execute(store.db)
            .then((q) => q.rows as [{ id: number }]);
          ids.push(Number(id));
          for (const [name, value] of Object.entries(r.scores)) {
            await sql`insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source) values (${ws.id}, ${id}, ${name}, ${value}, 0, 'key:1', 'api')`.execute(store.db);
          }
        }
        await store.close();
        store = open();
        await store.migrate();
        const h0 = T0 - (T0 % HOUR);
        assert.deepEqual(await storedValues(store.db), [
          [ws.id, 'quality', 0, '', 0, 'm', 10, 1],
          [ws.id, 'quality', 1, '', 0, 'm', 7, 1],
          [ws.id, 'quality', 1, 'p', 1, 'm', 30, 2],
          [ws.id, 'quality', 1, 'p', 1, 'n', 99, 1],
          [ws.id, 'quality', 1, 'p', 2, 'm', 30, 1],
          [ws.id, 'tone', 0, '', 0, 'm', 4, 1],
        ]);
        assert.deepEqual(await storedHours(store.db), [
          [ws.id, 'quality', 0, '', 0, 'm', h0, 1, 10],
          [ws.id, 'quality', 1, '', 0, 'm', h0, 1, 7],
          [ws.id, 'quality', 1, 'p', 1, 'm', h0, 2, 60],
          [ws.id, 'quality', 1, 'p', 1, 'n', h0 + HOUR, 1, 99],
          [ws.id, 'quality', 1, 'p', 2, 'm', h0, 1, 30],
          [ws.id, 'tone', 0, '', 0, 'm', h0, 1, 4],
        ]);
        // From here the triggers keep them: a score changes, and a request moves to another prompt.
        const actor = { id: 'key:1', source: 'api' as const };
        await store.writeBatch([{ op: 'setScore', workspaceId: ws.id, requestId: ids[1]!, name: 'quality', value: 50, actor }]);
        await store.writeBatch([{ op: 'setPrompt', workspaceId: ws.id, requestId: ids[0]!, prompt: { name: 'p', version: 2, label: null, inputVariables: {} } }]);
        assert.deepEqual(await storedValues(store.db), await expectedValues(store.db));
        assert.deepEqual(await storedHours(store.db), await expectedHours(store.db));
        const dist = await store.scores.distribution(ws.id, { name: 'quality', groupBy: 'prompt' });
        assert.deepEqual(
          dist.map((d) => [d.group?.promptName, d.group?.promptVersion, d.value, d.count]),
          [
            ['', null, 7, 1],
            ['p', 1, 30, 1],
            ['p', 1, 50, 1],
            ['p', 1, 99, 1],
            ['p', 2, 10, 1],
            ['p', 2, 30, 1],
          ],
        );
        const byModel = await store.scores.distribution(ws.id, { name: 'quality', groupBy: 'model' });
        assert.deepEqual(
          byModel.map((d) => [d.group?.model, d.value, d.count]),
          [
            ['m', 7, 1],
            ['m', 10, 1],
            ['m', 30, 2],
            ['m', 50, 1],
            ['n', 99, 1],
          ],
        );
      } finally {
        await store.close();
        await loc.drop();
      }
    });
  });
}
