import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../server/test/helpers/backends.js';
import { createLiveApp, type LiveApp } from '../../server/test/helpers/live-app.js';
import { parseCsv } from '../../server/test/helpers/parse-csv.js';
import { BASE, bulkInsert, chat, reply, score } from '../../server/test/helpers/search-fixtures.js';
import { logRequest } from '../../server/test/helpers/test-app.js';
import { Tally, TallyError, type RequestItem } from '../src/index.js';

async function rejects(p: Promise<unknown>): Promise<TallyError> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(r instanceof TallyError, `expected a TallyError, got ${String(r)}`);
  return r;
}

const TRICKY = 'He said "hi, there"\nthen, on a new line: "bye"\r\nend';
const PAGED = 23;

for (const backend of BACKENDS) {
  describe(`@tally/sdk against a live server: requests.get, search, searchPage, export [${backend}]`, () => {
    let t: LiveApp;
    let tally: Tally;
    let calls: string[];
    let full: number;
    let paged: number[];
    before(async () => {
      // The CSV test reads one export three ways at once with one key: above the default cap of 2
      // exports per key, which export-limits.test.ts tests on its own.
      t = await createLiveApp(backend, { exportsPerKey: 0 });
      calls = [];
      tally = new Tally({
        apiKey: t.alpha.key,
        baseURL: t.baseURL,
        maxRetries: 0,
        fetch: (input, init) => {
          calls.push(`${init?.method ?? 'GET'} ${String(input).replace(t.baseURL, '')}`);
          return fetch(input, init);
        },
      });
      full = await logRequest(t, {
        provider: 'anthropic',
        model: 'claude-3',
        input: chat(TRICKY),
        output: reply('Sure, "ok"'),
        parameters: { temperature: 0.2 },
        tags: ['full', 'a,b'],
        metadata: { team: 'search', note: 'x, "y"\nz' },
        prompt_name: 'summarize',
        prompt_version_number: 3,
        prompt_input_variables: { who: 'Ada' },
        input_tokens: 12,
        output_tokens: 8,
        price: 0.25,
        request_start_time: BASE + 1,
        request_end_time: BASE + 2.5,
      });
      await score(t, full, 'quality', 91);
      await score(t, full, 'with,comma', 5);
      // Scores 0..22 on `rank`, every third request left unscored, to page through a score sort too.
      paged = await bulkInsert(t, PAGED, 'paged', BASE + 100);
      for (const [i, id] of paged.entries()) if (i % 3 !== 0) await score(t, id, 'rank', i);
    });
    after(() => t.close());

    it('requests.get returns everything logged, exactly as the route answers it', async () => {
      const r = await tally.requests.get(full);
      const viaRoute = (await t.get(`/v1/requests/${full}`)).json() as { request: unknown };
      assert.deepEqual(r, viaRoute.request);
      assert.deepEqual(
        [r.id, r.provider, r.model, r.prompt_name, r.prompt_version, r.tokens, r.price, r.latency_ms, r.request_start_time],
        [full, 'anthropic', 'claude-3', 'summarize', 3, 20, 0.25, 1500, new Date((BASE + 1) * 1000).toISOString()],
      );
      assert.deepEqual([r.tags, r.metadata, r.scores], [['a,b', 'full'], { note: 'x, "y"\nz', team: 'search' }, { quality: 91, 'with,comma': 5 }]);
      assert.deepEqual([r.input, r.parameters, r.prompt_input_variables], [chat(TRICKY), { temperature: 0.2 }, { who: 'Ada' }]);
    });

    it("requests.get answers 404 for a missing id and for another workspace's id alike", async () => {
      const foreign = await logRequest(t, {}, t.other.key);
      const [missing, other] = await Promise.all([rejects(tally.requests.get(987654321)), rejects(tally.requests.get(foreign))]);
      assert.deepEqual([missing.status, missing.code, missing.message], [404, 'not_found', 'id: no request with this id']);
      assert.deepEqual([other.status, other.code, other.message], [404, 'not_found', 'id: no request with this id']);
    });

    it('requests.search yields every matching request exactly once, over several pages, in order', async () => {
      calls.length = 0;
      const ids: number[] = [];
      for await (const r of tally.requests.search({ filter: { field: 'tags', op: 'any', value: ['paged'] }, sort_by: 'request_start_time', sort_order: 'asc', limit: 5 })) ids.push(r.id);
      assert.deepEqual(ids, paged);
      assert.equal(calls.length, 5, '23 requests in pages of 5');
      assert.ok(calls.every((c) => c === 'POST /v1/requests/search'));
    });

    it('requests.search over a score sort: scored by value, then the unscored, none twice, none lost', async () => {
      const got: RequestItem[] = [];
      for await (const r of tally.requests.search({ filter: { field: 'tags', op: 'all', value: ['paged'] }, sort_by: 'score.rank', sort_order: 'desc', limit: 4 })) got.push(r);
      const scored = paged.filter((_, i) => i % 3 !== 0).reverse();
      const unscored = paged.filter((_, i) => i % 3 === 0).reverse();
      assert.deepEqual(got.map((r) => r.id), [...scored, ...unscored]);
      assert.equal(new Set(got.map((r) => r.id)).size, PAGED);
    });

    it('requests.search is stable while requests are logged mid-way, and stops early on break', async () => {
      const stable = await bulkInsert(t, 8, 'stable', BASE + 500);
      const ids: number[] = [];
      let late = 0;
      for await (const r of tally.requests.search({ filter: { field: 'tags', op: 'any', value: ['stable'] }, limit: 3 })) {
        ids.push(r.id);
        if (late === 0) {
          // Newest first: a request logged now sorts before the cursor and must not shift the pages.
          late = await logRequest(t, { tags: ['stable'], request_start_time: BASE + 10_000, request_end_time: BASE + 10_001 });
        }
      }
      assert.deepEqual(ids, [...stable].reverse());
      const again: number[] = [];
      for await (const r of tally.requests.search({ filter: { field: 'tags', op: 'any', value: ['stable'] }, limit: 3 })) again.push(r.id);
      assert.deepEqual(again, [late, ...stable.reverse()]);
      calls.length = 0;
      let seen = 0;
      for await (const _ of tally.requests.search({ filter: { field: 'tags', op: 'any', value: ['paged'] }, limit: 5 })) if (++seen === 7) break;
      assert.equal(calls.length, 2, 'no page fetched after break');
    });

    it('requests.searchPage returns one page and a cursor to the next', async () => {
      const first = await tally.requests.searchPage({ filter: { field: 'tags', op: 'any', value: ['paged'] }, sort_by: 'id', sort_order: 'asc', limit: 10 });
      assert.deepEqual(first.items.map((r) => r.id), paged.slice(0, 10));
      assert.equal(first.has_more, true);
      assert.equal(typeof first.next_cursor, 'string');
      assert.deepEqual(Object.keys(first).sort(), ['has_more', 'items', 'next_cursor']);
      const last = await tally.requests.searchPage({ filter: { field: 'tags', op: 'any', value: ['paged'] }, sort_by: 'id', sort_order: 'asc', limit: 20, cursor: first.next_cursor! });
      assert.deepEqual(last.items.map((r) => r.id), paged.slice(10));
      assert.deepEqual([last.has_more, last.next_cursor], [false, null]);
      const item = (await tally.requests.searchPage({ q: 'hi, there' })).items;
      assert.deepEqual(item.map((r) => r.id), [full]);
      assert.equal('input' in item[0]!, false, 'search items carry no logged content');
    });

    it('requests.searchPage takes the simple query filters with where (by GET), AND-combined with filter and q', async () => {
      calls.length = 0;
      const page = await tally.requests.searchPage({ where: { tag: ['paged'], 'score.rank': 'between:5,10', has_score: 'rank' }, sort_by: 'score.rank', sort_order: 'asc' });
      assert.deepEqual(page.items.map((r) => r.scores.rank), [5, 7, 8, 10]);
      assert.match(calls[0]!, /^GET \/v1\/requests\/search\?/);
      const both = await tally.requests.searchPage({ where: { 'metadata.team': 'search', provider: ['anthropic', 'openai'] }, q: 'THERE', filter: { field: 'score', name: 'quality', op: '>', value: 90 } });
      assert.deepEqual(both.items.map((r) => r.id), [full]);
      const none = await tally.requests.searchPage({ where: { 'metadata.team': 'search' }, filter: { field: 'score', name: 'quality', op: '<', value: 90 } });
      assert.deepEqual(none.items, []);
    });

    it("surfaces the server's refusals of a search and checks the page size before the network", async () => {
      const badOp = await rejects(tally.requests.searchPage({ filter: { field: 'score', op: 'about' as '=', value: 5 } }));
      assert.deepEqual([badOp.status, badOp.code], [400, 'invalid_field']);
      assert.match(badOp.message, /^filter\.op: unknown operator "about"/);
      const badParam = await rejects(tally.requests.searchPage({ where: { 'score.rank': 'gte:high' } }));
      assert.deepEqual([badParam.status, badParam.message], [400, 'score.rank: "high" is not a number']);
      calls.length = 0;
      const tooBig = await rejects(tally.requests.searchPage({ limit: 501 }));
      assert.deepEqual([tooBig.code, tooBig.message, calls.length], ['invalid_field', 'limit: must be an integer from 1 to 500', 0]);
    });

    it('export as CSV: the same bytes as the route, rows parsed back with commas, quotes and newlines intact', async () => {
      const [rows, lines, api] = await Promise.all([
        (async () => {
          const out: Record<string, unknown>[] = [];
          for await (const row of (await tally.export({ format: 'csv', where: { tag: 'full' } })).rows()) out.push(row);
          return out;
        })(),
        (async () => {
          const out: string[] = [];
          for await (const line of (await tally.export({ format: 'csv', where: { tag: 'full' } })).lines()) out.push(line);
          return out;
        })(),
        t.get('/v1/requests/export?format=csv&tag=full'),
      ]);
      assert.equal(lines.map((l) => `${l}\r\n`).join(''), api.body);
      const [header, ...apiRows] = parseCsv(api.body);
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0], Object.fromEntries(header!.map((h, i) => [h, apiRows[0]![i]])));
      const row = rows[0]!;
      assert.equal(Number(row.id), full);
      assert.deepEqual(JSON.parse(row.input as string), chat(TRICKY));
      assert.deepEqual(JSON.parse(row.metadata as string), { note: 'x, "y"\nz', team: 'search' });
      assert.deepEqual([row['score:quality'], row['score:with,comma']], ['91', '5']);
    });

    it('export as JSON Lines streams every matching request as requests.get shows it', async () => {
      const exp = await tally.export({ format: 'jsonl', filter: { logic: 'or', filters: [{ field: 'tags', op: 'any', value: ['paged'] }, { field: 'id', op: '=', value: full }] }, sort_by: 'id', sort_order: 'asc' });
      assert.equal(exp.format, 'jsonl');
      const rows: Record<string, unknown>[] = [];
      for await (const row of exp.rows()) rows.push(row);
      assert.deepEqual(rows.map((r) => r.id), [full, ...paged]);
      assert.deepEqual(rows[0], await tally.requests.get(full));
    });

    it("export refuses a bad filter with the server's message before any row", async () => {
      const err = await rejects(tally.export({ format: 'csv', where: { min_latency_ms: -1 } }));
      assert.deepEqual([err.status, err.code], [400, 'invalid_field']);
      assert.match(err.message, /^min_latency_ms: /);
    });
  });
}
