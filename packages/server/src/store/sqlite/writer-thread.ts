/**
 * SQLite's writer thread (started by writer-client.ts, one per process). For every store the main
 * thread opens, it holds a connection of its own and commits each batch sent for that store in one
 * transaction, so the commit's fsync blocks this thread and never the event loop answering HTTP.
 * Each answer goes back only after its commit. It loads only the write path.
 */
import type { Kysely } from 'kysely';
import { parentPort } from 'node:worker_threads';
import type { Database } from '../schema.js';
import { sendError } from '../../threads.js';
import type { WriteCommand } from '../write-commands.js';
import { kyselyOver, openConnection, type Synchronous } from './connection.js';
import { SqliteBatchWriter } from './sqlite-batch-writer.js';

export type ToWriter =
  | { type: 'open'; store: number; file: string; synchronous: Synchronous }
  | { type: 'batch'; store: number; id: number; batch: readonly WriteCommand[] }
  | { type: 'close'; store: number };

const port = parentPort!;
const stores = new Map<number, { db: Kysely<Database>; writer: SqliteBatchWriter }>();

async function handle(msg: ToWriter): Promise<void> {
  switch (msg.type) {
    case 'open':
      try {
        const conn = openConnection(msg.file, msg.synchronous);
        const db = kyselyOver(conn);
        stores.set(msg.store, { db, writer: new SqliteBatchWriter(conn, db) });
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
      await s?.db.destroy();
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
