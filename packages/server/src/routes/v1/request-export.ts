import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { filterFromParams } from '../../domain/search-params.js';
import { parseSort } from '../../domain/search-query.js';
import { exportStream } from '../../export/export-stream.js';
import { ErrorBody } from '../../schemas/common.js';
import { ExportQuery } from '../../schemas/search.js';
import type { RouteDeps } from '../deps.js';

type App = Parameters<FastifyPluginAsyncTypebox<RouteDeps>>[0];

/** `GET /v1/requests/export`: the search's filters, streamed as CSV or JSON Lines in constant memory. */
export function exportRoute(app: App, { store, auth, exportThreads, exportSlots }: RouteDeps): void {
  app.get(
    '/v1/requests/export',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Export matching requests as CSV or JSON Lines (streamed)',
        description:
          'Takes the filters and sort of `GET /v1/requests/search` and `format=csv` (default) or `jsonl`. CSV (RFC 4180, CRLF) has one `score:NAME` column per score name present on the exported requests; JSON values (input, output, tags, metadata, ...) are JSON text in their cells. JSON Lines carries each request as `GET /v1/requests/{id}` does.',
        querystring: ExportQuery,
        response: { 200: Type.Unknown({ description: 'a text/csv or application/x-ndjson stream' }), 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const { workspaceId } = req.auth!;
      const q = req.query;
      // Everything that can be refused is checked before the first byte is sent.
      const filter = filterFromParams(q, q as Record<string, unknown>);
      const sort = parseSort(q.sort_by, q.sort_order);
      const format = q.format ?? 'csv';
      const { keyId, userId } = req.auth!;
      store.workspaceReads?.refuseIfSpent(workspaceId);
      const release = exportSlots.take(keyId !== null ? `key:${keyId}` : `user:${String(userId)}`);
      let body: Awaited<ReturnType<typeof exportStream>>;
      try {
        body = await exportStream(store, { workspaceId, filter, sort, format }, exportThreads);
      } catch (err) {
        release();
        throw err;
      }
      // Ended, failed or cut off by the client: the stream closes in every case.
      body.once('close', release);
      reply.raw.once('close', release);
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="tally-requests-${stamp}.${format}"`)
        .send(body);
    },
  );
}
