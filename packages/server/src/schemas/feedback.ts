import { Type, type Static } from '@sinclair/typebox';
import { END_USER_MAX_CHARS, FEEDBACK_COMMENT_MAX_CHARS, FEEDBACK_LABEL_MAX_CHARS, FEEDBACK_LABELS_MAX, FEEDBACK_TTL_MAX_S, FEEDBACK_TTL_MIN_S } from '../domain/feedback.js';
import { ApiKeyField, Id, Nullable, Score, ScoreName } from './common.js';

/** Most tokens one batch call mints. */
export const MAX_TOKEN_BATCH = 500;
/** Most origins a workspace may allow for feedback. */
export const MAX_FEEDBACK_ORIGINS = 64;

/** What a token allows and for whom: shared by the minting routes and `feedback_token` of the log routes. */
const specFields = {
  name: Type.Optional(Nullable(ScoreName)),
  values: Type.Optional(Nullable(Type.Array(Score, { maxItems: 101, description: 'must be a list of integers from 0 to 100' }))),
  labels: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: FEEDBACK_LABEL_MAX_CHARS }), { maxItems: FEEDBACK_LABELS_MAX }))),
  range: Type.Optional(Nullable(Type.Object({ min: Score, max: Score }, { additionalProperties: false }))),
  end_user: Type.Optional(Nullable(Type.String({ maxLength: END_USER_MAX_CHARS }))),
  expires_in: Type.Optional(
    Nullable(Type.Integer({ minimum: FEEDBACK_TTL_MIN_S, maximum: FEEDBACK_TTL_MAX_S, description: `must be a whole number of seconds from ${FEEDBACK_TTL_MIN_S} to ${FEEDBACK_TTL_MAX_S} (30 days)` })),
  ),
};

/**
 * `feedback_token` of the log routes: asks for a token for the request just logged (the answer
 * then carries `feedback_token: { token, expires_at }`). No description: validation messages use a
 * schema's description, and this one's fields say better what is wrong with them.
 */
export const FeedbackTokenSpecBody = Type.Object(specFields, { additionalProperties: false });

export const CreateFeedbackTokenBody = Type.Object({ api_key: ApiKeyField, request_id: Id, ...specFields }, { additionalProperties: false });
export type CreateFeedbackTokenBody = Static<typeof CreateFeedbackTokenBody>;

export const FeedbackTokenReply = Type.Object({
  token: Type.String(),
  expires_at: Type.String({ description: 'ISO 8601, UTC' }),
});

export const CreateFeedbackTokenReply = Type.Object({
  success: Type.Literal(true),
  request_id: Type.Integer(),
  name: Type.String(),
  token: Type.String(),
  expires_at: Type.String(),
});

export const BatchFeedbackTokenBody = Type.Object(
  {
    api_key: ApiKeyField,
    ...specFields,
    items: Type.Array(Type.Object({ request_id: Id, ...specFields }, { additionalProperties: false }), { minItems: 1, maxItems: MAX_TOKEN_BATCH }),
  },
  { additionalProperties: false },
);
export type BatchFeedbackTokenBody = Static<typeof BatchFeedbackTokenBody>;

export const BatchFeedbackTokenReply = Type.Object({
  success: Type.Literal(true),
  tokens: Type.Array(Type.Object({ request_id: Type.Integer(), name: Type.String(), token: Type.String(), expires_at: Type.String() })),
});

export const RotateFeedbackSecretReply = Type.Object({
  success: Type.Literal(true),
  secret_id: Type.String({ description: 'the new secret\'s id, carried by every token minted from now on' }),
  rotated_at: Type.String(),
});

export const SubmitFeedbackBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 16_500 }),
    value: Type.Optional(Score),
    label: Type.Optional(Type.String({ minLength: 1, maxLength: FEEDBACK_LABEL_MAX_CHARS })),
    comment: Type.Optional(Nullable(Type.String({ maxLength: FEEDBACK_COMMENT_MAX_CHARS }))),
  },
  // The token is the only source of the request, the name and the end user: a body naming them
  // (`request_id`, `name`, `end_user`, `source`, `rater`) is refused, never silently ignored.
  { additionalProperties: false },
);
export type SubmitFeedbackBody = Static<typeof SubmitFeedbackBody>;

export const SubmitFeedbackReply = Type.Object({
  success: Type.Literal(true),
  name: Type.String(),
  value: Type.Integer(),
  label: Type.Optional(Type.String()),
});

export const FeedbackOrigins = Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { maxItems: MAX_FEEDBACK_ORIGINS });
