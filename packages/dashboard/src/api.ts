import { useEffect, useState } from 'react';
/**
 * The dashboard speaks the same `/v1` API as programs, signed in by its session cookie; every
 * state-changing call carries the session's CSRF token in `x-csrf-token`.
 */
import type { SearchPage } from '@tally/sdk';

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

/**
 * GETs `url` each time it changes: the latest answer, or the error's message. An answer that
 * arrives after the url changed is dropped, so a slow old answer never replaces a new one, and the
 * old request is aborted: the server then stops its read (a page left or refiltered keeps no read
 * of the workspace busy for the next).
 */
export function useApiGet<T>(url: string): { reply: T | null; error: string | null } {
  const [state, setState] = useState<{ reply: T | null; error: string | null }>({ reply: null, error: null });
  useEffect(() => {
    let live = true;
    const stop = new AbortController();
    setState((s) => ({ reply: s.reply, error: null }));
    api<T>('GET', url, undefined, stop.signal).then(
      (reply) => live && setState({ reply, error: null }),
      (e: Error) => live && setState({ reply: null, error: e.message }),
    );
    return () => {
      live = false;
      stop.abort();
    };
  }, [url]);
  return state;
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

/**
 * Calls the API. `signal` aborts the call: pass one from an effect and abort it in the effect's
 * cleanup, so a page that unmounts or changes its filters stops the reads it no longer wants.
 */
export async function api<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal });
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

// The wire types of /v1 are the SDK's, which its type tests hold equal to the server's schemas.
export type {
  CompareResult as CompareReply,
  RequestDetail,
  RequestItem as RequestSummary,
  ScoreEvent,
  SearchPage as SearchReply,
  StatsEntry,
} from '@tally/sdk';

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
  /** False until they open their setup link and choose a password. */
  has_password: boolean;
}

export const setScore = (id: number, name: string, score: number) => api('PUT', `/v1/requests/${id}/scores/${encodeURIComponent(name)}`, { score });
export const deleteScore = (id: number, name: string) => api('DELETE', `/v1/requests/${id}/scores/${encodeURIComponent(name)}`);

/**
 * Ids of every request matching a search filter, newest first, walked with the cursor 500 a page,
 * up to `cap`. `onPage` sees the ids read so far after each page, so a caller can start on the
 * first page while the rest are read; it answers false to stop the walk (its page has gone).
 * `signal` aborts the page being read.
 */
export async function matchingIds(filter: URLSearchParams, cap: number, onPage?: (soFar: number[]) => boolean, signal?: AbortSignal): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams(filter);
    q.set('limit', '500');
    if (cursor) q.set('cursor', cursor);
    const page: SearchPage = await api('GET', `/v1/requests/search?${q}`, undefined, signal);
    ids.push(...page.items.map((i) => i.id));
    cursor = page.has_more ? page.next_cursor : null;
    if (cursor && ids.length < cap && onPage && !onPage([...ids])) break;
  } while (cursor && ids.length < cap);
  return ids;
}
