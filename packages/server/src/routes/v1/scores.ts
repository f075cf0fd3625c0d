import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decodeEventCursor, encodeEventCursor } from '../../domain/event-cursor.js';
import { invalidField, notFound, TallyError } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { checkScore, scoreName } from '../../domain/score.js';
import { checkComment, externalRater, SCHEMA_LIMITS } from '../../domain/score-schema.js';
import { toIso } from '../../domain/timestamps.js';
import { ErrorBody } from '../../schemas/common.js';
import {
  BatchBody,
  BatchErrorBody,
  BatchReply,
  DEFAULT_FEED_LIMIT,
  DeleteScoreQuery,
  FeedQuery,
  FeedReply,
  HistoryReply,
  MAX_BATCH_ITEMS,
  PutScoreBody,
  RequestIdParams,
  ScoreChangeReply,
  ScoreParams,
  type ScoreEventItem,
} from '../../schemas/scores.js';
import type { ScoreChange, ScoreEvent } from '../../store/types.js';
import type { RatingFields, ScoreItem } from '../../store/write-commands.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };

export function toEventItem(e: ScoreEvent): ScoreEventItem {
  return {
    id: e.id,
    request_id: e.requestId,
    name: e.name,
    old_value: e.oldValue,
    new_value: e.newValue,
    actor: e.actor,
    source: e.source,
    comment: e.comment,
    batch_id: e.batchId,
    at: toIso(e.at),
    kind: e.kind,
    rater: e.rater,
    rating: e.rating,
    label: e.label,
    reasons: e.reasons,
    schema_version: e.schemaVersion,
  };
}

/** A change as the write routes answer it. */
export function changeReply(c: ScoreChange) {
  return {
    request_id: c.requestId,
    name: c.name,
    old_value: c.oldValue,
    new_value: c.newValue,
    label: c.label ?? null,
    ...(c.rater === undefined ? {} : { rater: c.rater }),
    rating: c.rating ?? null,
    schema_version: c.schemaVersion ?? null,
  };
}

/** What one write gives beside its target, checked for shape (the schema's rules are checked in the write). */
interface RatingBody {
  score?: unknown;
  label?: unknown;
  comment?: unknown;
  reasons?: unknown;
  rater?: unknown;
}

/** Exactly one of score and label; a comment within its bytes; reasons as strings; a rater as an external name. */
export function ratingOf(b: RatingBody): RatingFields & { comment: string | null } {
  const hasScore = b.score !== undefined && b.score !== null;
  const hasLabel = b.label !== undefined && b.label !== null;
  if (hasScore && hasLabel) throw invalidField('label', 'give either score or label, not both');
  if (!hasScore && !hasLabel) throw invalidField('score', 'is required (or label, under a schema with labels)');
  const label = hasLabel ? b.label : null;
  if (label !== null && (typeof label !== 'string' || label.length === 0 || label.length > SCHEMA_LIMITS.labelChars)) {
    throw invalidField('label', `must be a string of 1 to ${SCHEMA_LIMITS.labelChars} characters`);
  }
  const comment = b.comment === undefined || b.comment === null ? null : b.comment;
  if (comment !== null && typeof comment !== 'string') throw invalidField('comment', 'must be a string');
  checkComment(comment);
  let reasons: string[] | null = null;
  if (b.reasons !== undefined && b.reasons !== null) {
    if (!Array.isArray(b.reasons) || b.reasons.some((r) => typeof r !== 'string') || b.reasons.length > SCHEMA_LIMITS.reasons) {
      throw invalidField('reasons', `must be an array of at most ${SCHEMA_LIMITS.reasons} strings`);
    }
    reasons = b.reasons as string[];
  }
  let rater: string | null = null;
  if (b.rater !== undefined && b.rater !== null) {
    if (typeof b.rater !== 'string') throw invalidField('rater', 'must be a string');
    rater = externalRater(b.rater);
  }
  return { value: hasScore ? checkScore(b.score) : null, label: label as string | null, comment, reasons, rater };
}

/** The rater a `?rater=` of a delete names: a key, a user, an external rater (bare names are external), or an end user. */
function raterParam(value: string): string {
  if (/^(key|user):[1-9][0-9]{0,15}$/.test(value)) return value;
  if (/^end_user:.+/.test(value) && value.length <= 256) return value;
  return externalRater(value, 'rater');
}

interface BatchItemProblem {
  index: number;
  field: string;
  message: string;
}

type CheckedItem = ScoreItem;

const ITEM_FIELDS = new Set(['request_id', 'name', 'score', 'label', 'comment', 'reasons', 'rater']);

/** Checks every item on its own, so that one answer lists every bad item, not just the first. */
function checkBatchItems(items: readonly unknown[]): { ok: CheckedItem[]; problems: BatchItemProblem[] } {
  const ok: CheckedItem[] = [];
  const problems: BatchItemProblem[] = [];
  items.forEach((raw, index) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push({ index, field: 'item', message: 'item: must be an object { request_id, name?, score | label, comment?, reasons?, rater? }' });
      return;
    }
    const item = raw as Record<string, unknown>;
    const before = problems.length;
    const attempt = <T>(field: string, fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        if (!(err instanceof TallyError)) throw err;
        // The error's own field: a rating's problem may be its label, comment, reasons or rater.
        problems.push({ index, field: err.field ?? field, message: err.message });
        return undefined;
      }
    };
    const unknown = Object.keys(item).filter((k) => !ITEM_FIELDS.has(k));
    for (const key of unknown) problems.push({ index, field: key, message: `${key}: unknown field; an item is { request_id, name?, score | label, comment?, reasons?, rater? }` });
    const requestId = attempt('request_id', () => parseId(item.request_id, 'request_id'));
    const name = attempt('name', () => {
      const n = item.name;
      if (n !== undefined && n !== null && typeof n !== 'string') throw new TallyError('invalid_field', 'name: must be a string', { field: 'name' });
      return scoreName(n);
    });
    const rating = attempt('score', () => ratingOf(item));
    if (problems.length === before) {
      const { comment, ...fields } = rating!;
      ok.push({ requestId: requestId!, name: name!, ...fields, ...(comment === null ? {} : { comment }) });
    }
  });
  return { ok, problems };
}

/** Score history, the workspace feed of score events, and changing scores one by one or in a batch. */
export const scoreRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, queue, auth, trackBodyLimit }) => {
  const requireRequest = async (workspaceId: number, id: number) => {
    const found = await store.requests.existingIds(workspaceId, [id]);
    if (!found.has(id)) throw notFound('id', 'request');
  };

  app.get(
    '/v1/requests/:id/scores/history',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Every change of a request's scores, oldest first",
        description: 'Each event has the old and new value (null: created / deleted), the actor, source, comment, batch id and time. History rows are append-only.',
        params: RequestIdParams,
        response: { 200: HistoryReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const id = parseId(req.params.id, 'id');
      await requireRequest(workspaceId, id);
      const events = await store.scores.history(workspaceId, id);
      return { success: true as const, request_id: id, events: events.map(toEventItem) };
    },
  );

  app.get(
    '/v1/score-events',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'The workspace-wide feed of score changes, for audits and syncing',
        description:
          'Oldest first, keyset-paged on the event id: pass `next_cursor` as `after` to continue. `next_cursor` is returned even for an empty page, so a syncing client stores it and polls again later.',
        querystring: FeedQuery,
        response: { 200: FeedReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const q = req.query;
      const afterId = q.after === undefined ? 0 : decodeEventCursor(q.after, 'after');
      const limit = q.limit ?? DEFAULT_FEED_LIMIT;
      const requestId = q.request_id === undefined ? undefined : parseId(q.request_id, 'request_id');
      // One extra row tells whether another page follows without a second query.
      const rows = await store.scores.events(workspaceId, { afterId, limit: limit + 1, name: q.name, requestId });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        success: true as const,
        events: page.map(toEventItem),
        next_cursor: last ? encodeEventCursor(last.id) : (q.after ?? null),
        has_more: rows.length > limit,
      };
    },
  );

  app.put(
    '/v1/requests/:id/scores/:name',
    {
      preValidation: auth,
      bodyLimit: trackBodyLimit,
      schema: {
        tags: ['v1'],
        summary: 'Rate a request under a name: the score is created, replaced, or recomputed from the ratings',
        description:
          "Give `score` or, under a schema with labels, `label` (exactly one), with an optional `comment` (at most 4096 bytes), `reasons` (a subset of the schema's) and `rater` (a named external rater; absent: the caller). " +
          "The write is checked against the name's schema and the workspace's strict_score_names, and refused with a 400 naming the field (nothing written). Under the schema's aggregate `latest` (the default) the rating is the score; under `mean` / `median` / `adjudicated` the score is computed from every rater's current rating. An adjudicated score (under any aggregate) stays: the rating is recorded beside it.",
        params: ScoreParams,
        body: PutScoreBody,
        response: { 200: ScoreChangeReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const id = parseId(req.params.id, 'id');
      const name = scoreName(req.params.name);
      const { comment, ...rating } = ratingOf(req.body);
      const change = await queue.submit({ op: 'setScore', workspaceId, requestId: id, name, ...rating, actor, opts: { comment } });
      return { success: true as const, ...changeReply(change) };
    },
  );

  app.delete(
    '/v1/requests/:id/scores/:name',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Delete a named score of a request (or one rater's rating); recorded in history",
        description:
          "Without `rater`: deletes the score and every rating (a history row of kind `delete`, new_value null); 404 when the request has no score of that name. " +
          "With `rater`: withdraws that rater's rating and recomputes the score from the ratings left (deleted when none is left); 404 naming `rater` when that rater has no rating. An optional `comment` is stored in the history row.",
        params: ScoreParams,
        querystring: DeleteScoreQuery,
        response: { 200: ScoreChangeReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const id = parseId(req.params.id, 'id');
      const name = scoreName(req.params.name);
      const rater = req.query.rater === undefined ? null : raterParam(req.query.rater);
      const comment = checkComment(req.query.comment ?? null);
      const change = await queue.submit({ op: 'deleteScore', workspaceId, requestId: id, name, actor, rater, opts: { comment } });
      if (!change && rater !== null) throw new TallyError('not_found', `rater: ${rater} has no rating of "${name}" on this request`, { field: 'rater' });
      if (!change) throw new TallyError('not_found', `name: the request has no score named "${name}"`, { field: 'name' });
      return { success: true as const, ...changeReply(change) };
    },
  );

  app.post(
    '/v1/scores/batch',
    {
      preValidation: auth,
      bodyLimit: trackBodyLimit,
      schema: {
        tags: ['v1'],
        summary: `Set up to ${MAX_BATCH_ITEMS} scores in one transaction: all or nothing`,
        description:
          "Items are `{ request_id, name?, score | label, comment?, reasons?, rater? }` (name absent: `default`), applied in order (a later item for the same request and name wins; the item's comment replaces the batch's). Every item is checked, also against its name's schema and the workspace's strict_score_names, before anything is written; if any is bad the answer is 400 with `errors: [{ index, field, message }]` for each bad item (including requests that do not exist or belong to another workspace) and nothing is written. Every history row of one call carries the same `batch_id` and source `batch`.",
        body: BatchBody,
        response: { 200: BatchReply, 400: BatchErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const { workspaceId, actor } = req.auth!;
      const { ok, problems } = checkBatchItems(req.body.items);
      const existing = await store.requests.existingIds(workspaceId, ok.map((i) => i.requestId));
      req.body.items.forEach((raw, index) => {
        const item = raw as Record<string, unknown>;
        if (problems.some((p) => p.index === index)) return;
        const id = parseId(item.request_id, 'request_id');
        if (!existing.has(id)) problems.push({ index, field: 'request_id', message: 'request_id: no request with this id' });
      });
      if (problems.length > 0) {
        problems.sort((x, y) => x.index - y.index);
        const bad = new Set(problems.map((p) => p.index)).size;
        const first = problems[0]!;
        return reply.code(400).send({
          success: false as const,
          code: 'invalid_field',
          message: `items: ${bad} of ${req.body.items.length} items are invalid and nothing was written (first: items.${first.index}.${first.message})`,
          errors: problems,
        });
      }
      const batchId = randomUUID();
      const batchActor = { id: actor.id, source: 'batch' as const };
      const comment = checkComment(req.body.comment ?? null);
      // One job is one transaction: if any item fails here (a request gone since the check), the
      // whole job rolls back, so the batch stays all or nothing.
      const changes = await queue.submit({
        op: 'setScores',
        workspaceId,
        items: ok,
        actor: batchActor,
        opts: { batchId, comment },
      });
      return {
        success: true as const,
        batch_id: batchId,
        count: changes.length,
        changes: changes.map((c) => ({ ...changeReply(c), new_value: c.newValue as number })),
      };
    },
  );
};
