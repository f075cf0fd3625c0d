import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import type { Actor } from '../store/types.js';
import { hashApiKey } from './api-keys.js';

/** Who a request acts as: an API key, or a dashboard user's session (auth/sessions.ts). */
export interface KeyAuth {
  workspaceId: number;
  /** The API key's id; null for a dashboard session. */
  keyId: number | null;
  /** The signed-in user's id; absent for an API key. */
  userId?: number;
  actor: Actor;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: KeyAuth | null;
  }
}

// Recording last use on every call would turn each read into a write; once a minute is plenty.
const TOUCH_INTERVAL_MS = 60_000;

/** The key of an `Authorization: Bearer <key>` header (OTLP exporters send their credentials so), or null. */
export function bearerKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match ? match[1]! : null;
}

/** Whether the request names an API key in a header (`X-API-KEY`, or `Authorization: Bearer`). */
export function headerNamesKey(request: FastifyRequest): boolean {
  const header = request.headers['x-api-key'];
  return (typeof header === 'string' && header.length > 0) || bearerKey(request) !== null;
}

function keyFrom(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const bearer = bearerKey(request);
  if (bearer !== null) return bearer;
  const body = request.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const k = (body as Record<string, unknown>).api_key;
    if (typeof k === 'string' && k.length > 0) return k;
  }
  return null;
}

/**
 * Resolves the API key from `X-API-KEY`, `Authorization: Bearer`, or the body's `api_key` (the SDKs' track calls) on every
 * call; a revoked key is refused on its next request, on every instance (SQLite: within
 * KEY_CHANGE_CHECK_MS of a revocation by another process).
 */
export function keyAuthenticator(store: Store, log: { warn(obj: object, msg: string): void }) {
  const touched = new Map<number, number>();
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const key = keyFrom(request);
    if (key === null) throw unauthorized();
    const found = key.length <= 256 ? await store.keys.find(hashApiKey(key)) : null;
    if (!found) throw unauthorized('the API key is not valid or has been revoked');
    request.auth = { workspaceId: found.workspaceId, keyId: found.id, actor: { id: `key:${found.id}`, source: 'api' } };
    const now = Date.now();
    if ((touched.get(found.id) ?? 0) + TOUCH_INTERVAL_MS < now) {
      touched.set(found.id, now);
      store.keys.touch(found.id, now).catch((err: unknown) => log.warn({ err }, 'could not record API key use'));
    }
  };
}
