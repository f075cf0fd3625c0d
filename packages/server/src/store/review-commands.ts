import type { ReviewQueueDefinition } from './review-queues.js';
import type { Actor, ScoreChange } from './types.js';

/**
 * The write commands of review queues (review-programs.ts runs them). They go through the write
 * queue like every write, so a claim runs in the store's write transaction, which no other write
 * transaction overlaps on either backend (SQLite: the writer thread's BEGIN IMMEDIATE; PostgreSQL:
 * the write-order advisory lock): the slot count a claim reads cannot change before it takes the
 * slot, whichever instance serves the other rater.
 */
export type ReviewCommand =
  /** A queue and its first items (the backfill, in the order they are handed out). */
  | {
      op: 'createReviewQueue';
      workspaceId: number;
      definition: ReviewQueueDefinition;
      requestIds: number[];
      requestCursor: number;
      eventCursor: number;
      actor: Actor;
    }
  /**
   * Adds requests that matched since (each once: one already in the queue is left as it is) and
   * moves the cursors forward. `maxItems` caps the queue's size (a sample by count).
   */
  | { op: 'addReviewItems'; workspaceId: number; queueId: number; requestIds: number[]; requestCursor: number; eventCursor: number; maxItems: number | null }
  /** The rater's next item, or the one they hold. */
  | { op: 'claimReviewItem'; workspaceId: number; queueId: number; rater: string }
  /** Gives back a held item; the rater is not handed it again. */
  | { op: 'skipReviewItem'; workspaceId: number; queueId: number; requestId: number; rater: string }
  | { op: 'archiveReviewQueue'; workspaceId: number; queueId: number };

/** A claim: the item, and until when it is held for the rater. */
export interface ClaimResult {
  requestId: number;
  claimedAt: number;
  expiresAt: number;
  /** True when the rater already held it (a second claim hands back the same item). */
  held: boolean;
}

export interface ReviewResults {
  createReviewQueue: number;
  addReviewItems: number;
  claimReviewItem: ClaimResult | null;
  skipReviewItem: void;
  archiveReviewQueue: void;
}

/** What a rating through a queue did: the score change, and whether the item now has all its ratings. */
export interface ReviewRating {
  change: ScoreChange;
  completed: boolean;
}
