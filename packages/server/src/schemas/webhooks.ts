import { Type, type Static } from '@sinclair/typebox';
import { WEBHOOK_EVENTS } from '../domain/webhook-events.js';
import { Id, Nullable } from './common.js';

export const MAX_WEBHOOKS_PER_WORKSPACE = 50;
export const DEFAULT_DELIVERIES_LIMIT = 50;

const EventName = Type.String({ maxLength: 64, description: WEBHOOK_EVENTS.join(', ') });
const Events = Type.Array(EventName, { minItems: 1, maxItems: WEBHOOK_EVENTS.length * 2, description: `one or more of ${WEBHOOK_EVENTS.join(', ')}` });
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'an http or https URL the server may post to' });
const Description = Type.String({ maxLength: 1024 });
const Format = Type.Union([Type.Literal('tally'), Type.Literal('slack')], { description: 'must be "tally" (signed JSON events) or "slack" (an incoming-webhook message)' });

export const CreateWebhookBody = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description), format: Type.Optional(Format) },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const PatchWebhookBody = Type.Object(
  { url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Description), format: Type.Optional(Format), enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchWebhookBody = Static<typeof PatchWebhookBody>;

export const WebhookItem = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  description: Type.String(),
  events: Type.Array(Type.String()),
  format: Type.String(),
  enabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String({ description: '`failing`: disabled after 3 days of failed deliveries; `manual`: by PATCH' })),
  failing_since: Nullable(Type.String({ description: 'ISO 8601: every attempt since then failed; null after a success' })),
  deliveries: Type.Object({ pending: Type.Integer(), delivered: Type.Integer(), failed: Type.Integer() }),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const WebhookReply = Type.Object({ success: Type.Literal(true), webhook: WebhookItem });
export const WebhookWithSecretReply = Type.Object({
  success: Type.Literal(true),
  webhook: WebhookItem,
  secret: Type.String({ description: 'the signing secret, shown only in this answer' }),
});
export const WebhookListReply = Type.Object({ success: Type.Literal(true), webhooks: Type.Array(WebhookItem) });
export const SecretReply = Type.Object({ success: Type.Literal(true), secret: Type.String({ description: 'the new signing secret; the old one stops signing at once' }) });

export const WebhookParams = Type.Object({ id: Id });
export const DeliveryParams = Type.Object({ id: Id, delivery_id: Id });

export const DeliveryItem = Type.Object({
  id: Type.Integer(),
  event_id: Type.String({ description: 'the `Tally-Event-Id` header and the event `id`' }),
  type: Type.String(),
  status: Type.String({ description: 'pending, delivered or failed (given up after 24 hours)' }),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Type.String({ description: 'ISO 8601, while pending' })),
  last_attempt_at: Nullable(Type.String()),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  delivered_at: Nullable(Type.String()),
  created_at: Type.String(),
});

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')], { description: 'must be pending, delivered or failed' })),
  before: Type.Optional(Id),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: DEFAULT_DELIVERIES_LIMIT, description: 'must be an integer from 1 to 500' })),
});

export const DeliveriesReply = Type.Object({
  success: Type.Literal(true),
  deliveries: Type.Array(DeliveryItem, { description: 'newest first' }),
  next_before: Nullable(Type.Integer({ description: 'pass as `before` for older deliveries' })),
});
export const DeliveryReply = Type.Object({ success: Type.Literal(true), delivery: DeliveryItem });
export const OkReply = Type.Object({ success: Type.Literal(true) });
