/// <reference types="node" />
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface VerifyOptions {
  /** How far the signed time may be from now, in seconds, before the delivery is refused as a replay; default 300. */
  toleranceSeconds?: number;
  /** The time to check against, in unix seconds (tests); default now. */
  now?: number;
}

/** A Tally webhook event as delivered (format `tally`). */
export interface WebhookEvent<D = Record<string, unknown>> {
  id: string;
  type: string;
  created_at: string;
  workspace: { id: number; name: string };
  data: D;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Checks a delivery's `Tally-Signature` header (`t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">`) against the webhook's secret, in constant time, and refuses a time further than
 * `toleranceSeconds` from now (a replay). Pass the body exactly as received (the raw text, before
 * any JSON parsing). Returns true only for a valid, fresh signature; several `v1=` entries (as
 * during a secret rotation on the sender's side) pass when any matches.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { verifyWebhookSignature } from '@tally/sdk/node';
 *
 * createServer(async (req, res) => {
 *   let body = '';
 *   for await (const chunk of req) body += chunk;
 *   if (!verifyWebhookSignature(process.env.TALLY_WEBHOOK_SECRET!, req.headers['tally-signature'], body)) {
 *     res.writeHead(400).end();
 *     return;
 *   }
 *   const event = JSON.parse(body); // { id, type, created_at, workspace, data }
 *   res.writeHead(200).end();
 * }).listen(3000);
 * ```
 */
export function verifyWebhookSignature(secret: string, header: string | string[] | null | undefined, body: string | Uint8Array, options: VerifyOptions = {}): boolean {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('secret: the webhook secret is required');
  const text = Array.isArray(header) ? header[0] : header;
  if (typeof text !== 'string') return false;
  let t: number | null = null;
  const signatures: string[] = [];
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && HEX_SHA256.test(value)) signatures.push(value);
  }
  if (t === null || signatures.length === 0) return false;
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > tolerance) return false;
  const mac = createHmac('sha256', secret).update(`${t}.`);
  mac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  const expected = mac.digest();
  let ok = false;
  // Every candidate is compared, so the time taken does not tell which one matched.
  for (const s of signatures) ok = timingSafeEqual(expected, Buffer.from(s, 'hex')) || ok;
  return ok;
}
