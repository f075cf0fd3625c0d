/**
 * Filtered, sorted, paged reads of requests: native search (keyset cursors), PromptLayer's search
 * (page numbers) and export (keyset pages of full rows). A page is one query for the rows plus one
 * batch query each for tags, metadata, scores and groups of exactly those rows.
 */
import { OperationNodeTransformer, sql, ValueListNode, ValueNode, type Expression, type Kysely, type KyselyPlugin, type PrimitiveValueListNode, type Selectable, type SqlBool } from 'kysely';
import type { RequestStatus } from '../domain/request-shape.js';
import type { RequestFilter, SortColumn, SortPosition, SortSpec } from '../domain/search-query.js';
import { scoreRowRater } from '../domain/score-schema.js';
import type { Database, RequestsTable, ScoresTable } from './schema.js';
import { applyRequestFilter, planTextSearch, requestColumn, sortScoreBounds } from './search-filter.js';
import type { PageEndsQuery, PriceSource, RequestContentText, RequestDetails, RequestPage, RequestSearch, RequestSummary, ScoreDetail, StoredRequest } from './types.js';

const SUMMARY_COLUMNS = [
  'requests.id',
  'requests.workspace_id',
  'requests.provider',
  'requests.model',
  'requests.function_name',
  'requests.api_type',
  'requests.prompt_name',
  'requests.prompt_id',
  'requests.prompt_version',
  'requests.prompt_label',
  'requests.input_tokens',
  'requests.output_tokens',
  'requests.price',
  'requests.status',
  'requests.error_type',
  'requests.error_message',
  'requests.request_start_time',
  'requests.request_end_time',
  'requests.latency_ms',
  'requests.span_id',
  'requests.created_at',
  'requests.price_source',
] as const;
const CONTENT_COLUMNS = ['requests.input', 'requests.output', 'requests.parameters', 'requests.prompt_input_variables'] as const;

type ContentColumn = 'input' | 'output' | 'parameters' | 'prompt_input_variables';
/** A selected request row: the summary columns, the content columns when asked for, and the sort value. */
type Row = Omit<Selectable<RequestsTable>, ContentColumn> & Partial<Pick<Selectable<RequestsTable>, ContentColumn>> & { sort_value?: number | null };

/** Rows stored before migration 010 have no source: a price above 0 was then always logged. */
const priceSource = (stored: string | null, price: number): PriceSource => (stored === 'logged' || stored === 'computed' ? stored : price > 0 ? 'logged' : null);

function toSummary(r: Row, d: RequestDetails): RequestSummary {
  return {
    id: Number(r.id),
    workspaceId: Number(r.workspace_id),
    provider: r.provider,
    model: r.model,
    functionName: r.function_name,
    apiType: r.api_type,
    promptName: r.prompt_name,
    promptId: r.prompt_id,
    promptVersion: r.prompt_version,
    promptLabel: r.prompt_label,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    price: r.price,
    status: r.status as RequestStatus,
    errorType: r.error_type,
    errorMessage: r.error_message,
    startMs: Number(r.request_start_time),
    endMs: Number(r.request_end_time),
    latencyMs: Number(r.latency_ms),
    spanId: r.span_id,
    createdAt: Number(r.created_at),
    priceSource: priceSource(r.price_source, r.price),
    ...d,
  };
}

function toContentText(r: Row, d: RequestDetails): RequestContentText {
  // The summary object itself gains `content`: copying its 25 fields into a new object per row was
  // a tenth of an export's reading.
  const out = toSummary(r, d) as RequestContentText;
  out.content = { input: r.input ?? 'null', output: r.output ?? 'null', parameters: r.parameters ?? '{}', promptInputVariables: r.prompt_input_variables ?? '{}' };
  return out;
}

/** The request with its content parsed, as `GET /v1/requests/{id}` shows it. */
export function parseContent(r: RequestContentText): StoredRequest {
  const { content, ...summary } = r;
  return {
    ...summary,
    input: JSON.parse(content.input),
    output: JSON.parse(content.output),
    parameters: JSON.parse(content.parameters) as Record<string, unknown>,
    promptInputVariables: JSON.parse(content.promptInputVariables) as Record<string, unknown>,
  };
}

const toStored = (r: Row, d: RequestDetails): StoredRequest => parseContent(toContentText(r, d));

/** One request with everything attached, or null when it is not in the workspace. */
export async function readRequest(db: Kysely<Database>, workspaceId: number, id: number): Promise<StoredRequest | null> {
  const row = (await db
    .selectFrom('requests')
    .select([...SUMMARY_COLUMNS, ...CONTENT_COLUMNS])
    .where('requests.id', '=', id)
    .where('requests.workspace_id', '=', workspaceId)
    .executeTakeFirst()) as Row | undefined;
  if (!row) return null;
  const details = await detailsOf(db, [id], { scoreDetails: true });
  return toStored(row, details.get(id)!);
}

/**
 * Tags, metadata, scores and groups of a page's rows: one query per table, never one per row.
 *
 * `ids` are rows just read within the workspace, and an attached row always carries its request's
 * workspace, so these queries test only `request_id`, in primary-key order. A `workspace_id = ?`
 * term (or an ORDER BY on the name alone) lets SQLite's planner, which has no statistics, walk the
 * (workspace_id, tag|key|name, ...) index over the whole workspace instead, where the primary key
 * answers at once.
 */
export async function detailsOf(db: Kysely<Database>, ids: number[], opts: DetailOptions = {}): Promise<Map<number, RequestDetails>> {
  const withDetails = opts.scoreDetails === true;
  const out = new Map<number, RequestDetails>(ids.map((id) => [id, withDetails ? { tags: [], metadata: {}, groupIds: [], scores: {}, scoreDetails: {} } : { tags: [], metadata: {}, groupIds: [], scores: {} }]));
  if (ids.length === 0) return out;
  // Requests are mostly logged in time order, so a page sorted by time holds ids close together.
  // Then one range scan of each detail table reads them, at half the cost of a seek per id; rows
  // of requests in the range but not on the page (other filters, other workspaces) are dropped
  // below, as only the page's ids are looked up.
  let lo = ids[0]!;
  let hi = lo;
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  const onPage = hi - lo < 2 * ids.length ? sql<SqlBool>`request_id between ${lo} and ${hi}` : sql<SqlBool>`request_id in (${sql.join(ids)})`;
  const [tags, metadata, scores, groups] = await Promise.all([
    db.selectFrom('request_tags').select(['request_id', 'tag']).where(onPage).orderBy('request_id').orderBy('tag').execute(),
    db.selectFrom('request_metadata').select(['request_id', 'key', 'value']).where(onPage).orderBy('request_id').orderBy('key').execute(),
    withDetails
      ? db
          .selectFrom('scores')
          .select(['request_id', 'name', 'value', 'label', 'comment', 'reasons', 'rater', 'updated_by', 'updated_at', 'source', 'schema_version'])
          .where(onPage)
          .orderBy('request_id')
          .orderBy('name')
          .execute()
      : db.selectFrom('scores').select(['request_id', 'name', 'value']).where(onPage).orderBy('request_id').orderBy('name').execute(),
    db.selectFrom('request_groups').select(['request_id', 'group_id']).where(onPage).orderBy('request_id').orderBy('group_id').execute(),
  ]);
  for (const t of tags) out.get(Number(t.request_id))?.tags.push(t.tag);
  for (const m of metadata) {
    const d = out.get(Number(m.request_id));
    if (d) d.metadata[m.key] = m.value;
  }
  for (const s of scores) {
    const d = out.get(Number(s.request_id));
    if (!d) continue;
    d.scores[s.name] = s.value;
    if (d.scoreDetails) d.scoreDetails[s.name] = toScoreDetail(s as unknown as DetailedScoreRow);
  }
  for (const g of groups) out.get(Number(g.request_id))?.groupIds.push(Number(g.group_id));
  return out;
}

/** What a read of details includes beyond tags, metadata, groups and score values. */
export interface DetailOptions {
  /** Each score's label, comment, reasons, rater, source, time and schema version (RequestDetails.scoreDetails). */
  scoreDetails?: boolean;
}

type DetailedScoreRow = Pick<Selectable<ScoresTable>, 'value' | 'label' | 'comment' | 'reasons' | 'rater' | 'updated_by' | 'updated_at' | 'source' | 'schema_version'>;

function toScoreDetail(s: DetailedScoreRow): ScoreDetail {
  return {
    value: s.value,
    label: s.label,
    comment: s.comment,
    reasons: s.reasons === null ? null : (JSON.parse(s.reasons) as string[]),
    source: s.source,
    actor: s.updated_by,
    // Rows from before migration 009 have no rater: theirs is whoever wrote them. An adjudicated
    // score's rater is its adjudicator.
    rater: s.rater === null ? s.updated_by : scoreRowRater(s.rater),
    updatedAt: Number(s.updated_at),
    schemaVersion: s.schema_version,
  };
}

const cmp = (order: 'asc' | 'desc') => sql.raw(order === 'desc' ? '<' : '>');
/** Not past a position in sort order: the position itself and what comes before it. */
const notPast = (order: 'asc' | 'desc') => sql.raw(order === 'desc' ? '>=' : '<=');
const dir = (order: 'asc' | 'desc') => sql.raw(order);
const ID = sql.ref('requests.id');

/** The ORDER BY terms of a sort by a column: the column, then the id that breaks its ties (the id alone when it is the column). */
function columnOrder(column: SortColumn, order: 'asc' | 'desc'): Expression<unknown>[] {
  const idTerm = sql`${ID} ${dir(order)}`;
  return column === 'id' ? [idTerm] : [sql`${requestColumn(column)} ${dir(order)}`, idTerm];
}

/**
 * Matching requests, with `first` (the page's keyset bounds) ahead of the filter's own terms in the
 * WHERE clause. SQLite walks an index range by the first bound it finds on the column for each
 * side: with a time-range filter ahead of the keyset bound, every page of a walk newest first
 * would start at the range's end and step over all the pages before it, so each page of a long
 * export or a deep search would cost more than the last.
 */
function baseQuery(db: Kysely<Database>, ws: number, filter: RequestFilter | null, content: boolean, first: Expression<SqlBool>[] = []) {
  const columns = content ? [...SUMMARY_COLUMNS, ...CONTENT_COLUMNS] : SUMMARY_COLUMNS;
  let qb = db.selectFrom('requests').select(columns);
  for (const bound of first) qb = qb.where(bound);
  return applyRequestFilter(qb, ws, filter);
}

/** Fetches `limit + 1` rows in sort order after `q.after` (or from `q.offset`). */
async function fetchRows(db: Kysely<Database>, ws: number, q: RequestSearch, content: boolean): Promise<Row[]> {
  const { sort } = q;
  const want = q.limit + 1;
  const offset = q.after ? 0 : (q.offset ?? 0);

  if (sort.key.kind === 'column') {
    const key = requestColumn(sort.key.column);
    const bounds: Expression<SqlBool>[] = [];
    if (q.after) bounds.push(sql<SqlBool>`(${key}, ${ID}) ${cmp(sort.order)} (${q.after.value}, ${q.after.id})`);
    if (q.upTo) bounds.push(sql<SqlBool>`(${key}, ${ID}) ${notPast(sort.order)} (${q.upTo.value}, ${q.upTo.id})`);
    let qb = baseQuery(db, ws, q.filter, content, bounds);
    for (const term of columnOrder(sort.key.column, sort.order)) qb = qb.orderBy(term);
    return (await qb.limit(want).offset(offset).execute()) as Row[];
  }

  if (q.upTo) throw new Error('a search bounded by upTo sorts by a column');
  const name = sort.key.name;
  if (offset > 0) {
    // Page numbers past the first (PromptLayer's search): one query, the unscored after the scored.
    const rows = await baseQuery(db, ws, q.filter, content)
      .leftJoin('scores as ss', (j) => j.onRef('ss.request_id', '=', 'requests.id').on('ss.workspace_id', '=', ws).on('ss.name', '=', name))
      .select('ss.value as sort_value')
      .orderBy(sql`${sql.ref('ss.value')} ${dir(sort.order)} nulls last`)
      .orderBy(sql`${ID} ${dir(sort.order)}`)
      .limit(want)
      .offset(offset)
      .execute();
    return rows as Row[];
  }

  // Keyset over a score (and any first page) runs in two phases, each walking an index in order:
  // first the scored rows by (value, request_id) on scores(workspace_id, name, value, request_id),
  // then the unscored rows by id. A cursor whose value is null is already in the second phase. The
  // filter's own range on the sorted score bounds the first walk (without it, "between 40 and 60,
  // highest first" tests every row above 60 before the first match), and a filter that needs the
  // score skips the second phase, which would otherwise read every request to find none.
  const bounds = sortScoreBounds(q.filter, name, sql.ref('ss.value'));
  const rows: Row[] = [];
  const after = q.after ?? null;
  if (after === null || after.value !== null) {
    const keyset = after ? [sql<SqlBool>`(${sql.ref('ss.value')}, ${sql.ref('ss.request_id')}) ${cmp(sort.order)} (${after.value}, ${after.id})`] : [];
    let scored = baseQuery(db, ws, q.filter, content, keyset)
      .innerJoin('scores as ss', (j) => j.onRef('ss.request_id', '=', 'requests.id').on('ss.workspace_id', '=', ws).on('ss.name', '=', name))
      .select('ss.value as sort_value');
    if (bounds.value) scored = scored.where(bounds.value);
    const found = await scored
      .orderBy(sql`${sql.ref('ss.value')} ${dir(sort.order)}`)
      .orderBy(sql`${sql.ref('ss.request_id')} ${dir(sort.order)}`)
      .limit(want)
      .execute();
    rows.push(...(found as Row[]));
  }
  if (rows.length < want && !bounds.required) {
    const keyset = after !== null && after.value === null ? [sql<SqlBool>`${ID} ${cmp(sort.order)} ${after.id}`] : [];
    const unscored = baseQuery(db, ws, q.filter, content, keyset)
      .select(sql<null>`null`.as('sort_value'))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('scores as sf').select('sf.request_id').whereRef('sf.request_id', '=', 'requests.id').where('sf.workspace_id', '=', ws).where('sf.name', '=', name))),
      );
    rows.push(...((await unscored.orderBy(sql`${ID} ${dir(sort.order)}`).limit(want - rows.length).execute()) as Row[]));
  }
  return rows;
}

function positionOf(sort: SortSpec, r: Row): SortPosition {
  const id = Number(r.id);
  if (sort.key.kind === 'score') return { value: r.sort_value ?? null, id };
  switch (sort.key.column) {
    case 'tokens':
      return { value: r.input_tokens + r.output_tokens, id };
    case 'status':
      return { value: r.status, id };
    case 'id':
      return { value: id, id };
    default:
      return { value: Number(r[sort.key.column]), id };
  }
}

async function page<T>(db: Kysely<Database>, ws: number, q: RequestSearch, content: boolean, convert: (r: Row, d: RequestDetails) => T): Promise<RequestPage<T>> {
  await planTextSearch(db, q.filter);
  const rows = await fetchRows(db, ws, q, content);
  const more = rows.length > q.limit;
  const pageRows = more ? rows.slice(0, q.limit) : rows;
  // Pages with content are export's: its JSONL lines carry score_details, its CSV the comments.
  const details = await detailsOf(db, pageRows.map((r) => Number(r.id)), { scoreDetails: content });
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map((r) => convert(r, details.get(Number(r.id))!)),
    next: more && last ? positionOf(q.sort, last) : null,
  };
}

/** One page of matching requests, without their content. */
export function selectRequestPage(db: Kysely<Database>, workspaceId: number, q: RequestSearch): Promise<RequestPage<RequestSummary>> {
  return page(db, workspaceId, q, false, toSummary);
}

/** One page of matching requests with everything logged, content as stored JSON text (export). */
export function selectRequestContentPage(db: Kysely<Database>, workspaceId: number, q: RequestSearch): Promise<RequestPage<RequestContentText>> {
  return page(db, workspaceId, q, true, toContentText);
}

/**
 * Where each full page of `rows` matching requests ends in sort order (a sort by a column): the
 * last row of page 1, of page 2, and so on. Page k is then the range after end k-1 up to end k,
 * and the ranges split the export among threads that each read their own pages: every row lies
 * in exactly one range, also when rows are written meanwhile (a range then reads a few more or
 * fewer). The database steps through the sort's index, not JavaScript. Where a query costs no
 * round trip (SQLite), one query per page, each skipping `rows` entries from the last end, which
 * is cheaper than numbering every row with a window function. Where each query is a round trip
 * (PostgreSQL), one query numbers the rows and keeps every `rows`-th (`inOneQuery`).
 */
export async function selectPageEnds(db: Kysely<Database>, q: PageEndsQuery & { inOneQuery: boolean }): Promise<SortPosition[]> {
  const { workspaceId: ws, filter, sort, rows } = q;
  if (sort.key.kind !== 'column') throw new Error('page ends are for sorts by a column');
  const { column } = sort.key;
  const key = requestColumn(column);
  // As positionOf has it: PostgreSQL gives bigint columns as strings.
  await planTextSearch(db, filter);
  const position = (row: { sort_value: unknown; id: unknown }): SortPosition => ({ value: column === 'status' ? String(row.sort_value) : Number(row.sort_value), id: Number(row.id) });

  if (q.inOneQuery) {
    const order = sql`${key} ${dir(sort.order)}, ${ID} ${dir(sort.order)}`;
    const numbered = applyRequestFilter(
      db.selectFrom('requests').select([sql<number | string>`${key}`.as('sort_value'), 'requests.id', sql<number>`row_number() over (order by ${order})`.as('n')]),
      ws,
      filter,
    );
    const found = await db
      .selectFrom(numbered.as('numbered'))
      .select(['numbered.sort_value', 'numbered.id'])
      .where(sql<SqlBool>`numbered.n % ${sql.lit(rows)} = 0`)
      .orderBy('numbered.n')
      .execute();
    return found.map(position);
  }

  const ends: SortPosition[] = [];
  let end: SortPosition | null = null;
  for (;;) {
    // The keyset bound first, as in baseQuery.
    let qb = db.selectFrom('requests').select([sql<number | string>`${key}`.as('sort_value'), 'requests.id']);
    if (end) qb = qb.where(sql<SqlBool>`(${key}, ${ID}) ${cmp(sort.order)} (${end.value}, ${end.id})`);
    qb = applyRequestFilter(qb, ws, filter);
    for (const term of columnOrder(column, sort.order)) qb = qb.orderBy(term);
    const row = await qb
      .limit(1)
      .offset(rows - 1)
      .executeTakeFirst();
    if (!row) return ends;
    end = position(row);
    ends.push(end);
  }
}

/**
 * How many requests match. With `bound`, counting stops past it (at most `bound + 1` rows are
 * read, in a LIMITed subquery), so a broad filter over a large workspace costs no more than the
 * bound: an answer above `bound` means "more than bound".
 */
export async function countMatchingRequests(db: Kysely<Database>, workspaceId: number, filter: RequestFilter | null, bound?: number): Promise<number> {
  await planTextSearch(db, filter);
  if (bound === undefined) {
    const row = await applyRequestFilter(db.selectFrom('requests').select((eb) => eb.fn.countAll().as('n')), workspaceId, filter).executeTakeFirstOrThrow();
    return Number(row.n);
  }
  const matching = applyRequestFilter(db.selectFrom('requests').select('requests.id'), workspaceId, filter).limit(bound + 1);
  const row = await db
    .selectFrom(matching.as('m'))
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * The request columns of a CSV export, in its column order: the export's first 17 columns, then
 * its 4 content columns (group_ids, tags, metadata and the score columns come from detailsOf).
 */
export const COPY_COLUMNS = [
  'requests.id',
  'requests.request_start_time',
  'requests.request_end_time',
  'requests.latency_ms',
  'requests.provider',
  'requests.model',
  'requests.function_name',
  'requests.prompt_name',
  'requests.prompt_version',
  'requests.prompt_label',
  'requests.status',
  'requests.error_type',
  'requests.error_message',
  'requests.input_tokens',
  'requests.output_tokens',
  'requests.price',
  'requests.span_id',
  'requests.parameters',
  'requests.prompt_input_variables',
  'requests.input',
  'requests.output',
] as const;

/**
 * Writes every value into the SQL text as a literal instead of sending it as a parameter: COPY
 * takes no parameters. Kysely quotes string literals by doubling single quotes, which is complete
 * with standard_conforming_strings on (the connection that runs the COPY sets it).
 */
class InlineValues extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return ValueNode.createImmediate(node.value);
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    return ValueListNode.create(node.values.map(ValueNode.createImmediate)) as unknown as PrimitiveValueListNode;
  }
}

const INLINE_VALUES: KyselyPlugin = {
  transformQuery: (args) => new InlineValues().transformNode(args.node),
  transformResult: (args) => Promise.resolve(args.result),
};

/**
 * The SELECT of a CSV export over PostgreSQL's COPY (a sort by a column): the matching requests'
 * COPY_COLUMNS in sort order, values inlined.
 */
export function exportColumnsSql(db: Kysely<Database>, ws: number, filter: RequestFilter | null, sort: SortSpec): string {
  if (sort.key.kind !== 'column') throw new Error('a COPY export sorts by a column');
  let qb = applyRequestFilter(db.selectFrom('requests').select(COPY_COLUMNS), ws, filter);
  for (const term of columnOrder(sort.key.column, sort.order)) qb = qb.orderBy(term);
  const compiled = qb.withPlugin(INLINE_VALUES).compile();
  if (compiled.parameters.length > 0) throw new Error('a COPY query has parameters left');
  return compiled.sql;
}
