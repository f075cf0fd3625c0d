import { useCallback, useEffect, useState } from 'react';
import { useActors } from '../components/actors.js';
import { raterLabel, ScoreControl, startValue } from '../components/score-control.js';
import { ScoreNamePicker } from '../components/score-control.js';
import { filterOnly } from '../filters.js';
import { fmtNum } from '../format.js';
import { Link, navigate, useLocation, type Location } from '../router.js';
import {
  adjudicate,
  disputes as listDisputes,
  filterNodeFromQuery,
  listQueues,
  queueAgreement,
  queueFromDisagreements,
  scoreAgreement,
  type AgreementResult,
  type ComparisonResult,
  type Dispute,
  type ReviewQueue,
  type ScoresAgreement,
} from '../review-queues.js';
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

function AdjudicateForm({ queue, dispute, schema, onDone }: { queue: ReviewQueue; dispute: Dispute; schema: ScoreSchema | undefined; onDone: (msg: string) => void }) {
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

/** Alpha, its interval and the per-rater figures of one agreement reply. */
function AgreementView({ a, members, keys }: { a: AgreementResult; members: ReturnType<typeof useActors>['members']; keys: ReturnType<typeof useActors>['keys'] }) {
  return (
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
    </>
  );
}

/**
 * Agreement of a queue's raters: Krippendorff's alpha with its bootstrap interval, each rater's
 * items, mean offset from the others and own alpha, and the disputed items (largest spread first),
 * each with a form to adjudicate it.
 */
export function AgreementPage() {
  const loc = useLocation();
  const byName = loc.query.has('name');
  const [queues, setQueues] = useState<ReviewQueue[] | null>(null);
  const [agreement, setAgreement] = useState<AgreementResult | null>(null);
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
    if (byName || !Number.isInteger(queueId)) return;
    setError(null);
    queueAgreement(queueId).then((r) => setAgreement(r.agreement), (e: Error) => setError(e.message));
    listDisputes(queueId).then(setDisputes, (e: Error) => setError(e.message));
  }, [queueId, byName]);
  useEffect(load, [load, n]);

  if (byName) return <NameAgreement loc={loc} />;
  const a = agreement;
  return (
    <div className="page agreement-page">
      <div className="page-head">
        <h1>Agreement</h1>
        <div className="head-actions">
          <ModeSwitch byName={false} />
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
          No queues yet: <Link to="/queues">make one</Link>, or see the agreement of <Link to="/agreement?name=default">a score name over a filter</Link>.
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
          <AgreementView a={a} members={members} keys={keys} />
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

/** Between a queue's raters and every rater of a score name over a request-log filter. */
function ModeSwitch({ byName }: { byName: boolean }) {
  return (
    <label>
      Agreement of
      <select value={byName ? 'name' : 'queue'} onChange={(e) => navigate(e.target.value === 'name' ? '/agreement?name=default' : '/agreement')}>
        <option value="queue">a queue’s raters</option>
        <option value="name">a score name over a filter</option>
      </select>
    </label>
  );
}

/** A value as its schema label with the number, or the number alone. */
const shown = (schema: ScoreSchema | undefined, v: number, label?: string | null) => {
  const l = label ?? labelFor(schema, v);
  return l ? `${l} (${fmtNum(v)})` : fmtNum(v);
};

/** counts[i][j]: items people rated values[i] and the automatic raters values[j]; the diagonal is where they agree. */
function ConfusionMatrix({ c, schema }: { c: NonNullable<ComparisonResult['confusion']>; schema: ScoreSchema | undefined }) {
  const head = c.values.map((v, j) => shown(schema, v, c.labels[j]));
  return (
    <table className="confusion" aria-label="Confusion matrix">
      <thead>
        <tr>
          <th scope="col">People ↓ · automatic →</th>
          {head.map((h, j) => (
            <th key={j} scope="col" className="num">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {c.counts.map((row, i) => (
          <tr key={i}>
            <th scope="row">{head[i]}</th>
            {row.map((n, j) => (
              <td key={j} className={`num${i === j ? ' agree' : n > 0 ? ' differ' : ''}`} data-humans={c.values[i]} data-automatic={c.values[j]}>
                {n}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The queue is made from the same window of requests as the comparison shown (`limit`). */
function SendToQueue({ name, filter, limit, count }: { name: string; filter: URLSearchParams; limit: number; count: number }) {
  const [queueName, setQueueName] = useState(`${name} disagreements`);
  const [raters, setRaters] = useState('1');
  const [made, setMade] = useState<ReviewQueue | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="send-queue"
      aria-label="Send the disagreements to a queue"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          setMade(await queueFromDisagreements({ name: queueName.trim(), score_name: name, filter: filterNodeFromQuery(filter), limit, raters_per_item: Number(raters) }));
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <label>
        Queue name
        <input value={queueName} onChange={(e) => setQueueName(e.target.value)} maxLength={200} required />
      </label>
      <label>
        Raters per item
        <input type="number" min={1} max={20} step={1} value={raters} onChange={(e) => setRaters(e.target.value)} />
      </label>
      <button type="submit" className="primary" disabled={count === 0}>
        Send the disagreements to a queue
      </button>
      {made && (
        <p role="status" className="status">
          Queue “{made.name}” made with {made.progress.items} items. <Link to={`/queues/${made.id}/review`}>Review it</Link> · <Link to={`/agreement?queue=${made.id}`}>its agreement</Link> ·{' '}
          <Link to="/queues">all queues</Link>
        </p>
      )}
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
    </form>
  );
}

function ComparisonView({ c, name, schema, filter, limit }: { c: ComparisonResult; name: string; schema: ScoreSchema | undefined; filter: URLSearchParams; limit: number }) {
  return (
    <section className="card" aria-label="People against automatic raters">
      <h2>People against automatic raters</h2>
      <p className="muted">
        People are dashboard users and named raters ({c.groups.humans}); automatic raters are API keys rating as themselves ({c.groups.automatic}). Several raters on one side of an item count as their{' '}
        {c.metric === 'nominal' ? 'most frequent value' : c.metric === 'ordinal' ? 'median' : 'mean'}.
      </p>
      <div className="summary">
        <div className="stat">
          <div className="stat-label">Items rated by both</div>
          <div className="stat-value">{c.items}</div>
        </div>
        <div className="stat">
          <div className="stat-label">α between them ({c.metric})</div>
          <div className="stat-value" data-testid="comparison-alpha">
            {c.alpha === null ? '–' : c.alpha.toFixed(3)}
          </div>
        </div>
        <div className="stat">
          <div className="stat-label">Mean absolute difference</div>
          <div className="stat-value" data-testid="mean-absolute-difference">
            {c.mean_absolute_difference === null ? '–' : fmtNum(c.mean_absolute_difference)}
          </div>
        </div>
        <div className="stat">
          <div className="stat-label">Disagreements</div>
          <div className="stat-value" data-testid="disagreement-count">
            {c.disagreement_count}
          </div>
        </div>
      </div>
      {c.confusion && <ConfusionMatrix c={c.confusion} schema={schema} />}
      {c.disagreements.length > 0 && (
        <table className="disagreements" aria-label="Disagreements">
          <thead>
            <tr>
              <th scope="col">Request</th>
              <th scope="col">People</th>
              <th scope="col">Automatic</th>
              <th scope="col" className="num">
                Difference
              </th>
            </tr>
          </thead>
          <tbody>
            {c.disagreements.slice(0, 50).map((d) => (
              <tr key={d.request_id} data-request-id={d.request_id}>
                <td>
                  <Link to={`/requests/${d.request_id}`}>{d.request_id}</Link>
                </td>
                <td>{shown(schema, d.humans)}</td>
                <td>{shown(schema, d.automatic)}</td>
                <td className="num">{fmtNum(d.difference)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {c.disagreements.length > 50 && <p className="muted">The first 50 of {c.disagreement_count}.</p>}
      <SendToQueue key={name} name={name} filter={filter} limit={limit} count={c.disagreement_count} />
    </section>
  );
}

/** The window sizes the page offers: its default first, the API's maximum last. */
const WINDOWS = [5_000, 20_000, 100_000];
const count = (n: number) => n.toLocaleString('en-US');

/** Which requests the figures come from: the newest scored ones, and whether older ones were left out. */
function WindowNote({ name, filtered, window: w, onWiden }: { name: string; filtered: boolean; window: ScoresAgreement['window']; onWiden: (limit: number) => void }) {
  const wider = WINDOWS.find((n) => n > w.limit);
  const matching = filtered ? ' that match the filter' : '';
  return (
    <p className="muted window-note" data-testid="agreement-window">
      {w.truncated
        ? `Based on the latest ${count(w.requests)} requests scored ${name}${matching}; older ones are left out.`
        : `Based on all ${count(w.requests)} requests scored ${name}${matching}.`}
      {w.truncated && wider !== undefined && (
        <>
          {' '}
          <button type="button" className="link" onClick={() => onWiden(wider)}>
            Use the latest {count(wider)} (slower)
          </button>
        </>
      )}
    </p>
  );
}

/**
 * Agreement of every rater of a score name over the request log's filter (`/agreement?name=N&<the
 * filter's parameters>`), and with `compare` people against automatic raters.
 */
function NameAgreement({ loc }: { loc: Location }) {
  const { schemas, names } = useScoreNames();
  const { members, keys } = useActors();
  const name = loc.query.get('name') ?? '';
  const compare = loc.query.has('compare');
  const limit = loc.query.get('limit');
  const filter = filterOnly(loc.query);
  for (const k of ['queue', 'compare', 'limit']) filter.delete(k);
  const [draft, setDraft] = useState(name);
  const [reply, setReply] = useState<ScoresAgreement | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setDraft(name), [name]);
  useEffect(() => {
    setReply(null);
    setError(null);
    if (!name.trim()) return;
    const params = new URLSearchParams([['name', name], ...filter]);
    if (compare) params.set('compare', 'humans,automatic');
    if (limit) params.set('limit', limit);
    let live = true;
    const stop = new AbortController();
    scoreAgreement(params, stop.signal).then(
      (r) => live && setReply(r),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
      stop.abort();
    };
  }, [loc.search]);
  const go = (n: string, cmp: boolean, lim = limit) =>
    navigate(`/agreement?${new URLSearchParams([['name', n], ...filter, ...(cmp ? [['compare', 'humans,automatic']] : []), ...(lim ? [['limit', lim]] : [])])}`);
  const schema = schemas.get(name);
  return (
    <div className="page agreement-page">
      <div className="page-head">
        <h1>Agreement</h1>
        <div className="head-actions">
          <ModeSwitch byName />
          <form
            className="name-form"
            aria-label="Score name"
            onSubmit={(e) => {
              e.preventDefault();
              if (draft.trim()) go(draft.trim(), compare);
            }}
          >
            <ScoreNamePicker value={draft} onChange={setDraft} names={names} />
            <button type="submit">Show</button>
          </form>
          <label className="check">
            <input type="checkbox" checked={compare} onChange={(e) => go(name, e.target.checked)} />
            People against automatic raters
          </label>
        </div>
      </div>
      <section className="card filter-card" aria-label="Filter">
        {[...filter].length === 0 ? (
          <p className="muted">No filter: every request in the workspace.</p>
        ) : (
          <ul className="filter-summary">
            {[...filter].map(([k, v], i) => (
              <li key={i}>
                <code>
                  {k}={v}
                </code>
              </li>
            ))}
          </ul>
        )}
        <p className="muted">
          Change it on the <Link to={`/requests${[...filter].length ? `?${filter}` : ''}`}>request log</Link>, then “Agreement on these”.
        </p>
      </section>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {reply && (
        <>
          <WindowNote name={name} filtered={[...filter].length > 0} window={reply.window} onWiden={(l) => go(name, compare, String(l))} />
          <AgreementView a={reply.agreement} members={members} keys={keys} />
          {reply.comparison && <ComparisonView c={reply.comparison} name={name} schema={schema} filter={filter} limit={reply.window.limit} />}
        </>
      )}
    </div>
  );
}
