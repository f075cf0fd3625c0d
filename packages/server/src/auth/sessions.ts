import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TallyError, unauthorized } from '../domain/errors.js';
import type { Accounts, SessionRecord, SetupPurpose } from '../store/accounts.js';
import { bearerKey } from './key-auth.js';

export const SESSION_COOKIE = 'tally_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;
/** How long a setup or invite link stays valid. */
export const SETUP_TTL_MS = 7 * 24 * 3600 * 1000;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Session ids and setup tokens are 256-bit random secrets, stored only as a SHA-256 hash. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');
// Hex: safe in a URL path and a cookie, and never mistaken for an API key (`tl_...`) in output.
const newSecret = (): string => randomBytes(32).toString('hex');

declare module 'fastify' {
  interface FastifyRequest {
    /** The dashboard session behind this request, when it came with a valid session cookie. */
    session: (SessionRecord & { idHash: string }) | null;
  }
}

/** Creates a one-time link token; the caller prints or shows `/setup/<token>`. */
export async function createSetupToken(
  accounts: Accounts,
  opts: { purpose: SetupPurpose; workspaceId: number; userId?: number | null; email?: string | null; ttlMs?: number },
): Promise<string> {
  const token = newSecret();
  await accounts.createSetupToken({
    tokenHash: hashSecret(token),
    purpose: opts.purpose,
    userId: opts.userId ?? null,
    email: opts.email ?? null,
    workspaceId: opts.workspaceId,
    expiresAt: Date.now() + (opts.ttlMs ?? SETUP_TTL_MS),
  });
  return token;
}

/** The session id from the request's cookie (read by @fastify/cookie), if any. */
export function sessionCookie(request: FastifyRequest): string | null {
  const v = (request.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
  return typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : null;
}

const cookieOptions = (request: FastifyRequest) => ({
  path: '/',
  httpOnly: true,
  sameSite: 'lax' as const,
  // Secure when the dashboard is reached over https (directly or via a proxy that Fastify trusts).
  secure: request.protocol === 'https',
});

/**
 * Starts a fresh session for a user who just proved who they are. Any session the browser already
 * carried is ended first and the new one gets a new random id, so an id planted before login is
 * worthless after it (no session fixation).
 */
export async function startSession(accounts: Accounts, request: FastifyRequest, reply: FastifyReply, userId: number, workspaceId: number): Promise<{ csrfToken: string }> {
  const old = sessionCookie(request);
  if (old !== null) await accounts.deleteSession(hashSecret(old));
  const id = newSecret();
  const csrfToken = newSecret();
  const expiresAt = Date.now() + SESSION_TTL_MS;
  await accounts.createSession({ idHash: hashSecret(id), userId, workspaceId, csrfToken, expiresAt });
  reply.setCookie(SESSION_COOKIE, id, { ...cookieOptions(request), expires: new Date(expiresAt) });
  return { csrfToken };
}

export async function endSession(accounts: Accounts, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const id = sessionCookie(request);
  if (id !== null) await accounts.deleteSession(hashSecret(id));
  reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
}

function csrfMatches(request: FastifyRequest, expected: string): boolean {
  const got = request.headers[CSRF_HEADER];
  if (typeof got !== 'string') return false;
  const a = Buffer.from(got);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Looks up the session cookie; sets `request.session` and returns it, or null when the request
 * has no valid session. Throws 401 when a state-changing call lacks the session's CSRF token.
 */
export async function loadSession(accounts: Accounts, request: FastifyRequest, opts: { csrf: boolean }): Promise<SessionRecord | null> {
  const id = sessionCookie(request);
  if (id === null) return null;
  const idHash = hashSecret(id);
  const found = await accounts.findSession(idHash, Date.now());
  if (!found) return null;
  if (opts.csrf && !SAFE_METHODS.has(request.method) && !csrfMatches(request, found.csrfToken)) {
    throw new TallyError('unauthorized', `${CSRF_HEADER}: missing or wrong CSRF token for this session`);
  }
  request.session = { ...found, idHash };
  return found;
}

const SESSION_REQUIRED = 'sign in first: this call needs a dashboard session or an API key';

/** The preValidation hook of session-only routes (the dashboard's own API under `/ui/api`). */
export function sessionAuthenticator(accounts: Accounts) {
  return async function authenticateSession(request: FastifyRequest): Promise<void> {
    const s = await loadSession(accounts, request, { csrf: true });
    if (!s) throw unauthorized(SESSION_REQUIRED);
    request.auth = { workspaceId: s.workspaceId, keyId: null, userId: s.userId, actor: { id: `user:${s.userId}`, source: 'dashboard' } };
  };
}

/**
 * API key or dashboard session, for the native `/v1` API that programs and the dashboard share.
 * A request that names a key (header or body) is judged by the key alone; otherwise a session
 * cookie is tried; with neither, the key authenticator answers its usual 401.
 */
export function keyOrSessionAuthenticator(keyAuth: (request: FastifyRequest) => Promise<void>, accounts: Accounts) {
  const bySession = sessionAuthenticator(accounts);
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const body = request.body as Record<string, unknown> | null | undefined;
    const namesKey = request.headers['x-api-key'] !== undefined || bearerKey(request) !== null || (typeof body === 'object' && body !== null && 'api_key' in body);
    if (!namesKey && sessionCookie(request) !== null) return bySession(request);
    return keyAuth(request);
  };
}
