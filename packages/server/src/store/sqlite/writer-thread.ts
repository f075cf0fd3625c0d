/**
 * SQLite's writer thread (started by writer-client.ts, one per process). For every store the main
 * thread opens, it holds a connection of its own and commits each batch sent for that store in one
 * transaction, so the commit's fsync blocks this thread and never the event loop answering HTTP.
 * Each answer goes back only after its commit. It loads only the write path.
 */
import type SQLite from 'better-sqlite3';
import { parentPort } from 'node:worker_threads';
import { sendError } from '../../threads.js';
import type { WriteCommand } from '../write-commands.js';
import { kyselyOver, openConnection, type Synchronous } from './connection.js';
import { SqliteBatchWriter } from './sqlite-batch-writer.js';

export type ToWriter =
  | { type: 'open'; store: number; file: string; synchronous: Synchronous }
  | { type: 'batch'; store: number; id: number; batch: readonly WriteCommand[] }
  | { type: 'close'; store: number };

const port = parentPort!;
const stores = new Map<number, { conn: SQLite.Database; writer: SqliteBatchWriter }>();

async function handle(msg: ToWriter): Promise<void> {
  switch (msg.type) {
    case 'open':
      try {
        const conn = openConnection(msg.file, msg.synchronous);
        // Kysely only compiles here (SqliteBatchWriter); it never opens a connection of its own.
        stores.set(msg.store, { conn, writer: new SqliteBatchWriter(conn, kyselyOver(conn)) });
        port.postMessage({ type: 'opened', store: msg.store });
      } catch (err) {
        port.postMessage({ type: 'opened', store: msg.store, failed: sendError(err) });
      }
      return;
    case 'batch': {
      const s = stores.get(msg.store);
      if (!s) {
        port.postMessage({ type: 'batch', id: msg.id, failed: sendError(new Error('the writer thread has no such store open')) });
        return;
      }
      try {
        const outcomes = await s.writer.commit(msg.batch);
        port.postMessage({ type: 'batch', id: msg.id, outcomes: outcomes.map((o) => (o.ok ? o : { ok: false, error: sendError(o.error) })) });
      } catch (err) {
        port.postMessage({ type: 'batch', id: msg.id, failed: sendError(err) });
      }
      return;
    }
    case 'close': {
      const s = stores.get(msg.store);
      stores.delete(msg.store);
      s?.conn.close();
      port.postMessage({ type: 'closed', store: msg.store });
      return;
    }
  }
}

// One message at a time, in the order sent: a batch's commit finishes before the next begins.
let chain = Promise.resolve();
port.on('message', (msg: ToWriter) => {
  chain = chain.then(() => handle(msg));
});
