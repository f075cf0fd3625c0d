import { CompiledQuery, type Kysely } from 'kysely';
import type { NewRequest } from '../domain/request-shape.js';
import type { Database } from './schema.js';
import type { Actor, PromptLink, ScoreChange, ScoreChangeOptions } from './types.js';
import type { ResultOf, WriteCommand } from './write-commands.js';
import { programOf, runAwaiting, type Step } from './write-programs.js';
import { bindParameters, type StatementName } from './write-statements.js';

/**
 * Writes inside one transaction of `store.write` (the CLI, tests). Each method runs its command's
 * program (write-programs.ts), so it checks before it writes: when it throws a TallyError it has
 * written nothing and the transaction stays usable.
 */
export interface StoreWriter {
  insertRequest(workspaceId: number, request: NewRequest, actor: Actor): Promise<number>;
  setScore(workspaceId: number, requestId: number, name: string, value: number, actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange>;
  /** Several scores, all or none: every request is checked before anything is written. */
  setScores(workspaceId: number, items: readonly { requestId: number; name: string; value: number }[], actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange[]>;
  /** Returns null when the request has no score of that name (nothing is recorded then). */
  deleteScore(workspaceId: number, requestId: number, name: string, actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange | null>;
  setMetadata(workspaceId: number, requestId: number, metadata: Record<string, string>): Promise<void>;
  setPrompt(workspaceId: number, requestId: number, prompt: PromptLink): Promise<void>;
  createGroup(workspaceId: number): Promise<number>;
  addToGroup(workspaceId: number, requestId: number, groupId: number): Promise<void>;
}

/** Runs program steps through Kysely on `conn` (a transaction's connection), with the dialect's statement texts. */
export function kyselySteps(conn: Kysely<Database>, texts: Readonly<Record<StatementName, string>>): (step: Step) => Promise<unknown> {
  return async (step) => {
    if ('query' in step) return (await conn.executeQuery(step.query)).rows;
    const { rows } = await conn.executeQuery(CompiledQuery.raw(texts[step.statement], bindParameters(step.statement, step.params)));
    const row = rows[0] as Record<string, unknown> | undefined;
    return row === undefined ? undefined : Object.values(row)[0];
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

  insertRequest(workspaceId: number, request: NewRequest, actor: Actor): Promise<number> {
    return this.run({ op: 'insertRequest', workspaceId, request, actor });
  }

  setScore(workspaceId: number, requestId: number, name: string, value: number, actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange> {
    return this.run({ op: 'setScore', workspaceId, requestId, name, value, actor, opts });
  }

  setScores(workspaceId: number, items: readonly { requestId: number; name: string; value: number }[], actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange[]> {
    return this.run({ op: 'setScores', workspaceId, items: [...items], actor, opts });
  }

  deleteScore(workspaceId: number, requestId: number, name: string, actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange | null> {
    return this.run({ op: 'deleteScore', workspaceId, requestId, name, actor, opts });
  }

  setMetadata(workspaceId: number, requestId: number, metadata: Record<string, string>): Promise<void> {
    return this.run({ op: 'setMetadata', workspaceId, requestId, metadata });
  }

  setPrompt(workspaceId: number, requestId: number, prompt: PromptLink): Promise<void> {
    return this.run({ op: 'setPrompt', workspaceId, requestId, prompt });
  }

  createGroup(workspaceId: number): Promise<number> {
    return this.run({ op: 'createGroup', workspaceId });
  }

  addToGroup(workspaceId: number, requestId: number, groupId: number): Promise<void> {
    return this.run({ op: 'addToGroup', workspaceId, requestId, groupId });
  }
}
