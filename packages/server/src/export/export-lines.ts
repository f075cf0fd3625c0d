import { csvField, csvRecord } from '../domain/csv.js';
import type { RequestFilter, SortPosition, SortSpec } from '../domain/search-query.js';
import { toIso } from '../domain/timestamps.js';
import { parseContent } from '../store/search.js';
import type { CurrentRating, RequestContentText, RequestDetails, RequestPage } from '../store/types.js';
import type { Store } from '../store/store.js';
import { detailItem } from '../search/request-items.js';

/**
 * Rows per query: memory holds one page, whatever the export's size. Small enough that a page's
 * rows die young: larger pages outlive two scavenges and are promoted, and the old generation then
 * holds dead pages until a full GC, which raises peak RSS without making the export faster.
 */
export const EXPORT_PAGE_ROWS = 250;

export type ExportFormat = 'csv' | 'jsonl';

/** What an export holds: one workspace's requests that match `filter`, in `sort` order, as `format`. */
export interface ExportRequest {
  workspaceId: number;
  filter: RequestFilter | null;
  sort: SortSpec;
  format: ExportFormat;
}

/** Which part of a planned export to read: part `part` (from 0) of `parts`. */
export interface ExportPart {
  part: number;
  parts: number;
}

/** The whole of an export that is not split. */
export const WHOLE: ExportPart = { part: 0, parts: 1 };

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
const groupIdsCell = (d: Pick<RequestDetails, 'groupIds'>) => text(json(d.groupIds));
const tagsCell = (d: Pick<RequestDetails, 'tags'>) => text(json(d.tags));
const metadataCell = (d: Pick<RequestDetails, 'metadata'>) => text(json(d.metadata));
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
  ['group_ids', groupIdsCell],
  ['tags', tagsCell],
  ['metadata', metadataCell],
  ['parameters', (r) => text(r.content.parameters)],
  ['prompt_input_variables', (r) => text(r.content.promptInputVariables)],
  ['input', (r) => text(r.content.input)],
  ['output', (r) => text(r.content.output)],
];

/** The group_ids, tags and metadata cells, comma-separated (the COPY export adds them to its rows). */
export const detailCells = (d: RequestDetails): string => `${groupIdsCell(d)},${tagsCell(d)},${metadataCell(d)}`;

/** The score columns' cells, each after a comma: per name its value, then its comment. */
export function scoreCells(d: Pick<RequestDetails, 'scores' | 'scoreDetails'>, scoreNames: string[]): string {
  let cells = '';
  for (const n of scoreNames) cells += `,${optionalNum(d.scores[n] ?? null)},${text(d.scoreDetails?.[n]?.comment ?? null)}`;
  return cells;
}

/**
 * A stretch of the sort order: the rows after `after` (from the first when null) up to `upTo`,
 * itself included (to the last when null).
 */
export interface ExportRange {
  after: SortPosition | null;
  upTo: SortPosition | null;
}

const EVERYTHING: ExportRange[] = [{ after: null, upTo: null }];

/** A page of rows, and whether it is the last one of its range. */
interface RangePage {
  rows: RequestContentText[];
  last: boolean;
}

/**
 * Walks the matching requests of each range in turn, in keyset pages. On PostgreSQL the next page
 * (of this range or the next) is asked for as soon as this one came, and read by the server while
 * this one is formatted; no further ahead. SQLite reads in this thread, so
 * reading ahead would only keep two pages alive.
 */
async function* rangePages(store: Store, { workspaceId, filter, sort }: ExportRequest, ranges: Iterable<ExportRange>): AsyncGenerator<RangePage> {
  const todo = ranges[Symbol.iterator]();
  const read = async (range: ExportRange, after: SortPosition | null) => ({
    range,
    page: await store.requests.searchContents(workspaceId, { filter, sort, after, upTo: range.upTo, limit: EXPORT_PAGE_ROWS }),
  });
  const following = (range: ExportRange, page: RequestPage<RequestContentText>) => {
    if (page.next !== null) return read(range, page.next);
    const step = todo.next();
    return step.done ? null : read(step.value, step.value.after);
  };
  const ahead = store.capabilities.readAhead;
  const first = todo.next();
  let next: ReturnType<typeof following> = first.done ? null : read(first.value, first.value.after);
  try {
    while (next) {
      const { range, page } = await next;
      next = ahead ? following(range, page) : null;
      yield { rows: page.items, last: page.next === null };
      if (!ahead) next = following(range, page);
    }
  } finally {
    // Stopped early (the client went away): nobody awaits the page being read ahead.
    next?.catch(() => {});
  }
}

/** One record of an export, with its line end; `ratings`: the request's current ratings (JSONL). */
type Formatter = (r: RequestContentText, ratings?: readonly CurrentRating[]) => string;

function csvFormatter(scoreNames: string[]): Formatter {
  const cells = CSV_COLUMNS.map(([, cell]) => cell);
  return (r) => {
    // Concatenated, not mapped and joined: no array per record (a third of the CSV work at 1M rows).
    let line = cells[0]!(r);
    for (let i = 1; i < cells.length; i++) line += `,${cells[i]!(r)}`;
    return `${line}${scoreCells(r, scoreNames)}\r\n`;
  };
}

/** The header: the request columns, then per score name `score:NAME` and `score_comment:NAME`. */
export const csvHeader = (scoreNames: string[]) => csvRecord([...CSV_COLUMNS.map(([name]) => name), ...scoreNames.flatMap((n) => [`score:${n}`, `score_comment:${n}`])]);

const jsonFormatter: Formatter = (r, ratings) => `${JSON.stringify(detailItem(parseContent(r), ratings ?? []))}\n`;

/**
 * The current ratings of a page's scored requests, by request (JSONL lines carry them in
 * score_details, as GET /v1/requests/{id} does): one read of their history per page.
 */
async function pageRatings(store: Store, workspaceId: number, rows: readonly RequestContentText[]): Promise<Map<number, CurrentRating[]>> {
  const scored = rows.filter((r) => Object.keys(r.scores).length > 0).map((r) => r.id);
  const out = new Map<number, CurrentRating[]>();
  if (scored.length === 0) return out;
  for (const rating of await store.scores.currentRatings(workspaceId, scored)) {
    let list = out.get(rating.requestId);
    if (!list) out.set(rating.requestId, (list = []));
    list.push(rating);
  }
  return out;
}

/** What every part of an export shares: its CSV score columns, how it is read, and its pages when split. */
export interface ExportPlan {
  scoreNames: string[];
  /**
   * Read through one COPY (export-copy.ts): a CSV export sorted by a column, on a store with COPY
   * (PostgreSQL). Never split: one thread reading one COPY outruns several reading pages, since a
   * COPY per page costs PostgreSQL far more per row than one long COPY.
   */
  copy: boolean;
  /**
   * Where each page ends (store.pageEnds), when the export is split among threads: page k (from 0)
   * is the range after `ends[k - 1]` up to `ends[k]`, the first from the start and the last
   * (k = ends.length) to the end. Null: one part reads everything.
   */
  ends: SortPosition[] | null;
}

/**
 * The plan of an export that may be split among `parts` threads. It splits when there are several,
 * the sort is by a column and the export is longer than a page: a score sort walks scored rows,
 * then unscored ones, in two phases that one range cannot express. An export read through COPY is
 * not split (ExportPlan.copy).
 */
export async function exportPlan(store: Store, { workspaceId, filter, sort, format }: ExportRequest, parts: number): Promise<ExportPlan> {
  const scoreNames = format === 'csv' ? await store.scores.namesOf(workspaceId, filter) : [];
  const copy = format === 'csv' && sort.key.kind === 'column' && store.capabilities.copyCsv;
  if (copy || parts < 2 || sort.key.kind !== 'column') return { scoreNames, copy, ends: null };
  const ends = await store.requests.pageEnds({ workspaceId, filter, sort, rows: EXPORT_PAGE_ROWS });
  return { scoreNames, copy, ends: ends.length > 0 ? ends : null };
}

/** The pages of one part: part, part + parts, part + 2 * parts, ... (everything when not split). */
function* partRanges(plan: ExportPlan, { part, parts }: ExportPart): Generator<ExportRange> {
  const { ends } = plan;
  if (ends === null) {
    yield* EVERYTHING;
    return;
  }
  for (let k = part; k <= ends.length; k += parts) yield { after: ends[k - 1] ?? null, upTo: ends[k] ?? null };
}

/**
 * A chunk of an export, of about CHUNK_CHARS characters or bytes: text (read in pages) or UTF-8
 * bytes (read through COPY). `pageEnd`: the last chunk of its page (an export read whole is one
 * page); `rows`: the records it holds (a CSV header is not one).
 */
export interface ExportChunk<Data extends string | Uint8Array = string | Uint8Array> {
  data: Data;
  pageEnd: boolean;
  rows: number;
}

/**
 * One part's pages of an export (see ExportPlan) as chunks; part 0 starts with the CSV header.
 * Concatenating every part's pages in page order gives the export: page k is part k % parts's.
 * A page ends with a chunk marked pageEnd (empty when the page's last chunk was already full).
 */
export async function* partChunks(store: Store, req: ExportRequest, plan: ExportPlan, { part, parts }: ExportPart): AsyncGenerator<ExportChunk<string>> {
  const { format } = req;
  const line = format === 'csv' ? csvFormatter(plan.scoreNames) : jsonFormatter;
  let pending: string[] = part === 0 && format === 'csv' ? [csvHeader(plan.scoreNames)] : [];
  let size = 0;
  let rows = 0;
  const take = (pageEnd: boolean): ExportChunk<string> => {
    const chunk = { data: pending.join(''), pageEnd, rows };
    pending = [];
    size = 0;
    rows = 0;
    return chunk;
  };
  for await (const page of rangePages(store, req, partRanges(plan, { part, parts }))) {
    const ratings = format === 'jsonl' ? await pageRatings(store, req.workspaceId, page.rows) : null;
    for (const r of page.rows) {
      const record = ratings === null ? line(r) : line(r, ratings.get(r.id));
      pending.push(record);
      size += record.length;
      rows++;
      if (size >= CHUNK_CHARS) yield take(false);
    }
    if (page.last) yield take(true);
  }
}
