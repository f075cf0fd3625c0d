/**
 * An export thread (started and reused by export-stream.ts). For each export sent to it, it opens
 * a read connection of its own, reads and formats its part of the export, and sends it to the main
 * thread as chunks of about CHUNK_CHARS characters or bytes (export-chunks.ts), one more each time the main thread asks,
 * so the client's pace sets the export's. The event loop answering HTTP only writes the chunks out.
 *
 * An export runs on one thread or is split among several (see ExportPlan): the first part's
 * thread makes the plan and sends it back, then reads its pages (0, parts, 2 * parts, ...) while
 * the others read theirs, and the main thread writes the pages out in order.
 * One export at a time: the next is sent only after this one reported `end` or `failed`.
 */
import { parentPort } from 'node:worker_threads';
import { classifyDatabaseError } from '../store/database-errors.js';
import { openReader } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { lowerThreadPriority } from '../store/thread-priority.js';
import type { ReadSource } from '../store/types.js';
import { sendError, type SentError } from '../threads.js';
import { exportChunks } from './export-chunks.js';
import { exportPlan, type ExportPlan, type ExportRequest } from './export-lines.js';

lowerThreadPriority();

/** An export sent to a thread: the thread opens its own connection to `source`. */
export interface ExportJob extends ExportRequest {
  source: ReadSource;
}

export type ToExporter =
  /** Plan the export for up to `most` parts and send the plan; then, told how many parts it has, export part 0. */
  | { type: 'export'; job: ExportJob; most: number }
  /** The number of parts of the export planned. */
  | { type: 'parts'; parts: number }
  /** Export one part of a planned export. */
  | { type: 'part'; job: ExportJob; plan: ExportPlan; part: number; parts: number }
  /** One more chunk may go. */
  | { type: 'more' }
  /** The client went away: stop at the next chunk. */
  | { type: 'cancel' };

export type FromExporter =
  /**
   * The export's plan is made (its first queries succeeded: what can be refused has been); split
   * when plan.ends is not null.
   */
  | { type: 'ready'; plan: ExportPlan }
  /** The next chunk of this part, text or UTF-8 bytes; `pageEnd`: the last of its page. */
  | { type: 'chunk'; data: string | Uint8Array; pageEnd: boolean }
  /** Done, all sent or cancelled; the thread is free. */
  | { type: 'end' }
  /** The export failed (before `ready`: nothing was sent); the thread is free. */
  | { type: 'failed'; error: SentError };

/** Chunks sent before the first ask, so the next one is formatted while the socket writes this one. */
const AHEAD = 2;

const port = parentPort!;

class Cancelled extends Error {}

let credit = 0;
let cancelled = false;
let wake: (() => void) | null = null;
const nudge = () => {
  wake?.();
  wake = null;
};

async function send(data: string | Uint8Array, pageEnd: boolean): Promise<void> {
  while (credit === 0 && !cancelled) await new Promise<void>((resolve) => (wake = resolve));
  if (cancelled) throw new Cancelled();
  credit--;
  // Text (the paged export) is copied into the main thread's heap, not encoded here and moved there
  // as bytes: the socket encodes it as it writes, and a written chunk is then young garbage in a
  // heap already that size. Moved ArrayBuffers were memory outside the heap, freed only when the
  // main thread collected their owners, which it seldom does, so a paged export split
  // among threads peaked higher in RSS. Bytes (the COPY export) are moved: they are
  // bytes already, and a copy would be the same memory outside the heap.
  const msg: FromExporter = { type: 'chunk', data, pageEnd };
  if (typeof data === 'string') port.postMessage(msg);
  else port.postMessage(msg, [data.buffer as ArrayBuffer]);
}

/** The number of parts, once the main thread has said it. */
let partsSaid: ((parts: number) => void) | null = null;

/**
 * Exports a part of `partsGiven`. With no plan given, makes the plan for up to `partsGiven` parts,
 * sends it, and exports part 0 of as many as the main thread then says.
 */
async function run(job: ExportJob, given: ExportPlan | null, part: number, partsGiven: number): Promise<void> {
  credit = AHEAD;
  cancelled = false;
  let store: Store | null = null;
  try {
    store = openReader(job.source);
    let plan = given;
    let parts = partsGiven;
    if (plan === null) {
      plan = await exportPlan(store, job, partsGiven);
      const said = new Promise<number>((resolve) => (partsSaid = resolve));
      port.postMessage({ type: 'ready', plan } satisfies FromExporter);
      parts = await said;
    }
    for await (const chunk of exportChunks(store, job, plan, { part, parts })) await send(chunk.data, chunk.pageEnd);
    await store.close();
    port.postMessage({ type: 'end' } satisfies FromExporter);
  } catch (err) {
    await store?.close().catch(() => {});
    if (err instanceof Cancelled) port.postMessage({ type: 'end' } satisfies FromExporter);
    // Opening the connection happens outside the queries' error mapping (SQLite opens on construction).
    else port.postMessage({ type: 'failed', error: sendError(classifyDatabaseError(err) ?? err) } satisfies FromExporter);
  }
}

port.on('message', (msg: ToExporter) => {
  switch (msg.type) {
    case 'export':
      void run(msg.job, null, 0, msg.most);
      return;
    case 'parts':
      partsSaid?.(msg.parts);
      partsSaid = null;
      return;
    case 'part':
      void run(msg.job, msg.plan, msg.part, msg.parts);
      return;
    case 'more':
      credit++;
      nudge();
      return;
    case 'cancel':
      cancelled = true;
      nudge();
      return;
  }
});
