import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from '../domain/limits.js';
import { Nullable, Timestamp } from './common.js';
import { familyParams, FilterParams } from './search.js';

/** USD per million tokens. */
const Usd = (description: string) => Type.Number({ minimum: 0, maximum: 1_000_000, description });

export const ModelParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: LIMITS.shortText, description: 'the model name as logged, or its base name (`gpt-4o` for `gpt-4o-2024-08-06`)' }) });

export const PutModelPriceBody = Type.Object(
  {
    input: Usd('USD per million input tokens'),
    output: Usd('USD per million output tokens'),
    cached_input: Type.Optional(Nullable(Usd('USD per million cached input tokens; absent or null: the input price'))),
    effective_from: Type.Optional(Nullable(Timestamp)),
  },
  { additionalProperties: false },
);
export type PutModelPriceBody = Static<typeof PutModelPriceBody>;

export const DeleteModelPriceQuery = Type.Object(
  { effective_from: Type.Optional(Type.String({ maxLength: 64, description: 'only the price from this time (epoch seconds or ISO 8601); absent: every price of the model' })) },
  { additionalProperties: false },
);

const PriceItem = Type.Object({
  model: Type.String(),
  input: Type.Number(),
  output: Type.Number(),
  cached_input: Nullable(Type.Number()),
  effective_from: Nullable(Type.String({ description: 'ISO 8601; null: in force for requests of any time' })),
});

export const ModelPriceReply = Type.Object({ success: Type.Literal(true), price: PriceItem });

export const ModelPricesReply = Type.Object({
  success: Type.Literal(true),
  overrides: Type.Array(Type.Intersect([PriceItem, Type.Object({ updated_at: Type.String() })]), { description: "the workspace's own prices" }),
  builtin: Type.Array(Type.Intersect([PriceItem, Type.Object({ provider: Type.String() })]), { description: 'the table shipped with Tally' }),
  builtin_taken: Type.String({ description: 'the date the shipped prices were taken' }),
});

export const DeleteModelPriceReply = Type.Object({ success: Type.Literal(true), deleted: Type.Integer() });

export const CostStatsQuery = Type.Object(
  {
    ...FilterParams,
    group_by: Type.Optional(Type.Union([Type.Literal('model'), Type.Literal('prompt')], { description: 'must be "model" or "prompt"' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.scoreName, description: 'a score name: adds the scored requests, their mean score and score per dollar' })),
  },
  familyParams,
);
export type CostStatsQuery = Static<typeof CostStatsQuery>;

/** Cost figures of a set of requests; the score fields only when a score name was given. */
export const CostFigures = Type.Object({
  requests: Type.Integer(),
  priced_requests: Type.Integer({ description: 'requests with a price above 0' }),
  total_cost: Type.Number({ description: 'USD' }),
  computed_cost: Type.Number({ description: 'the part of total_cost Tally computed from model and tokens' }),
  mean_cost: Nullable(Type.Number({ description: 'total_cost / requests' })),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  scored_requests: Type.Optional(Type.Integer()),
  mean_score: Type.Optional(Nullable(Type.Number())),
  scored_cost: Type.Optional(Type.Number({ description: 'USD spent on the scored requests' })),
  score_per_dollar: Type.Optional(Nullable(Type.Number({ description: 'mean score / mean cost of the scored requests (sum of scores / their cost); null when they cost nothing' }))),
});

export const CostStatsReply = Type.Object({
  success: Type.Literal(true),
  name: Nullable(Type.String()),
  group_by: Nullable(Type.String()),
  groups: Type.Array(
    Type.Intersect([
      Type.Object({ model: Type.Optional(Type.String()), prompt_name: Type.Optional(Nullable(Type.String())), prompt_version: Type.Optional(Nullable(Type.Integer())) }),
      CostFigures,
    ]),
  ),
  total: CostFigures,
});
