import type SQLite from 'better-sqlite3';
import { notFound } from '../../domain/errors.js';
import { mapped } from '../database-errors.js';
import { HOT_SQL, hotParams, requestRow } from '../sql-writer.js';
import type { InsertRequestCommand, Outcome, SetScoreCommand } from '../write-commands.js';

/**
 * SQLite's runs of score writes and logged requests on the writer thread, as plain synchronous
 * calls of statements prepared once on its connection, inside the transaction the write queue's
 * batch already holds (the same connection). The same statements and parameters as SqlWriter's
 * (HOT_SQL and hotParams in sql-writer.ts), without a trip through Kysely's driver and a few
 * promises per statement: `npm run bench:writer` measures the difference against raw statements.
 * Errors that mean an outage become DatabaseUnavailableError, as Kysely's driver maps them
 * (`mapped`, database-errors.ts).
 */
export function sqliteRuns(conn: SQLite.Database) {
  let prepared: ReturnType<typeof prepare> | null = null;
  // Prepared on first use: the writer thread opens its connection before the tables may exist.
  const statements = () => (prepared ??= prepare(conn));

  /** The caller ensures no two commands share a request and name (write-commands.ts). */
  function eachScore(cmds: readonly SetScoreCommand[]): Outcome[] {
    const s = statements();
    return cmds.map((c): Outcome => {
      if (s.requireRequest.get(c.requestId, c.workspaceId) === undefined) return { ok: false, error: notFound('request_id', 'request') };
      const oldValue = (s.oldScore.get(c.requestId, c.name) as number | undefined) ?? null;
      const at = Date.now();
      s.upsertScore.run(hotParams.upsertScore(c.workspaceId, c.requestId, c.name, c.value, at, c.actor));
      s.appendEvent.run(hotParams.appendEvent(c.workspaceId, c.requestId, c.name, oldValue, c.value, c.actor, c.opts ?? {}, at));
      return { ok: true, value: { requestId: c.requestId, name: c.name, oldValue, newValue: c.value } };
    });
  }

  /** Only commands with no group to check and no score to write (write-commands.ts): none is refused alone. */
  function eachRequest(cmds: readonly InsertRequestCommand[]): Outcome[] {
    const s = statements();
    return cmds.map((c): Outcome => {
      const id = Number(s.insertRequest.get(hotParams.insertRequest(requestRow(c.workspaceId, c.request, Date.now()))));
      for (const tag of c.request.tags) s.insertTag.run(c.workspaceId, id, tag);
      for (const [key, value] of Object.entries(c.request.metadata)) s.insertMetadata.run(c.workspaceId, id, key, value);
      return { ok: true, value: id };
    });
  }

  const asRun =
    <C>(fn: (cmds: readonly C[]) => Outcome[]) =>
    (_trx: unknown, cmds: readonly C[]): Promise<Outcome[]> =>
      mapped(async () => fn(cmds));
  return { eachScore: asRun(eachScore), eachRequest: asRun(eachRequest) };
}

function prepare(conn: SQLite.Database) {
  return {
    requireRequest: conn.prepare(HOT_SQL.requireRequest).pluck(),
    oldScore: conn.prepare(HOT_SQL.oldScore).pluck(),
    upsertScore: conn.prepare(HOT_SQL.upsertScore),
    appendEvent: conn.prepare(HOT_SQL.appendEvent),
    insertRequest: conn.prepare(HOT_SQL.insertRequest).pluck(),
    insertTag: conn.prepare(HOT_SQL.insertTag),
    insertMetadata: conn.prepare(HOT_SQL.insertMetadata),
  };
}
