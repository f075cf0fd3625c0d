import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import type { RequestFilter, SortSpec } from '../../domain/search-query.js';
import { DatabaseUnavailableError } from '../../store/database-errors.js';
import type { Store } from '../../store/store.js';
import { receiveError } from '../../store/write-commands.js';
import { spawnModule } from '../../threads.js';
import { chunked, exportLines, type ExportFormat } from './export-lines.js';
import type { ExportJob, FromExporter, ToExporter } from './export-thread.js';

export interface ExportRequest {
  workspaceId: number;
  filter: RequestFilter | null;
  sort: SortSpec;
  format: ExportFormat;
}

/**
 * Exports on threads at once, at most; more run on the event loop. A thread takes a core while
 * its client keeps up, so more threads than cores would only take turns.
 */
export const MAX_EXPORT_THREADS = Math.max(1, availableParallelism());

/**
 * How long a finished export's thread waits for the next export. Starting one costs about 200 ms
 * (loading Kysely and the drivers), more than a small export takes.
 */
const IDLE_THREAD_MS = 60_000;

interface ExportThread {
  worker: Worker;
  /** Where the current export's messages go; null while the thread is idle. */
  onMessage: ((msg: FromExporter) => void) | null;
  /** Ends the current export as failed: the thread died. */
  onDeath: ((err: Error) => void) | null;
  idleTimer: NodeJS.Timeout | null;
}

const threads = new Set<ExportThread>();
const idle: ExportThread[] = [];

/** Export threads exporting now and waiting for an export (tests: threads are freed and reused). */
export function exportThreads(): { running: number; idle: number } {
  return { running: threads.size - idle.length, idle: idle.length };
}

function startThread(): ExportThread {
  const thread: ExportThread = { worker: spawnModule(import.meta.url, 'export-thread'), onMessage: null, onDeath: null, idleTimer: null };
  threads.add(thread);
  thread.worker.on('message', (msg: FromExporter) => thread.onMessage?.(msg));
  const die = (err: Error) => {
    if (!threads.delete(thread)) return;
    const at = idle.indexOf(thread);
    if (at >= 0) idle.splice(at, 1);
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    thread.onDeath?.(err);
  };
  thread.worker.on('error', die);
  thread.worker.on('exit', (code) => die(new DatabaseUnavailableError(`the export thread stopped (exit code ${code})`, 'EXPORT_THREAD')));
  return thread;
}

function release(thread: ExportThread): void {
  thread.onMessage = null;
  thread.onDeath = null;
  if (!threads.has(thread)) return;
  thread.worker.unref();
  idle.push(thread);
  thread.idleTimer = setTimeout(() => {
    const at = idle.indexOf(thread);
    if (at >= 0) idle.splice(at, 1);
    threads.delete(thread);
    void thread.worker.terminate();
  }, IDLE_THREAD_MS).unref();
}

/** The export formatted on the event loop, between the answers to other requests. */
async function inProcess(store: Store, req: ExportRequest): Promise<Readable> {
  const lines = await exportLines(store, req.workspaceId, req.filter, req.sort, req.format);
  return Readable.from(chunked(lines), { objectMode: false });
}

/**
 * The export read and formatted on an export thread (export-thread.ts), as a byte stream that
 * asks the thread for each next chunk when its reader wants more. Resolves once the thread's
 * first query answered, so a database outage is still refused before any byte is sent. Destroying
 * the stream (the client went away) stops the export; the thread is free once it says so.
 */
function onThread(thread: ExportThread, job: ExportJob): Promise<Readable> {
  if (thread.idleTimer) clearTimeout(thread.idleTimer);
  thread.idleTimer = null;
  thread.worker.ref();
  const post = (msg: ToExporter) => thread.worker.postMessage(msg);
  return new Promise((resolve, reject) => {
    let stream: Readable | null = null;
    let done = false;
    const finish = (err: Error | null) => {
      done = true;
      release(thread);
      if (err && stream) stream.destroy(err);
      else if (err) reject(err);
      else if (stream && !stream.destroyed) stream.push(null);
    };
    thread.onDeath = finish;
    thread.onMessage = (msg) => {
      switch (msg.type) {
        case 'ready':
          stream = new Readable({
            read: () => post({ type: 'more' }),
            destroy: (err, cb) => {
              if (!done) post({ type: 'cancel' });
              cb(err);
            },
          });
          resolve(stream);
          return;
        case 'chunk':
          if (!stream!.destroyed) stream!.push(Buffer.from(msg.bytes));
          return;
        case 'end':
          finish(null);
          return;
        case 'failed':
          finish(receiveError(msg.error));
          return;
      }
    };
    post({ type: 'export', job });
  });
}

/**
 * The export of the matching requests as a byte stream (see exportLines for its formats). It runs
 * on a thread of its own when the store can be opened there and fewer than MAX_EXPORT_THREADS
 * exports run: a million-row export then leaves the event loop free and uses a second core.
 */
export function exportStream(store: Store, req: ExportRequest): Promise<Readable> {
  if (store.readSource === null) return inProcess(store, req);
  const thread = idle.pop() ?? (threads.size < MAX_EXPORT_THREADS ? startThread() : null);
  return thread ? onThread(thread, { source: store.readSource, ...req }) : inProcess(store, req);
}
