import type { FastifyInstance } from 'fastify';
import { TallyError } from '../domain/errors.js';

/**
 * From the moment the app starts closing, a request that still arrives (on a kept-alive
 * connection) is answered 503 with `Retry-After` in Tally's error shape and the connection is
 * closed, so SDKs retry it elsewhere. Fastify's own `return503OnClosing` answers in its shape,
 * which the JS SDK cannot read as Tally's.
 */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new TallyError('unavailable', 'server: shutting down; retry shortly', { retryAfter: 1 });
  });
}
