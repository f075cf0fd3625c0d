import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from '../domain/limits.js';
import { SCHEMA_LIMITS } from '../domain/score-schema.js';
import { MAX_HISTOGRAM_BUCKETS, MAX_STATS_GROUPS } from '../domain/statistics.js';
import { Id, Nullable, RecordOf, Score, ScoreName, Timestamp } from './common.js';
import { CostFigures } from './prices.js';
import { FilterParams, familyParams } from './search.js';

/** The most items one `POST /v1/scores/batch` takes; they commit in one transaction. */
export const MAX_BATCH_ITEMS = 1000;
/** Characters a comment may have at most; it is also held to SCHEMA_LIMITS.commentBytes bytes of UTF-8. */
export const MAX_COMMENT_CHARS = 4096;

export const Label = Type.String({ minLength: 1, maxLength: SCHEMA_LIMITS.labelChars, description: "one of the labels of the name's schema" });
export const Reasons = Type.Array(Type.String({ minLength: 1, maxLength: SCHEMA_LIMITS.reasonChars }), {
  maxItems: SCHEMA_LIMITS.reasons,
  description: "a subset of the reasons the name's schema declares (refused when it declares none)",
});
const Rater = Type.String({
  minLength: 1,
  maxLength: SCHEMA_LIMITS.raterChars + 'external:'.length,
  description: 'a named external rater (stored as `external:<name>`); absent: the caller (its key or user) is the rater',
});
const Kind = Type.Union([Type.Literal('rating'), Type.Literal('delete'), Type.Literal('adjudication')], {
  description: 'rating: a rater gave (or, with rating null, withdrew) a rating; delete: the score and every rating were deleted; adjudication: the final value was set',
});
export const DEFAULT_FEED_LIMIT = 100;
export const MAX_FEED_LIMIT = 1000;

export const ScoreEventItem = Type.Object({
  id: Type.Integer({ description: 'event id; increases with every change in the workspace' }),
  request_id: Type.Integer(),
  name: Type.String(),
  old_value: Nullable(Type.Integer({ description: 'null when the score did not exist before' })),
  new_value: Nullable(Type.Integer({ description: 'null when the change deleted the score' })),
  actor: Type.String({ description: '`key:<id>` or `user:<id>`' }),
  source: Type.String({ description: 'api, dashboard, sdk, batch or cli' }),
  comment: Nullable(Type.String()),
  batch_id: Nullable(Type.String({ description: 'shared by every change of one POST /v1/scores/batch call' })),
  at: Type.String({ description: 'ISO 8601 time of the change' }),
  kind: Kind,
  rater: Type.String({ description: 'whose rating: key:<id>, user:<id>, external:<name> or end_user:<id> (the actor for rows from before ratings)' }),
  rating: Nullable(Type.Integer({ description: 'the value the rater gave; null when withdrawn or deleted' })),
  label: Nullable(Type.String({ description: "the rating's label under a labelled schema" })),
  reasons: Nullable(Type.Array(Type.String())),
  schema_version: Nullable(Type.Integer({ description: 'the schema version in force; null without a schema' })),
});
export type ScoreEventItem = Static<typeof ScoreEventItem>;

export const RequestIdParams = Type.Object({ id: Id });

export const HistoryReply = Type.Object({
  success: Type.Literal(true),
  request_id: Type.Integer(),
  events: Type.Array(ScoreEventItem, { description: 'oldest first' }),
});

export const FeedQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 128, description: 'next_cursor of the previous page; absent: from the first event' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FEED_LIMIT, default: DEFAULT_FEED_LIMIT, description: `must be an integer from 1 to ${MAX_FEED_LIMIT}` })),
  name: Type.Optional(ScoreName),
  request_id: Type.Optional(Id),
});
export type FeedQuery = Static<typeof FeedQuery>;

export const FeedReply = Type.Object({
  success: Type.Literal(true),
  events: Type.Array(ScoreEventItem),
  next_cursor: Nullable(Type.String({ description: 'pass as `after` for the next page; kept even when the page is empty, so a syncing client polls with it' })),
  has_more: Type.Boolean(),
});

export const ScoreParams = Type.Object({ id: Id, name: ScoreName });

export const PutScoreBody = Type.Object({
  score: Type.Optional(Score),
  label: Type.Optional(Nullable(Label)),
  comment: Type.Optional(Nullable(Type.String({ maxLength: MAX_COMMENT_CHARS, description: 'at most 4096 bytes of UTF-8' }))),
  reasons: Type.Optional(Nullable(Reasons)),
  rater: Type.Optional(Nullable(Rater)),
});
export type PutScoreBody = Static<typeof PutScoreBody>;

export const DeleteScoreQuery = Type.Object({
  comment: Type.Optional(Type.String({ maxLength: MAX_COMMENT_CHARS })),
  rater: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 256,
      description: "withdraw only this rater's rating (key:<id>, user:<id>, external:<name>, or a bare external name) and recompute the score; absent: delete the score and every rating",
    }),
  ),
});

export const ScoreChangeReply = Type.Object({
  success: Type.Literal(true),
  request_id: Type.Integer(),
  name: Type.String(),
  old_value: Nullable(Type.Integer()),
  new_value: Nullable(Type.Integer({ description: 'the score after the change (the aggregate of the ratings under mean / median)' })),
  label: Type.Optional(Nullable(Type.String())),
  rater: Type.Optional(Type.String()),
  rating: Type.Optional(Nullable(Type.Integer({ description: 'the value this rater gave' }))),
  schema_version: Type.Optional(Nullable(Type.Integer())),
});

/**
 * Batch items are checked one by one in the handler rather than by the schema, so that a bad item
 * is reported with its index alongside every other bad item instead of stopping at the first.
 */
export const BatchBody = Type.Object({
  items: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_ITEMS, description: `1 to ${MAX_BATCH_ITEMS} items of { request_id, name?, score | label, comment?, reasons?, rater? }` }),
  comment: Type.Optional(Nullable(Type.String({ maxLength: MAX_COMMENT_CHARS }))),
});
export type BatchBody = Static<typeof BatchBody>;

/** What each batch item must look like (documented; checked per item by the handler). */
export const BatchItem = Type.Object({
  request_id: Id,
  name: Type.Optional(Nullable(ScoreName)),
  score: Type.Optional(Score),
  label: Type.Optional(Nullable(Label)),
  comment: Type.Optional(Nullable(Type.String({ maxLength: MAX_COMMENT_CHARS, description: "this item's comment (instead of the batch's)" }))),
  reasons: Type.Optional(Nullable(Reasons)),
  rater: Type.Optional(Nullable(Rater)),
});

export const BatchReply = Type.Object({
  success: Type.Literal(true),
  batch_id: Type.String(),
  count: Type.Integer(),
  changes: Type.Array(
    Type.Object({
      request_id: Type.Integer(),
      name: Type.String(),
      old_value: Nullable(Type.Integer()),
      new_value: Type.Integer(),
      label: Type.Optional(Nullable(Type.String())),
      rater: Type.Optional(Type.String()),
      rating: Type.Optional(Nullable(Type.Integer())),
      schema_version: Type.Optional(Nullable(Type.Integer())),
    }),
  ),
});

export const BatchItemError = Type.Object({ index: Type.Integer(), field: Type.String(), message: Type.String() });

export const BatchErrorBody = Type.Object({
  success: Type.Literal(false),
  message: Type.String(),
  code: Type.String(),
  errors: Type.Optional(Type.Array(BatchItemError)),
});

const GroupBy = Type.Union(
  [
    Type.Literal('prompt'),
    Type.Literal('model'),
    Type.Literal('tag'),
    Type.Unsafe<`metadata.${string}`>(Type.String({ pattern: `^metadata\\.[\\s\\S]{1,${LIMITS.metadataKey}}$`, description: 'metadata.KEY: by the value of one metadata key' })),
  ],
  { description: `must be prompt, model, tag or metadata.KEY (a key of 1 to ${LIMITS.metadataKey} characters)` },
);
const Interval = Type.Union([Type.Literal('hour'), Type.Literal('day')], { description: 'must be hour or day' });

const SOURCES = ['api', 'dashboard', 'sdk', 'batch', 'cli', 'end_user'] as const;
/** `rater_source` of statistics and compare: count the current ratings of raters of these sources instead of the scores. */
const RaterSource = Type.Optional(
  Type.String({
    pattern: `^(${SOURCES.join('|')})(,(${SOURCES.join('|')}))*$`,
    description: `must be sources among ${SOURCES.join(', ')}, comma-separated (e.g. end_user, or api,dashboard,batch for reviewers); counts each current rating of raters of these sources instead of the scores`,
  }),
);

/** Most requests a windowed statistics read (`limit`) counts. */
export const MAX_STATS_WINDOW = 1_000_000;

export const StatsQuery = Type.Object(
  {
    name: Type.Optional(ScoreName),
    buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTOGRAM_BUCKETS, default: 10, description: `must be an integer from 1 to ${MAX_HISTOGRAM_BUCKETS}` })),
    interval: Type.Optional(Interval),
    group_by: Type.Optional(GroupBy),
    rater_source: RaterSource,
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_STATS_WINDOW,
        description: `with \`name\`: only the newest \`limit\` matching requests (by id) scored \`name\` are counted, 1 to ${MAX_STATS_WINDOW}; absent: every one`,
      }),
    ),
    // Exactly the filters of GET /v1/requests/search; an unknown parameter is refused, naming it.
    ...FilterParams,
  },
  familyParams,
);
export type StatsQuery = Static<typeof StatsQuery>;

const GroupKey = Type.Object({
  prompt_name: Type.Optional(Nullable(Type.String())),
  prompt_version: Type.Optional(Nullable(Type.Integer())),
  model: Type.Optional(Type.String()),
  tag: Type.Optional(Nullable(Type.String({ description: 'null: requests without tags' }))),
  metadata_value: Type.Optional(Nullable(Type.String({ description: 'group_by=metadata.KEY: the value of KEY; null: requests without the key' }))),
});

const NullableNumber = Nullable(Type.Number());

export const StatsEntry = Type.Object({
  name: Type.String(),
  group: Nullable(GroupKey),
  count: Type.Integer(),
  mean: NullableNumber,
  stddev: Type.Union([Type.Number(), Type.Null()], { description: 'sample standard deviation (n - 1); null below 2 values' }),
  min: NullableNumber,
  max: NullableNumber,
  p50: NullableNumber,
  p90: NullableNumber,
  histogram: Type.Array(Type.Object({ from: Type.Number(), to: Type.Number(), count: Type.Integer() })),
  series: Type.Array(Type.Object({ start: Type.String({ description: 'ISO 8601 start of the UTC hour or day' }), count: Type.Integer(), mean: Type.Number() })),
});

export const ReasonStats = Type.Object({
  name: Type.String(),
  low_below: Type.Integer({ description: "a score below this counts as low: the schema's comment_required_below, else the middle of its range rounded up, 50 without a schema" }),
  reasons: Type.Array(
    Type.Object({
      reason: Type.String(),
      count: Type.Integer({ description: 'current scores of the name carrying the reason' }),
      low: Type.Integer({ description: 'of those, the ones below low_below' }),
    }),
    { description: 'most frequent first' },
  ),
});

export const StatsReply = Type.Object({
  success: Type.Literal(true),
  stddev: Type.Literal('sample'),
  percentiles: Type.Literal('linear'),
  interval: Interval,
  group_by: Nullable(GroupBy),
  groups_truncated: Type.Optional(
    Type.Boolean({ description: `group_by=tag or metadata.KEY: true when more than ${MAX_STATS_GROUPS} groups had scores and only the ${MAX_STATS_GROUPS} with the most were kept` }),
  ),
  window: Type.Optional(
    Type.Object(
      {
        limit: Type.Integer(),
        truncated: Type.Boolean({ description: 'true when older matching scored requests were left out' }),
      },
      { description: 'with `limit`: the figures count the newest `limit` matching requests scored `name`' },
    ),
  ),
  scores: Type.Array(StatsEntry),
  reasons: Type.Array(ReasonStats, { description: 'per score name whose scores carry reasons (not grouped), by name; the filters apply' }),
});

const cohortParams = (side: 'a' | 'b') => ({
  [`${side}.prompt_name`]: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  [`${side}.prompt_version`]: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.promptVersion, description: `must be an integer from 1 to ${LIMITS.promptVersion}` })),
  [`${side}.model`]: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  [`${side}.tag`]: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  [`${side}.from`]: Type.Optional(Timestamp),
  [`${side}.to`]: Type.Optional(Timestamp),
});

export const CompareQuery = Type.Object(
  {
    name: ScoreName,
    rater_source: RaterSource,
    ...cohortParams('a'),
    ...cohortParams('b'),
    // The search filters apply to both cohorts; a typo such as `a.version` is refused, naming it.
    ...FilterParams,
  },
  familyParams,
);
export type CompareQuery = Static<typeof CompareQuery>;

const Cohort = Type.Object({
  criteria: RecordOf(Type.Union([Type.String(), Type.Number()])),
  count: Type.Integer(),
  mean: NullableNumber,
  stddev: NullableNumber,
  cost: Type.Optional(CostFigures),
});

export const CompareReply = Type.Object({
  success: Type.Literal(true),
  name: Type.String(),
  test: Type.Literal('welch_t'),
  confidence: Type.Number(),
  a: Cohort,
  b: Cohort,
  difference: Type.Union([Type.Number(), Type.Null()], { description: 'mean of b minus mean of a' }),
  ci: Nullable(Type.Object({ low: Type.Number(), high: Type.Number() })),
  t: NullableNumber,
  df: NullableNumber,
  p_value: NullableNumber,
  verdict: Type.Union([Type.Literal('a_better'), Type.Literal('b_better'), Type.Literal('no_significant_difference'), Type.Literal('not_enough_data')]),
});

export const CORRELATION_X = ['latency_ms', 'cost', 'input_tokens', 'output_tokens', 'tokens'] as const;
export const MAX_CORRELATION_BINS = 20;
/** Pairs a correlation reads unless asked for more (the newest), and the most it reads. */
export const DEFAULT_CORRELATION_PAIRS = 10_000;
export const MAX_CORRELATION_PAIRS = 1_000_000;

export const CorrelationQuery = Type.Object(
  {
    name: ScoreName,
    x: Type.Union(
      CORRELATION_X.map((x) => Type.Literal(x)),
      { description: `must be one of ${CORRELATION_X.join(', ')}: the request figure the score is set against (tokens: input plus output)` },
    ),
    bins: Type.Optional(Type.Integer({ minimum: 2, maximum: MAX_CORRELATION_BINS, default: 10, description: `must be an integer from 2 to ${MAX_CORRELATION_BINS}` })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: MAX_CORRELATION_PAIRS,
        default: DEFAULT_CORRELATION_PAIRS,
        description: `most pairs read, from the newest scored requests (by id): an integer from 2 to ${MAX_CORRELATION_PAIRS}`,
      }),
    ),
    ...FilterParams,
  },
  familyParams,
);
export type CorrelationQuery = Static<typeof CorrelationQuery>;

export const CorrelationReply = Type.Object({
  success: Type.Literal(true),
  name: Type.String(),
  x: Type.Union(CORRELATION_X.map((x) => Type.Literal(x))),
  n: Type.Integer({ description: 'scored requests counted' }),
  window: Type.Object(
    {
      limit: Type.Integer({ description: 'most pairs read (`limit`, or its default)' }),
      truncated: Type.Boolean({ description: 'true when older matching scored requests were left out: the figures are of the newest `n`' }),
    },
    { description: 'the pairs the figures were computed from' },
  ),
  spearman: Type.Object({
    rho: NullableNumber,
    n: Type.Integer(),
    ties: Type.Literal('average', { description: 'tied values share the mean of their ranks' }),
  }),
  bins: Type.Array(
    Type.Object({
      bin: Type.Integer({ description: '0 for the lowest x' }),
      count: Type.Integer(),
      x_min: Type.Number(),
      x_max: Type.Number(),
      x_mean: Type.Number(),
      score_mean: Type.Number(),
    }),
    { description: 'empty bins are left out' },
  ),
});

export const MAX_FACETS = 500;

export const FacetsQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FACETS, default: 100, description: `must be an integer from 1 to ${MAX_FACETS}` })) },
  { additionalProperties: false },
);
export type FacetsQuery = Static<typeof FacetsQuery>;

const FacetList = <T extends ReturnType<typeof Type.Array>>(items: T) => Type.Object({ values: items, truncated: Type.Boolean({ description: 'more values exist than limit' }) });

export const FacetsReply = Type.Object({
  success: Type.Literal(true),
  limit: Type.Integer(),
  prompts: FacetList(Type.Array(Type.Object({ prompt_name: Type.String(), versions: Type.Array(Type.Integer()) }))),
  models: FacetList(Type.Array(Type.String())),
  tags: FacetList(Type.Array(Type.String())),
  metadata_keys: FacetList(Type.Array(Type.String())),
  score_names: FacetList(Type.Array(Type.String({ description: 'names with a current score on some request of the workspace' }))),
});
