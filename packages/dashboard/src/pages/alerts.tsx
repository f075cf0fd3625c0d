import { useEffect, useState } from 'react';
import type { Alert, AlertDetail, AlertEvaluation, AlertStateEntry } from '@tally/sdk';
import { api } from '../api.js';
import { useSession } from '../app.js';
import { fmtNum, fmtTime } from '../format.js';
import { Link } from '../router.js';

const show = (a: Pick<Alert, 'kind'>, v: number | null) => (v === null ? '–' : a.kind === 'share' ? `${(v * 100).toFixed(1)}%` : fmtNum(v, 1));

/** Alerts: their states, a new alert, and for the selected one its chart, history and an evaluation on demand. */
export function AlertsPage() {
  const { epoch } = useSession();
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({ name: '', score_name: '', window: '1h', min_count: '30', threshold: '60', direction: 'below', kind: 'mean', value: '0', prompt_name: '' });
  const load = () => api<{ alerts: Alert[] }>('GET', '/v1/alerts').then((r) => setAlerts(r.alerts), (e: Error) => setError(e.message));
  useEffect(() => void load(), [epoch]);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  return (
    <div className="page">
      <div className="page-head">
        <h1>Alerts</h1>
      </div>
      <form
        className="card webhook-form"
        aria-label="New alert"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const share = form.kind === 'share';
            const r = await api<{ alert: Alert }>('POST', '/v1/alerts', {
              name: form.name,
              score_name: form.score_name,
              window: form.window,
              min_count: Number(form.min_count),
              threshold: Number(form.threshold),
              direction: form.direction,
              kind: form.kind,
              ...(share ? { value: Number(form.value) } : {}),
              ...(form.prompt_name ? { filter: { field: 'prompt_name', op: '=', value: form.prompt_name } } : {}),
            });
            await load();
            setSelected(r.alert.id);
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        <label>
          Name
          <input required value={form.name} onChange={set('name')} maxLength={200} />
        </label>
        <label>
          Score name
          <input required value={form.score_name} onChange={set('score_name')} maxLength={512} />
        </label>
        <label>
          Prompt (optional)
          <input value={form.prompt_name} onChange={set('prompt_name')} />
        </label>
        <label>
          Kind
          <select value={form.kind} onChange={set('kind')}>
            <option value="mean">mean</option>
            <option value="share">share of a value</option>
          </select>
        </label>
        {form.kind === 'share' && (
          <label>
            Value
            <input type="number" min={0} max={100} value={form.value} onChange={set('value')} />
          </label>
        )}
        <label>
          Direction
          <select value={form.direction} onChange={set('direction')}>
            <option value="below">below</option>
            <option value="above">above</option>
          </select>
        </label>
        <label>
          Threshold{form.kind === 'share' ? ' (0–1)' : ''}
          <input type="number" step="any" value={form.threshold} onChange={set('threshold')} />
        </label>
        <label>
          Window
          <input value={form.window} onChange={set('window')} size={5} />
        </label>
        <label>
          Min. scores
          <input type="number" min={2} value={form.min_count} onChange={set('min_count')} />
        </label>
        <button type="submit" className="primary">
          Create alert
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table className="card" aria-label="Alerts">
        <thead>
          <tr>
            <th scope="col">Alert</th>
            <th scope="col">State</th>
            <th scope="col">Rule</th>
          </tr>
        </thead>
        <tbody>
          {(alerts ?? []).map((a) => (
            <tr key={a.id} className={selected === a.id ? 'selected' : ''}>
              <td>
                <button type="button" className="link" onClick={() => setSelected(a.id)}>
                  {a.name}
                </button>
              </td>
              <td className={a.state === 'firing' ? 'error' : ''}>
                <strong>{a.state}</strong>
                {!a.enabled && ' (disabled)'}
              </td>
              <td>
                {a.kind === 'share' ? `share of ${a.score_name} = ${a.value}` : `mean of ${a.score_name}`} {a.direction} {show(a, a.threshold)} over {a.window}, at least {a.min_count} scores,{' '}
                {Math.round(a.confidence * 100)}% interval
              </td>
            </tr>
          ))}
          {alerts !== null && alerts.length === 0 && (
            <tr>
              <td colSpan={3} className="muted">
                No alerts yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {selected !== null && <AlertView key={selected} id={selected} onChange={load} />}
    </div>
  );
}

function AlertView({ id, onChange }: { id: number; onChange: () => void }) {
  const [detail, setDetail] = useState<AlertDetail | null>(null);
  const [last, setLast] = useState<AlertEvaluation | null>(null);
  const load = () => api<AlertDetail>('GET', `/v1/alerts/${id}`).then(setDetail);
  useEffect(() => void load(), [id]);
  if (!detail) return <p className="loading">Loading…</p>;
  const a = detail.alert;
  return (
    <section className="card" aria-label={`Alert ${a.name}`}>
      <div className="webhook-head">
        <h2>{a.name}</h2>
        <div className="key-row">
          <button
            type="button"
            onClick={async () => {
              setLast(await api<AlertEvaluation>('POST', `/v1/alerts/${id}/evaluate`));
              await load();
              onChange();
            }}
          >
            Evaluate now
          </button>
          <button
            type="button"
            onClick={async () => {
              await api('PATCH', `/v1/alerts/${id}`, { enabled: !a.enabled });
              await load();
              onChange();
            }}
          >
            {a.enabled ? 'Disable' : 'Enable'}
          </button>
          <Link to={a.request_log_url.replace(/^https?:\/\/[^/]+/, '')}>Matching requests</Link>
        </div>
      </div>
      {last && (
        <p data-testid="evaluation">
          <strong>{last.state}</strong> ({last.reason.replace(/_/g, ' ')}): {a.kind === 'share' ? 'share' : 'mean'} {show(a, last.value)}
          {last.interval ? `, ${Math.round(last.interval.confidence * 100)}% interval ${show(a, last.interval.low)} to ${show(a, last.interval.high)}` : ''}, {last.count} scores
        </p>
      )}
      <AlertChart alert={a} history={[...detail.history].reverse()} />
      <h2>State changes</h2>
      <ul aria-label="State changes">
        {detail.history
          .filter((h) => h.changed)
          .map((h) => (
            <li key={h.at}>
              {fmtTime(h.at)}: <strong>{h.state === 'firing' ? 'fired' : 'resolved'}</strong> – {show(a, h.value)} ({show(a, h.low)} to {show(a, h.high)}), {h.count} scores
            </li>
          ))}
        {detail.history.every((h) => !h.changed) && <li className="muted">No state change yet.</li>}
      </ul>
    </section>
  );
}

/** The value and its interval at each evaluation (oldest left) against the threshold; firing points red. */
function AlertChart({ alert, history }: { alert: Alert; history: AlertStateEntry[] }) {
  const points = history.filter((h) => h.value !== null);
  const W = 640;
  const H = 180;
  const pad = 28;
  if (points.length === 0) return <p className="muted">No evaluation with scores yet: the chart shows the {alert.kind} and its interval once there are some.</p>;
  const values = points.flatMap((p) => [p.low ?? p.value!, p.high ?? p.value!]).concat(alert.threshold);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const y = (v: number) => H - pad - ((v - lo) / span) * (H - 2 * pad);
  const x = (i: number) => pad + (points.length === 1 ? (W - 2 * pad) / 2 : (i * (W - 2 * pad)) / (points.length - 1));
  const band = points.filter((p) => p.low !== null && p.high !== null);
  const bandPath =
    band.length > 1
      ? `M ${band.map((p) => `${x(points.indexOf(p))},${y(p.high!)}`).join(' L ')} L ${[...band].reverse().map((p) => `${x(points.indexOf(p))},${y(p.low!)}`).join(' L ')} Z`
      : null;
  return (
    <svg role="img" aria-label={`${alert.kind} of ${alert.score_name} and its interval against the threshold`} viewBox={`0 0 ${W} ${H}`} className="alert-chart" width="100%" style={{ maxWidth: W }}>
      {bandPath && <path d={bandPath} fill="#4c7bd933" stroke="none" />}
      {points.map((p, i) =>
        p.low !== null && p.high !== null ? <line key={`i${i}`} x1={x(i)} x2={x(i)} y1={y(p.low)} y2={y(p.high)} stroke="#4c7bd9" strokeWidth={1} /> : null,
      )}
      <polyline points={points.map((p, i) => `${x(i)},${y(p.value!)}`).join(' ')} fill="none" stroke="#1f4fb5" strokeWidth={2} />
      {points.map((p, i) => (
        <circle key={`c${i}`} cx={x(i)} cy={y(p.value!)} r={3} fill={p.state === 'firing' ? '#c62828' : '#1f4fb5'}>
          <title>{`${fmtTime(p.at)}: ${show(alert, p.value)} (${show(alert, p.low)} to ${show(alert, p.high)}), ${p.count} scores, ${p.state}`}</title>
        </circle>
      ))}
      <line x1={pad} x2={W - pad} y1={y(alert.threshold)} y2={y(alert.threshold)} stroke="#c62828" strokeDasharray="5 4" />
      <text x={W - pad} y={y(alert.threshold) - 4} textAnchor="end" fontSize="11" fill="#c62828">
        threshold {show(alert, alert.threshold)}
      </text>
      <text x={4} y={y(hi) + 4} fontSize="10" fill="#666">
        {show(alert, hi)}
      </text>
      <text x={4} y={y(lo) + 4} fontSize="10" fill="#666">
        {show(alert, lo)}
      </text>
    </svg>
  );
}
