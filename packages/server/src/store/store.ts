import type { Accounts } from './accounts.js';
import type { AlertStore } from './alerts.js';
import type { FeedbackStore } from './feedback.js';
import type { KeyStore } from './keys.js';
import type { PriceStore } from './pricing.js';
import type { RequestStore } from './requests.js';
import type { ReviewQueueStore } from './review-queues.js';
import type { ScoreStore } from './scores.js';
import type { ScoreSchemaStore } from './score-schemas.js';
import type { Backend, ReadSource } from './types.js';
import type { StoreWriter } from './transaction-writer.js';
import type { Outcome, WriteCommand } from './write-commands.js';
import type { WebhookStore } from './webhooks.js';
import type { WorkspaceStore } from './workspaces.js';
import type { WorkspaceReads } from './workspace-reads.js';

/**
 * What a backend can do beyond the shared SQL, for code above the store to choose a strategy by
 * (as kysely's `supportsReturning`), instead of asking which database it is.
 */
export interface StoreCapabilities {
  /** `requests.copyCsv` works: the database writes CSV itself (PostgreSQL's COPY). */
  readonly copyCsv: boolean;
  /**
   * A read runs off this thread (on a database server, over a pool), so a caller gains by asking
   * for the next page before handling the last one. SQLite runs each query on this thread, where
   * asking ahead would only delay the rows in hand.
   */
  readonly readAhead: boolean;
}

/**
 * The storage interface both backends implement, one small interface per aggregate; it knows SQL
 * and nothing of HTTP.
 */
export interface Store {
  /** Which database this is, for logs and benchmark labels; choose behaviour by `capabilities`. */
  readonly backend: Backend;
  readonly capabilities: StoreCapabilities;
  /** Logged requests: reads, searches and export (store/requests.ts). */
  readonly requests: RequestStore;
  /** Score history, the event feed, statistics and comparisons (store/scores.ts). */
  readonly scores: ScoreStore;
  /** Score schemas and their versions (store/score-schemas.ts). */
  readonly scoreSchemas: ScoreSchemaStore;
  /** Review queues: their items, claims and progress (store/review-queues.ts); writes are commands. */
  readonly reviewQueues: ReviewQueueStore;
  /** API keys, with a cache of the live ones (store/keys.ts). */
  readonly keys: KeyStore;
  readonly workspaces: WorkspaceStore;
  /** A workspace's model price overrides (store/pricing.ts); writes go through the write queue. */
  readonly prices: PriceStore;
  /** Dashboard users, memberships, sessions and setup links (store/accounts.ts). */
  readonly accounts: Accounts;
  /** Webhooks, their deliveries and the worker's fan-out and claims (store/webhooks.ts). */
  readonly webhooks: WebhookStore;
  /** Alerts, their evaluations and state changes (store/alerts.ts). */
  readonly alerts: AlertStore;
  /** End users' feedback: each workspace's token secret and allowed origins (store/feedback.ts). */
  readonly feedback: FeedbackStore;
  /** How another thread opens this store for reading (open-store.ts `openReader`); null when it cannot. */
  readonly readSource: ReadSource | null;
  /** The places each workspace's reads take turns for (workspace-reads.ts); null when reads take none. */
  readonly workspaceReads: WorkspaceReads | null;
  /** Brings the schema to the newest version; safe to run from several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** One cheap round trip to the database (readiness); rejects when it is unreachable. */
  ping(): Promise<void>;
  /** Runs `fn` in one write transaction and commits before resolving. */
  write<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T>;
  /**
   * Commits a batch of commands together (group commit, see group-commit.ts) and resolves with
   * each one's outcome, in order, once committed. Rejects only when the batch could not be run at all.
   */
  writeBatch(batch: readonly WriteCommand[]): Promise<Outcome[]>;
  /** Readies the batch write path (SQLite: its writer thread) so the first write does not wait. */
  startWriter(): Promise<void>;
  /**
   * Settings of the database server that will make searches and statistics slow, each a sentence
   * for the log at start (PostgreSQL without autovacuum plans without statistics); none on SQLite.
   */
  maintenanceWarnings(): Promise<string[]>;
}
