import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { DatabaseUnavailableError } from '../store/database-errors.js';
import type { Store } from '../store/store.js';
import { receiveError, spawnModule } from '../threads.js';
import { wholeExport } from './export-chunks.js';
import type { ExportChunk, ExportPlan, ExportRequest } from './export-lines.js';
import type { ExportJob, FromExporter, ToExporter } from './export-thread.js';

const CORES = Math.max(1, availableParallelism());

/**
 * Export threads at most, for exports split `parts` ways: one per core, or two exports' worth when
 * more. An export that finds none free runs on the event loop; more threads than cores would only
 * take turns.
 */
export const maxExportThreads = (parts: number): number => Math.max(CORES, 2 * parts);

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

/** The workers of the threads exporting now (tests: what a thread dying mid-export does). */
export function runningExportWorkers(): Worker[] {
  return [...threads].filter((t) => !idle.includes(t)).map((t) => t.worker);
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

/**
 * An export's stream carries its chunks as they are, one at a time: text chunks are encoded as the
 * response writes them to the socket (a byte stream would turn each into a Buffer, memory outside
 * the heap that lingers until the event loop's next garbage collection), and the bytes a COPY
 * export thread moved here are written as they are.
 */
const TEXT_CHUNKS = { objectMode: true, highWaterMark: 1 } as const;

async function* dataOf(chunks: AsyncIterable<ExportChunk>): AsyncGenerator<string | Uint8Array> {
  for await (const { data } of chunks) if (data.length > 0) yield data;
}

/** The export read and formatted on the event loop, between the answers to other requests. */
async function inProcess(store: Store, req: ExportRequest): Promise<Readable> {
  const chunks = await wholeExport(store, req);
  return Readable.from(dataOf(chunks), TEXT_CHUNKS);
}

/** A free thread, started if none waits and the pool (for `parts`) has room, taken out of the idle list. */
function takeThread(parts: number): ExportThread | null {
  if (threads.size - idle.length >= maxExportThreads(parts)) return null;
  const thread = idle.pop() ?? startThread();
  if (thread.idleTimer) clearTimeout(thread.idleTimer);
  thread.idleTimer = null;
  thread.worker.ref();
  return thread;
}

interface Part {
  thread: ExportThread;
  /** Chunks come in ahead of their turn (other parts' pages go first); at most AHEAD of them. */
  queue: { data: string | Uint8Array; pageEnd: boolean }[];
  /** Said `end` or `failed`, or died: the thread is no longer this export's. */
  done: boolean;
}

/**
 * The export read and formatted on export threads (export-thread.ts), as a stream of chunks.
 * The `leader` plans it; when the plan splits it, free threads (up to `parts` in all) each export
 * every parts-th page, and the stream takes the pages in order: page k from part k % parts. Each
 * part is asked for its next chunk when one of its chunks went into the stream, so the client's
 * pace sets the export's and at most AHEAD chunks per part wait here. Resolves once the plan is
 * made, so a database outage is still refused before any byte is sent. Destroying the stream (the
 * client went away) stops every part; each thread is free once it says so.
 */
function onThreads(leader: ExportThread, job: ExportJob, most: number): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const parts: Part[] = [];
    let stream: Readable | null = null;
    /** The page being written: its chunks come from part page % parts. */
    let page = 0;
    let wanted = false;
    let ended = false;

    const post = (part: Part, msg: ToExporter) => {
      if (!part.done) part.thread.worker.postMessage(msg);
    };
    const fail = (err: Error) => {
      if (stream) stream.destroy(err);
      else reject(err);
    };
    const pump = () => {
      if (!stream || stream.destroyed || ended) return;
      while (wanted) {
        const part = parts[page % parts.length]!;
        const chunk = part.queue.shift();
        if (!chunk) break;
        post(part, { type: 'more' });
        if (chunk.pageEnd) page++;
        if (chunk.data.length > 0) wanted = stream.push(chunk.data);
      }
      if (parts.every((p) => p.done && p.queue.length === 0)) {
        ended = true;
        stream.push(null);
      }
    };
    const finish = (part: Part, err: Error | null) => {
      if (part.done) return;
      part.done = true;
      release(part.thread);
      if (err) fail(err);
      else pump();
    };
    const join = (thread: ExportThread): Part => {
      const part: Part = { thread, queue: [], done: false };
      parts.push(part);
      thread.onDeath = (err) => finish(part, err);
      thread.onMessage = (msg) => {
        switch (msg.type) {
          case 'ready':
            start(msg.plan);
            return;
          case 'chunk':
            if (stream?.destroyed) return;
            part.queue.push({ data: msg.data, pageEnd: msg.pageEnd });
            pump();
            return;
          case 'end':
            finish(part, null);
            return;
          case 'failed':
            finish(part, receiveError(msg.error));
            return;
        }
      };
      return part;
    };
    const start = (plan: ExportPlan) => {
      const first = parts[0]!;
      if (plan.ends !== null) {
        while (parts.length < most) {
          const thread = takeThread(most);
          if (!thread) break;
          join(thread);
        }
      }
      post(first, { type: 'parts', parts: parts.length });
      parts.slice(1).forEach((part, i) => post(part, { type: 'part', job, plan, part: i + 1, parts: parts.length }));
      stream = new Readable({
        ...TEXT_CHUNKS,
        read: () => {
          wanted = true;
          pump();
        },
        destroy: (err, cb) => {
          for (const part of parts) post(part, { type: 'cancel' });
          cb(err);
        },
      });
      resolve(stream);
    };

    post(join(leader), { type: 'export', job, most });
  });
}

/**
 * The export of the matching requests as a stream of chunks, text or bytes (see wholeExport for its
 * formats). It runs on a thread of its own when the store can be opened there and a thread is free
 * (see maxExportThreads), split among up to `parts` threads when longer than a page and sorted by
 * a column: a million-row export then leaves the event loop free, and with parts > 1 uses more
 * cores.
 */
export function exportStream(store: Store, req: ExportRequest, parts = 1): Promise<Readable> {
  if (store.readSource === null) return inProcess(store, req);
  const thread = takeThread(parts);
  return thread ? onThreads(thread, { source: store.readSource, ...req }, parts) : inProcess(store, req);
}
