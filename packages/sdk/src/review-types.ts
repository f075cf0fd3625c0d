/*
 * The wire types of review queues and agreement (packages/server/src/schemas/review.ts), checked
 * against those schemas in test/types.test-d.ts.
 */
import type { FilterNode, FilterParams, RequestDetail, RequestId, Timestamp } from './types.js';

/** `{ count }` or `{ ratio }` (exactly one), with a `seed` that reproduces the sample and `by` to stratify. */
export interface SampleSpec {
  count?: number;
  ratio?: number;
  /** Absent when creating: the server picks one and reports it. */
  seed?: number;
  /** model, provider, function_name, prompt_name, status, prompt_version or metadata.KEY */
  by?: string;
}

export interface CreateQueueParams {
  name: string;
  score_name: string;
  /** A native search filter; absent or null: every request of the workspace. */
  filter?: FilterNode | null;
  sample?: SampleSpec | null;
  /** Add each request that comes to match later (logged, or scored into the filter). */
  include_new?: boolean;
  raters_per_item: number;
  /** Hide an item's other ratings and its score from a rater until they rated it. */
  blind?: boolean;
  instructions?: string | null;
  /** How long a claim holds an item; default 600. */
  claim_ttl_seconds?: number;
}

export interface RaterProgress {
  rater: string;
  claimed: number;
  done: number;
  skipped: number;
}

export interface QueueProgress {
  items: number;
  completed: number;
  in_progress: number;
  pending: number;
  ratings: number;
  raters: RaterProgress[];
}

export interface ReviewQueue {
  id: number;
  name: string;
  origin: 'filter' | 'disagreements';
  score_name: string;
  filter: FilterNode | null;
  sample: { count?: number; ratio?: number; seed: number; by?: string } | null;
  include_new: boolean;
  raters_per_item: number;
  blind: boolean;
  instructions: string | null;
  claim_ttl_seconds: number;
  created_at: string;
  created_by: string;
  archived_at: string | null;
  progress: QueueProgress;
}

export interface ClaimedItem {
  request_id: number;
  claimed_at: string;
  expires_at: string;
  /** True when the rater already held this item. */
  held: boolean;
  request: RequestDetail;
  /** In a blind queue the request comes without its score of the queue's name. */
  scores_hidden: boolean;
}

export interface ClaimResult {
  rater: string;
  /** Null when nothing is left for this rater. */
  item: ClaimedItem | null;
}

/** Who rates through an API key: the key itself, or the external rater it names. */
export interface RaterOption {
  /** An external rater (recorded as `external:<rater>`); absent: the key itself. */
  rater?: string;
}

export interface RateItemParams extends RaterOption {
  /** Exactly one of score and label. */
  score?: number | null;
  label?: string | null;
  comment?: string | null;
  reasons?: string[] | null;
}

export interface RateItemResult {
  queue_id: number;
  request_id: number;
  rater: string;
  name: string;
  rating: number;
  label: string | null;
  old_value: number | null;
  new_value: number | null;
  /** The item now has raters_per_item ratings. */
  completed: boolean;
}

export interface ItemRating {
  rater: string;
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  at: string;
}

export interface ItemView {
  queue_id: number;
  request_id: number;
  rater: string;
  position: number;
  added_at: string;
  completed_at: string | null;
  your_claim: { state: string; claimed_at: string; expires_at: string } | null;
  rated: boolean;
  /** Blind queue, caller has not rated: the queue's score and its ratings are left out. */
  hidden: boolean;
  request: RequestDetail;
  ratings: ItemRating[] | null;
}

export type AgreementMetric = 'nominal' | 'ordinal' | 'interval';

export interface AgreementResult {
  metric: string;
  /** Krippendorff's alpha; null when undefined. */
  alpha: number | null;
  interval: { low: number; high: number; level: number; replicates: number; defined_replicates: number; seed: number; method: string } | null;
  items_rated: number;
  /** Items rated by two or more raters. */
  items_pairable: number;
  values_pairable: number;
  observed_disagreement: number;
  expected_disagreement: number;
  raters: { rater: string; items: number; shared_items: number; mean_offset: number | null; alpha: number | null }[];
}

export interface ComparisonResult {
  groups: { humans: string; automatic: string };
  metric: string;
  items: number;
  alpha: number | null;
  mean_absolute_difference: number | null;
  confusion: { values: number[]; labels: (string | null)[]; counts: number[][]; rows: 'humans'; columns: 'automatic' } | null;
  disagreement_count: number;
  disagreements: { request_id: number; humans: number; automatic: number; difference: number }[];
}

export interface AgreementOptions {
  metric?: AgreementMetric;
  /** Seed of the bootstrap (default 1). */
  seed?: number;
  /** Bootstrap replicates, 100 to 10000 (default 1000). */
  replicates?: number;
}

export interface ScoresAgreementParams extends FilterParams, AgreementOptions {
  name: string;
  /** Compare people with automatic raters. */
  compare?: 'humans,automatic';
  min_difference?: number;
  /** Most scored requests read, the newest first: 1 to 100000 (default 5000); `window` says what was read. */
  limit?: number;
  from?: Timestamp;
  to?: Timestamp;
  model?: string;
  prompt_name?: string;
  tag?: string;
}

/** The requests an agreement over a filter was computed from. */
export interface AgreementWindow {
  /** Most scored requests read (`limit`, or its default). */
  limit: number;
  /** Scored requests read: the newest matching ones, at most `limit`. */
  requests: number;
  /** True when older matching scored requests were left out. */
  truncated: boolean;
}

export interface ScoresAgreement {
  name: string;
  window: AgreementWindow;
  agreement: AgreementResult;
  comparison?: ComparisonResult;
}

export interface QueueAgreement {
  queue_id: number;
  name: string;
  agreement: AgreementResult;
}

export interface Dispute {
  request_id: number;
  spread: number;
  distinct: number;
  score: number | null;
  ratings: ItemRating[];
}

export interface AdjudicateParams {
  score?: number | null;
  label?: string | null;
  comment?: string | null;
}

export interface AdjudicateResult {
  queue_id: number;
  request_id: number;
  name: string;
  old_value: number | null;
  new_value: number | null;
  label: string | null;
  adjudicator: string;
}

export interface FromDisagreementsParams {
  name: string;
  score_name: string;
  filter?: FilterNode | null;
  /** Most scored requests read, the newest first (as the agreement's `limit`); default 5000, at most 100000. */
  limit?: number;
  metric?: AgreementMetric;
  min_difference?: number;
  raters_per_item: number;
  blind?: boolean;
  instructions?: string | null;
  claim_ttl_seconds?: number;
}

export type { RequestId };
