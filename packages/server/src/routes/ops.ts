import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import { classifyDatabaseError } from '../store/database-errors.js';

export interface OpsDeps {
  store: Store;
  metrics: Metrics;
  /** Longest a readiness check waits for the database. */
  readyTimeoutMs?: number;
}

const hidden = { hide: true } as const;

/**
 * Operations routes, without authentication (bind Tally to a private address or filter these at
 * the proxy if the metrics must stay private):
 * - `GET /healthz`: the process is up and serving; touches no database (a liveness probe must not
 *   restart Tally because PostgreSQL is down).
 * - `GET /readyz`: one cheap database round trip with a short timeout; 503 while it fails, so a
 *   load balancer sends traffic elsewhere.
 * - `GET /metrics`: Prometheus text format.
 */
export const opsRoutes: FastifyPluginAsync<OpsDeps> = async (app, { store, metrics, readyTimeoutMs = 1000 }) => {
  app.get('/healthz', { schema: hidden }, async () => ({ success: true, status: 'ok' }));

  app.get('/readyz', { schema: hidden }, async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    });
    try {
      await Promise.race([store.ping(), timeout]);
      return { success: true, status: 'ready', database: 'ok' };
    } catch (err) {
      const problem = classifyDatabaseError(err)?.problem ?? (err instanceof Error && err.message.startsWith('no answer') ? err.message : 'error');
      metrics.databaseError(problem);
      return reply
        .code(503)
        .header('retry-after', '2')
        .send({ success: false, status: 'not ready', code: 'unavailable', message: `database: ${problem}` });
    } finally {
      clearTimeout(timer);
    }
  });

  app.get('/metrics', { schema: hidden }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
