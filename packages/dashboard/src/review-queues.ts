/**
 * Review queues and agreement as the dashboard uses them: the wire types of `/v1/review-queues`
 * and its agreement views, and the request log's filter (URL parameters) as the native filter node
 * a queue is made from, condition for condition as the server reads the parameters.
 */
import type { AdjudicateResult, AgreementResult, ClaimResult, ComparisonResult, Dispute, ItemView, QueueAgreement, RateItemResult, ReviewQueue, ScoresAgreement } from '@tally/sdk';
import { api } from './api.js';

// The wire types are the SDK's, which its type tests hold equal to the server's schemas.
export type { AgreementResult, ClaimedItem, ComparisonResult, Dispute, ReviewQueue, ScoresAgreement } from '@tally/sdk';

/**
 * A filter node as the dashboard builds it from the log's parameters: loose, as the server's
 * schema takes it (the server checks fields and operators).
 */
export interface FilterNode {
  logic?: 'and' | 'or';
  filters?: FilterNode[];
  field?: string;
  op?: string;
  value?: unknown;
  name?: string;
  key?: string;
}

const num = (v: string) => Number(v);

/** One `score.NAME` parameter value (`gte:80`, `between:30,80`, a bare number...) as a condition. */
function scoreCondition(name: string, text: string): FilterNode {
  if (/^-?\d+(\.\d+)?$/.test(text)) return { field: 'score', name, op: 'eq', value: num(text) };
  const colon = text.indexOf(':');
  const op = colon === -1 ? text : text.slice(0, colon);
  const rest = colon === -1 ? '' : text.slice(colon + 1);
  if (op === 'exists' || op === 'not_exists') return { field: 'score', name, op };
  if (op === 'between') return { field: 'score', name, op, value: rest.split(',').map(num) };
  return { field: 'score', name, op, value: num(rest) };
}

/**
 * The request log's filter parameters as one native filter node (all AND-combined, as
 * GET /v1/requests/search combines them); null when there is no filter.
 */
export function filterNodeFromQuery(q: URLSearchParams): FilterNode | null {
  const parts: FilterNode[] = [];
  const filter = q.get('filter');
  if (filter) parts.push(JSON.parse(filter) as FilterNode);
  const text = q.get('q');
  if (text && text.trim()) parts.push({ field: 'text', op: 'contains', value: text });
  for (const field of ['provider', 'model', 'function_name', 'prompt_name', 'status']) {
    const values = q.getAll(field);
    if (values.length === 1) parts.push({ field, op: 'eq', value: values[0] });
    else if (values.length > 1) parts.push({ field, op: 'in', value: values });
  }
  const versions = q.getAll('prompt_version').map(num);
  if (versions.length) parts.push({ field: 'prompt_version', op: 'in', value: versions });
  const tags = q.getAll('tag');
  if (tags.length) parts.push({ field: 'tags', op: q.get('tag_match') === 'any' ? 'any' : 'all', value: tags });
  for (const key of q.getAll('has_metadata')) parts.push({ field: 'metadata', key, op: 'exists' });
  for (const name of q.getAll('has_score')) parts.push({ field: 'score', name, op: 'exists' });
  for (const name of q.getAll('no_score')) parts.push({ field: 'score', name, op: 'not_exists' });
  const from = q.get('from');
  const to = q.get('to');
  if (from) parts.push({ field: 'request_start_time', op: 'gte', value: from });
  if (to) parts.push({ field: 'request_start_time', op: 'lt', value: to });
  const ranges: [string, string, string][] = [
    ['latency_ms', 'min_latency_ms', 'max_latency_ms'],
    ['cost', 'min_cost', 'max_cost'],
    ['tokens', 'min_tokens', 'max_tokens'],
  ];
  for (const [field, lo, hi] of ranges) {
    if (q.get(lo)) parts.push({ field, op: 'gte', value: num(q.get(lo)!) });
    if (q.get(hi)) parts.push({ field, op: 'lte', value: num(q.get(hi)!) });
  }
  const metadata = new Map<string, string[]>();
  for (const [k, v] of q) {
    if (k.startsWith('score.')) parts.push(scoreCondition(k.slice(6), v));
    else if (k.startsWith('reason.')) parts.push({ field: 'reason', name: k.slice(7), op: 'eq', value: v });
    else if (k.startsWith('metadata.')) metadata.set(k.slice(9), [...(metadata.get(k.slice(9)) ?? []), v]);
  }
  for (const [key, values] of metadata) parts.push(values.length === 1 ? { field: 'metadata', key, op: 'eq', value: values[0] } : { field: 'metadata', key, op: 'in', value: values });
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0]! : { logic: 'and', filters: parts };
}

const q = (id: number) => `/v1/review-queues/${id}`;
export const listQueues = () => api<{ queues: ReviewQueue[] }>('GET', '/v1/review-queues').then((r) => r.queues);
export const getQueue = (id: number) => api<{ queue: ReviewQueue }>('GET', q(id)).then((r) => r.queue);
export const createQueue = (body: Record<string, unknown>) => api<{ queue: ReviewQueue }>('POST', '/v1/review-queues', body).then((r) => r.queue);
export const claim = (id: number) => api<ClaimResult>('POST', `${q(id)}/claim`, {});
export const skip = (id: number, requestId: number) => api('POST', `${q(id)}/items/${requestId}/skip`, {});
export const rateItem = (id: number, requestId: number, body: Record<string, unknown>) =>
  api<RateItemResult>('POST', `${q(id)}/items/${requestId}/ratings`, body);
export const itemView = (id: number, requestId: number) => api<ItemView>('GET', `${q(id)}/items/${requestId}`);
export const queueAgreement = (id: number) => api<QueueAgreement>('GET', `${q(id)}/agreement`);
export const disputes = (id: number) => api<{ disputes: Dispute[] }>('GET', `${q(id)}/disputes`).then((r) => r.disputes);
/** Agreement of every rater of a score name over a search filter (its URL parameters), with `compare` people against automatic raters. */
export const scoreAgreement = (params: URLSearchParams, signal?: AbortSignal) => api<ScoresAgreement>('GET', `/v1/scores/agreement?${params}`, undefined, signal);
export const queueFromDisagreements = (body: Record<string, unknown>) => api<{ queue: ReviewQueue }>('POST', '/v1/review-queues/from-disagreements', body).then((r) => r.queue);
export const adjudicate = (id: number, requestId: number, body: Record<string, unknown>) => api<AdjudicateResult>('POST', `${q(id)}/items/${requestId}/adjudicate`, body);
