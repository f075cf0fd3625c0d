import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidField, notFound } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { scoreName } from '../../domain/score.js';
import { filterFromParams } from '../../domain/search-params.js';
import { parseFilter } from '../../domain/search-query.js';
import { DEFAULT_AGREEMENT_ITEMS } from '../../domain/agreement.js';
import { metricFor, queueRatings, windowRatings } from '../../review/agreement-data.js';
import { MAX_QUEUE_ITEMS } from '../../review/queue-feed.js';
import { agreementReply, comparisonReply, disputes, type RatingPoint } from '../../review/agreement-view.js';
import { ErrorBody } from '../../schemas/common.js';
import {
  AdjudicateBody,
  AdjudicateReply,
  AgreementQuery,
  AgreementReply,
  DEFAULT_BOOTSTRAP_REPLICATES,
  DEFAULT_CLAIM_TTL_SECONDS,
  DisputesQuery,
  DisputesReply,
  FromDisagreementsBody,
  ItemParams,
  QueueAgreementQuery,
  QueueAgreementReply,
  QueueParams,
  QueueReply,
} from '../../schemas/review.js';
import type { CurrentRating } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';
import { queueOf, queueWire, ratingWire } from './review-queues.js';
import { ratingOf } from './scores.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 503: ErrorBody };

const points = (ratings: readonly CurrentRating[]): RatingPoint[] => ratings.map((r) => ({ requestId: r.requestId, rater: r.rater, value: r.value }));

/** Agreement between raters, disputes and adjudication, in a queue and over any filter. */
export const reviewAgreementRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, queue, auth }) => {
  app.get(
    '/v1/review-queues/:id/agreement',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Krippendorff's alpha between a queue's raters, with a bootstrap interval and per-rater figures",
        description: [
          "Computed from the current ratings of the queue's score name given through the queue. The metric follows the name's schema: interval for numeric names (and names without a schema), nominal for categorical and boolean ones; `metric=ordinal` (or another) on request.",
          'Alpha handles missing ratings as Krippendorff defines it: items with fewer than two ratings are not pairable and are left out. `interval` is a percentile bootstrap over items (`replicates`, default 1000, drawn from `seed`, default 1: the same seed gives the same interval). Per rater: items rated, items shared with another rater, mean offset from the other raters on shared items, and the rater\'s own alpha against the rest (1 - the mean disagreement of the pairs that include the rater / the expected disagreement of all values).',
        ].join('\n\n'),
        params: QueueParams,
        querystring: QueueAgreementQuery,
        response: { 200: QueueAgreementReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const q = await queueOf(store, workspaceId, req.params.id);
      const { metric } = await metricFor(store, workspaceId, q.scoreName, req.query.metric);
      const ratings = await queueRatings(store, q);
      const bootstrap = { seed: req.query.seed ?? 1, replicates: req.query.replicates ?? DEFAULT_BOOTSTRAP_REPLICATES };
      return { success: true as const, queue_id: q.id, name: q.scoreName, agreement: agreementReply(points(ratings), metric, bootstrap) };
    },
  );

  app.get(
    '/v1/review-queues/:id/disputes',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'The items of a queue whose raters disagree, largest spread first',
        description: "Items rated through the queue by two or more raters whose ratings differ, ordered by spread (max - min) descending, then by the number of distinct values, then by request id; each with its current score and every rating given through the queue. Not blind: it is the adjudicator's view.",
        params: QueueParams,
        querystring: DisputesQuery,
        response: { 200: DisputesReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const q = await queueOf(store, workspaceId, req.params.id);
      const ratings = await queueRatings(store, q);
      const listed = disputes(points(ratings)).slice(0, req.query.limit ?? 100);
      const byKey = new Map(ratings.map((r) => [`${r.requestId}\u0000${r.rater}`, r]));
      const scores = new Map<number, number>();
      for (const id of listed.map((d) => d.request_id)) {
        const r = await store.requests.get(workspaceId, id);
        const score = r?.scores[q.scoreName];
        if (score !== undefined) scores.set(id, score);
      }
      return {
        success: true as const,
        queue_id: q.id,
        disputes: listed.map((d) => ({
          request_id: d.request_id,
          spread: d.spread,
          distinct: d.distinct,
          score: scores.get(d.request_id) ?? null,
          ratings: d.ratings.map((p) => ratingWire(byKey.get(`${d.request_id}\u0000${p.rater}`)!)),
        })),
      };
    },
  );

  app.post(
    '/v1/review-queues/:id/items/:request_id/adjudicate',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Settle an item's score: the adjudicated value, with the adjudicator in its history",
        description:
          "Takes `score` or `label` and a `comment`; writes through the score's adjudication (a history row of kind `adjudication` whose actor and rater are the caller). It works under any aggregate and without a schema: the adjudicated value is the item's score until a newer adjudication or a delete of the score; later ratings are recorded but leave it.",
        params: ItemParams,
        body: AdjudicateBody,
        response: { 200: AdjudicateReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const q = await queueOf(store, workspaceId, req.params.id);
      const requestId = parseId(req.params.request_id, 'request_id');
      if (!(await store.reviewQueues.item(q.id, requestId))) throw notFound('request_id', 'item in this review queue');
      const { comment, value, label } = ratingOf({ score: req.body.score, label: req.body.label, comment: req.body.comment });
      const change = await queue.submit({ op: 'adjudicate', workspaceId, requestId, name: q.scoreName, value, label: label ?? null, actor, opts: { comment } });
      return {
        success: true as const,
        queue_id: q.id,
        request_id: requestId,
        name: q.scoreName,
        old_value: change.oldValue,
        new_value: change.newValue,
        label: change.label ?? null,
        adjudicator: actor.id,
      };
    },
  );

  app.get(
    '/v1/scores/agreement',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Agreement between every rater of a score name over the requests a filter matches; people against automatic raters with compare",
        description: [
          "Krippendorff's alpha (as for a queue) over every current rating of `name` on the newest `limit` matching requests (by id) that carry a score of `name` (the search filters of `GET /v1/requests/search`). `window` says how many were read and whether older ones were left out (`truncated`).",
          '`compare=humans,automatic` adds the comparison of people (`user:` and `external:` raters) with automatic raters (`key:` raters: an API key rating as itself, such as an LLM judge); end users are on neither side. Where a side has several raters on an item its value is their mean (interval), lower median (ordinal) or most frequent value (nominal). It gives alpha between the two sides, the mean absolute difference, a confusion matrix under the nominal metric, and the items where they disagree (differ at all under nominal; by `min_difference` or more otherwise, default 1), largest difference first.',
        ].join('\n\n'),
        querystring: AgreementQuery,
        response: { 200: AgreementReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const query = req.query;
      const name = scoreName(query.name);
      const filter = filterFromParams(query, query as Record<string, unknown>);
      const { metric, labelOf } = await metricFor(store, workspaceId, name, query.metric);
      const read = await windowRatings(store, workspaceId, name, filter, query.limit ?? DEFAULT_AGREEMENT_ITEMS);
      const ratings = points(read.ratings);
      const bootstrap = { seed: query.seed ?? 1, replicates: query.replicates ?? DEFAULT_BOOTSTRAP_REPLICATES };
      return {
        success: true as const,
        name,
        window: read.window,
        agreement: agreementReply(ratings, metric, bootstrap),
        ...(query.compare === undefined ? {} : { comparison: comparisonReply(ratings, metric, query.min_difference ?? 1, labelOf) }),
      };
    },
  );

  app.post(
    '/v1/review-queues/from-disagreements',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Make a review queue of the items where people and automatic raters disagree',
        description:
          "Compares people with automatic raters on `score_name` over the newest `limit` requests `filter` matches that carry the score (as `GET /v1/scores/agreement?compare=humans,automatic` with the same `limit`), and makes a queue (origin `disagreements`) whose items are those where they disagree, largest difference first. `include_new` and `sample` do not apply.",
        body: FromDisagreementsBody,
        response: { 201: QueueReply, ...errors },
      },
    },
    async (req, reply) => {
      const { workspaceId, actor } = req.auth!;
      const body = req.body;
      if (body.name.trim().length === 0) throw invalidField('name', 'must not be blank');
      const name = scoreName(body.score_name, 'score_name');
      const filter = body.filter === undefined || body.filter === null ? null : body.filter;
      const parsed = filter === null ? null : parseFilter(filter);
      const { metric, labelOf } = await metricFor(store, workspaceId, name, body.metric);
      // The window the agreement page showed: the newest `limit`, so a filter matching every
      // request costs what one matching `limit` of them does.
      const read = await windowRatings(store, workspaceId, name, parsed, body.limit ?? DEFAULT_AGREEMENT_ITEMS);
      const ratings = points(read.ratings);
      const comparison = comparisonReply(ratings, metric, body.min_difference ?? 1, labelOf, MAX_QUEUE_ITEMS);
      const heads = await store.reviewQueues.heads(workspaceId);
      const id = await queue.submit({
        op: 'createReviewQueue',
        workspaceId,
        definition: {
          name: body.name.trim(),
          origin: 'disagreements',
          scoreName: name,
          filter,
          sample: null,
          includeNew: false,
          ratersPerItem: body.raters_per_item,
          blind: body.blind ?? false,
          instructions: body.instructions ?? null,
          claimTtlMs: (body.claim_ttl_seconds ?? DEFAULT_CLAIM_TTL_SECONDS) * 1000,
        },
        requestIds: comparison.disagreements.map((d) => d.request_id),
        requestCursor: heads.requestId,
        eventCursor: heads.eventId,
        actor,
      });
      const q = (await store.reviewQueues.get(workspaceId, id))!;
      return reply.code(201).send({ success: true as const, queue: queueWire(q, await store.reviewQueues.progress(id, Date.now())) });
    },
  );

};
