/**
 * The events webhooks receive: the envelope `{ id, type, created_at, workspace, data }` and each
 * type's `data`, built from the outbox rows (score_events, requests, alert_events).
 */
import { formatWindow, type Evaluation } from '../domain/alert-rule.js';
import { toIso } from '../domain/timestamps.js';
import type { Alert, AlertEventRow, LoggedRequest, NewDelivery, OutboxBatch, ScoreEvent, Workspace } from '../store/types.js';

export interface EventEnvelope {
  /** Unique per event and stable across retries and redeliveries (`Tally-Event-Id`): receivers deduplicate on it. */
  id: string;
  type: string;
  created_at: string;
  workspace: { id: number; name: string };
  data: Record<string, unknown>;
}

/** `score.created`, `score.updated` or `score.deleted`. */
export function scoreEventType(e: ScoreEvent): string {
  if (e.kind === 'delete' || e.newValue === null) return 'score.deleted';
  return e.oldValue === null ? 'score.created' : 'score.updated';
}

/** The one mapping from a score history row to the `data` of its event. */
export function scoreEventData(e: ScoreEvent): Record<string, unknown> {
  return {
    history_id: e.id,
    request_id: e.requestId,
    name: e.name,
    old_value: e.oldValue,
    new_value: e.newValue,
    label: e.label,
    comment: e.comment,
    reasons: e.reasons,
    rater: e.rater,
    rating: e.rating,
    actor: e.actor,
    source: e.source,
    schema_version: e.schemaVersion,
    kind: e.kind,
    batch_id: e.batchId,
    at: toIso(e.at),
  };
}

export function requestLoggedData(r: LoggedRequest): Record<string, unknown> {
  return {
    request_id: r.id,
    provider: r.provider,
    model: r.model,
    prompt_name: r.promptName,
    prompt_version: r.promptVersion,
    status: r.status,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    price: r.price,
    latency_ms: r.latencyMs,
    request_start_time: toIso(r.startMs),
  };
}

/** The dashboard's request log filtered as the alert filters its scores. */
export function requestLogLink(alert: Pick<Alert, 'scoreName' | 'filter'>, publicUrl: string | undefined): string {
  const q = new URLSearchParams();
  if (alert.filter !== null) q.set('filter', JSON.stringify(alert.filter));
  q.append('has_score', alert.scoreName);
  const path = `/requests?${q.toString()}`;
  return publicUrl === undefined ? path : `${publicUrl.replace(/\/+$/, '')}${path}`;
}

const envelope = (id: string, type: string, at: number, ws: Workspace, data: Record<string, unknown>): EventEnvelope => ({
  id,
  type,
  created_at: toIso(at),
  workspace: { id: ws.id, name: ws.name },
  data,
});

/**
 * The deliveries of one fan-out: the subscribed events of the batch, requests first (a request's
 * `request.logged` precedes the scores it was logged with), keyed so that the events of one
 * request (or one alert) are delivered in order.
 */
export function deliveriesOf(batch: OutboxBatch): NewDelivery[] {
  const wanted = new Set(batch.webhook.events);
  const out: NewDelivery[] = [];
  const add = (env: EventEnvelope, orderKey: string) => {
    if (wanted.has(env.type)) out.push({ eventId: env.id, type: env.type, orderKey, payload: JSON.stringify(env) });
  };
  for (const r of batch.requests) add(envelope(`req_${r.id}`, 'request.logged', r.createdAt, batch.workspace, requestLoggedData(r)), `request:${r.id}`);
  for (const e of batch.scoreEvents) add(envelope(`sev_${e.id}`, scoreEventType(e), e.at, batch.workspace, scoreEventData(e)), `request:${e.requestId}`);
  for (const a of batch.alertEvents) add(alertEnvelope(a, batch.workspace), `alert:${a.alertId}`);
  return out;
}

function alertEnvelope(a: AlertEventRow, ws: Workspace): EventEnvelope {
  return envelope(`aev_${a.id}`, a.type, a.at, ws, JSON.parse(a.payload) as Record<string, unknown>);
}

/** The test event of `POST /v1/webhooks/{id}/test`. */
export function testEnvelope(id: string, at: number, ws: Workspace, webhookId: number): EventEnvelope {
  return envelope(id, 'webhook.test', at, ws, { webhook_id: webhookId, message: 'A test event from Tally: this webhook is reachable.' });
}

/** An alert's definition as events and the API show it. */
export function alertSummary(a: Alert) {
  return {
    id: a.id,
    name: a.name,
    score_name: a.scoreName,
    filter: a.filter,
    window: formatWindow(a.windowMs),
    window_seconds: a.windowMs / 1000,
    min_count: a.minCount,
    threshold: a.threshold,
    direction: a.direction,
    confidence: a.confidence,
    kind: a.kind,
    value: a.shareValue,
  };
}

/** The `data` of `alert.fired` and `alert.resolved`. */
export function alertEventData(a: Alert, e: Evaluation, at: number, publicUrl: string | undefined): Record<string, unknown> {
  return {
    alert: alertSummary(a),
    state: e.state,
    count: e.count,
    value: e.value,
    low: e.low,
    high: e.high,
    evaluated_at: toIso(at),
    window_start: toIso(at - a.windowMs),
    request_log_url: requestLogLink(a, publicUrl),
  };
}
