/**
 * A SQLite reader thread (started by reader-pool.ts): runs the read queries the main thread sends
 * on a read-only connection of its own, one at a time, so a long scan blocks this thread and never
 * the event loop answering HTTP. Each query carries its deadline (read-deadline.ts), and the main
 * thread can stop it early through the thread's cancel word (its client went away).
 */
import SQLite from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { sendError, type SentError } from '../../threads.js';
import { lowerThreadPriority } from '../thread-priority.js';
import { readDeadline, registerAlive } from './read-deadline.js';

export interface ToReader {
  id: number;
  sql: string;
  parameters: readonly unknown[];
  /** Epoch ms after which the query is abandoned, and the limit it came from (for the message). */
  deadline: number;
  limitMs: number;
}

export type FromReader = { id: number; rows: unknown[][]; columns: string[] } | { id: number; failed: SentError };

lowerThreadPriority();
const { file, cancelWord } = workerData as { file: string; cancelWord: SharedArrayBuffer };
const conn = new SQLite(file, { readonly: true, fileMustExist: true });
conn.pragma('busy_timeout = 5000');
registerAlive(conn, new Int32Array(cancelWord));

// Prepared statements by SQL text, least recently used first.
const cache = new Map<string, SQLite.Statement>();
const CACHE_SIZE = 256;

function prepare(text: string): SQLite.Statement {
  let stmt = cache.get(text);
  if (stmt) cache.delete(text);
  else {
    stmt = conn.prepare(text);
    if (!stmt.reader) throw new Error('a reader thread runs only statements that return rows');
    stmt.raw(true);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(text, stmt);
  return stmt;
}

const port = parentPort!;
port.on('message', (msg: ToReader) => {
  readDeadline.at = msg.deadline;
  readDeadline.ms = msg.limitMs;
  readDeadline.job = msg.id;
  try {
    const stmt = prepare(msg.sql);
    // Rows as arrays: structured cloning copies no key names per row.
    const rows = stmt.all(msg.parameters as unknown[]) as unknown[][];
    port.postMessage({ id: msg.id, rows, columns: stmt.columns().map((c) => c.name) } satisfies FromReader);
  } catch (err) {
    port.postMessage({ id: msg.id, failed: sendError(err) } satisfies FromReader);
  } finally {
    readDeadline.at = Number.POSITIVE_INFINITY;
    readDeadline.job = 0;
  }
});
