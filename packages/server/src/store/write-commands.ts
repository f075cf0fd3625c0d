import type { NewRequest } from '../domain/request-shape.js';
import type { ScoreSchemaDefinition } from '../domain/score-schema.js';
import type { ReviewCommand, ReviewRating, ReviewResults } from './review-commands.js';
import type { Actor, PromptLink, ScoreChange, ScoreChangeOptions, ScoreSchemaWrite, WorkspaceSettings } from './types.js';

/**
 * What a score write gives beside its target: a value or a label (exactly one; the schema maps a
 * label to its value), the reasons it carries, and whose rating it is.
 */
export interface RatingFields {
  /** The value 0..100; null when `label` is given. */
  value: number | null;
  label?: string | null;
  reasons?: string[] | null;
  /** Whose rating this is (`external:<name>`, `end_user:<id>`); absent: the actor's id. */
  rater?: string | null;
}

/**
 * A write as plain data. The HTTP handlers describe what to write; the store decides where it runs
 * (on this thread, or on SQLite's writer thread), so a command must survive structured cloning.
 */
export type SetScoreCommand = { op: 'setScore'; workspaceId: number; requestId: number; name: string; actor: Actor; opts?: ScoreChangeOptions } & RatingFields;

export type InsertRequestCommand = { op: 'insertRequest'; workspaceId: number; request: NewRequest; actor: Actor };

/** One item of `setScores`; its own comment, if any, replaces the batch's. */
export type ScoreItem = { requestId: number; name: string; comment?: string | null } & RatingFields;

export type WriteCommand =
  | InsertRequestCommand
  | SetScoreCommand
  /** Several scores in one command: all are written or none (the batch endpoint). */
  | { op: 'setScores'; workspaceId: number; items: ScoreItem[]; actor: Actor; opts?: ScoreChangeOptions }
  /**
   * Without `rater`: deletes the score and every rating (a `delete` history row). With `rater`:
   * withdraws that rater's rating and recomputes the score (deleted when no rating is left).
   * Resolves to null when there was nothing to delete.
   */
  | { op: 'deleteScore'; workspaceId: number; requestId: number; name: string; actor: Actor; rater?: string | null; opts?: ScoreChangeOptions }
  /** The final value of a name whose schema aggregates by adjudication; the actor is the adjudicator. */
  | { op: 'adjudicate'; workspaceId: number; requestId: number; name: string; value: number | null; label?: string | null; actor: Actor; opts?: ScoreChangeOptions }
  | { op: 'putScoreSchema'; workspaceId: number; name: string; definition: ScoreSchemaDefinition; actor: Actor }
  /** Archives the schema in force; resolves to the archived version, or null when there was none. */
  | { op: 'archiveScoreSchema'; workspaceId: number; name: string; actor: Actor }
  /** Changes the given settings only; resolves to every setting after the change. */
  | { op: 'updateWorkspace'; workspaceId: number; settings: Partial<WorkspaceSettings> }
  | { op: 'setMetadata'; workspaceId: number; requestId: number; metadata: Record<string, string> }
  | { op: 'setPrompt'; workspaceId: number; requestId: number; prompt: PromptLink }
  | { op: 'createGroup'; workspaceId: number }
  | { op: 'addToGroup'; workspaceId: number; requestId: number; groupId: number }
  | ReviewCommand
  /**
   * A rating given through a review queue: the score write `rating` (its rater set), and the
   * rater's claim on the item marked done, in one transaction (review-programs.ts).
   */
  | { op: 'rateReviewItem'; workspaceId: number; queueId: number; rating: SetScoreCommand & { rater: string } };

/** What each command resolves to. */
interface Results extends ReviewResults {
  rateReviewItem: ReviewRating;
  insertRequest: number;
  setScore: ScoreChange;
  setScores: ScoreChange[];
  deleteScore: ScoreChange | null;
  adjudicate: ScoreChange;
  putScoreSchema: ScoreSchemaWrite;
  archiveScoreSchema: ScoreSchemaWrite | null;
  updateWorkspace: WorkspaceSettings;
  setMetadata: void;
  setPrompt: void;
  createGroup: number;
  addToGroup: void;
}
export type ResultOf<C extends WriteCommand> = Results[C['op']];

/** One command's fate in a batch. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
