import type { Generated } from 'kysely';

// Column types as both backends hand them to Kysely once converters run: times are epoch
// milliseconds, JSON is text, ids are numbers (PostgreSQL's int8 is parsed to a number).

export interface WorkspacesTable {
  id: Generated<number>;
  name: string;
  created_at: number;
  /** 0 or 1: score writes only under names with a schema (migration 009). */
  strict_score_names: Generated<number>;
}

export interface ApiKeysTable {
  id: Generated<number>;
  workspace_id: number;
  label: string;
  prefix: string;
  secret_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface RequestsTable {
  id: Generated<number>;
  workspace_id: number;
  provider: string;
  model: string;
  function_name: string;
  api_type: string | null;
  input: string;
  output: string;
  parameters: string;
  prompt_name: string | null;
  prompt_id: string | null;
  prompt_version: number | null;
  prompt_label: string | null;
  prompt_input_variables: string;
  input_tokens: number;
  output_tokens: number;
  price: number;
  status: string;
  error_type: string | null;
  error_message: string | null;
  request_start_time: number;
  request_end_time: number;
  latency_ms: number;
  span_id: string | null;
  created_at: number;
}

export interface RequestTagsTable {
  workspace_id: number;
  request_id: number;
  tag: string;
}

export interface RequestMetadataTable {
  workspace_id: number;
  request_id: number;
  key: string;
  value: string;
}

export interface GroupsTable {
  id: Generated<number>;
  workspace_id: number;
  created_at: number;
}

export interface RequestGroupsTable {
  workspace_id: number;
  request_id: number;
  group_id: number;
}

export interface ScoresTable {
  workspace_id: number;
  request_id: number;
  name: string;
  value: number;
  updated_at: number;
  updated_by: string;
  source: string;
  /** What the latest change gave beside the value (migration 009); null on rows written before. */
  label: string | null;
  comment: string | null;
  /** JSON text: an array of reasons. */
  reasons: string | null;
  rater: string | null;
  schema_version: number | null;
}

export interface ScoreEventsTable {
  id: Generated<number>;
  workspace_id: number;
  request_id: number;
  name: string;
  old_value: number | null;
  new_value: number | null;
  actor: string;
  source: string;
  comment: string | null;
  batch_id: string | null;
  at: number;
  /** Who the rating is of (migration 009): the actor, or a named external rater, or an end user. */
  rater: string | null;
  /** The value this rater gave; null when the row withdraws a rating or deletes the score. */
  rating: number | null;
  label: string | null;
  /** JSON text: an array of reasons. */
  reasons: string | null;
  schema_version: number | null;
  /** 'rating' | 'delete' | 'adjudication' */
  kind: Generated<string>;
}

/** Every version of every score schema (migration 009); labels and reasons are JSON text. */
export interface ScoreSchemasTable {
  workspace_id: number;
  name: string;
  version: number;
  kind: string;
  description: string | null;
  rubric: string | null;
  higher_is_better: number;
  min_value: number;
  max_value: number;
  labels: string | null;
  reasons: string;
  comment_required_below: number | null;
  aggregate: string;
  created_at: number;
  created_by: string;
  archived_at: number | null;
}

/**
 * How a totals table keys a request's prompt and model (migration 007): primary-key columns cannot
 * be null, so a missing prompt name is `prompt_named` 0 with `prompt_name` '', a missing version 0.
 */
interface GroupKeyColumns {
  prompt_named: number;
  prompt_name: string;
  prompt_version: number;
  model: string;
}

/**
 * Per-hour totals of a score name, prompt and model: how many scores, and their sum, by the UTC
 * hour of their request's start time. Kept by triggers (migrations 005, 007); statistics read
 * these instead of every score.
 */
export interface ScoreHoursTable extends GroupKeyColumns {
  workspace_id: number;
  name: string;
  /** Start of the UTC hour of the request start time, epoch ms. */
  hour_start: number;
  count: number;
  sum: number;
}

/** How many scores of a name, prompt and model have each value (migration 007), kept by triggers. */
export interface ScoreValuesTable extends GroupKeyColumns {
  workspace_id: number;
  name: string;
  value: number;
  count: number;
}

export interface Database {
  workspaces: WorkspacesTable;
  api_keys: ApiKeysTable;
  requests: RequestsTable;
  request_tags: RequestTagsTable;
  request_metadata: RequestMetadataTable;
  groups: GroupsTable;
  request_groups: RequestGroupsTable;
  scores: ScoresTable;
  score_events: ScoreEventsTable;
  score_schemas: ScoreSchemasTable;
  score_hours: ScoreHoursTable;
  score_values: ScoreValuesTable;
}
