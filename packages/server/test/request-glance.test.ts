import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { previewOf } from '../src/domain/request-preview.js';
import { BACKENDS } from './helpers/backends.js';
import { BASE, bulkInsert, chat, reply } from './helpers/search-fixtures.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

const countOf = async (t: TestApp, query: string, key?: string) => {
  const res = await t.get(`/v1/requests/count?${query}`, { key });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { success: true; count: number; exact: boolean };
};

for (const backend of BACKENDS) {
  describe(`GET /v1/requests/count and /v1/requests/previews [${backend}]`, () => {
    let t: TestApp;
    let ids: { chat: number; failed: number; completion: number; foreign: number };
    before(async () => {
      t = await createTestApp(backend);
      ids = {
        chat: await logRequest(t, {
          input: { type: 'chat', messages: [{ role: 'system', content: [{ type: 'text', text: 'Be terse.' }] }, { role: 'user', content: [{ type: 'text', text: 'First question' }] }, { role: 'assistant', content: [{ type: 'text', text: 'First answer' }] }, { role: 'user', content: [{ type: 'text', text: 'Second\n  <b>question</b>' }] }] },
          output: reply('The   answer'),
          tags: ['small'],
          request_start_time: BASE,
          request_end_time: BASE + 1,
        }),
        failed: await logRequest(t, { input: chat('Will fail'), output: { type: 'chat', messages: [] }, status: 'ERROR', error_type: 'PROVIDER_ERROR', error_message: 'boom', tags: ['small'] }),
        completion: await logRequest(t, { input: { type: 'completion', content: [{ type: 'text', text: 'Complete me' }] }, output: { type: 'completion', content: [{ type: 'text', text: 'x'.repeat(400) }] } }),
        foreign: await logRequest(t, { input: chat('Not yours'), tags: ['small'] }, t.other.key),
      };
    });
    after(() => t.close());

    it('counts exactly what the search filters match, in the caller workspace only', async () => {
      assert.deepEqual(await countOf(t, ''), { success: true, count: 3, exact: true });
      assert.deepEqual(await countOf(t, 'tag=small'), { success: true, count: 2, exact: true });
      assert.deepEqual(await countOf(t, 'status=ERROR'), { success: true, count: 1, exact: true });
      assert.deepEqual(await countOf(t, 'tag=none-such'), { success: true, count: 0, exact: true });
      assert.deepEqual(await countOf(t, 'tag=small', t.other.key), { success: true, count: 1, exact: true });
    });

    it('is exact up to 10,000 and says "more" beyond', async () => {
      await bulkInsert(t, 10_000, 'big', BASE + 1000);
      assert.deepEqual(await countOf(t, 'tag=big'), { success: true, count: 10_000, exact: true });
      await bulkInsert(t, 1, 'big', BASE + 50_000);
      assert.deepEqual(await countOf(t, 'tag=big'), { success: true, count: 10_000, exact: false });
      assert.deepEqual(await countOf(t, 'tag=big&max_latency_ms=0'), { success: true, count: 0, exact: true });
      // The unbounded count (PromptLayer's search total) still counts everything.
      assert.equal(await t.store.requests.count(t.alpha.workspace.id, null), 10_004);
      // A bounded count reads no further than one past its bound.
      assert.equal(await t.store.requests.count(t.alpha.workspace.id, null, 5), 6);
    });

    it('refuses a bad filter with a 400 naming the field', async () => {
      const res = await t.get('/v1/requests/count?min_latency_ms=-1');
      assert.equal(res.statusCode, 400);
      assert.match((res.json() as { message: string }).message, /min_latency_ms/);
      const unknown = await t.get('/v1/requests/count?limit=5');
      assert.equal(unknown.statusCode, 400);
      assert.match((unknown.json() as { message: string }).message, /limit/);
    });

    it('previews the last user message and the answer as one line of plain text', async () => {
      const res = await t.get(`/v1/requests/previews?ids=${ids.chat},${ids.failed},${ids.completion},${ids.foreign},999999`);
      assert.equal(res.statusCode, 200, res.body);
      const byId = new Map((res.json() as { previews: { id: number; input: string; output: string }[] }).previews.map((p) => [p.id, p]));
      assert.deepEqual([...byId.keys()].sort((a, b) => a - b), [ids.chat, ids.failed, ids.completion], 'foreign and missing ids are left out');
      assert.deepEqual(byId.get(ids.chat), { id: ids.chat, input: 'Second <b>question</b>', output: 'The answer' });
      assert.deepEqual(byId.get(ids.failed), { id: ids.failed, input: 'Will fail', output: '' });
      const long = byId.get(ids.completion)!;
      assert.equal(long.input, 'Complete me');
      assert.equal(long.output.length, 160);
      assert.ok(long.output.endsWith('…'));
    });

    it('refuses bad ids with a 400 naming ids', async () => {
      for (const q of ['', 'ids=', 'ids=0', 'ids=1,,2', 'ids=abc', `ids=${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}`]) {
        const res = await t.get(`/v1/requests/previews?${q}`);
        assert.equal(res.statusCode, 400, q);
        assert.match((res.json() as { message: string }).message, /ids/, q);
      }
    });
  });
}

describe('previewOf', () => {
  it('reads tool calls, images and bare strings as text markers', () => {
    assert.equal(previewOf({ type: 'chat', messages: [{ role: 'assistant', content: [], tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{}' } }] }] }, 'output'), '[tool call get_weather]');
    assert.equal(previewOf({ type: 'chat', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:...' } }, { type: 'text', text: 'what is this' }] }] }, 'input'), '[image] what is this');
    assert.equal(previewOf({ type: 'chat', messages: [{ role: 'user', content: 'plain string' }] }, 'input'), 'plain string');
    assert.equal(previewOf(null, 'output'), '');
    assert.equal(previewOf({ type: 'chat', messages: [{ role: 'tool', content: 'only a tool' }] }, 'input'), 'only a tool');
  });
});
