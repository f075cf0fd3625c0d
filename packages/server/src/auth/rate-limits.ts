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

/**
 * Wraps an authenticator: an address that failed authentication `maxPerMinute` times in the current
 * one-minute window is answered 429 with `Retry-After` (until the window ends) before its key is
 * even looked up. Counters live in this process: behind a load balancer each instance counts its
 * own, and the client address is the socket's, or X-Forwarded-For's from a proxy --trust-proxy names.
 */
export function limitAuthFailures(
  authenticate: (request: FastifyRequest) => Promise<void>,
  opts: AuthFailureLimit,
): (request: FastifyRequest) => Promise<void> {
  if (opts.maxPerMinute <= 0) return authenticate;
  const failures = new Map<string, { count: number; resetAt: number }>();
  const sweep = (now: number) => {
    for (const [ip, f] of failures) if (f.resetAt <= now) failures.delete(ip);
    for (const ip of failures.keys()) {
      if (failures.size < MAX_TRACKED) break;
      failures.delete(ip);
    }
  };
  return async function authenticateLimited(request) {
    const now = Date.now();
    const entry = failures.get(request.ip);
    if (entry && entry.resetAt > now && entry.count >= opts.maxPerMinute) {
      const wait = Math.ceil((entry.resetAt - now) / 1000);
      throw new TallyError('rate_limited', `authentication: too many failed attempts from this address; retry in ${wait} s`, { retryAfter: wait });
    }
    try {
      await authenticate(request);
    } catch (err) {
      if (err instanceof TallyError && err.code === 'unauthorized') {
        if (failures.size >= MAX_TRACKED) sweep(now);
        const current = failures.get(request.ip);
        if (current && current.resetAt > now) current.count++;
        else failures.set(request.ip, { count: 1, resetAt: now + WINDOW_MS });
      }
      throw err;
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
 */
export async function registerKeyRateLimit(app: FastifyInstance, opts: KeyRateLimit): Promise<void> {
  if (opts.maxPerMinute <= 0) return;
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: opts.maxPerMinute,
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
