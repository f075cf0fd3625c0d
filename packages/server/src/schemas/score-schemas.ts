import { Type, type Static } from '@sinclair/typebox';
import { SCHEMA_LIMITS, SCORE_AGGREGATES, SCORE_KINDS } from '../domain/score-schema.js';
import { Nullable, Score, ScoreName } from './common.js';
import { FeedbackOrigins } from './feedback.js';

const Kind = Type.Union(
  SCORE_KINDS.map((k) => Type.Literal(k)),
  { description: `must be one of ${SCORE_KINDS.join(', ')}` },
);
const Aggregate = Type.Union(
  SCORE_AGGREGATES.map((a) => Type.Literal(a)),
  { description: `must be one of ${SCORE_AGGREGATES.join(', ')}; latest: the last rating is the score (the default); mean / median: of the current ratings, rounded half up; adjudicated: the median until an adjudication. Under every aggregate an adjudication, once given, is the score of its item until a delete of the score` },
);

export const ScoreLabelItem = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: SCHEMA_LIMITS.labelChars }),
    value: Score,
  },
  { additionalProperties: false },
);

/** `PUT /v1/score-schemas/{name}`: the whole definition (absent fields take their defaults). */
export const ScoreSchemaBody = Type.Object(
  {
    kind: Kind,
    description: Type.Optional(Nullable(Type.String({ maxLength: SCHEMA_LIMITS.descriptionChars }))),
    rubric: Type.Optional(Nullable(Type.String({ maxLength: SCHEMA_LIMITS.rubricChars, description: 'how to score, shown to raters (plain text or Markdown)' }))),
    higher_is_better: Type.Optional(Nullable(Type.Boolean({ description: 'default true' }))),
    min: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100, description: 'numeric only; default 0' }))),
    max: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100, description: 'numeric only; default 100' }))),
    labels: Type.Optional(
      Nullable(
        Type.Array(ScoreLabelItem, {
          maxItems: SCHEMA_LIMITS.labels,
          description: 'categorical: 1 to 50 labels with distinct values; boolean: two labels valued 100 and 0 (default yes / no)',
        }),
      ),
    ),
    reasons: Type.Optional(
      Nullable(Type.Array(Type.String({ minLength: 1, maxLength: SCHEMA_LIMITS.reasonChars }), { maxItems: SCHEMA_LIMITS.reasons, description: 'the reasons a rating may carry' })),
    ),
    comment_required_below: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 101, description: 'a score below this needs a comment' }))),
    aggregate: Type.Optional(Nullable(Aggregate)),
  },
  { additionalProperties: false },
);
export type ScoreSchemaBody = Static<typeof ScoreSchemaBody>;

export const ScoreSchemaItem = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  kind: Kind,
  description: Nullable(Type.String()),
  rubric: Nullable(Type.String()),
  higher_is_better: Type.Boolean(),
  min: Type.Integer(),
  max: Type.Integer(),
  labels: Nullable(Type.Array(ScoreLabelItem)),
  reasons: Type.Array(Type.String()),
  comment_required_below: Nullable(Type.Integer()),
  aggregate: Aggregate,
  created_at: Type.String({ description: 'ISO 8601' }),
  created_by: Type.String({ description: 'actor id: key:<id> or user:<id>' }),
  archived_at: Nullable(Type.String({ description: 'ISO 8601; set on the latest version of an archived schema' })),
});
export type ScoreSchemaItem = Static<typeof ScoreSchemaItem>;

export const ScoreSchemaParams = Type.Object({ name: ScoreName });

export const ScoreSchemaPutReply = Type.Object({
  success: Type.Literal(true),
  created: Type.Boolean({ description: 'false when the definition was already the one in force (no new version)' }),
  schema: ScoreSchemaItem,
});

export const ScoreSchemaReply = Type.Object({
  success: Type.Literal(true),
  name: Type.String(),
  schema: Nullable(ScoreSchemaItem),
  versions: Type.Array(ScoreSchemaItem, { description: 'every version, newest first' }),
});

export const ScoreSchemaListQuery = Type.Object({
  archived: Type.Optional(Type.Boolean({ description: 'also list archived schemas (their latest version)' })),
});

export const ScoreSchemaListReply = Type.Object({
  success: Type.Literal(true),
  schemas: Type.Array(ScoreSchemaItem, { description: 'the latest version of each name, by name' }),
});

export const ScoreSchemaArchiveReply = Type.Object({
  success: Type.Literal(true),
  schema: ScoreSchemaItem,
});

export const WorkspaceItem = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  created_at: Type.String(),
  strict_score_names: Type.Boolean({ description: 'score writes only under names with a schema' }),
  feedback_origins: Type.Array(Type.String(), { description: "origins whose pages may submit end users' feedback (docs/feedback.md)" }),
});

export const WorkspaceReply = Type.Object({ success: Type.Literal(true), workspace: WorkspaceItem });

/** The settings a PATCH may change; each is optional and only those given change. */
export const WorkspacePatchBody = Type.Object(
  {
    strict_score_names: Type.Optional(Type.Boolean({ description: 'refuse score writes to names without a schema (400 naming `name`)' })),
    feedback_origins: Type.Optional(FeedbackOrigins),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type WorkspacePatchBody = Static<typeof WorkspacePatchBody>;
