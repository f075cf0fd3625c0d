import { randomInt } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { KeyAuth } from '../../auth/key-auth.js';
import { invalidField, notFound } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { checkSample, parseStratum } from '../../domain/sampling.js';
import { scoreName } from '../../domain/score.js';
import { externalRater } from '../../domain/score-schema.js';
import { parseFilter } from '../../domain/search-query.js';
import { toIso } from '../../domain/timestamps.js';
import { catchUp, createReviewQueue } from '../../review/queue-feed.js';
import { ErrorBody } from '../../schemas/common.js';
import {
  ClaimReply,
  CreateQueueBody,
  DEFAULT_CLAIM_TTL_SECONDS,
  ItemParams,
  ItemViewReply,
  ListQueuesQuery,
  OkReply,
  QueueListReply,
  QueueParams,
  QueueReply,
  RateItemBody,
  RateItemReply,
  RaterBody,
  RaterQuery,
  type QueueItem,
} from '../../schemas/review.js';
import type { RequestDetail } from '../../schemas/search.js';
import { requestDetail } from '../../search/request-detail.js';
import type { ReviewProgress, ReviewQueue } from '../../store/review-queues.js';
import type { Store } from '../../store/store.js';
import type { CurrentRating } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';
import { ratingOf } from './scores.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/**
 * Who rates: a dashboard user as `user:<id>` (and only as themselves); an API key as
 * `external:<rater>` when it names one, else as itself (`key:<id>`).
 */
export function raterOf(auth: KeyAuth, given: string | null | undefined): string {
  if (auth.userId !== undefined) {
    if (given !== undefined && given !== null) throw invalidField('rater', 'a dashboard user rates as themselves; `rater` is for API keys');
    return auth.actor.id;
  }
  return given === undefined || given === null ? auth.actor.id : externalRater(given);
}

/** A rating on the wire (ScoreRatingItem). */
export const ratingWire = (r: CurrentRating) => ({ rater: r.rater, value: r.value, label: r.label, comment: r.comment, reasons: r.reasons, source: r.source, at: toIso(r.at) });

/** Leaves the score of `name` and its details out of a request on the wire (blind review). */
export function hideScore(request: Static<typeof RequestDetail>, name: string): void {
  delete request.scores[name];
  if (request.score_details) delete request.score_details[name];
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
      if (q.blind) hideScore(request, q.scoreName);
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

  app.get(
    '/v1/review-queues/:id/items/:request_id',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'One item of a review queue as the caller may see it',
        description:
          "The request, the caller's claim and every current rating of the queue's name. In a blind queue, until the caller has rated the request under the queue's name (`rated`), the score of that name and every rating of it are left out (`hidden: true`, `ratings: null`). Blind review hides through the queue's routes; it is not an access control: the same key can read the request's scores through GET /v1/requests/{id}.",
        params: ItemParams,
        querystring: RaterQuery,
        response: { 200: ItemViewReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const rater = raterOf(req.auth!, req.query.rater);
      const q = await queueOf(store, workspaceId, req.params.id);
      const requestId = parseId(req.params.request_id, 'request_id');
      const item = await store.reviewQueues.item(q.id, requestId);
      if (!item) throw notFound('request_id', 'item in this review queue');
      const claim = (await store.reviewQueues.claims(q.id, requestId)).find((c) => c.rater === rater) ?? null;
      const ratings = await store.scores.currentRatings(workspaceId, [requestId], q.scoreName);
      const rated = ratings.some((r) => r.rater === rater);
      const hidden = q.blind && !rated;
      const { request } = await requestDetail(store, workspaceId, requestId);
      if (hidden) hideScore(request, q.scoreName);
      return {
        success: true as const,
        queue_id: q.id,
        request_id: requestId,
        rater,
        position: item.position,
        added_at: toIso(item.addedAt),
        completed_at: item.completedAt === null ? null : toIso(item.completedAt),
        your_claim: claim === null ? null : { state: claim.state, claimed_at: toIso(claim.claimedAt), expires_at: toIso(claim.expiresAt) },
        rated,
        hidden,
        request,
        ratings: hidden ? null : ratings.map(ratingWire),
      };
    },
  );

  app.post(
    '/v1/review-queues/:id/items/:request_id/ratings',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Rate an item of a review queue under the queue's score name; releases the claim",
        description: [
          "Takes `score` or `label` (exactly one), `comment` and `reasons`, checked against the name's schema like `PUT /v1/requests/{id}/scores/{name}` (a 400 naming the field writes nothing). The rating is recorded as the caller's (dashboard user, API key, or the external `rater` the key names), and the rater's claim becomes done, in one transaction.",
          'A rater who holds or held a claim on the item, or rated it through the queue before (the new rating replaces theirs), may rate it; anyone else only while the item has a free slot (409 naming `request_id` otherwise).',
        ].join('\n\n'),
        params: ItemParams,
        body: RateItemBody,
        response: { 200: RateItemReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const rater = raterOf(req.auth!, req.body.rater);
      const q = await queueOf(store, workspaceId, req.params.id);
      const requestId = parseId(req.params.request_id, 'request_id');
      const { comment, rater: _none, ...fields } = ratingOf({ score: req.body.score, label: req.body.label, comment: req.body.comment, reasons: req.body.reasons });
      const { change, completed } = await queue.submit({
        op: 'rateReviewItem',
        workspaceId,
        queueId: q.id,
        rating: { op: 'setScore', workspaceId, requestId, name: q.scoreName, ...fields, rater, actor, opts: { comment } },
      });
      return {
        success: true as const,
        queue_id: q.id,
        request_id: requestId,
        rater,
        name: q.scoreName,
        rating: change.rating ?? (change.newValue as number),
        label: change.label ?? null,
        old_value: change.oldValue,
        new_value: change.newValue,
        completed,
      };
    },
  );
};
