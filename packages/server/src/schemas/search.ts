import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { INT32_MAX, LIMITS } from '../domain/limits.js';
import { PAGE_SIZE } from '../domain/search-query.js';
import { ApiKeyField, JsonObject, Nullable, RecordOf } from './common.js';

/**
 * A native filter node: a group `{ logic, filters }` or a condition `{ field, op, value, name?,
 * key? }` (see domain/search-query.ts for fields and operators). The schema gives the shape; the
 * domain parser checks names and operators so its 400s can name the exact part.
 */
export const FilterNode = Type.Recursive(
  (Self) =>
    Type.Object(
      {
        logic: Type.Optional(Type.String({ description: 'and | or' })),
        filters: Type.Optional(Type.Array(Self, { maxItems: 100 })),
        field: Type.Optional(Type.String({ description: 'score, tags, metadata, provider, model, prompt_name, prompt_version, status, request_start_time, latency_ms, cost, tokens, text, ...' })),
        op: Type.Optional(Type.String({ description: '=, !=, <, <=, >, >=, between, in, not_in, contains, not_contains, starts_with, ends_with, exists, not_exists; tags: any, all, none, empty, not_empty' })),
        value: Type.Optional(Type.Unknown()),
        name: Type.Optional(Type.String({ description: 'the score name (field "score"); default "default"' })),
        key: Type.Optional(Type.String({ description: 'the metadata key (field "metadata")' })),
      },
      { additionalProperties: true },
    ),
  { $id: 'FilterNode' },
);

const SortBy = Type.String({ maxLength: 600, description: 'request_start_time (default), latency_ms, cost, tokens, input_tokens, output_tokens, status, id, score or score.NAME' });
const SortOrder = Type.String({ description: 'asc or desc (default)' });
const Limit = Type.Integer({ minimum: 1, maximum: PAGE_SIZE.max, default: PAGE_SIZE.default, description: `must be an integer from 1 to ${PAGE_SIZE.max}` });
const Cursor = Type.String({ maxLength: 2048, description: 'next_cursor of the previous page' });

export const SearchBody = Type.Object(
  {
    filter: Type.Optional(Nullable(FilterNode)),
    q: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
    sort_by: Type.Optional(SortBy),
    sort_order: Type.Optional(SortOrder),
    cursor: Type.Optional(Nullable(Cursor)),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);
export type SearchBody = Static<typeof SearchBody>;

const Many = <T extends TSchema>(item: T) => Type.Array(item, { maxItems: 100 });
const Text = Type.String({ maxLength: 1024 });

/** The simple filter parameters of GET search and export; all are AND-combined. */
const filterParams = {
  filter: Type.Optional(Type.String({ maxLength: 65_536, description: 'a native filter node as JSON' })),
  q: Type.Optional(Text),
  provider: Type.Optional(Many(Text)),
  model: Type.Optional(Many(Text)),
  function_name: Type.Optional(Many(Text)),
  prompt_name: Type.Optional(Many(Text)),
  prompt_version: Type.Optional(Many(Type.Integer({ minimum: 1, maximum: LIMITS.promptVersion }))),
  status: Type.Optional(Many(Text)),
  tag: Type.Optional(Many(Text)),
  tag_match: Type.Optional(Type.Union([Type.Literal('any'), Type.Literal('all')], { description: 'must be "any" or "all"' })),
  has_metadata: Type.Optional(Many(Text)),
  has_score: Type.Optional(Many(Text)),
  no_score: Type.Optional(Many(Text)),
  from: Type.Optional(Type.String({ maxLength: 64, description: 'request start time, inclusive: epoch seconds or ISO 8601' })),
  to: Type.Optional(Type.String({ maxLength: 64, description: 'request start time, exclusive: epoch seconds or ISO 8601' })),
  min_latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  max_latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  min_cost: Type.Optional(Type.Number({ minimum: 0 })),
  max_cost: Type.Optional(Type.Number({ minimum: 0 })),
  min_tokens: Type.Optional(Type.Integer({ minimum: 0, maximum: INT32_MAX })),
  max_tokens: Type.Optional(Type.Integer({ minimum: 0, maximum: INT32_MAX })),
};

/** The search filters as query parameters, shared by every filtered GET (search, export, stats, compare). */
export const FilterParams = filterParams;
const sortParams = { sort_by: Type.Optional(SortBy), sort_order: Type.Optional(SortOrder) };

// `score.NAME=OP:VALUE`, `reason.NAME=REASON` and `metadata.KEY=VALUE` are families of parameters; anything else unknown is refused.
export const familyParams = {
  patternProperties: {
    '^score\\.': Many(Type.String({ maxLength: 1024 })),
    '^reason\\.': Many(Type.String({ maxLength: 1024 })),
    '^metadata\\.': Many(Type.String({ maxLength: 65_536 })),
  },
  additionalProperties: false,
};

export const SearchQuery = Type.Object({ ...filterParams, ...sortParams, cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }, familyParams);
export type SearchQuery = Static<typeof SearchQuery>;

export const ExportQuery = Type.Object(
  { ...filterParams, ...sortParams, format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('jsonl')], { default: 'csv', description: 'must be "csv" or "jsonl"' })) },
  familyParams,
);
export type ExportQuery = Static<typeof ExportQuery>;

const Scores = RecordOf(Type.Integer());
const StringMap = RecordOf(Type.String());

const summaryFields = {
  id: Type.Integer(),
  provider: Type.String(),
  model: Type.String(),
  function_name: Type.String(),
  api_type: Nullable(Type.String()),
  prompt_name: Nullable(Type.String()),
  prompt_id: Nullable(Type.String()),
  prompt_version: Nullable(Type.Integer()),
  prompt_label: Nullable(Type.String()),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  tokens: Type.Integer(),
  price: Type.Number(),
  status: Type.String(),
  error_type: Nullable(Type.String()),
  error_message: Nullable(Type.String()),
  request_start_time: Type.String({ description: 'ISO 8601' }),
  request_end_time: Type.String({ description: 'ISO 8601' }),
  latency_ms: Type.Number(),
  span_id: Nullable(Type.String()),
  group_ids: Type.Array(Type.Integer()),
  tags: Type.Array(Type.String()),
  metadata: StringMap,
  scores: Scores,
  created_at: Type.String({ description: 'ISO 8601: when Tally stored it' }),
};

/** A search hit: everything but the logged content. */
export const RequestSummary = Type.Object(summaryFields);

/** One request with everything logged. */
/** One rater's current rating of a name. */
export const ScoreRatingItem = Type.Object({
  rater: Type.String({ description: 'key:<id>, user:<id>, external:<name> or end_user:<id>' }),
  value: Type.Integer(),
  label: Nullable(Type.String()),
  comment: Nullable(Type.String()),
  reasons: Nullable(Type.Array(Type.String())),
  source: Type.String(),
  at: Type.String({ description: 'ISO 8601' }),
});

/** A score with what its latest change gave beside the value. */
export const ScoreDetailItem = Type.Object({
  value: Type.Integer({ description: 'the score, as in `scores`' }),
  label: Nullable(Type.String({ description: "the value's label under a labelled schema" })),
  comment: Nullable(Type.String({ description: 'the comment of the latest rating' })),
  reasons: Nullable(Type.Array(Type.String(), { description: 'the reasons of the latest rating' })),
  source: Type.String(),
  actor: Type.String({ description: 'who made the latest change' }),
  rater: Type.String({ description: 'whose rating the latest change was' }),
  updated_at: Type.String({ description: 'ISO 8601' }),
  schema_version: Nullable(Type.Integer({ description: 'the schema version in force at the latest change; null without a schema' })),
  ratings: Type.Optional(Type.Array(ScoreRatingItem, { description: "each rater's current rating (GET /v1/requests/{id}; not in exports)" })),
});

export const RequestDetail = Type.Object({
  ...summaryFields,
  input: Type.Unknown(),
  output: Type.Unknown(),
  parameters: JsonObject,
  prompt_input_variables: JsonObject,
  score_details: Type.Optional(RecordOf(ScoreDetailItem, { description: 'per score name, its details (keys as in `scores`)' })),
});

export const SearchReply = Type.Object({
  success: Type.Literal(true),
  items: Type.Array(RequestSummary),
  next_cursor: Nullable(Type.String()),
  has_more: Type.Boolean(),
});

export const RequestParams = Type.Object({
  id: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'must be a positive integer id' }),
});

export const RequestReply = Type.Object({ success: Type.Literal(true), request: RequestDetail });

// ---------------------------------------------------------------------------------------------
// PromptLayer's search

const PromptLayerFilterNode = Type.Recursive(
  (Self) =>
    Type.Object(
      {
        logic: Type.Optional(Type.String({ description: 'AND | OR' })),
        filters: Type.Optional(Type.Array(Self, { maxItems: 100 })),
        field: Type.Optional(Type.String()),
        operator: Type.Optional(Type.String()),
        value: Type.Optional(Type.Unknown()),
        nested_key: Type.Optional(Nullable(Type.String())),
      },
      { additionalProperties: true },
    ),
  { $id: 'PromptLayerFilterNode' },
);

export const PromptLayerSearchBody = Type.Object({
  api_key: ApiKeyField,
  filter_group: Type.Optional(Nullable(PromptLayerFilterNode)),
  q: Type.Optional(Nullable(Type.String({ maxLength: 1024 }))),
  sort_by: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  sort_order: Type.Optional(Nullable(Type.String({ maxLength: 8 }))),
  score_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 512 }))),
  scores: Type.Optional(
    Nullable(
      Type.Array(
        Type.Object({ name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 512 }))), operator: Type.String({ maxLength: 4 }), value: Type.Number() }),
        { maxItems: 100 },
      ),
    ),
  ),
  // Far past any real page; (page - 1) * per_page for a page of 1e18 overflowed the databases' integers.
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'must be an integer from 1 to 1000000' })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 25, default: 10, description: 'must be an integer from 1 to 25' })),
});
export type PromptLayerSearchBody = Static<typeof PromptLayerSearchBody>;

export const PromptLayerSearchItem = Type.Object({
  id: Type.Integer(),
  engine: Type.String(),
  provider_type: Type.String(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  price: Type.Number(),
  request_start_time: Type.String(),
  request_end_time: Type.String(),
  latency: Type.Number({ description: 'seconds' }),
  tags_array: Type.Array(Type.String()),
  metadata: StringMap,
  scores: Scores,
  prompt_name: Nullable(Type.String()),
  prompt_version: Nullable(Type.Integer()),
  status: Type.String(),
});

export const PromptLayerSearchReply = Type.Object({
  success: Type.Literal(true),
  items: Type.Array(PromptLayerSearchItem),
  page: Type.Integer(),
  pages: Type.Integer(),
  per_page: Type.Integer(),
  total: Type.Integer(),
  has_next: Type.Boolean(),
  has_prev: Type.Boolean(),
  next_num: Nullable(Type.Integer()),
  prev_num: Nullable(Type.Integer()),
});
