import { sql, type Kysely, type Selectable } from 'kysely';
import { streamsOf } from '../domain/webhook-events.js';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from './schema.js';
import { toScoreEvent } from './scores.js';
import type { ClaimedDelivery, DeliveryStatus, LoggedRequest, NewDelivery, NewWebhook, OutboxBatch, Webhook, WebhookDelivery, WebhookPatch } from './types.js';

/** Runs `fn` in one transaction (BackendTraits.workerTransaction). */
export type Transaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>) => Promise<T>;

/** The outcome of one attempt to send a delivery. */
export interface AttemptResult {
  deliveryId: number;
  webhookId: number;
  at: number;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** When to try again after a failure; null: give up (status `failed`). */
  retryAt: number | null;
  /** A webhook whose attempts have all failed since this time or before is disabled. */
  disableIfFailingSince: number;
}

/**
 * Webhooks, their deliveries, and the worker's side: fanning the outbox out into deliveries past
 * each webhook's cursors, and claiming due deliveries so that each is sent by one instance.
 */
export interface WebhookStore {
  create(w: NewWebhook): Promise<Webhook>;
  list(workspaceId: number): Promise<Webhook[]>;
  get(workspaceId: number, id: number): Promise<Webhook | null>;
  update(workspaceId: number, id: number, patch: WebhookPatch): Promise<Webhook | null>;
  remove(workspaceId: number, id: number): Promise<boolean>;
  rotateSecret(workspaceId: number, id: number, secret: string): Promise<boolean>;
  /** Deliveries of a webhook, newest first, before a delivery id. */
  deliveries(workspaceId: number, webhookId: number, q: { status?: DeliveryStatus | undefined; beforeId?: number | undefined; limit: number }): Promise<WebhookDelivery[]>;
  /** Sets a delivery pending again, due now, retried for `retryForMs` more; null when there is none. */
  redeliver(workspaceId: number, webhookId: number, deliveryId: number, now: number, retryForMs: number): Promise<WebhookDelivery | null>;
  /** Adds one delivery (a test event) to a webhook. */
  enqueue(webhook: Webhook, d: NewDelivery, now: number, retryForMs: number): Promise<WebhookDelivery>;
  /** Counts of a webhook's deliveries by status. */
  deliveryCounts(workspaceId: number, webhookId: number): Promise<Record<DeliveryStatus, number>>;

  /** The enabled webhooks that have events past their cursors. */
  withBacklog(): Promise<Webhook[]>;
  /**
   * Reads up to `limit` events of each subscribed stream past the webhook's cursors, turns them into
   * deliveries with `build`, and moves the cursors past them, in one transaction. Another instance
   * fanning out the same webhook at once skips it (PostgreSQL) or waits (SQLite). Resolves with the
   * number of deliveries added.
   */
  fanOut(webhookId: number, limit: number, now: number, retryForMs: number, build: (batch: OutboxBatch) => NewDelivery[]): Promise<number>;
  /** Leases up to `limit` due deliveries of enabled webhooks until `now + leaseMs`, skipping those another instance holds and those behind an earlier pending one of the same key. */
  claimDue(now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]>;
  recordAttempt(r: AttemptResult): Promise<void>;
}

const toWebhook = (r: Selectable<WebhooksTable>): Webhook => ({
  id: Number(r.id),
  workspaceId: Number(r.workspace_id),
  url: r.url,
  description: r.description,
  events: JSON.parse(r.events) as string[],
  format: r.format,
  secret: r.secret,
  enabled: Number(r.enabled) === 1,
  disabledReason: r.disabled_reason,
  failingSince: r.failing_since === null ? null : Number(r.failing_since),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const num = (v: number | null) => (v === null ? null : Number(v));

const toDelivery = (r: Selectable<WebhookDeliveriesTable>): WebhookDelivery => ({
  id: Number(r.id),
  webhookId: Number(r.webhook_id),
  eventId: r.event_id,
  type: r.type,
  status: r.status as DeliveryStatus,
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  giveUpAt: Number(r.give_up_at),
  createdAt: Number(r.created_at),
  lastAttemptAt: num(r.last_attempt_at),
  lastStatusCode: num(r.last_status_code),
  lastError: r.last_error,
  deliveredAt: num(r.delivered_at),
});

/** The newest id of each outbox stream of a workspace: where a new subscription starts. */
async function streamHeads(db: Kysely<Database>, workspaceId: number): Promise<{ score: number; request: number; alert: number }> {
  const max = async (table: 'score_events' | 'requests' | 'alert_events') => {
    const row = await db.selectFrom(table).select((eb) => eb.fn.max('id').as('id')).where('workspace_id', '=', workspaceId).executeTakeFirst();
    return Number(row?.id ?? 0);
  };
  return { score: await max('score_events'), request: await max('requests'), alert: await max('alert_events') };
}

export class SqlWebhooks implements WebhookStore {
  /**
   * @param tx the transactions of the worker's writes (no write-order lock: they report no change).
   * @param rowLocks whether `for update skip locked` works (PostgreSQL); SQLite has one writer.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tx: Transaction,
    private readonly rowLocks: boolean,
  ) {}

  async create(w: NewWebhook): Promise<Webhook> {
    return this.tx(async (trx) => {
      const heads = await streamHeads(trx, w.workspaceId);
      const now = Date.now();
      const row = await trx
        .insertInto('webhooks')
        .values({
          workspace_id: w.workspaceId,
          url: w.url,
          description: w.description,
          events: JSON.stringify(w.events),
          format: w.format,
          secret: w.secret,
          enabled: 1,
          disabled_reason: null,
          failing_since: null,
          score_cursor: heads.score,
          request_cursor: heads.request,
          alert_cursor: heads.alert,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toWebhook(row);
    });
  }

  async list(workspaceId: number): Promise<Webhook[]> {
    const rows = await this.db.selectFrom('webhooks').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
    return rows.map(toWebhook);
  }

  async get(workspaceId: number, id: number): Promise<Webhook | null> {
    const row = await this.db.selectFrom('webhooks').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
    return row ? toWebhook(row) : null;
  }

  async update(workspaceId: number, id: number, patch: WebhookPatch): Promise<Webhook | null> {
    return this.tx(async (trx) => {
      const row = await trx.selectFrom('webhooks').selectAll().where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
      if (!row) return null;
      const set: Partial<Selectable<WebhooksTable>> = { updated_at: Date.now() };
      if (patch.url !== undefined) set.url = patch.url;
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.format !== undefined) set.format = patch.format;
      if (patch.events !== undefined) {
        set.events = JSON.stringify(patch.events);
        // A stream subscribed anew starts at its newest event, as at creation, not at an old cursor.
        const before = streamsOf(JSON.parse(row.events) as string[]);
        const after = streamsOf(patch.events);
        if ((after.score && !before.score) || (after.request && !before.request) || (after.alert && !before.alert)) {
          const heads = await streamHeads(trx, workspaceId);
          if (after.score && !before.score) set.score_cursor = heads.score;
          if (after.request && !before.request) set.request_cursor = heads.request;
          if (after.alert && !before.alert) set.alert_cursor = heads.alert;
        }
      }
      if (patch.enabled === true) {
        set.enabled = 1;
        set.disabled_reason = null;
        set.failing_since = null;
      } else if (patch.enabled === false) {
        set.enabled = 0;
        set.disabled_reason = 'manual';
      }
      const updated = await trx.updateTable('webhooks').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      return toWebhook(updated);
    });
  }

  async remove(workspaceId: number, id: number): Promise<boolean> {
    return this.tx(async (trx) => {
      const found = await trx.selectFrom('webhooks').select('id').where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
      if (!found) return false;
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      await trx.deleteFrom('webhooks').where('id', '=', id).execute();
      return true;
    });
  }

  async rotateSecret(workspaceId: number, id: number, secret: string): Promise<boolean> {
    const r = await this.db.updateTable('webhooks').set({ secret, updated_at: Date.now() }).where('workspace_id', '=', workspaceId).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deliveries(workspaceId: number, webhookId: number, q: { status?: DeliveryStatus | undefined; beforeId?: number | undefined; limit: number }): Promise<WebhookDelivery[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('webhook_id', '=', webhookId)
      .$if(q.status !== undefined, (qb) => qb.where('status', '=', q.status!))
      .$if(q.beforeId !== undefined, (qb) => qb.where('id', '<', q.beforeId!))
      .orderBy('id', 'desc')
      .limit(q.limit)
      .execute();
    return rows.map(toDelivery);
  }

  async deliveryCounts(workspaceId: number, webhookId: number): Promise<Record<DeliveryStatus, number>> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .select(['status', (eb) => eb.fn.countAll().as('n')])
      .where('workspace_id', '=', workspaceId)
      .where('webhook_id', '=', webhookId)
      .groupBy('status')
      .execute();
    const out: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const r of rows) out[r.status as DeliveryStatus] = Number(r.n);
    return out;
  }

  async redeliver(workspaceId: number, webhookId: number, deliveryId: number, now: number, retryForMs: number): Promise<WebhookDelivery | null> {
    const row = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: now, give_up_at: now + retryForMs, claimed_until: null })
      .where('workspace_id', '=', workspaceId)
      .where('webhook_id', '=', webhookId)
      .where('id', '=', deliveryId)
      .returningAll()
      .executeTakeFirst();
    return row ? toDelivery(row) : null;
  }

  async enqueue(webhook: Webhook, d: NewDelivery, now: number, retryForMs: number): Promise<WebhookDelivery> {
    const row = await this.db.insertInto('webhook_deliveries').values(deliveryRow(webhook, d, now, retryForMs)).returningAll().executeTakeFirstOrThrow();
    return toDelivery(row);
  }

  async withBacklog(): Promise<Webhook[]> {
    const newer = (table: 'score_events' | 'requests' | 'alert_events', cursor: 'score_cursor' | 'request_cursor' | 'alert_cursor') =>
      sql<boolean>`exists (select 1 from ${sql.table(table)} as e where e.workspace_id = webhooks.workspace_id and e.id > webhooks.${sql.ref(cursor)})`;
    const rows = await this.db
      .selectFrom('webhooks')
      .selectAll()
      .select([newer('score_events', 'score_cursor').as('has_score'), newer('requests', 'request_cursor').as('has_request'), newer('alert_events', 'alert_cursor').as('has_alert')])
      .where('enabled', '=', 1)
      .execute();
    return rows
      .filter((r) => {
        const s = streamsOf(JSON.parse(r.events) as string[]);
        return (s.score && truthy(r.has_score)) || (s.request && truthy(r.has_request)) || (s.alert && truthy(r.has_alert));
      })
      .map(toWebhook);
  }

  async fanOut(webhookId: number, limit: number, now: number, retryForMs: number, build: (batch: OutboxBatch) => NewDelivery[]): Promise<number> {
    return this.tx(async (trx) => {
      const row = await trx
        .selectFrom('webhooks')
        .selectAll()
        .where('id', '=', webhookId)
        .where('enabled', '=', 1)
        .$if(this.rowLocks, (qb) => qb.forUpdate().skipLocked())
        .executeTakeFirst();
      if (!row) return 0;
      const webhook = toWebhook(row);
      const streams = streamsOf(webhook.events);
      const ws = await trx.selectFrom('workspaces').selectAll().where('id', '=', webhook.workspaceId).executeTakeFirstOrThrow();
      const requests = streams.request
        ? (
            await trx
              .selectFrom('requests')
              .where('workspace_id', '=', webhook.workspaceId)
              .where('id', '>', Number(row.request_cursor))
              .orderBy('id')
              .limit(limit)
              .select(['id', 'provider', 'model', 'prompt_name', 'prompt_version', 'status', 'input_tokens', 'output_tokens', 'price', 'latency_ms', 'request_start_time', 'created_at'])
              .execute()
          ).map(
            (r): LoggedRequest => ({
              id: Number(r.id),
              provider: r.provider,
              model: r.model,
              promptName: r.prompt_name,
              promptVersion: r.prompt_version,
              status: r.status,
              inputTokens: Number(r.input_tokens),
              outputTokens: Number(r.output_tokens),
              price: Number(r.price),
              latencyMs: Number(r.latency_ms),
              startMs: Number(r.request_start_time),
              createdAt: Number(r.created_at),
            }),
          )
        : [];
      const scoreEvents = streams.score ? (await trx.selectFrom('score_events').selectAll().where('workspace_id', '=', webhook.workspaceId).where('id', '>', Number(row.score_cursor)).orderBy('id').limit(limit).execute()).map(toScoreEvent) : [];
      const alertEvents = streams.alert
        ? (await trx.selectFrom('alert_events').selectAll().where('workspace_id', '=', webhook.workspaceId).where('id', '>', Number(row.alert_cursor)).orderBy('id').limit(limit).execute()).map((r) => ({ id: Number(r.id), alertId: Number(r.alert_id), type: r.type, payload: r.payload, at: Number(r.at) }))
        : [];
      const deliveries = build({ workspace: { id: Number(ws.id), name: ws.name, createdAt: Number(ws.created_at) }, webhook, requests, scoreEvents, alertEvents });
      // One row at a time: a batch insert of many rows would pass the databases' parameter limits.
      for (const d of deliveries) {
        await trx
          .insertInto('webhook_deliveries')
          .values(deliveryRow(webhook, d, now, retryForMs))
          .onConflict((oc) => oc.columns(['webhook_id', 'event_id']).doNothing())
          .execute();
      }
      await trx
        .updateTable('webhooks')
        .set({
          request_cursor: requests.at(-1)?.id ?? Number(row.request_cursor),
          score_cursor: scoreEvents.at(-1)?.id ?? Number(row.score_cursor),
          alert_cursor: alertEvents.at(-1)?.id ?? Number(row.alert_cursor),
        })
        .where('id', '=', webhookId)
        .execute();
      return deliveries.length;
    });
  }

  async claimDue(now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    // Looked at outside a transaction first: an idle instance then takes no write lock (SQLite).
    const any = await this.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'pending').where('next_attempt_at', '<=', now).limit(1).executeTakeFirst();
    if (!any) return [];
    return this.tx(async (trx) => {
      const due = await trx
        .selectFrom('webhook_deliveries as d')
        .select('d.id')
        .where('d.status', '=', 'pending')
        .where('d.next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<=', now)]))
        .where('d.webhook_id', 'in', (eb) => eb.selectFrom('webhooks').select('webhooks.id').where('webhooks.enabled', '=', 1))
        // In order per request: a delivery waits while an earlier one of its key is pending.
        .where((eb) =>
          eb.or([
            eb('d.order_key', 'is', null),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('webhook_deliveries as p')
                  .select('p.id')
                  .whereRef('p.webhook_id', '=', 'd.webhook_id')
                  .whereRef('p.order_key', '=', 'd.order_key')
                  .where('p.status', '=', 'pending')
                  .whereRef('p.id', '<', 'd.id'),
              ),
            ),
          ]),
        )
        .orderBy('d.id')
        .limit(limit)
        .$if(this.rowLocks, (qb) => qb.forUpdate().skipLocked())
        .execute();
      if (due.length === 0) return [];
      const ids = due.map((r) => Number(r.id));
      const rows = await trx
        .updateTable('webhook_deliveries')
        .set({ claimed_until: now + leaseMs })
        .where('id', 'in', ids)
        .returningAll()
        .execute();
      const hooks = await trx.selectFrom('webhooks').select(['id', 'url', 'secret', 'format']).where('id', 'in', [...new Set(rows.map((r) => Number(r.webhook_id)))]).execute();
      const byId = new Map(hooks.map((h) => [Number(h.id), h]));
      return rows
        .map((r) => {
          const h = byId.get(Number(r.webhook_id))!;
          return { ...toDelivery(r), workspaceId: Number(r.workspace_id), payload: r.payload, url: h.url, secret: h.secret, format: h.format };
        })
        .sort((a, b) => a.id - b.id);
    });
  }

  async recordAttempt(r: AttemptResult): Promise<void> {
    await this.tx(async (trx) => {
      await trx
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          last_attempt_at: r.at,
          last_status_code: r.statusCode,
          last_error: r.error,
          claimed_until: null,
          ...(r.ok
            ? { status: 'delivered', delivered_at: r.at }
            : r.retryAt === null
              ? { status: 'failed' }
              : { next_attempt_at: r.retryAt }),
        }))
        .where('id', '=', r.deliveryId)
        .where('status', '=', 'pending')
        .execute();
      if (r.ok) {
        await trx.updateTable('webhooks').set({ failing_since: null }).where('id', '=', r.webhookId).where('failing_since', 'is not', null).execute();
        return;
      }
      // Failing since the first failure after the last success; disabled once that is long enough ago.
      await trx
        .updateTable('webhooks')
        .set({ failing_since: sql<number>`coalesce(failing_since, ${r.at})` })
        .where('id', '=', r.webhookId)
        .execute();
      await trx
        .updateTable('webhooks')
        .set({ enabled: 0, disabled_reason: 'failing', updated_at: r.at })
        .where('id', '=', r.webhookId)
        .where('enabled', '=', 1)
        .where('failing_since', '<=', r.disableIfFailingSince)
        .execute();
    });
  }
}

const truthy = (v: unknown) => v === true || v === 1 || v === '1' || v === 't';

function deliveryRow(webhook: Webhook, d: NewDelivery, now: number, retryForMs: number) {
  return {
    workspace_id: webhook.workspaceId,
    webhook_id: webhook.id,
    event_id: d.eventId,
    type: d.type,
    order_key: d.orderKey,
    payload: d.payload,
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    give_up_at: now + retryForMs,
    claimed_until: null,
    created_at: now,
    last_attempt_at: null,
    last_status_code: null,
    last_error: null,
    delivered_at: null,
  };
}
