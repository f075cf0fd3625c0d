import type { NewRequest, RequestStatus } from '../domain/request-shape.js';
import type { RequestFilter, SortPosition, SortSpec } from '../domain/search-query.js';
import type { RequestContentText, RequestDetails, RequestPage, RequestSearch, RequestSummary } from './search.js';
import type { ScoreSource } from '../domain/score.js';
import type { Accounts } from './accounts.js';
import type { ScoreEventQuery } from './score-events.js';
import type { DistributionRow, ScoreAggregateQuery, ScoreStatsRows, StatsInterval } from './score-stats.js';
import type { InsertRequestCommand, Outcome, SetScoreCommand, WriteCommand } from './write-commands.js';

export type Backend = 'sqlite' | 'postgres';

/** Where another thread can open a read connection of its own to the same data (export threads). */
export type ReadSource = { backend: 'sqlite'; file: string } | { backend: 'postgres'; connectionString: string };

export interface Workspace {
  id: number;
  name: string;
  createdAt: number;
}

export interface ApiKeyInfo {
  id: number;
  workspaceId: number;
  label: string;
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** Who made a change: `key:<id>` or `user:<id>`, and through what. */
export interface Actor {
  id: string;
  source: ScoreSource;
}

export interface ScoreChangeOptions {
  comment?: string | null;
  batchId?: string | null;
}

export interface ScoreChange {
  requestId: number;
  name: string;
  oldValue: number | null;
  newValue: number | null;
}

export interface ScoreEvent extends ScoreChange {
  id: number;
  actor: string;
  source: string;
  comment: string | null;
  batchId: string | null;
  at: number;
}

export interface PromptLink {
  name: string;
  version: number | null;
  label: string | null;
  inputVariables: Record<string, unknown>;
}

/** A logged request with everything attached to it, as reads return it. */
export interface StoredRequest {
  id: number;
  workspaceId: number;
  provider: string;
  model: string;
  functionName: string;
  apiType: string | null;
  input: unknown;
  output: unknown;
  parameters: Record<string, unknown>;
  promptName: string | null;
  promptId: string | null;
  promptVersion: number | null;
  promptLabel: string | null;
  promptInputVariables: Record<string, unknown>;
  inputTokens: number;
  outputTokens: number;
  price: number;
  status: RequestStatus;
  errorType: string | null;
  errorMessage: string | null;
  startMs: number;
  endMs: number;
  latencyMs: number;
  spanId: string | null;
  createdAt: number;
  tags: string[];
  metadata: Record<string, string>;
  groupIds: number[];
  scores: Record<string, number>;
}

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

/** The storage interface both backends implement; it knows SQL and nothing of HTTP. */
export interface Store {
  readonly backend: Backend;
  /** Dashboard users, memberships, sessions and setup links (store/accounts.ts). */
  readonly accounts: Accounts;
  /** How another thread opens this store for reading (open-store.ts `openReader`); null when it cannot. */
  readonly readSource: ReadSource | null;
  /** Brings the schema to the newest version; safe to run from several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** One cheap round trip to the database (readiness); rejects when it is unreachable. */
  ping(): Promise<void>;
  /** Runs `fn` in one write transaction and commits before resolving. */
  write<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T>;
  /**
   * Commits a batch of commands together (group commit, see write-commands.ts) and resolves with
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

  /** On an empty store, creates workspace `default` and returns it; otherwise null. Race-safe. */
  bootstrapDefaultWorkspace(): Promise<Workspace | null>;
  createWorkspace(name: string): Promise<Workspace>;
  listWorkspaces(): Promise<Workspace[]>;
  findWorkspace(name: string): Promise<Workspace | null>;

  createApiKey(workspaceId: number, label: string, prefix: string, secretHash: string): Promise<ApiKeyInfo>;
  listApiKeys(workspaceId: number): Promise<ApiKeyInfo[]>;
  /** Returns false when no such key exists or it was already revoked. */
  revokeApiKey(id: number): Promise<boolean>;
  /** The live (not revoked) key with this hash. */
  findApiKey(secretHash: string): Promise<ApiKeyInfo | null>;
  touchApiKey(id: number, at: number): Promise<void>;

  getRequest(workspaceId: number, id: number): Promise<StoredRequest | null>;
  // Filtered reads of requests: search, PromptLayer's search and export (implemented in search.ts).
  /** One page of matching requests, without input, output, parameters or prompt variables. */
  searchRequests(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestSummary>>;
  /** One page of matching requests with everything logged, content as its stored JSON text (see parseContent). */
  searchRequestContents(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestContentText>>;
  /** Whether the backend has COPY (PostgreSQL): see copyExportColumns. */
  readonly copiesCsv: boolean;
  /**
   * A CSV export's request columns (search.ts COPY_COLUMNS) of the matching requests in sort order
   * (by a column), as PostgreSQL's COPY writes them: RFC 4180 quoting, LF line ends, one row per
   * request. Only where copiesCsv.
   */
  copyExportColumns(workspaceId: number, filter: RequestFilter | null, sort: SortSpec): AsyncIterable<Buffer>;
  /** The tags, metadata, groups and scores of these requests (ids read from the workspace). */
  requestDetails(ids: number[]): Promise<Map<number, RequestDetails>>;
  /** Where each full page of `rows` matching requests ends, for a sort by a column (see selectPageEnds). */
  pageEnds(workspaceId: number, filter: RequestFilter | null, sort: SortSpec, rows: number): Promise<SortPosition[]>;
  /** How many requests match; with `bound`, at most `bound + 1` (more than the bound reads as bound + 1). */
  countRequests(workspaceId: number, filter: RequestFilter | null, bound?: number): Promise<number>;
  /** The distinct score names on the matching requests, sorted. */
  scoreNamesOf(workspaceId: number, filter: RequestFilter | null): Promise<string[]>;
  scoreHistory(workspaceId: number, requestId: number): Promise<ScoreEvent[]>;

  // Score history feed, statistics and comparisons (implemented in score-events.ts, score-stats.ts).
  /** The workspace's score events after a keyset cursor, oldest first. */
  scoreEvents(workspaceId: number, query: ScoreEventQuery): Promise<ScoreEvent[]>;
  /** Which of `ids` are requests of this workspace. */
  existingRequestIds(workspaceId: number, ids: readonly number[]): Promise<Set<number>>;
  scoreNameExists(workspaceId: number, name: string): Promise<boolean>;
  /** How many scores have each value, per name and group (comparisons). */
  scoreDistribution(workspaceId: number, query: ScoreAggregateQuery): Promise<DistributionRow[]>;
  /** The distribution and the time series together (statistics). */
  scoreStats(workspaceId: number, query: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows>;
}
