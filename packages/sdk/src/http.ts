import { TallyError, type TallyItemError } from './errors.js';

/** What every call shares; set once on the client. */
export interface TransportOptions {
  apiKey: string;
  baseURL: string;
  timeoutMs: number;
  maxRetries: number;
  fetch: typeof fetch;
  /** Extra headers sent with every call. */
  headers: Record<string, string>;
}

/** Per-call overrides, accepted as the last argument of every method. */
export interface RequestOptions {
  /** Milliseconds one attempt may take before it is abandoned (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Retries after the first attempt for 429 and 5xx answers (default: the client's `maxRetries`). */
  maxRetries?: number;
  /** Cancels the call, including its retries and the wait between them. */
  signal?: AbortSignal;
}

export interface CallSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined | null | (string | number)[]>;
  body?: unknown;
  /**
   * Whether repeating the call after an unclear failure (a 500, a lost connection) is safe. Calls
   * that create a row (log a request, create a group) are retried only on 429 and 503, the answers
   * that say the write was not taken.
   */
  idempotent: boolean;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 8_000;
// A server asking for longer than this is better answered with an error than a hung caller.
const RETRY_AFTER_MAX_MS = 60_000;

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Full-jitter exponential backoff: attempt 0 waits up to 0.5 s, then 1 s, 2 s ... capped at 8 s. */
export function backoffMs(attempt: number, random = Math.random): number {
  return Math.round(random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt));
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): TallyError {
  return new TallyError(0, 'aborted', 'request: aborted by the caller', { cause: signal.reason });
}

/** One signal that fires on the caller's abort or after `timeoutMs` (AbortSignal.any needs Node 18.17 or 20.3). */
function attemptSignal(timeoutMs: number, outer: AbortSignal | undefined): { signal: AbortSignal; timedOut: () => boolean; stopTimer: () => void; done: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    stopTimer: () => clearTimeout(timer),
    done: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

function buildUrl(baseURL: string, path: string, query: CallSpec['query']): string {
  const url = `${baseURL.replace(/\/+$/, '')}${path}`;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, String(one));
  }
  const qs = params.toString();
  return qs ? `${url}?${qs}` : url;
}

async function errorFrom(res: Response): Promise<TallyError> {
  const retryAfter = retryAfterMs(res.headers.get('retry-after'));
  const opts = { retryAfter: retryAfter === undefined ? undefined : retryAfter / 1000 };
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return new TallyError(res.status, res.status >= 500 ? 'internal' : 'invalid_response', `response: HTTP ${res.status} with a body that is not JSON`, opts);
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as { message?: unknown; code?: unknown; errors?: unknown };
  const message = typeof b.message === 'string' ? b.message : `response: HTTP ${res.status}`;
  const code = typeof b.code === 'string' ? b.code : `http_${res.status}`;
  const errors = Array.isArray(b.errors) ? (b.errors as TallyItemError[]) : undefined;
  return new TallyError(res.status, code, message, { ...opts, ...(errors ? { errors } : {}) });
}

const retryable = (status: number, idempotent: boolean) => status === 429 || status === 503 || (idempotent && status >= 500);

/**
 * Sends one call with the key in `X-API-KEY`, a timeout per attempt, and retries with exponential
 * backoff for 429 and 5xx that honour `Retry-After`. Resolves with the successful `Response`
 * (body unread) so callers can parse JSON or stream it.
 */
export async function send(t: TransportOptions, spec: CallSpec, opts: RequestOptions = {}): Promise<Response> {
  const maxRetries = opts.maxRetries ?? t.maxRetries;
  const timeoutMs = opts.timeoutMs ?? t.timeoutMs;
  const url = buildUrl(t.baseURL, spec.path, spec.query);
  const headers: Record<string, string> = { accept: 'application/json', ...t.headers, 'x-api-key': t.apiKey };
  if (spec.body !== undefined) headers['content-type'] = 'application/json';
  const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);

  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const a = attemptSignal(timeoutMs, opts.signal);
    let res: Response;
    try {
      res = await t.fetch(url, { method: spec.method, headers, body, signal: a.signal });
    } catch (cause) {
      a.done();
      if (opts.signal?.aborted) throw abortError(opts.signal);
      const err = a.timedOut()
        ? new TallyError(0, 'timeout', `request: no answer within ${timeoutMs} ms (${spec.method} ${spec.path})`, { cause })
        : new TallyError(0, 'network', `request: could not reach Tally at ${t.baseURL} (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
      // A timeout or a lost connection may hide a committed write: repeat only what is safe to repeat.
      if (!spec.idempotent || attempt >= maxRetries) throw err;
      await sleep(backoffMs(attempt), opts.signal);
      continue;
    }
    if (res.ok) {
      // The timeout covers the wait for an answer, not the reading of a long export; the caller's
      // signal stays linked so it can still cancel the body.
      a.stopTimer();
      return res;
    }
    a.done();
    const err = await errorFrom(res);
    if (!retryable(res.status, spec.idempotent) || attempt >= maxRetries) throw err;
    const asked = err.retryAfter === undefined ? undefined : err.retryAfter * 1000;
    if (asked !== undefined && asked > RETRY_AFTER_MAX_MS) throw err;
    await sleep(asked ?? backoffMs(attempt), opts.signal);
  }
}

/** `send`, then the JSON body. */
export async function call<T>(t: TransportOptions, spec: CallSpec, opts?: RequestOptions): Promise<T> {
  const res = await send(t, spec, opts);
  try {
    return (await res.json()) as T;
  } catch (cause) {
    throw new TallyError(res.status, 'invalid_response', `response: the body of ${spec.method} ${spec.path} is not JSON`, { cause });
  }
}
