import type { Kysely } from 'kysely';
import { needsPrice } from '../../domain/model-prices.js';
import { refusal, type BatchWriter } from '../group-commit.js';
import type { Database } from '../schema.js';
import { kyselySteps } from '../transaction-writer.js';
import type { InsertRequestCommand, Outcome, SetScoreCommand, WriteCommand } from '../write-commands.js';
import { programOf, runAwaiting } from '../write-programs.js';
import type { StatementName } from '../write-statements.js';
import { insertEachRequest } from './request-run.js';
import { setEachScore } from './score-run.js';

export interface PostgresBatchWriterOptions {
  /**
   * The store's write transaction (its advisory lock keeps the old values a score write reads
   * current); with `genericPlans`, prepared statements are planned once (prepared-statements.ts).
   */
  writeTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>, genericPlans?: boolean): Promise<T>;
  /** Runs `fn` on one connection of the pool, outside any transaction (each statement commits on its own). */
  onConnection<T>(fn: (conn: Kysely<Database>) => Promise<T>): Promise<T>;
  statements: Readonly<Record<StatementName, string>>;
}

/**
 * PostgreSQL's side of the write seam. Each statement is a round trip, so consecutive score
 * writes and consecutive plain logged requests run as a few set-based statements over arrays
 * (score-run.ts, request-run.ts); every other command runs its program statement by statement.
 */
export class PostgresBatchWriter implements BatchWriter {
  constructor(private readonly opts: PostgresBatchWriterOptions) {}

  commit(batch: readonly WriteCommand[]): Promise<Outcome[]> {
    // A batch of plain logged requests that need no price looked up is one statement, which takes
    // the write-order lock itself and commits on its own: one round trip, as the floor's.
    const requests = requestRunAt(batch, 0);
    if (requests.length === batch.length && !requests.some((c) => needsPrice(c.request))) {
      return this.opts.onConnection((conn) => insertEachRequest(conn, requests, { alone: true }));
    }
    return this.opts.writeTransaction(async (trx) => {
      const exec = kyselySteps(trx, this.opts.statements);
      const ctx = { compiler: trx };
      const runOne = async (c: WriteCommand): Promise<Outcome> => {
        try {
          return { ok: true, value: await runAwaiting(programOf(c, ctx), exec) };
        } catch (error) {
          return refusal(error);
        }
      };
      const out: Outcome[] = [];
      for (let i = 0; i < batch.length; ) {
        const scores = scoreRunAt(batch, i);
        if (scores.length > 0) {
          out.push(...(await setEachScore(trx, scores, runOne)));
          i += scores.length;
          continue;
        }
        const requests = requestRunAt(batch, i);
        if (requests.length > 1) {
          out.push(...(await insertEachRequest(trx, requests)));
          i += requests.length;
          continue;
        }
        out.push(await runOne(batch[i]!));
        i++;
      }
      return out;
    }, true);
  }
}

/**
 * The score writes from `start` on, up to the first other command or a second write of one
 * request and name (one statement cannot change a row twice).
 */
function scoreRunAt(batch: readonly WriteCommand[], start: number): SetScoreCommand[] {
  const run: SetScoreCommand[] = [];
  const seen = new Set<string>();
  for (let i = start; i < batch.length; i++) {
    const c = batch[i]!;
    if (c.op !== 'setScore') break;
    const key = `${c.requestId}\u0000${c.name}`;
    if (seen.has(key)) break;
    seen.add(key);
    run.push(c);
  }
  return run;
}

/**
 * The logged requests from `start` on that need no check and write no score (no group, no score
 * given), up to the first other command.
 */
function requestRunAt(batch: readonly WriteCommand[], start: number): InsertRequestCommand[] {
  const run: InsertRequestCommand[] = [];
  for (let i = start; i < batch.length; i++) {
    const c = batch[i]!;
    if (c.op !== 'insertRequest' || c.request.groupId !== null || c.request.score !== null) break;
    run.push(c);
  }
  return run;
}
