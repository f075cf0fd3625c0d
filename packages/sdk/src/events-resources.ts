import { call, type RequestOptions, type TransportOptions } from './http.js';
import type {
  Alert,
  AlertDetail,
  AlertEvaluation,
  CreateAlertParams,
  CreateWebhookParams,
  UpdateWebhookParams,
  Webhook,
  WebhookDeliveriesPage,
  WebhookDeliveriesParams,
  WebhookDelivery,
} from './types.js';
import { checkId } from './validate.js';

type Ok<T> = T & { success: true };

/**
 * Webhooks: signed POSTs on score changes, logged requests and alerts. Verify deliveries with
 * `verifyWebhookSignature` from `@tally/sdk/node`.
 */
export class WebhooksResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Creates a webhook; `secret` signs its deliveries and is returned only here (and by `rotateSecret`).
   * @example
   * ```ts
   * const { webhook, secret } = await tally.webhooks.create({ url: 'https://example.com/tally', events: ['score.created', 'score.updated'] });
   * ```
   */
  async create(params: CreateWebhookParams, opts?: RequestOptions): Promise<{ webhook: Webhook; secret: string }> {
    const res = await call<Ok<{ webhook: Webhook; secret: string }>>(this.#t, { method: 'POST', path: '/v1/webhooks', body: params, idempotent: false }, opts);
    return { webhook: res.webhook, secret: res.secret };
  }

  /** The workspace's webhooks (never their secrets). */
  async list(opts?: RequestOptions): Promise<Webhook[]> {
    return (await call<Ok<{ webhooks: Webhook[] }>>(this.#t, { method: 'GET', path: '/v1/webhooks', idempotent: true }, opts)).webhooks;
  }

  async get(id: number, opts?: RequestOptions): Promise<Webhook> {
    return (await call<Ok<{ webhook: Webhook }>>(this.#t, { method: 'GET', path: `/v1/webhooks/${checkId(id, 'id')}`, idempotent: true }, opts)).webhook;
  }

  /** Changes url, events, description, format, or `enabled` (true turns on a webhook disabled after failing). */
  async update(id: number, params: UpdateWebhookParams, opts?: RequestOptions): Promise<Webhook> {
    return (await call<Ok<{ webhook: Webhook }>>(this.#t, { method: 'PATCH', path: `/v1/webhooks/${checkId(id, 'id')}`, body: params, idempotent: true }, opts)).webhook;
  }

  async delete(id: number, opts?: RequestOptions): Promise<void> {
    await call<Ok<object>>(this.#t, { method: 'DELETE', path: `/v1/webhooks/${checkId(id, 'id')}`, idempotent: true }, opts);
  }

  /** Replaces the signing secret and returns the new one. */
  async rotateSecret(id: number, opts?: RequestOptions): Promise<string> {
    return (await call<Ok<{ secret: string }>>(this.#t, { method: 'POST', path: `/v1/webhooks/${checkId(id, 'id')}/rotate-secret`, idempotent: false }, opts)).secret;
  }

  /** One page of a webhook's deliveries, newest first; pass `next_before` as `before` for older ones. */
  async deliveries(id: number, params: WebhookDeliveriesParams = {}, opts?: RequestOptions): Promise<WebhookDeliveriesPage> {
    const res = await call<Ok<WebhookDeliveriesPage>>(
      this.#t,
      { method: 'GET', path: `/v1/webhooks/${checkId(id, 'id')}/deliveries`, query: { status: params.status, before: params.before, limit: params.limit }, idempotent: true },
      opts,
    );
    return { deliveries: res.deliveries, next_before: res.next_before };
  }

  /** Sends a delivery again, with the same event id. */
  async redeliver(id: number, deliveryId: number, opts?: RequestOptions): Promise<WebhookDelivery> {
    const path = `/v1/webhooks/${checkId(id, 'id')}/deliveries/${checkId(deliveryId, 'delivery_id')}/redeliver`;
    return (await call<Ok<{ delivery: WebhookDelivery }>>(this.#t, { method: 'POST', path, idempotent: true }, opts)).delivery;
  }

  /** Sends a `webhook.test` event now; returns its delivery. */
  async test(id: number, opts?: RequestOptions): Promise<WebhookDelivery> {
    return (await call<Ok<{ delivery: WebhookDelivery }>>(this.#t, { method: 'POST', path: `/v1/webhooks/${checkId(id, 'id')}/test`, idempotent: false }, opts)).delivery;
  }
}

/** Alerts on the mean (or the share of one value) of a score over a window, with confidence intervals. */
export class AlertsResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Creates an alert. It fires only when at least `min_count` scores are in the window and the whole
   * confidence interval lies past the threshold.
   * @example
   * ```ts
   * await tally.alerts.create({ name: 'helpfulness drop', score_name: 'helpfulness', window: '1h', min_count: 30, threshold: 60, direction: 'below',
   *   filter: { field: 'prompt_name', op: '=', value: 'support-answer' } });
   * ```
   */
  async create(params: CreateAlertParams, opts?: RequestOptions): Promise<Alert> {
    return (await call<Ok<{ alert: Alert }>>(this.#t, { method: 'POST', path: '/v1/alerts', body: params, idempotent: false }, opts)).alert;
  }

  async list(opts?: RequestOptions): Promise<Alert[]> {
    return (await call<Ok<{ alerts: Alert[] }>>(this.#t, { method: 'GET', path: '/v1/alerts', idempotent: true }, opts)).alerts;
  }

  /** An alert and its evaluations, newest first. */
  async get(id: number, opts?: RequestOptions): Promise<AlertDetail> {
    const res = await call<Ok<AlertDetail>>(this.#t, { method: 'GET', path: `/v1/alerts/${checkId(id, 'id')}`, idempotent: true }, opts);
    return { alert: res.alert, history: res.history };
  }

  async setEnabled(id: number, enabled: boolean, opts?: RequestOptions): Promise<Alert> {
    return (await call<Ok<{ alert: Alert }>>(this.#t, { method: 'PATCH', path: `/v1/alerts/${checkId(id, 'id')}`, body: { enabled }, idempotent: true }, opts)).alert;
  }

  async delete(id: number, opts?: RequestOptions): Promise<void> {
    await call<Ok<object>>(this.#t, { method: 'DELETE', path: `/v1/alerts/${checkId(id, 'id')}`, idempotent: true }, opts);
  }

  /** Evaluates now: the state, the mean (or share), its interval and the count. */
  async evaluate(id: number, opts?: RequestOptions): Promise<AlertEvaluation> {
    const { success: _s, ...rest } = await call<Ok<AlertEvaluation>>(this.#t, { method: 'POST', path: `/v1/alerts/${checkId(id, 'id')}/evaluate`, idempotent: false }, opts);
    return rest;
  }
}
