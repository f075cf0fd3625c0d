import { TallyError } from '../domain/errors.js';
import type { Store, StoreWriter } from '../store/store.js';

export type WriteJob<T> = (w: StoreWriter) => Promise<T>;

interface Pending {
  job: WriteJob<unknown>;
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
 * The write path: handlers enqueue, the queue commits every pending write in one transaction, then
 * each handler answers. Nothing resolves before its transaction has committed, so an answered write
 * is durable. While one batch commits, the next one gathers (group commit).
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

  submit<T>(job: WriteJob<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TallyError('unavailable', 'server is shutting down; retry shortly', { retryAfter: 1 }));
    if (this.pending.length >= this.opts.maxPending) {
      return Promise.reject(new TallyError('unavailable', 'write queue is full; retry shortly', { retryAfter: 1 }));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ job, resolve: resolve as (v: unknown) => void, reject });
      // Start on the next turn of the event loop so writes arriving together share a transaction.
      this.running ??= new Promise<void>((done) => setImmediate(() => void this.drain().then(done)));
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.opts.maxBatch);
      await this.commit(batch);
    }
    this.running = null;
  }

  private async commit(batch: Pending[]): Promise<void> {
    this.opts.onBatch?.(batch.length);
    try {
      const results = await this.store.write(async (w) => {
        const out: unknown[] = [];
        for (const p of batch) out.push(await p.job(w));
        return out;
      });
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      // An outage fails every write alike: retrying each alone would only make the clients wait.
      if (batch.length === 1 || (err instanceof TallyError && err.code === 'unavailable')) {
        for (const p of batch) p.reject(err);
        return;
      }
      // The whole batch rolled back; one bad write must not fail its neighbours, so each runs alone.
      for (const p of batch) {
        try {
          p.resolve(await this.store.write(p.job));
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }

  /** Refuses new writes and resolves once everything queued has been committed or rejected. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }
}
