import type { Socket } from 'node:net';
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
  // Connections that have not sent a byte yet: an HTTP client's pool opens them ahead of use. They
  // hold no request, yet the server's close would wait for them until connectionTimeout.
  const unused = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of unused) {
      if (socket.bytesRead === 0) socket.destroy();
      else unused.delete(socket);
    }
  });
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new TallyError('unavailable', 'server: shutting down; retry shortly', { retryAfter: 1 });
  });
}
