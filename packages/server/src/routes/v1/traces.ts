import { createGunzip } from 'node:zlib';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { TallyError } from '../../domain/errors.js';
import { spanToRequest } from '../../domain/genai-spans.js';
import { decodeTraceRequest, encodeTraceResponse, jsonTraceResponse, type TraceResponse } from '../../ingest/otlp-proto.js';
import { readTraceExport } from '../../ingest/otlp-spans.js';
import type { Metrics } from '../../metrics.js';
import { ErrorBody } from '../../schemas/common.js';
import { TraceExportReply } from '../../schemas/otel.js';
import type { SpanRequest } from '../../store/write-commands.js';
import type { WriteQueue } from '../../ingest/write-queue.js';

export interface TraceRouteDeps {
  queue: WriteQueue;
  /** The API key check (X-API-KEY or Authorization: Bearer); run before the body is read. */
  auth: (request: FastifyRequest) => Promise<void>;
  metrics: Metrics;
  bodyLimit: number;
  maxSpans: number;
}

const PROTOBUF = 'application/x-protobuf';

const mediaType = (request: FastifyRequest): string => (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/** The reasons given for unusable spans: a few, then how many more. */
function reasons(list: string[]): string {
  const shown = list.slice(0, 3).join('; ');
  return list.length > 3 ? `${shown}; and ${list.length - 3} more` : shown;
}

/**
 * `POST /v1/traces`: OTLP/HTTP trace export (protobuf or JSON, gzip or not). LLM spans become
 * logged requests (domain/genai-spans.ts), all of one export in one write command, answered once
 * committed; other spans are counted and dropped. The key is checked before the body is read.
 */
export const traceRoutes: FastifyPluginAsyncTypebox<TraceRouteDeps> = async (app, { queue, auth, metrics, bodyLimit, maxSpans }) => {
  // Only this plugin's routes take protobuf bodies.
  app.addContentTypeParser(PROTOBUF, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, decodeTraceRequest(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.post(
    '/v1/traces',
    {
      bodyLimit,
      schema: {
        tags: ['v1'],
        summary: 'OTLP/HTTP trace export: LLM spans become logged requests',
        description:
          'Takes an ExportTraceServiceRequest as protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`), optionally with `Content-Encoding: gzip`; the API key in `X-API-KEY` or `Authorization: Bearer`. Spans that are LLM calls (GenAI semantic conventions, OpenInference, OpenLLMetry) become requests, grouped by trace; others are dropped and counted in `partialSuccess`. See docs/opentelemetry.md.',
        response: { 200: TraceExportReply, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
      onRequest: async (request) => {
        const type = mediaType(request);
        if (type !== 'application/json' && type !== PROTOBUF) {
          throw new TallyError('unsupported_media_type', `content-type: must be ${PROTOBUF} or application/json (OTLP/HTTP), not "${type}"`, { field: 'content-type' });
        }
        const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
        if (encoding !== 'identity' && encoding !== 'gzip') {
          throw new TallyError('unsupported_media_type', `content-encoding: must be gzip or none, not "${encoding}"`, { field: 'content-encoding' });
        }
      },
      preParsing: [
        async (request, _reply, payload) => {
          await auth(request);
          return payload;
        },
        async (request, _reply, payload) => {
          if ((request.headers['content-encoding'] ?? '').trim().toLowerCase() !== 'gzip') return payload;
          // The body limit applies to what gzip gives; the content length to what arrived.
          const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
          gunzip.receivedEncodedLength = 0;
          payload.on('data', (chunk: Buffer) => {
            gunzip.receivedEncodedLength += chunk.length;
          });
          gunzip.prependListener('error', (err: Error & { statusCode?: number }) => {
            err.statusCode = 400;
            err.message = `is not valid gzip data (Content-Encoding: gzip): ${err.message}`;
          });
          payload.on('error', (err) => gunzip.destroy(err));
          return payload.pipe(gunzip);
        },
      ],
    },
    async (req, reply) => {
      const { workspaceId, actor } = req.auth!;
      const spans = readTraceExport(req.body, { maxSpans });
      const items: SpanRequest[] = [];
      let notLlm = 0;
      const invalid: string[] = [];
      for (const span of spans) {
        const outcome = spanToRequest(span);
        if (outcome.kind === 'llm') items.push({ traceId: span.traceId, spanId: span.spanId, request: outcome.request });
        else if (outcome.kind === 'not_llm') notLlm++;
        else invalid.push(outcome.reason);
      }
      const result = items.length === 0 ? { ids: [], duplicates: 0 } : await queue.submit({ op: 'insertSpans', workspaceId, spans: items, actor });
      metrics.spans('logged', items.length - result.duplicates);
      metrics.spans('duplicate', result.duplicates);
      metrics.spans('not_llm', notLlm);
      metrics.spans('invalid', invalid.length);

      const notes: string[] = [];
      const spansWere = (n: number) => (n === 1 ? '1 span was' : `${n} spans were`);
      if (notLlm > 0) notes.push(`${spansWere(notLlm)} not LLM calls, dropped`);
      if (invalid.length > 0) notes.push(`${spansWere(invalid.length)} unusable LLM calls, dropped (${reasons(invalid)})`);
      if (result.duplicates > 0) notes.push(`${spansWere(result.duplicates)} already stored, not written again`);
      const response: TraceResponse = notes.length === 0 ? {} : { partialSuccess: { rejectedSpans: notLlm + invalid.length, errorMessage: notes.join('; ') } };
      if (mediaType(req) === PROTOBUF) return reply.type(PROTOBUF).send(encodeTraceResponse(response) as never);
      return jsonTraceResponse(response);
    },
  );
};
