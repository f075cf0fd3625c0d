import { Type } from '@sinclair/typebox';
import { Id, Nullable, ScoreName } from './common.js';
import { FilterNode } from './search.js';

export const MAX_ALERTS_PER_WORKSPACE = 100;

export const CreateAlertBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    score_name: ScoreName,
    filter: Type.Optional(Nullable(FilterNode)),
    window: Type.Union([Type.Integer({ minimum: 1 }), Type.String({ maxLength: 16 })], { description: 'seconds, or a duration like "15m", "1h", "7d"; 1 minute to 30 days' }),
    min_count: Type.Integer({ minimum: 2, maximum: 1_000_000, description: 'must be an integer from 2 to 1000000' }),
    threshold: Type.Number({ description: 'mean alerts: a score (0..100); share alerts: a proportion (0..1)' }),
    direction: Type.Union([Type.Literal('below'), Type.Literal('above')], { description: 'must be "below" or "above"' }),
    confidence: Type.Optional(Type.Number({ minimum: 0.5, maximum: 0.999, default: 0.95, description: 'must be from 0.5 to 0.999' })),
    kind: Type.Optional(Type.Union([Type.Literal('mean'), Type.Literal('share')], { description: 'must be "mean" or "share"' })),
    value: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'share alerts: the score value counted, e.g. 0 for a thumbs-down' })),
    label: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: "share alerts, instead of value: a label of the score name's schema, e.g. \"bad\"; stored as that label's value when the alert is created" }),
    ),
  },
  { additionalProperties: false },
);

export const AlertParams = Type.Object({ id: Id });
export const PatchAlertBody = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });

export const AlertItem = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  score_name: Type.String(),
  filter: Type.Unknown({ description: 'the native filter node, or null' }),
  window: Type.String(),
  window_seconds: Type.Number(),
  min_count: Type.Integer(),
  threshold: Type.Number(),
  direction: Type.String(),
  confidence: Type.Number(),
  kind: Type.String(),
  value: Nullable(Type.Integer()),
  enabled: Type.Boolean(),
  state: Type.String({ description: 'ok or firing' }),
  next_evaluation_at: Type.String(),
  request_log_url: Type.String({ description: 'the dashboard request log filtered as the alert filters' }),
  created_at: Type.String(),
});

export const AlertStateItem = Type.Object({
  at: Type.String(),
  state: Type.String(),
  changed: Type.Boolean({ description: 'this evaluation fired or resolved the alert' }),
  count: Type.Integer(),
  value: Nullable(Type.Number({ description: 'the mean (mean alerts) or the share (share alerts)' })),
  low: Nullable(Type.Number()),
  high: Nullable(Type.Number()),
});

export const AlertReply = Type.Object({ success: Type.Literal(true), alert: AlertItem });
export const AlertDetailReply = Type.Object({ success: Type.Literal(true), alert: AlertItem, history: Type.Array(AlertStateItem, { description: 'newest first' }) });
export const AlertListReply = Type.Object({ success: Type.Literal(true), alerts: Type.Array(AlertItem) });
export const EvaluateReply = Type.Object({
  success: Type.Literal(true),
  state: Type.String(),
  changed: Type.Boolean(),
  reason: Type.String({ description: 'too_few_scores, past_threshold, back_within or undecided (the interval straddles the threshold)' }),
  count: Type.Integer(),
  value: Nullable(Type.Number()),
  mean: Nullable(Type.Number({ description: 'mean alerts: the mean; share alerts: null' })),
  share: Nullable(Type.Number({ description: 'share alerts: the share; mean alerts: null' })),
  interval: Nullable(Type.Object({ low: Type.Number(), high: Type.Number(), confidence: Type.Number() })),
  threshold: Type.Number(),
  direction: Type.String(),
});
export const DeletedReply = Type.Object({ success: Type.Literal(true) });
