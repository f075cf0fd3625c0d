/**
 * The store's shared row and result types: what reads return and queries take. Plain data with
 * camelCase fields; snake_case columns, JSON text and bigint ids stop at the converters.
 */
import type { RequestStatus } from '../domain/request-shape.js';
import type { RequestFilter, SortPosition, SortSpec } from '../domain/search-query.js';
import type { ScoreSource } from '../domain/score.js';
import type { ScoreEventKind, ScoreSchemaDefinition } from '../domain/score-schema.js';

export type Backend = 'sqlite' | 'postgres';

/** Where another thread can open a read connection of its own to the same data (export threads). */
/**
 * How another thread opens a read connection of its own to a store (an export thread's), and how
 * long each of its read statements may run: the store's read deadline, so that a stuck export
 * cannot hold a thread or a connection forever.
 */
export type ReadSource = ({ backend: 'sqlite'; file: string } | { backend: 'postgres'; connectionString: string; readParallelWorkers?: number }) & { readTimeoutMs: number };

export interface Workspace {
  id: number;
  name: string;
  createdAt: number;
}

/** A workspace's settings (`GET` / `PATCH /v1/workspace`). */
export interface WorkspaceSettings {
  /** Score writes only under names with a schema. */
  strictScoreNames: boolean;
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
  /** The score's label after the change (a labelled schema), when known. */
  label?: string | null;
  /** Whose rating the change was. */
  rater?: string;
  /** The value the rater gave (null: a rating withdrawn or the score deleted). */
  rating?: number | null;
  /** The schema version in force, null without a schema. */
  schemaVersion?: number | null;
}

export interface ScoreEvent extends ScoreChange {
  id: number;
  actor: string;
  source: string;
  comment: string | null;
  batchId: string | null;
  at: number;
  rater: string;
  rating: number | null;
  label: string | null;
  reasons: string[] | null;
  schemaVersion: number | null;
  kind: ScoreEventKind;
}

/** One rater's current rating of a request and name (ScoreStore.currentRatings). */
export interface CurrentRating {
  requestId: number;
  name: string;
  rater: string;
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  /** When the rating was given, epoch ms. */
  at: number;
  /** The history row that holds it. */
  eventId: number;
}

/** A request's current score of one name with what the latest change gave (score_details). */
export interface ScoreDetail {
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  actor: string;
  rater: string;
  updatedAt: number;
  schemaVersion: number | null;
}

/** One version of a score schema as stored. */
export interface ScoreSchemaVersion extends ScoreSchemaDefinition {
  name: string;
  version: number;
  createdAt: number;
  createdBy: string;
  archivedAt: number | null;
}

/** A schema with every version, newest first (`versions[0]` is the latest). */
export interface ScoreSchemaRecord {
  name: string;
  /** The version in force; null when archived. */
  current: ScoreSchemaVersion | null;
  versions: ScoreSchemaVersion[];
}

/** What a put or archive of a schema did. */
export interface ScoreSchemaWrite {
  schema: ScoreSchemaVersion;
  /** False when an identical definition was already in force (no new version). */
  created: boolean;
}

export interface PromptLink {
  name: string;
  version: number | null;
  label: string | null;
  inputVariables: Record<string, unknown>;
}

export type PriceSource = 'logged' | 'computed' | null;

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
  /** Whether `price` was logged by the client or computed by Tally from model and tokens; null: no price. */
  priceSource: PriceSource;
  tags: string[];
  metadata: Record<string, string>;
  groupIds: number[];
  scores: Record<string, number>;
  /** Per score name, what its latest change gave beside the value; present where the read asked (DetailOptions). */
  scoreDetails?: Record<string, ScoreDetail>;
}

export interface RequestSearch {
  filter: RequestFilter | null;
  sort: SortSpec;
  /** Keyset paging: only rows strictly after this position in sort order. */
  after?: SortPosition | null;
  /**
   * Only rows up to this position in sort order, itself included (sorts by a column only): with
   * `after`, a range of the sort order that a parallel export reads as one page (see selectPageEnds).
   */
  upTo?: SortPosition | null;
  /** Page-number paging (PromptLayer's search): rows to skip. Not combined with `after`. */
  offset?: number;
  limit: number;
}

/** Where each full page of `rows` matching requests ends, for a sort by a column (a parallel export's ranges). */
export interface PageEndsQuery {
  workspaceId: number;
  filter: RequestFilter | null;
  sort: SortSpec;
  rows: number;
}

/** A request without its bulky content (input, output, parameters, prompt variables). */
export type RequestSummary = Omit<StoredRequest, 'input' | 'output' | 'parameters' | 'promptInputVariables'>;

export interface RequestPage<T> {
  items: T[];
  /** Where the next page starts (the last item's position), or null when this page is the last. */
  next: SortPosition | null;
}

/**
 * What a request has attached: tags, metadata, groups and scores; with `scoreDetails` where the
 * read asked for them (one request, export).
 */
export type RequestDetails = Pick<StoredRequest, 'tags' | 'metadata' | 'groupIds' | 'scores' | 'scoreDetails'>;

/**
 * A request with its content (input, output, parameters, prompt variables) as the JSON text it is
 * stored as: CSV export writes that text as it is, which saves parsing and re-serializing the JSON
 * of every row, a large part of an export's CPU. `parseContent` makes the StoredRequest.
 */
export type RequestContentText = RequestSummary & { content: { input: string; output: string; parameters: string; promptInputVariables: string } };

/** A page of the workspace-wide score-event feed, in event id order. */
export interface ScoreEventQuery {
  /** Only events with a larger id (the feed's keyset cursor); 0 starts at the beginning. */
  afterId: number;
  limit: number;
  name?: string | undefined;
  requestId?: number | undefined;
}

/** `metadata.KEY`: by the value of one metadata key (requests without it make the null group). */
export type StatsGroupBy = 'prompt' | 'model' | 'tag' | `metadata.${string}`;
export type StatsInterval = 'hour' | 'day';

export interface ScoreAggregateQuery {
  name?: string | undefined;
  groupBy?: StatsGroupBy | undefined;
  /** The shared request filter (search's), compiled by search-filter.ts; null: the whole workspace. */
  filter?: RequestFilter | null | undefined;
  /**
   * Count ratings instead of scores: each current rating (ScoreStore.currentRatings) by a rater of
   * these sources (`end_user`, or reviewers' `api`, `dashboard`, ...). Absent: the scores.
   */
  raterSources?: readonly string[] | undefined;
  /** Only requests with this id or a larger one: a window of the newest (ScoreStore.windowStart). */
  minRequestId?: number | undefined;
}

/** The group a row belongs to, as stored: prompt name and version, model, or tag (null: untagged). */
export interface StatsGroupKey {
  promptName?: string | null;
  promptVersion?: number | null;
  model?: string;
  tag?: string | null;
  /** The value of the grouping's metadata key; null: requests without the key. */
  metadataValue?: string | null;
}

export interface DistributionRow {
  name: string;
  group: StatsGroupKey | null;
  value: number;
  count: number;
}

export interface SeriesRow {
  name: string;
  group: StatsGroupKey | null;
  /** Start of the UTC hour or day, epoch ms. */
  bucketStart: number;
  count: number;
  /** Sum of the scores in the bucket: an exact integer, so the mean is the same on every backend. */
  sum: number;
}

/** How many current scores of a name have this value and carry these reasons. */
export interface ReasonRow {
  name: string;
  value: number;
  reasons: string[];
  count: number;
}

/** A statistics query's two reads: how many scores have each value, and each time bucket's count and sum. */
export interface ScoreStatsRows {
  distribution: DistributionRow[];
  series: SeriesRow[];
  /** Grouping by tag or metadata: groups beyond MAX_STATS_GROUPS (the ones with fewest scores) were left out. */
  groupsTruncated?: boolean;
}

/** What a score is set against in `GET /v1/scores/correlation`. */
export type CorrelationX = 'latency_ms' | 'cost' | 'input_tokens' | 'output_tokens' | 'tokens';

export interface CorrelationQuery {
  name: string;
  x: CorrelationX;
  bins: number;
  filter: RequestFilter | null;
  /** Most pairs read: those of the newest scored requests (by id). */
  limit: number;
}

/** A correlation read: its bins, and whether older pairs were left out by the limit. */
export interface CorrelationRows {
  bins: CorrelationBinRow[];
  truncated: boolean;
}

/**
 * One bin of a correlation read: the scored requests whose average rank of x falls in the bin,
 * with sums of their doubled, centred average ranks (2 * rank - (n + 1)) for Spearman's rho.
 */
export interface CorrelationBinRow {
  bin: number;
  count: number;
  xMin: number;
  xMax: number;
  xSum: number;
  ySum: number;
  dxx: number;
  dyy: number;
  dxy: number;
}

/** Values in use in a workspace, each list bounded by the limit asked for. */
export interface FacetRows {
  promptNames: string[];
  promptVersions: { promptName: string; version: number }[];
  models: string[];
  tags: string[];
  metadataKeys: string[];
  scoreNames: string[];
}

export interface Webhook {
  id: number;
  workspaceId: number;
  url: string;
  description: string;
  events: string[];
  format: string;
  /** The signing secret; never sent back after creation and rotation. */
  secret: string;
  enabled: boolean;
  /** Why it was disabled: `failing` (by the worker) or `manual`; null while enabled. */
  disabledReason: string | null;
  /** Since when every attempt has failed; null after a success. */
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewWebhook {
  workspaceId: number;
  url: string;
  description: string;
  events: string[];
  format: string;
  secret: string;
}

export interface WebhookPatch {
  url?: string;
  description?: string;
  events?: string[];
  format?: string;
  enabled?: boolean;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: number;
  webhookId: number;
  eventId: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  giveUpAt: number;
  createdAt: number;
  lastAttemptAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

/** A delivery claimed for sending, with what sending it needs. */
export interface ClaimedDelivery extends WebhookDelivery {
  workspaceId: number;
  payload: string;
  url: string;
  secret: string;
  format: string;
}

export interface NewDelivery {
  eventId: string;
  type: string;
  /** Deliveries of one key are sent in id order: the next waits while an earlier one is pending. */
  orderKey: string | null;
  payload: string;
}

/** A logged request as `request.logged` reports it: summary fields only. */
export interface LoggedRequest {
  id: number;
  provider: string;
  model: string;
  promptName: string | null;
  promptVersion: number | null;
  status: string;
  inputTokens: number;
  outputTokens: number;
  price: number;
  latencyMs: number;
  startMs: number;
  createdAt: number;
}

export interface AlertEventRow {
  id: number;
  alertId: number;
  type: string;
  /** The event's `data` as JSON text. */
  payload: string;
  at: number;
}

/** What one fan-out read from the outbox after a webhook's cursors, oldest first in each stream. */
export interface OutboxBatch {
  workspace: Workspace;
  webhook: Webhook;
  requests: LoggedRequest[];
  scoreEvents: ScoreEvent[];
  alertEvents: AlertEventRow[];
}

export interface Alert {
  id: number;
  workspaceId: number;
  name: string;
  scoreName: string;
  /** The native filter node as given (JSON), or null. */
  filter: unknown;
  windowMs: number;
  minCount: number;
  threshold: number;
  direction: 'below' | 'above';
  confidence: number;
  kind: 'mean' | 'share';
  shareValue: number | null;
  enabled: boolean;
  state: 'ok' | 'firing';
  nextEvaluationAt: number;
  createdAt: number;
  updatedAt: number;
}

export type NewAlert = Omit<Alert, 'id' | 'state' | 'nextEvaluationAt' | 'createdAt' | 'updatedAt' | 'enabled'>;

export interface AlertStateRow {
  id: number;
  at: number;
  state: 'ok' | 'firing';
  changed: boolean;
  count: number;
  value: number | null;
  low: number | null;
  high: number | null;
}
