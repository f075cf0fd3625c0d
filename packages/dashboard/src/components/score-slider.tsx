import { forwardRef, useId } from 'react';

const clamp = (n: number) => Math.max(0, Math.min(100, Math.round(n)));

/**
 * An integer 0..100 slider with a number field beside it, both labelled. The range input is
 * natively focusable, moves by arrow keys (±1) and Page Up/Down (±10), and exposes aria-valuenow.
 */
export const ScoreSlider = forwardRef<HTMLInputElement, { label: string; value: number; onChange: (v: number) => void; onEnter?: () => void }>(
  function ScoreSlider({ label, value, onChange, onEnter }, ref) {
    const id = useId();
    return (
      <div className="score-slider">
        <label htmlFor={`${id}-range`}>{label}</label>
        <input
          ref={ref}
          id={`${id}-range`}
          type="range"
          min={0}
          max={100}
          step={1}
          value={value}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={value}
          aria-label={`${label} score`}
          onChange={(e) => onChange(clamp(Number(e.target.value)))}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && onEnter) {
              e.preventDefault();
              onEnter();
            }
          }}
        />
        <input
          type="number"
          min={0}
          max={100}
          step={1}
          value={value}
          aria-label={`${label} value`}
          className="score-number"
          onChange={(e) => e.target.value !== '' && onChange(clamp(Number(e.target.value)))}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && onEnter) {
              e.preventDefault();
              onEnter();
            }
          }}
        />
      </div>
    );
  },
);
