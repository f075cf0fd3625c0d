/*
 * The wire types of Tally's API, written to match the server's TypeBox schemas field for field
 * (packages/server/src/schemas). test/types.test-d.ts checks them against those schemas, so the two
 * cannot drift apart without the typecheck failing.
 */

/** A request id: a positive integer (a decimal string is accepted, as PromptLayer's SDKs send). */
export type RequestId = number | string;

/** Epoch seconds (int or float) or an ISO 8601 string. */
export type Timestamp = number | string;

export type RequestStatus = 'SUCCESS' | 'WARNING' | 'ERROR';

export type ErrorType =
  | 'PROVIDER_TIMEOUT'
  | 'PROVIDER_QUOTA_LIMIT'
  | 'PROVIDER_RATE_LIMIT'
  | 'PROVIDER_PARTIAL_RESPONSE'
  | 'PROVIDER_AUTH_ERROR'
  | 'PROVIDER_ERROR'
  | 'TEMPLATE_RENDER_ERROR'
  | 'VARIABLE_MISSING_OR_EMPTY'
  | 'UNKNOWN_ERROR';

// ---- PromptLayer-shaped calls ---------------------------------------------------------------

export interface TrackScoreParams {
  request_id: RequestId;
  /** Integer 0..100. */
  score: number;
  /** Score name; absent means `default`. */
  name?: string | null;
}

export interface TrackMetadataParams {
  request_id: RequestId;
  /** String to string; a key tracked again replaces its value. */
  metadata: Record<string, string>;
}

export interface TrackPromptParams {
  request_id: RequestId;
  prompt_name: string;
  prompt_input_variables?: Record<string, unknown> | null;
  /** Give a version or a label, not both. */
  version?: RequestId | null;
  label?: string | null;
}

export interface TrackGroupParams {
  request_id: RequestId;
  group_id: RequestId;
}

/** A chat or completion prompt blueprint, as `/log-request` takes it. */
export interface PromptBlueprint {
  type: 'chat' | 'completion';
  /** Chat: messages whose `content` is an array of blocks such as `{ type: 'text', text }`. */
  messages?: unknown[];
  /** Completion: content blocks. */
  content?: unknown[];
  [key: string]: unknown;
}

/** The body of `POST /log-request`. */
export interface LogRequestParams {
  provider: string;
  model: string;
  input: PromptBlueprint;
  output: PromptBlueprint;
  request_start_time: Timestamp;
  request_end_time: Timestamp;
  parameters?: Record<string, unknown> | null;
  tags?: string[] | null;
  metadata?: Record<string, string> | null;
  prompt_name?: string | null;
  prompt_id?: number | string | null;
  prompt_version_number?: number | null;
  prompt_input_variables?: Record<string, unknown> | null;
  input_tokens?: number | null;
  output_tokens?: number | null;
  price?: number | null;
  function_name?: string | null;
  /** Integer 0..100, stored under `score_name` (or `default`). A 0 without a name means none. */
  score?: number | null;
  score_name?: string | null;
  api_type?: string | null;
  status?: RequestStatus | null;
  error_type?: ErrorType | null;
  error_message?: string | null;
  group_id?: RequestId | null;
  /** Also mint a feedback token for the new request; the result then has `feedback_token`. */
  feedback_token?: FeedbackTokenSpec;
  span_id?: number | string | null;
}

/** The answer of `POST /log-request` (201). */
export interface LogRequestResult {
  id: number;
  request_id: number;
  prompt_version: number | null;
  status: string;
  error_type: string | null;
  error_message: string | null;
  /** Present when the call asked for one with `feedback_token`. */
  feedback_token?: FeedbackToken;
}

// ---- End users' feedback ----------------------------------------------------------------------

/**
 * What a feedback token allows and for whom. Give at most one of `values`, `labels` and `range`;
 * none allows any score 0..100 (within the name's schema, if it has one).
 */
export interface FeedbackTokenSpec {
  /** Score name; `default` when absent. */
  name?: string;
  /** The only values accepted, e.g. `[100, 0]` for thumbs up and down. */
  values?: number[];
  /** The only labels accepted (of the name's schema). */
  labels?: string[];
  /** Accepted values from `min` to `max`, inclusive. */
  range?: { min: number; max: number };
  /**
   * Who will rate: their ratings are recorded as rater `end_user:<end_user>` (else
   * `end_user:<token id>`), and a second submission replaces the first. The page can read it: use
   * an opaque id, not an email.
   */
  end_user?: string;
  /** Seconds the token lives: default 86400 (a day), 60 to 2592000 (30 days). */
  expires_in?: number;
}

/** A token a web page submits feedback with (`@tally/sdk/feedback`). */
export interface FeedbackToken {
  token: string;
  /** ISO 8601, UTC. */
  expires_at: string;
}

export interface CreateFeedbackTokenParams extends FeedbackTokenSpec {
  request_id: RequestId;
}

export interface CreatedFeedbackToken extends FeedbackToken {
  request_id: number;
  name: string;
}

/** `createTokens`: fields given here apply to every item; an item's own win. */
export interface CreateFeedbackTokensParams extends FeedbackTokenSpec {
  items: CreateFeedbackTokenParams[];
}

// ---- Scores ---------------------------------------------------------------------------------

/** One change of a score, as history and the event feed return it. */
export interface ScoreEvent {
  /** Increases with every change in the workspace. */
  id: number;
  request_id: number;
  name: string;
  /** null when the score did not exist before. */
  old_value: number | null;
  /** null when the change deleted the score. */
  new_value: number | null;
  /** `key:<id>` or `user:<id>`. */
  actor: string;
  /** `api`, `dashboard`, `sdk`, `batch`, `cli` or `end_user`. */
  source: string;
  comment: string | null;
  batch_id: string | null;
  /** ISO 8601. */
  at: string;
  /** `rating`: a rater gave (or, with `rating` null, withdrew) a rating; `delete`: the score and every rating were deleted; `adjudication`: the final value was set. */
  kind: 'rating' | 'delete' | 'adjudication';
  /** Whose rating: `key:<id>`, `user:<id>`, `external:<name>` or `end_user:<id>`. */
  rater: string;
  /** The value the rater gave; null when withdrawn or deleted. */
  rating: number | null;
  label: string | null;
  reasons: string[] | null;
  /** The schema version in force; null without a schema. */
  schema_version: number | null;
}

export interface ScoreChange {
  request_id: number;
  name: string;
  old_value: number | null;
  /** The score after the change: the rating, or the aggregate of the ratings under mean / median. */
  new_value: number | null;
  label?: string | null;
  rater?: string;
  /** The value this rater gave. */
  rating?: number | null;
  schema_version?: number | null;
}

/** A score given by its label under a categorical or boolean schema, instead of a number. */
export interface ScoreLabelValue {
  label: string;
}

/** What a score write may carry beside its value. */
export interface RatingOptions {
  /** Kept with the score and in its history; at most 4096 bytes. */
  comment?: string;
  /** A subset of the reasons the name's schema declares. */
  reasons?: string[];
  /** A named external rater (stored as `external:<name>`); absent: your key is the rater. */
  rater?: string;
}

/** One rater's current rating of a name. */
export interface ScoreRating {
  rater: string;
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  at: string;
}

/** A score with what its latest change gave (`score_details` of a request). */
export interface ScoreDetail {
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  actor: string;
  rater: string;
  updated_at: string;
  schema_version: number | null;
  /** Each rater's current rating (on `requests.get` and in JSONL exports). */
  ratings?: ScoreRating[];
}

export type ScoreKind = 'numeric' | 'categorical' | 'boolean';
export type ScoreAggregate = 'latest' | 'mean' | 'median' | 'adjudicated';

/** What `scoreSchemas.put` takes: the whole definition, absent fields take their defaults. */
export interface ScoreSchemaDefinition {
  kind: ScoreKind;
  description?: string | null;
  rubric?: string | null;
  /** Default true. */
  higher_is_better?: boolean | null;
  /** Numeric only; default 0 and 100. */
  min?: number | null;
  max?: number | null;
  /** Categorical: labels with distinct values 0..100; boolean: two labels valued 100 and 0 (default yes / no). */
  labels?: { label: string; value: number }[] | null;
  /** The reasons a rating may carry. */
  reasons?: string[] | null;
  /** A score below this needs a comment. */
  comment_required_below?: number | null;
  /** Default `latest`. */
  aggregate?: ScoreAggregate | null;
}

/** One version of a score schema. */
export interface ScoreSchema {
  name: string;
  version: number;
  kind: ScoreKind;
  description: string | null;
  rubric: string | null;
  higher_is_better: boolean;
  min: number;
  max: number;
  labels: { label: string; value: number }[] | null;
  reasons: string[];
  comment_required_below: number | null;
  aggregate: ScoreAggregate;
  created_at: string;
  created_by: string;
  archived_at: string | null;
}

/** A schema with every version, newest first; `schema` is null when archived. */
export interface ScoreSchemaRecord {
  name: string;
  schema: ScoreSchema | null;
  versions: ScoreSchema[];
}

export interface WorkspaceInfo {
  id: number;
  name: string;
  created_at: string;
  strict_score_names: boolean;
}

/** The settings `workspace.update` may change; only those given change. */
export interface WorkspaceSettings {
  /** Refuse score writes to names without a schema. */
  strict_score_names?: boolean;
}

export interface ScoreEventsParams {
  /** `next_cursor` of the previous page; absent: from the first event. */
  after?: string;
  /** 1..1000, default 100. */
  limit?: number;
  name?: string;
  request_id?: RequestId;
}

export interface ScoreEventsPage {
  events: ScoreEvent[];
  /** Pass as `after` for the next page; kept even for an empty page, so a sync can poll with it. */
  next_cursor: string | null;
  has_more: boolean;
}

interface BatchItemBase {
  request_id: RequestId;
  /** Absent means `default`. */
  name?: string | null;
  /** This item's comment, instead of the batch's. */
  comment?: string;
  reasons?: string[];
  /** A named external rater. */
  rater?: string;
}

/** One score of a batch: a `score`, or a `label` under a schema with labels (not both). */
export type BatchItem = BatchItemBase & ({ score: number; label?: undefined } | { label: string; score?: undefined });

export interface BatchResult {
  batch_id: string;
  count: number;
  changes: { request_id: number; name: string; old_value: number | null; new_value: number; label?: string | null; rater?: string; rating?: number | null; schema_version?: number | null }[];
}

/** The search filters shared by search, stats, compare and export (GET form). */
export interface FilterParams {
  /** A native filter node; sent as JSON text in GET calls. */
  filter?: FilterNode;
  /** Text contained in the input or output. */
  q?: string;
}

export type StatsGroupBy = 'prompt' | 'model' | 'tag' | `metadata.${string}`;

export interface StatsParams extends FilterParams {
  /** One score name; absent: every name. */
  name?: string;
  /** Histogram buckets over 0..100, default 10. */
  buckets?: number;
  interval?: 'hour' | 'day';
  /** `metadata.KEY`: by the value of one metadata key (null: requests without it). Tag and metadata keep the 50 groups with the most scores. */
  group_by?: StatsGroupBy;
  /** With `name`: count only the newest `limit` matching requests scored `name` (1 to 1000000); `window` says so. */
  limit?: number;
  /** Request start time range: `from` inclusive, `to` exclusive. */
  from?: Timestamp;
  to?: Timestamp;
  prompt_name?: string;
  prompt_version?: number;
  model?: string;
  tag?: string;
}

export interface StatsEntry {
  name: string;
  group: { prompt_name?: string | null; prompt_version?: number | null; model?: string; tag?: string | null; metadata_value?: string | null } | null;
  count: number;
  mean: number | null;
  /** Sample standard deviation; null below 2 values. */
  stddev: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p90: number | null;
  histogram: { from: number; to: number; count: number }[];
  series: { start: string; count: number; mean: number }[];
}

export interface StatsResult {
  stddev: 'sample';
  percentiles: 'linear';
  interval: 'hour' | 'day';
  group_by: StatsGroupBy | null;
  /** Grouped by tag or metadata: whether groups beyond the 50 with the most scores were left out. */
  groups_truncated?: boolean;
  /** With `limit`: the figures count the newest `limit` matching requests scored `name`; `truncated` when older ones were left out. */
  window?: { limit: number; truncated: boolean };
  scores: StatsEntry[];
  /** Per score name whose scores carry reasons: how many carry each, and how many of those are below `low_below`. */
  reasons: { name: string; low_below: number; reasons: { reason: string; count: number; low: number }[] }[];
}

/** One side of a comparison; give at least one criterion. */
export interface Cohort {
  prompt_name?: string;
  prompt_version?: number;
  model?: string;
  tag?: string;
  from?: Timestamp;
  to?: Timestamp;
}

export interface CompareParams extends FilterParams {
  /** The score name compared. */
  name: string;
  a: Cohort;
  b: Cohort;
}

export interface CompareResult {
  name: string;
  test: 'welch_t';
  confidence: number;
  a: { criteria: Record<string, string | number>; count: number; mean: number | null; stddev: number | null };
  b: { criteria: Record<string, string | number>; count: number; mean: number | null; stddev: number | null };
  /** Mean of b minus mean of a. */
  difference: number | null;
  ci: { low: number; high: number } | null;
  t: number | null;
  df: number | null;
  p_value: number | null;
  verdict: 'a_better' | 'b_better' | 'no_significant_difference' | 'not_enough_data';
}

// ---- Search ---------------------------------------------------------------------------------

export type NumberOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'between' | 'in' | 'not_in' | 'exists' | 'not_exists';
export type StringOp = '=' | '!=' | 'eq' | 'neq' | 'in' | 'not_in' | 'contains' | 'not_contains' | 'starts_with' | 'ends_with' | 'exists' | 'not_exists';
export type TagOp = 'any' | 'all' | 'none' | 'empty' | 'not_empty';

/** A condition of a native filter. */
export type FilterCondition =
  | { field: 'score'; name?: string; op: NumberOp; value?: number | number[] }
  | { field: 'tags'; op: TagOp; value?: string[] }
  | { field: 'metadata'; key: string; op: StringOp; value?: string | string[] }
  | { field: 'provider' | 'model' | 'function_name' | 'prompt_name' | 'prompt_label' | 'status' | 'error_type'; op: StringOp; value?: string | string[] }
  | {
      field: 'id' | 'prompt_version' | 'latency_ms' | 'price' | 'cost' | 'input_tokens' | 'output_tokens' | 'tokens' | 'request_start_time' | 'request_end_time';
      op: NumberOp;
      value?: number | string | (number | string)[];
    }
  | { field: 'text' | 'input' | 'output'; op: 'contains' | 'not_contains'; value: string };

/** A native filter node: a condition or an AND/OR group of nodes (nestable). */
export type FilterNode = FilterCondition | { logic: 'and' | 'or'; filters: FilterNode[] };

/** Sort keys: a column, `score` (the `default` score) or `score.NAME`. */
export type SortBy =
  | 'request_start_time'
  | 'latency_ms'
  | 'cost'
  | 'price'
  | 'tokens'
  | 'input_tokens'
  | 'output_tokens'
  | 'status'
  | 'id'
  | 'score'
  | `score.${string}`;

export interface SearchParams extends FilterParams {
  sort_by?: SortBy;
  sort_order?: 'asc' | 'desc';
  /** Page size, 1..500 (default 50). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
  /**
   * More filters as query parameters, AND-combined with `filter` and `q`; see {@link SimpleFilters}.
   * With `where` the page is fetched by `GET /v1/requests/search` (a long `filter` may then exceed
   * a URL's length); without it by `POST`.
   */
  where?: SimpleFilters;
}

/** A request as search returns it: everything but the logged content. */
export interface RequestItem {
  id: number;
  provider: string;
  model: string;
  function_name: string;
  api_type: string | null;
  prompt_name: string | null;
  prompt_id: string | null;
  prompt_version: number | null;
  prompt_label: string | null;
  input_tokens: number;
  output_tokens: number;
  /** Input plus output tokens. */
  tokens: number;
  price: number;
  /** `logged`: the client sent the price; `computed`: Tally priced it from model and tokens; null: no price. */
  price_source: 'logged' | 'computed' | null;
  status: string;
  error_type: string | null;
  error_message: string | null;
  /** ISO 8601. */
  request_start_time: string;
  /** ISO 8601. */
  request_end_time: string;
  latency_ms: number;
  span_id: string | null;
  group_ids: number[];
  tags: string[];
  metadata: Record<string, string>;
  /** Current scores by name. */
  scores: Record<string, number>;
  /** ISO 8601: when Tally stored it. */
  created_at: string;
}

export interface SearchPage {
  items: RequestItem[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
  has_more: boolean;
}

/** Everything logged about one request, with its current scores. */
export interface RequestDetail extends RequestItem {
  input: unknown;
  output: unknown;
  parameters: Record<string, unknown>;
  prompt_input_variables: Record<string, unknown>;
  /** Per score name: label, comment, reasons, rater, source, time, schema version and each rater's rating. */
  score_details?: Record<string, ScoreDetail>;
}

/**
 * The simple query-parameter filters of `GET /v1/requests/search` and export, AND-combined:
 * e.g. `{ model: 'gpt-4o', tag: ['prod'], 'score.quality': 'lt:50', 'metadata.team': 'search' }`.
 * Repeat a filter with an array.
 */
export type SimpleFilters = Record<string, string | number | (string | number)[] | undefined>;

export interface ExportParams extends FilterParams {
  format: 'csv' | 'jsonl';
  sort_by?: SortBy;
  sort_order?: 'asc' | 'desc';
  /** More filters as query parameters; see {@link SimpleFilters}. */
  where?: SimpleFilters;
}

/** Events a webhook can subscribe to. */
export type WebhookEventType = 'score.created' | 'score.updated' | 'score.deleted' | 'request.logged' | 'alert.fired' | 'alert.resolved';

export interface CreateWebhookParams {
  url: string;
  events: WebhookEventType[];
  description?: string;
  /** `tally` (signed JSON events, the default) or `slack` (an incoming-webhook message). */
  format?: 'tally' | 'slack';
}

export interface UpdateWebhookParams {
  url?: string;
  events?: WebhookEventType[];
  description?: string;
  format?: 'tally' | 'slack';
  enabled?: boolean;
}

export interface Webhook {
  id: number;
  url: string;
  description: string;
  events: WebhookEventType[];
  format: 'tally' | 'slack';
  enabled: boolean;
  /** `failing` (disabled after 3 days of failures) or `manual`; null while enabled. */
  disabled_reason: string | null;
  failing_since: string | null;
  deliveries: { pending: number; delivered: number; failed: number };
  created_at: string;
  updated_at: string;
}

export interface WebhookDelivery {
  id: number;
  event_id: string;
  type: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

export interface WebhookDeliveriesParams {
  status?: 'pending' | 'delivered' | 'failed';
  before?: number;
  limit?: number;
}

export interface WebhookDeliveriesPage {
  deliveries: WebhookDelivery[];
  next_before: number | null;
}

export interface CreateAlertParams {
  name: string;
  score_name: string;
  /** A native filter node over the scored requests (as `requests.search`). */
  filter?: FilterNode | null;
  /** Seconds, or a duration like `'15m'`, `'1h'`, `'7d'`. */
  window: number | string;
  min_count: number;
  /** Mean alerts: a score 0..100; share alerts: a proportion 0..1. */
  threshold: number;
  direction: 'below' | 'above';
  /** Default 0.95. */
  confidence?: number;
  kind?: 'mean' | 'share';
  /** Share alerts: the score value counted (0 for a thumbs-down). */
  value?: number;
  /** Share alerts, instead of `value`: a label of the score name's schema, stored as its value at creation. */
  label?: string;
}

export interface Alert {
  id: number;
  name: string;
  score_name: string;
  filter: FilterNode | null;
  window: string;
  window_seconds: number;
  min_count: number;
  threshold: number;
  direction: 'below' | 'above';
  confidence: number;
  kind: 'mean' | 'share';
  value: number | null;
  enabled: boolean;
  state: 'ok' | 'firing';
  next_evaluation_at: string;
  request_log_url: string;
  created_at: string;
}

export interface AlertStateEntry {
  at: string;
  state: 'ok' | 'firing';
  /** This evaluation fired or resolved the alert. */
  changed: boolean;
  count: number;
  value: number | null;
  low: number | null;
  high: number | null;
}

export interface AlertDetail {
  alert: Alert;
  history: AlertStateEntry[];
}

export interface AlertEvaluation {
  state: 'ok' | 'firing';
  changed: boolean;
  reason: 'too_few_scores' | 'past_threshold' | 'back_within' | 'undecided';
  count: number;
  value: number | null;
  mean: number | null;
  share: number | null;
  interval: { low: number; high: number; confidence: number } | null;
  threshold: number;
  direction: 'below' | 'above';
}

/** The request figure a score is set against: `tokens` is input plus output. */
export type CorrelationX = 'latency_ms' | 'cost' | 'input_tokens' | 'output_tokens' | 'tokens';

export interface CorrelationParams extends FilterParams {
  /** The score name. */
  name: string;
  x: CorrelationX;
  /** Bins by the rank of x, 2 to 20; default 10 (deciles). */
  bins?: number;
  /** Most pairs read, from the newest scored requests: 2 to 1000000; default 10000. */
  limit?: number;
  from?: Timestamp;
  to?: Timestamp;
  prompt_name?: string;
  prompt_version?: number;
  model?: string;
  tag?: string;
}

export interface CorrelationResult {
  name: string;
  x: CorrelationX;
  /** Scored requests counted. */
  n: number;
  /** The pairs read: those of the newest `n` scored requests; `truncated` when older ones were left out. */
  window: { limit: number; truncated: boolean };
  /** Spearman's rank correlation; tied values share the mean of their ranks. Null below 2 pairs or without variance. */
  spearman: { rho: number | null; n: number; ties: 'average' };
  /** Per bin of x's rank (lowest x first; empty bins left out): its count, range and mean of x, and mean score. */
  bins: { bin: number; count: number; x_min: number; x_max: number; x_mean: number; score_mean: number }[];
}

/** One list of values in use; `truncated` when more exist than the limit. */
export interface FacetList<T> {
  values: T[];
  truncated: boolean;
}

export interface FacetsResult {
  limit: number;
  prompts: FacetList<{ prompt_name: string; versions: number[] }>;
  models: FacetList<string>;
  tags: FacetList<string>;
  metadata_keys: FacetList<string>;
  /** Names with a current score on some request. */
  score_names: FacetList<string>;
}
