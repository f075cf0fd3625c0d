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
 * The write path: handlers enqueue commands, the queue hands every pending command to the store as
 * one batch (one transaction, one fsync: store/write-commands.ts), then each handler answers.
 * Nothing resolves before its transaction has committed, so an answered write is durable. While
 * one batch commits, the next one gathers (group commit).
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

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
      // Start on the next turn of the event loop so writes arriving together share a transaction.
      this.running ??= new Promise<void>((done) => setImmediate(() => void this.drain().then(done)));
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.opts.maxBatch);
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
    this.running = null;
  }

  /** Refuses new writes and resolves once everything queued has been committed or rejected. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }
}
