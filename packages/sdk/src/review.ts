import { call, strip, type Ok, type RequestOptions, type TransportOptions } from './http.js';
import type {
  AdjudicateParams,
  AdjudicateResult,
  AgreementOptions,
  ClaimResult,
  CreateQueueParams,
  Dispute,
  FromDisagreementsParams,
  ItemView,
  QueueAgreement,
  RateItemParams,
  RateItemResult,
  RaterOption,
  ReviewQueue,
} from './review-types.js';
import type { RequestId } from './types.js';
import { checkId } from './validate.js';

/** A rater given only when named: absent means the key itself. */
const raterBody = (o: RaterOption) => (o.rater === undefined ? {} : { rater: o.rater });

/**
 * Review queues: requests a filter matched, handed to several raters each, with blind review,
 * agreement between the raters, disputes and adjudication. See docs/review.md.
 */
export class QueuesResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Makes a queue of the requests a search filter matches now (sampled if asked), and, with
   * `include_new`, of those that match later.
   * @example
   * ```ts
   * const q = await tally.queues.create({ name: 'weekly', score_name: 'quality', filter: { field: 'model', op: '=', value: 'gpt-4o' }, sample: { count: 200, seed: 7, by: 'prompt_version' }, raters_per_item: 2, blind: true });
   * ```
   */
  async create(params: CreateQueueParams, opts?: RequestOptions): Promise<ReviewQueue> {
    // Not idempotent: a retry after an unclear failure could make a second queue.
    const res = await call<Ok<{ queue: ReviewQueue }>>(this.#t, { method: 'POST', path: '/v1/review-queues', body: params, idempotent: false }, opts);
    return res.queue;
  }

  /** The workspace's queues with their progress (archived ones with `include_archived`). */
  async list(params: { include_archived?: boolean } = {}, opts?: RequestOptions): Promise<ReviewQueue[]> {
    const res = await call<Ok<{ queues: ReviewQueue[] }>>(this.#t, { method: 'GET', path: '/v1/review-queues', query: { include_archived: params.include_archived }, idempotent: true }, opts);
    return res.queues;
  }

  /** One queue and its progress: items, completed, in progress, ratings per rater. */
  async get(queueId: number, opts?: RequestOptions): Promise<ReviewQueue> {
    const id = checkId(queueId, 'id');
    const res = await call<Ok<{ queue: ReviewQueue }>>(this.#t, { method: 'GET', path: `/v1/review-queues/${id}`, idempotent: true }, opts);
    return res.queue;
  }

  /** Archives a queue: no more claims; its items and ratings stay. */
  async archive(queueId: number, opts?: RequestOptions): Promise<ReviewQueue> {
    const id = checkId(queueId, 'id');
    const res = await call<Ok<{ queue: ReviewQueue }>>(this.#t, { method: 'DELETE', path: `/v1/review-queues/${id}`, idempotent: true }, opts);
    return res.queue;
  }

  /**
   * Claims the next item for the key (or the external `rater` it names); `item` is null when
   * nothing is left for that rater.
   * @example
   * ```ts
   * const { item } = await tally.queues.claim(q.id, { rater: 'vendor-ann' });
   * if (item) await tally.queues.rate(q.id, item.request_id, { score: 80, rater: 'vendor-ann' });
   * ```
   */
  async claim(queueId: number, options: RaterOption = {}, opts?: RequestOptions): Promise<ClaimResult> {
    const id = checkId(queueId, 'id');
    // Retrying is safe: a rater who holds an item is handed the same item again.
    return strip(await call<Ok<ClaimResult>>(this.#t, { method: 'POST', path: `/v1/review-queues/${id}/claim`, body: raterBody(options), idempotent: true }, opts));
  }

  /** Gives back a claimed item; the rater is not handed it again. */
  async skip(queueId: number, requestId: RequestId, options: RaterOption = {}, opts?: RequestOptions): Promise<true> {
    const id = checkId(queueId, 'id');
    const rid = checkId(requestId, 'request_id');
    await call(this.#t, { method: 'POST', path: `/v1/review-queues/${id}/items/${rid}/skip`, body: raterBody(options), idempotent: true }, opts);
    return true;
  }

  /** Rates an item under the queue's score name (score or label, comment, reasons); releases the claim. */
  async rate(queueId: number, requestId: RequestId, params: RateItemParams, opts?: RequestOptions): Promise<RateItemResult> {
    const id = checkId(queueId, 'id');
    const rid = checkId(requestId, 'request_id');
    return strip(await call<Ok<RateItemResult>>(this.#t, { method: 'POST', path: `/v1/review-queues/${id}/items/${rid}/ratings`, body: params, idempotent: true }, opts));
  }

  /** One item as the caller may see it (in a blind queue, without the other ratings until the caller rated). */
  async item(queueId: number, requestId: RequestId, options: RaterOption = {}, opts?: RequestOptions): Promise<ItemView> {
    const id = checkId(queueId, 'id');
    const rid = checkId(requestId, 'request_id');
    return strip(await call<Ok<ItemView>>(this.#t, { method: 'GET', path: `/v1/review-queues/${id}/items/${rid}`, query: { rater: options.rater }, idempotent: true }, opts));
  }

  /**
   * Krippendorff's alpha between the queue's raters, with a bootstrap interval and per-rater figures.
   * @example
   * ```ts
   * const { agreement } = await tally.queues.agreement(q.id, { metric: 'ordinal' });
   * console.log(agreement.alpha, agreement.interval);
   * ```
   */
  async agreement(queueId: number, options: AgreementOptions = {}, opts?: RequestOptions): Promise<QueueAgreement> {
    const id = checkId(queueId, 'id');
    return strip(await call<Ok<QueueAgreement>>(this.#t, { method: 'GET', path: `/v1/review-queues/${id}/agreement`, query: { ...options }, idempotent: true }, opts));
  }

  /** The items whose raters disagree, largest spread first. */
  async disputes(queueId: number, params: { limit?: number } = {}, opts?: RequestOptions): Promise<Dispute[]> {
    const id = checkId(queueId, 'id');
    const res = await call<Ok<{ disputes: Dispute[] }>>(this.#t, { method: 'GET', path: `/v1/review-queues/${id}/disputes`, query: { limit: params.limit }, idempotent: true }, opts);
    return res.disputes;
  }

  /** Settles an item's score (the name's schema must aggregate by adjudication); the caller is recorded as adjudicator. */
  async adjudicate(queueId: number, requestId: RequestId, params: AdjudicateParams, opts?: RequestOptions): Promise<AdjudicateResult> {
    const id = checkId(queueId, 'id');
    const rid = checkId(requestId, 'request_id');
    return strip(await call<Ok<AdjudicateResult>>(this.#t, { method: 'POST', path: `/v1/review-queues/${id}/items/${rid}/adjudicate`, body: params, idempotent: true }, opts));
  }

  /** Makes a queue of the items where people and automatic raters disagree on a score name. */
  async fromDisagreements(params: FromDisagreementsParams, opts?: RequestOptions): Promise<ReviewQueue> {
    const res = await call<Ok<{ queue: ReviewQueue }>>(this.#t, { method: 'POST', path: '/v1/review-queues/from-disagreements', body: params, idempotent: false }, opts);
    return res.queue;
  }
}
