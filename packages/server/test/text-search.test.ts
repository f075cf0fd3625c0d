import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { fromLogRequest } from '../src/domain/request-shape.js';
import { FILTER_LIMITS, type RequestFilter } from '../src/domain/search-query.js';
import type { LogRequestBody } from '../src/schemas/promptlayer.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import type { Backend } from '../src/store/types.js';
import { BACKENDS, freshLocation, withPgClient, type StoreLocationForTest } from './helpers/backends.js';
import { chat, reply, heaviestTextFilter } from './helpers/search-fixtures.js';
import { addWorkspace, logBody, type TestWorkspace } from './helpers/test-app.js';

interface Harness {
  store: Store;
  app: FastifyInstance;
  location: StoreLocationForTest;
  a: TestWorkspace;
  b: TestWorkspace;
  close(): Promise<void>;
}

async function harness(backend: Backend, readTimeoutMs?: number): Promise<Harness> {
  const location = await freshLocation(backend);
  const store = await openStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, readTimeoutMs });
  const app = await buildApp(configWith({ rateLimitPerKey: 0 }), { store, logger: false });
  const a = await addWorkspace(store, 'a');
  const b = await addWorkspace(store, 'b');
  return {
    store,
    app,
    location,
    a,
    b,
    close: async () => {
      await app.close();
      await store.close();
      await location.drop();
    },
  };
}

/** Inserts requests with these input and output texts, in one transaction; returns their ids. */
function insert(store: Store, workspaceId: number, texts: { input: string; output: string }[], start = 1_732_700_000): Promise<number[]> {
  return store.write(async (w) => {
    const ids: number[] = [];
    for (const [i, t] of texts.entries()) {
      const body = logBody({ input: chat(t.input), output: reply(t.output), request_start_time: start + i, request_end_time: start + i + 1 }) as LogRequestBody;
      ids.push((await w.run({ op: 'insertRequest', workspaceId, request: fromLogRequest(body), actor: { id: 'test', source: 'api' } })) as number);
    }
    return ids;
  });
}

const lowerAscii = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** What a text condition means, computed in JavaScript: the term, as it appears in JSON text, ignoring ASCII case. */
function matches(row: { input: string; output: string }, target: 'input' | 'output' | 'any', term: string): boolean {
  const needle = lowerAscii(JSON.stringify(term).slice(1, -1));
  const hay = (t: 'input' | 'output') => lowerAscii(JSON.stringify(t === 'input' ? chat(row.input) : reply(row.output)));
  return target === 'any' ? hay('input').includes(needle) || hay('output').includes(needle) : hay(target).includes(needle);
}

/**
 * 20 text conditions OR'd whose LIKE costs milliseconds a row: a 256-character pattern that almost
 * matches 8,000 characters at every position. The trigrams the index is asked for ("aaa") are in
 * every row, so the index cannot rule a row out.
 */

/**
 * Starts the reader threads and waits until a read answers: under tsx a thread takes a second or
 * more to load, which a first read with a short deadline would not survive.
 */
async function warmUp(h: Harness): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    const res = await h.app.inject({ method: 'GET', url: '/v1/requests/search?limit=1', headers: { 'x-api-key': h.a.key } });
    if (res.statusCode === 200) return;
    if (Date.now() > until) throw new Error(`no read answered within 20 s: ${res.statusCode} ${res.body}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const heavyRows = (n: number) => Array.from({ length: n }, () => ({ input: 'a'.repeat(8000), output: 'a'.repeat(8000) }));

for (const backend of BACKENDS) {
  describe(`text search over the index [${backend}]`, () => {
    let h: Harness;
    const rows: { input: string; output: string }[] = [
      { input: 'Say hello, world', output: 'Greetings' },
      { input: 'HELLO there', output: 'hi' },
      { input: 'a zebrafish swims', output: 'ok' },
      { input: 'percent 100% done', output: 'under_score here' },
      { input: 'quote "inside" text', output: 'back\\slash and line\nbreak' },
      { input: 'Ünïcode ÄÖ', output: 'ab' },
      { input: 'xyz_abc%def', output: 'nothing' },
    ];
    // Enough rows holding "filler" that SQLite's plan tests it row by row rather than looking it up.
    const filler = Array.from({ length: 4200 }, (_, i) => ({ input: `common filler words ${i}`, output: i % 3 === 0 ? 'hello again' : 'bye' }));
    const all = [...rows, ...filler];
    let ids: number[] = [];

    before(async () => {
      h = await harness(backend);
      ids = await insert(h.store, h.a.workspace.id, all);
      // The other workspace holds every term too: none of it may show up in a's results.
      await insert(h.store, h.b.workspace.id, rows);
    });
    after(() => h.close());

    const cases: [target: 'input' | 'output' | 'any', term: string][] = [
      ['any', 'hello'],
      ['any', 'HELLO'],
      ['input', 'zebrafish'],
      ['any', 'zebrafis'],
      ['any', '100%'],
      ['any', '%'],
      ['any', '_'],
      ['output', 'under_score'],
      ['any', 'c_a'],
      ['any', '"inside"'],
      ['output', 'back\\slash'],
      ['output', 'line\nbreak'],
      ['input', 'Ünïcode'],
      ['any', 'ab'],
      ['any', 'e'],
      ['input', 'filler'],
      ['any', 'filler words 41'],
      ['output', 'hello again'],
      ['any', 'no such text anywhere'],
    ];

    it('finds exactly the requests whose input or output holds the term as a substring, ignoring ASCII case', async () => {
      for (const [target, term] of cases) {
        const expected = ids.filter((_, i) => matches(all[i]!, target, term));
        for (const op of ['contains', 'not_contains'] as const) {
          const filter: RequestFilter = { kind: 'text', target, op, value: term };
          const want = op === 'contains' ? expected.length : ids.length - expected.length;
          assert.equal(await h.store.requests.count(h.a.workspace.id, filter), want, `${target} ${op} ${JSON.stringify(term)}`);
        }
        if (expected.length <= 50) {
          const field = target === 'any' ? 'text' : target;
          const res = await h.app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': h.a.key }, payload: { filter: { field, op: 'contains', value: term }, limit: 100 } });
          assert.equal(res.statusCode, 200, res.body);
          const got = (res.json() as { items: { id: number }[] }).items.map((r) => r.id).sort((x, y) => x - y);
          assert.deepEqual(got, expected, `${target} contains ${JSON.stringify(term)}`);
        }
      }
    });

    it('pages through a common term newest first as the plain scan would', async () => {
      const res = await h.app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': h.a.key }, payload: { q: 'FILLER', limit: 50 } });
      assert.equal(res.statusCode, 200, res.body);
      const expected = ids.filter((_, i) => matches(all[i]!, 'any', 'filler')).reverse().slice(0, 50);
      assert.deepEqual((res.json() as { items: { id: number }[] }).items.map((r) => r.id), expected);
    });

    it('indexes requests logged after the index was built, in the same transaction', async () => {
      const [id] = await insert(h.store, h.a.workspace.id, [{ input: 'a brand new okapi', output: 'x' }], 1_800_000_000);
      const res = await h.app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': h.a.key }, payload: { q: 'okapi' } });
      assert.deepEqual((res.json() as { items: { id: number }[] }).items.map((r) => r.id), [id]);
    });
  });

  describe(`bounds on a search's text conditions [${backend}]`, () => {
    let h: Harness;
    before(async () => {
      h = await harness(backend);
    });
    after(() => h.close());
    const search = (payload: unknown, url = '/v1/requests/search') => h.app.inject({ method: 'POST', url, headers: { 'x-api-key': h.a.key }, payload: payload as object });
    const texts = (n: number, value = 'abc') => ({ logic: 'or', filters: Array.from({ length: n }, () => ({ field: 'text', op: 'contains', value })) });

    it(`refuses more than ${FILTER_LIMITS.textConditions} text conditions with 400 naming "filter"`, async () => {
      assert.equal((await search({ filter: texts(FILTER_LIMITS.textConditions) })).statusCode, 200);
      const res = await search({ filter: texts(FILTER_LIMITS.textConditions + 1) });
      assert.equal(res.statusCode, 400);
      const body = res.json() as { success: boolean; code: string; message: string };
      assert.equal(body.success, false);
      assert.equal(body.code, 'invalid_field');
      assert.match(body.message, /^filter: .*at most 20 text conditions/);
    });

    it(`refuses a text term over ${FILTER_LIMITS.textTerm} characters with 400 naming its field`, async () => {
      assert.equal((await search({ filter: { field: 'input', op: 'contains', value: 'x'.repeat(FILTER_LIMITS.textTerm) } })).statusCode, 200);
      const res = await search({ filter: { field: 'input', op: 'contains', value: 'x'.repeat(FILTER_LIMITS.textTerm + 1) } });
      assert.equal(res.statusCode, 400);
      assert.match((res.json() as { message: string }).message, /^filter\.value: must be at most 256 characters/);
      const q = await search({ q: 'x'.repeat(FILTER_LIMITS.textTerm + 1) });
      assert.equal(q.statusCode, 400);
      assert.match((q.json() as { message: string }).message, /^q: /);
    });

    it('holds PromptLayer search to the same bounds', async () => {
      const url = '/api/public/v2/requests/search';
      const many = { logic: 'OR', filters: Array.from({ length: FILTER_LIMITS.textConditions + 1 }, () => ({ field: 'input', operator: 'contains', value: 'abc' })) };
      const res = await search({ filter_group: many }, url);
      assert.equal(res.statusCode, 400, res.body);
      assert.match((res.json() as { message: string }).message, /^filter_group: .*text conditions/);
      const long = await search({ filter_group: { logic: 'AND', filters: [{ field: 'input', operator: 'contains', value: 'y'.repeat(FILTER_LIMITS.textTerm + 1) }] } }, url);
      assert.equal(long.statusCode, 400, long.body);
      assert.match((long.json() as { message: string }).message, /value: must be at most 256 characters/);
    });
  });

  describe(`a read past its deadline [${backend}]`, () => {
    const LIMIT_MS = 400;
    let h: Harness;
    before(async () => {
      h = await harness(backend, LIMIT_MS);
      await insert(h.store, h.b.workspace.id, heavyRows(300));
      await insert(h.store, h.a.workspace.id, [{ input: 'one row of a', output: 'x' }]);
      await warmUp(h);
    });
    after(() => h.close());

    it('answers 503 in Tally\'s shape at the deadline, and the query is stopped there', async () => {
      const started = Date.now();
      const res = await h.app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': h.b.key }, payload: { filter: heaviestTextFilter(), limit: 10 } });
      const elapsed = Date.now() - started;
      assert.equal(res.statusCode, 503, res.body);
      const body = res.json() as { success: boolean; code: string; message: string };
      assert.equal(body.success, false);
      assert.equal(body.code, 'unavailable');
      assert.equal(typeof body.message, 'string');
      assert.ok(res.headers['retry-after'], 'Retry-After');
      // The statement ended itself at the deadline: on SQLite the reader thread answered before the
      // pool's own cut-off (LIMIT_MS + 1000), on PostgreSQL the server cancelled it.
      assert.ok(elapsed < LIMIT_MS + 900, `answered after ${elapsed} ms`);
      if (backend === 'postgres') {
        const running = await withPgClient(h.location.databaseUrl!, async (c) => {
          const r = await c.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active'`);
          return r.rows[0].n as number;
        });
        assert.equal(running, 0, 'a query still runs on PostgreSQL');
      }
      // The reader is free again: a cheap read of the same workspace answers at once.
      const t0 = Date.now();
      const again = await h.app.inject({ method: 'GET', url: '/v1/requests/search?limit=1', headers: { 'x-api-key': h.b.key } });
      assert.equal(again.statusCode, 200, again.body);
      assert.ok(Date.now() - t0 < 300, `the next read took ${Date.now() - t0} ms`);
    });
  });

  describe(`heavy searches of one workspace and another's one-row search [${backend}]`, () => {
    let h: Harness;
    before(async () => {
      h = await harness(backend, 3000);
      await insert(h.store, h.b.workspace.id, heavyRows(300));
      await insert(h.store, h.a.workspace.id, [{ input: 'one row of a', output: 'x' }]);
      await warmUp(h);
    });
    after(() => h.close());

    const oneRow = async () => {
      const t0 = process.hrtime.bigint();
      const res = await h.app.inject({ method: 'GET', url: '/v1/requests/search?limit=1', headers: { 'x-api-key': h.a.key } });
      assert.equal(res.statusCode, 200, res.body);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const series = async (n: number) => {
      const times: number[] = [];
      for (let i = 0; i < n; i++) times.push(await oneRow());
      return times.sort((x, y) => x - y);
    };

    it("answers a's one-row search within a bound of its time without b's load", async () => {
      await series(5); // warm-up
      const alone = await series(15);
      const heavy = Array.from({ length: 4 }, () =>
        h.app.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'x-api-key': h.b.key }, payload: { filter: heaviestTextFilter(), limit: 10 } }),
      );
      await new Promise((r) => setTimeout(r, 100));
      const loaded = await series(15);
      const statuses = (await Promise.all(heavy)).map((r) => r.statusCode);
      // b's searches were really heavy: they ran into their deadline (or finished with a page).
      assert.ok(statuses.every((s) => s === 503 || s === 200), `b's statuses ${statuses}`);
      const worst = (xs: number[]) => xs[xs.length - 1]!;
      // A held reader makes a wait for b's whole search (seconds, up to its deadline); a second of
      // slack keeps a busy shared machine from failing the test while still catching that.
      const bound = 5 * worst(alone) + 1000;
      assert.ok(worst(loaded) <= bound, `a's slowest one-row search took ${worst(loaded).toFixed(1)} ms under b's load, ${worst(alone).toFixed(1)} ms without (bound ${bound.toFixed(1)} ms)`);
    });
  });
}
