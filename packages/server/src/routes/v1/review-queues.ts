import { randomInt } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { KeyAuth } from '../../auth/key-auth.js';
import { invalidField, notFound } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { checkSample, parseStratum } from '../../domain/sampling.js';
import { scoreName } from '../../domain/score.js';
import { parseFilter } from '../../domain/search-query.js';
import { toIso } from '../../domain/timestamps.js';
import { catchUp, createReviewQueue } from '../../review/queue-feed.js';
import { ErrorBody } from '../../schemas/common.js';
import {
  ClaimReply,
  CreateQueueBody,
  DEFAULT_CLAIM_TTL_SECONDS,
  ItemParams,
  ListQueuesQuery,
  OkReply,
  QueueListReply,
  QueueParams,
  QueueReply,
  RaterBody,
  type QueueItem,
} from '../../schemas/review.js';
import { requestDetail } from '../../search/request-detail.js';
import type { ReviewProgress, ReviewQueue } from '../../store/review-queues.js';
import type { Store } from '../../store/store.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody };

/**
 * Who rates: a dashboard user as `user:<id>` (and only as themselves); an API key as
 * `external:<rater>` when it names one, else as itself (`key:<id>`).
 */
export function raterOf(auth: KeyAuth, given: string | undefined): string {
  if (auth.userId !== undefined) {
    if (given !== undefined) throw invalidField('rater', 'a dashboard user rates as themselves; `rater` is for API keys');
    return auth.actor.id;
  }
  if (given === undefined) return auth.actor.id;
  if (given.trim() !== given || given.length === 0) throw invalidField('rater', 'must be a name without leading or trailing spaces');
  return `external:${given}`;
}

export function queueWire(q: ReviewQueue, p: ReviewProgress): QueueItem {
  return {
    id: q.id,
    name: q.name,
    origin: q.origin,
    score_name: q.scoreName,
    filter: q.filter as QueueItem['filter'],
    sample: q.sample === null ? null : { ...q.sample },
    include_new: q.includeNew,
    raters_per_item: q.ratersPerItem,
    blind: q.blind,
    instructions: q.instructions,
    claim_ttl_seconds: Math.round(q.claimTtlMs / 1000),
    created_at: toIso(q.createdAt),
    created_by: q.createdBy,
    archived_at: q.archivedAt === null ? null : toIso(q.archivedAt),
    progress: {
      items: p.items,
      completed: p.completed,
      in_progress: p.inProgress,
      pending: p.items - p.completed - p.inProgress,
      ratings: p.ratings,
      raters: p.raters,
    },
  };
}

/** The queue of this workspace; a foreign or missing id answers 404 naming `id`. */
export async function queueOf(store: Store, workspaceId: number, rawId: unknown): Promise<ReviewQueue> {
  const q = await store.reviewQueues.get(workspaceId, parseId(rawId, 'id'));
  if (!q) throw notFound('id', 'review queue');
  return q;
}

/** Review queues: made from a search filter, claimed item by item by raters. */
export const reviewQueueRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, queue, auth }) => {
  /** The queue brought up to date with what matched since its last pass (include_new). */
  const freshQueue = async (workspaceId: number, rawId: unknown): Promise<ReviewQueue> => {
    const q = await queueOf(store, workspaceId, rawId);
    if (q.includeNew && q.archivedAt === null) await catchUp(store, queue, q);
    return q;
  };

  app.post(
    '/v1/review-queues',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Make a review queue from a search filter',
        description: [
          '`filter` is a native filter node of `POST /v1/requests/search` (absent or null: every request). The requests it matches now become the items (each once), sampled when `sample` says so: `{ count }` or `{ ratio }`, with a `seed` that reproduces the sample and `by` to give each model, prompt version, ... its share. With `include_new`, each request that comes to match later (logged, or scored where the filter tests scores) is added before the next claim or read of the queue.',
          'Each item goes to `raters_per_item` raters; a claim holds an item for `claim_ttl_seconds` (default 600). A queue holds at most 100000 items.',
        ].join('\n\n'),
        body: CreateQueueBody,
        response: { 201: QueueReply, ...errors },
      },
    },
    async (req, reply) => {
      const { workspaceId, actor } = req.auth!;
      const body = req.body;
      const filter = body.filter === undefined || body.filter === null ? null : body.filter;
      if (filter !== null) parseFilter(filter);
      const sample = body.sample === undefined || body.sample === null ? null : checkSample(body.sample, 'sample', randomInt(0, 2 ** 31));
      if (sample?.by !== undefined) parseStratum(sample.by);
      const name = body.name.trim();
      if (name.length === 0) throw invalidField('name', 'must not be blank');
      const id = await createReviewQueue(store, queue, workspaceId, actor, {
        name,
        origin: 'filter',
        scoreName: scoreName(body.score_name, 'score_name'),
        filter,
        sample,
        includeNew: body.include_new ?? false,
        ratersPerItem: body.raters_per_item,
        blind: body.blind ?? false,
        instructions: body.instructions ?? null,
        claimTtlMs: (body.claim_ttl_seconds ?? DEFAULT_CLAIM_TTL_SECONDS) * 1000,
      });
      const q = (await store.reviewQueues.get(workspaceId, id))!;
      return reply.code(201).send({ success: true as const, queue: queueWire(q, await store.reviewQueues.progress(id, Date.now())) });
    },
  );

  app.get(
    '/v1/review-queues',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "The workspace's review queues with their progress, oldest first",
        description: 'Archived queues are left out unless `include_archived=true`.',
        querystring: ListQueuesQuery,
        response: { 200: QueueListReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const queues = await store.reviewQueues.list(workspaceId, { includeArchived: req.query.include_archived ?? false });
      const now = Date.now();
      const out: QueueItem[] = [];
      for (const q of queues) out.push(queueWire(q, await store.reviewQueues.progress(q.id, now)));
      return { success: true as const, queues: out };
    },
  );

  app.get(
    '/v1/review-queues/:id',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'A review queue and its progress: items, completed, in progress, ratings per rater',
        params: QueueParams,
        response: { 200: QueueReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const q = await freshQueue(workspaceId, req.params.id);
      return { success: true as const, queue: queueWire(q, await store.reviewQueues.progress(q.id, Date.now())) };
    },
  );

  app.delete(
    '/v1/review-queues/:id',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Archive a review queue: no more claims; its items, claims and ratings stay',
        params: QueueParams,
        response: { 200: QueueReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const q = await queueOf(store, workspaceId, req.params.id);
      await queue.submit({ op: 'archiveReviewQueue', workspaceId, queueId: q.id });
      const archived = (await store.reviewQueues.get(workspaceId, q.id))!;
      return { success: true as const, queue: queueWire(archived, await store.reviewQueues.progress(q.id, Date.now())) };
    },
  );

  app.post(
    '/v1/review-queues/:id/claim',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Claim the caller's next item of a review queue",
        description: [
          'Hands the rater (a dashboard user, the API key, or the external `rater` the key names) the first item they have not rated, claimed or skipped in this queue and that fewer than `raters_per_item` other raters have rated or hold; it is held for them for the queue\'s `claim_ttl_seconds`. A rater who already holds an item gets it back (`held: true`). `item` is null when nothing is left for this rater.',
          'Claims are atomic on both backends: two raters claiming at once never take the same last slot.',
          "In a blind queue the request comes without its score of the queue's name (`scores_hidden: true`).",
        ].join('\n\n'),
        params: QueueParams,
        body: RaterBody,
        response: { 200: ClaimReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const rater = raterOf(req.auth!, req.body?.rater);
      const q = await freshQueue(workspaceId, req.params.id);
      const claim = await queue.submit({ op: 'claimReviewItem', workspaceId, queueId: q.id, rater });
      if (claim === null) return { success: true as const, rater, item: null };
      const { request } = await requestDetail(store, workspaceId, claim.requestId);
      if (q.blind) delete request.scores[q.scoreName];
      return {
        success: true as const,
        rater,
        item: {
          request_id: claim.requestId,
          claimed_at: toIso(claim.claimedAt),
          expires_at: toIso(claim.expiresAt),
          held: claim.held,
          request,
          scores_hidden: q.blind,
        },
      };
    },
  );

  app.post(
    '/v1/review-queues/:id/items/:request_id/skip',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Give back a claimed item; the rater is not handed it again',
        description: '404 naming `request_id` when the rater holds no claim on it.',
        params: ItemParams,
        body: RaterBody,
        response: { 200: OkReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const rater = raterOf(req.auth!, req.body?.rater);
      const q = await queueOf(store, workspaceId, req.params.id);
      const requestId = parseId(req.params.request_id, 'request_id');
      await queue.submit({ op: 'skipReviewItem', workspaceId, queueId: q.id, requestId, rater });
      return { success: true as const };
    },
  );
};
