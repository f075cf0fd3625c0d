/**
 * `@tally/sdk`: a zero-dependency client for Tally (global `fetch`, ESM, Node 18+ and browsers).
 *
 * @example
 * ```ts
 * import { Tally, TallyError } from '@tally/sdk';
 * const tally = new Tally({ apiKey: 'tl_...', baseURL: 'http://127.0.0.1:8787' });
 * await tally.track.score({ request_id: 42, score: 87 });
 * ```
 */
export { Tally, FeedbackResource, TrackResource, GroupResource, RequestsResource, ScoresResource, ScoreSchemasResource, WorkspaceResource, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, type TallyOptions } from './client.js';
export { WebhooksResource, AlertsResource } from './events-resources.js';
export { TallyError, type TallyItemError } from './errors.js';
export { TallyExport } from './export-stream.js';
export type { RequestOptions } from './http.js';
export { QueuesResource } from './review.js';
export type * from './types.js';
export type * from './review-types.js';
