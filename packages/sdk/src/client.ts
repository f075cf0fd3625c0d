import { TallyError, invalidField } from './errors.js';
import { AlertsResource, WebhooksResource } from './events-resources.js';
import { TallyExport } from './export-stream.js';
import { call, send, strip, type CallSpec, type Ok, type RequestOptions, type TransportOptions } from './http.js';
import { QueuesResource } from './review.js';
import type { ScoresAgreement, ScoresAgreementParams } from './review-types.js';
import type {
  BatchItem,
  BatchResult,
  CompareParams,
  CompareResult,
  CorrelationParams,
  CorrelationResult,
  FacetsResult,
  CreatedFeedbackToken,
  CreateFeedbackTokenParams,
  CreateFeedbackTokensParams,
  ExportParams,
  FilterParams,
  LogRequestParams,
  LogRequestResult,
  RequestDetail,
  RequestId,
  RequestItem,
  RatingOptions,
  ScoreChange,
  ScoreLabelValue,
  ScoreSchema,
  ScoreSchemaDefinition,
  ScoreSchemaRecord,
  WorkspaceInfo,
  WorkspaceSettings,
  ScoreEvent,
  ScoreEventsPage,
  ScoreEventsParams,
  SearchPage,
  SearchParams,
  StatsParams,
  StatsResult,
  TrackGroupParams,
  TrackMetadataParams,
  TrackPromptParams,
  TrackScoreParams,
} from './types.js';
import { checkId, checkLabel, checkMetadata, checkScore, checkScoreName } from './validate.js';

/** A batch item's value: a score or a label, exactly one. */
function checkItemValue(item: BatchItem): void {
  // Checked as plain data: JavaScript callers are not held to the type.
  const { score, label } = item as { score?: unknown; label?: unknown };
  if (label === undefined || label === null) checkScore(score);
  else if (score !== undefined && score !== null) throw invalidField('label', 'give either score or label, not both');
  else checkLabel(label);
}

/** Options of `new Tally(...)`. */
export interface TallyOptions {
  /** API key of a workspace (`tl_...`). Default: env `TALLY_API_KEY`. */
  apiKey?: string;
  /** Where Tally listens, e.g. `http://127.0.0.1:8787`. Default: env `TALLY_BASE_URL`, else `http://127.0.0.1:8787`. */
  baseURL?: string;
  /** Milliseconds one attempt may wait for an answer. Default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt, for 429 and 5xx answers. Default 3. */
  maxRetries?: number;
  /** A `fetch` to use instead of the global one (tests, proxies, older runtimes). */
  fetch?: typeof fetch;
  /** Headers added to every call. */
  headers?: Record<string, string>;
}

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RETRIES = 3;

/** Reads an environment variable where there is one (Node, Deno, Bun); browsers have none. */
function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const value = proc?.env?.[name];
  return value === undefined || value === '' ? undefined : value;
}


/** Turns filter parameters into GET query parameters: the filter node travels as JSON text. */
function filterQuery(p: FilterParams): Record<string, string> {
  // Only what is given: an absent key must not override the same parameter given in `where`.
  const out: Record<string, string> = {};
  if (p.filter !== undefined) out.filter = JSON.stringify(p.filter);
  if (p.q !== undefined) out.q = p.q;
  return out;
}

/**
 * The PromptLayer-shaped track calls: code written for the official PromptLayer JS SDK ports by
 * changing the import. Each resolves `true` once the write is committed, and rejects with a
 * {@link TallyError} otherwise (never a silent `false`).
 */
export class TrackResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Scores a request: an integer 0..100 under a name (`default` when none is given). Scoring the
   * same name again replaces the value; every change is kept in the score history.
   * @example
   * ```ts
   * await tally.track.score({ request_id: 42, score: 87 });
   * await tally.track.score({ request_id: 42, score: 20, name: 'toxicity' });
   * ```
   */
  async score(params: TrackScoreParams, opts?: RequestOptions): Promise<true> {
    const request_id = checkId(params.request_id, 'request_id');
    const score = checkScore(params.score);
    const name = checkScoreName(params.name);
    await call(this.#t, { method: 'POST', path: '/rest/track-score', body: { request_id, score, ...(name === undefined ? {} : { name }) }, idempotent: true }, opts);
    return true;
  }

  /**
   * Attaches string metadata to a request; a key tracked again is replaced.
   * @example
   * ```ts
   * await tally.track.metadata({ request_id: 42, metadata: { user_id: 'u-17', team: 'search' } });
   * ```
   */
  async metadata(params: TrackMetadataParams, opts?: RequestOptions): Promise<true> {
    const request_id = checkId(params.request_id, 'request_id');
    const metadata = checkMetadata(params.metadata);
    await call(this.#t, { method: 'POST', path: '/rest/track-metadata', body: { request_id, metadata }, idempotent: true }, opts);
    return true;
  }

  /**
   * Links a request to a prompt name and a version or a release label, with its input variables.
   * @example
   * ```ts
   * await tally.track.prompt({ request_id: 42, prompt_name: 'greeting', version: 3, prompt_input_variables: { who: 'Ada' } });
   * ```
   */
  async prompt(params: TrackPromptParams, opts?: RequestOptions): Promise<true> {
    const request_id = checkId(params.request_id, 'request_id');
    const hasVersion = params.version !== undefined && params.version !== null;
    const hasLabel = params.label !== undefined && params.label !== null;
    if (hasVersion && hasLabel) throw invalidField('version', 'give either version or label, not both');
    const body = {
      request_id,
      prompt_name: params.prompt_name,
      prompt_input_variables: params.prompt_input_variables ?? {},
      ...(hasVersion ? { version: checkId(params.version, 'version') } : {}),
      ...(hasLabel ? { label: params.label } : {}),
    };
    await call(this.#t, { method: 'POST', path: '/rest/track-prompt', body, idempotent: true }, opts);
    return true;
  }

  /**
   * Adds a request to a group made by {@link GroupResource.create}.
   * @example
   * ```ts
   * const groupId = await tally.group.create();
   * await tally.track.group({ request_id: 42, group_id: groupId });
   * ```
   */
  async group(params: TrackGroupParams, opts?: RequestOptions): Promise<true> {
    const request_id = checkId(params.request_id, 'request_id');
    const group_id = checkId(params.group_id, 'group_id');
    await call(this.#t, { method: 'POST', path: '/rest/track-group', body: { request_id, group_id }, idempotent: true }, opts);
    return true;
  }
}

/**
 * End users' feedback, the server side: mint the tokens a web page submits ratings with (through
 * `@tally/sdk/feedback`, which needs no API key). See docs/feedback.md.
 */
export class FeedbackResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * A token that lets a page rate one request under one name, within what it allows. Rejects with
   * a 404 {@link TallyError} when the request is not in the key's workspace.
   * @example
   * ```ts
   * const { token } = await tally.feedback.createToken({ request_id: 42, name: 'thumbs', values: [100, 0], end_user: 'u-17' });
   * // hand `token` to the page that shows answer 42
   * ```
   */
  async createToken(params: CreateFeedbackTokenParams, opts?: RequestOptions): Promise<CreatedFeedbackToken> {
    const request_id = checkId(params.request_id, 'request_id');
    const res = await call<Ok<CreatedFeedbackToken>>(this.#t, { method: 'POST', path: '/v1/feedback-tokens', body: { ...params, request_id }, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Many tokens in one call (up to 500; a chat page shows many answers), in the order of `items`.
   * Fields beside `items` apply to every item.
   * @example
   * ```ts
   * const tokens = await tally.feedback.createTokens({ name: 'thumbs', values: [100, 0], items: ids.map((request_id) => ({ request_id })) });
   * ```
   */
  async createTokens(params: CreateFeedbackTokensParams, opts?: RequestOptions): Promise<CreatedFeedbackToken[]> {
    const items = params.items.map((item, i) => ({ ...item, request_id: checkId(item.request_id, `items.${i}.request_id`) }));
    const res = await call<Ok<{ tokens: CreatedFeedbackToken[] }>>(this.#t, { method: 'POST', path: '/v1/feedback-tokens/batch', body: { ...params, items }, idempotent: true }, opts);
    return res.tokens;
  }
}

/** Groups of requests (PromptLayer's `group`). */
export class GroupResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Creates a group and returns its id. Not retried after an unclear failure (it would create a
   * second group); 429 and 503 are retried.
   * @example
   * ```ts
   * const groupId = await tally.group.create();
   * ```
   */
  async create(opts?: RequestOptions): Promise<number> {
    const res = await call<Ok<{ id: number }>>(this.#t, { method: 'POST', path: '/create-group', body: {}, idempotent: false }, opts);
    return res.id;
  }
}

/** Reading logged requests: one by id, or searched with filters and a cursor. */
export class RequestsResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Everything logged about one request, with its current scores. Rejects with a 404
   * {@link TallyError} when the id is not in the key's workspace.
   * @example
   * ```ts
   * const r = await tally.requests.get(42);
   * console.log(r.model, r.scores.default);
   * ```
   */
  async get(id: RequestId, opts?: RequestOptions): Promise<RequestDetail> {
    const n = checkId(id, 'id');
    const res = await call<Ok<{ request: RequestDetail }> | Ok<RequestDetail>>(this.#t, { method: 'GET', path: `/v1/requests/${n}`, idempotent: true }, opts);
    return ('request' in res && typeof res.request === 'object' ? res.request : strip(res as Ok<RequestDetail>)) as RequestDetail;
  }

  /**
   * One page of a search. Pass the page's `next_cursor` as `cursor` for the next one.
   * @example
   * ```ts
   * const page = await tally.requests.searchPage({ filter: { field: 'score', name: 'quality', op: '<', value: 50 }, limit: 100 });
   * const prod = await tally.requests.searchPage({ where: { model: 'gpt-4o', tag: ['prod'], 'score.quality': 'lt:50' } });
   * ```
   */
  async searchPage(params: SearchParams = {}, opts?: RequestOptions): Promise<SearchPage> {
    if (params.limit !== undefined && (!Number.isInteger(params.limit) || params.limit < 1 || params.limit > 500)) {
      throw invalidField('limit', 'must be an integer from 1 to 500');
    }
    const { where, ...body } = params;
    // The simple filters exist only as query parameters, so a search with them goes by GET.
    const spec: CallSpec =
      where === undefined
        ? { method: 'POST', path: '/v1/requests/search', body, idempotent: true }
        : { method: 'GET', path: '/v1/requests/search', query: { ...where, sort_by: body.sort_by, sort_order: body.sort_order, limit: body.limit, cursor: body.cursor, ...filterQuery(body) }, idempotent: true };
    const res = await call<Ok<SearchPage>>(this.#t, spec, opts);
    return strip(res);
  }

  /**
   * The prompt names (with their versions), models, tags and metadata keys in use in the
   * workspace, each list at most `limit` long (default 100, at most 500).
   * @example
   * ```ts
   * const { models, metadata_keys } = await tally.requests.facets();
   * ```
   */
  async facets(params: { limit?: number } = {}, opts?: RequestOptions): Promise<FacetsResult> {
    const res = await call<Ok<FacetsResult>>(this.#t, { method: 'GET', path: '/v1/requests/facets', query: { limit: params.limit }, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Every request that matches, page after page, as one async iterator. Stable while new requests
   * arrive (cursor pagination). Stop early with `break`.
   * @example
   * ```ts
   * for await (const r of tally.requests.search({ filter: { field: 'tags', op: 'any', value: ['prod'] }, sort_by: 'score.quality', sort_order: 'asc' })) {
   *   console.log(r.id, r.scores.quality);
   * }
   * ```
   */
  async *search(params: SearchParams = {}, opts?: RequestOptions): AsyncGenerator<RequestItem> {
    let cursor = params.cursor;
    for (;;) {
      const page = await this.searchPage({ ...params, ...(cursor === undefined ? {} : { cursor }) }, opts);
      yield* page.items;
      if (!page.has_more || page.next_cursor === null) return;
      cursor = page.next_cursor;
    }
  }
}

/** The native score API: set, delete, history, the event feed, batches, statistics, comparisons. */
export class ScoresResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Rates a request under a name: a number, or `{ label }` under a schema with labels, with an
   * optional comment, reasons and external rater. The score is created, replaced, or recomputed
   * from every rater's rating (the schema's aggregate). A value the name's schema refuses rejects
   * with a 400 {@link TallyError} naming the field.
   * @example
   * ```ts
   * const change = await tally.scores.set(42, 'quality', 90, { comment: 'reviewed by Ada' });
   * // { request_id: 42, name: 'quality', old_value: 70, new_value: 90, rating: 90, rater: 'key:3', ... }
   * await tally.scores.set(42, 'verdict', { label: 'bad' }, { comment: 'made up a source', reasons: ['hallucination'], rater: 'vendor-a' });
   * ```
   */
  async set(requestId: RequestId, name: string, score: number | ScoreLabelValue, options: RatingOptions & RequestOptions = {}): Promise<ScoreChange> {
    const id = checkId(requestId, 'request_id');
    const n = checkScoreName(name) ?? 'default';
    const value = typeof score === 'object' && score !== null ? { label: checkLabel(score.label) } : { score: checkScore(score) };
    const { comment, reasons, rater, ...opts } = options;
    const body = { ...value, ...(comment === undefined ? {} : { comment }), ...(reasons === undefined ? {} : { reasons }), ...(rater === undefined ? {} : { rater }) };
    const res = await call<Ok<ScoreChange>>(this.#t, { method: 'PUT', path: `/v1/requests/${id}/scores/${encodeURIComponent(n)}`, body, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Deletes a named score and every rating; with `rater`, withdraws only that rater's rating and
   * recomputes the score. The change is recorded in history. Rejects with 404 when there is
   * nothing to delete.
   * @example
   * ```ts
   * await tally.scores.delete(42, 'quality', { comment: 'scored the wrong request' });
   * await tally.scores.delete(42, 'quality', { rater: 'external:vendor-a' });
   * ```
   */
  async delete(requestId: RequestId, name: string, options: { comment?: string; rater?: string } & RequestOptions = {}): Promise<ScoreChange> {
    const id = checkId(requestId, 'request_id');
    const n = checkScoreName(name) ?? 'default';
    const { comment, rater, ...opts } = options;
    const res = await call<Ok<ScoreChange>>(this.#t, { method: 'DELETE', path: `/v1/requests/${id}/scores/${encodeURIComponent(n)}`, query: { comment, rater }, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Every change of a request's scores, oldest first: old and new value, who, when, source.
   * @example
   * ```ts
   * for (const e of await tally.scores.history(42)) console.log(e.at, e.name, e.old_value, '→', e.new_value, e.actor);
   * ```
   */
  async history(requestId: RequestId, opts?: RequestOptions): Promise<ScoreEvent[]> {
    const id = checkId(requestId, 'request_id');
    const res = await call<Ok<{ events: ScoreEvent[] }>>(this.#t, { method: 'GET', path: `/v1/requests/${id}/scores/history`, idempotent: true }, opts);
    return res.events;
  }

  /**
   * One page of the workspace-wide feed of score changes, oldest first. Keep `next_cursor` and pass
   * it as `after` to sync changes elsewhere.
   * @example
   * ```ts
   * let after: string | undefined;
   * const page = await tally.scores.events({ after, limit: 500 });
   * after = page.next_cursor ?? after;
   * ```
   */
  async events(params: ScoreEventsParams = {}, opts?: RequestOptions): Promise<ScoreEventsPage> {
    const query = { after: params.after, limit: params.limit, name: params.name, request_id: params.request_id };
    const res = await call<Ok<ScoreEventsPage>>(this.#t, { method: 'GET', path: '/v1/score-events', query, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Sets up to 1000 scores in one transaction: all or nothing. Items are checked here first; a bad
   * one rejects at once with a {@link TallyError} whose `errors` lists `{ index, field, message }`
   * for every bad item, like the server's answer.
   * @example
   * ```ts
   * const res = await tally.scores.batch([
   *   { request_id: 41, score: 80 },
   *   { request_id: 42, name: 'toxicity', score: 5 },
   * ], { comment: 'nightly eval' });
   * console.log(res.batch_id, res.count);
   * ```
   */
  async batch(items: BatchItem[], options: { comment?: string } & RequestOptions = {}): Promise<BatchResult> {
    if (!Array.isArray(items) || items.length < 1 || items.length > 1000) throw invalidField('items', 'must hold 1 to 1000 items');
    const problems: { index: number; field: string; message: string }[] = [];
    items.forEach((item, index) => {
      for (const [field, check] of [
        ['request_id', () => checkId(item.request_id, 'request_id')],
        ['name', () => checkScoreName(item.name)],
        ['score', () => checkItemValue(item)],
      ] as const) {
        try {
          check();
        } catch (err) {
          if (!(err instanceof TallyError)) throw err;
          problems.push({ index, field, message: err.message });
        }
      }
    });
    if (problems.length > 0) {
      const bad = new Set(problems.map((p) => p.index)).size;
      const first = problems[0]!;
      throw new TallyError(400, 'invalid_field', `items: ${bad} of ${items.length} items are invalid and nothing was written (first: items.${first.index}.${first.message})`, { errors: problems });
    }
    const { comment, ...opts } = options;
    const res = await call<Ok<BatchResult>>(this.#t, { method: 'POST', path: '/v1/scores/batch', body: { items, ...(comment === undefined ? {} : { comment }) }, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Statistics per score name (or one): count, mean, standard deviation, min, max, p50, p90, a
   * histogram and a time series, optionally grouped by prompt, model or tag.
   * @example
   * ```ts
   * const { scores } = await tally.scores.stats({ name: 'quality', group_by: 'prompt', interval: 'day' });
   * for (const s of scores) console.log(s.group?.prompt_version, s.count, s.mean);
   * ```
   */
  async stats(params: StatsParams = {}, opts?: RequestOptions): Promise<StatsResult> {
    const { filter: _f, q: _q, ...rest } = params;
    const res = await call<Ok<StatsResult>>(this.#t, { method: 'GET', path: '/v1/scores/stats', query: { ...rest, ...filterQuery(params) }, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Compares one score between two cohorts (prompt versions, models, tags or time ranges): both
   * means, their difference with a 95% confidence interval, Welch's t-test and a verdict, which may
   * be `not_enough_data`.
   * @example
   * ```ts
   * const c = await tally.scores.compare({ name: 'quality', a: { prompt_name: 'greeting', prompt_version: 3 }, b: { prompt_name: 'greeting', prompt_version: 4 } });
   * console.log(c.verdict, c.difference, c.ci);
   * ```
   */
  /**
   * One score against latency, cost or tokens: Spearman's rank correlation (ties by average rank)
   * and the mean score per bin of x's rank (deciles by default), over the pairs of the newest
   * `limit` scored requests (default 10000; `window.truncated` says older ones were left out).
   * @example
   * ```ts
   * const c = await tally.scores.correlation({ name: 'quality', x: 'latency_ms' });
   * console.log(c.spearman.rho, c.n, c.bins.map((b) => [b.x_mean, b.score_mean]));
   * ```
   */
  async correlation(params: CorrelationParams, opts?: RequestOptions): Promise<CorrelationResult> {
    const { filter: _f, q: _q, ...rest } = params;
    const res = await call<Ok<CorrelationResult>>(this.#t, { method: 'GET', path: '/v1/scores/correlation', query: { ...rest, ...filterQuery(params) }, idempotent: true }, opts);
    return strip(res);
  }

  async compare(params: CompareParams, opts?: RequestOptions): Promise<CompareResult> {
    const query: Record<string, string | number | undefined> = { name: params.name, ...filterQuery(params) };
    for (const side of ['a', 'b'] as const) {
      for (const [k, v] of Object.entries(params[side] ?? {})) query[`${side}.${k}`] = v as string | number | undefined;
    }
    const res = await call<Ok<CompareResult>>(this.#t, { method: 'GET', path: '/v1/scores/compare', query, idempotent: true }, opts);
    return strip(res);
  }

  /**
   * Krippendorff's alpha between every rater of a score name over the newest `limit` matching
   * requests that carry the score (default 5000; `window` says how many were read and whether
   * older ones were left out), with a bootstrap interval and per-rater figures;
   * `compare: 'humans,automatic'` adds people against automatic raters (alpha, mean absolute
   * difference, confusion matrix, disagreements).
   * @example
   * ```ts
   * const { agreement, comparison } = await tally.scores.agreement({ name: 'quality', compare: 'humans,automatic', from: '2025-01-01' });
   * ```
   */
  async agreement(params: ScoresAgreementParams, opts?: RequestOptions): Promise<ScoresAgreement> {
    const { filter: _f, q: _q, ...rest } = params;
    const res = await call<Ok<ScoresAgreement>>(this.#t, { method: 'GET', path: '/v1/scores/agreement', query: { ...rest, ...filterQuery(params) }, idempotent: true }, opts);
    return strip(res);
  }
}

/** Score schemas: what a score name means (range, labels, reasons, aggregate), versioned. */
export class ScoreSchemasResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /**
   * Defines a name's schema; each change makes a new version (an identical definition makes none:
   * `created` is false). Fields left out take their defaults.
   * @example
   * ```ts
   * const { schema } = await tally.scoreSchemas.put('verdict', {
   *   kind: 'categorical',
   *   labels: [{ label: 'good', value: 100 }, { label: 'ok', value: 50 }, { label: 'bad', value: 0 }],
   *   reasons: ['hallucination', 'off-topic'],
   *   comment_required_below: 50,
   * });
   * ```
   */
  async put(name: string, definition: ScoreSchemaDefinition, opts?: RequestOptions): Promise<{ created: boolean; schema: ScoreSchema }> {
    const n = checkScoreName(name) ?? 'default';
    const res = await call<Ok<{ created: boolean; schema: ScoreSchema }>>(this.#t, { method: 'PUT', path: `/v1/score-schemas/${encodeURIComponent(n)}`, body: definition, idempotent: true }, opts);
    return strip(res);
  }

  /** One name's schema with every version, newest first (`schema` null when archived); rejects with 404 when it never had one. */
  async get(name: string, opts?: RequestOptions): Promise<ScoreSchemaRecord> {
    const n = checkScoreName(name) ?? 'default';
    const res = await call<Ok<ScoreSchemaRecord>>(this.#t, { method: 'GET', path: `/v1/score-schemas/${encodeURIComponent(n)}`, idempotent: true }, opts);
    return strip(res);
  }

  /** The latest version of every schema, by name; archived ones only with `archived: true`. */
  async list(params: { archived?: boolean } = {}, opts?: RequestOptions): Promise<ScoreSchema[]> {
    const res = await call<Ok<{ schemas: ScoreSchema[] }>>(this.#t, { method: 'GET', path: '/v1/score-schemas', query: { archived: params.archived ? 'true' : undefined }, idempotent: true }, opts);
    return res.schemas;
  }

  /** Archives a schema: its scores and history stay, writes are no longer checked against it. */
  async archive(name: string, opts?: RequestOptions): Promise<ScoreSchema> {
    const n = checkScoreName(name) ?? 'default';
    const res = await call<Ok<{ schema: ScoreSchema }>>(this.#t, { method: 'DELETE', path: `/v1/score-schemas/${encodeURIComponent(n)}`, idempotent: true }, opts);
    return res.schema;
  }
}

/** The caller's workspace and its settings. */
export class WorkspaceResource {
  readonly #t: TransportOptions;
  /** @internal */
  constructor(t: TransportOptions) {
    this.#t = t;
  }

  /** The workspace of the API key, with its settings. */
  async get(opts?: RequestOptions): Promise<WorkspaceInfo> {
    const res = await call<Ok<{ workspace: WorkspaceInfo }>>(this.#t, { method: 'GET', path: '/v1/workspace', idempotent: true }, opts);
    return res.workspace;
  }

  /**
   * Changes settings; only those given change.
   * @example
   * ```ts
   * await tally.workspace.update({ strict_score_names: true });
   * ```
   */
  async update(settings: WorkspaceSettings, opts?: RequestOptions): Promise<WorkspaceInfo> {
    const res = await call<Ok<{ workspace: WorkspaceInfo }>>(this.#t, { method: 'PATCH', path: '/v1/workspace', body: settings, idempotent: true }, opts);
    return res.workspace;
  }
}

/**
 * The Tally client. One instance per API key; it holds no connection state and is safe to share.
 *
 * @example
 * ```ts
 * import { Tally } from '@tally/sdk';
 *
 * const tally = new Tally({ apiKey: process.env.TALLY_API_KEY, baseURL: 'http://127.0.0.1:8787' });
 * const { id } = await tally.logRequest({ provider: 'openai', model: 'gpt-4o-mini', input, output, request_start_time: start, request_end_time: end });
 * await tally.track.score({ request_id: id, score: 90 });
 * ```
 */
export class Tally {
  /** The PromptLayer-shaped track calls: `score`, `metadata`, `prompt`, `group`. */
  readonly track: TrackResource;
  /** Groups of requests: `create`. */
  readonly group: GroupResource;
  /** Reading requests: `get`, `search`, `searchPage`. */
  readonly requests: RequestsResource;
  /** Native score API: `set`, `delete`, `history`, `events`, `batch`, `stats`, `compare`, `agreement`. */
  readonly scores: ScoresResource;
  /** Webhooks: `create`, `list`, `get`, `update`, `delete`, `rotateSecret`, `deliveries`, `redeliver`, `test`. */
  readonly webhooks: WebhooksResource;
  /** Alerts: `create`, `list`, `get`, `setEnabled`, `delete`, `evaluate`. */
  readonly alerts: AlertsResource;
  /** Review queues: `create`, `list`, `get`, `archive`, `claim`, `skip`, `rate`, `item`, `agreement`, `disputes`, `adjudicate`, `fromDisagreements`. */
  readonly queues: QueuesResource;
  /** Feedback tokens for end users' ratings from a web page. */
  readonly feedback: FeedbackResource;
  /** Score schemas: `put`, `get`, `list`, `archive`. */
  readonly scoreSchemas: ScoreSchemasResource;
  /** The caller's workspace: `get`, `update`. */
  readonly workspace: WorkspaceResource;
  /** The base URL calls go to, without a trailing slash. */
  readonly baseURL: string;
  readonly #t: TransportOptions;

  /**
   * @param options See {@link TallyOptions}. Throws a {@link TallyError} (`missing_api_key`) when no
   * key is given and `TALLY_API_KEY` is unset.
   * @example
   * ```ts
   * const tally = new Tally(); // TALLY_API_KEY and TALLY_BASE_URL from the environment
   * const fast = new Tally({ timeoutMs: 2_000, maxRetries: 0 });
   * ```
   */
  constructor(options: TallyOptions = {}) {
    const apiKey = options.apiKey ?? env('TALLY_API_KEY');
    if (apiKey === undefined || apiKey === '') {
      throw new TallyError(0, 'missing_api_key', 'apiKey: no API key given and TALLY_API_KEY is not set');
    }
    const baseURL = (options.baseURL ?? env('TALLY_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw invalidField('timeoutMs', 'must be a positive number of milliseconds');
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw invalidField('maxRetries', 'must be an integer of 0 or more');
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TallyError(0, 'no_fetch', 'fetch: this runtime has no global fetch; pass one as options.fetch');
    this.baseURL = baseURL;
    this.#t = { apiKey, baseURL, timeoutMs, maxRetries, fetch: (input, init) => f(input, init), headers: { ...options.headers } };
    this.track = new TrackResource(this.#t);
    this.group = new GroupResource(this.#t);
    this.requests = new RequestsResource(this.#t);
    this.scores = new ScoresResource(this.#t);
    this.webhooks = new WebhooksResource(this.#t);
    this.alerts = new AlertsResource(this.#t);
    this.queues = new QueuesResource(this.#t);
    this.feedback = new FeedbackResource(this.#t);
    this.scoreSchemas = new ScoreSchemasResource(this.#t);
    this.workspace = new WorkspaceResource(this.#t);
  }

  /**
   * Logs one LLM request (PromptLayer's `/log-request`) and returns its new id. Times are epoch
   * seconds or ISO 8601 strings; a `Date` works too. Not retried after an unclear failure (it could
   * log the request twice); 429 and 503 are retried.
   * @example
   * ```ts
   * const { id } = await tally.logRequest({
   *   provider: 'openai',
   *   model: 'gpt-4o-mini',
   *   input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] },
   *   output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }] },
   *   request_start_time: new Date(start).toISOString(),
   *   request_end_time: new Date().toISOString(),
   *   tags: ['prod'],
   * });
   * ```
   */
  async logRequest(params: LogRequestParams, opts?: RequestOptions): Promise<LogRequestResult> {
    if (params.score !== undefined && params.score !== null) checkScore(params.score);
    if (params.score_name !== undefined && params.score_name !== null) checkScoreName(params.score_name, 'score_name');
    return call<LogRequestResult>(this.#t, { method: 'POST', path: '/log-request', body: params, idempotent: false }, opts);
  }

  /**
   * Streams every matching request as CSV (one column per score name) or JSON Lines, in constant
   * memory on both ends. Resolves once the server has started answering.
   * @example
   * ```ts
   * const exp = await tally.export({ format: 'csv', filter: { field: 'tags', op: 'any', value: ['prod'] } });
   * for await (const line of exp.lines()) process.stdout.write(line + '\n');
   * ```
   */
  async export(params: ExportParams, opts?: RequestOptions): Promise<TallyExport> {
    if (params.format !== 'csv' && params.format !== 'jsonl') throw invalidField('format', 'must be csv or jsonl');
    const { filter: _f, q: _q, where, ...rest } = params;
    const spec: CallSpec = { method: 'GET', path: '/v1/requests/export', query: { ...where, ...rest, ...filterQuery(params) }, idempotent: true };
    const res = await send(this.#t, spec, opts);
    if (res.body === null) throw new TallyError(res.status, 'invalid_response', 'response: the export answer has no body');
    return new TallyExport(params.format, res.body);
  }
}
