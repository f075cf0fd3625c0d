import { CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, type DatabaseConnection, type Dialect, type Driver, type QueryResult } from 'kysely';
import type { Worker } from 'node:worker_threads';
import { receiveError, spawnModule } from '../../threads.js';
import { DatabaseUnavailableError } from '../database-errors.js';
import { currentRead, DEFAULT_READ_TIMEOUT_MS, onAbort, ReadCancelledError } from '../read-scope.js';
import { readTimedOut } from './read-deadline.js';
import type { FromReader, ToReader } from './reader-thread.js';
import { rowConstructor } from './statement-cache.js';

export interface ReaderPoolOptions {
  file: string;
  /** Reader threads; default 2. */
  threads?: number;
  /**
   * How long one read may take, all its statements and their waits for a thread included (a read
   * is what the store ran under readFor; a statement outside one has the time to itself); default
   * 15000 ms.
   */
  timeoutMs?: number;
}

const DEFAULT_THREADS = 2;

/**
 * A statement normally stops itself at its deadline (read-deadline.ts). One that does not within
 * this margin (SQLite busy in a step that examines no row) is answered as timed out anyway, and its
 * thread is replaced: the old one ends as soon as the statement returns.
 */
const STUCK_MARGIN_MS = 1000;

interface Job {
  msg: ToReader;
  workspace: number | undefined;
  resolve(r: { rows: unknown[][]; columns: string[] }): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
  /** Stops listening for the read's client going away. */
  unlisten(): void;
}

interface Reader {
  worker: Worker;
  job: Job | null;
  /** Shared with the thread: the id of a job to stop (read-deadline.ts). */
  cancelWord: Int32Array;
}

/**
 * SQLite reads off the event loop: a few reader threads (reader-thread.ts), each with a read-only
 * connection of its own, run the statements of searches, exports' counts, statistics and request
 * reads. Each read has a deadline, which stops its statement on the thread. No workspace may occupy every thread: one holds at most
 * all threads but one, so another workspace's read always finds a thread however many slow reads
 * the first keeps sending (they wait for its own threads instead, up to their deadline). A read
 * whose client goes away leaves the queue, or is stopped on its thread by `tally_alive()`.
 */
export class ReaderPool {
  private readonly readers: Reader[] = [];
  private readonly waiting: Job[] = [];
  private readonly threads: number;
  readonly timeoutMs: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: ReaderPoolOptions) {
    this.threads = Math.max(1, opts.threads ?? DEFAULT_THREADS);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  }

  run(sql: string, parameters: readonly unknown[]): Promise<{ rows: unknown[][]; columns: string[] }> {
    if (this.closed) return Promise.reject(new DatabaseUnavailableError('the store is closed', 'CLOSED'));
    // Every thread starts at the first read, so that no later read waits for one to start.
    while (this.readers.length < this.threads) this.spawn();
    return new Promise((resolve, reject) => {
      const limitMs = this.timeoutMs;
      const read = currentRead();
      const deadline = (read?.startedAt ?? Date.now()) + limitMs;
      const msg: ToReader = { id: this.nextId++, sql, parameters, deadline, limitMs };
      const job: Job = { msg, workspace: read?.workspace, resolve, reject, timer: setTimeout(() => this.expire(job), Math.max(0, deadline - Date.now()) + STUCK_MARGIN_MS), unlisten: () => {} };
      this.waiting.push(job);
      job.unlisten = onAbort(read?.signal, () => this.cancel(job));
      this.dispatch();
    });
  }

  private spawn(): Reader {
    const cancelWord = new SharedArrayBuffer(4);
    const worker = spawnModule(import.meta.url, 'reader-thread', { workerData: { file: this.opts.file, cancelWord } });
    worker.unref();
    const reader: Reader = { worker, job: null, cancelWord: new Int32Array(cancelWord) };
    worker.on('message', (msg: FromReader) => {
      const job = reader.job;
      if (!job || job.msg.id !== msg.id) return;
      this.finish(reader, job);
      if ('failed' in msg) job.reject(receiveError(msg.failed));
      else job.resolve({ rows: msg.rows, columns: msg.columns });
    });
    const die = (why: string) => {
      const i = this.readers.indexOf(reader);
      if (i < 0) return;
      this.readers.splice(i, 1);
      const job = reader.job;
      if (job) {
        reader.job = null;
        clearTimeout(job.timer);
        job.unlisten();
        job.reject(new DatabaseUnavailableError(`a reader thread stopped (${why})`, 'READER_THREAD'));
      }
      this.dispatch();
    };
    worker.on('error', (err) => die(err.message));
    worker.on('exit', (code) => die(`exit code ${code}`));
    this.readers.push(reader);
    return reader;
  }

  private finish(reader: Reader, job: Job): void {
    clearTimeout(job.timer);
    job.unlisten();
    reader.job = null;
    reader.worker.unref();
    this.dispatch();
  }

  private running(workspace: number | undefined): number {
    if (workspace === undefined) return 0;
    return this.readers.filter((r) => r.job?.workspace === workspace).length;
  }

  private dispatch(): void {
    if (this.closed) return;
    const perWorkspace = Math.max(1, this.threads - 1);
    for (let i = 0; i < this.waiting.length; ) {
      const job = this.waiting[i]!;
      if (this.running(job.workspace) >= perWorkspace) {
        i++;
        continue;
      }
      let reader = this.readers.find((r) => r.job === null);
      if (!reader && this.readers.length < this.threads) reader = this.spawn();
      if (!reader) return;
      this.waiting.splice(i, 1);
      reader.job = job;
      reader.worker.ref();
      reader.worker.postMessage(job.msg);
    }
  }

  /**
   * Nobody waits for the job any more: one still queued leaves the queue at once; a running one is
   * stopped by its thread's `tally_alive()` at the next row it examines, and answers then (so its
   * thread is free again only when SQLite has let go of the statement).
   */
  private cancel(job: Job): void {
    const queued = this.waiting.indexOf(job);
    if (queued >= 0) {
      this.waiting.splice(queued, 1);
      clearTimeout(job.timer);
      job.reject(new ReadCancelledError());
      return;
    }
    const reader = this.readers.find((r) => r.job === job);
    if (reader) Atomics.store(reader.cancelWord, 0, job.msg.id);
  }

  /** The deadline plus the margin has passed: the job answers as timed out, wherever it is. */
  private expire(job: Job): void {
    job.unlisten();
    const queued = this.waiting.indexOf(job);
    if (queued >= 0) this.waiting.splice(queued, 1);
    const reader = this.readers.find((r) => r.job === job);
    if (reader) {
      // Stuck past its own deadline: replace the thread (terminate takes effect when SQLite returns).
      this.readers.splice(this.readers.indexOf(reader), 1);
      reader.job = null;
      void reader.worker.terminate();
    }
    job.reject(readTimedOut(job.msg.limitMs));
    this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new DatabaseUnavailableError('the store is closed', 'CLOSED');
    for (const job of this.waiting.splice(0)) {
      clearTimeout(job.timer);
      job.unlisten();
      job.reject(err);
    }
    await Promise.all(this.readers.splice(0).map((r) => r.worker.terminate()));
  }
}

class ReaderConnection implements DatabaseConnection {
  private readonly shapes = new Map<string, (row: unknown[]) => Record<string, unknown>>();

  constructor(private readonly pool: ReaderPool) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { rows, columns } = await this.pool.run(query.sql, query.parameters);
    const key = columns.join('\u0000');
    let toRow = this.shapes.get(key);
    if (!toRow) {
      toRow = rowConstructor(columns);
      if (this.shapes.size > 256) this.shapes.clear();
      this.shapes.set(key, toRow);
    }
    return { rows: rows.map(toRow) as R[] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('reader threads do not stream');
  }
}

const readOnly = (): never => {
  throw new Error('reader threads only read');
};

/** A Kysely dialect whose queries run on the pool's threads (reads only, no transactions). */
export function readerDialect(pool: ReaderPool): Dialect {
  const connection = new ReaderConnection(pool);
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => readOnly(),
    commitTransaction: async () => readOnly(),
    rollbackTransaction: async () => readOnly(),
    releaseConnection: async () => {},
    destroy: () => pool.close(),
  };
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
}
