/**
 * The query-parameter form of the search filters (`GET /v1/requests/search`, `GET
 * /v1/requests/export`): simple, AND-combined parameters for the common cases, plus `filter` (a
 * native filter node as JSON) for anything else. Pure: no I/O.
 */
import { invalidField } from './errors.js';
import {
  allOf,
  normalizeOp,
  numberTest,
  parseFilter,
  reasonCondition,
  stringTest,
  tagsCondition,
  textQuery,
  type FilterCondition,
  type RequestFilter,
  type StringColumn,
} from './search-query.js';
import { parseTimestamp } from './timestamps.js';

/** The simple parameters; repeatable ones arrive as arrays. */
export interface SearchParams {
  filter?: string | undefined;
  q?: string | undefined;
  provider?: string[] | undefined;
  model?: string[] | undefined;
  function_name?: string[] | undefined;
  prompt_name?: string[] | undefined;
  prompt_version?: number[] | undefined;
  status?: string[] | undefined;
  tag?: string[] | undefined;
  tag_match?: 'any' | 'all' | undefined;
  has_metadata?: string[] | undefined;
  has_score?: string[] | undefined;
  no_score?: string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  min_latency_ms?: number | undefined;
  max_latency_ms?: number | undefined;
  min_cost?: number | undefined;
  max_cost?: number | undefined;
  min_tokens?: number | undefined;
  max_tokens?: number | undefined;
}

const SCORE_PREFIX = 'score.';
const REASON_PREFIX = 'reason.';
const METADATA_PREFIX = 'metadata.';

/** Query strings carry text: a number-looking time is epoch seconds, anything else ISO 8601. */
export function queryTime(v: string, field: string): number {
  return parseTimestamp(/^\d+(\.\d+)?$/.test(v) ? Number(v) : v, field);
}

/** A JSON filter node given as a query parameter. */
export function jsonFilterParam(text: string, field = 'filter'): RequestFilter {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalidField(field, 'must be a JSON filter node, e.g. {"field":"model","op":"=","value":"gpt-4o"}');
  }
  return parseFilter(raw, field);
}

/**
 * One `score.NAME` value: `OP:VALUE` with OP one of eq, neq, lt, lte, gt, gte (or =, !=, <, <=, >,
 * >=), `between:LO,HI`, `exists`, `not_exists`, or a bare number meaning equal.
 */
export function scoreParam(name: string, text: string, field: string): FilterCondition {
  if (/^-?\d+(\.\d+)?$/.test(text)) return { kind: 'score', name, test: { op: 'eq', value: Number(text) } };
  const colon = text.indexOf(':');
  const rawOp = colon === -1 ? text : text.slice(0, colon);
  const rest = colon === -1 ? undefined : text.slice(colon + 1);
  const op = normalizeOp(rawOp);
  const num = (s: string, p: string): number => {
    if (!/^-?\d+(\.\d+)?$/.test(s)) throw invalidField(p, `"${s}" is not a number`);
    return Number(s);
  };
  switch (op) {
    case 'exists':
    case 'not_exists':
      if (rest !== undefined) throw invalidField(field, `"${op}" takes no value`);
      return { kind: 'score', name, test: { op } };
    case 'eq':
    case 'neq':
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return { kind: 'score', name, test: numberTest(op, num(rest ?? '', field), field, 'score') };
    case 'between': {
      const parts = (rest ?? '').split(',');
      if (parts.length !== 2) throw invalidField(field, 'between takes two numbers: between:LO,HI');
      return { kind: 'score', name, test: numberTest('between', parts.map((p) => num(p, field)), field, 'score') };
    }
    default:
      throw invalidField(field, `unknown operator "${rawOp}"; use eq, neq, lt, lte, gt, gte, between, exists or not_exists, e.g. gte:80`);
  }
}

function columnIn(column: StringColumn, values: string[] | undefined, field: string): FilterCondition | null {
  if (!values || values.length === 0) return null;
  const test = values.length === 1 ? stringTest('eq', values[0], field, column) : stringTest('in', values, field, column);
  return { kind: 'string', column, test };
}

function range(column: 'latency_ms' | 'price' | 'tokens', min: number | undefined, max: number | undefined): FilterCondition[] {
  const out: FilterCondition[] = [];
  if (min !== undefined) out.push({ kind: 'number', column, test: { op: 'gte', value: min } });
  if (max !== undefined) out.push({ kind: 'number', column, test: { op: 'lte', value: max } });
  return out;
}

/**
 * Turns the search parameters into one filter (all AND-combined); null when none is given.
 * `raw` is the whole query object, for the `score.NAME` and `metadata.KEY` families.
 */
export function filterFromParams(p: SearchParams, raw: Record<string, unknown>): RequestFilter | null {
  const parts: (RequestFilter | null)[] = [];
  if (p.filter !== undefined) parts.push(jsonFilterParam(p.filter));
  parts.push(textQuery(p.q, 'q'));
  parts.push(columnIn('provider', p.provider, 'provider'));
  parts.push(columnIn('model', p.model, 'model'));
  parts.push(columnIn('function_name', p.function_name, 'function_name'));
  parts.push(columnIn('prompt_name', p.prompt_name, 'prompt_name'));
  parts.push(columnIn('status', p.status, 'status'));
  if (p.prompt_version && p.prompt_version.length > 0) {
    parts.push({ kind: 'number', column: 'prompt_version', test: numberTest('in', p.prompt_version, 'prompt_version', 'number', 'prompt_version') });
  }
  if (p.tag && p.tag.length > 0) parts.push(tagsCondition(p.tag_match ?? 'all', p.tag, 'tag'));
  for (const key of p.has_metadata ?? []) parts.push({ kind: 'metadata', key, test: { op: 'exists' } });
  for (const name of p.has_score ?? []) parts.push({ kind: 'score', name, test: { op: 'exists' } });
  for (const name of p.no_score ?? []) parts.push({ kind: 'score', name, test: { op: 'not_exists' } });

  const fromMs = p.from === undefined ? undefined : queryTime(p.from, 'from');
  const toMs = p.to === undefined ? undefined : queryTime(p.to, 'to');
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw invalidField('to', 'must be after from');
  if (fromMs !== undefined) parts.push({ kind: 'number', column: 'request_start_time', test: { op: 'gte', value: fromMs } });
  if (toMs !== undefined) parts.push({ kind: 'number', column: 'request_start_time', test: { op: 'lt', value: toMs } });
  parts.push(...range('latency_ms', p.min_latency_ms, p.max_latency_ms));
  parts.push(...range('price', p.min_cost, p.max_cost));
  parts.push(...range('tokens', p.min_tokens, p.max_tokens));

  for (const [param, value] of Object.entries(raw)) {
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    if (param.startsWith(SCORE_PREFIX)) {
      const name = param.slice(SCORE_PREFIX.length);
      if (name.length === 0) throw invalidField(param, 'name the score: score.NAME=OP:VALUE');
      for (const v of values) parts.push(scoreParam(name, v, param));
    } else if (param.startsWith(REASON_PREFIX)) {
      // `reason.NAME=R` (repeatable: every reason given must be there).
      const name = param.slice(REASON_PREFIX.length);
      if (name.length === 0) throw invalidField(param, 'name the score: reason.NAME=REASON');
      for (const v of values) parts.push(reasonCondition(name, 'eq', v, param));
    } else if (param.startsWith(METADATA_PREFIX)) {
      const key = param.slice(METADATA_PREFIX.length);
      if (key.length === 0) throw invalidField(param, 'name the key: metadata.KEY=VALUE');
      const test = values.length === 1 ? stringTest('eq', values[0], param) : stringTest('in', values, param);
      parts.push({ kind: 'metadata', key, test });
    }
  }
  return allOf(...parts);
}
