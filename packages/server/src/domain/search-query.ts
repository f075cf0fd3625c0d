/**
 * The filter model every filtered read shares: native search, PromptLayer's search, export, and
 * the score statistics. Wire formats are parsed into one small tree (`RequestFilter`) here, with
 * every mistake reported as a 400 naming the offending part; `store/search-filter.ts` compiles the
 * tree to SQL. Pure: no I/O.
 *
 * Wire format of a native filter node (JSON):
 * - a group: `{ "logic": "and" | "or", "filters": [node, ...] }` (nestable);
 * - a condition: `{ "field", "op", "value", "name"?, "key"? }`, e.g.
 *   `{ "field": "score", "name": "quality", "op": ">=", "value": 80 }`,
 *   `{ "field": "metadata", "key": "team", "op": "=", "value": "search" }`,
 *   `{ "field": "tags", "op": "all", "value": ["prod", "eu"] }`.
 *
 * One rule for negative operators (`!=`, `not_in`, `not_contains`, `none`): they match exactly the
 * requests the positive operator does not. So `score quality != 5` includes unscored requests and
 * `metadata team != x` includes requests without `team`; add `exists` to exclude them.
 */
import { invalidField } from './errors.js';
import { INT32_MAX } from './limits.js';
import { lookup } from './lookup.js';
import { DEFAULT_SCORE_NAME } from './score.js';
import { parseTimestamp } from './timestamps.js';

export type CompareOp = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte';

/** A test on a number: a column, a time (epoch ms) or a named score. */
export type NumberTest =
  | { op: CompareOp; value: number }
  | { op: 'between'; min: number; max: number }
  | { op: 'in' | 'not_in'; values: number[] }
  | { op: 'exists' | 'not_exists' };

/** A test on text: a column or a metadata value. Substring tests ignore ASCII case. */
export type StringTest =
  | { op: 'eq' | 'neq' | 'contains' | 'not_contains' | 'starts_with' | 'ends_with'; value: string }
  | { op: 'in' | 'not_in'; values: string[] }
  | { op: 'exists' | 'not_exists' };

/** A test of a score's reasons: one reason, or any of several; negated by `neq` / `not_in`. */
export type ReasonTest = { op: 'eq' | 'neq'; value: string } | { op: 'in' | 'not_in'; values: string[] };

export const STRING_COLUMNS = ['provider', 'model', 'function_name', 'prompt_name', 'prompt_label', 'status', 'error_type'] as const;
export type StringColumn = (typeof STRING_COLUMNS)[number];

/** `tokens` is input plus output tokens; the two times are epoch milliseconds. */
export const NUMBER_COLUMNS = [
  'id',
  'prompt_version',
  'latency_ms',
  'price',
  'input_tokens',
  'output_tokens',
  'tokens',
  'request_start_time',
  'request_end_time',
] as const;
export type NumberColumn = (typeof NUMBER_COLUMNS)[number];

export type TagMatch = 'any' | 'all' | 'none' | 'empty' | 'not_empty';

export type FilterCondition =
  | { kind: 'string'; column: StringColumn; test: StringTest }
  | { kind: 'number'; column: NumberColumn; test: NumberTest }
  /** `exists` / `not_exists` are "has score N" / "has no score N". */
  | { kind: 'score'; name: string; test: NumberTest }
  /** The current score N carries the reason (`eq`), one of the reasons (`in`), or not (`neq`, `not_in`); reasons match ignoring ASCII case. */
  | { kind: 'reason'; name: string; test: ReasonTest }
  | { kind: 'tags'; match: TagMatch; tags: string[] }
  | { kind: 'metadata'; key: string; test: StringTest }
  /** Substring of the logged input and/or output (as stored, i.e. their JSON text), ignoring ASCII case. */
  | { kind: 'text'; target: 'input' | 'output' | 'any'; op: 'contains' | 'not_contains'; value: string };

export interface FilterGroup {
  kind: 'group';
  logic: 'and' | 'or';
  filters: RequestFilter[];
}

export type RequestFilter = FilterGroup | FilterCondition;

/**
 * Bounds that keep one query's SQL small and its cost bounded whatever a client sends. Text
 * conditions (substrings of input and output) cost the most: each is an index lookup and a LIKE
 * test whose worst case grows with the term's length times the text's, hence their own bounds.
 */
export const FILTER_LIMITS = {
  depth: 8,
  conditions: 100,
  textConditions: 20,
  textTerm: 256,
  listValues: 100,
  textValue: 1024,
} as const;

export const PAGE_SIZE = { default: 50, max: 500 } as const;

/** AND of the given filters, dropping nulls; null when nothing is left. */
export function allOf(...filters: (RequestFilter | null | undefined)[]): RequestFilter | null {
  const present = filters.filter((f): f is RequestFilter => f !== null && f !== undefined);
  if (present.length === 0) return null;
  if (present.length === 1) return present[0]!;
  return { kind: 'group', logic: 'and', filters: present };
}

// ---------------------------------------------------------------------------------------------
// Field and operator vocabulary (shared with the PromptLayer mapping)

const OP_ALIASES: Record<string, string> = {
  '=': 'eq',
  '==': 'eq',
  '!=': 'neq',
  '<>': 'neq',
  '<': 'lt',
  '<=': 'lte',
  '>': 'gt',
  '>=': 'gte',
};

/** Normalizes `>=` to `gte` and so on; word operators pass through lower-cased. */
export function normalizeOp(op: string): string {
  return lookup(OP_ALIASES, op) ?? op.toLowerCase();
}

const NUMBER_OPS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'between', 'in', 'not_in', 'exists', 'not_exists'] as const;
const STRING_OPS = ['eq', 'neq', 'in', 'not_in', 'contains', 'not_contains', 'starts_with', 'ends_with', 'exists', 'not_exists'] as const;
const STATUS_VALUES = ['SUCCESS', 'WARNING', 'ERROR'];

export type FieldKind = 'string' | 'number' | 'time' | 'score' | 'reason' | 'tags' | 'metadata' | 'text';

/** Native field names (and a few aliases) and what they filter. */
export const FILTER_FIELDS: Record<string, { kind: FieldKind; column?: StringColumn | NumberColumn; target?: 'input' | 'output' | 'any' }> = {
  score: { kind: 'score' },
  reason: { kind: 'reason' },
  tags: { kind: 'tags' },
  metadata: { kind: 'metadata' },
  provider: { kind: 'string', column: 'provider' },
  model: { kind: 'string', column: 'model' },
  function_name: { kind: 'string', column: 'function_name' },
  prompt_name: { kind: 'string', column: 'prompt_name' },
  prompt_label: { kind: 'string', column: 'prompt_label' },
  status: { kind: 'string', column: 'status' },
  error_type: { kind: 'string', column: 'error_type' },
  id: { kind: 'number', column: 'id' },
  prompt_version: { kind: 'number', column: 'prompt_version' },
  latency_ms: { kind: 'number', column: 'latency_ms' },
  price: { kind: 'number', column: 'price' },
  cost: { kind: 'number', column: 'price' },
  input_tokens: { kind: 'number', column: 'input_tokens' },
  output_tokens: { kind: 'number', column: 'output_tokens' },
  tokens: { kind: 'number', column: 'tokens' },
  request_start_time: { kind: 'time', column: 'request_start_time' },
  request_end_time: { kind: 'time', column: 'request_end_time' },
  text: { kind: 'text', target: 'any' },
  input: { kind: 'text', target: 'input' },
  output: { kind: 'text', target: 'output' },
};

const TAG_OPS: TagMatch[] = ['any', 'all', 'none', 'empty', 'not_empty'];
const REASON_OPS = ['eq', 'neq', 'in', 'not_in'] as const;

function opsFor(kind: FieldKind): readonly string[] {
  switch (kind) {
    case 'string':
    case 'metadata':
      return STRING_OPS;
    case 'number':
    case 'time':
    case 'score':
      return NUMBER_OPS;
    case 'reason':
      return REASON_OPS;
    case 'tags':
      return TAG_OPS;
    case 'text':
      return ['contains', 'not_contains'];
  }
}

// ---------------------------------------------------------------------------------------------
// Value readers

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const INT32: readonly [number, number] = [-INT32_MAX - 1, INT32_MAX];
const EXACT: readonly [number, number] = [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];

/**
 * The integer columns and the values their SQL type holds (32-bit, or 64-bit within JavaScript's
 * exact integers). PostgreSQL refuses to compare such a column with a fraction or a number out of
 * its range (an error, not an empty result), so a filter value must be a whole number within the
 * range, the same on both backends. `price` holds any number; times are read as timestamps.
 */
const INTEGER_RANGES: Partial<Record<NumberColumn, readonly [number, number]>> = {
  id: EXACT,
  latency_ms: EXACT,
  prompt_version: INT32,
  input_tokens: INT32,
  output_tokens: INT32,
  tokens: INT32,
};

// Sort keys also include the times, 64-bit integer columns.
const CURSOR_RANGES: Partial<Record<string, readonly [number, number]>> = { ...INTEGER_RANGES, request_start_time: EXACT, request_end_time: EXACT };

function readNumber(v: unknown, path: string, kind: 'number' | 'time' | 'score', column?: NumberColumn): number {
  if (kind === 'time') return parseTimestamp(v, path);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidField(path, 'must be a number');
  // A score is a 32-bit integer column too.
  const range = kind === 'score' ? INT32 : column === undefined ? undefined : INTEGER_RANGES[column];
  if (range) {
    if (!Number.isInteger(v)) throw invalidField(path, 'must be a whole number');
    if (v < range[0] || v > range[1]) throw invalidField(path, `must be between ${range[0]} and ${range[1]}`);
  }
  return v;
}

function readString(v: unknown, path: string, max: number = FILTER_LIMITS.textValue): string {
  if (typeof v !== 'string') throw invalidField(path, 'must be a string');
  if (v.length > max) throw invalidField(path, `must be at most ${max} characters`);
  return v;
}

function readList<T>(v: unknown, path: string, read: (x: unknown, p: string) => T): T[] {
  if (!Array.isArray(v) || v.length === 0) throw invalidField(path, 'must be a non-empty array');
  if (v.length > FILTER_LIMITS.listValues) throw invalidField(path, `must have at most ${FILTER_LIMITS.listValues} values`);
  return v.map((x, i) => read(x, `${path}.${i}`));
}

function noValue(v: unknown, path: string, op: string): void {
  if (v !== undefined && v !== null) throw invalidField(path, `takes no value with op "${op}"`);
}

/** Builds a number test from a normalized operator and its raw value (tested against `column`, if given). */
export function numberTest(op: string, value: unknown, path: string, kind: 'number' | 'time' | 'score', column?: NumberColumn): NumberTest {
  switch (op) {
    case 'eq':
    case 'neq':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return { op, value: readNumber(value, path, kind, column) };
    case 'between': {
      if (!Array.isArray(value) || value.length !== 2) throw invalidField(path, 'must be an array [min, max] for "between"');
      const min = readNumber(value[0], `${path}.0`, kind, column);
      const max = readNumber(value[1], `${path}.1`, kind, column);
      if (min > max) throw invalidField(path, 'min must not be greater than max');
      return { op, min, max };
    }
    case 'in':
    case 'not_in':
      return { op, values: readList(value, path, (x, p) => readNumber(x, p, kind, column)) };
    case 'exists':
    case 'not_exists':
      noValue(value, path, op);
      return { op };
    default:
      throw new Error(`unreachable number op ${op}`);
  }
}

/** Builds a string test from a normalized operator and its raw value. */
export function stringTest(op: string, value: unknown, path: string, column?: StringColumn): StringTest {
  const read = (x: unknown, p: string): string => {
    const s = readString(x, p);
    if (column !== 'status') return s;
    // Status is an enum: a typo would silently match nothing, so it is refused instead.
    const upper = s.toUpperCase();
    if (!STATUS_VALUES.includes(upper)) throw invalidField(p, `must be one of ${STATUS_VALUES.join(', ')}`);
    return upper;
  };
  switch (op) {
    case 'eq':
    case 'neq':
    case 'contains':
    case 'not_contains':
    case 'starts_with':
    case 'ends_with':
      return { op, value: read(value, path) };
    case 'in':
    case 'not_in':
      return { op, values: readList(value, path, read) };
    case 'exists':
    case 'not_exists':
      noValue(value, path, op);
      return { op };
    default:
      throw new Error(`unreachable string op ${op}`);
  }
}

/** Builds a tags condition; `any`/`all`/`none` take a list (or one tag), `empty`/`not_empty` none. */
export function tagsCondition(match: TagMatch, value: unknown, path: string): FilterCondition {
  if (match === 'empty' || match === 'not_empty') {
    noValue(value, path, match);
    return { kind: 'tags', match, tags: [] };
  }
  const tags = typeof value === 'string' ? [value] : readList(value, path, (x, p) => readString(x, p));
  return { kind: 'tags', match, tags: [...new Set(tags)] };
}

/** A name given for a score (`default` when absent); 1..512 characters. */
export function filterScoreName(v: unknown, path: string): string {
  if (v === undefined || v === null) return DEFAULT_SCORE_NAME;
  const s = readString(v, path, 512);
  if (s.length === 0) throw invalidField(path, 'must not be empty');
  return s;
}

// ---------------------------------------------------------------------------------------------
// Native filter parsing

const GROUP_KEYS = new Set(['logic', 'filters']);
const CONDITION_KEYS = new Set(['field', 'op', 'value', 'name', 'key']);

interface Budget {
  conditions: number;
}

/** Reads `and` / `or` in any case (PromptLayer sends `AND`). */
export function readLogic(v: unknown, path: string): 'and' | 'or' {
  if (v === undefined) return 'and';
  if (typeof v === 'string') {
    const l = v.toLowerCase();
    if (l === 'and' || l === 'or') return l;
  }
  throw invalidField(path, 'must be "and" or "or"');
}

/** Counts a condition against the per-query limit. */
export function spendCondition(budget: Budget, path: string): void {
  budget.conditions += 1;
  if (budget.conditions > FILTER_LIMITS.conditions) throw invalidField(path, `a filter may hold at most ${FILTER_LIMITS.conditions} conditions`);
}

/** Checks the nesting depth of a group. */
export function checkDepth(depth: number, path: string): void {
  if (depth > FILTER_LIMITS.depth) throw invalidField(path, `groups may nest at most ${FILTER_LIMITS.depth} deep`);
}

function parseNode(raw: unknown, path: string, depth: number, budget: Budget): RequestFilter {
  if (!isObject(raw)) throw invalidField(path, 'must be a condition { field, op, value } or a group { logic, filters }');
  if ('filters' in raw || 'logic' in raw) {
    for (const k of Object.keys(raw)) if (!GROUP_KEYS.has(k)) throw invalidField(`${path}.${k}`, 'is not a property of a filter group (logic, filters)');
    checkDepth(depth, path);
    const logic = readLogic(raw.logic, `${path}.logic`);
    if (!Array.isArray(raw.filters)) throw invalidField(`${path}.filters`, 'must be an array');
    return { kind: 'group', logic, filters: raw.filters.map((f, i) => parseNode(f, `${path}.filters.${i}`, depth + 1, budget)) };
  }
  for (const k of Object.keys(raw)) if (!CONDITION_KEYS.has(k)) throw invalidField(`${path}.${k}`, 'is not a property of a filter condition (field, op, value, name, key)');
  spendCondition(budget, path);
  return parseCondition(raw, path);
}

function parseCondition(raw: Record<string, unknown>, path: string): FilterCondition {
  if (typeof raw.field !== 'string') throw invalidField(`${path}.field`, 'is required');
  const spec = lookup(FILTER_FIELDS, raw.field);
  if (!spec) throw invalidField(`${path}.field`, `unknown field "${raw.field}"; known: ${Object.keys(FILTER_FIELDS).join(', ')}`);
  if (typeof raw.op !== 'string') throw invalidField(`${path}.op`, 'is required');
  const op = normalizeOp(raw.op);
  const allowed = opsFor(spec.kind);
  if (!allowed.includes(op)) throw invalidField(`${path}.op`, `unknown operator "${raw.op}" for field "${raw.field}"; allowed: ${allowed.join(', ')}`);
  const valuePath = `${path}.value`;
  if (raw.name !== undefined && spec.kind !== 'score' && spec.kind !== 'reason') throw invalidField(`${path}.name`, 'is only for fields "score" and "reason"');
  if (raw.key !== undefined && spec.kind !== 'metadata') throw invalidField(`${path}.key`, 'is only for field "metadata"');

  switch (spec.kind) {
    case 'score':
      return { kind: 'score', name: filterScoreName(raw.name, `${path}.name`), test: numberTest(op, raw.value, valuePath, 'score') };
    case 'reason':
      return reasonCondition(filterScoreName(raw.name, `${path}.name`), op, raw.value, valuePath);
    case 'number':
    case 'time':
      return { kind: 'number', column: spec.column as NumberColumn, test: numberTest(op, raw.value, valuePath, spec.kind, spec.column as NumberColumn) };
    case 'string':
      return { kind: 'string', column: spec.column as StringColumn, test: stringTest(op, raw.value, valuePath, spec.column as StringColumn) };
    case 'metadata': {
      if (typeof raw.key !== 'string' || raw.key.length === 0) throw invalidField(`${path}.key`, 'is required for field "metadata"');
      return { kind: 'metadata', key: readString(raw.key, `${path}.key`), test: stringTest(op, raw.value, valuePath) };
    }
    case 'tags':
      return tagsCondition(op as TagMatch, raw.value, valuePath);
    case 'text':
      return textCondition(spec.target ?? 'any', op as 'contains' | 'not_contains', raw.value, valuePath);
  }
}

/** A reason condition: `eq` / `neq` one reason, `in` / `not_in` a list. */
export function reasonCondition(name: string, op: string, value: unknown, path: string): FilterCondition {
  if (!(REASON_OPS as readonly string[]).includes(op)) throw invalidField(path, `unknown operator "${op}" for a reason; allowed: ${REASON_OPS.join(', ')}`);
  return { kind: 'reason', name, test: stringTest(op, value, path) as ReasonTest };
}

/** A substring test of input and/or output: a term of 1 to FILTER_LIMITS.textTerm characters. */
export function textCondition(target: 'input' | 'output' | 'any', op: 'contains' | 'not_contains', raw: unknown, path: string): FilterCondition {
  if (typeof raw !== 'string' || raw.length === 0) throw invalidField(path, 'must be a non-empty string');
  if (raw.length > FILTER_LIMITS.textTerm) throw invalidField(path, `must be at most ${FILTER_LIMITS.textTerm} characters (a text search term)`);
  return { kind: 'text', target, op, value: raw };
}

/** Refuses a filter with more text conditions than FILTER_LIMITS.textConditions, naming `path`. */
export function checkTextConditions(filter: RequestFilter | null, path: string): void {
  const count = (f: RequestFilter): number => (f.kind === 'group' ? f.filters.reduce((n, c) => n + count(c), 0) : f.kind === 'text' ? 1 : 0);
  if (filter !== null && count(filter) > FILTER_LIMITS.textConditions) {
    throw invalidField(path, `a filter may hold at most ${FILTER_LIMITS.textConditions} text conditions (text, input, output)`);
  }
}

/**
 * Parses a native filter node (see the module comment). `path` prefixes every error, so a bad
 * operator deep in a group reads `filter.filters.1.op: unknown operator "~"`.
 */
export function parseFilter(raw: unknown, path = 'filter'): RequestFilter {
  const filter = parseNode(raw, path, 1, { conditions: 0 });
  checkTextConditions(filter, path);
  return filter;
}

/** A text search over input and output, as `q` gives it; null for an absent or blank query. */
export function textQuery(q: string | undefined | null, path = 'q'): RequestFilter | null {
  if (q === undefined || q === null || q.trim() === '') return null;
  return textCondition('any', 'contains', q, path);
}

// ---------------------------------------------------------------------------------------------
// Sorting and cursors

export type SortColumn = 'request_start_time' | 'latency_ms' | 'price' | 'tokens' | 'input_tokens' | 'output_tokens' | 'status' | 'id';
export type SortKey = { kind: 'column'; column: SortColumn } | { kind: 'score'; name: string };
export interface SortSpec {
  key: SortKey;
  order: 'asc' | 'desc';
}

export const DEFAULT_SORT: SortSpec = { key: { kind: 'column', column: 'request_start_time' }, order: 'desc' };

const SORT_COLUMNS: Record<string, SortColumn> = {
  request_start_time: 'request_start_time',
  time: 'request_start_time',
  latency_ms: 'latency_ms',
  latency: 'latency_ms',
  price: 'price',
  cost: 'price',
  tokens: 'tokens',
  input_tokens: 'input_tokens',
  output_tokens: 'output_tokens',
  status: 'status',
  id: 'id',
};

/**
 * Reads `sort_by` and `sort_order`. Sort keys: `request_start_time` (default), `latency_ms`, `cost`
 * (or `price`), `tokens`, `input_tokens`, `output_tokens`, `status`, `id`, `score` (the `default`
 * score) or `score.NAME`. Order `asc` or `desc` (default). Requests without the sorted score always
 * come last.
 */
export function parseSort(by: string | undefined, order: string | undefined, paths = { by: 'sort_by', order: 'sort_order' }): SortSpec {
  let key: SortKey = DEFAULT_SORT.key;
  if (by !== undefined) {
    if (by === 'score') key = { kind: 'score', name: DEFAULT_SCORE_NAME };
    else if (by.startsWith('score.') && by.length > 'score.'.length) key = { kind: 'score', name: filterScoreName(by.slice('score.'.length), paths.by) };
    else {
      const column = lookup(SORT_COLUMNS, by);
      if (!column) throw invalidField(paths.by, `unknown sort key "${by}"; use ${Object.keys(SORT_COLUMNS).join(', ')}, score or score.NAME`);
      key = { kind: 'column', column };
    }
  }
  let dir: 'asc' | 'desc' = 'desc';
  if (order !== undefined) {
    const o = order.toLowerCase();
    if (o !== 'asc' && o !== 'desc') throw invalidField(paths.order, 'must be "asc" or "desc"');
    dir = o;
  }
  return { key, order: dir };
}

/** Where the previous page ended: the last row's sort value (null when it had no such score) and id. */
export interface SortPosition {
  value: number | string | null;
  id: number;
}

const sortKeyText = (k: SortKey): string => (k.kind === 'score' ? `score.${k.name}` : k.column);

/**
 * The opaque cursor: base64url of JSON `{ k: sort key, o: order, v: last value, i: last id }`.
 * Carrying the sort lets a cursor used with another sort be refused instead of paging wrongly.
 */
export function encodeCursor(sort: SortSpec, pos: SortPosition): string {
  return Buffer.from(JSON.stringify({ k: sortKeyText(sort.key), o: sort.order, v: pos.value, i: pos.id })).toString('base64url');
}

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,2048}$/;

/** Decodes a cursor made by `encodeCursor` for the same sort; anything else is a 400 naming `field`. */
export function decodeCursor(cursor: string, sort: SortSpec, field = 'cursor'): SortPosition {
  const bad = () => invalidField(field, 'is not a cursor this server issued (pass next_cursor back unchanged)');
  if (!CURSOR_TEXT.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!isObject(parsed)) throw bad();
  const { k, o, v, i } = parsed;
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) throw bad();
  const valueOk = v === null || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string';
  if (!valueOk) throw bad();
  if (k !== sortKeyText(sort.key) || o !== sort.order) throw invalidField(field, 'was issued for another sort_by or sort_order');
  const isScore = sort.key.kind === 'score';
  const isText = sort.key.kind === 'column' && sort.key.column === 'status';
  if ((v === null && !isScore) || (typeof v === 'string' && !isText) || (typeof v === 'number' && isText)) throw bad();
  // An integer sort key's value, compared with its column in SQL, must fit it (see INTEGER_RANGES).
  const range = isScore ? INT32 : sort.key.kind === 'column' ? (CURSOR_RANGES[sort.key.column] ?? null) : null;
  if (typeof v === 'number' && range && (!Number.isInteger(v) || v < range[0] || v > range[1])) throw bad();
  return { value: v as number | string | null, id: i };
}
