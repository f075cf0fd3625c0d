import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

const fixture = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`./fixtures/otel/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

type Json = Record<string, any>;

const str = (v: string) => ({ stringValue: v });
const int = (v: number) => ({ intValue: String(v) });
const attrs = (o: Record<string, unknown>) => Object.entries(o).map(([key, value]) => ({ key, value }));

let counter = 0;
/** A unique hex id of `bytes` bytes. */
const hex = (bytes: number) => (++counter).toString(16).padStart(bytes * 2, 'a');

/** One GenAI chat span of the current conventions, in an OTLP/JSON export. */
function genAiExport(opts: { traceId?: string; spanId?: string; model?: string; input?: number; output?: number; startMs?: number; extra?: Record<string, unknown> } = {}) {
  const startMs = opts.startMs ?? Date.UTC(2025, 5, 1, 12);
  const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
  return {
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': str('intake-test') }) },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: [
              {
                traceId: opts.traceId ?? hex(16),
                spanId: opts.spanId ?? hex(8),
                name: `chat ${opts.model ?? 'gpt-4o'}`,
                kind: 3,
                startTimeUnixNano: ns(startMs),
                endTimeUnixNano: ns(startMs + 800),
                attributes: attrs({
                  'gen_ai.operation.name': str('chat'),
                  'gen_ai.provider.name': str('openai'),
                  'gen_ai.request.model': str(opts.model ?? 'gpt-4o'),
                  'gen_ai.usage.input_tokens': int(opts.input ?? 1000),
                  'gen_ai.usage.output_tokens': int(opts.output ?? 500),
                  'gen_ai.input.messages': str(JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Hi' }] }])),
                  'gen_ai.output.messages': str(JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello' }], finish_reason: 'stop' }])),
                  ...opts.extra,
                }),
                status: {},
              },
            ],
          },
        ],
      },
    ],
  };
}

for (const backend of BACKENDS) {
  describe(`OTLP intake [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, { tracesMaxSpans: 50, tracesBodyLimit: 256 * 1024 });
    });
    after(() => t.close());

    const send = (body: unknown, headers: Record<string, string> = {}, key: string | null = t.alpha.key) =>
      t.inject({
        method: 'POST',
        url: '/v1/traces',
        headers: { 'content-type': 'application/json', ...(key === null ? {} : { 'x-api-key': key }), ...headers },
        payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      });

    const bySpan = async (spanId: string, key = t.alpha.key): Promise<Json[]> => {
      const res = await t.get(`/v1/requests/search?span_id=${spanId}`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { items: Json[] }).items;
    };
    const detail = async (id: number): Promise<Json> => (await t.get(`/v1/requests/${id}`)).json().request as Json;
    const countAll = async (): Promise<number> => (await t.get('/v1/requests/search?limit=500')).json().items.length as number;

    it('maps an OpenInference chat span with a tool call; drops the CHAIN span', async () => {
      const res = await send(fixture('openinference-openai-tool-call.json'));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().partialSuccess.rejectedSpans, '1');
      assert.match(res.json().partialSuccess.errorMessage, /1 span was not LLM calls/);
      const [item] = await bySpan('051581bf3cb55c13');
      assert.ok(item);
      assert.equal((await bySpan('a1b2c3d4e5f60718')).length, 0);
      const r = await detail(item.id);
      assert.equal(r.provider, 'openai');
      assert.equal(r.model, 'gpt-4o-mini-2024-07-18');
      assert.equal(r.function_name, 'ChatCompletion');
      assert.equal(r.input_tokens, 812);
      assert.equal(r.output_tokens, 21);
      assert.equal(r.request_start_time, '2025-01-15T10:00:00.000Z');
      assert.equal(r.latency_ms, 1250);
      assert.deepEqual(r.input.messages, [
        { role: 'system', content: [{ type: 'text', text: 'You answer order questions.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Where is order 1234?' }] },
      ]);
      assert.equal(r.input.tools[0].function.name, 'lookup_order');
      assert.deepEqual(r.output.messages, [
        { role: 'assistant', content: [], tool_calls: [{ id: 'call_Zx81', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id": "1234"}' } }] },
      ]);
      assert.equal(r.parameters.temperature, 0.2);
      assert.deepEqual(r.metadata, { 'service.name': 'support-bot', 'deployment.environment': 'staging', 'otel.trace_id': '5b8aa5a2d2c872e8321cf37308d69df2' });
      // gpt-4o-mini: 300 uncached at 0.15, 512 cached at 0.075, 21 output at 0.60 per million.
      assert.equal(r.price_source, 'computed');
      assert.ok(Math.abs(r.price - (300 * 0.15 + 512 * 0.075 + 21 * 0.6) / 1e6) < 1e-12, String(r.price));
      assert.equal(r.group_ids.length, 1);
    });

    it('maps OpenLLMetry spans, errors from the span status, and groups one trace', async () => {
      const res = await send(fixture('openllmetry-openai-chat.json'));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().partialSuccess.rejectedSpans, '1');
      const ok = await detail((await bySpan('b7ad6b7169203331'))[0]!.id);
      const failed = await detail((await bySpan('c7ad6b7169203332'))[0]!.id);
      assert.equal(ok.model, 'gpt-4o');
      assert.equal(ok.status, 'SUCCESS');
      assert.equal(ok.input_tokens, 120);
      assert.equal(ok.output_tokens, 30);
      assert.deepEqual(ok.parameters, { temperature: 0.7, max_tokens: 256, stream: false });
      assert.deepEqual(ok.input.messages.map((m: Json) => m.role), ['system', 'user']);
      assert.equal(ok.input.tools[0].function.name, 'get_weather');
      assert.deepEqual(ok.output.messages[0].tool_calls, [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo"}' } }]);
      assert.deepEqual(ok.output.messages[0].content, [{ type: 'text', text: 'Let me check the weather.' }]);
      assert.equal(ok.metadata['deployment.environment'], 'production');
      assert.equal(ok.metadata['gen_ai.response.model'], 'gpt-4o-2024-08-06');
      assert.equal(failed.status, 'ERROR');
      assert.equal(failed.error_type, 'RateLimitError');
      assert.equal(failed.error_message, 'Error code: 429 - rate limit reached');
      // No tokens: no price to compute.
      assert.equal(failed.price, 0);
      assert.equal(failed.price_source, null);
      assert.deepEqual(ok.group_ids, failed.group_ids);
      assert.equal(ok.group_ids.length, 1);
    });

    it('maps the earlier GenAI event form, tool messages included', async () => {
      const res = await send(fixture('genai-events-anthropic.json'));
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), {});
      const r = await detail((await bySpan('00f067aa0ba902b8'))[0]!.id);
      assert.equal(r.provider, 'anthropic');
      assert.deepEqual(r.input.messages, [
        { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        { role: 'assistant', content: [], tool_calls: [{ id: 'tu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', content: [{ type: 'text', text: '18C, sunny' }], tool_call_id: 'tu_1' },
      ]);
      assert.deepEqual(r.output.messages, [{ role: 'assistant', content: [{ type: 'text', text: 'Sunny, 18C.' }] }]);
      // claude-3-5-sonnet-20241022 is priced as claude-3-5-sonnet: 3 and 15 per million.
      assert.equal(r.price, (2000 * 3 + 100 * 15) / 1e6);
    });

    it('takes gzip, a Bearer key, and stores a span sent twice once', async () => {
      const traceId = hex(16);
      const spanId = hex(8);
      const body = genAiExport({ traceId, spanId });
      const first = await send(gzipSync(JSON.stringify(body)), { 'content-encoding': 'gzip', authorization: `Bearer ${t.alpha.key}` }, null);
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), {});
      const again = await send(body);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().partialSuccess.rejectedSpans, '0');
      assert.match(again.json().partialSuccess.errorMessage, /1 span was already stored/);
      assert.equal((await bySpan(spanId)).length, 1);
      // Twice within one export, and a second span of the trace in a later export: one group.
      const doubled = genAiExport({ traceId });
      const spans = (doubled.resourceSpans[0]!.scopeSpans[0]!.spans as Json[]);
      spans.push({ ...spans[0] });
      const res = await send(doubled);
      assert.equal(res.statusCode, 200, res.body);
      assert.match(res.json().partialSuccess.errorMessage, /1 span was already stored/);
      const newSpan = spans[0]!.spanId as string;
      const [a] = await bySpan(spanId);
      const b = await bySpan(newSpan);
      assert.equal(b.length, 1);
      assert.deepEqual(b[0]!.group_ids, a!.group_ids);
      // Another workspace sending the same ids gets its own request.
      assert.equal((await send(body, {}, t.other.key)).statusCode, 200);
      assert.equal((await bySpan(spanId, t.other.key)).length, 1);
      assert.equal((await bySpan(spanId)).length, 1);
    });

    it('refuses bad payloads with a 400 naming the problem and writes nothing', async () => {
      const before = await countAll();
      const good = genAiExport();
      const withSpan = (change: (s: Json) => void) => {
        const b = structuredClone(genAiExport());
        change(b.resourceSpans[0]!.scopeSpans[0]!.spans[0] as Json);
        // A valid LLM span first: the bad one must fail the whole export.
        (b.resourceSpans[0]!.scopeSpans[0]!.spans as Json[]).unshift(good.resourceSpans[0]!.scopeSpans[0]!.spans[0] as Json);
        return b;
      };
      const cases: [unknown, RegExp][] = [
        ['{"resourceSpans": [', /not valid JSON/],
        [{ resourceSpans: {} }, /body\.resourceSpans: must be an array/],
        [withSpan((s) => (s.traceId = 'xyz')), /spans\[1\]\.traceId: must be 32 hex digits/],
        [withSpan((s) => (s.spanId = '00000000000000000')), /spanId: must be 16 hex digits/],
        [withSpan((s) => delete s.spanId), /spanId: is required/],
        [withSpan((s) => (s.startTimeUnixNano = 'yesterday')), /startTimeUnixNano: must be nanoseconds/],
        [withSpan((s) => (s.attributes = [{ key: 'x', value: { intValue: 'many' } }])), /attributes\[0\]\.value\.intValue: must be an integer/],
        [withSpan((s) => (s.attributes = [{ key: 7 }])), /attributes\[0\]\.key: must be a string/],
      ];
      for (const [body, message] of cases) {
        const res = await send(body);
        assert.equal(res.statusCode, 400, `${res.body} for ${JSON.stringify(body).slice(0, 200)}`);
        assert.match(res.json().message, message);
      }
      const badGzip = await send(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
      assert.equal(badGzip.statusCode, 400, badGzip.body);
      assert.match(badGzip.json().message, /gzip/);
      const badProto = await send(Buffer.from([0x0a, 0xff, 0xff, 0xff]), { 'content-type': 'application/x-protobuf' });
      assert.equal(badProto.statusCode, 400, badProto.body);
      assert.match(badProto.json().message, /protobuf ExportTraceServiceRequest/);
      assert.equal(await countAll(), before);
    });

    it('refuses other media types, strangers before the body, and exports over the limits', async () => {
      const before = await countAll();
      const text = await send('hello', { 'content-type': 'text/plain' });
      assert.equal(text.statusCode, 415);
      assert.match(text.json().message, /content-type: must be application\/x-protobuf or application\/json/);
      assert.equal((await send(genAiExport(), { 'content-encoding': 'br' })).statusCode, 415);
      const stranger = await send(genAiExport(), {}, 'tl_not_a_key');
      assert.equal(stranger.statusCode, 401);
      assert.equal((await send(genAiExport(), {}, null)).statusCode, 401);
      const many: Json = genAiExport();
      const one = many.resourceSpans[0]!.scopeSpans[0]!.spans[0] as Json;
      many.resourceSpans[0]!.scopeSpans[0]!.spans = Array.from({ length: 51 }, () => ({ ...one, spanId: hex(8) }));
      const tooMany = await send(many);
      assert.equal(tooMany.statusCode, 413, tooMany.body);
      assert.match(tooMany.json().message, /51 spans, more than the limit of 50/);
      // Small compressed, large once decompressed: the limit is on what gzip gives.
      const big = genAiExport({ extra: { padding: str('x'.repeat(300 * 1024)) } });
      const bomb = await send(gzipSync(JSON.stringify(big)), { 'content-encoding': 'gzip' });
      assert.equal(bomb.statusCode, 413, bomb.body);
      // The key is checked before the body is read: a stranger's oversized body is a 401, not a 413.
      assert.equal((await send(JSON.stringify(big), {}, 'tl_not_a_key')).statusCode, 401);
      assert.equal((await send(JSON.stringify(big), { authorization: 'Bearer tl_not_a_key' }, null)).statusCode, 401);
      assert.equal(await countAll(), before);
    });

    it('answers protobuf requests in protobuf', async () => {
      // An empty ExportTraceServiceRequest: no spans, full success, an empty response message.
      const res = await send(Buffer.alloc(0), { 'content-type': 'application/x-protobuf' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'application/x-protobuf');
      assert.equal(res.rawPayload.length, 0);
    });

    it('scores a request by span id, through the span route and by request id', async () => {
      const spanId = hex(8);
      await send(genAiExport({ spanId }));
      const [item] = await bySpan(spanId);
      const put = await t.inject({ method: 'PUT', url: `/v1/spans/${spanId.toUpperCase()}/scores/helpful`, headers: { 'x-api-key': t.alpha.key, 'content-type': 'application/json' }, payload: { score: 90, comment: 'good' } });
      assert.equal(put.statusCode, 200, put.body);
      assert.deepEqual(put.json(), { success: true, request_id: item!.id, name: 'helpful', old_value: null, new_value: 90, label: null, rater: `key:${t.alpha.keyId}`, rating: 90, schema_version: null });
      const byId = await t.inject({ method: 'PUT', url: `/v1/requests/${item!.id}/scores/helpful`, headers: { 'x-api-key': t.alpha.key, 'content-type': 'application/json' }, payload: { score: 70 } });
      assert.equal(byId.json().old_value, 90);
      assert.deepEqual((await bySpan(spanId))[0]!.scores, { helpful: 70 });
      const missing = await t.inject({ method: 'PUT', url: '/v1/spans/ffffffffffffffff/scores/helpful', headers: { 'x-api-key': t.alpha.key, 'content-type': 'application/json' }, payload: { score: 1 } });
      assert.equal(missing.statusCode, 404);
      assert.match(missing.json().message, /^span_id: /);
      // Another workspace's span is as missing as an unknown one.
      const foreign = await t.inject({ method: 'PUT', url: `/v1/spans/${spanId}/scores/helpful`, headers: { 'x-api-key': t.other.key, 'content-type': 'application/json' }, payload: { score: 1 } });
      assert.equal(foreign.statusCode, 404);
      // Two requests logged with one span id: ambiguous.
      await logRequest(t, { span_id: 'shared-span' });
      await logRequest(t, { span_id: 'shared-span' });
      const twice = await t.inject({ method: 'PUT', url: '/v1/spans/shared-span/scores/helpful', headers: { 'x-api-key': t.alpha.key, 'content-type': 'application/json' }, payload: { score: 1 } });
      assert.equal(twice.statusCode, 409, twice.body);
    });

    it('computes prices only when none was logged, and says which', async () => {
      const logged = await detail(await logRequest(t, { model: 'gpt-4o', input_tokens: 1000, output_tokens: 1000, price: 0.5 }));
      assert.equal(logged.price, 0.5);
      assert.equal(logged.price_source, 'logged');
      const computed = await detail(await logRequest(t, { model: 'gpt-4o-2024-08-06', input_tokens: 1000, output_tokens: 1000, price: 0 }));
      assert.equal(computed.price, (1000 * 2.5 + 1000 * 10) / 1e6);
      assert.equal(computed.price_source, 'computed');
      const unknownModel = await detail(await logRequest(t, { model: 'my-own-model', input_tokens: 1000, output_tokens: 1000 }));
      assert.equal(unknownModel.price, 0);
      assert.equal(unknownModel.price_source, null);
    });

    it('uses workspace overrides by effective date, never re-pricing stored requests', async () => {
      const headers = { 'x-api-key': t.alpha.key, 'content-type': 'application/json' };
      const day = (d: number) => Date.UTC(2025, 0, d) / 1000;
      const tokens = { input_tokens: 1_000_000, output_tokens: 1_000_000 };
      const beforeOverride = await detail(await logRequest(t, { model: 'house-model', ...tokens, request_start_time: day(20), request_end_time: day(20) }));
      assert.equal(beforeOverride.price_source, null);
      let res = await t.inject({ method: 'PUT', url: '/v1/model-prices/house-model', headers, payload: { input: 1, output: 2 } });
      assert.equal(res.statusCode, 200, res.body);
      res = await t.inject({ method: 'PUT', url: '/v1/model-prices/house-model', headers, payload: { input: 10, output: 20, cached_input: 5, effective_from: '2025-01-10T00:00:00Z' } });
      assert.equal(res.statusCode, 200, res.body);
      const old = await detail(await logRequest(t, { model: 'house-model', ...tokens, request_start_time: day(5), request_end_time: day(5) }));
      const recent = await detail(await logRequest(t, { model: 'house-model', ...tokens, request_start_time: day(20), request_end_time: day(20) }));
      assert.equal(old.price, 3);
      assert.equal(recent.price, 30);
      // Logged together, so they commit in one batch (PostgreSQL's set-based insert prices them too).
      const together = await Promise.all([5, 20, 6, 21].map((d) => logRequest(t, { model: 'house-model', ...tokens, request_start_time: day(d), request_end_time: day(d) })));
      assert.deepEqual(await Promise.all(together.map(async (id) => (await detail(id)).price)), [3, 30, 3, 30]);
      assert.equal(recent.price_source, 'computed');
      // The request stored before any override keeps what it had.
      assert.equal((await detail(beforeOverride.id)).price, 0);
      // An override under a model's base name applies to its dated names; it beats the shipped table.
      await t.inject({ method: 'PUT', url: '/v1/model-prices/gpt-4.1', headers, payload: { input: 100, output: 0 } });
      const dated = await detail(await logRequest(t, { model: 'gpt-4.1-2025-04-14', input_tokens: 10_000, output_tokens: 5 }));
      assert.equal(dated.price, 1);
      // Overrides are the workspace's own.
      const theirs = await t.get(`/v1/requests/${await logRequest(t, { model: 'house-model', ...tokens }, t.other.key)}`, { key: t.other.key });
      assert.equal(theirs.json().request.price, 0);
      const list = (await t.get('/v1/model-prices')).json();
      assert.deepEqual(
        list.overrides.filter((o: Json) => o.model === 'house-model').map((o: Json) => [o.effective_from, o.input, o.cached_input]),
        [[null, 1, null], ['2025-01-10T00:00:00.000Z', 10, 5]],
      );
      assert.ok(list.builtin.some((b: Json) => b.model === 'claude-sonnet-4-5' && b.provider === 'anthropic'));
      assert.match(list.builtin_taken, /^\d{4}-\d{2}-\d{2}$/);
      const deleted = await t.inject({ method: 'DELETE', url: '/v1/model-prices/house-model?effective_from=2025-01-10T00:00:00Z', headers: { 'x-api-key': t.alpha.key } });
      assert.deepEqual(deleted.json(), { success: true, deleted: 1 });
      const later = await detail(await logRequest(t, { model: 'house-model', ...tokens, request_start_time: day(21), request_end_time: day(21) }));
      assert.equal(later.price, 3);
      assert.equal((await detail(recent.id)).price, 30);
      const none = await t.inject({ method: 'DELETE', url: '/v1/model-prices/nothing-here', headers: { 'x-api-key': t.alpha.key } });
      assert.equal(none.statusCode, 404);
      const bad = await t.inject({ method: 'PUT', url: '/v1/model-prices/house-model', headers, payload: { input: -1, output: 2 } });
      assert.equal(bad.statusCode, 400);
    });

    it('totals costs per model with score per dollar, and in compare', async () => {
      const fresh = await createTestApp(backend);
      try {
        const ids: number[] = [];
        for (const [model, price, value] of [['m-a', 0.01, 80], ['m-a', 0.03, 60], ['m-b', 0.02, 90]] as const) {
          const id = await logRequest(fresh, { model, price, input_tokens: 10, output_tokens: 10, prompt_name: 'p', prompt_version_number: model === 'm-a' ? 1 : 2 });
          const res = await fresh.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/quality`, headers: { 'x-api-key': fresh.alpha.key, 'content-type': 'application/json' }, payload: { score: value } });
          assert.equal(res.statusCode, 200);
          ids.push(id);
        }
        await logRequest(fresh, { model: 'gpt-4o', input_tokens: 1000, output_tokens: 0 });
        const stats = (await fresh.get('/v1/costs/stats?group_by=model&name=quality')).json();
        const a = stats.groups.find((g: Json) => g.model === 'm-a');
        assert.equal(a.requests, 2);
        assert.ok(Math.abs(a.total_cost - 0.04) < 1e-12);
        assert.equal(a.mean_score, 70);
        assert.ok(Math.abs(a.score_per_dollar - 140 / 0.04) < 1e-6, String(a.score_per_dollar));
        const g = stats.groups.find((x: Json) => x.model === 'gpt-4o');
        assert.equal(g.computed_cost, 0.0025);
        assert.equal(g.scored_requests, 0);
        assert.equal(g.score_per_dollar, null);
        assert.equal(stats.total.requests, 4);
        const cmp = (await fresh.get('/v1/scores/compare?name=quality&a.prompt_version=1&b.prompt_version=2')).json();
        assert.ok(Math.abs(cmp.a.cost.score_per_dollar - 140 / 0.04) < 1e-6);
        assert.ok(Math.abs(cmp.b.cost.score_per_dollar - 90 / 0.02) < 1e-6);
      } finally {
        await fresh.close();
      }
    });

    it('counts spans by outcome in /metrics', async () => {
      const metricsText = async () => (await t.get('/metrics', { key: null })).body;
      const read = (text: string, outcome: string) => Number(new RegExp(`tally_otlp_spans_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 'NaN');
      const before = await metricsText();
      await send(fixture('openinference-openai-tool-call.json'));
      const after = await metricsText();
      assert.equal(read(after, 'not_llm') - read(before, 'not_llm'), 1);
      assert.equal(read(after, 'duplicate') - read(before, 'duplicate'), 1);
      assert.equal(read(after, 'logged') - read(before, 'logged'), 0);
    });
  });
}
