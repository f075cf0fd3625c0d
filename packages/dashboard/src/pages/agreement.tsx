import { useCallback, useEffect, useState } from 'react';
import { useActors } from '../components/actors.js';
import { raterLabel, ScoreControl, startValue } from '../components/score-control.js';
import { fmtNum } from '../format.js';
import { Link, navigate, useLocation } from '../router.js';
import { adjudicate, disputes as listDisputes, listQueues, queueAgreement, type Agreement, type Dispute, type Queue } from '../review-queues.js';
import { labelFor, labelsOf, useScoreNames, type ScoreSchema } from '../score-schemas.js';

/** How far alpha goes toward agreement, in Krippendorff's own rule of thumb. */
function alphaReading(a: number | null): string {
  if (a === null) return 'not defined (too few paired ratings, or no variation)';
  if (a >= 0.8) return 'reliable (α ≥ 0.8)';
  if (a >= 0.667) return 'tentative (0.667 ≤ α < 0.8)';
  return 'unreliable (α < 0.667): raters do not agree on what this score means';
}

/** A mean offset as a bar either side of zero (the others' mean), ±100 at the ends. */
function OffsetBar({ offset }: { offset: number | null }) {
  if (offset === null) return <span className="muted">–</span>;
  const w = Math.min(50, (Math.abs(offset) / 100) * 50 * 4);
  return (
    <span className="offset">
      <span className="offset-track" aria-hidden="true">
        <span className={`offset-bar ${offset < 0 ? 'neg' : 'pos'}`} style={offset < 0 ? { right: '50%', width: `${w}%` } : { left: '50%', width: `${w}%` }} />
      </span>
      <span className="num">{offset > 0 ? '+' : ''}{fmtNum(offset)}</span>
    </span>
  );
}

function AdjudicateForm({ queue, dispute, schema, onDone }: { queue: Queue; dispute: Dispute; schema: ScoreSchema | undefined; onDone: (msg: string) => void }) {
  const [value, setValue] = useState<number | null>(labelsOf(schema) ? null : (dispute.score ?? startValue(schema)));
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="adjudicate"
      aria-label={`Adjudicate request ${dispute.request_id}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if (value === null) return setError('pick a label');
        try {
          const label = labelFor(schema, value);
          const r = await adjudicate(queue.id, dispute.request_id, { ...(labelsOf(schema) ? { label } : { score: value }), ...(comment.trim() ? { comment: comment.trim() } : {}) });
          onDone(`Adjudicated request ${dispute.request_id}: ${queue.score_name} = ${r.label ?? label ?? r.new_value} (score ${r.new_value})`);
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <ScoreControl name={`Final ${queue.score_name}`} schema={schema} value={value} onChange={setValue} />
      <input aria-label={`Adjudication comment for request ${dispute.request_id}`} placeholder="why (optional)" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={4096} />
      <button type="submit" className="primary">
        Adjudicate
      </button>
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
    </form>
  );
}

/**
 * Agreement of a queue's raters: Krippendorff's alpha with its bootstrap interval, each rater's
 * items, mean offset from the others and own alpha, and the disputed items (largest spread first),
 * each with a form to adjudicate it.
 */
export function AgreementPage() {
  const loc = useLocation();
  const [queues, setQueues] = useState<Queue[] | null>(null);
  const [agreement, setAgreement] = useState<Agreement | null>(null);
  const [disputes, setDisputes] = useState<Dispute[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  const { schemas } = useScoreNames();
  const { members, keys } = useActors();
  useEffect(() => {
    listQueues().then(setQueues, (e: Error) => (setError(e.message), setQueues([])));
  }, []);
  const queueId = Number(loc.query.get('queue') ?? queues?.[0]?.id ?? NaN);
  const queue = queues?.find((q) => q.id === queueId) ?? null;
  const schema = queue ? schemas.get(queue.score_name) : undefined;
  const load = useCallback(() => {
    if (!Number.isInteger(queueId)) return;
    setError(null);
    queueAgreement(queueId).then((r) => setAgreement(r.agreement), (e: Error) => setError(e.message));
    listDisputes(queueId).then(setDisputes, (e: Error) => setError(e.message));
  }, [queueId]);
  useEffect(load, [load, n]);

  const a = agreement;
  return (
    <div className="page agreement-page">
      <div className="page-head">
        <h1>Agreement</h1>
        <div className="head-actions">
          <label>
            Queue
            <select value={Number.isInteger(queueId) ? queueId : ''} onChange={(e) => navigate(`/agreement?queue=${e.target.value}`)} disabled={!queues?.length}>
              {(queues ?? []).map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name} ({q.score_name})
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      {queues?.length === 0 && (
        <p>
          No queues yet: agreement is measured over a queue’s raters. <Link to="/queues">Make one</Link>.
        </p>
      )}
      {status && (
        <p role="status" className="status">
          {status}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {a && queue && (
        <>
          <section className="card summary" aria-label="Alpha">
            <div className="stat">
              <div className="stat-label">Krippendorff’s α ({a.metric})</div>
              <div className="stat-value" data-testid="alpha">
                {a.alpha === null ? '–' : a.alpha.toFixed(3)}
              </div>
            </div>
            <div className="stat">
              <div className="stat-label">{a.interval ? `${Math.round(a.interval.level * 100)}% interval` : 'Interval'}</div>
              <div className="stat-value" data-testid="alpha-interval">
                {a.interval ? `[${a.interval.low.toFixed(3)}, ${a.interval.high.toFixed(3)}]` : '–'}
              </div>
            </div>
            <div className="stat">
              <div className="stat-label">Items rated by 2+</div>
              <div className="stat-value">{a.items_pairable}</div>
            </div>
            <div className="stat">
              <div className="stat-label">Items rated</div>
              <div className="stat-value">{a.items_rated}</div>
            </div>
            <p className="alpha-reading">{alphaReading(a.alpha)}</p>
          </section>
          <section className="card" aria-label="Raters">
            <h2>Raters</h2>
            {a.raters.length === 0 ? (
              <p className="muted">No ratings yet.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Rater</th>
                    <th scope="col" className="num">
                      Items
                    </th>
                    <th scope="col" className="num">
                      Shared
                    </th>
                    <th scope="col">Mean offset from the others</th>
                    <th scope="col" className="num">
                      α against the rest
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {a.raters.map((r) => (
                    <tr key={r.rater} data-rater={r.rater}>
                      <td>{raterLabel(r.rater, members, keys)}</td>
                      <td className="num">{r.items}</td>
                      <td className="num">{r.shared_items}</td>
                      <td>
                        <OffsetBar offset={r.mean_offset} />
                      </td>
                      <td className="num">{r.alpha === null ? '–' : r.alpha.toFixed(3)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card" aria-label="Disputes">
            <h2>Disputes</h2>
            {schema?.aggregate !== 'adjudicated' && (
              <p className="note">
                {schema ? `The schema of ${queue.score_name} aggregates by ${schema.aggregate}` : `${queue.score_name} has no schema (the latest rating is the score)`}: an adjudication
                overrides that for its item, and later ratings are recorded without moving the score until the score is deleted.{' '}
                <Link to={`/score-schemas?name=${encodeURIComponent(queue.score_name)}`}>See the schema</Link>.
              </p>
            )}
            {disputes === null ? (
              <p className="muted">Loading…</p>
            ) : disputes.length === 0 ? (
              <p className="muted">No disputed items: every item’s raters agree.</p>
            ) : (
              <table className="disputes">
                <thead>
                  <tr>
                    <th scope="col">Request</th>
                    <th scope="col" className="num">
                      Spread
                    </th>
                    <th scope="col">Ratings</th>
                    <th scope="col">Score</th>
                    <th scope="col">Adjudicate</th>
                  </tr>
                </thead>
                <tbody>
                  {disputes.map((d) => (
                    <tr key={d.request_id} data-request-id={d.request_id}>
                      <td>
                        <Link to={`/requests/${d.request_id}`}>{d.request_id}</Link>
                      </td>
                      <td className="num">{d.spread}</td>
                      <td>
                        {d.ratings.map((r) => (
                          <div key={r.rater} className="dispute-rating">
                            {raterLabel(r.rater, members, keys)}: <strong>{r.label ?? labelFor(schema, r.value) ?? r.value}</strong>
                            {r.comment ? <span className="muted"> · {r.comment}</span> : null}
                          </div>
                        ))}
                      </td>
                      <td className="nowrap">{d.score === null ? '–' : (labelFor(schema, d.score) ?? d.score)}</td>
                      <td>
                        <AdjudicateForm
                          queue={queue}
                          dispute={d}
                          schema={schema}
                          onDone={(msg) => {
                            setStatus(msg);
                            setN((x) => x + 1);
                          }}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </div>
  );
}
