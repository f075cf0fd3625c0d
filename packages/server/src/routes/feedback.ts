import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FeedbackTokens } from '../auth/feedback-tokens.js';
import { fixedWindowLimit } from '../auth/rate-limits.js';
import { TallyError } from '../domain/errors.js';
import { checkSubmission, endUserRater } from '../domain/feedback.js';
import type { WriteQueue } from '../ingest/write-queue.js';
import { ErrorBody } from '../schemas/common.js';
import { SubmitFeedbackBody, SubmitFeedbackReply } from '../schemas/feedback.js';
import type { Store } from '../store/store.js';

export interface FeedbackRouteOptions {
  store: Store;
  queue: WriteQueue;
  /** Submissions per client address per minute (`--feedback-limit-per-address`); 0: no limit. */
  perAddress: number;
  /** Submissions per token per minute (`--feedback-limit-per-token`); 0: no limit. */
  perToken: number;
}

const URL = '/v1/feedback';
// Small: a token (a few hundred bytes; 16 KB at the very most) and a comment of 4096 characters.
const BODY_LIMIT = 64 * 1024;
const PREFLIGHT_MAX_AGE_S = 600;
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 413: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/** The token checked for a request, for the per-token limit's key. */
const checkedTokens = new WeakMap<FastifyRequest, string>();

/**
 * `POST /v1/feedback`: an end user's rating, sent by a web page with a feedback token instead of
 * an API key (docs/feedback.md).
 *
 * CORS here is its own, independent of `--cors-origins` (the route is tagged `feedback`, not `v1`,
 * so the API's CORS skips it). A preflight carries no body, hence no token and no workspace: it is
 * granted when any workspace lists the page's origin in `feedback_origins` (read once per few
 * seconds). The POST itself is then judged by the token's own workspace: a request whose `Origin`
 * that workspace does not list is refused with 403 before anything is written, so a page allowed
 * by one workspace cannot submit another workspace's tokens. Calls without `Origin` (a server, a
 * script) are not browsers and need no origin. Never `Access-Control-Allow-Credentials`: the
 * route reads no cookie and a browser sends none.
 *
 * POST only: GET (and every other method) answers 405, so a link scanner that follows a URL can
 * never vote. Rate limits count per client address before the token is read (floods of garbage
 * included), and per token once it is checked.
 */
export const feedbackRoutes: FastifyPluginAsyncTypebox<FeedbackRouteOptions> = async (app, opts) => {
  const { store, queue } = opts;
  const tokens = new FeedbackTokens(store.feedback);
  const limitAddress = fixedWindowLimit(app, { maxPerMinute: opts.perAddress, key: (r) => `feedback-address:${r.ip}`, what: 'from this address' });
  const limitToken = fixedWindowLimit(app, {
    maxPerMinute: opts.perToken,
    key: (r) => {
      const id = checkedTokens.get(r);
      return id === undefined ? null : `feedback-token:${id}`;
    },
    what: 'for this feedback token',
  });

  /** The page's origin when some workspace allows it (what can be known before the token is read). */
  const knownOrigin = async (request: FastifyRequest): Promise<string | null> => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string') return null;
    return (await store.feedback.anyWorkspaceOrigins()).has(origin) ? origin : null;
  };
  const allow = (reply: FastifyReply, origin: string) => {
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', 'Retry-After');
  };

  app.options(
    URL,
    {
      schema: {
        tags: ['feedback'],
        summary: 'CORS preflight of POST /v1/feedback',
        description: 'Granted (Access-Control-Allow-Origin: the origin; methods POST; header Content-Type) when any workspace lists the origin in `feedback_origins`; otherwise 204 without CORS headers, which the browser treats as a refusal.',
        security: [],
      },
    },
    async (request, reply) => {
      reply.header('vary', 'Origin');
      const origin = await knownOrigin(request);
      if (origin !== null && request.headers['access-control-request-method'] === 'POST') {
        allow(reply, origin);
        reply.header('access-control-allow-methods', 'POST');
        reply.header('access-control-allow-headers', 'Content-Type');
        reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
      }
      return reply.code(204).send();
    },
  );

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: URL,
    schema: { tags: ['feedback'], summary: 'Refused: feedback is POST only (405), so following a link never votes', security: [], response: { 405: ErrorBody } },
    handler: async (request, reply) => {
      reply.header('allow', 'POST, OPTIONS');
      throw new TallyError('method_not_allowed', `method: ${request.method} is not allowed here; submit feedback with POST`);
    },
  });

  app.post(
    URL,
    {
      bodyLimit: BODY_LIMIT,
      onRequest: async (request, reply) => {
        reply.header('vary', 'Origin');
        const origin = await knownOrigin(request);
        // Early, so that refusals (400, 401, 429) are readable by an allowed page too.
        if (origin !== null) allow(reply, origin);
        await limitAddress(request);
      },
      schema: {
        tags: ['feedback'],
        summary: "Submit an end user's rating with a feedback token (no API key)",
        description:
          '`{ token, value | label, comment? }`. The token names the request, the score name, what may be submitted and the end user: a body naming any of them is refused. The rating is recorded with source `end_user` and rater `end_user:<end_user or token id>`; the same end user submitting again replaces their rating, and history keeps both. 401 for an expired, tampered, rotated-out or foreign token; 400 naming `value` or `label` for what the token does not allow; 403 when a browser page\'s origin is not in the workspace\'s `feedback_origins`; 429 with Retry-After past the per-address or per-token limit. Nothing is written on any refusal.',
        security: [],
        body: SubmitFeedbackBody,
        response: { 200: SubmitFeedbackReply, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      const { claims, settings } = await tokens.verify(body.token);
      checkedTokens.set(request, claims.jti);
      await limitToken(request);
      const origin = request.headers.origin;
      if (typeof origin === 'string' && !settings.origins.includes(origin)) {
        throw new TallyError('forbidden', `origin: ${origin} is not among the feedback origins of the token's workspace (PATCH /v1/workspace { feedback_origins }); nothing was written`);
      }
      const submitted = checkSubmission(claims, body);
      // The end user's rating, through the rating write every score takes: checked in its
      // transaction against the name's schema (a label becomes its value there), the score made by
      // the schema's aggregate. The rater and the source come from the token and this route only.
      const rater = endUserRater(claims);
      const change = await queue.submit({
        op: 'setScore',
        workspaceId: claims.ws,
        requestId: claims.rid,
        name: claims.n,
        ...('label' in submitted ? { value: null, label: submitted.label } : { value: submitted.value }),
        valueField: 'value',
        rater,
        actor: { id: rater, source: 'end_user' },
        opts: { comment: body.comment ?? null },
      });
      return { success: true as const, name: claims.n, value: change.rating!, ...('label' in submitted ? { label: submitted.label } : {}) };
    },
  );
};
