import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decodeEventCursor, encodeEventCursor } from '../../domain/event-cursor.js';
import { notFound, TallyError } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { checkScore, scoreName } from '../../domain/score.js';
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
import type { ScoreEvent } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody };

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
  };
}

interface BatchItemProblem {
  index: number;
  field: string;
  message: string;
}

interface CheckedItem {
  requestId: number;
  name: string;
  score: number;
}

/** Checks every item on its own, so that one answer lists every bad item, not just the first. */
function checkBatchItems(items: readonly unknown[]): { ok: CheckedItem[]; problems: BatchItemProblem[] } {
  const ok: CheckedItem[] = [];
  const problems: BatchItemProblem[] = [];
  items.forEach((raw, index) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push({ index, field: 'item', message: 'item: must be an object { request_id, name?, score }' });
      return;
    }
    const item = raw as Record<string, unknown>;
    const before = problems.length;
    const attempt = <T>(field: string, fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        if (!(err instanceof TallyError)) throw err;
        problems.push({ index, field, message: err.message });
        return undefined;
      }
    };
    const unknown = Object.keys(item).filter((k) => k !== 'request_id' && k !== 'name' && k !== 'score');
    for (const key of unknown) problems.push({ index, field: key, message: `${key}: unknown field; an item is { request_id, name?, score }` });
    const requestId = attempt('request_id', () => parseId(item.request_id, 'request_id'));
    const name = attempt('name', () => {
      const n = item.name;
      if (n !== undefined && n !== null && typeof n !== 'string') throw new TallyError('invalid_field', 'name: must be a string', { field: 'name' });
      return scoreName(n);
    });
    const score = attempt('score', () => checkScore(item.score));
    if (problems.length === before) ok.push({ requestId: requestId!, name: name!, score: score! });
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
        summary: 'Set a named score of a request (created or replaced), with an optional comment',
        params: ScoreParams,
        body: PutScoreBody,
        response: { 200: ScoreChangeReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const id = parseId(req.params.id, 'id');
      const name = scoreName(req.params.name);
      const change = await queue.submit({ op: 'setScore', workspaceId, requestId: id, name, value: req.body.score, actor, opts: { comment: req.body.comment ?? null } });
      return { success: true as const, request_id: id, name, old_value: change.oldValue, new_value: change.newValue };
    },
  );

  app.delete(
    '/v1/requests/:id/scores/:name',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Delete a named score of a request; recorded in history with new_value null',
        description: '404 when the request has no score of that name. An optional `comment` query parameter is stored in the history row.',
        params: ScoreParams,
        querystring: DeleteScoreQuery,
        response: { 200: ScoreChangeReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const id = parseId(req.params.id, 'id');
      const name = scoreName(req.params.name);
      const change = await queue.submit({ op: 'deleteScore', workspaceId, requestId: id, name, actor, opts: { comment: req.query.comment ?? null } });
      if (!change) throw new TallyError('not_found', `name: the request has no score named "${name}"`, { field: 'name' });
      return { success: true as const, request_id: id, name, old_value: change.oldValue, new_value: null };
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
          'Items are `{ request_id, name?, score }` (name absent: `default`), applied in order (a later item for the same request and name wins). Every item is checked before anything is written; if any is bad the answer is 400 with `errors: [{ index, field, message }]` for each bad item (including requests that do not exist or belong to another workspace) and nothing is written. Every history row of one call carries the same `batch_id` and source `batch`.',
        body: BatchBody,
        response: { 200: BatchReply, 400: BatchErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 503: ErrorBody },
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
      const comment = req.body.comment ?? null;
      // One job is one transaction: if any item fails here (a request gone since the check), the
      // whole job rolls back, so the batch stays all or nothing.
      const changes = await queue.submit({
        op: 'setScores',
        workspaceId,
        items: ok.map((i) => ({ requestId: i.requestId, name: i.name, value: i.score })),
        actor: batchActor,
        opts: { batchId, comment },
      });
      return {
        success: true as const,
        batch_id: batchId,
        count: changes.length,
        changes: changes.map((c) => ({ request_id: c.requestId, name: c.name, old_value: c.oldValue, new_value: c.newValue as number })),
      };
    },
  );
};
