import { useEffect, useRef, useState } from 'react';
import { api, matchingIds, type RequestDetail } from '../api.js';
import { useActors } from '../components/actors.js';
import { RatingExtras, RatingsList, Rubric, ScoreControl, startValue } from '../components/score-control.js';
import { labelFor, labelsOf, rate, useScoreNames } from '../score-schemas.js';
import { filterOnly } from '../filters.js';
import { Link, navigate, useLocation } from '../router.js';
import { RequestDetailView } from './request-page.js';

// A sitting walks a snapshot of the filtered list; scoring does not reshuffle it.
const SNAPSHOT_MAX = 2000;

function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !['range', 'checkbox', 'radio', 'button'].includes(target.type);
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement || target.isContentEditable;
}

/**
 * Review mode: one request at a time, keyboard only. j / k: next / previous; s: focus the slider;
 * arrow keys move it (Page Up/Down by 10); under a schema with labels, 1-9 pick a label; Enter
 * saves and goes to the next.
 */
export function ReviewPage() {
  const loc = useLocation();
  const name = loc.query.get('name') || 'default';
  const given = filterOnly(loc.query);
  const filter = given.toString() ? given : new URLSearchParams([['no_score', name]]);
  const filterKey = filter.toString();

  const [ids, setIds] = useState<number[] | null>(null);
  // False while later pages of the snapshot are still being read (the first is shown meanwhile).
  const [complete, setComplete] = useState(false);
  const [index, setIndex] = useState(0);
  const [loaded, setLoaded] = useState<{ request: RequestDetail; name: string } | null>(null);
  const [value, setValue] = useState<number | null>(50);
  const [comment, setComment] = useState('');
  const [reasons, setReasons] = useState<string[]>([]);
  const [scored, setScored] = useState(0);
  const [status, setStatus] = useState<string | null>(null);
  const { schemas, names } = useScoreNames();
  const { members, keys } = useActors();
  const schema = schemas.get(name);
  const labels = labelsOf(schema);
  const schemaKey = schema ? `${schema.name}:${schema.version}` : '';
  const slider = useRef<HTMLInputElement>(null);

  // The workspace's score names (with a schema or in use), and the one being reviewed even before it has any score.
  const nameChoices = [...new Set([name, ...names])].sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
  const pickName = (next: string) => {
    const q = new URLSearchParams(loc.query);
    q.set('name', next);
    setStatus(null);
    navigate(`/review?${q}`);
  };

  useEffect(() => {
    let live = true;
    const stop = new AbortController();
    setIds(null);
    setComplete(false);
    setIndex(0);
    (async () => {
      // The first page starts the sitting; later pages only extend the list after it.
      // Once the page is left, the walk stops: its reads would queue before the next page's.
      const out = await matchingIds(filter, SNAPSHOT_MAX, (soFar) => (live && setIds(soFar), live), stop.signal);
      if (live) {
        setIds(out);
        setComplete(true);
      }
    })().catch((e: Error) => live && (setStatus(e.message), setIds((x) => x ?? []), setComplete(true)));
    return () => {
      live = false;
      stop.abort();
    };
  }, [filterKey]);

  const currentId = ids?.[index];
  // Only the request the progress line names is ever shown. Clearing the old one in the effect below
  // is not enough: between a move's render and that effect, the page would show "Request 3 of 9"
  // over request 2 for a frame, and an Enter there would save request 2's slider value on request 3.
  // (The same holds for the slider's value across a change of the score under review.)
  const request = loaded !== null && loaded.request.id === currentId && loaded.name === name ? loaded.request : null;
  useEffect(() => {
    // Until the next request is loaded nothing is shown, so no key press can score a stale one.
    setLoaded(null);
    if (currentId === undefined) return;
    let live = true;
    const stop = new AbortController();
    api<{ request: RequestDetail }>('GET', `/v1/requests/${currentId}`, undefined, stop.signal).then((r) => {
      if (!live) return;
      setLoaded({ request: r.request, name });
      setValue(r.request.scores[name] ?? startValue(schema));
      setComment('');
      setReasons([]);
      // An aborted read (the request moved on) answers nothing to show.
    }, () => undefined);
    return () => {
      live = false;
      stop.abort();
    };
  }, [currentId, name, schemaKey]);

  const move = (delta: number) => {
    if (!ids) return;
    setStatus(null);
    setIndex((i) => Math.max(0, Math.min(ids.length, i + delta)));
  };

  // One save at a time: a second Enter while the first is in flight would save the same request again
  // and then skip the next one.
  const saving = useRef(false);
  const saveAndNext = async () => {
    if (request === null || saving.current) return;
    const id = request.id;
    if (value === null) return setStatus(`Not saved: pick a label (keys 1-${Math.min(9, labels?.length ?? 9)})`);
    const need = schema?.comment_required_below;
    if (need != null && value < need && !comment.trim()) return setStatus(`Not saved: a comment is required below ${need}`);
    const label = labelFor(schema, value);
    saving.current = true;
    try {
      await rate(id, name, { ...(labels ? { label: label! } : { score: value }), comment, reasons });
      setScored((n) => n + 1);
      setStatus(`Saved ${name} = ${label === null ? value : `${label} (${value})`} on request ${id}`);
      setIndex((i) => i + 1);
    } catch (e) {
      setStatus(`Not saved: ${(e as Error).message}`);
    } finally {
      saving.current = false;
    }
  };

  // Latest handlers for the one window listener.
  const pickLabel = (i: number) => {
    const l = labels?.[i];
    if (l) setValue(l.value);
  };
  const handlers = useRef({ move, saveAndNext, pickLabel });
  handlers.current = { move, saveAndNext, pickLabel };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
      if (e.key === 'j') handlers.current.move(1);
      else if (e.key === 'k') handlers.current.move(-1);
      else if (/^[1-9]$/.test(e.key)) handlers.current.pickLabel(Number(e.key) - 1);
      else if (e.key === 's') {
        e.preventDefault();
        slider.current?.focus();
      } else if (e.key === 'Enter' && e.target === document.body) {
        // On the slider itself, its own Enter handler saves (once).
        e.preventDefault();
        void handlers.current.saveAndNext();
      } else return;
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const total = ids?.length ?? 0;
  const done = ids !== null && complete && index >= total;
  return (
    <div className="page review">
      <div className="page-head">
        <h1>Review</h1>
        <p className="progress" role="status" aria-live="polite">
          {ids === null || (!complete && index >= total) ? 'Loading…' : done ? `Done: ${total} of ${total}` : `Request ${index + 1} of ${total}${complete ? '' : '+'}`} · {scored} scored this sitting
        </p>
      </div>
      <div className="review-pick">
        <label>
          Score to review
          <select value={name} onChange={(e) => pickName(e.target.value)} name="review-name">
            {nameChoices.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="hint">
        Scoring <strong>{name}</strong> for {given.toString() ? 'the filtered requests' : `requests with no “${name}” score`}. Keys: <kbd>j</kbd> next, <kbd>k</kbd> previous,{' '}
        {labels ? (
          <>
            <kbd>1</kbd>–<kbd>{Math.min(9, labels.length)}</kbd> pick a label,
          </>
        ) : (
          <>
            <kbd>s</kbd> focus the slider, <kbd>←</kbd>/<kbd>→</kbd> move it,
          </>
        )}{' '}
        <kbd>Enter</kbd> save and next.
      </p>
      <p className="status review-status" role="status" aria-live="polite" data-testid="review-status">
        {status ?? '\u00a0'}
      </p>
      {done && (
        <p>
          Nothing left to review here. <Link to="/requests">Back to the request log</Link>
        </p>
      )}
      {request && !done && (
        <>
          <div className="review-bar">
            <div className="review-control">
              <ScoreControl ref={slider} name={name} schema={schema} value={value} onChange={setValue} onEnter={saveAndNext} keyHints />
              <RatingExtras name={name} schema={schema} value={value} comment={comment} onComment={setComment} reasons={reasons} onReasons={setReasons} />
            </div>
            <button type="button" className="primary" onClick={saveAndNext}>
              Save and next
            </button>
            <Link to={`/requests/${request.id}`}>Open request {request.id}</Link>
            <div className="current-scores" aria-label="Current scores">
              <span className="stat-label">Current scores</span>
              <div>
                {Object.keys(request.scores).length === 0 ? (
                  <span className="muted">none yet</span>
                ) : (
                  Object.entries(request.scores)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([n, v]) => (
                      <span key={n} className={`score-chip${n === name ? ' current' : ''}`} data-score-chip={n}>
                        {n} <strong>{request.score_details?.[n]?.label ?? labelFor(schemas.get(n), v) ?? v}</strong>
                      </span>
                    ))
                )}
              </div>
            </div>
          </div>
          <Rubric schema={schema} open />
          <RatingsList name={name} ratings={request.score_details?.[name]?.ratings ?? []} schema={schema} members={members} keys={keys} />
          <RequestDetailView request={request} />
        </>
      )}
    </div>
  );
}
