import type { NewRequest } from '../domain/request-shape.js';
import type { Actor, PromptLink, ScoreChange, ScoreChangeOptions } from './types.js';

/**
 * A write as plain data. The HTTP handlers describe what to write; the store decides where it runs
 * (on this thread, or on SQLite's writer thread), so a command must survive structured cloning.
 */
export type SetScoreCommand = { op: 'setScore'; workspaceId: number; requestId: number; name: string; value: number; actor: Actor; opts?: ScoreChangeOptions };

export type InsertRequestCommand = { op: 'insertRequest'; workspaceId: number; request: NewRequest; actor: Actor };

/** A span taken in through OTLP: its ids and the request it becomes (its group is its trace's). */
export interface SpanRequest {
  traceId: string;
  spanId: string;
  request: NewRequest;
}

/** The LLM spans of one OTLP export, all or none; a span already stored is skipped. */
export type InsertSpansCommand = { op: 'insertSpans'; workspaceId: number; spans: SpanRequest[]; actor: Actor };

/** What an export's spans became: each one's request id (a duplicate's is the stored one), and how many were duplicates. */
export interface InsertedSpans {
  ids: number[];
  duplicates: number;
}

/** A workspace's price of a model (USD per million tokens) from `effectiveFrom` (epoch ms) on. */
export type SetModelPriceCommand = { op: 'setModelPrice'; workspaceId: number; model: string; effectiveFrom: number; input: number; output: number; cachedInput: number | null };

export type WriteCommand =
  | InsertRequestCommand
  | InsertSpansCommand
  | SetModelPriceCommand
  /** One effective time's price, or (effectiveFrom null) every price of the model; resolves to how many were deleted. */
  | { op: 'deleteModelPrice'; workspaceId: number; model: string; effectiveFrom: number | null }
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
  insertSpans: InsertedSpans;
  setModelPrice: void;
  deleteModelPrice: number;
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

