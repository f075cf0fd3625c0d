import { useEffect, useState } from 'react';
import { useActors } from '../components/actors.js';
import { raterLabel, ScoreNamePicker } from '../components/score-control.js';
import { filterOnly } from '../filters.js';
import { Link, navigate, useLocation } from '../router.js';
import { createQueue, filterNodeFromQuery, listQueues, type ReviewQueue } from '../review-queues.js';
import { useScoreNames } from '../score-schemas.js';

/** A labelled bar: `done` of `total`, as a native progress element with its numbers beside it. */
function Progress({ label, done, total }: { label: string; done: number; total: number }) {
  return (
    <div className="progress-row">
      <span className="progress-label" title={label}>
        {label}
      </span>
      <progress value={done} max={Math.max(total, 1)} aria-label={`${label}: ${done} of ${total}`} />
      <span className="progress-count">
        {done} / {total}
      </span>
    </div>
  );
}

/** The filter's parameters as a short readable list (the same ones the request log shows). */
function FilterSummary({ filter }: { filter: URLSearchParams }) {
  const entries = [...filter];
  if (entries.length === 0) return <p className="muted">No filter: every request in the workspace.</p>;
  return (
    <ul className="filter-summary" aria-label="Filter">
      {entries.map(([k, v], i) => (
        <li key={i}>
          <code>
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}

function NewQueueForm({ filter, onCreated }: { filter: URLSearchParams; onCreated: (q: ReviewQueue) => void }) {
  const { names } = useScoreNames();
  const [name, setName] = useState('');
  const [scoreName, setScoreName] = useState(filter.get('no_score') ?? 'default');
  const [raters, setRaters] = useState('2');
  const [blind, setBlind] = useState(true);
  const [includeNew, setIncludeNew] = useState(false);
  const [sampleKind, setSampleKind] = useState<'all' | 'count' | 'ratio'>('all');
  const [sampleValue, setSampleValue] = useState('');
  const [instructions, setInstructions] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="card queue-form"
      aria-label="New queue"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          const sample = sampleKind === 'count' ? { count: Number(sampleValue) } : sampleKind === 'ratio' ? { ratio: Number(sampleValue) } : null;
          const q = await createQueue({
            name: name.trim(),
            score_name: scoreName.trim(),
            filter: filterNodeFromQuery(filter),
            raters_per_item: Number(raters),
            blind,
            include_new: includeNew,
            ...(sample ? { sample } : {}),
            ...(instructions.trim() ? { instructions: instructions.trim() } : {}),
          });
          onCreated(q);
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <h2>New queue from the request-log filter</h2>
      <FilterSummary filter={filter} />
      <p className="muted">
        Change it on the <Link to={`/requests${filter.toString() ? `?${filter}` : ''}`}>request log</Link>, then “Queue these”.
      </p>
      <div className="form-row">
        <label>
          Queue name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} required placeholder="e.g. March sample" />
        </label>
        <ScoreNamePicker label="Score to rate" value={scoreName} onChange={setScoreName} names={names} />
        <label>
          Raters per item
          <input type="number" min={1} max={20} step={1} value={raters} onChange={(e) => setRaters(e.target.value)} />
        </label>
      </div>
      <div className="form-row">
        <label>
          Sample
          <select value={sampleKind} onChange={(e) => setSampleKind(e.target.value as 'all' | 'count' | 'ratio')}>
            <option value="all">every matching request</option>
            <option value="count">a number of them</option>
            <option value="ratio">a share of them</option>
          </select>
        </label>
        {sampleKind !== 'all' && (
          <label>
            {sampleKind === 'count' ? 'How many' : 'Share (0..1)'}
            <input type="number" min={sampleKind === 'count' ? 1 : 0} max={sampleKind === 'count' ? undefined : 1} step={sampleKind === 'count' ? 1 : 'any'} value={sampleValue} onChange={(e) => setSampleValue(e.target.value)} required />
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={blind} onChange={(e) => setBlind(e.target.checked)} />
          Blind (raters see no other rating first)
        </label>
        <label className="check">
          <input type="checkbox" checked={includeNew} onChange={(e) => setIncludeNew(e.target.checked)} />
          Add new matching requests
        </label>
      </div>
      <label className="wide">
        Instructions for raters
        <textarea rows={2} value={instructions} onChange={(e) => setInstructions(e.target.value)} maxLength={10000} />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={!name.trim() || !scoreName.trim()}>
          Create queue
        </button>
      </div>
    </form>
  );
}

function QueueCard({ queue }: { queue: ReviewQueue }) {
  const { members, keys } = useActors();
  const p = queue.progress;
  return (
    <section className="card queue-card" aria-label={`Queue ${queue.name}`} data-queue-id={queue.id}>
      <div className="queue-head">
        <h2>{queue.name}</h2>
        <span className="muted">
          rates <span className="score-name">{queue.score_name}</span> · {queue.raters_per_item} rater{queue.raters_per_item === 1 ? '' : 's'} per item
          {queue.blind ? ' · blind' : ''}
          {queue.include_new ? ' · adds new requests' : ''}
          {queue.origin === 'disagreements' ? ' · from disagreements' : ''}
        </span>
        <div className="spacer" />
        <Link to={`/queues/${queue.id}/review`} className="button primary">
          Start reviewing
        </Link>
        <Link to={`/agreement?queue=${queue.id}`} className="button">
          Agreement
        </Link>
      </div>
      <Progress label="Items completed" done={p.completed} total={p.items} />
      <p className="muted queue-counts">
        {p.items} items · {p.completed} completed · {p.in_progress} in progress · {p.pending} waiting · {p.ratings} ratings
      </p>
      {p.raters.length > 0 && (
        <div className="rater-progress" aria-label={`Raters of ${queue.name}`}>
          {p.raters.map((r) => (
            <Progress key={r.rater} label={raterLabel(r.rater, members, keys)} done={r.done} total={p.items} />
          ))}
        </div>
      )}
      {queue.instructions && <p className="instructions">{queue.instructions}</p>}
    </section>
  );
}

/**
 * Review queues: each with its progress and each rater's, and a new queue made from the request
 * log's filter (`/queues?new&<the filter's parameters>`, which the log's "Queue these" opens).
 */
export function QueuesPage() {
  const loc = useLocation();
  const creating = loc.query.has('new');
  const filter = filterOnly(loc.query);
  filter.delete('new');
  const [queues, setQueues] = useState<ReviewQueue[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    listQueues().then(setQueues, (e: Error) => (setError(e.message), setQueues([])));
  }, [n]);
  return (
    <div className="page queues-page">
      <div className="page-head">
        <h1>Review queues</h1>
        <div className="head-actions">
          {!creating && (
            <Link to="/requests" className="button">
              Pick requests on the log, then “Queue these”
            </Link>
          )}
        </div>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {creating && (
        <NewQueueForm
          filter={filter}
          onCreated={() => {
            setN((x) => x + 1);
            navigate('/queues', { replace: true });
            setError(null);
          }}
        />
      )}
      {queues === null ? (
        <p className="muted">Loading…</p>
      ) : queues.length === 0 ? (
        <p className="muted">No queues yet.</p>
      ) : (
        queues.map((q) => <QueueCard key={q.id} queue={q} />)
      )}
    </div>
  );
}
