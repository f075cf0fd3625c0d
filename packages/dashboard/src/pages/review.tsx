import { useEffect, useRef, useState } from 'react';
import { api, matchingIds, setScore, type RequestDetail, type StatsEntry } from '../api.js';
import { ScoreSlider } from '../components/score-slider.js';
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
 * arrow keys move it (Page Up/Down by 10); Enter saves and goes to the next.
 */
export function ReviewPage() {
  const loc = useLocation();
  const name = loc.query.get('name') || 'default';
  const given = filterOnly(loc.query);
  const filter = given.toString() ? given : new URLSearchParams([['no_score', name]]);
  const filterKey = filter.toString();

  const [ids, setIds] = useState<number[] | null>(null);
  const [index, setIndex] = useState(0);
  const [loaded, setLoaded] = useState<{ request: RequestDetail; name: string } | null>(null);
  const [value, setValue] = useState(50);
  const [scored, setScored] = useState(0);
  const [status, setStatus] = useState<string | null>(null);
  const [names, setNames] = useState<string[]>([]);
  const slider = useRef<HTMLInputElement>(null);

  useEffect(() => {
    api<{ scores: StatsEntry[] }>('GET', '/v1/scores/stats').then(
      (r) => setNames([...new Set(r.scores.map((x) => x.name))]),
      () => setNames([]),
    );
  }, []);
  // The workspace's score names, and the one being reviewed even before it has any score.
  const nameChoices = [...new Set([name, ...names])].sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
  const pickName = (next: string) => {
    const q = new URLSearchParams(loc.query);
    q.set('name', next);
    setStatus(null);
    navigate(`/review?${q}`);
  };

  useEffect(() => {
    let live = true;
    (async () => {
      const out = await matchingIds(filter, SNAPSHOT_MAX);
      if (live) {
        setIds(out);
        setIndex(0);
      }
    })().catch((e: Error) => live && (setStatus(e.message), setIds([])));
    return () => {
      live = false;
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
    api<{ request: RequestDetail }>('GET', `/v1/requests/${currentId}`).then((r) => {
      if (!live) return;
      setLoaded({ request: r.request, name });
      setValue(r.request.scores[name] ?? 50);
    });
    return () => {
      live = false;
    };
  }, [currentId, name]);

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
    saving.current = true;
    try {
      await setScore(id, name, value);
      setScored((n) => n + 1);
      setStatus(`Saved ${name} = ${value} on request ${id}`);
      setIndex((i) => i + 1);
    } catch (e) {
      setStatus(`Not saved: ${(e as Error).message}`);
    } finally {
      saving.current = false;
    }
  };

  // Latest handlers for the one window listener.
  const handlers = useRef({ move, saveAndNext });
  handlers.current = { move, saveAndNext };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
      if (e.key === 'j') handlers.current.move(1);
      else if (e.key === 'k') handlers.current.move(-1);
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
  const done = ids !== null && index >= total;
  return (
    <div className="page review">
      <div className="page-head">
        <h1>Review</h1>
        <p className="progress" role="status" aria-live="polite">
          {ids === null ? 'Loading…' : done ? `Done: ${total} of ${total}` : `Request ${index + 1} of ${total}`} · {scored} scored this sitting
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
        Scoring <strong>{name}</strong> for {given.toString() ? 'the filtered requests' : `requests with no “${name}” score`}. Keys: <kbd>j</kbd> next, <kbd>k</kbd> previous, <kbd>s</kbd> focus the slider,{' '}
        <kbd>←</kbd>/<kbd>→</kbd> move it, <kbd>Enter</kbd> save and next.
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
            <ScoreSlider ref={slider} label={name} value={value} onChange={setValue} onEnter={saveAndNext} />
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
                        {n} <strong>{v}</strong>
                      </span>
                    ))
                )}
              </div>
            </div>
          </div>
          <RequestDetailView request={request} />
        </>
      )}
    </div>
  );
}
