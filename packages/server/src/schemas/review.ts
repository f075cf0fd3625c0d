import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_AGREEMENT_ITEMS, MAX_AGREEMENT_ITEMS } from '../domain/agreement.js';
import { MAX_SAMPLE_COUNT } from '../domain/sampling.js';
import { Id, Nullable, Score, ScoreName } from './common.js';
import { Label, MAX_COMMENT_CHARS, Reasons } from './scores.js';
import { FilterNode, FilterParams, RequestDetail, ScoreRatingItem, familyParams } from './search.js';

export const MAX_QUEUE_NAME_CHARS = 200;
export const MAX_INSTRUCTIONS_CHARS = 10_000;
export const MAX_RATERS_PER_ITEM = 20;
export const DEFAULT_CLAIM_TTL_SECONDS = 600;
export const MAX_CLAIM_TTL_SECONDS = 86_400;
export const MAX_RATER_NAME_CHARS = 200;

export const SampleBody = Type.Object(
  {
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SAMPLE_COUNT, description: 'this many requests (all when fewer match)' })),
    ratio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'this share of the matching requests' })),
    seed: Type.Optional(Type.Integer({ description: 'the same seed draws the same sample; absent: chosen at random and reported' })),
    by: Type.Optional(Type.String({ maxLength: 1100, description: 'stratify: model, provider, function_name, prompt_name, status, prompt_version or metadata.KEY' })),
  },
  { additionalProperties: false, description: 'exactly one of count and ratio' },
);

export const CreateQueueBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: MAX_QUEUE_NAME_CHARS }),
    score_name: ScoreName,
    filter: Type.Optional(Nullable(FilterNode)),
    sample: Type.Optional(Nullable(SampleBody)),
    include_new: Type.Optional(Type.Boolean({ default: false, description: 'add each request that comes to match later (logged or scored)' })),
    raters_per_item: Type.Integer({ minimum: 1, maximum: MAX_RATERS_PER_ITEM, description: 'how many raters rate each item' }),
    blind: Type.Optional(Type.Boolean({ default: false, description: "hide the item's other ratings and its score from a rater until they rated it" })),
    instructions: Type.Optional(Nullable(Type.String({ maxLength: MAX_INSTRUCTIONS_CHARS }))),
    claim_ttl_seconds: Type.Optional(Type.Integer({ minimum: 10, maximum: MAX_CLAIM_TTL_SECONDS, default: DEFAULT_CLAIM_TTL_SECONDS, description: 'how long a claimed item is held for its rater' })),
  },
  { additionalProperties: false },
);
export type CreateQueueBody = Static<typeof CreateQueueBody>;

export const QueueParams = Type.Object({ id: Id });
export const ItemParams = Type.Object({ id: Id, request_id: Id });

export const ListQueuesQuery = Type.Object({
  include_archived: Type.Optional(Type.Boolean({ default: false })),
});

/** `rater` names an external rater; only an API key may (a dashboard user rates as themselves). */
const RaterField = Type.Optional(Type.String({ minLength: 1, maxLength: MAX_RATER_NAME_CHARS, description: 'an external rater this API key acts for (recorded as `external:<rater>`); absent: the key itself' }));

export const RaterBody = Type.Object({ rater: RaterField }, { additionalProperties: false });
export const RaterQuery = Type.Object({ rater: RaterField });

export const RaterProgressItem = Type.Object({
  rater: Type.String({ description: '`user:<id>`, `key:<id>` or `external:<name>`' }),
  claimed: Type.Integer({ description: 'items held now' }),
  done: Type.Integer({ description: 'items rated through the queue' }),
  skipped: Type.Integer(),
});

export const QueueProgress = Type.Object({
  items: Type.Integer(),
  completed: Type.Integer({ description: 'items with raters_per_item ratings' }),
  in_progress: Type.Integer({ description: 'items not completed that someone holds now' }),
  pending: Type.Integer({ description: 'items neither completed nor held' }),
  ratings: Type.Integer({ description: 'ratings given through the queue' }),
  raters: Type.Array(RaterProgressItem),
});

export const QueueItem = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  origin: Type.Union([Type.Literal('filter'), Type.Literal('disagreements')], { description: 'what made the items: the filter (and sample), or POST /v1/review-queues/from-disagreements' }),
  score_name: Type.String(),
  filter: Nullable(FilterNode),
  sample: Nullable(
    Type.Object({
      count: Type.Optional(Type.Integer()),
      ratio: Type.Optional(Type.Number()),
      seed: Type.Integer(),
      by: Type.Optional(Type.String()),
    }),
  ),
  include_new: Type.Boolean(),
  raters_per_item: Type.Integer(),
  blind: Type.Boolean(),
  instructions: Nullable(Type.String()),
  claim_ttl_seconds: Type.Integer(),
  created_at: Type.String(),
  created_by: Type.String(),
  archived_at: Nullable(Type.String()),
  progress: QueueProgress,
});
export type QueueItem = Static<typeof QueueItem>;

export const QueueReply = Type.Object({ success: Type.Literal(true), queue: QueueItem });
export const QueueListReply = Type.Object({ success: Type.Literal(true), queues: Type.Array(QueueItem) });

export const ClaimedItem = Type.Object({
  request_id: Type.Integer(),
  claimed_at: Type.String(),
  expires_at: Type.String({ description: 'the item is held for the rater until then' }),
  held: Type.Boolean({ description: 'true when the rater already held this item (a claim hands it back)' }),
  request: RequestDetail,
  scores_hidden: Type.Boolean({ description: "true in a blind queue: the request's score of the queue's name (and its ratings) are left out" }),
});

export const ClaimReply = Type.Object({
  success: Type.Literal(true),
  rater: Type.String(),
  item: Nullable(ClaimedItem),
});

export const OkReply = Type.Object({ success: Type.Literal(true) });

export const MAX_BOOTSTRAP_REPLICATES = 10_000;
export const DEFAULT_BOOTSTRAP_REPLICATES = 1000;

const MetricField = Type.Optional(
  Type.Union([Type.Literal('nominal'), Type.Literal('ordinal'), Type.Literal('interval')], {
    description: 'must be nominal, ordinal or interval; absent: interval for numeric names (and names without a schema), nominal for categorical and boolean ones',
  }),
);
const bootstrapParams = {
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1, default: 1, description: 'seed of the bootstrap resampling (the same seed gives the same interval)' })),
  replicates: Type.Optional(Type.Integer({ minimum: 100, maximum: MAX_BOOTSTRAP_REPLICATES, default: DEFAULT_BOOTSTRAP_REPLICATES, description: 'bootstrap replicates' })),
};

export const QueueAgreementQuery = Type.Object({ metric: MetricField, ...bootstrapParams });

export const AgreementQuery = Type.Object(
  {
    name: ScoreName,
    metric: MetricField,
    compare: Type.Optional(Type.Literal('humans,automatic', { description: 'compare people (user:, external:) with automatic raters (key:)' })),
    min_difference: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'under the interval and ordinal metrics, how far apart the two sides must be to disagree' })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_AGREEMENT_ITEMS,
        default: DEFAULT_AGREEMENT_ITEMS,
        description: `most scored requests read, the newest first (by id): 1 to ${MAX_AGREEMENT_ITEMS}`,
      }),
    ),
    ...bootstrapParams,
    ...FilterParams,
  },
  familyParams,
);

const Alpha = Nullable(Type.Number({ description: "Krippendorff's alpha; null when undefined (no pairable values, or no variation)" }));

export const AgreementResult = Type.Object({
  metric: Type.String(),
  alpha: Alpha,
  interval: Nullable(
    Type.Object({
      low: Type.Number(),
      high: Type.Number(),
      level: Type.Number(),
      replicates: Type.Integer(),
      defined_replicates: Type.Integer(),
      seed: Type.Integer(),
      method: Type.String(),
    }),
  ),
  items_rated: Type.Integer(),
  items_pairable: Type.Integer({ description: 'items rated by two or more raters' }),
  values_pairable: Type.Integer(),
  observed_disagreement: Type.Number(),
  expected_disagreement: Type.Number(),
  raters: Type.Array(
    Type.Object({
      rater: Type.String(),
      items: Type.Integer(),
      shared_items: Type.Integer({ description: 'items another rater rated too' }),
      mean_offset: Nullable(Type.Number({ description: "mean of (this rater's value - the others' mean) over shared items" })),
      alpha: Alpha,
    }),
  ),
});

export const ComparisonResult = Type.Object({
  groups: Type.Object({ humans: Type.String(), automatic: Type.String() }),
  metric: Type.String(),
  items: Type.Integer({ description: 'items rated by both sides' }),
  alpha: Alpha,
  mean_absolute_difference: Nullable(Type.Number()),
  confusion: Nullable(
    Type.Object({
      values: Type.Array(Type.Integer()),
      labels: Type.Array(Nullable(Type.String())),
      counts: Type.Array(Type.Array(Type.Integer()), { description: 'counts[i][j]: items where people gave values[i] and the automatic raters values[j]' }),
      rows: Type.Literal('humans'),
      columns: Type.Literal('automatic'),
    }),
  ),
  disagreement_count: Type.Integer(),
  disagreements: Type.Array(Type.Object({ request_id: Type.Integer(), humans: Type.Number(), automatic: Type.Number(), difference: Type.Number() })),
});

export const QueueAgreementReply = Type.Object({ success: Type.Literal(true), queue_id: Type.Integer(), name: Type.String(), agreement: AgreementResult });
export const AgreementWindow = Type.Object(
  {
    limit: Type.Integer({ description: 'most scored requests read (`limit`, or its default)' }),
    requests: Type.Integer({ description: 'scored requests read: the newest matching ones, at most `limit`' }),
    truncated: Type.Boolean({ description: 'true when older matching scored requests were left out' }),
  },
  { description: 'the requests the figures were computed from' },
);
export const AgreementReply = Type.Object({ success: Type.Literal(true), name: Type.String(), window: AgreementWindow, agreement: AgreementResult, comparison: Type.Optional(ComparisonResult) });

export const DisputesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});


export const DisputesReply = Type.Object({
  success: Type.Literal(true),
  queue_id: Type.Integer(),
  disputes: Type.Array(
    Type.Object({
      request_id: Type.Integer(),
      spread: Type.Integer({ description: 'max - min of the ratings' }),
      distinct: Type.Integer({ description: 'distinct values among the ratings' }),
      score: Nullable(Type.Integer({ description: 'the current score of the name' })),
      ratings: Type.Array(ScoreRatingItem),
    }),
  ),
});

export const FromDisagreementsBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: MAX_QUEUE_NAME_CHARS, description: 'name of the new queue' }),
    score_name: ScoreName,
    filter: Type.Optional(Nullable(FilterNode)),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_AGREEMENT_ITEMS,
        default: DEFAULT_AGREEMENT_ITEMS,
        description: `most scored requests read, the newest first (by id), as GET /v1/scores/agreement's limit: 1 to ${MAX_AGREEMENT_ITEMS}`,
      }),
    ),
    metric: MetricField,
    min_difference: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1 })),
    raters_per_item: Type.Integer({ minimum: 1, maximum: MAX_RATERS_PER_ITEM }),
    blind: Type.Optional(Type.Boolean({ default: false })),
    instructions: Type.Optional(Nullable(Type.String({ maxLength: MAX_INSTRUCTIONS_CHARS }))),
    claim_ttl_seconds: Type.Optional(Type.Integer({ minimum: 10, maximum: MAX_CLAIM_TTL_SECONDS, default: DEFAULT_CLAIM_TTL_SECONDS })),
  },
  { additionalProperties: false },
);

export const RateItemBody = Type.Object(
  {
    score: Type.Optional(Nullable(Score)),
    label: Type.Optional(Nullable(Label)),
    comment: Type.Optional(Nullable(Type.String({ maxLength: MAX_COMMENT_CHARS, description: 'at most 4096 bytes of UTF-8' }))),
    reasons: Type.Optional(Nullable(Reasons)),
    rater: RaterField,
  },
  { additionalProperties: false },
);

export const RateItemReply = Type.Object({
  success: Type.Literal(true),
  queue_id: Type.Integer(),
  request_id: Type.Integer(),
  rater: Type.String(),
  name: Type.String(),
  rating: Type.Integer({ description: 'the value the rater gave' }),
  label: Nullable(Type.String()),
  old_value: Nullable(Type.Integer({ description: 'the score before' })),
  new_value: Nullable(Type.Integer({ description: 'the score after (under a mean, median or adjudicated schema it is computed from the ratings)' })),
  completed: Type.Boolean({ description: 'the item now has raters_per_item ratings' }),
});

export const ItemViewReply = Type.Object({
  success: Type.Literal(true),
  queue_id: Type.Integer(),
  request_id: Type.Integer(),
  rater: Type.String(),
  position: Type.Integer(),
  added_at: Type.String(),
  completed_at: Nullable(Type.String()),
  your_claim: Nullable(Type.Object({ state: Type.String({ description: 'claimed, done or skipped' }), claimed_at: Type.String(), expires_at: Type.String() })),
  rated: Type.Boolean({ description: 'the caller has a current rating of the queue\'s name on this request' }),
  hidden: Type.Boolean({ description: "true in a blind queue until the caller rated: the score of the queue's name and every rating of it are left out" }),
  request: RequestDetail,
  ratings: Nullable(Type.Array(ScoreRatingItem, { description: "every rater's current rating of the queue's name; null while hidden" })),
});

export const AdjudicateBody = Type.Object(
  {
    score: Type.Optional(Nullable(Score)),
    label: Type.Optional(Nullable(Label)),
    comment: Type.Optional(Nullable(Type.String({ maxLength: MAX_COMMENT_CHARS }))),
  },
  { additionalProperties: false },
);

export const AdjudicateReply = Type.Object({
  success: Type.Literal(true),
  queue_id: Type.Integer(),
  request_id: Type.Integer(),
  name: Type.String(),
  old_value: Nullable(Type.Integer()),
  new_value: Nullable(Type.Integer()),
  label: Nullable(Type.String()),
  adjudicator: Type.String({ description: 'recorded as the actor and rater of the history row of kind `adjudication`' }),
});
