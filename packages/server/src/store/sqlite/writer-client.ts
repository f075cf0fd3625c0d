import { receiveError, spawnModule, type SentError } from '../../threads.js';
import { DatabaseUnavailableError } from '../database-errors.js';
import type { BatchWriter } from '../group-commit.js';
import type { Outcome, WriteCommand } from '../write-commands.js';
import type { Synchronous } from './connection.js';
import type { ToWriter } from './writer-thread.js';

type FromWriter =
  | { type: 'opened'; store: number; failed?: SentError }
  | { type: 'batch'; id: number; outcomes?: ({ ok: true; value: unknown } | { ok: false; error: SentError })[]; failed?: SentError }
  | { type: 'closed'; store: number };

/**
 * The process's one writer thread, shared by every SQLite store the process opens (tests open
 * many). It keeps the process alive only while an answer is awaited. If it dies, everything
 * awaited fails as unavailable (nothing of it was acknowledged) and the next use starts another.
 */
class SharedWriter {
  private readonly worker = spawnModule(import.meta.url, 'writer-thread');
  private readonly waiting = new Map<string, { resolve(v: FromWriter): void; reject(err: unknown): void }>();
  dead = false;

  constructor(private readonly onDeath: () => void) {
    this.worker.unref();
    this.worker.on('message', (msg: FromWriter) => {
      const key = msg.type === 'batch' ? `batch:${msg.id}` : `${msg.type}:${msg.store}`;
      const w = this.waiting.get(key);
      if (!w) return;
      this.forget(key);
      w.resolve(msg);
    });
    const die = (why: string) => {
      if (this.dead) return;
      this.dead = true;
      this.onDeath();
      const err = new DatabaseUnavailableError(`the writer thread stopped (${why})`, 'WRITER_THREAD');
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', (err) => die(err.message));
    this.worker.on('exit', (code) => die(`exit code ${code}`));
  }

  private forget(key: string): void {
    this.waiting.delete(key);
    if (this.waiting.size === 0) this.worker.unref();
  }

  /** Sends a message and resolves with the answer filed under `key`. */
  ask(key: string, msg: ToWriter): Promise<FromWriter> {
    if (this.dead) return Promise.reject(new DatabaseUnavailableError('the writer thread stopped', 'WRITER_THREAD'));
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(key, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }
}

let shared: SharedWriter | null = null;
const writerThread = () => (shared ??= new SharedWriter(() => (shared = null)));
let nextStoreId = 1;
let nextBatchId = 1;

/**
 * One store's side of the writer thread: its connection there is opened on the first batch (or by
 * `start`), each batch is sent and resolves with the outcomes the thread reports after its commit.
 */
export class WriterConnection implements BatchWriter {
  private readonly storeId = nextStoreId++;
  private opened: { on: SharedWriter; ready: Promise<void> } | null = null;

  constructor(
    private readonly file: string,
    private readonly synchronous: Synchronous,
  ) {}

  /** Opens this store's connection on the writer thread (starting the thread if need be). */
  start(): Promise<void> {
    if (this.opened && !this.opened.on.dead) return this.opened.ready;
    const on = writerThread();
    const ready = on.ask(`opened:${this.storeId}`, { type: 'open', store: this.storeId, file: this.file, synchronous: this.synchronous }).then((msg) => {
      if (msg.type === 'opened' && msg.failed) throw receiveError(msg.failed);
    });
    // A failed open is tried again by the next batch.
    ready.catch(() => {
      if (this.opened?.ready === ready) this.opened = null;
    });
    this.opened = { on, ready };
    return ready;
  }

  /** Commits the batch on the writer thread (SqliteBatchWriter) and resolves once it has. */
  async commit(batch: readonly WriteCommand[]): Promise<Outcome[]> {
    await this.start();
    const id = nextBatchId++;
    const msg = await this.opened!.on.ask(`batch:${id}`, { type: 'batch', store: this.storeId, id, batch });
    if (msg.type !== 'batch') throw new Error(`writer thread answered ${msg.type} to a batch`);
    if (msg.failed) throw receiveError(msg.failed);
    return msg.outcomes!.map((o) => (o.ok ? o : { ok: false, error: receiveError(o.error) }));
  }

  /** Closes this store's connection on the thread, after everything sent before. */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    if (!opened || opened.on.dead) return;
    await opened.ready.catch(() => {});
    await opened.on.ask(`closed:${this.storeId}`, { type: 'close', store: this.storeId }).catch(() => {});
  }
}
