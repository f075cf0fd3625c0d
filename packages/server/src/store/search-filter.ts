/**
 * Compiles the shared filter model (`domain/search-query.ts`) to SQL over `requests`, for both
 * backends. Scores, tags and metadata are tested with correlated EXISTS subqueries, which the
 * primary keys (request_id, name|tag|key) or the workspace indexes (workspace_id, tag|key,
 * request_id) answer per candidate row: no query loads a workspace.
 *
 * Text conditions (substrings of input and output) use the trigram indexes of migration 008. On
 * PostgreSQL the planner picks pg_trgm's index for the LIKE below by itself. SQLite has no
 * statistics to choose with, so `planTextSearch` asks the FTS5 table first how common each term is:
 * a rare term is looked up in the index (the rows containing it, then sorted), a common one is
 * tested on each row of the walk in sort order, which finds a page of matches within a few rows.
 * On SQLite every filtered query also calls `tally_alive()` per row it examines: it throws once the
 * read's deadline has passed (sqlite/read-deadline.ts), which is what stops a query there.
 */
import { SqliteAdapter, sql, type Expression, type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { FilterCondition, NumberColumn, NumberTest, RequestFilter, StringColumn, StringTest } from '../domain/search-query.js';

type Sql = RawBuilder<unknown>;
type Bool = RawBuilder<SqlBool>;

const TRUE: Bool = sql<SqlBool>`1 = 1`;
const FALSE: Bool = sql<SqlBool>`1 = 0`;

const NULLABLE_COLUMNS = new Set<string>(['prompt_name', 'prompt_label', 'error_type', 'prompt_version']);

function and(parts: Bool[]): Bool {
  if (parts.length === 0) return TRUE;
  if (parts.length === 1) return parts[0]!;
  return sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
}

function or(parts: Bool[]): Bool {
  if (parts.length === 0) return FALSE;
  if (parts.length === 1) return parts[0]!;
  return sql<SqlBool>`(${sql.join(parts, sql` or `)})`;
}

const not = (b: Bool): Bool => sql<SqlBool>`not ${b}`;

/** The column (or, for `tokens`, the expression) of `requests` a filter or sort refers to. */
export function requestColumn(column: NumberColumn | StringColumn): Sql {
  // Written exactly as the expression index of migration 002 so both planners can use it.
  if (column === 'tokens') return sql`(${sql.ref('requests.input_tokens')} + ${sql.ref('requests.output_tokens')})`;
  return sql.ref(`requests.${column}`);
}

/** `%` and `_` are wildcards in LIKE; user text is matched literally. */
const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function like(target: Sql, pattern: string): Bool {
  return sql<SqlBool>`lower(${target}) like lower(${pattern}) escape '\\'`;
}

/** The positive form of a test; negative operators are compiled as `not (positive)` by the caller. */
function numberPositive(target: Sql, t: Exclude<NumberTest, { op: 'neq' | 'not_in' | 'exists' | 'not_exists' }>): Bool {
  switch (t.op) {
    case 'eq':
      return sql<SqlBool>`${target} = ${t.value}`;
    case 'lt':
      return sql<SqlBool>`${target} < ${t.value}`;
    case 'lte':
      return sql<SqlBool>`${target} <= ${t.value}`;
    case 'gt':
      return sql<SqlBool>`${target} > ${t.value}`;
    case 'gte':
      return sql<SqlBool>`${target} >= ${t.value}`;
    case 'between':
      return sql<SqlBool>`${target} between ${t.min} and ${t.max}`;
    case 'in':
      return sql<SqlBool>`${target} in (${sql.join(t.values)})`;
    default:
      throw new Error(`not a positive number test: ${t.op}`);
  }
}

function stringPositive(target: Sql, t: Exclude<StringTest, { op: 'neq' | 'not_in' | 'not_contains' | 'exists' | 'not_exists' }>): Bool {
  switch (t.op) {
    case 'eq':
      return sql<SqlBool>`${target} = ${t.value}`;
    case 'in':
      return sql<SqlBool>`${target} in (${sql.join(t.values)})`;
    case 'contains':
      return like(target, `%${escapeLike(t.value)}%`);
    case 'starts_with':
      return like(target, `${escapeLike(t.value)}%`);
    case 'ends_with':
      return like(target, `%${escapeLike(t.value)}`);
    default:
      throw new Error(`not a positive string test: ${t.op}`);
  }
}

/** Splits a test into "positive test" and "negate it?", so every negative is an exact complement. */
function positiveOf<T extends NumberTest | StringTest>(t: T): { positive: T; negate: boolean } {
  switch (t.op) {
    case 'neq':
      return { positive: { ...t, op: 'eq' }, negate: true };
    case 'not_in':
      return { positive: { ...t, op: 'in' }, negate: true };
    case 'not_contains':
      return { positive: { ...t, op: 'contains' }, negate: true };
    default:
      return { positive: t, negate: false };
  }
}

function columnCondition(column: NumberColumn | StringColumn, test: NumberTest | StringTest, isString: boolean): Bool {
  const target = requestColumn(column);
  const nullable = NULLABLE_COLUMNS.has(column);
  if (test.op === 'exists' || test.op === 'not_exists') {
    const present = isString
      ? sql<SqlBool>`(${target} is not null and ${target} <> '')`
      : sql<SqlBool>`${target} is not null`;
    return test.op === 'exists' ? present : not(present);
  }
  const { positive, negate } = positiveOf(test);
  const pos = isString ? stringPositive(target, positive as never) : numberPositive(target, positive as never);
  if (!negate) return pos;
  // `not (NULL = x)` is NULL, which would drop rows without a value from a negative test.
  return nullable ? sql<SqlBool>`(${target} is null or not ${pos})` : not(pos);
}

/**
 * `exists (select 1 from <table> as <alias> where request matches and <extra>)`, plus the workspace
 * for tags and metadata, whose (workspace_id, tag|key, request_id) indexes seek straight to the row.
 * Not for scores: an attached row is always in its request's workspace (and the request is tested),
 * and with `workspace_id = ?` SQLite's planner (no statistics) answers a test on the value with a
 * range walk of scores(workspace_id, name, value, request_id) per candidate request instead of the
 * primary key (request_id, name), orders of magnitude slower on a large store.
 */
function attached(table: 'scores' | 'request_tags' | 'request_metadata', workspaceId: number, extra: Bool): Bool {
  const alias = { scores: 'sf', request_tags: 'tf', request_metadata: 'mf' }[table];
  const request = sql<SqlBool>`${sql.ref(`${alias}.request_id`)} = ${sql.ref('requests.id')}`;
  const where = table === 'scores' ? request : sql<SqlBool>`${sql.ref(`${alias}.workspace_id`)} = ${workspaceId} and ${request}`;
  return sql<SqlBool>`exists (select 1 from ${sql.table(table)} as ${sql.id(alias)} where ${where} and ${extra})`;
}

function attachedTest(table: 'scores' | 'request_metadata', workspaceId: number, keyCol: string, key: string, valueCol: string, test: NumberTest | StringTest, isString: boolean): Bool {
  const keyMatch = sql<SqlBool>`${sql.ref(keyCol)} = ${key}`;
  if (test.op === 'exists') return attached(table, workspaceId, keyMatch);
  if (test.op === 'not_exists') return not(attached(table, workspaceId, keyMatch));
  const { positive, negate } = positiveOf(test);
  const value = sql.ref(valueCol);
  const pos = isString ? stringPositive(value, positive as never) : numberPositive(value, positive as never);
  const found = attached(table, workspaceId, and([keyMatch, pos]));
  return negate ? not(found) : found;
}

/**
 * Every condition calls tally_alive() first on SQLite: for an OR of conditions SQLite may run one
 * loop per condition (its OR optimization), where only the condition itself is tested per row, so
 * a check beside the filter alone would not run until every loop had ended.
 */
function compile(f: RequestFilter, ws: number): Bool {
  const test = compileNode(f, ws);
  return plan?.live && f.kind !== 'group' ? sql<SqlBool>`(tally_alive() and ${test})` : test;
}

function compileNode(f: RequestFilter, ws: number): Bool {
  switch (f.kind) {
    case 'group': {
      const parts = f.filters.map((c) => compile(c, ws));
      return f.logic === 'and' ? and(parts) : or(parts);
    }
    case 'string':
      return columnCondition(f.column, f.test, true);
    case 'number':
      return columnCondition(f.column, f.test, false);
    case 'score':
      return attachedTest('scores', ws, 'sf.name', f.name, 'sf.value', f.test, false);
    case 'reason': {
      // Reasons are stored as a JSON array of strings without quotes or backslashes (a schema
      // refuses those), so `"reason"` appears in the array's text exactly when it holds the reason.
      const t = f.test;
      const values = 'value' in t ? [t.value] : t.values;
      const hit = or(values.map((r) => like(sql.ref('sf.reasons'), `%"${escapeLike(r)}"%`)));
      const found = attached('scores', ws, and([sql<SqlBool>`${sql.ref('sf.name')} = ${f.name}`, sql<SqlBool>`${sql.ref('sf.reasons')} is not null`, hit]));
      return t.op === 'neq' || t.op === 'not_in' ? not(found) : found;
    }
    case 'metadata':
      return attachedTest('request_metadata', ws, 'mf.key', f.key, 'mf.value', f.test, true);
    case 'tags': {
      const one = (tag: string) => attached('request_tags', ws, sql<SqlBool>`${sql.ref('tf.tag')} = ${tag}`);
      const anyOf = () => attached('request_tags', ws, sql<SqlBool>`${sql.ref('tf.tag')} in (${sql.join(f.tags)})`);
      switch (f.match) {
        case 'any':
          return anyOf();
        case 'all':
          return and(f.tags.map(one));
        case 'none':
          return not(anyOf());
        case 'empty':
          return not(attached('request_tags', ws, TRUE));
        case 'not_empty':
          return attached('request_tags', ws, TRUE);
      }
      break;
    }
    case 'text': {
      const pattern = `%${escapeLike(storedText(f.value))}%`;
      const targets = textColumns(f);
      let hit = or(targets.map((c) => like(sql.ref(`requests.${c}`), pattern)));
      const query = plan?.indexed.has(f) ? indexQuery(f.value) : null;
      if (query !== null) {
        // The rows the index finds, then the exact test on those rows only.
        hit = sql<SqlBool>`(${sql.ref('requests.id')} in (select rowid from requests_text where requests_text match ${query}) and ${hit})`;
      }
      return f.op === 'contains' ? hit : not(hit);
    }
  }
}

/**
 * Input and output are stored as JSON text: a term is matched as it appears inside a JSON string,
 * so quotes, backslashes and newlines in it find themselves.
 */
const storedText = (term: string): string => JSON.stringify(term).slice(1, -1);

const textColumns = (f: Extract<FilterCondition, { kind: 'text' }>): ('input' | 'output')[] => (f.target === 'any' ? ['input', 'output'] : [f.target]);

/**
 * The FTS5 query that finds the rows which may hold a term: some of its trigrams, each a quoted
 * string of three characters (`""` for a quote), all required. It reads only the index (LIKE on
 * the FTS5 table would also test every candidate's text, reading it from `requests`), and the
 * exact LIKE then tests the rows it finds. Every trigram costs one row list to intersect, a long
 * one for a common trigram, so it takes the trigrams that cover the term's start without overlap
 * and its last one, at most INDEX_TRIGRAMS in all: a few already single out a rare term.
 * `detail=none` keeps neither positions nor columns, so the rows found hold each trigram
 * somewhere in their input or output. Null when the term has under three characters (as stored).
 */
function indexQuery(term: string): string | null {
  const chars = Array.from(storedText(term));
  if (chars.length < 3) return null;
  const trigrams: string[] = [];
  for (let i = 0; i + 3 <= chars.length && trigrams.length < INDEX_TRIGRAMS - 1; i += 3) trigrams.push(chars.slice(i, i + 3).join(''));
  trigrams.push(chars.slice(-3).join(''));
  return [...new Set(trigrams)].map((t) => `"${t.replace(/"/g, '""')}"`).join(' ');
}

const INDEX_TRIGRAMS = 8;

/**
 * A term whose index query finds at least this many rows (of any workspace) is tested row by row
 * in sort order instead of looked up: at one candidate in every few hundred rows a page of matches
 * is likely near, while looking it up means testing and sorting every candidate.
 */
const COMMON_TERM_ROWS = 4096;

interface TextPlan {
  /** SQLite: call tally_alive() per row (see the module comment). */
  live: boolean;
  /** The text conditions to look up in the FTS5 table. */
  indexed: Set<FilterCondition>;
}

// Keyed by the filter object a read was planned for; compile() finds it from the filter it is given.
const plans = new WeakMap<RequestFilter, TextPlan>();
let plan: TextPlan | undefined;

function textConditions(f: RequestFilter): Extract<FilterCondition, { kind: 'text' }>[] {
  if (f.kind === 'group') return f.filters.flatMap(textConditions);
  return f.kind === 'text' ? [f] : [];
}

/**
 * Whether every match must be among the rows the index finds for some looked-up term: a top-level
 * AND member is such a term (`contains`), or an OR group of nothing but such terms.
 */
function requiresLookup(filter: RequestFilter, p: TextPlan): boolean {
  const looked = (f: RequestFilter) => f.kind === 'text' && f.op === 'contains' && p.indexed.has(f) && indexQuery(f.value) !== null;
  return conjuncts(filter).some((c) => looked(c) || (c.kind === 'group' && c.logic === 'or' && c.filters.length > 0 && c.filters.every(looked)));
}

/** Whether `db` runs on SQLite (its own connection, a reader thread's or an export thread's). */
export const isSqlite = (db: Kysely<any>): boolean => db.getExecutor().adapter instanceof SqliteAdapter;

/**
 * Readies a filter for compiling on `db`'s backend; call it before any query of a filtered read.
 * On SQLite, counts (up to COMMON_TERM_ROWS) the rows each text term's index query finds, to
 * decide which terms the index answers. Nothing to do on PostgreSQL.
 */
export async function planTextSearch(db: Kysely<any>, filter: RequestFilter | null): Promise<void> {
  if (filter === null || !isSqlite(db) || plans.has(filter)) return;
  const indexed = new Set<FilterCondition>();
  for (const f of textConditions(filter)) {
    const query = indexQuery(f.value);
    if (query === null) continue;
    const { rows } = await sql<{ n: number }>`select count(*) as n from (select rowid from requests_text where requests_text match ${query} limit ${COMMON_TERM_ROWS})`.execute(db);
    if (Number(rows[0]?.n ?? 0) < COMMON_TERM_ROWS) indexed.add(f);
  }
  plans.set(filter, { live: true, indexed });
}

/** The conditions every match must meet: the filter itself, or the members of its AND groups. */
function conjuncts(f: RequestFilter): RequestFilter[] {
  return f.kind === 'group' && f.logic === 'and' ? f.filters.flatMap(conjuncts) : [f];
}

/**
 * What a filter says about the score a search is sorted by, for a query that walks
 * scores(workspace_id, name, value, request_id) in sort order: `value` holds the filter's tests on
 * that score's value (top-level AND members only), so the walk starts and stops inside the range
 * instead of testing every scored row; `required` is true when no unscored request can match. The
 * filter itself is still applied in full: these are consequences of it, never replacements.
 */
export function sortScoreBounds(filter: RequestFilter | null, name: string, value: Sql): { value: Bool | null; required: boolean } {
  const tests = (filter === null ? [] : conjuncts(filter)).flatMap((c) => (c.kind === 'score' && c.name === name ? [c.test] : []));
  const ranges = tests.filter((t): t is Exclude<NumberTest, { op: 'neq' | 'not_in' | 'exists' | 'not_exists' }> => !['neq', 'not_in', 'exists', 'not_exists'].includes(t.op));
  return {
    value: ranges.length === 0 ? null : and(ranges.map((t) => numberPositive(value, t))),
    required: tests.some((t) => t.op !== 'neq' && t.op !== 'not_in' && t.op !== 'not_exists'),
  };
}

/**
 * The WHERE condition for "requests of this workspace matching this filter" (a null filter matches
 * the whole workspace). It refers to the table as `requests`, so the query must select from
 * `requests` without an alias; joins of other tables are fine (subqueries use their own aliases).
 */
export function requestFilterCondition(workspaceId: number, filter: RequestFilter | null): Expression<SqlBool> {
  const inWorkspace = sql<SqlBool>`${sql.ref('requests.workspace_id')} = ${workspaceId}`;
  if (filter === null) return inWorkspace;
  plan = plans.get(filter);
  try {
    // First, so that SQLite calls it for every row it looks at, before the costly tests.
    const live = plan?.live ? [sql<SqlBool>`tally_alive()`] : [];
    // SQLite, without statistics, would rather walk the workspace's index in sort order and test
    // each row against the looked-up ids (a second for a rare word at a million requests) than
    // start from those few ids and sort them. When the filter requires a looked-up term, the unary
    // plus keeps it from using workspace_id for an index, so the lookup drives the query.
    const workspace = plan && requiresLookup(filter, plan) ? sql<SqlBool>`+${sql.ref('requests.workspace_id')} = ${workspaceId}` : inWorkspace;
    return and([...live, workspace, compile(filter, workspaceId)]);
  } finally {
    plan = undefined;
  }
}

/**
 * Restricts a query over `requests` (un-aliased) to one workspace and a filter. Use it for every
 * filtered read so search, export and statistics agree on what a filter means.
 *
 * @example
 *   const q = applyRequestFilter(db.selectFrom('requests').innerJoin('scores', 'scores.request_id', 'requests.id'), ws, filter)
 *     .where('scores.name', '=', 'quality')
 *     .select((eb) => eb.fn.avg('scores.value').as('mean'));
 */
export function applyRequestFilter<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  workspaceId: number,
  filter: RequestFilter | null,
): SelectQueryBuilder<DB, TB, O> {
  return qb.where(requestFilterCondition(workspaceId, filter));
}
