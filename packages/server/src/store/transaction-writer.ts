import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { ResultOf, WriteCommand } from './write-commands.js';
import { programOf, runAwaiting, type Step } from './write-programs.js';
import { bindParameters, givesRow, type StatementName } from './write-statements.js';

/**
 * Writes inside one transaction of `store.write` (the CLI, tests): the same commands the write
 * queue batches. Each runs its program (write-programs.ts), so it checks before it writes: when it
 * throws a TallyError it has written nothing and the transaction stays usable.
 */
export interface StoreWriter {
  run<C extends WriteCommand>(c: C): Promise<ResultOf<C>>;
}

/** Runs program steps through Kysely on `conn` (a transaction's connection), with the dialect's statement texts. */
export function kyselySteps(conn: Kysely<Database>, texts: Readonly<Record<StatementName, string>>): (step: Step) => Promise<unknown> {
  return async (step) => {
    if ('query' in step) return (await conn.executeQuery(step.query)).rows;
    const { rows } = await conn.executeQuery(CompiledQuery.raw(texts[step.statement], bindParameters(step.statement, step.params)));
    const row = rows[0] as Record<string, unknown> | undefined;
    if (row === undefined || givesRow(step.statement)) return row;
    return Object.values(row)[0];
  };
}

export class TransactionWriter implements StoreWriter {
  private readonly exec: (step: Step) => Promise<unknown>;

  constructor(
    private readonly trx: Kysely<Database>,
    texts: Readonly<Record<StatementName, string>>,
  ) {
    this.exec = kyselySteps(trx, texts);
  }

  run<C extends WriteCommand>(c: C): Promise<ResultOf<C>> {
    return runAwaiting(programOf(c, { compiler: this.trx }), this.exec);
  }
}
