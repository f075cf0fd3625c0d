/**
 * An export thread (started and reused by export-stream.ts). For each export sent to it, it opens
 * a read connection of its own, reads and formats the export, and sends it to the main thread as
 * UTF-8 chunks of about CHUNK_CHARS characters, one more each time the main thread asks, so the
 * client's pace sets the export's. The event loop answering HTTP only writes the chunks out.
 * One export at a time: the next is sent only after this one reported `end` or `failed`.
 */
import { parentPort } from 'node:worker_threads';
import type { RequestFilter, SortSpec } from '../../domain/search-query.js';
import { classifyDatabaseError } from '../../store/database-errors.js';
import { openReader } from '../../store/open-store.js';
import type { ReadSource, Store } from '../../store/store.js';
import { sendError, type SentError } from '../../store/write-commands.js';
import { chunked, exportLines, type ExportFormat } from './export-lines.js';

export interface ExportJob {
  source: ReadSource;
  workspaceId: number;
  filter: RequestFilter | null;
  sort: SortSpec;
  format: ExportFormat;
}

export type ToExporter =
  | { type: 'export'; job: ExportJob }
  /** One more chunk may go. */
  | { type: 'more' }
  /** The client went away: stop at the next chunk. */
  | { type: 'cancel' };

export type FromExporter =
  /** The export's first query (the score names) succeeded: what can be refused has been. */
  | { type: 'ready' }
  | { type: 'chunk'; bytes: ArrayBuffer }
  /** Done, all sent or cancelled; the thread is free. */
  | { type: 'end' }
  /** The export failed (before `ready`: nothing was sent); the thread is free. */
  | { type: 'failed'; error: SentError };

/** Chunks sent before the first ask, so the next one is formatted while the socket writes this one. */
const AHEAD = 2;

const port = parentPort!;
const encoder = new TextEncoder();

class Cancelled extends Error {}

let credit = 0;
let cancelled = false;
let wake: (() => void) | null = null;
const nudge = () => {
  wake?.();
  wake = null;
};

async function send(text: string): Promise<void> {
  while (credit === 0 && !cancelled) await new Promise<void>((resolve) => (wake = resolve));
  if (cancelled) throw new Cancelled();
  credit--;
  // Its own ArrayBuffer, moved to the main thread rather than copied.
  const { buffer } = encoder.encode(text);
  port.postMessage({ type: 'chunk', bytes: buffer } satisfies FromExporter, [buffer]);
}

async function run(job: ExportJob): Promise<void> {
  credit = AHEAD;
  cancelled = false;
  let store: Store | null = null;
  try {
    store = openReader(job.source);
    const lines = await exportLines(store, job.workspaceId, job.filter, job.sort, job.format);
    port.postMessage({ type: 'ready' } satisfies FromExporter);
    for await (const chunk of chunked(lines)) await send(chunk);
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
      void run(msg.job);
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
