import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseWindow } from '../../domain/alert-rule.js';
import { invalidField, notFound, TallyError } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { scoreName } from '../../domain/score.js';
import { parseFilter } from '../../domain/search-query.js';
import { toIso } from '../../domain/timestamps.js';
import { evaluateAlertNow } from '../../events/alert-evaluator.js';
import { alertSummary, requestLogLink } from '../../events/payloads.js';
import { AlertDetailReply, AlertListReply, AlertParams, AlertReply, CreateAlertBody, DeletedReply, EvaluateReply, MAX_ALERTS_PER_WORKSPACE, PatchAlertBody } from '../../schemas/alerts.js';
import { ErrorBody } from '../../schemas/common.js';
import type { Alert } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';

export interface AlertRouteDeps extends Pick<RouteDeps, 'store' | 'auth'> {
  publicUrl: string | undefined;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };
const HISTORY_LIMIT = 500;

/** Alerts on a score's mean or share over a window: create, list, read with history, enable, delete, evaluate now. */
export const alertRoutes: FastifyPluginAsyncTypebox<AlertRouteDeps> = async (app, { store, auth, publicUrl }) => {
  const item = (a: Alert) => ({
    ...alertSummary(a),
    enabled: a.enabled,
    state: a.state,
    next_evaluation_at: toIso(a.nextEvaluationAt),
    request_log_url: requestLogLink(a, publicUrl),
    created_at: toIso(a.createdAt),
  });
  const find = async (workspaceId: number, rawId: unknown) => {
    const a = await store.alerts.get(workspaceId, parseId(rawId, 'id'));
    if (!a) throw notFound('id', 'alert');
    return a;
  };
  const tags = ['alerts'];
  /** The value of a label of the schema in force for a score name: what a share alert by label counts. */
  const labelValue = async (workspaceId: number, name: string, label: string): Promise<number> => {
    const schema = (await store.scoreSchemas.current(workspaceId, [name])).get(name);
    if (!schema?.labels) throw invalidField('label', `"${name}" has no schema with labels; give value`);
    const found = schema.labels.find((l) => l.label === label);
    if (!found) throw invalidField('label', `must be one of the labels of "${name}": ${schema.labels.map((l) => l.label).join(', ')}`);
    return found.value;
  };

  app.post(
    '/v1/alerts',
    {
      preValidation: auth,
      schema: {
        tags,
        summary: 'Create an alert on the mean of a score (or the share of one value) over a time window',
        description: [
          'Fires only when at least `min_count` scores are in the window and the whole confidence interval (default 95%) lies past `threshold` in `direction`; resolves only when the whole interval lies back on the good side. Mean alerts use the t-interval of the mean; share alerts (`kind: "share"`, `value` or `label`) the Wilson interval of the share of scores equal to `value`, with `threshold` a proportion from 0 to 1. A `label` is looked up in the schema in force for `score_name` when the alert is created (400 naming `label` if it has no such label) and stored as its value.',
          'The window holds the scores of `score_name` updated within the last `window`, on requests matching `filter` (a native filter node, as in POST /v1/requests/search). Evaluated on a schedule (--alert-interval-ms) and by POST /v1/alerts/{id}/evaluate. See docs/webhooks.md.',
        ].join('\n\n'),
        body: CreateAlertBody,
        response: { 201: AlertReply, ...errors },
      },
    },
    async (req, reply) => {
      const { workspaceId } = req.auth!;
      const b = req.body;
      const kind = b.kind ?? 'mean';
      const windowMs = parseWindow(b.window);
      const filter = b.filter === undefined || b.filter === null ? null : (parseFilter(b.filter, 'filter'), b.filter);
      const name = scoreName(b.score_name);
      let shareValue: number | null = null;
      if (kind === 'share') {
        if (b.value !== undefined && b.label !== undefined) throw invalidField('label', 'give either value or label, not both');
        if (b.value === undefined && b.label === undefined) throw invalidField('value', 'a share alert needs the score value it counts (or its label), e.g. 0 for a thumbs-down');
        shareValue = b.label === undefined ? b.value! : await labelValue(workspaceId, name, b.label);
        if (b.threshold < 0 || b.threshold > 1) throw invalidField('threshold', 'a share alert takes a proportion from 0 to 1 (0.2 for 20%)');
      } else {
        if (b.value !== undefined) throw invalidField('value', 'only share alerts take a value');
        if (b.label !== undefined) throw invalidField('label', 'only share alerts take a label');
        if (b.threshold < 0 || b.threshold > 100) throw invalidField('threshold', 'a mean alert takes a score from 0 to 100');
      }
      if ((await store.alerts.list(workspaceId)).length >= MAX_ALERTS_PER_WORKSPACE) throw new TallyError('conflict', `alerts: a workspace has at most ${MAX_ALERTS_PER_WORKSPACE}`);
      const alert = await store.alerts.create(
        {
          workspaceId,
          name: b.name,
          scoreName: name,
          filter,
          windowMs,
          minCount: b.min_count,
          threshold: b.threshold,
          direction: b.direction,
          confidence: b.confidence ?? 0.95,
          kind,
          shareValue,
        },
        Date.now(),
      );
      return reply.code(201).send({ success: true as const, alert: item(alert) });
    },
  );

  app.get('/v1/alerts', { preValidation: auth, schema: { tags, summary: "The workspace's alerts and their states", response: { 200: AlertListReply, ...errors } } }, async (req) => ({
    success: true as const,
    alerts: (await store.alerts.list(req.auth!.workspaceId)).map(item),
  }));

  app.get(
    '/v1/alerts/:id',
    { preValidation: auth, schema: { tags, summary: 'One alert with its evaluations, newest first (state changes kept for good, others 30 days)', params: AlertParams, response: { 200: AlertDetailReply, ...errors } } },
    async (req) => {
      const a = await find(req.auth!.workspaceId, req.params.id);
      const history = await store.alerts.history(a.workspaceId, a.id, HISTORY_LIMIT);
      return {
        success: true as const,
        alert: item(a),
        history: history.map((h) => ({ at: toIso(h.at), state: h.state, changed: h.changed, count: h.count, value: h.value, low: h.low, high: h.high })),
      };
    },
  );

  app.patch(
    '/v1/alerts/:id',
    { preValidation: auth, schema: { tags, summary: 'Enable or disable an alert (a disabled one is not evaluated on schedule)', params: AlertParams, body: PatchAlertBody, response: { 200: AlertReply, ...errors } } },
    async (req) => {
      const a = await store.alerts.setEnabled(req.auth!.workspaceId, parseId(req.params.id, 'id'), req.body.enabled);
      if (!a) throw notFound('id', 'alert');
      return { success: true as const, alert: item(a) };
    },
  );

  app.delete('/v1/alerts/:id', { preValidation: auth, schema: { tags, summary: 'Delete an alert and its history', params: AlertParams, response: { 200: DeletedReply, ...errors } } }, async (req) => {
    if (!(await store.alerts.remove(req.auth!.workspaceId, parseId(req.params.id, 'id')))) throw notFound('id', 'alert');
    return { success: true as const };
  });

  app.post(
    '/v1/alerts/:id/evaluate',
    {
      preValidation: auth,
      schema: {
        tags,
        summary: 'Evaluate an alert now: its state, the mean (or share), its interval and the count',
        description: 'Recorded in the history like a scheduled evaluation; a change of state sends alert.fired or alert.resolved to the webhooks.',
        params: AlertParams,
        response: { 200: EvaluateReply, ...errors },
      },
    },
    async (req) => {
      const a = await find(req.auth!.workspaceId, req.params.id);
      const { evaluation: e, changed } = await evaluateAlertNow(store, a, publicUrl);
      return {
        success: true as const,
        state: e.state,
        changed,
        reason: e.reason,
        count: e.count,
        value: e.value,
        mean: a.kind === 'mean' ? e.value : null,
        share: a.kind === 'share' ? e.value : null,
        interval: e.low === null || e.high === null ? null : { low: e.low, high: e.high, confidence: a.confidence },
        threshold: a.threshold,
        direction: a.direction,
      };
    },
  );
};
