import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TallyError } from '../../domain/errors.js';
import { scoreName } from '../../domain/score.js';
import { ErrorBody } from '../../schemas/common.js';
import { SpanScoreParams } from '../../schemas/otel.js';
import { PutScoreBody, ScoreChangeReply } from '../../schemas/scores.js';
import type { RouteDeps } from '../deps.js';
import { changeReply, ratingOf } from './scores.js';

/**
 * `PUT /v1/spans/{span_id}/scores/{name}`: scoring for an app that knows only its span id (an
 * OpenTelemetry span sent to /v1/traces, or a `span_id` logged with /log-request). The request is
 * looked up by span id in the workspace, then scored exactly as `PUT /v1/requests/{id}/scores/{name}`.
 */
export const spanScoreRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, queue, auth, trackBodyLimit }) => {
  app.put(
    '/v1/spans/:span_id/scores/:name',
    {
      preValidation: auth,
      bodyLimit: trackBodyLimit,
      schema: {
        tags: ['v1'],
        summary: 'Set a named score of the request logged with a span id',
        description: '404 when no request of the workspace has this span id; 409 when several do (score those by request id).',
        params: SpanScoreParams,
        body: PutScoreBody,
        response: { 200: ScoreChangeReply, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const name = scoreName(req.params.name);
      const spanId = req.params.span_id;
      // OTLP ids are stored as lower-case hex; other span ids as they were logged.
      let ids = await store.requests.idsBySpan(workspaceId, spanId, 2);
      if (ids.length === 0 && /^[0-9A-F]{16}$/i.test(spanId)) ids = await store.requests.idsBySpan(workspaceId, spanId.toLowerCase(), 2);
      if (ids.length === 0) throw new TallyError('not_found', 'span_id: no request with this span id', { field: 'span_id' });
      if (ids.length > 1) throw new TallyError('conflict', 'span_id: several requests have this span id; score them by request id (GET /v1/requests/search?span_id=...)', { field: 'span_id' });
      const requestId = ids[0]!;
      const { comment, ...rating } = ratingOf(req.body);
      const change = await queue.submit({ op: 'setScore', workspaceId, requestId, name, ...rating, actor, opts: { comment } });
      return { success: true as const, ...changeReply(change) };
    },
  );
};
