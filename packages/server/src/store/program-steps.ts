import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { StatementName } from './write-statements.js';

/**
 * Each write command as a program written once for both dialects: a generator that yields the
 * statements to run and receives what each gives. A dialect runs it its own way: SQLite's writer
 * thread synchronously (`runNow`), every other connection through Kysely (`runAwaiting`), so
 * neither pays for the other's way of waiting. A program checks before it writes: one refused by
 * its checks (a TallyError) has written nothing, and the transaction stays usable.
 */
export type Step =
  /** One of WRITE_STATEMENTS; gives its one value, or undefined. */
  | { statement: StatementName; params: Readonly<Record<string, unknown>> }
  /** A query Kysely built and compiled for the dialect; gives its rows. */
  | { query: CompiledQuery };

export type Program<T> = Generator<Step, T, unknown>;

/** What a program needs beyond its command: Kysely to compile the few queries built per call. */
export interface ProgramContext {
  compiler: Kysely<Database>;
}

export function runNow<T>(program: Program<T>, exec: (step: Step) => unknown): T {
  let next = program.next();
  while (!next.done) next = program.next(exec(next.value));
  return next.value;
}

export async function runAwaiting<T>(program: Program<T>, exec: (step: Step) => Promise<unknown>): Promise<T> {
  let next = program.next();
  while (!next.done) next = program.next(await exec(next.value));
  return next.value;
}
