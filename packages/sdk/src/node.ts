/**
 * `@tally/sdk/node`: helpers that need Node's crypto, kept out of the main entry so that it stays
 * usable in browsers. Everything of `@tally/sdk` is exported here too.
 *
 * @example
 * ```ts
 * import { verifyWebhookSignature } from '@tally/sdk/node';
 * ```
 */
export * from './index.js';
export { verifyWebhookSignature, type VerifyOptions, type WebhookEvent } from './webhook-signature.js';
