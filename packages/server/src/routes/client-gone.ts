import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { whileWanted } from '../store/read-scope.js';

/**
 * Stops the reads of a request whose client goes away before its answer (a browser leaving a
 * page cancels the page's fetches by closing their connections): each route's handler runs under
 * a signal aborted when the response's connection closes unfinished, and the store's reads started
 * there give up their place in their workspace's line or are interrupted (store/read-scope.ts).
 * Otherwise a dashboard page's slow panels would keep the workspace's reads busy after the user
 * moved on, and the next page's first reads would wait behind them. Applies to every route added
 * after it.
 */
export function stopReadsOfGoneClients(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function (this: FastifyInstance, request, reply) {
      const gone = new AbortController();
      const res = reply.raw;
      const onClose = () => {
        if (!res.writableFinished) gone.abort();
      };
      res.once('close', onClose);
      return whileWanted(gone.signal, () => handler.call(this, request, reply));
    } as RouteHandlerMethod;
  });
}
