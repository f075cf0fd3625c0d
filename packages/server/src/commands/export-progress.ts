/** Where progress goes: stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 24;
const count = (n: number) => n.toLocaleString('en-US');

/**
 * The progress line of `tally export` on a terminal: rows written, their rate, and a bar when the
 * total is known (`[#######.........]  41%  41,000/100,000 rows  12,345 rows/s`). It redraws at
 * most every `intervalMs` so a fast export is not slowed by its own progress, and draws nothing at
 * all when the stream is not a terminal: redirected stderr stays clean for logs.
 */
export class ExportProgress {
  readonly #out: ProgressStream;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #started: number;
  #total: number | null = null;
  #rows = 0;
  #drawnAt = -Infinity;
  #drawn = false;

  constructor(out: ProgressStream, opts: { now?: () => number; intervalMs?: number } = {}) {
    this.#out = out;
    this.#now = opts.now ?? Date.now;
    this.#intervalMs = opts.intervalMs ?? 100;
    this.#started = this.#now();
  }

  /** Whether anything is drawn (the stream is a terminal). */
  get enabled(): boolean {
    return this.#out.isTTY === true;
  }

  /** Rows the export will write, when known beforehand: adds the bar and the percentage. */
  setTotal(total: number): void {
    this.#total = total;
  }

  /** More rows written: `n`, one by default. */
  add(n = 1): void {
    if (n === 0) return;
    this.#rows += n;
    if (!this.enabled) return;
    const now = this.#now();
    if (now - this.#drawnAt >= this.#intervalMs) this.#draw(now);
  }

  get rows(): number {
    return this.#rows;
  }

  /** Draws the final state and ends the line; call once the export is complete (or has failed). */
  finish(): void {
    if (!this.enabled) return;
    this.#draw(this.#now());
    this.#out.write('\n');
  }

  /** The progress line for the current state (exposed for tests). */
  line(now = this.#now()): string {
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = `${count(Math.round(this.#rows / seconds))} rows/s`;
    if (this.#total === null || this.#total === 0) return `exported ${count(this.#rows)} rows  ${rate}`;
    const done = Math.min(this.#rows / this.#total, 1);
    const filled = Math.round(done * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
    return `${bar} ${String(Math.floor(done * 100)).padStart(3)}%  ${count(this.#rows)}/${count(this.#total)} rows  ${rate}`;
  }

  #draw(now: number): void {
    this.#drawnAt = now;
    // \r and "erase line" redraw in place; the line is cut to the terminal's width so it never wraps.
    const text = this.line(now);
    const width = this.#out.columns ?? 0;
    this.#out.write(`\r\u001b[2K${width > 1 ? text.slice(0, width - 1) : text}`);
    this.#drawn = true;
  }

  /** Whether a line was drawn at all. */
  get drawn(): boolean {
    return this.#drawn;
  }
}
