import { TallyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import type { Outcome, ResultOf, WriteCommand } from '../store/write-commands.js';

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
 * batches (one transaction and one fsync each: store/group-commit.ts), then each handler answers.
 * Nothing resolves before its transaction has committed, so an answered write is durable. One batch
 * is with the store at a time, and the commands arriving while it commits gather into the next.
 * The moment a commit returns, that next batch is handed over, before any write of the committed
 * one is answered: the store never waits for the event loop to answer a batch, and a batch holds
 * everything that arrived during the whole commit before it. One batch at a time rather than two
 * in flight makes batches larger, and on PostgreSQL leaves no second connection waiting on the
 * write-order lock (store/postgres/postgres-store.ts) while holding a pool slot.
 */
export class WriteQueue {
  private pending: Pending[] = [];
  private committing = false;
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

  private get idle(): boolean {
    return !this.committing && this.pending.length === 0;
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
    if (this.scheduled || this.committing || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    if (this.committing || this.pending.length === 0) return;
    this.committing = true;
    void this.commit(this.pending.splice(0, this.opts.maxBatch));
  }

  private async commit(batch: Pending[]): Promise<void> {
    this.opts.onBatch?.(batch.length);
    let outcomes: Outcome[] | null = null;
    let failure: unknown;
    try {
      outcomes = await this.store.writeBatch(batch.map((p) => p.command));
    } catch (err) {
      failure = err;
    }
    this.committing = false;
    // The next batch first, then the answers to this one.
    this.send();
    if (outcomes === null) for (const p of batch) p.reject(failure);
    else
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
    if (this.idle) for (const done of this.whenIdle.splice(0)) done();
  }

  /** Refuses new writes and resolves once everything queued has been committed or rejected. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idle) return;
    await new Promise<void>((resolve) => this.whenIdle.push(resolve));
  }
}
