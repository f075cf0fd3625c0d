import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * When a request is refused before its body was read to the end (413 over the limit, 401 for a bad
 * key checked before the body), the client may still be sending. Closing the socket then, with
 * its data unread, resets the connection, and a client that reads only after sending (fetch, most
 * SDKs) sees `fetch failed` instead of the refusal. So the rest of the body is read and dropped, up
 * to `maxBytes` (past that the connection is closed at once), and a connection that is to close
 * is closed only once the body has ended: the answer is sent, the write side ended, and the
 * socket destroyed after the last byte arrives. The request timeout bounds how long that takes.
 */
export function drainRefusedBodies(app: FastifyInstance, opts: { maxBytes: number }): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const raw = request.raw;
    // `complete` is false only on a real socket whose body has not all arrived.
    if (raw.complete !== false || reply.statusCode < 400) return payload;
    const socket = raw.socket as Socket & { destroySoon?: () => void };
    let dropped = 0;
    const drop = (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > opts.maxBytes) {
        raw.removeListener('data', drop);
        socket.destroy();
      }
    };
    raw.on('data', drop);
    raw.resume();
    // Node calls destroySoon once the answer is written, when either side asked to close.
    const destroySoon = socket.destroySoon;
    if (typeof destroySoon === 'function') {
      socket.destroySoon = () => {
        socket.destroySoon = destroySoon;
        if (raw.complete) return destroySoon.call(socket);
        socket.end();
        raw.once('end', () => socket.destroy());
      };
    }
    return payload;
  });
}
