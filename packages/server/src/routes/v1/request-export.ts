import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { csvRecord } from '../../domain/csv.js';
import { filterFromParams } from '../../domain/search-params.js';
import { parseSort, type RequestFilter, type SortPosition, type SortSpec } from '../../domain/search-query.js';
import { ErrorBody } from '../../schemas/common.js';
import { ExportQuery } from '../../schemas/search.js';
import type { Store, StoredRequest } from '../../store/store.js';
import type { RouteDeps } from '../deps.js';
import { detailItem } from './request-items.js';

type App = Parameters<FastifyPluginAsyncTypebox<RouteDeps>>[0];

/** Rows per query: memory holds one page, whatever the export's size. */
export const EXPORT_PAGE_ROWS = 1000;

const json = (v: unknown): string => JSON.stringify(v);

const CSV_COLUMNS: [string, (r: StoredRequest) => string | number | null][] = [
  ['id', (r) => r.id],
  ['request_start_time', (r) => new Date(r.startMs).toISOString()],
  ['request_end_time', (r) => new Date(r.endMs).toISOString()],
  ['latency_ms', (r) => r.latencyMs],
  ['provider', (r) => r.provider],
  ['model', (r) => r.model],
  ['function_name', (r) => r.functionName],
  ['prompt_name', (r) => r.promptName],
  ['prompt_version', (r) => r.promptVersion],
  ['prompt_label', (r) => r.promptLabel],
  ['status', (r) => r.status],
  ['error_type', (r) => r.errorType],
  ['error_message', (r) => r.errorMessage],
  ['input_tokens', (r) => r.inputTokens],
  ['output_tokens', (r) => r.outputTokens],
  ['price', (r) => r.price],
  ['span_id', (r) => r.spanId],
  ['group_ids', (r) => json(r.groupIds)],
  ['tags', (r) => json(r.tags)],
  ['metadata', (r) => json(r.metadata)],
  ['parameters', (r) => json(r.parameters)],
  ['prompt_input_variables', (r) => json(r.promptInputVariables)],
  ['input', (r) => json(r.input)],
  ['output', (r) => json(r.output)],
];

/** Walks every matching request in keyset pages; the stream pulls the next page only when drained. */
async function* matchingRequests(store: Store, workspaceId: number, filter: RequestFilter | null, sort: SortSpec): AsyncGenerator<StoredRequest> {
  let after: SortPosition | null = null;
  do {
    const page = await store.searchRequestContents(workspaceId, { filter, sort, after, limit: EXPORT_PAGE_ROWS });
    yield* page.items;
    after = page.next;
  } while (after !== null);
}

async function* csvLines(rows: AsyncIterable<StoredRequest>, scoreNames: string[]): AsyncGenerator<string> {
  yield csvRecord([...CSV_COLUMNS.map(([name]) => name), ...scoreNames.map((n) => `score:${n}`)]);
  for await (const r of rows) {
    yield csvRecord([...CSV_COLUMNS.map(([, get]) => get(r)), ...scoreNames.map((n) => r.scores[n] ?? null)]);
  }
}

async function* jsonLines(rows: AsyncIterable<StoredRequest>): AsyncGenerator<string> {
  for await (const r of rows) yield `${JSON.stringify(detailItem(r))}\n`;
}

/** `GET /v1/requests/export`: the search's filters, streamed as CSV or JSON Lines in constant memory. */
export function exportRoute(app: App, { store, auth }: RouteDeps): void {
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
        response: { 200: Type.Unknown({ description: 'a text/csv or application/x-ndjson stream' }), 400: ErrorBody, 401: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const { workspaceId } = req.auth!;
      const q = req.query;
      // Everything that can be refused is checked before the first byte is sent.
      const filter = filterFromParams(q, q as Record<string, unknown>);
      const sort = parseSort(q.sort_by, q.sort_order);
      const format = q.format ?? 'csv';
      const rows = matchingRequests(store, workspaceId, filter, sort);
      const lines = format === 'csv' ? csvLines(rows, await store.scoreNamesOf(workspaceId, filter)) : jsonLines(rows);
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="tally-requests-${stamp}.${format}"`)
        .send(Readable.from(lines, { objectMode: false }));
    },
  );
}
