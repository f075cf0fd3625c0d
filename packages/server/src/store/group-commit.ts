import { TallyError } from '../domain/errors.js';
import type { Outcome, WriteCommand } from './write-commands.js';

/**
 * The dialect seam for writes (as a kysely driver is for queries): how one backend commits a
 * batch of write commands in one transaction. SQLite's runs synchronously on the writer thread
 * (sqlite/sqlite-batch-writer.ts); PostgreSQL's runs consecutive score writes and logged requests
 * as set-based statements (postgres/postgres-batch-writer.ts).
 */
export interface BatchWriter {
  /**
   * Runs every command in one transaction and commits it, resolving with each one's outcome in
   * order. A command its checks refuse (`refusal`) has written nothing and fails alone while the
   * others commit; any other failure rolls the whole transaction back and rejects.
   */
  commit(batch: readonly WriteCommand[]): Promise<Outcome[]>;
}

/**
 * A command's failure inside a batch's transaction: the failed outcome when its checks refused it
 * (a TallyError: unknown request, bad group), which leaves the transaction usable since programs
 * check before they write. Anything else (an outage, a constraint, a bug) is rethrown, failing the
 * transaction, since it may have left it unusable.
 */
export function refusal(error: unknown): Outcome {
  if (!(error instanceof TallyError) || error.code === 'unavailable') throw error;
  return { ok: false, error };
}

const isOutage = (err: unknown) => err instanceof TallyError && err.code === 'unavailable';

/**
 * Group commit: every command of the batch in one transaction (one fsync), each answered only
 * after that commit; a refused command fails alone. When the transaction fails otherwise, an
 * outage fails the whole batch alike (retrying each alone would only make clients wait); any other
 * failure runs each command again in a transaction of its own, so one bad write cannot fail its
 * neighbours.
 */
export async function groupCommit(writer: BatchWriter, batch: readonly WriteCommand[]): Promise<Outcome[]> {
  try {
    return await writer.commit(batch);
  } catch (err) {
    if (batch.length === 1 || isOutage(err)) return batch.map(() => ({ ok: false, error: err }));
    const outcomes: Outcome[] = [];
    for (const c of batch) {
      try {
        outcomes.push((await writer.commit([c]))[0]!);
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }
}
