import { useEffect, useState } from 'react';
import { deleteScore, setScore } from '../api.js';
import { ScoreSlider } from './score-slider.js';

/** One slider per named score, each saved on its own; add a new name; remove one. */
export function ScoresPanel({ requestId, scores, onChanged }: { requestId: number; scores: Record<string, number>; onChanged: () => void }) {
  const [draft, setDraft] = useState<Record<string, number>>(scores);
  const [newName, setNewName] = useState('');
  const [newValue, setNewValue] = useState(50);
  const [status, setStatus] = useState<string | null>(null);
  useEffect(() => setDraft(scores), [scores]);

  const save = async (name: string, value: number) => {
    try {
      await setScore(requestId, name, value);
      setStatus(`Saved ${name} = ${value}`);
      onChanged();
    } catch (e) {
      setStatus(`Not saved: ${(e as Error).message}`);
    }
  };

  const names = Object.keys(scores).sort();
  return (
    <section className="scores-panel" aria-label="Scores">
      <h2>Scores</h2>
      {names.length === 0 && <p className="muted">No scores yet.</p>}
      {names.map((name) => (
        <div key={name} className="score-row">
          <ScoreSlider label={name} value={draft[name] ?? scores[name]!} onChange={(v) => setDraft({ ...draft, [name]: v })} onEnter={() => save(name, draft[name] ?? scores[name]!)} />
          <button type="button" className="primary" disabled={draft[name] === scores[name]} onClick={() => save(name, draft[name] ?? scores[name]!)} aria-label={`Save ${name}`}>
            Save
          </button>
          <button
            type="button"
            aria-label={`Remove ${name}`}
            onClick={async () => {
              try {
                await deleteScore(requestId, name);
                setStatus(`Removed ${name}`);
                onChanged();
              } catch (e) {
                setStatus(`Not removed: ${(e as Error).message}`);
              }
            }}
          >
            Remove
          </button>
        </div>
      ))}
      <form
        className="add-score"
        onSubmit={async (e) => {
          e.preventDefault();
          const name = newName.trim();
          if (!name) return;
          await save(name, newValue);
          setNewName('');
        }}
      >
        <h3>Add a score</h3>
        <label>
          New score name
          <input value={newName} onChange={(e) => setNewName(e.target.value)} maxLength={512} placeholder="e.g. helpfulness" />
        </label>
        <ScoreSlider label="New score" value={newValue} onChange={setNewValue} />
        <button type="submit" disabled={!newName.trim()}>
          Add score
        </button>
      </form>
      {status && (
        <p role="status" className="status">
          {status}
        </p>
      )}
    </section>
  );
}
