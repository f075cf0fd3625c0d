import { useCallback, useEffect, useState } from 'react';
import { api, type RequestDetail, type ScoreEvent } from '../api.js';
import { useActors } from '../components/actors.js';
import { Conversation } from '../components/conversation.js';
import { EndUserRatings } from '../components/end-user-ratings.js';
import { ScoresPanel } from '../components/scores-panel.js';
import { actorLabel, fmtCost, fmtLatency, fmtTime } from '../format.js';
import { Link } from '../router.js';

const json = (v: unknown) => JSON.stringify(v, null, 2);

export function RequestDetailView({ request }: { request: RequestDetail }) {
  const r = request;
  const failed = r.status === 'ERROR' || r.error_type !== null || r.error_message !== null;
  return (
    <div className="detail">
      {failed && (
        <div className={`error-box status-${r.status.toLowerCase()}`} role="note" aria-label="Error">
          <strong>{r.status === 'ERROR' ? 'This request failed' : `This request finished with status ${r.status}`}</strong>
          {r.error_type && (
            <div>
              Type: <code>{r.error_type}</code>
            </div>
          )}
          {r.error_message && <pre className="text">{r.error_message}</pre>}
        </div>
      )}
      <div className="conversations">
        <Conversation title="Input" value={r.input} />
        <Conversation
          title="Output"
          value={r.output}
          emptyNote={<p className="muted empty-output">{failed ? 'No output: the request failed before an answer was logged (see the error above).' : 'No output was logged for this request.'}</p>}
        />
      </div>
      <section className="facts" aria-label="Details">
        <h2>Details</h2>
        <dl>
          <dt>Provider / model</dt>
          <dd>
            {r.provider} / {r.model}
          </dd>
          {r.function_name && (
            <>
              <dt>Function</dt>
              <dd>{r.function_name}</dd>
            </>
          )}
          <dt>Prompt</dt>
          <dd>{r.prompt_name ? `${r.prompt_name}${r.prompt_version !== null ? ` v${r.prompt_version}` : ''}${r.prompt_label ? ` (${r.prompt_label})` : ''}` : '–'}</dd>
          <dt>Status</dt>
          <dd>
            {r.status}
            {r.error_type ? ` · ${r.error_type}` : ''}
            {r.error_message ? ` · ${r.error_message}` : ''}
          </dd>
          <dt>Started</dt>
          <dd>{fmtTime(r.request_start_time)}</dd>
          <dt>Latency</dt>
          <dd>{fmtLatency(r.latency_ms)}</dd>
          <dt>Tokens</dt>
          <dd>
            {r.input_tokens} in + {r.output_tokens} out = {r.tokens}
          </dd>
          <dt>Cost</dt>
          <dd>{fmtCost(r.price)}</dd>
          <dt>Tags</dt>
          <dd>{r.tags.length ? r.tags.map((t) => <span key={t} className="tag">{t}</span>) : '–'}</dd>
          {r.group_ids.length > 0 && (
            <>
              <dt>Groups</dt>
              <dd>{r.group_ids.join(', ')}</dd>
            </>
          )}
        </dl>
        <h3>Metadata</h3>
        {Object.keys(r.metadata).length ? (
          <dl className="kv">
            {Object.entries(r.metadata).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        ) : (
          <p className="muted">none</p>
        )}
        <h3>Parameters</h3>
        <pre className="json">{json(r.parameters)}</pre>
        {Object.keys(r.prompt_input_variables).length > 0 && (
          <>
            <h3>Prompt input variables</h3>
            <pre className="json">{json(r.prompt_input_variables)}</pre>
          </>
        )}
      </section>
    </div>
  );
}

/** An email may wrap after its "@", never inside a word. */
function BreakAfterAt({ text }: { text: string }) {
  const at = text.indexOf('@');
  if (at < 0) return <>{text}</>;
  return (
    <>
      {text.slice(0, at + 1)}
      <wbr />
      {text.slice(at + 1)}
    </>
  );
}

/** What a history row adds under ratings: whose rating, its label and reasons, the schema version. */
function RatingNote({ event }: { event: ScoreEvent }) {
  const e = event;
  const parts: string[] = [];
  if (e.kind === 'adjudication') parts.push('adjudicated');
  if (e.rater && e.rater !== e.actor) parts.push(`rated by ${e.rater.startsWith('external:') ? e.rater.slice(9) : e.rater}`);
  if (e.label) parts.push(e.label);
  if (e.kind === 'rating' && e.rating !== null && e.rating !== undefined && e.rating !== e.new_value) parts.push(`rating ${e.rating}`);
  if (e.reasons?.length) parts.push(e.reasons.join(', '));
  if (e.schema_version) parts.push(`schema v${e.schema_version}`);
  return parts.length ? <div className="muted rating-note">{parts.join(' · ')}</div> : null;
}

export function ScoreHistory({ events }: { events: ScoreEvent[] }) {
  const { members, keys } = useActors();
  return (
    <section className="history" aria-label="Score history">
      <h2>Score history</h2>
      {events.length === 0 ? (
        <p className="muted">No changes yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {[...events].reverse().map((e) => (
              <tr key={e.id}>
                <td className="nowrap">{fmtTime(e.at)}</td>
                <td className="who">
                  <BreakAfterAt text={actorLabel(e.actor, members, keys)} />
                  <div className="muted">
                    via {e.source}
                    {e.comment ? ` · ${e.comment}` : ''}
                  </div>
                </td>
                <td>
                  <span className="score-name">{e.name}</span> <span className="nowrap">{e.old_value ?? '∅'} → {e.new_value ?? '∅ (removed)'}</span>
                  <RatingNote event={e} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function RequestPage({ id }: { id: number }) {
  const [request, setRequest] = useState<RequestDetail | null | undefined>(undefined);
  const [events, setEvents] = useState<ScoreEvent[]>([]);
  const load = useCallback(() => {
    api<{ request: RequestDetail }>('GET', `/v1/requests/${id}`).then(
      (r) => setRequest(r.request),
      () => setRequest(null),
    );
    api<{ events: ScoreEvent[] }>('GET', `/v1/requests/${id}/scores/history`).then(
      (r) => setEvents(r.events),
      () => setEvents([]),
    );
  }, [id]);
  useEffect(load, [load]);

  if (request === undefined) return <p className="loading">Loading…</p>;
  if (request === null)
    return (
      <div className="page">
        <h1>Request not found</h1>
        <Link to="/requests">Back to the request log</Link>
      </div>
    );
  return (
    <div className="page">
      <div className="page-head">
        <h1>Request {request.id}</h1>
        <Link to="/requests">← Request log</Link>
      </div>
      <div className="request-layout">
        <RequestDetailView request={request} />
        <aside>
          <ScoresPanel request={request} onChanged={load} />
          <EndUserRatings request={request} />
          <ScoreHistory events={events} />
        </aside>
      </div>
    </div>
  );
}
