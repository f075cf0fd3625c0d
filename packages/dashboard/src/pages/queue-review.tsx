import { useCallback, useEffect, useRef, useState } from 'react';
import { useActors } from '../components/actors.js';
import { RatingExtras, RatingsList, Rubric, ScoreControl, startValue } from '../components/score-control.js';
import { Link } from '../router.js';
import { claim, getQueue, rateItem, skip, type ClaimedItem, type ReviewQueue } from '../review-queues.js';
import { labelFor, labelsOf, useScoreNames } from '../score-schemas.js';
import { RequestDetailView } from './request-page.js';

function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !['range', 'checkbox', 'radio', 'button'].includes(target.type);
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement || target.isContentEditable;
}

/**
 * Review mode over a queue: the server hands the rater their next item (claimed, held for them),
 * they rate it by keyboard (1-9 for labels, s and arrows for a slider, Enter to submit), or skip it
 * (x), and the next is claimed. In a blind queue nothing of the item's other ratings or its score
 * is shown before the rater submits: the server leaves them out of what it hands over.
 */
export function QueueReviewPage({ id }: { id: number }) {
  const [queue, setQueue] = useState<ReviewQueue | null>(null);
  const [item, setItem] = useState<ClaimedItem | null | undefined>(undefined);
  const [value, setValue] = useState<number | null>(null);
  const [comment, setComment] = useState('');
  const [reasons, setReasons] = useState<string[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const [rated, setRated] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const { schemas } = useScoreNames();
  const { members, keys } = useActors();
  const schema = queue ? schemas.get(queue.score_name) : undefined;
  const labels = labelsOf(schema);
  const slider = useRef<HTMLInputElement>(null);

  const refresh = useCallback(() => getQueue(id).then(setQueue, (e: Error) => setError(e.message)), [id]);
  const next = useCallback(async () => {
    setItem(undefined);
    try {
      const r = await claim(id);
      setItem(r.item);
      setComment('');
      setReasons([]);
    } catch (e) {
      setError((e as Error).message);
      setItem(null);
    }
    void refresh();
  }, [id, refresh]);
  useEffect(() => {
    void refresh();
    void next();
  }, [refresh, next]);
  // A fresh item (or the schema arriving) starts the control over: no label, or mid-range.
  const schemaKey = schema ? `${schema.name}:${schema.version}` : '';
  useEffect(() => setValue(startValue(schema)), [item?.request_id, schemaKey]);

  const name = queue?.score_name ?? '';
  const submit = async () => {
    if (!item || !queue) return;
    if (value === null) return setStatus(`Not saved: pick a label (keys 1-${Math.min(9, labels?.length ?? 9)})`);
    const need = schema?.comment_required_below;
    if (need != null && value < need && !comment.trim()) return setStatus(`Not saved: a comment is required below ${need}`);
    const label = labelFor(schema, value);
    try {
      const body: Record<string, unknown> = labels ? { label } : { score: value };
      if (comment.trim()) body.comment = comment.trim();
      if (reasons.length) body.reasons = reasons;
      const r = await rateItem(queue.id, item.request_id, body);
      setRated((n) => n + 1);
      setStatus(`Rated request ${item.request_id}: ${name} = ${label === null ? value : `${label} (${value})`}${r.completed ? ' · item complete' : ''}`);
      await next();
    } catch (e) {
      setStatus(`Not saved: ${(e as Error).message}`);
    }
  };
  const skipItem = async () => {
    if (!item || !queue) return;
    try {
      await skip(queue.id, item.request_id);
      setStatus(`Skipped request ${item.request_id}`);
      await next();
    } catch (e) {
      setStatus(`Not skipped: ${(e as Error).message}`);
    }
  };

  const handlers = useRef({ submit, skipItem, pick: (_: number) => {} });
  handlers.current = {
    submit,
    skipItem,
    pick: (i: number) => {
      const l = labels?.[i];
      if (l) setValue(l.value);
    },
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
      if (/^[1-9]$/.test(e.key)) handlers.current.pick(Number(e.key) - 1);
      else if (e.key === 'x') void handlers.current.skipItem();
      else if (e.key === 's') {
        e.preventDefault();
        slider.current?.focus();
      } else if (e.key === 'Enter' && e.target === document.body) {
        e.preventDefault();
        void handlers.current.submit();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const p = queue?.progress;
  const ratings = item && !item.scores_hidden ? (item.request.score_details?.[name]?.ratings ?? []) : [];
  return (
    <div className="page review queue-review">
      <div className="page-head">
        <h1>{queue ? `Queue: ${queue.name}` : 'Queue'}</h1>
        <p className="progress" role="status" aria-live="polite" data-testid="queue-progress">
          {p ? `${p.completed} of ${p.items} items complete` : 'Loading…'} · {rated} rated this sitting
        </p>
        <Link to="/queues">← Queues</Link>
      </div>
      {queue?.instructions && <p className="instructions">{queue.instructions}</p>}
      <p className="hint">
        Rating <strong>{name}</strong>
        {queue?.blind ? ' blind: other ratings stay hidden until you submit yours' : ''}. Keys:{' '}
        {labels ? (
          <>
            <kbd>1</kbd>–<kbd>{Math.min(9, labels.length)}</kbd> pick a label,
          </>
        ) : (
          <>
            <kbd>s</kbd> focus the slider, <kbd>←</kbd>/<kbd>→</kbd> move it,
          </>
        )}{' '}
        <kbd>Enter</kbd> submit and next, <kbd>x</kbd> skip.
      </p>
      <p className="status review-status" role="status" aria-live="polite" data-testid="review-status">
        {status ?? '\u00a0'}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {item === null && (
        <p className="done-note">
          Nothing left for you in this queue. <Link to="/queues">Back to the queues</Link>
        </p>
      )}
      {item === undefined && <p className="loading">Claiming the next item…</p>}
      {item && queue && (
        <>
          <div className="review-bar">
            <div className="review-control">
              <ScoreControl ref={slider} name={name} schema={schema} value={value} onChange={setValue} onEnter={submit} keyHints />
              <RatingExtras name={name} schema={schema} value={value} comment={comment} onComment={setComment} reasons={reasons} onReasons={setReasons} />
            </div>
            <button type="button" className="primary" onClick={submit}>
              Submit and next
            </button>
            <button type="button" onClick={skipItem}>
              Skip
            </button>
            <span className="muted" data-testid="item-id">
              Request {item.request_id}
            </span>
          </div>
          <Rubric schema={schema} open />
          {item.scores_hidden ? (
            <p className="muted blind-note" data-testid="blind-note">
              Blind review: the score and other ratings of {name} show once you have submitted yours.
            </p>
          ) : (
            <RatingsList name={name} ratings={ratings} schema={schema} members={members} keys={keys} />
          )}
          <RequestDetailView request={item.request} />
        </>
      )}
    </div>
  );
}
