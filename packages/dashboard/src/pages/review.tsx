import { useEffect, useRef, useState } from 'react';
import { api, matchingIds, setScore, type RequestDetail } from '../api.js';
import { ScoreSlider } from '../components/score-slider.js';
import { filterOnly } from '../filters.js';
import { Link, useLocation } from '../router.js';
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
  const [request, setRequest] = useState<RequestDetail | null>(null);
  const [value, setValue] = useState(50);
  const [scored, setScored] = useState(0);
  const [status, setStatus] = useState<string | null>(null);
  const slider = useRef<HTMLInputElement>(null);

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
  useEffect(() => {
    // Until the next request is loaded nothing is shown, so no key press can score a stale one.
    setRequest(null);
    if (currentId === undefined) return;
    let live = true;
    api<{ request: RequestDetail }>('GET', `/v1/requests/${currentId}`).then((r) => {
      if (!live) return;
      setRequest(r.request);
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

  const saveAndNext = async () => {
    if (currentId === undefined) return;
    try {
      await setScore(currentId, name, value);
      setScored((n) => n + 1);
      setStatus(`Saved ${name} = ${value} on request ${currentId}`);
      setIndex((i) => i + 1);
    } catch (e) {
      setStatus(`Not saved: ${(e as Error).message}`);
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
      <p className="hint">
        Scoring <strong>{name}</strong> for {given.toString() ? 'the filtered requests' : `requests with no “${name}” score`}. Keys: <kbd>j</kbd> next, <kbd>k</kbd> previous, <kbd>s</kbd> focus the slider,{' '}
        <kbd>←</kbd>/<kbd>→</kbd> move it, <kbd>Enter</kbd> save and next.
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
          </div>
          {status && <p className="status">{status}</p>}
          <RequestDetailView request={request} />
        </>
      )}
    </div>
  );
}
