import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logBody, logRequest, type TestApp } from './helpers/test-app.js';

/**
 * Numbers that integer columns cannot hold. PostgreSQL refuses to store them or to compare a
 * 32-bit or 64-bit integer column with a fraction or a number beyond its range (a database error,
 * which was a 500), where SQLite stored or compared them. Every such number is now a 400 naming
 * the field on both backends, with nothing written; the largest numbers the columns hold work.
 */

const INT32_MAX = 2_147_483_647;

type Reply = { statusCode: number; json(): unknown; body: string };

function assertRefused(res: Reply, field: string, what: string): void {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  const body = res.json() as { success: boolean; code: string; message: string };
  assert.equal(body.success, false, what);
  assert.equal(body.code, 'invalid_field', what);
  assert.ok(body.message.startsWith(`${field}:`), `${what}: "${body.message}" should name ${field}`);
}

const filterParam = (node: object) => `filter=${encodeURIComponent(JSON.stringify(node))}`;

for (const backend of BACKENDS) {
  describe(`numbers beyond what integer columns hold [${backend}]`, () => {
    let t: TestApp;
    let big: number;
    before(async () => {
      t = await createTestApp(backend);
      // The largest values the columns take: found by their filters and sorts, without overflow.
      big = await logRequest(t, { prompt_name: 'p', prompt_version_number: INT32_MAX, input_tokens: 1_000_000_000, output_tokens: 1_000_000_000, score: 7 });
    });
    after(() => t.close());

    const count = async () => ((await t.get('/v1/requests/search?limit=200')).json() as { items: unknown[] }).items.length;

    it('are refused when logged, naming the field, and nothing is written', async () => {
      const before = await count();
      const cases: [string, Record<string, unknown>, string][] = [
        ['/log-request', logBody({ prompt_name: 'p', prompt_version_number: INT32_MAX + 1 }), 'prompt_version_number'],
        ['/log-request', logBody({ input_tokens: 1_000_000_001 }), 'input_tokens'],
        ['/log-request', logBody({ output_tokens: 1e20 }), 'output_tokens'],
        ['/log-request', logBody({ input_tokens: 2.5 }), 'input_tokens'],
        [
          '/track-request',
          { function_name: 'openai.chat.completions.create', kwargs: { model: 'm', messages: [] }, request_response: {}, request_start_time: 1732712345, request_end_time: 1732712346, prompt_version: INT32_MAX + 1 },
          'prompt_version',
        ],
      ];
      for (const [url, body, field] of cases) assertRefused(await t.post(url, body), field, `${url} ${field}`);
      assert.equal(await count(), before);
    });

    it('are refused as a prompt version by track-prompt, as a number or as digits, and the prompt stays', async () => {
      for (const version of [INT32_MAX + 1, String(INT32_MAX + 1)]) {
        assertRefused(await t.post('/rest/track-prompt', { request_id: big, prompt_name: 'q', version, prompt_input_variables: {} }), 'version', `version ${version}`);
      }
      const item = ((await t.get(`/v1/requests/${big}`)).json() as { request: { prompt_name: string; prompt_version: number } }).request;
      assert.deepEqual([item.prompt_name, item.prompt_version], ['p', INT32_MAX]);
      const ok = await t.post('/rest/track-prompt', { request_id: big, prompt_name: 'p', version: INT32_MAX, prompt_input_variables: {} });
      assert.equal(ok.statusCode, 200, ok.body);
    });

    it('in provider usage of track-request, are read as no count, like any other unusable figure', async () => {
      const res = await t.post('/track-request', {
        function_name: 'openai.chat.completions.create',
        kwargs: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
        request_response: { choices: [{ message: { role: 'assistant', content: 'hello' } }], usage: { prompt_tokens: 3e9, completion_tokens: 5 } },
        request_start_time: 1732712345,
        request_end_time: 1732712346,
      });
      assert.equal(res.statusCode, 200, res.body);
      const id = (res.json() as { request_id: number }).request_id;
      const item = ((await t.get(`/v1/requests/${id}`)).json() as { request: { input_tokens: number; output_tokens: number } }).request;
      assert.deepEqual([item.input_tokens, item.output_tokens], [0, 5]);
    });

    it('at the largest values the columns hold, filter and sort', async () => {
      const found = async (query: string) => ((await t.get(`/v1/requests/search?${query}`)).json() as { items: { id: number }[] }).items.map((i) => i.id);
      assert.deepEqual(await found(`prompt_version=${INT32_MAX}`), [big]);
      assert.deepEqual(await found('min_tokens=2000000000'), [big]);
      assert.deepEqual(await found(filterParam({ field: 'input_tokens', op: '=', value: 1_000_000_000 })), [big]);
      assert.equal((await found('sort_by=tokens&sort_order=desc&limit=1'))[0], big);
    });

    it('are refused in filters of search, export, statistics, comparisons and PromptLayer search, naming the field', async () => {
      const gets: [string, string][] = [
        [`/v1/requests/search?prompt_version=${INT32_MAX + 1}`, 'prompt_version.0'],
        ['/v1/requests/search?min_tokens=3000000000', 'min_tokens'],
        ['/v1/requests/search?min_latency_ms=1.5', 'min_latency_ms'],
        ['/v1/requests/search?max_latency_ms=1e20', 'max_latency_ms'],
        ['/v1/requests/search?score.default=gte:2.5', 'score.default'],
        [`/v1/requests/search?${filterParam({ field: 'prompt_version', op: '>=', value: 3e9 })}`, 'filter.value'],
        [`/v1/requests/search?${filterParam({ field: 'tokens', op: 'between', value: [0, 3e9] })}`, 'filter.value.1'],
        [`/v1/requests/search?${filterParam({ field: 'input_tokens', op: 'in', value: [1, 2.5] })}`, 'filter.value.1'],
        [`/v1/requests/search?${filterParam({ field: 'latency_ms', op: '<', value: 1e20 })}`, 'filter.value'],
        [`/v1/requests/search?${filterParam({ field: 'id', op: '=', value: 0.5 })}`, 'filter.value'],
        [`/v1/requests/search?${filterParam({ field: 'score', name: 'default', op: '>', value: 1e10 })}`, 'filter.value'],
        [`/v1/requests/export?format=jsonl&${filterParam({ field: 'output_tokens', op: '>=', value: -3e9 })}`, 'filter.value'],
        [`/v1/scores/stats?prompt_version=${INT32_MAX + 1}`, 'prompt_version.0'],
        [`/v1/scores/stats?${filterParam({ field: 'prompt_version', op: '=', value: 1.5 })}`, 'filter.value'],
        [`/v1/scores/compare?name=default&a.prompt_version=${INT32_MAX + 1}&b.prompt_version=1`, 'a.prompt_version'],
      ];
      for (const [url, field] of gets) assertRefused(await t.get(url), field, url);
      const pl = await t.post('/api/public/v2/requests/search', { filter_group: { logic: 'AND', filters: [{ field: 'input_tokens', operator: 'gte', value: 3e9 }] } });
      assertRefused(pl, 'filter_group.filters.0.value', 'PromptLayer search');
    });

    it('are refused in a cursor made up to carry one', async () => {
      const cursor = (v: number) => Buffer.from(JSON.stringify({ k: 'tokens', o: 'desc', v, i: 1 })).toString('base64url');
      for (const v of [3e9, 2.5]) assertRefused(await t.get(`/v1/requests/search?sort_by=tokens&sort_order=desc&cursor=${cursor(v)}`), 'cursor', `cursor value ${v}`);
      const fine = await t.get(`/v1/requests/search?sort_by=tokens&sort_order=desc&cursor=${cursor(5)}`);
      assert.equal(fine.statusCode, 200, fine.body);
    });
  });
}
