import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { currentRead, onAbort, ReadCancelledError } from '../read-scope.js';

/**
 * `reads` as Kysely's pool, whose statements stop when their read's client goes away (readFor's
 * signal): `control` (a pool of its own, so it never waits behind the reads) asks PostgreSQL to
 * cancel the running statement with pg_cancel_backend. A client is handed back to `reads` only
 * once a cancel sent for it has been answered, so no cancel can reach the next statement on that
 * session (and one arriving after its statement ended finds the session idle: PostgreSQL ignores it).
 */
export function cancellableReads(reads: pg.Pool, control: pg.Pool): PostgresPool {
  return {
    connect: async () => cancellable(await reads.connect(), control),
    end: () => reads.end(),
  };
}

function cancellable(client: pg.PoolClient, control: pg.Pool): PostgresPoolClient {
  let cancelling: Promise<unknown> | null = null;
  function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  function query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as never) as unknown as PostgresCursor<R>;
    const signal = currentRead()?.signal;
    const run = client.query(sqlOrCursor, parameters as unknown[]) as unknown as Promise<PostgresQueryResult<R>>;
    if (!signal) return run;
    let running = true;
    let cancelled = false;
    const unlisten = onAbort(signal, () => {
      if (!running) return;
      cancelled = true;
      const pid = (client as unknown as { processID: number }).processID;
      cancelling = control.query('select pg_cancel_backend($1)', [pid]).catch(() => {});
    });
    return run.then(
      (result) => {
        running = false;
        unlisten();
        return result;
      },
      (err: unknown) => {
        running = false;
        unlisten();
        // 57014: the statement was cancelled, here by the cancel above.
        throw cancelled && (err as { code?: unknown }).code === '57014' ? new ReadCancelledError() : err;
      },
    );
  }
  return {
    query,
    release: (destroy?: boolean) => {
      if (cancelling) void cancelling.then(() => client.release(destroy));
      else client.release(destroy);
    },
  };
}
