import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from '../domain/limits.js';
import { Nullable, Timestamp } from './common.js';

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
