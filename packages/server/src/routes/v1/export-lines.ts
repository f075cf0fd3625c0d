import { csvRecord } from '../../domain/csv.js';
import type { RequestFilter, SortPosition, SortSpec } from '../../domain/search-query.js';
import { parseContent, type RequestContentText } from '../../store/search.js';
import type { Store } from '../../store/store.js';
import { detailItem } from './request-items.js';

/** Rows per query: memory holds one page, whatever the export's size. */
export const EXPORT_PAGE_ROWS = 1000;

export type ExportFormat = 'csv' | 'jsonl';

const json = (v: unknown): string => JSON.stringify(v);

// Content columns are the stored JSON text as it is: what JSON.stringify(JSON.parse(text)) gives.
const CSV_COLUMNS: [string, (r: RequestContentText) => string | number | null][] = [
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
  ['parameters', (r) => r.content.parameters],
  ['prompt_input_variables', (r) => r.content.promptInputVariables],
  ['input', (r) => r.content.input],
  ['output', (r) => r.content.output],
];

/** Walks every matching request in keyset pages; the next page is read only when asked for. */
async function* matchingRequests(store: Store, workspaceId: number, filter: RequestFilter | null, sort: SortSpec): AsyncGenerator<RequestContentText> {
  let after: SortPosition | null = null;
  do {
    const page = await store.searchRequestContents(workspaceId, { filter, sort, after, limit: EXPORT_PAGE_ROWS });
    yield* page.items;
    after = page.next;
  } while (after !== null);
}

async function* csvLines(rows: AsyncIterable<RequestContentText>, scoreNames: string[]): AsyncGenerator<string> {
  yield csvRecord([...CSV_COLUMNS.map(([name]) => name), ...scoreNames.map((n) => `score:${n}`)]);
  for await (const r of rows) {
    yield csvRecord([...CSV_COLUMNS.map(([, get]) => get(r)), ...scoreNames.map((n) => r.scores[n] ?? null)]);
  }
}

async function* jsonLines(rows: AsyncIterable<RequestContentText>): AsyncGenerator<string> {
  for await (const r of rows) yield `${JSON.stringify(detailItem(parseContent(r)))}\n`;
}

/**
 * The export of every matching request as text records, each ending in its line end: CSV (RFC
 * 4180, CRLF; a header, then one record per request, one `score:NAME` column per score name
 * present) or JSON Lines (one request per line, as `GET /v1/requests/{id}` shows it). Pulled
 * lazily, so memory stays constant: `GET /v1/requests/export` streams it to the client and
 * `tally export` on a store writes it to a file.
 */
export async function exportLines(store: Store, workspaceId: number, filter: RequestFilter | null, sort: SortSpec, format: ExportFormat): Promise<AsyncGenerator<string>> {
  const rows = matchingRequests(store, workspaceId, filter, sort);
  return format === 'csv' ? csvLines(rows, await store.scoreNamesOf(workspaceId, filter)) : jsonLines(rows);
}
