import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { FeedbackTokens } from '../../auth/feedback-tokens.js';
import { notFound } from '../../domain/errors.js';
import { checkTokenSpec, type FeedbackSpecInput } from '../../domain/feedback.js';
import { parseId } from '../../domain/ids.js';
import { fromLogRequest, fromTrackRequest, promptBlueprint } from '../../domain/request-shape.js';
import { toIso } from '../../domain/timestamps.js';
import { ErrorBody } from '../../schemas/common.js';
import { GetRequestParams, GetRequestReply, LogRequestBody, LogRequestReply, TrackRequestBody, TrackRequestReply } from '../../schemas/promptlayer.js';
import type { RouteDeps } from '../deps.js';
import { checkLabels } from '../v1/feedback-tokens.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/** Logging requests (the legacy `/track-request` and the current `/log-request`) and reading one back. */
export const logRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, queue, auth, logBodyLimit }) => {
  const base = { preValidation: auth, bodyLimit: logBodyLimit } as const;
  const tokens = new FeedbackTokens(store.feedback);

  /**
   * A feedback token for the request being logged, when the body asks (`feedback_token`): the
   * spec is checked and the secret fetched before the request is written, so what can fail fails
   * first, and signing after the write cannot.
   */
  const tokenMinter = async (workspaceId: number, asked: FeedbackSpecInput | null | undefined) => {
    if (asked === undefined || asked === null) return () => ({});
    const spec = checkTokenSpec(asked, 'feedback_token.');
    await checkLabels(store, workspaceId, [{ spec, at: 'feedback_token.' }]);
    const secret = await tokens.secretOf(workspaceId);
    return (requestId: number) => {
      const t = tokens.mintWith(secret, workspaceId, requestId, spec);
      return { feedback_token: { token: t.token, expires_at: toIso(t.expiresAt) } };
    };
  };

  for (const url of ['/track-request', '/rest/track-request']) {
    app.post(url, { ...base, schema: { tags: ['promptlayer'], summary: 'Log a provider call (legacy; used by the SDKs\' run() and wrapped clients)', body: TrackRequestBody, response: { 200: TrackRequestReply, ...errors } } }, async (req) => {
      const { workspaceId, actor } = req.auth!;
      const request = fromTrackRequest(req.body);
      const withToken = await tokenMinter(workspaceId, req.body.feedback_token);
      const id = await queue.submit({ op: 'insertRequest', workspaceId, request, actor });
      const blueprint = req.body.return_prompt_blueprint ? promptBlueprint(request) : null;
      return { success: true as const, request_id: id, prompt_blueprint: blueprint, ...withToken(id) };
    });
  }

  app.post('/log-request', { ...base, schema: { tags: ['promptlayer'], summary: 'Log a request with prompt blueprints as input and output', body: LogRequestBody, response: { 201: LogRequestReply, ...errors } } }, async (req, reply) => {
    const { workspaceId, actor } = req.auth!;
    const request = fromLogRequest(req.body);
    const withToken = await tokenMinter(workspaceId, req.body.feedback_token);
    const id = await queue.submit({ op: 'insertRequest', workspaceId, request, actor });
    return reply.code(201).send({
      ...withToken(id),
      id,
      request_id: id,
      prompt_version: request.promptVersion,
      status: request.status,
      error_type: request.errorType,
      error_message: request.errorMessage,
    });
  });

  app.get('/api/public/v2/requests/:request_id', { preValidation: auth, schema: { tags: ['promptlayer'], summary: 'Read one logged request', params: GetRequestParams, response: { 200: GetRequestReply, ...errors } } }, async (req) => {
    const { workspaceId } = req.auth!;
    const id = parseId(req.params.request_id, 'request_id');
    const r = await store.requests.get(workspaceId, id);
    if (!r) throw notFound('request_id', 'request');
    return {
      success: true as const,
      request_id: r.id,
      prompt_blueprint: promptBlueprint(r),
      provider: r.provider,
      model: r.model,
      input_tokens: r.inputTokens,
      output_tokens: r.outputTokens,
      tokens: r.inputTokens + r.outputTokens,
      price: r.price,
      request_start_time: toIso(r.startMs),
      request_end_time: toIso(r.endMs),
      latency_ms: r.latencyMs,
      trace_id: r.spanId,
      status: r.status,
      scores: r.scores,
    };
  });
};
