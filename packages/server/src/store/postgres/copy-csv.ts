import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { classifyDatabaseError } from '../database-errors.js';

/**
 * Runs `COPY (query) TO STDOUT (FORMAT csv)` and hands out the CSV as the chunks it arrives in: no
 * row objects and no strings, so an export can pass most of a row's bytes on as they are.
 *
 * Copies take connections from a pool of their own: the store's pool has a query timeout, which
 * would end a copy that takes longer than one query may. A copy left unfinished (its reader
 * stopped, or it failed) leaves its connection mid-protocol, so that one is closed.
 *
 * A copy has no statement_timeout: a whole export is one statement, and a large one takes longer
 * than a read may, mostly waiting for its client. What is bounded instead is each wait for
 * PostgreSQL's next chunk, by the read deadline: past it PostgreSQL is scanning rows without
 * finding any (a filter no index helps with), and the copy is cancelled on the server, so a stuck
 * export holds neither a thread nor a connection. It then fails as a read past its deadline does
 * (57014, answered 503). Time spent waiting for the client to take a chunk is not counted.
 */
export class CsvCopier {
  private readonly pool: pg.Pool;

  constructor(
    private readonly connectionString: string,
    private readonly chunkTimeoutMs: number,
    /** The read sessions' startup options (postgres-store.ts). */
    options?: string,
  ) {
    this.pool = new pg.Pool({ connectionString, keepAlive: true, options });
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => {
      client.on('error', () => {});
      // Both are PostgreSQL's defaults, set in case a server's differ: values are written into the
      // query as literals in which only '' is an escape, and a float prints with as many digits as
      // reading it back to the same number needs. Sent before any query of this connection.
      void client.query('set standard_conforming_strings = on; set extra_float_digits = 1').catch(() => {});
    });
  }

  async *copy(query: string): AsyncGenerator<Buffer> {
    const client = await this.pool.connect();
    let finished = false;
    try {
      const stream = client.query(copyTo(`copy (${query}) to stdout (format csv)`));
      const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      for (;;) {
        const next = await this.inTime(client, stream, chunks.next());
        if (next.done) break;
        yield next.value;
      }
      finished = true;
    } catch (err) {
      // As the store's queries fail: an outage or a cancelled copy is a 503, wherever the export runs.
      throw classifyDatabaseError(err) ?? err;
    } finally {
      client.release(!finished);
    }
  }

  /**
   * `next`, with PostgreSQL told to cancel the copy if it has not come within the deadline; the
   * copy then fails with PostgreSQL's own error. Should the cancel itself fail, the stream is
   * destroyed, which closes the connection.
   */
  private async inTime<T>(client: pg.PoolClient, stream: NodeJS.ReadableStream & { destroy(err?: Error): void }, next: Promise<T>): Promise<T> {
    const timer = setTimeout(() => {
      const pid = (client as pg.PoolClient & { processID?: number }).processID;
      const canceller = new pg.Client({ connectionString: this.connectionString });
      canceller.on('error', () => {});
      canceller
        .connect()
        .then(() => canceller.query('select pg_cancel_backend($1)', [pid]))
        .catch(() => stream.destroy(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })))
        .finally(() => void canceller.end().catch(() => {}));
    }, this.chunkTimeoutMs);
    try {
      return await next;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
