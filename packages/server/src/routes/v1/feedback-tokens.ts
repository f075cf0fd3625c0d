import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { FeedbackTokens } from '../../auth/feedback-tokens.js';
import { invalidField, notFound } from '../../domain/errors.js';
import { checkTokenSpec, type FeedbackSpecInput, type FeedbackTokenSpec } from '../../domain/feedback.js';
import { parseId } from '../../domain/ids.js';
import { toIso } from '../../domain/timestamps.js';
import { ErrorBody, Nullable } from '../../schemas/common.js';
import {
  BatchFeedbackTokenBody,
  BatchFeedbackTokenReply,
  CreateFeedbackTokenBody,
  CreateFeedbackTokenReply,
  MAX_TOKEN_BATCH,
  RotateFeedbackSecretReply,
} from '../../schemas/feedback.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };

const SPEC_KEYS = ['name', 'values', 'labels', 'range', 'end_user', 'expires_in'] as const;

/**
 * Labels a token allows must be labels of the name's schema in force, or no submission could ever
 * use them: refused at minting (400 naming `<at>labels.<i>`) rather than at every submission.
 */
export async function checkLabels(store: RouteDeps['store'], workspaceId: number, specs: readonly { spec: FeedbackTokenSpec; at: string }[]): Promise<void> {
  const withLabels = specs.filter((s) => s.spec.labels !== undefined);
  if (withLabels.length === 0) return;
  const schemas = await store.scoreSchemas.current(workspaceId, [...new Set(withLabels.map((s) => s.spec.name))]);
  for (const { spec, at } of withLabels) {
    const known = schemas.get(spec.name)?.labels?.map((l) => l.label) ?? null;
    if (known === null) throw invalidField(`${at}labels`, `"${spec.name}" has no score schema with labels; allow values instead, or give the name a schema`);
    const bad = spec.labels!.findIndex((l) => !known.includes(l));
    if (bad >= 0) throw invalidField(`${at}labels.${bad}`, `must be one of the labels of "${spec.name}": ${known.map((l) => JSON.stringify(l)).join(', ')}`);
  }
}

/** A batch item's spec: the item's own fields over the call's shared ones. */
function mergedSpec(shared: FeedbackSpecInput, item: FeedbackSpecInput): FeedbackSpecInput {
  const out: FeedbackSpecInput = { ...shared };
  // An item that gives one of values, labels or range replaces the shared allowance as a whole.
  if (['values', 'labels', 'range'].some((k) => item[k as keyof FeedbackSpecInput] !== undefined)) {
    delete out.values;
    delete out.labels;
    delete out.range;
  }
  for (const k of SPEC_KEYS) if (item[k] !== undefined) (out as Record<string, unknown>)[k] = item[k];
  return out;
}

const WorkspaceFeedbackReply = Type.Object({
  success: Type.Literal(true),
  feedback_origins: Type.Array(Type.String()),
  secret_id: Nullable(Type.String()),
  rotated_at: Nullable(Type.String()),
});

/**
 * Minting feedback tokens (API key or dashboard session), rotating the secret that signs them, and
 * reading the feedback settings; the origins are set by `PATCH /v1/workspace` (docs/feedback.md).
 */
export const feedbackTokenRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, auth }) => {
  const tokens = new FeedbackTokens(store.feedback);

  app.post(
    '/v1/feedback-tokens',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Mint a feedback token: lets a web page rate one request under one name, without an API key',
        description:
          '`values`, `labels` or `range { min, max }` limit what the token accepts (at most one; none: any score the name allows). `end_user` names the person (an opaque id: the token is readable by the page); their ratings are recorded as rater `end_user:<end_user>`, or `end_user:<token id>` without one. `expires_in` is in seconds (default 86400, at most 30 days). 404 when the request is not in the workspace.',
        body: CreateFeedbackTokenBody,
        response: { 200: CreateFeedbackTokenReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const requestId = parseId(req.body.request_id, 'request_id');
      const spec = checkTokenSpec(req.body);
      await checkLabels(store, workspaceId, [{ spec, at: '' }]);
      const found = await store.requests.existingIds(workspaceId, [requestId]);
      if (!found.has(requestId)) throw notFound('request_id', 'request');
      const minted = tokens.mintWith(await tokens.secretOf(workspaceId), workspaceId, requestId, spec);
      return { success: true as const, request_id: requestId, name: spec.name, token: minted.token, expires_at: toIso(minted.expiresAt) };
    },
  );

  app.post(
    '/v1/feedback-tokens/batch',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: `Mint up to ${MAX_TOKEN_BATCH} feedback tokens at once (a page of many answers)`,
        description:
          'Fields given beside `items` apply to every item; an item\'s own fields win (one of its `values`, `labels` or `range` replaces the shared allowance). Tokens come back in the order of the items. Every item is checked first: a bad one is a 400 naming `items.<i>.<field>`, a request not in the workspace a 404 naming `items.<i>.request_id`, and no token is minted.',
        body: BatchFeedbackTokenBody,
        response: { 200: BatchFeedbackTokenReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const { items, api_key: _key, ...shared } = req.body;
      const checked = items.map((item, i) => {
        const { request_id, ...own } = item;
        return { requestId: parseId(request_id, `items.${i}.request_id`), spec: checkTokenSpec(mergedSpec(shared, own), `items.${i}.`) };
      });
      await checkLabels(store, workspaceId, checked.map((c, i) => ({ spec: c.spec, at: `items.${i}.` })));
      const found = await store.requests.existingIds(workspaceId, [...new Set(checked.map((c) => c.requestId))]);
      const missing = checked.findIndex((c) => !found.has(c.requestId));
      if (missing >= 0) throw notFound(`items.${missing}.request_id`, 'request');
      const secret = await tokens.secretOf(workspaceId);
      const now = Date.now();
      return {
        success: true as const,
        tokens: checked.map((c) => {
          const minted = tokens.mintWith(secret, workspaceId, c.requestId, c.spec, now);
          return { request_id: c.requestId, name: c.spec.name, token: minted.token, expires_at: toIso(minted.expiresAt) };
        }),
      };
    },
  );

  app.post(
    '/v1/workspace/feedback-secret/rotate',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Replace the secret that signs feedback tokens: every token minted before is refused from now on',
        description: 'The secret itself is never shown. Tokens minted after the rotation carry the new `secret_id`.',
        response: { 200: RotateFeedbackSecretReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const s = await store.feedback.rotate(workspaceId);
      return { success: true as const, secret_id: s.secretId, rotated_at: toIso(s.rotatedAt ?? s.createdAt) };
    },
  );

  app.get(
    '/v1/workspace/feedback',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "The workspace's feedback settings: allowed origins and the current secret's id",
        response: { 200: WorkspaceFeedbackReply, ...errors },
      },
    },
    async (req) => {
      const s = await store.feedback.find(req.auth!.workspaceId);
      return {
        success: true as const,
        feedback_origins: s?.origins ?? [],
        secret_id: s?.secretId ?? null,
        rotated_at: s?.rotatedAt == null ? null : toIso(s.rotatedAt),
      };
    },
  );
};
