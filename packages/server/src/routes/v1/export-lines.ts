import { csvField, csvRecord } from '../../domain/csv.js';
import type { RequestFilter, SortPosition, SortSpec } from '../../domain/search-query.js';
import { toIso } from '../../domain/timestamps.js';
import { parseContent, type RequestContentText, type RequestPage } from '../../store/search.js';
import type { Store } from '../../store/store.js';
import { detailItem } from './request-items.js';

/**
 * Rows per query: memory holds one page, whatever the export's size. Small enough that a page's
 * rows die young: with 1000-row pages each page outlived two scavenges and was promoted, and the
 * old generation held dead pages until a full GC (peak RSS 323 MB over a 1M-row export, against
 * 190 MB with 250 rows at the same speed).
 */
export const EXPORT_PAGE_ROWS = 250;

export type ExportFormat = 'csv' | 'jsonl';

/**
 * Characters of records joined per chunk written to the socket: one chunk (and socket write) per
 * record costs more than building the record at a million rows.
 */
export const CHUNK_CHARS = 64 * 1024;

const json = (v: unknown): string => JSON.stringify(v);

// Each column's cell, as CSV text. Content columns are the stored JSON text as it is: what
// JSON.stringify(JSON.parse(text)) gives. Numbers never need quoting.
const text = csvField;
const num = (n: number) => String(n);
const optionalNum = (n: number | null) => (n === null ? '' : String(n));
const CSV_COLUMNS: [string, (r: RequestContentText) => string][] = [
  ['id', (r) => num(r.id)],
  ['request_start_time', (r) => toIso(r.startMs)],
  ['request_end_time', (r) => toIso(r.endMs)],
  ['latency_ms', (r) => num(r.latencyMs)],
  ['provider', (r) => text(r.provider)],
  ['model', (r) => text(r.model)],
  ['function_name', (r) => text(r.functionName)],
  ['prompt_name', (r) => text(r.promptName)],
  ['prompt_version', (r) => optionalNum(r.promptVersion)],
  ['prompt_label', (r) => text(r.promptLabel)],
  ['status', (r) => text(r.status)],
  ['error_type', (r) => text(r.errorType)],
  ['error_message', (r) => text(r.errorMessage)],
  ['input_tokens', (r) => num(r.inputTokens)],
  ['output_tokens', (r) => num(r.outputTokens)],
  ['price', (r) => num(r.price)],
  ['span_id', (r) => text(r.spanId)],
  ['group_ids', (r) => text(json(r.groupIds))],
  ['tags', (r) => text(json(r.tags))],
  ['metadata', (r) => text(json(r.metadata))],
  ['parameters', (r) => text(r.content.parameters)],
  ['prompt_input_variables', (r) => text(r.content.promptInputVariables)],
  ['input', (r) => text(r.content.input)],
  ['output', (r) => text(r.content.output)],
];

/**
 * Walks every matching request in keyset pages. On PostgreSQL the next page is asked for as soon
 * as this one came, and read by the server while this one is formatted (17k -> 40k rows/s); no
 * further ahead. SQLite reads in this thread, so reading ahead would only keep two pages alive.
 */
async function* matchingRequests(store: Store, workspaceId: number, filter: RequestFilter | null, sort: SortSpec): AsyncGenerator<RequestContentText> {
  const read = (after: SortPosition | null): Promise<RequestPage<RequestContentText>> => store.searchRequestContents(workspaceId, { filter, sort, after, limit: EXPORT_PAGE_ROWS });
  const readAfter = (page: RequestPage<RequestContentText>) => (page.next === null ? null : read(page.next));
  const ahead = store.backend === 'postgres';
  let next: Promise<RequestPage<RequestContentText>> | null = read(null);
  try {
    while (next) {
      const page: RequestPage<RequestContentText> = await next;
      next = ahead ? readAfter(page) : null;
      yield* page.items;
      next ??= readAfter(page);
    }
  } finally {
    // Stopped early (the client went away): nobody awaits the page being read ahead.
    next?.catch(() => {});
  }
}

async function* csvLines(rows: AsyncIterable<RequestContentText>, scoreNames: string[]): AsyncGenerator<string> {
  yield csvRecord([...CSV_COLUMNS.map(([name]) => name), ...scoreNames.map((n) => `score:${n}`)]);
  const cells = CSV_COLUMNS.map(([, cell]) => cell);
  for await (const r of rows) {
    // Concatenated, not mapped and joined: no array per record (a third of the CSV work at 1M rows).
    let line = cells[0]!(r);
    for (let i = 1; i < cells.length; i++) line += `,${cells[i]!(r)}`;
    for (const n of scoreNames) line += `,${optionalNum(r.scores[n] ?? null)}`;
    yield `${line}\r\n`;
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

/**
 * Joins records into chunks of about CHUNK_CHARS characters, each one socket write; memory stays
 * one page of rows plus one chunk.
 */
export async function* chunked(records: AsyncIterable<string>): AsyncGenerator<string> {
  let parts: string[] = [];
  let size = 0;
  for await (const r of records) {
    parts.push(r);
    size += r.length;
    if (size >= CHUNK_CHARS) {
      yield parts.join('');
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) yield parts.join('');
}
