import { backoffMs, DISABLE_AFTER_MS, hostAllowed, RETRY_FOR_MS } from '../domain/webhook-events.js';
import type { Store } from '../store/store.js';
import type { ClaimedDelivery } from '../store/types.js';
import { deliveriesOf, type EventEnvelope } from './payloads.js';
import { signatureHeader } from './signature.js';
import { slackMessage } from './slack.js';

export interface WebhookWorkerOptions {
  /** How often the outbox and the due deliveries are looked at. */
  pollMs: number;
  /** The first retry waits about this long; each further one twice as long (domain/webhook-events.ts). */
  backoffBaseMs: number;
  /** How long one POST may take before it counts as failed. */
  timeoutMs: number;
  /** Deliveries in flight at once on this instance. */
  concurrency: number;
  /** Hosts receivers may be on; empty: any. Checked again at each send (the setting may change). */
  allowedHosts: readonly string[];
  /** How long a delivery is retried (default 24 h) and how long a webhook may fail before it is disabled (default 3 days). */
  retryForMs?: number;
  disableAfterMs?: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

// Events read from each stream per fan-out transaction.
const FAN_OUT_BATCH = 500;
// Most of an answer's body read (and thrown away) so that the connection can be reused.
const MAX_ERROR_TEXT = 300;

/**
 * Sends webhooks, off the request path: turns the outbox (score_events, requests, alert_events)
 * into deliveries past each webhook's cursors, claims due deliveries with a lease, POSTs them with
 * a timeout and records each attempt. At least once: a delivery is marked delivered only after a
 * 2xx; a crash before that leaves it pending, and its lease runs out for another attempt.
 */
export class WebhookWorker {
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private stopped = false;
  private again = false;
  private readonly retryForMs: number;
  private readonly disableAfterMs: number;

  constructor(
    private readonly store: Store,
    private readonly opts: WebhookWorkerOptions,
  ) {
    this.retryForMs = opts.retryForMs ?? RETRY_FOR_MS;
    this.disableAfterMs = opts.disableAfterMs ?? DISABLE_AFTER_MS;
  }

  start(): void {
    this.schedule(0);
  }

  /** Looks at the outbox soon (a test event, a redelivery), instead of at the next poll. */
  kick(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.opts.pollMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const now = Date.now();
      for (const webhook of await this.store.webhooks.withBacklog()) {
        if (this.stopped) return;
        const added = await this.store.webhooks.fanOut(webhook.id, FAN_OUT_BATCH, now, this.retryForMs, deliveriesOf);
        // A full batch: more events wait; look again at once.
        if (added >= FAN_OUT_BATCH) this.again = true;
      }
      const free = this.opts.concurrency - this.inFlight.size;
      if (free <= 0 || this.stopped) return;
      const claimed = await this.store.webhooks.claimDue(Date.now(), this.opts.timeoutMs + 30_000, free);
      for (const d of claimed) this.track(this.send(d));
    } catch (err) {
      if (!this.stopped) this.opts.log.error({ err }, 'webhook worker: a pass failed; trying again at the next poll');
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      // A slot is free, and the next event of the same request may now be due.
      this.kick();
    });
  }

  private async send(d: ClaimedDelivery): Promise<void> {
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const env = JSON.parse(d.payload) as EventEnvelope;
      const body = d.format === 'slack' ? JSON.stringify(slackMessage(env)) : d.payload;
      const url = new URL(d.url);
      if (!hostAllowed(url.hostname, this.opts.allowedHosts)) throw new Error(`host ${url.hostname} is not in the allowed webhook hosts`);
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tally-Webhooks/1',
          'tally-event-id': env.id,
          'tally-event-type': env.type,
          'tally-delivery-id': String(d.id),
          'tally-signature': signatureHeader(d.secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        // A redirect could lead past the allowed hosts: it counts as a failure, not a hop.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), this.abort.signal]),
      });
      statusCode = res.status;
      const text = await res.text().catch(() => '');
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}${text ? `: ${text.slice(0, MAX_ERROR_TEXT)}` : ''}`;
    } catch (err) {
      // Stopping: the attempt is not counted; the lease runs out and another instance (or this one
      // after a restart) sends it.
      if (this.stopped) return;
      error = err instanceof Error ? (err.name === 'TimeoutError' ? `timed out after ${this.opts.timeoutMs} ms` : `${err.message}${causeOf(err)}`) : String(err);
    }
    const at = Date.now();
    const ok = error === null;
    const retryAt = ok ? null : at + backoffMs(d.attempts + 1, this.opts.backoffBaseMs);
    try {
      await this.store.webhooks.recordAttempt({
        deliveryId: d.id,
        webhookId: d.webhookId,
        at,
        ok,
        statusCode,
        error,
        retryAt: retryAt !== null && retryAt < d.giveUpAt ? retryAt : null,
        disableIfFailingSince: at - this.disableAfterMs,
      });
    } catch (err) {
      this.opts.log.error({ err, delivery: d.id, ms: at - started }, 'webhook worker: could not record an attempt; the delivery is sent again when its lease ends');
    }
  }

  /** Stops polling, cuts the POSTs in flight (their leases run out for a later attempt) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.ticking;
    await Promise.allSettled([...this.inFlight]);
  }
}

const causeOf = (err: Error) => (err.cause instanceof Error ? `: ${err.cause.message}` : '');
