import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { score } from './helpers/search-fixtures.js';
import { createTestApp, logBody, logRequest, type TestApp } from './helpers/test-app.js';

/** What the official SDKs' wrapped OpenAI client posts after a chat completion. */
function trackRequestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    function_name: 'openai.chat.completions.create',
    provider_type: 'openai',
    args: [],
    kwargs: { model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], temperature: 0.2 },
    request_response: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    },
    request_start_time: '2026-11-27T10:00:00.000Z',
    request_end_time: '2026-11-27T10:00:01.250Z',
    tags: ['prod', 'greeting'],
    metadata: { user: 'u-1' },
    prompt_id: null,
    prompt_version: null,
    prompt_input_variables: null,
    group_id: null,
    return_pl_id: true,
    ...overrides,
  };
}

for (const backend of BACKENDS) {
  describe(`log routes [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    it('log-request answers 201 with both id and request_id, and stores every field', async () => {
      const res = await t.post(
        '/log-request',
        logBody({
          tags: ['a', 'b'],
          metadata: { env: 'test' },
          prompt_name: 'greeter',
          prompt_version_number: 2,
          prompt_input_variables: { who: 'Ada' },
          input_tokens: 10,
          output_tokens: 4,
          price: 0.00042,
          parameters: { temperature: 0.5 },
          function_name: 'openai.chat.completions.create',
          status: 'WARNING',
          score: 64,
          score_name: 'helpfulness',
        }),
      );
      assert.equal(res.statusCode, 201);
      const body = res.json() as Record<string, unknown>;
      assert.equal(typeof body.id, 'number');
      assert.equal(body.request_id, body.id);
      assert.deepEqual({ ...body, id: 0, request_id: 0 }, { id: 0, request_id: 0, prompt_version: 2, status: 'WARNING', error_type: null, error_message: null });
      const stored = await t.store.requests.get(t.alpha.workspace.id, body.id as number);
      assert.ok(stored);
      assert.equal(stored.provider, 'openai');
      assert.equal(stored.model, 'gpt-4o-mini');
      assert.deepEqual(stored.tags, ['a', 'b']);
      assert.deepEqual(stored.metadata, { env: 'test' });
      assert.equal(stored.promptName, 'greeter');
      assert.equal(stored.promptVersion, 2);
      assert.deepEqual(stored.promptInputVariables, { who: 'Ada' });
      assert.equal(stored.inputTokens, 10);
      assert.equal(stored.outputTokens, 4);
      assert.equal(stored.price, 0.00042);
      assert.deepEqual(stored.parameters, { temperature: 0.5 });
      assert.equal(stored.startMs, 1732712345123);
      assert.equal(stored.endMs, 1732712346500);
      assert.equal(stored.latencyMs, 1377);
      assert.deepEqual(stored.scores, { helpfulness: 64 });
      assert.deepEqual(stored.input, logBody().input);
      const history = await t.store.scores.history(t.alpha.workspace.id, stored.id);
      assert.deepEqual(history.map((e) => [e.name, e.oldValue, e.newValue]), [['helpfulness', null, 64]]);
    });

    it('keeps keys holding line breaks in metadata, parameters and prompt variables, and shows them in every answer', async () => {
      const keys = ['two\nlines', 'cr\ronly', 'crlf\r\n', 'ls\u2028ps\u2029', 'plain'];
      const map = Object.fromEntries(keys.map((k) => [k, `value of ${k}`]));
      const id = await logRequest(t, { metadata: map, parameters: map, prompt_input_variables: map, tags: ['line-break-keys'] });
      await score(t, id, 'multi\nline', 42);
      const one = (await t.get(`/v1/requests/${id}`)).json() as { request: Record<string, unknown> };
      for (const field of ['metadata', 'parameters', 'prompt_input_variables']) assert.deepEqual(one.request[field], map, field);
      assert.deepEqual(one.request.scores, { 'multi\nline': 42 });
      const found = (await t.get('/v1/requests/search?tag=line-break-keys')).json() as { items: { metadata: unknown; scores: unknown }[] };
      assert.deepEqual(found.items.map((i) => [i.metadata, i.scores]), [[map, { 'multi\nline': 42 }]]);
      const pl = await t.get(`/api/public/v2/requests/${id}`);
      assert.equal(pl.statusCode, 200, pl.body);
      assert.ok(pl.body.includes(JSON.stringify('crlf\r\n')), pl.body);
    });

    it('log-request accepts ISO 8601 timestamps as the JS SDK sends them', async () => {
      const id = await logRequest(t, { request_start_time: '2026-11-27T12:00:00.000Z', request_end_time: '2026-11-27T12:00:02.500Z' });
      const stored = await t.store.requests.get(t.alpha.workspace.id, id);
      assert.equal(stored?.startMs, Date.parse('2026-11-27T12:00:00.000Z'));
      assert.equal(stored?.latencyMs, 2500);
    });

    it('log-request treats score 0 with no score_name (what the Python SDK always sends) as no score', async () => {
      const id = await logRequest(t, { score: 0, score_name: null });
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, {});
      assert.deepEqual(await t.store.scores.history(t.alpha.workspace.id, id), []);
    });

    it('log-request stores a nonzero score with no name under "default", and a zero score with a name', async () => {
      const a = await logRequest(t, { score: 90, score_name: null });
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, a))?.scores, { default: 90 });
      const b = await logRequest(t, { score: 0, score_name: 'toxicity' });
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, b))?.scores, { toxicity: 0 });
    });

    it('log-request stores an error status with its type and message', async () => {
      const res = await t.post('/log-request', logBody({ status: 'ERROR', error_type: 'PROVIDER_TIMEOUT', error_message: 'timed out after 30s' }));
      assert.equal(res.statusCode, 201);
      assert.equal(res.json().error_type, 'PROVIDER_TIMEOUT');
      const stored = await t.store.requests.get(t.alpha.workspace.id, res.json().id);
      assert.equal(stored?.status, 'ERROR');
      assert.equal(stored?.errorMessage, 'timed out after 30s');
    });

    const bad: [string, Record<string, unknown>, string][] = [
      ['a missing provider', { provider: undefined }, 'provider'],
      ['a missing model', { model: undefined }, 'model'],
      ['a missing input', { input: undefined }, 'input'],
      ['an input that is not a blueprint', { input: { type: 'image' } }, 'input.type'],
      ['a chat input without messages', { input: { type: 'chat' } }, 'input.messages'],
      ['a missing request_start_time', { request_start_time: undefined }, 'request_start_time'],
      ['a request_start_time that is not a date', { request_start_time: 'yesterday' }, 'request_start_time'],
      ['an end before the start', { request_start_time: 1732712346, request_end_time: 1732712345 }, 'request_end_time'],
      ['a tag over 512 characters', { tags: ['ok', 'x'.repeat(513)] }, 'tags.1'],
      ['tags that are not strings', { tags: [1] }, 'tags.0'],
      ['a metadata value that is not a string', { metadata: { n: 1 } }, 'metadata.n'],
      ['a metadata key over 1024 characters', { metadata: { ok: 'v', ['k'.repeat(1025)]: 'v' } }, 'metadata'],
      ['more than 256 metadata entries', { metadata: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
      ['an object as metadata value under a key holding a line break', { metadata: { 'a\nb': { x: 1 } } }, 'metadata.a\nb'],
      ['a number as metadata value under a key holding a line break', { metadata: { 'a\r\nb': 5 } }, 'metadata.a\r\nb'],
      ['a score of 101', { score: 101 }, 'score'],
      ['a score of 50.5', { score: 50.5 }, 'score'],
      ['a negative price', { price: -1 }, 'price'],
      ['an unknown status', { status: 'OK' }, 'status'],
      ['an unknown error_type', { status: 'ERROR', error_type: 'OOPS' }, 'error_type'],
      ['an error_message over 1024 characters', { error_message: 'e'.repeat(1025) }, 'error_message'],
      ['a prompt_version_number of 0', { prompt_version_number: 0 }, 'prompt_version_number'],
      ['fractional input_tokens', { input_tokens: 1.5 }, 'input_tokens'],
      ['an unknown group_id', { group_id: 99_999_999 }, 'group_id'],
    ];
    for (const [what, patch, field] of bad) {
      it(`log-request rejects ${what}, naming "${field}", and writes nothing`, async () => {
        // A request of this test's own, so the check below never rests on what earlier tests logged.
        const existing = await logRequest(t, { tags: ['kept'], metadata: { k: 'v' }, score: 5 });
        const before = (await t.get(`/v1/requests/${existing}`)).body;
        assert.match(before, /"kept"/);
        const countBefore = await countRequests(t);
        const res = await t.post('/log-request', logBody(patch));
        assert.ok(res.statusCode === 400 || res.statusCode === 404, `status ${res.statusCode}`);
        const body = res.json() as { success: boolean; message: string };
        assert.equal(body.success, false);
        assert.ok(body.message.startsWith(`${field}:`), `"${body.message}" should start with "${field}:"`);
        assert.equal(await countRequests(t), countBefore);
        assert.equal((await t.get(`/v1/requests/${existing}`)).body, before);
      });
    }

    for (const path of ['/track-request', '/rest/track-request']) {
      it(`${path} turns an OpenAI call into a chat request and answers its id`, async () => {
        // The SDKs send the key in the body on this route, not in a header.
        const res = await t.post(path, { ...trackRequestBody(), api_key: t.alpha.key }, { key: null });
        assert.equal(res.statusCode, 200);
        const body = res.json() as { success: boolean; request_id: number; prompt_blueprint: unknown };
        assert.equal(body.success, true);
        assert.equal(body.prompt_blueprint, null);
        const stored = await t.store.requests.get(t.alpha.workspace.id, body.request_id);
        assert.ok(stored);
        assert.equal(stored.provider, 'openai');
        assert.equal(stored.model, 'gpt-4o');
        assert.equal(stored.functionName, 'openai.chat.completions.create');
        assert.deepEqual(stored.input, {
          type: 'chat',
          messages: [
            { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
            { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
          ],
        });
        assert.deepEqual(stored.output, { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] }] });
        assert.deepEqual(stored.parameters, { model: 'gpt-4o', temperature: 0.2 });
        assert.equal(stored.inputTokens, 12);
        assert.equal(stored.outputTokens, 3);
        assert.equal(stored.latencyMs, 1250);
        assert.deepEqual(stored.tags, ['greeting', 'prod']);
        assert.deepEqual(stored.metadata, { user: 'u-1' });
      });
    }

    it('track-request reads an Anthropic response and returns a blueprint when asked', async () => {
      const res = await t.post('/track-request', {
        ...trackRequestBody({
          provider_type: 'anthropic',
          function_name: 'anthropic.messages.create',
          kwargs: { model: 'claude-3-5-sonnet', system: 'Be kind.', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100 },
          request_response: { role: 'assistant', content: [{ type: 'text', text: 'Hey!' }], usage: { input_tokens: 9, output_tokens: 2 } },
          return_prompt_blueprint: true,
        }),
      });
      assert.equal(res.statusCode, 200);
      const body = res.json() as { request_id: number; prompt_blueprint: { prompt_template: { messages: unknown[] } } };
      assert.equal(body.prompt_blueprint.prompt_template.messages.length, 3);
      const stored = await t.store.requests.get(t.alpha.workspace.id, body.request_id);
      assert.equal(stored?.inputTokens, 9);
      assert.deepEqual(stored?.output, { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hey!' }] }] });
    });

    it('track-request accepts float epoch seconds and a provider error', async () => {
      const res = await t.post('/track-request', trackRequestBody({
        request_start_time: 1732712345.25,
        request_end_time: 1732712345.75,
        request_response: {},
        status: 'ERROR',
        error_type: 'PROVIDER_RATE_LIMIT',
        error_message: '429 from provider',
      }));
      assert.equal(res.statusCode, 200);
      const stored = await t.store.requests.get(t.alpha.workspace.id, res.json().request_id);
      assert.equal(stored?.latencyMs, 500);
      assert.equal(stored?.status, 'ERROR');
      assert.equal(stored?.errorType, 'PROVIDER_RATE_LIMIT');
    });

    it('track-request rejects bad timestamps, tags and metadata naming the field', async () => {
      for (const [patch, field] of [
        [{ request_start_time: true }, 'request_start_time'],
        [{ tags: ['x'.repeat(513)] }, 'tags.0'],
        [{ metadata: { a: { b: 1 } } }, 'metadata.a'],
        [{ kwargs: 'model=gpt' }, 'kwargs'],
      ] as const) {
        const res = await t.post('/track-request', trackRequestBody(patch));
        assert.equal(res.statusCode, 400);
        assert.ok((res.json() as { message: string }).message.startsWith(`${field}:`), res.body);
      }
    });

    it('GET /api/public/v2/requests/{id} answers the request in PromptLayer\'s shape', async () => {
      const id = await logRequest(t, { input_tokens: 7, output_tokens: 5, price: 0.01, score: 80 });
      const res = await t.get(`/api/public/v2/requests/${id}`);
      assert.equal(res.statusCode, 200);
      const body = res.json() as Record<string, unknown>;
      assert.deepEqual(body, {
        success: true,
        request_id: id,
        prompt_blueprint: {
          prompt_template: {
            type: 'chat',
            messages: [
              { role: 'user', content: [{ type: 'text', text: 'Say hello' }] },
              { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
            ],
          },
          metadata: { model: { provider: 'openai', name: 'gpt-4o-mini', parameters: {} } },
          inference_client_name: null,
          provider_base_url_name: null,
        },
        provider: 'openai',
        model: 'gpt-4o-mini',
        input_tokens: 7,
        output_tokens: 5,
        tokens: 12,
        price: 0.01,
        request_start_time: '2024-11-27T12:59:05.123Z',
        request_end_time: '2024-11-27T12:59:06.500Z',
        latency_ms: 1377,
        trace_id: null,
        status: 'SUCCESS',
        scores: { default: 80 },
      });
    });

    it("GET /api/public/v2/requests/{id} answers another workspace's id exactly like a missing one", async () => {
      const foreign = await logRequest(t, {}, t.other.key);
      const res = await t.get(`/api/public/v2/requests/${foreign}`);
      const missing = await t.get('/api/public/v2/requests/99999999');
      assert.equal(res.statusCode, 404);
      assert.equal(res.body, missing.body);
      assert.equal((await t.get(`/api/public/v2/requests/${foreign}`, { key: t.other.key })).statusCode, 200);
    });

    it('GET /api/public/v2/requests/{id} rejects a non-numeric id with 400', async () => {
      const res = await t.get('/api/public/v2/requests/abc');
      assert.equal(res.statusCode, 400);
      assert.ok((res.json() as { message: string }).message.startsWith('request_id:'));
    });
  });
}

async function countRequests(t: TestApp): Promise<number> {
  let n = 0;
  for (let id = 1; id < 400; id++) if (await t.store.requests.get(t.alpha.workspace.id, id)) n++;
  return n;
}
