import { forwardRef, useId } from 'react';

const clamp = (n: number, lo = 0, hi = 100) => Math.max(lo, Math.min(hi, Math.round(n)));

/**
 * An integer 0..100 slider with a number field beside it, both labelled. The range input is
 * natively focusable, moves by arrow keys (±1) and Page Up/Down (±10), and exposes aria-valuenow.
 * `min` / `max` narrow the range (a numeric score schema's), 0..100 by default.
 */
export const ScoreSlider = forwardRef<HTMLInputElement, { label: string; value: number; onChange: (v: number) => void; onEnter?: () => void; min?: number; max?: number }>(
  function ScoreSlider({ label, value, onChange, onEnter, min = 0, max = 100 }, ref) {
    const id = useId();
    return (
      <div className="score-slider">
        <label htmlFor={`${id}-range`}>{label}</label>
        <input
          ref={ref}
          id={`${id}-range`}
          type="range"
          min={min}
          max={max}
          step={1}
          value={value}
          aria-valuemin={min}
          aria-valuemax={max}
          aria-valuenow={value}
          aria-label={`${label} score`}
          onChange={(e) => onChange(clamp(Number(e.target.value), min, max))}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && onEnter) {
              e.preventDefault();
              onEnter();
            }
          }}
        />
        <input
          type="number"
          min={min}
          max={max}
          step={1}
          value={value}
          aria-label={`${label} value`}
          className="score-number"
          onChange={(e) => e.target.value !== '' && onChange(clamp(Number(e.target.value), min, max))}
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
