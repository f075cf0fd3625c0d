import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TallyError } from '../domain/errors.js';
import { claimsFor, type FeedbackClaims, type FeedbackTokenSpec } from '../domain/feedback.js';
import type { FeedbackSecret, FeedbackSettings, FeedbackStore } from '../store/feedback.js';

/**
 * Feedback tokens: `v1.<payload>.<signature>`, both parts base64url, the payload the claims as JSON
 * (domain/feedback.ts), the signature HMAC-SHA256 of `v1.<payload>` under the workspace's secret.
 * Checking one needs no table of tokens, only the workspace's current secret: a token names the
 * secret that signed it (`kid`), and one whose secret was rotated out is refused.
 *
 * The payload is signed, not encrypted: the page holding a token can read its claims (request id,
 * score name, allowed values, end user), so the end user id should be an opaque one.
 */
const VERSION = 'v1';
// A signature is 32 bytes: 43 base64url characters. The payload of the largest allowance (64
// labels of 128 characters) stays far below the bound, which keeps a stranger's garbage cheap.
const TOKEN = /^v1\.([A-Za-z0-9_-]{16,16384})\.([A-Za-z0-9_-]{43})$/;
export const FEEDBACK_TOKEN_MAX_CHARS = 16_500;

const refused = (why: string) => new TallyError('unauthorized', `token: ${why}; nothing was written`);

function sign(secret: string, signed: string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'base64url')).update(signed).digest();
}

/** Signs claims (with the secret's id as `kid`) into a token. */
export function signToken(claims: Omit<FeedbackClaims, 'kid'>, secret: FeedbackSecret): string {
  const payload = Buffer.from(JSON.stringify({ ...claims, kid: secret.secretId })).toString('base64url');
  const signed = `${VERSION}.${payload}`;
  return `${signed}.${sign(secret.secret, signed).toString('base64url')}`;
}

const isInt = (x: unknown, min: number, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
const isText = (x: unknown): x is string => typeof x === 'string' && x.length > 0;

/** The claims of a token's payload, when they have the shape signTokens writes; null otherwise. */
function readClaims(payload: string): FeedbackClaims | null {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return null;
  const o = c as Record<string, unknown>;
  if (!isInt(o.ws, 1, Number.MAX_SAFE_INTEGER) || !isInt(o.rid, 1, Number.MAX_SAFE_INTEGER) || !isText(o.n) || !isInt(o.exp, 0, Number.MAX_SAFE_INTEGER)) return null;
  if (!isText(o.kid) || !isText(o.jti)) return null;
  if (o.v !== undefined && !(Array.isArray(o.v) && o.v.every((v) => isInt(v, 0, 100)))) return null;
  if (o.l !== undefined && !(Array.isArray(o.l) && o.l.every(isText))) return null;
  if (o.r !== undefined && !(Array.isArray(o.r) && o.r.length === 2 && o.r.every((v) => isInt(v, 0, 100)))) return null;
  if (o.eu !== undefined && !isText(o.eu)) return null;
  return o as unknown as FeedbackClaims;
}

/** A checked token: its claims, and the settings of its workspace (origins for the CORS check). */
export interface VerifiedToken {
  claims: FeedbackClaims;
  settings: FeedbackSettings;
}

/** Mints and checks feedback tokens over the store's per-workspace secrets. */
export class FeedbackTokens {
  constructor(private readonly store: FeedbackStore) {}

  /** The workspace's signing secret (made on first use): fetch it before writing, sign after. */
  secretOf(workspaceId: number): Promise<FeedbackSecret> {
    return this.store.signingSecret(workspaceId);
  }

  /** A token for one request under a secret in hand; pure, so it cannot fail after a write. */
  mintWith(secret: FeedbackSecret, workspaceId: number, requestId: number, spec: FeedbackTokenSpec, nowMs = Date.now()): { token: string; expiresAt: number } {
    const claims = claimsFor(workspaceId, requestId, spec, randomBytes(12).toString('base64url'), nowMs);
    return { token: signToken(claims, secret), expiresAt: claims.exp * 1000 };
  }

  /**
   * Checks a token: its form, its workspace's current secret, its signature (compared in constant
   * time) and its expiry. Every failure is a 401 that says which, and nothing is written.
   */
  async verify(token: string, nowMs = Date.now()): Promise<VerifiedToken> {
    const m = token.length <= FEEDBACK_TOKEN_MAX_CHARS ? TOKEN.exec(token) : null;
    if (!m) throw refused('is not a feedback token (v1.<payload>.<signature>)');
    const claims = readClaims(m[1]!);
    if (!claims) throw refused('is not a feedback token (its payload cannot be read)');
    const settings = await this.store.find(claims.ws);
    // The same answer for an unknown workspace as for a wrong signature: a token of another
    // server or workspace is only a token that does not verify.
    if (!settings) throw refused('signature does not match');
    // The old secret is not kept, so a token of a rotated-out secret cannot be told from a forged
    // one that names an unknown secret: both are refused before any signature is computed.
    if (claims.kid !== settings.secretId) throw refused('was not signed by the workspace\'s current secret (rotated out, or forged)');
    const expected = sign(settings.secret, `${VERSION}.${m[1]!}`);
    const given = Buffer.from(m[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused('signature does not match');
    if (claims.exp * 1000 <= nowMs) throw refused('has expired');
    return { claims, settings };
  }
}
