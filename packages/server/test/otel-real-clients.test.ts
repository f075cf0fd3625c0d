import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BACKENDS, freshLocation, type StoreLocationForTest } from './helpers/backends.js';
import { startServer, type ServerProcess } from './helpers/process.js';

type Json = Record<string, any>;

/** GenAI spans as an instrumented app makes them with the OpenTelemetry JS SDK: an agent span, a chat call, a failed call. */
async function makeSpans(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'real-client', 'deployment.environment.name': 'ci' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('tally-test', '1.0.0');
  const chat: Attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.request.temperature': 0.3,
    'gen_ai.request.max_tokens': 200,
    'gen_ai.usage.input_tokens': 2000,
    'gen_ai.usage.output_tokens': 1000,
    'gen_ai.system_instructions': JSON.stringify([{ type: 'text', content: 'Answer in French.' }]),
    'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Capital of Italy?' }] }]),
    'gen_ai.output.messages': JSON.stringify([
      { role: 'assistant', parts: [{ type: 'text', content: 'Rome.' }, { type: 'tool_call', id: 'call_1', name: 'cite', arguments: { source: 'atlas' } }], finish_reason: 'stop' },
    ]),
  };
  // Children of the agent span, in its trace (no context manager is registered: the parent is passed).
  const agent = tracer.startSpan('invoke_agent geo', { kind: SpanKind.INTERNAL, attributes: { 'gen_ai.operation.name': 'invoke_agent' } });
  const parent = trace.setSpan(ROOT_CONTEXT, agent);
  tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: chat }, parent).end();
  const failed = tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: { ...chat, 'gen_ai.usage.input_tokens': 0, 'gen_ai.usage.output_tokens': 0, 'error.type': 'timeout' } }, parent);
  failed.recordException(new Error('upstream timed out'));
  failed.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timed out' });
  failed.end();
  agent.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** Exports through a real OTLP exporter and resolves with its result code (0: success) and error. */
function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(spans, (r) => resolve({ code: r.code, ...(r.error ? { error: r.error } : {}) })));
}

for (const backend of BACKENDS) {
  describe(`OpenTelemetry JS SDK exporters against tally serve [${backend}]`, () => {
    let loc: StoreLocationForTest;
    let server: ServerProcess;
    let key: string;
    const api = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${server.url}${path}`, { ...init, headers: { 'x-api-key': key, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const bySpan = async (spanId: string): Promise<Json[]> => (await api(`/v1/requests/search?span_id=${spanId}`)).body.items as Json[];
    const detail = async (spanId: string): Promise<Json> => {
      const [item] = await bySpan(spanId);
      assert.ok(item, `a request for span ${spanId}`);
      return (await api(`/v1/requests/${item.id}`)).body.request as Json;
    };

    before(async () => {
      loc = await freshLocation(backend);
      server = await startServer(loc.args);
      assert.ok(server.firstKey);
      key = server.firstKey;
    });
    after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      await loc.drop();
    });

    it('takes GenAI spans from the protobuf and the JSON exporter alike, gzip or not, once each', async () => {
      const protoSpans = await makeSpans();
      const jsonSpans = await makeSpans();
      const proto = new OtlpProtoExporter({ url: `${server.url}/v1/traces`, headers: { 'X-API-KEY': key } });
      const json = new OtlpJsonExporter({ url: `${server.url}/v1/traces`, headers: { Authorization: `Bearer ${key}` }, compression: 'gzip' as never });
      assert.deepEqual(await exportWith(proto, protoSpans), { code: 0 });
      assert.deepEqual(await exportWith(json, jsonSpans), { code: 0 });
      // The same spans again, through the other encoding: already stored, nothing new.
      assert.deepEqual(await exportWith(json, protoSpans), { code: 0 });
      assert.deepEqual(await exportWith(proto, jsonSpans), { code: 0 });

      for (const spans of [protoSpans, jsonSpans]) {
        const [ok, failed, agent] = spans;
        assert.equal(agent!.name, 'invoke_agent geo');
        assert.equal(ok!.spanContext().traceId, agent!.spanContext().traceId);
        assert.equal((await bySpan(agent!.spanContext().spanId)).length, 0, 'the agent span is not a request');
        assert.equal((await bySpan(ok!.spanContext().spanId)).length, 1, 'one request per span, however often sent');
        const r = await detail(ok!.spanContext().spanId);
        assert.equal(r.provider, 'openai');
        assert.equal(r.model, 'gpt-4o-mini');
        assert.equal(r.function_name, 'chat gpt-4o-mini');
        assert.equal(r.input_tokens, 2000);
        assert.equal(r.output_tokens, 1000);
        assert.deepEqual(r.parameters, { temperature: 0.3, max_tokens: 200 });
        assert.deepEqual(r.input, {
          type: 'chat',
          messages: [
            { role: 'system', content: [{ type: 'text', text: 'Answer in French.' }] },
            { role: 'user', content: [{ type: 'text', text: 'Capital of Italy?' }] },
          ],
        });
        assert.deepEqual(r.output.messages[0].tool_calls, [{ id: 'call_1', type: 'function', function: { name: 'cite', arguments: '{"source":"atlas"}' } }]);
        assert.equal(r.metadata['service.name'], 'real-client');
        assert.equal(r.metadata['deployment.environment'], 'ci');
        assert.equal(r.metadata['otel.trace_id'], ok!.spanContext().traceId);
        const startMs = ok!.startTime[0] * 1000 + Math.floor(ok!.startTime[1] / 1e6);
        assert.equal(Date.parse(r.request_start_time), startMs);
        // gpt-4o-mini's shipped price: 0.15 in and 0.60 out per million.
        assert.equal(r.price_source, 'computed');
        assert.ok(Math.abs(r.price - (2000 * 0.15 + 1000 * 0.6) / 1e6) < 1e-12, String(r.price));
        const bad = await detail(failed!.spanContext().spanId);
        assert.equal(bad.status, 'ERROR');
        assert.equal(bad.error_type, 'timeout');
        assert.equal(bad.error_message, 'upstream timed out');
        assert.deepEqual(bad.group_ids, r.group_ids, 'one group per trace');
      }
      assert.notDeepEqual((await detail(protoSpans[0]!.spanContext().spanId)).group_ids, (await detail(jsonSpans[0]!.spanContext().spanId)).group_ids);
      await proto.shutdown();
      await json.shutdown();
    });

    it('scores a span by its id, and an exporter with a bad key fails', async () => {
      const spans = await makeSpans();
      const proto = new OtlpProtoExporter({ url: `${server.url}/v1/traces`, headers: { 'x-api-key': key } });
      assert.equal((await exportWith(proto, spans)).code, 0);
      const spanId = spans[0]!.spanContext().spanId;
      const put = await api(`/v1/spans/${spanId}/scores/correct`, { method: 'PUT', body: JSON.stringify({ score: 100 }) });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual((await bySpan(spanId))[0]!.scores, { correct: 100 });
      const stranger = new OtlpProtoExporter({ url: `${server.url}/v1/traces`, headers: { 'x-api-key': 'tl_wrong' } });
      const refused = await exportWith(stranger, await makeSpans());
      assert.equal(refused.code, 1);
      assert.match(String(refused.error?.message ?? refused.error), /401|Unauthorized/i);
      await proto.shutdown();
      await stranger.shutdown();
    });
  });
}
