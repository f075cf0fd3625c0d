import { TallyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import type { ResultOf, WriteCommand } from '../store/write-commands.js';

interface Pending {
  command: WriteCommand;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export interface WriteQueueOptions {
  /** Most writes committed in one transaction. */
  maxBatch: number;
  /** Writes waiting beyond this are refused with 503 and Retry-After rather than queued. */
  maxPending: number;
  /** Called with the size of every batch as it starts to commit (metrics). */
  onBatch?: (size: number) => void;
}

/**
 * The write path: handlers enqueue commands, the queue hands pending commands to the store as
 * batches (one transaction and one fsync each: store/write-commands.ts), then each handler answers.
 * Nothing resolves before its transaction has committed, so an answered write is durable. Two
 * batches may be in flight: while one commits, the next is already with the store, ready to begin
 * the moment the first is done, and the commands arriving meanwhile gather into the batch after.
 * The store commits batches in the order they were handed over (SQLite: one writer thread taking
 * them in turn; PostgreSQL: an advisory lock taken in order).
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private whenIdle: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly opts: WriteQueueOptions,
  ) {}

  get depth(): number {
    return this.pending.length;
  }

  submit<C extends WriteCommand>(command: C): Promise<ResultOf<C>> {
    if (this.closed) return Promise.reject(new TallyError('unavailable', 'server is shutting down; retry shortly', { retryAfter: 1 }));
    if (this.pending.length >= this.opts.maxPending) {
      return Promise.reject(new TallyError('unavailable', 'write queue is full; retry shortly', { retryAfter: 1 }));
    }
    return new Promise<ResultOf<C>>((resolve, reject) => {
      this.pending.push({ command, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Sends a batch on the next turn of the event loop, so writes arriving together share it. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.opts.maxBatch);
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.schedule();
        if (this.inFlight === 0 && this.pending.length === 0) for (const done of this.whenIdle.splice(0)) done();
      });
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    this.opts.onBatch?.(batch.length);
    try {
      const outcomes = await this.store.writeBatch(batch.map((p) => p.command));
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** Refuses new writes and resolves once everything queued has been committed or rejected. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.pending.length === 0) return;
    await new Promise<void>((resolve) => this.whenIdle.push(resolve));
  }
}

/** Batches handed to the store at once: one committing, one ready to begin. */
const MAX_IN_FLIGHT = 2;
