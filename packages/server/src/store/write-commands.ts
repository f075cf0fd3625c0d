import type { NewRequest } from '../domain/request-shape.js';
import type { ReviewCommand, ReviewResults } from './review-commands.js';
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
  | { op: 'addToGroup'; workspaceId: number; requestId: number; groupId: number }
  | ReviewCommand;

/** What each command resolves to. */
interface Results extends ReviewResults {
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

/** One command's fate in a batch. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

