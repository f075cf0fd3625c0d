import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TallyError } from '../domain/errors.js';

const WINDOW_MS = 60_000;
// Addresses remembered at most; past this, expired windows are swept (and if none have expired,
// the oldest entries go), so a flood of spoofed addresses cannot grow memory without bound.
const MAX_TRACKED = 50_000;

export interface AuthFailureLimit {
  /** Failed authentications allowed per client address per minute; 0 turns the limit off. */
  maxPerMinute: number;
}

/** One client address: its failures in the current window, and its checks still running. */
interface AddressState {
  failures: number;
  /** When the failure window ends; 0 before the first failure. */
  resetAt: number;
  pending: number;
  /** Checks waiting for a pending one to end before they may start. */
  waiters: (() => void)[];
}

/**
 * Wraps an authenticator: an address that failed authentication `maxPerMinute` times in the current
 * one-minute window is answered 429 with `Retry-After` (until the window ends) before its key is
 * even looked up. Counters live in this process: behind a load balancer each instance counts its
 * own, and the client address is the socket's, or X-Forwarded-For's from a proxy --trust-proxy names.
 *
 * A check counts against the limit from the moment it starts, not when it fails: an address may
 * have at most `maxPerMinute` failures and running checks together, so 300 wrong passwords sent at
 * once meet 60 checks and 240 refusals, not 300 checks (each an expensive scrypt, or a database
 * round trip for a key) that all fail before the first failure is counted. A check beyond that
 * waits for a running one to end rather than being refused: a valid client sending many requests
 * at once (a cold key cache) is only held for one lookup.
 */
export function limitAuthFailures(
  authenticate: (request: FastifyRequest) => Promise<void>,
  opts: AuthFailureLimit,
): (request: FastifyRequest) => Promise<void> {
  if (opts.maxPerMinute <= 0) return authenticate;
  const max = opts.maxPerMinute;
  const addresses = new Map<string, AddressState>();
  const idle = (a: AddressState, now: number) => a.pending === 0 && a.waiters.length === 0 && a.resetAt <= now;
  const sweep = (now: number) => {
    for (const [ip, a] of addresses) if (idle(a, now)) addresses.delete(ip);
    for (const [ip, a] of addresses) {
      if (addresses.size < MAX_TRACKED) break;
      if (a.pending === 0 && a.waiters.length === 0) addresses.delete(ip);
    }
  };
  const stateOf = (ip: string, now: number): AddressState => {
    let a = addresses.get(ip);
    if (!a) {
      if (addresses.size >= MAX_TRACKED) sweep(now);
      a = { failures: 0, resetAt: 0, pending: 0, waiters: [] };
      addresses.set(ip, a);
    }
    if (a.resetAt !== 0 && a.resetAt <= now) {
      a.failures = 0;
      a.resetAt = 0;
    }
    return a;
  };
  return async function authenticateLimited(request) {
    const ip = request.ip;
    let a = stateOf(ip, Date.now());
    for (;;) {
      const now = Date.now();
      if (a.failures >= max) {
        const wait = Math.max(1, Math.ceil((a.resetAt - now) / 1000));
        throw new TallyError('rate_limited', `authentication: too many failed attempts from this address; retry in ${wait} s`, { retryAfter: wait });
      }
      if (a.failures + a.pending < max) break;
      await new Promise<void>((resolve) => a.waiters.push(resolve));
      a = stateOf(ip, Date.now());
    }
    a.pending++;
    let failed = false;
    try {
      await authenticate(request);
    } catch (err) {
      failed = err instanceof TallyError && err.code === 'unauthorized';
      throw err;
    } finally {
      a.pending--;
      if (failed) {
        const now = Date.now();
        if (a.resetAt <= now) {
          a.failures = 0;
          a.resetAt = now + WINDOW_MS;
        }
        a.failures++;
      }
      // Each waiter looks again: admitted, refused (the failures reached the limit) or waiting on.
      const waiters = a.waiters.splice(0);
      for (const wake of waiters) wake();
      if (idle(a, Date.now()) && a.failures === 0) addresses.delete(ip);
    }
  };
}

export interface KeyRateLimit {
  /** Requests allowed per API key (or dashboard user) per minute; 0 turns the limit off. */
  maxPerMinute: number;
}

/**
 * Per-key rate limit through @fastify/rate-limit. It runs as a preHandler, after the route's
 * authentication has set `request.auth` (the key may come in the body), and counts per key id;
 * unauthenticated routes (health, metrics) are not limited. Must be registered before the routes.
 * With the limit off the plugin is still registered, not applied to any route, so that other
 * limits can be made with it (`fixedWindowLimit`).
 */
export async function registerKeyRateLimit(app: FastifyInstance, opts: KeyRateLimit): Promise<void> {
  await app.register(rateLimit, {
    global: opts.maxPerMinute > 0,
    hook: 'preHandler',
    max: Math.max(1, opts.maxPerMinute),
    timeWindow: WINDOW_MS,
    allowList: (request) => !request.auth,
    // A dashboard session (no key id) is limited per user, like a key.
    keyGenerator: (request) => {
      const auth = request.auth as { keyId: number | null; userId?: number } | null;
      return auth?.keyId != null ? `key:${auth.keyId}` : `user:${String(auth?.userId ?? request.ip)}`;
    },
    errorResponseBuilder: (_request, ctx) => {
      const wait = Math.max(1, Math.ceil(ctx.ttl / 1000));
      return new TallyError('rate_limited', `rate limit: at most ${ctx.max} requests per minute for this API key; retry in ${wait} s`, { retryAfter: wait });
    },
  });
}

export interface FixedWindowLimit {
  /** Calls allowed per key per minute; 0 turns the limit off. */
  maxPerMinute: number;
  /** What is counted against (`feedback-address:<ip>`); null: not counted. */
  key(request: FastifyRequest): string | null;
  /** Names what was limited in the 429's message, e.g. `from this address`. */
  what: string;
  /** Keys remembered at most (least recently used go first past it). */
  tracked?: number;
}

/**
 * A limit of calls per key per minute over @fastify/rate-limit's counters (registered by
 * `registerKeyRateLimit`), for checks a route makes itself at the moment it knows the key (the
 * feedback route knows its token only after checking it). Resolves, or rejects with a 429 and
 * `Retry-After`. Every call counts, refused ones included, so a flood stays refused.
 */
export function fixedWindowLimit(app: FastifyInstance, opts: FixedWindowLimit): (request: FastifyRequest) => Promise<void> {
  if (opts.maxPerMinute <= 0) return async () => {};
  const check = app.createRateLimit({
    max: opts.maxPerMinute,
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => opts.key(request) ?? '',
    // The per-key limit's allow list (unauthenticated calls) must not apply here.
    allowList: (request) => opts.key(request) === null,
    // Read by the counters' store (LocalStore's child), though the options' type leaves it out.
    ...({ cache: opts.tracked ?? MAX_TRACKED } as object),
  });
  return async (request) => {
    const r = await check(request);
    if (r.isAllowed || !r.isExceeded) return;
    const wait = Math.max(1, r.ttlInSeconds);
    throw new TallyError('rate_limited', `rate limit: at most ${r.max} calls per minute ${opts.what}; retry in ${wait} s`, { retryAfter: wait });
  };
}
