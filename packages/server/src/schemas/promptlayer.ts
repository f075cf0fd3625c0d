import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from '../domain/limits.js';
import type { LogRequestInput, TrackRequestInput } from '../domain/request-shape.js';
import { FeedbackTokenReply, FeedbackTokenSpecBody } from './feedback.js';
import { ApiKeyField, type Carries, Id, JsonObject, Metadata, Nullable, RecordOf, Score, ScoreName, Tags, Timestamp } from './common.js';

export const TrackScoreBody = Type.Object({
  api_key: ApiKeyField,
  request_id: Id,
  score: Score,
  name: Type.Optional(Nullable(ScoreName)),
});
export type TrackScoreBody = Static<typeof TrackScoreBody>;

export const TrackMetadataBody = Type.Object({
  api_key: ApiKeyField,
  request_id: Id,
  metadata: Metadata,
});
export type TrackMetadataBody = Static<typeof TrackMetadataBody>;

export const TrackPromptBody = Type.Object({
  api_key: ApiKeyField,
  request_id: Id,
  prompt_name: Type.String({ minLength: 1, maxLength: LIMITS.promptName }),
  prompt_input_variables: Type.Optional(Nullable(JsonObject)),
  version: Type.Optional(Nullable(Id)),
  label: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: LIMITS.shortText }))),
});
export type TrackPromptBody = Static<typeof TrackPromptBody>;

export const TrackGroupBody = Type.Object({
  api_key: ApiKeyField,
  request_id: Id,
  group_id: Id,
});
export type TrackGroupBody = Static<typeof TrackGroupBody>;

export const CreateGroupBody = Type.Object({ api_key: ApiKeyField });
export const CreateGroupReply = Type.Object({ success: Type.Literal(true), id: Type.Integer() });

const Status = Type.Union([Type.Literal('SUCCESS'), Type.Literal('WARNING'), Type.Literal('ERROR')], {
  description: 'must be SUCCESS, WARNING or ERROR',
});

export const ERROR_TYPES = [
  'PROVIDER_TIMEOUT',
  'PROVIDER_QUOTA_LIMIT',
  'PROVIDER_RATE_LIMIT',
  'PROVIDER_PARTIAL_RESPONSE',
  'PROVIDER_AUTH_ERROR',
  'PROVIDER_ERROR',
  'TEMPLATE_RENDER_ERROR',
  'VARIABLE_MISSING_OR_EMPTY',
  'UNKNOWN_ERROR',
] as const;
const ErrorType = Type.Union(
  ERROR_TYPES.map((t) => Type.Literal(t)),
  { description: `must be one of ${ERROR_TYPES.join(', ')}` },
);

const ShortText = Type.String({ maxLength: LIMITS.shortText });

/** The legacy log call used by the SDKs' `run()` and wrapped provider clients. */
export const TrackRequestBody = Type.Object({
  api_key: ApiKeyField,
  function_name: Type.Optional(Nullable(ShortText)),
  provider_type: Type.Optional(Nullable(ShortText)),
  args: Type.Optional(Nullable(Type.Array(Type.Unknown()))),
  kwargs: Type.Optional(Nullable(JsonObject)),
  request_response: Type.Optional(Nullable(Type.Unknown())),
  request_start_time: Timestamp,
  request_end_time: Timestamp,
  tags: Type.Optional(Nullable(Tags)),
  metadata: Type.Optional(Nullable(Metadata)),
  prompt_id: Type.Optional(Nullable(Type.Union([Type.Integer(), ShortText]))),
  prompt_version: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: LIMITS.promptVersion }))),
  prompt_input_variables: Type.Optional(Nullable(JsonObject)),
  group_id: Type.Optional(Nullable(Id)),
  return_pl_id: Type.Optional(Nullable(Type.Boolean())),
  return_prompt_blueprint: Type.Optional(Nullable(Type.Boolean())),
  span_id: Type.Optional(Nullable(Type.Union([Type.Integer(), ShortText]))),
  status: Type.Optional(Nullable(Status)),
  error_type: Type.Optional(Nullable(ErrorType)),
  error_message: Type.Optional(Nullable(Type.String({ maxLength: LIMITS.errorMessage }))),
  feedback_token: Type.Optional(FeedbackTokenSpecBody),
});
export type TrackRequestBody = Carries<Static<typeof TrackRequestBody>, TrackRequestInput>;

export const TrackRequestReply = Type.Object({
  success: Type.Literal(true),
  request_id: Type.Integer(),
  prompt_blueprint: Nullable(JsonObject),
  feedback_token: Type.Optional(FeedbackTokenReply),
});

const Blueprint = Type.Object(
  {
    type: Type.Union([Type.Literal('chat'), Type.Literal('completion')], { description: 'must be "chat" or "completion"' }),
    messages: Type.Optional(Type.Array(Type.Unknown())),
    content: Type.Optional(Type.Array(Type.Unknown())),
  },
  { additionalProperties: true },
);

/** The current log call (`POST /log-request`). */
export const LogRequestBody = Type.Object({
  api_key: ApiKeyField,
  provider: Type.String({ minLength: 1, maxLength: LIMITS.shortText }),
  model: Type.String({ minLength: 1, maxLength: LIMITS.shortText }),
  input: Blueprint,
  output: Blueprint,
  request_start_time: Timestamp,
  request_end_time: Timestamp,
  parameters: Type.Optional(Nullable(JsonObject)),
  tags: Type.Optional(Nullable(Tags)),
  metadata: Type.Optional(Nullable(Metadata)),
  prompt_name: Type.Optional(Nullable(Type.String({ maxLength: LIMITS.promptName }))),
  prompt_id: Type.Optional(Nullable(Type.Union([Type.Integer(), ShortText]))),
  prompt_version_number: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: LIMITS.promptVersion }))),
  prompt_input_variables: Type.Optional(Nullable(JsonObject)),
  input_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: LIMITS.tokens }))),
  output_tokens: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: LIMITS.tokens }))),
  price: Type.Optional(Nullable(Type.Number({ minimum: 0 }))),
  function_name: Type.Optional(Nullable(ShortText)),
  score: Type.Optional(Nullable(Score)),
  score_name: Type.Optional(Nullable(ScoreName)),
  api_type: Type.Optional(Nullable(ShortText)),
  status: Type.Optional(Nullable(Status)),
  error_type: Type.Optional(Nullable(ErrorType)),
  error_message: Type.Optional(Nullable(Type.String({ maxLength: LIMITS.errorMessage }))),
  group_id: Type.Optional(Nullable(Id)),
  span_id: Type.Optional(Nullable(Type.Union([Type.Integer(), ShortText]))),
  feedback_token: Type.Optional(FeedbackTokenSpecBody),
});
export type LogRequestBody = Carries<Static<typeof LogRequestBody>, LogRequestInput>;

export const LogRequestReply = Type.Object({
  id: Type.Integer(),
  request_id: Type.Integer(),
  prompt_version: Nullable(Type.Integer()),
  status: Type.String(),
  error_type: Nullable(Type.String()),
  error_message: Nullable(Type.String()),
  feedback_token: Type.Optional(FeedbackTokenReply),
});

export const GetRequestParams = Type.Object({ request_id: Id });

export const GetRequestReply = Type.Object({
  success: Type.Literal(true),
  request_id: Type.Integer(),
  prompt_blueprint: JsonObject,
  provider: Type.String(),
  model: Type.String(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  tokens: Type.Integer(),
  price: Type.Number(),
  request_start_time: Type.String(),
  request_end_time: Type.String(),
  latency_ms: Type.Number(),
  trace_id: Nullable(Type.String()),
  status: Type.String(),
  scores: RecordOf(Type.Integer()),
});
