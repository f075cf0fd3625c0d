import { TallyError } from '../domain/errors.js';
import type { NewRequest } from '../domain/request-shape.js';
import type { Actor, PromptLink, ScoreChange, ScoreChangeOptions } from './types.js';

/**
 * A write as plain data. The HTTP handlers describe what to write; the store decides where it runs
 * (on this thread, or on SQLite's writer thread), so a command must survive structured cloning.
 */
export type SetScoreCommand = { op: 'setScore'; workspaceId: number; requestId: number; name: string; value: number; actor: Actor; opts?: ScoreChangeOptions };

export type InsertRequestCommand = { op: 'insertRequest'; workspaceId: number; request: NewRequest; actor: Actor };

export type WriteCommand =
  | InsertRequestCommand
  | SetScoreCommand
  /** Several scores in one command: all are written or none (the batch endpoint). */
  | { op: 'setScores'; workspaceId: number; items: { requestId: number; name: string; value: number }[]; actor: Actor; opts?: ScoreChangeOptions }
  | { op: 'deleteScore'; workspaceId: number; requestId: number; name: string; actor: Actor; opts?: ScoreChangeOptions }
  | { op: 'setMetadata'; workspaceId: number; requestId: number; metadata: Record<string, string> }
  | { op: 'setPrompt'; workspaceId: number; requestId: number; prompt: PromptLink }
  | { op: 'createGroup'; workspaceId: number }
  | { op: 'addToGroup'; workspaceId: number; requestId: number; groupId: number };

/** What each command resolves to. */
interface Results {
  insertRequest: number;
  setScore: ScoreChange;
  setScores: ScoreChange[];
  deleteScore: ScoreChange | null;
  setMetadata: void;
  setPrompt: void;
  createGroup: number;
  addToGroup: void;
}
export type ResultOf<C extends WriteCommand> = Results[C['op']];

/**
 * Writes that run inside one transaction. The ingest queue hands one writer to a whole batch of
 * HTTP writes, so every method must leave the transaction usable, and have written nothing, when
 * it throws a TallyError (check, then write): that write then fails alone and the batch commits.
 */
export interface StoreWriter {
  insertRequest(workspaceId: number, request: NewRequest, actor: Actor): Promise<number>;
  setScore(workspaceId: number, requestId: number, name: string, value: number, actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange>;
  /** Several scores, all or none: every request is checked before anything is written. */
  setScores(workspaceId: number, items: readonly { requestId: number; name: string; value: number }[], actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange[]>;
  /**
   * Score writes of different requests or names, each its own outcome (an unknown request is
   * refused alone, having written nothing), where a backend can do them together faster.
   */
  setEachScore?(cmds: readonly SetScoreCommand[]): Promise<Outcome[]>;
  /** Logged requests with no group and no score, together, where a backend can do that faster. */
  insertEachRequest?(cmds: readonly InsertRequestCommand[]): Promise<Outcome[]>;
  /** Returns null when the request has no score of that name (nothing is recorded then). */
  deleteScore(workspaceId: number, requestId: number, name: string, actor: Actor, opts?: ScoreChangeOptions): Promise<ScoreChange | null>;
  setMetadata(workspaceId: number, requestId: number, metadata: Record<string, string>): Promise<void>;
  setPrompt(workspaceId: number, requestId: number, prompt: PromptLink): Promise<void>;
  createGroup(workspaceId: number): Promise<number>;
  addToGroup(workspaceId: number, requestId: number, groupId: number): Promise<void>;
}

/** Runs one command through a writer inside the caller's transaction. */
export function runCommand(w: StoreWriter, c: WriteCommand): Promise<unknown> {
  switch (c.op) {
    case 'insertRequest':
      return w.insertRequest(c.workspaceId, c.request, c.actor);
    case 'setScore':
      return w.setScore(c.workspaceId, c.requestId, c.name, c.value, c.actor, c.opts);
    case 'setScores':
      return w.setScores(c.workspaceId, c.items, c.actor, c.opts);
    case 'deleteScore':
      return w.deleteScore(c.workspaceId, c.requestId, c.name, c.actor, c.opts);
    case 'setMetadata':
      return w.setMetadata(c.workspaceId, c.requestId, c.metadata);
    case 'setPrompt':
      return w.setPrompt(c.workspaceId, c.requestId, c.prompt);
    case 'createGroup':
      return w.createGroup(c.workspaceId);
    case 'addToGroup':
      return w.addToGroup(c.workspaceId, c.requestId, c.groupId);
  }
}

/** One command's fate in a batch. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit: every command of the batch in one transaction (one fsync), each answered only
 * after that commit. A command refused by its checks (a TallyError: unknown request, bad group)
 * has written nothing (writers check, then write), so it fails alone and the rest commit together.
 * Any other failure may have left the transaction unusable: an outage fails the whole batch alike
 * (retrying each alone would only make clients wait); otherwise each command runs again in a
 * transaction of its own, so one bad write cannot fail its neighbours.
 */
export async function commitBatch(write: <T>(fn: (w: StoreWriter) => Promise<T>) => Promise<T>, batch: readonly WriteCommand[]): Promise<Outcome[]> {
  try {
    return await write(async (w) => {
      const out: Outcome[] = [];
      for (let i = 0; i < batch.length; i++) {
        const c = batch[i]!;
        if (c.op === 'setScore' && w.setEachScore) {
          const run = scoreRunAt(batch, i);
          out.push(...(await w.setEachScore(run)));
          i += run.length - 1;
          continue;
        }
        if (c.op === 'insertRequest' && w.insertEachRequest) {
          const run = requestRunAt(batch, i);
          if (run.length > 1) {
            out.push(...(await w.insertEachRequest(run)));
            i += run.length - 1;
            continue;
          }
        }
        try {
          out.push({ ok: true, value: await runCommand(w, c) });
        } catch (error) {
          if (!(error instanceof TallyError) || error.code === 'unavailable') throw error;
          out.push({ ok: false, error });
        }
      }
      return out;
    });
  } catch (err) {
    if (batch.length === 1 || (err instanceof TallyError && err.code === 'unavailable')) return batch.map(() => ({ ok: false, error: err }));
    const outcomes: Outcome[] = [];
    for (const c of batch) {
      try {
        outcomes.push({ ok: true, value: await write((w) => runCommand(w, c)) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }
}

/** The score writes from `start` on, up to the first other command or a second write of one request and name. */
function scoreRunAt(batch: readonly WriteCommand[], start: number): SetScoreCommand[] {
  const run: SetScoreCommand[] = [];
  const seen = new Set<string>();
  for (const c of batch.slice(start)) {
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
  for (const c of batch.slice(start)) {
    if (c.op !== 'insertRequest' || c.request.groupId !== null || c.request.score !== null) break;
    run.push(c);
  }
  return run;
}
