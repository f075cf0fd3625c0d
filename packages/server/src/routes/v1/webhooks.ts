import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidField, notFound, TallyError } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { toIso } from '../../domain/timestamps.js';
import { checkEvents, checkWebhookUrl, RETRY_FOR_MS, TEST_EVENT } from '../../domain/webhook-events.js';
import { testEnvelope } from '../../events/payloads.js';
import { newWebhookSecret } from '../../events/signature.js';
import { ErrorBody } from '../../schemas/common.js';
import {
  CreateWebhookBody,
  DEFAULT_DELIVERIES_LIMIT,
  DeliveriesQuery,
  DeliveriesReply,
  DeliveryParams,
  DeliveryReply,
  MAX_WEBHOOKS_PER_WORKSPACE,
  OkReply,
  PatchWebhookBody,
  SecretReply,
  WebhookListReply,
  WebhookParams,
  WebhookReply,
  WebhookWithSecretReply,
} from '../../schemas/webhooks.js';
import type { Store } from '../../store/store.js';
import type { Webhook, WebhookDelivery } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';

export interface WebhookRouteDeps extends Pick<RouteDeps, 'store' | 'auth'> {
  allowedHosts: readonly string[];
  /** Tells this instance's worker to look at the outbox now; absent when it sends no webhooks. */
  kick?: (() => void) | undefined;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };
const iso = (ms: number | null) => (ms === null ? null : toIso(ms));

async function webhookItem(store: Store, w: Webhook) {
  return {
    id: w.id,
    url: w.url,
    description: w.description,
    events: w.events,
    format: w.format,
    enabled: w.enabled,
    disabled_reason: w.disabledReason,
    failing_since: iso(w.failingSince),
    deliveries: await store.webhooks.deliveryCounts(w.workspaceId, w.id),
    created_at: toIso(w.createdAt),
    updated_at: toIso(w.updatedAt),
  };
}

const deliveryItem = (d: WebhookDelivery) => ({
  id: d.id,
  event_id: d.eventId,
  type: d.type,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: d.status === 'pending' ? toIso(d.nextAttemptAt) : null,
  last_attempt_at: iso(d.lastAttemptAt),
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  delivered_at: iso(d.deliveredAt),
  created_at: toIso(d.createdAt),
});

/** Webhooks: create (the secret is answered once), list, read, change, delete, rotate, deliveries, redeliver, test. */
export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRouteDeps> = async (app, { store, auth, allowedHosts, kick }) => {
  const find = async (workspaceId: number, rawId: unknown) => {
    const w = await store.webhooks.get(workspaceId, parseId(rawId, 'id'));
    if (!w) throw notFound('id', 'webhook');
    return w;
  };
  const tags = ['webhooks'];

  app.post(
    '/v1/webhooks',
    {
      preValidation: auth,
      schema: {
        tags,
        summary: 'Create a webhook; the answer holds its signing secret, shown this once',
        description:
          'Events: score.created, score.updated, score.deleted, request.logged (summary fields only), alert.fired, alert.resolved. Each delivery is a POST of `{ id, type, created_at, workspace, data }` signed in `Tally-Signature` (format `tally`), or a Slack message `{ text, blocks }` (format `slack`). A webhook receives the events that happen after it is created. See docs/webhooks.md.',
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecretReply, ...errors },
      },
    },
    async (req, reply) => {
      const { workspaceId } = req.auth!;
      const url = checkWebhookUrl(req.body.url, allowedHosts);
      const events = checkEvents(req.body.events);
      if ((await store.webhooks.list(workspaceId)).length >= MAX_WEBHOOKS_PER_WORKSPACE) throw new TallyError('conflict', `webhooks: a workspace has at most ${MAX_WEBHOOKS_PER_WORKSPACE}`);
      const secret = newWebhookSecret();
      const w = await store.webhooks.create({ workspaceId, url, events, description: req.body.description ?? '', format: req.body.format ?? 'tally', secret });
      return reply.code(201).send({ success: true as const, webhook: await webhookItem(store, w), secret });
    },
  );

  app.get('/v1/webhooks', { preValidation: auth, schema: { tags, summary: "The workspace's webhooks (never their secrets)", response: { 200: WebhookListReply, ...errors } } }, async (req) => {
    const hooks = await store.webhooks.list(req.auth!.workspaceId);
    return { success: true as const, webhooks: await Promise.all(hooks.map((w) => webhookItem(store, w))) };
  });

  app.get('/v1/webhooks/:id', { preValidation: auth, schema: { tags, summary: 'One webhook, with its delivery counts', params: WebhookParams, response: { 200: WebhookReply, ...errors } } }, async (req) => ({
    success: true as const,
    webhook: await webhookItem(store, await find(req.auth!.workspaceId, req.params.id)),
  }));

  app.patch(
    '/v1/webhooks/:id',
    {
      preValidation: auth,
      schema: {
        tags,
        summary: 'Change a webhook: url, events, description, format, or enabled',
        description: '`enabled: true` turns on a webhook disabled by hand or after failing for 3 days; it then sends the events it missed. An event type subscribed anew starts with the events after this change.',
        params: WebhookParams,
        body: PatchWebhookBody,
        response: { 200: WebhookReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const id = parseId(req.params.id, 'id');
      const b = req.body;
      const patch = {
        ...(b.url === undefined ? {} : { url: checkWebhookUrl(b.url, allowedHosts) }),
        ...(b.events === undefined ? {} : { events: checkEvents(b.events) }),
        ...(b.description === undefined ? {} : { description: b.description }),
        ...(b.format === undefined ? {} : { format: b.format }),
        ...(b.enabled === undefined ? {} : { enabled: b.enabled }),
      };
      const w = await store.webhooks.update(workspaceId, id, patch);
      if (!w) throw notFound('id', 'webhook');
      if (b.enabled === true) kick?.();
      return { success: true as const, webhook: await webhookItem(store, w) };
    },
  );

  app.delete('/v1/webhooks/:id', { preValidation: auth, schema: { tags, summary: 'Delete a webhook and its deliveries', params: WebhookParams, response: { 200: OkReply, ...errors } } }, async (req) => {
    if (!(await store.webhooks.remove(req.auth!.workspaceId, parseId(req.params.id, 'id')))) throw notFound('id', 'webhook');
    return { success: true as const };
  });

  app.post(
    '/v1/webhooks/:id/rotate-secret',
    { preValidation: auth, schema: { tags, summary: 'Replace the signing secret; the new one is shown this once', params: WebhookParams, response: { 200: SecretReply, ...errors } } },
    async (req) => {
      const secret = newWebhookSecret();
      if (!(await store.webhooks.rotateSecret(req.auth!.workspaceId, parseId(req.params.id, 'id'), secret))) throw notFound('id', 'webhook');
      return { success: true as const, secret };
    },
  );

  app.get(
    '/v1/webhooks/:id/deliveries',
    {
      preValidation: auth,
      schema: {
        tags,
        summary: "A webhook's deliveries, newest first: status, attempts, last response code and time",
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveriesReply, ...errors },
      },
    },
    async (req) => {
      const w = await find(req.auth!.workspaceId, req.params.id);
      const limit = req.query.limit ?? DEFAULT_DELIVERIES_LIMIT;
      const beforeId = req.query.before === undefined ? undefined : parseId(req.query.before, 'before');
      const rows = await store.webhooks.deliveries(w.workspaceId, w.id, { status: req.query.status, beforeId, limit: limit + 1 });
      const page = rows.slice(0, limit);
      return { success: true as const, deliveries: page.map(deliveryItem), next_before: rows.length > limit ? page.at(-1)!.id : null };
    },
  );

  app.post(
    '/v1/webhooks/:id/deliveries/:delivery_id/redeliver',
    {
      preValidation: auth,
      schema: {
        tags,
        summary: 'Send a delivery again (same event id), retried for another 24 hours',
        params: DeliveryParams,
        response: { 200: DeliveryReply, ...errors },
      },
    },
    async (req) => {
      const w = await find(req.auth!.workspaceId, req.params.id);
      const d = await store.webhooks.redeliver(w.workspaceId, w.id, parseId(req.params.delivery_id, 'delivery_id'), Date.now(), RETRY_FOR_MS);
      if (!d) throw notFound('delivery_id', 'delivery of this webhook');
      kick?.();
      return { success: true as const, delivery: deliveryItem(d) };
    },
  );

  app.post(
    '/v1/webhooks/:id/test',
    {
      preValidation: auth,
      schema: { tags, summary: `Send a \`${TEST_EVENT}\` event to the webhook now; see it in its deliveries`, params: WebhookParams, response: { 200: DeliveryReply, ...errors } },
    },
    async (req) => {
      const w = await find(req.auth!.workspaceId, req.params.id);
      if (!w.enabled) throw invalidField('id', 'the webhook is disabled; enable it (PATCH enabled: true) to send events');
      const ws = await store.workspaces.get(w.workspaceId);
      const now = Date.now();
      const env = testEnvelope(`test_${randomUUID()}`, now, { id: w.workspaceId, name: ws?.name ?? '', createdAt: 0 }, w.id);
      const d = await store.webhooks.enqueue(w, { eventId: env.id, type: env.type, orderKey: null, payload: JSON.stringify(env) }, now, RETRY_FOR_MS);
      kick?.();
      return { success: true as const, delivery: deliveryItem(d) };
    },
  );
};
