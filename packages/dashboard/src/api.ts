/**
 * The dashboard speaks the same `/v1` API as programs, signed in by its session cookie; every
 * state-changing call carries the session's CSRF token in `x-csrf-token`.
 */
let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export async function api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const message = (parsed as { message?: string } | null)?.message ?? `${res.status} ${res.statusText}`;
    if (res.status === 401 && onUnauthorized && !url.startsWith('/ui/api/login') && !url.startsWith('/ui/api/setup')) onUnauthorized();
    throw new ApiError(res.status, message, parsed);
  }
  return parsed as T;
}

export interface WorkspaceRef {
  id: number;
  name: string;
  role: string;
}

export interface SessionInfo {
  user: { id: number; email: string };
  workspace: WorkspaceRef;
  workspaces: WorkspaceRef[];
  csrf_token: string;
}

export interface RequestSummary {
  id: number;
  provider: string;
  model: string;
  function_name: string;
  prompt_name: string | null;
  prompt_version: number | null;
  prompt_label: string | null;
  input_tokens: number;
  output_tokens: number;
  tokens: number;
  price: number;
  status: string;
  error_type: string | null;
  error_message: string | null;
  request_start_time: string;
  request_end_time: string;
  latency_ms: number;
  tags: string[];
  metadata: Record<string, string>;
  scores: Record<string, number>;
  group_ids: number[];
  created_at: string;
}

export interface RequestDetail extends RequestSummary {
  input: unknown;
  output: unknown;
  parameters: Record<string, unknown>;
  prompt_input_variables: Record<string, unknown>;
}

export interface SearchReply {
  items: RequestSummary[];
  next_cursor: string | null;
  has_more: boolean;
}

export interface ScoreEvent {
  id: number;
  request_id: number;
  name: string;
  old_value: number | null;
  new_value: number | null;
  actor: string;
  source: string;
  comment: string | null;
  batch_id: string | null;
  at: string;
}

export interface StatsEntry {
  name: string;
  group: Record<string, string | number | null> | null;
  count: number;
  mean: number | null;
  stddev: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p90: number | null;
  histogram: { from: number; to: number; count: number }[];
  series: { start: string; count: number; mean: number }[];
}

export interface CompareReply {
  name: string;
  test: string;
  confidence: number;
  a: { criteria: Record<string, string | number>; count: number; mean: number | null; stddev: number | null };
  b: { criteria: Record<string, string | number>; count: number; mean: number | null; stddev: number | null };
  difference: number | null;
  ci: { low: number; high: number } | null;
  t: number | null;
  df: number | null;
  p_value: number | null;
  verdict: 'a_better' | 'b_better' | 'no_significant_difference' | 'not_enough_data';
}

export interface ApiKeyItem {
  id: number;
  label: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface Member {
  id: number;
  email: string;
  role: string;
}

export const setScore = (id: number, name: string, score: number) => api('PUT', `/v1/requests/${id}/scores/${encodeURIComponent(name)}`, { score });
export const deleteScore = (id: number, name: string) => api('DELETE', `/v1/requests/${id}/scores/${encodeURIComponent(name)}`);
