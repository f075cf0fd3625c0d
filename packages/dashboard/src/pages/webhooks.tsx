import { useEffect, useState } from 'react';
import type { Webhook, WebhookDelivery, WebhookEventType } from '@tally/sdk';
import { api } from '../api.js';
import { useSession } from '../app.js';
import { fmtTime } from '../format.js';

const EVENTS: WebhookEventType[] = ['score.created', 'score.updated', 'score.deleted', 'request.logged', 'alert.fired', 'alert.resolved'];

/** Webhooks: create (the signing secret shown once), enable or disable, test, and each one's deliveries with redeliver. */
export function WebhooksPage() {
  const { epoch } = useSession();
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [format, setFormat] = useState<'tally' | 'slack'>('tally');
  const [events, setEvents] = useState<Set<WebhookEventType>>(new Set(['score.created', 'score.updated', 'score.deleted']));
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<{ webhooks: Webhook[] }>('GET', '/v1/webhooks').then((r) => setHooks(r.webhooks), (e: Error) => setError(e.message));
  useEffect(() => void load(), [epoch]);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Webhooks</h1>
      </div>
      <form
        className="card webhook-form"
        aria-label="New webhook"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const r = await api<{ secret: string; webhook: Webhook }>('POST', '/v1/webhooks', { url, events: [...events], description, format });
            setSecret(r.secret);
            setOpen(r.webhook.id);
            setUrl('');
            setDescription('');
          });
        }}
      >
        <label>
          URL
          <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/tally-events" size={40} />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1024} />
        </label>
        <label>
          Format
          <select value={format} onChange={(e) => setFormat(e.target.value as 'tally' | 'slack')}>
            <option value="tally">Tally JSON (signed)</option>
            <option value="slack">Slack incoming webhook</option>
          </select>
        </label>
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((ev) => (
            <label key={ev} className="check">
              <input
                type="checkbox"
                checked={events.has(ev)}
                onChange={(e) => {
                  const next = new Set(events);
                  if (e.target.checked) next.add(ev);
                  else next.delete(ev);
                  setEvents(next);
                }}
              />
              {ev}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="primary" disabled={events.size === 0}>
          Create webhook
        </button>
      </form>
      {secret && (
        <div className="card new-key" role="region" aria-label="New webhook secret">
          <p>
            <strong>Copy this signing secret now.</strong> It is shown only this once; verify each delivery's <code>Tally-Signature</code> with it.
          </p>
          <div className="key-row">
            <code data-testid="webhook-secret">{secret}</code>
            <button type="button" onClick={() => setSecret(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {hooks !== null && hooks.length === 0 && <p className="muted">No webhooks yet.</p>}
      {(hooks ?? []).map((h) => (
        <section key={h.id} className="card" aria-label={`Webhook ${h.url}`}>
          <div className="webhook-head">
            <div>
              <code>{h.url}</code> {h.description && <span className="muted">– {h.description}</span>}
              <div className="muted">
                {h.format === 'slack' ? 'Slack' : 'Tally JSON'} · {h.events.join(', ')}
              </div>
            </div>
            <div className="webhook-state">
              {h.enabled ? (
                <span className={h.failing_since ? 'error' : ''}>{h.failing_since ? `failing since ${fmtTime(h.failing_since)}` : 'enabled'}</span>
              ) : (
                <strong className="error">{h.disabled_reason === 'failing' ? 'disabled after 3 days of failures' : 'disabled'}</strong>
              )}
              <span className="muted">
                {' '}
                · {h.deliveries.delivered} delivered · {h.deliveries.pending} pending · {h.deliveries.failed} failed
              </span>
            </div>
          </div>
          <div className="key-row">
            <button type="button" onClick={() => setOpen(open === h.id ? null : h.id)}>
              {open === h.id ? 'Hide deliveries' : 'Deliveries'}
            </button>
            <button type="button" disabled={!h.enabled} onClick={() => void act(async () => (await api('POST', `/v1/webhooks/${h.id}/test`), setOpen(h.id)))}>
              Send test event
            </button>
            <button type="button" onClick={() => void act(() => api('PATCH', `/v1/webhooks/${h.id}`, { enabled: !h.enabled }))}>
              {h.enabled ? 'Disable' : 'Enable'}
            </button>
            <button type="button" onClick={() => void act(async () => setSecret((await api<{ secret: string }>('POST', `/v1/webhooks/${h.id}/rotate-secret`)).secret))}>
              Rotate secret
            </button>
            <button
              type="button"
              onClick={() => {
                if (window.confirm(`Delete the webhook to ${h.url} and its deliveries?`)) void act(() => api('DELETE', `/v1/webhooks/${h.id}`));
              }}
            >
              Delete
            </button>
          </div>
          {open === h.id && <Deliveries webhookId={h.id} onChange={load} />}
        </section>
      ))}
    </div>
  );
}

function Deliveries({ webhookId, onChange }: { webhookId: number; onChange: () => void }) {
  const [rows, setRows] = useState<WebhookDelivery[] | null>(null);
  const [onlyFailed, setOnlyFailed] = useState(false);
  const load = () =>
    api<{ deliveries: WebhookDelivery[] }>('GET', `/v1/webhooks/${webhookId}/deliveries?limit=50${onlyFailed ? '&status=failed' : ''}`).then((r) => setRows(r.deliveries));
  useEffect(() => {
    void load();
    // Deliveries change on their own (retries): look again every few seconds while open, counts too.
    const timer = setInterval(() => {
      void load();
      onChange();
    }, 3000);
    return () => clearInterval(timer);
  }, [webhookId, onlyFailed]);
  return (
    <div>
      <label className="check">
        <input type="checkbox" checked={onlyFailed} onChange={(e) => setOnlyFailed(e.target.checked)} /> Failed only
      </label>
      <table aria-label="Deliveries">
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last answer</th>
            <th scope="col">Last attempt</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((d) => (
            <tr key={d.id}>
              <td>
                {d.type} <code className="muted">{d.event_id}</code>
              </td>
              <td className={d.status === 'failed' ? 'error' : ''}>
                {d.status}
                {d.status === 'pending' && d.next_attempt_at && d.attempts > 0 ? ` (next ${fmtTime(d.next_attempt_at)})` : ''}
              </td>
              <td>{d.attempts}</td>
              <td title={d.last_error ?? ''}>{d.last_status_code ?? (d.last_error ? 'no answer' : '–')}{d.last_error && d.last_status_code === null ? `: ${d.last_error}` : ''}</td>
              <td>{d.last_attempt_at ? fmtTime(d.last_attempt_at) : '–'}</td>
              <td>
                {d.status !== 'pending' && (
                  <button
                    type="button"
                    aria-label={`Redeliver ${d.event_id}`}
                    onClick={async () => {
                      await api('POST', `/v1/webhooks/${webhookId}/deliveries/${d.id}/redeliver`);
                      await load();
                      onChange();
                    }}
                  >
                    Redeliver
                  </button>
                )}
              </td>
            </tr>
          ))}
          {rows !== null && rows.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No deliveries yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
