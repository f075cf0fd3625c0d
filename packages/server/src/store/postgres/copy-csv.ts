import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * Runs `COPY (query) TO STDOUT (FORMAT csv)` and hands out the CSV as the chunks it arrives in: no
 * row objects and no strings, so an export can pass most of a row's bytes on as they are.
 *
 * Copies take connections from a pool of their own: the store's pool has a query timeout, which
 * would end a copy that takes longer than one query may. A copy left unfinished (its reader
 * stopped, or it failed) leaves its connection mid-protocol, so that one is closed.
 */
export class CsvCopier {
  private readonly pool: pg.Pool;

  constructor(connectionString: string) {
    this.pool = new pg.Pool({ connectionString, keepAlive: true });
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
      for await (const chunk of client.query(copyTo(`copy (${query}) to stdout (format csv)`))) yield chunk as Buffer;
      finished = true;
    } finally {
      client.release(!finished);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
