/**
 * What a webhook can subscribe to, where each event comes from, and when a failed delivery is
 * tried again. Pure: no I/O.
 */
import { invalidField } from './errors.js';

export const WEBHOOK_EVENTS = ['score.created', 'score.updated', 'score.deleted', 'request.logged', 'alert.fired', 'alert.resolved'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
/** The type of the event `POST /v1/webhooks/{id}/test` sends; never subscribed to. */
export const TEST_EVENT = 'webhook.test';

export const WEBHOOK_FORMATS = ['tally', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/**
 * The outbox tables a webhook's events are read from: `score_events`, `requests` and
 * `alert_events`, each written in the transaction of the change it reports.
 */
export interface EventStreams {
  score: boolean;
  request: boolean;
  alert: boolean;
}

export function streamsOf(events: readonly string[]): EventStreams {
  return {
    score: events.some((e) => e.startsWith('score.')),
    request: events.includes('request.logged'),
    alert: events.some((e) => e.startsWith('alert.')),
  };
}

/** The subscribed events, checked and without repeats, in the catalogue's order. */
export function checkEvents(raw: readonly string[], field = 'events'): WebhookEventType[] {
  if (raw.length === 0) throw invalidField(field, `give at least one of ${WEBHOOK_EVENTS.join(', ')}`);
  for (const e of raw) if (!(WEBHOOK_EVENTS as readonly string[]).includes(e)) throw invalidField(field, `unknown event "${e}"; one of ${WEBHOOK_EVENTS.join(', ')}`);
  return WEBHOOK_EVENTS.filter((e) => raw.includes(e));
}

/**
 * A receiver's URL: http or https, no credentials, and a host the operator allows. `allowedHosts`
 * empty allows any; an entry `*.example.com` allows every subdomain of example.com.
 */
export function checkWebhookUrl(text: string, allowedHosts: readonly string[], field = 'url'): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidField(field, 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidField(field, 'must be an http or https URL');
  if (url.username !== '' || url.password !== '') throw invalidField(field, 'must not hold a user name or password');
  if (!hostAllowed(url.hostname, allowedHosts)) throw invalidField(field, `host "${url.hostname}" is not in the server's allowed webhook hosts (--webhook-allowed-hosts)`);
  return url.toString();
}

export function hostAllowed(hostname: string, allowedHosts: readonly string[]): boolean {
  if (allowedHosts.length === 0) return true;
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return allowedHosts.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? host.endsWith(e.slice(1)) : host === e.replace(/^\[|\]$/g, '');
  });
}

/** How long a delivery is retried, and how long a webhook may fail before it is disabled. */
export const RETRY_FOR_MS = 24 * 3600_000;
export const DISABLE_AFTER_MS = 3 * 24 * 3600_000;
/** The longest wait between two attempts. */
export const MAX_BACKOFF_MS = 3600_000;

/**
 * The wait after the `attempts`-th failed attempt (1 for the first): `baseMs` doubled per attempt,
 * capped at an hour, with full jitter over its upper half so that instances and receivers that
 * failed together do not retry together. With the default base of 10 s: about 10 s, 20 s, 40 s,
 * ... 1 h, then hourly until 24 h after the event.
 */
export function backoffMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
