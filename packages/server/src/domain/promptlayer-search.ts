/**
 * PromptLayer's request search (`POST /api/public/v2/requests/search`) read into the shared filter
 * model, so it means exactly what the native search means. Pure: no I/O.
 *
 * Field mapping (PromptLayer name -> Tally): `engine`/`model` -> model, `provider_type`/`provider`
 * -> provider, `prompt_name`, `prompt_version`, `function_name`, `status`, `error_type`,
 * `input_tokens`, `output_tokens`, `tokens`, `cost`/`price`, `latency_ms`, `request_start_time`,
 * `request_end_time`, `id`/`request_id`, `tags`/`tags_array`, `metadata` (key in `nested_key`),
 * `score`/`scores` (name in `nested_key`, `default` when absent; a Tally extension), and
 * `input`/`output`/`text` (substring of the logged input/output).
 */
import { invalidField } from './errors.js';
import { lookup } from './lookup.js';
import { DEFAULT_SCORE_NAME } from './score.js';
import {
  allOf,
  checkDepth,
  filterScoreName,
  reasonCondition,
  FILTER_FIELDS,
  normalizeOp,
  numberTest,
  readLogic,
  spendCondition,
  stringTest,
  tagsCondition,
  checkTextConditions,
  textCondition,
  textQuery,
  parseSort,
  type FieldKind,
  type FilterCondition,
  type NumberColumn,
  type RequestFilter,
  type SortSpec,
  type StringColumn,
} from './search-query.js';

/** PromptLayer field names that differ from Tally's (the rest are Tally's names, see search-query.ts). */
const FIELD_ALIASES: Record<string, string> = {
  engine: 'model',
  provider_type: 'provider',
  tags_array: 'tags',
  request_id: 'id',
  scores: 'score',
  prompt_version_number: 'prompt_version',
  total_tokens: 'tokens',
};

// PromptLayer operators per kind of field, mapped to Tally's.
const STRING_OPS: Record<string, string> = {
  is: 'eq',
  eq: 'eq',
  is_not: 'neq',
  neq: 'neq',
  in: 'in',
  not_in: 'not_in',
  contains: 'contains',
  not_contains: 'not_contains',
  starts_with: 'starts_with',
  ends_with: 'ends_with',
  is_empty: 'not_exists',
  is_null: 'not_exists',
  is_not_empty: 'exists',
  is_not_null: 'exists',
};
const METADATA_OPS: Record<string, string> = { ...STRING_OPS, key_equals: 'eq', key_not_equals: 'neq', key_contains: 'contains' };
const NUMBER_OPS: Record<string, string> = {
  is: 'eq',
  eq: 'eq',
  is_not: 'neq',
  neq: 'neq',
  gt: 'gt',
  gte: 'gte',
  lt: 'lt',
  lte: 'lte',
  between: 'between',
  in: 'in',
  not_in: 'not_in',
  before: 'lt',
  after: 'gt',
  is_null: 'not_exists',
  is_empty: 'not_exists',
  is_not_null: 'exists',
  is_not_empty: 'exists',
};
const REASON_OPS: Record<string, string> = { is: 'eq', eq: 'eq', is_not: 'neq', neq: 'neq', in: 'in', not_in: 'not_in' };
const TAG_OPS: Record<string, 'any' | 'all' | 'none' | 'empty' | 'not_empty'> = {
  in: 'any',
  is: 'any',
  contains: 'any',
  not_in: 'none',
  is_not: 'none',
  not_contains: 'none',
  is_empty: 'empty',
  is_null: 'empty',
  is_not_empty: 'not_empty',
  is_not_null: 'not_empty',
};
const TEXT_OPS: Record<string, 'contains' | 'not_contains'> = { contains: 'contains', not_contains: 'not_contains' };

function opTable(kind: FieldKind): Record<string, string> {
  switch (kind) {
    case 'string':
      return STRING_OPS;
    case 'metadata':
      return METADATA_OPS;
    case 'number':
    case 'time':
    case 'score':
      return NUMBER_OPS;
    case 'reason':
      return REASON_OPS;
    case 'tags':
      return TAG_OPS;
    case 'text':
      return TEXT_OPS;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function condition(raw: Record<string, unknown>, path: string): FilterCondition {
  if (typeof raw.field !== 'string') throw invalidField(`${path}.field`, 'is required');
  const name = lookup(FIELD_ALIASES, raw.field) ?? raw.field;
  const spec = lookup(FILTER_FIELDS, name);
  if (!spec) throw invalidField(`${path}.field`, `unknown field "${raw.field}"`);
  if (typeof raw.operator !== 'string') throw invalidField(`${path}.operator`, 'is required');
  const table = opTable(spec.kind);
  const op = lookup(table, normalizeOp(raw.operator));
  if (!op) throw invalidField(`${path}.operator`, `unknown operator "${raw.operator}" for field "${raw.field}"; allowed: ${Object.keys(table).join(', ')}`);
  const valuePath = `${path}.value`;
  // Null-check operators carry no value; clients often send one anyway.
  const value = op === 'exists' || op === 'not_exists' || op === 'empty' || op === 'not_empty' ? undefined : raw.value;

  switch (spec.kind) {
    case 'string':
      return { kind: 'string', column: spec.column as StringColumn, test: stringTest(op, value, valuePath, spec.column as StringColumn) };
    case 'number':
    case 'time':
      return { kind: 'number', column: spec.column as NumberColumn, test: numberTest(op, value, valuePath, spec.kind, spec.column as NumberColumn) };
    case 'score':
      return { kind: 'score', name: filterScoreName(raw.nested_key, `${path}.nested_key`), test: numberTest(op, value, valuePath, 'score') };
    case 'reason':
      return reasonCondition(filterScoreName(raw.nested_key, `${path}.nested_key`), op, value, valuePath);
    case 'metadata': {
      if (typeof raw.nested_key !== 'string' || raw.nested_key.length === 0) throw invalidField(`${path}.nested_key`, 'is required for metadata: the metadata key');
      return { kind: 'metadata', key: raw.nested_key, test: stringTest(op, value, valuePath) };
    }
    case 'tags': {
      // `contains` with a list means "has all of these"; with one tag, "has this tag".
      const match = op === 'any' && raw.operator === 'contains' && Array.isArray(value) ? 'all' : (op as 'any' | 'none' | 'empty' | 'not_empty');
      return tagsCondition(match, value, valuePath);
    }
    case 'text':
      return textCondition(spec.target ?? 'any', op as 'contains' | 'not_contains', value, valuePath);
  }
}

function node(raw: unknown, path: string, depth: number, budget: { conditions: number }): RequestFilter {
  if (!isObject(raw)) throw invalidField(path, 'must be a filter { field, operator, value } or a group { logic, filters }');
  if ('filters' in raw) {
    checkDepth(depth, path);
    const logic = readLogic(raw.logic, `${path}.logic`);
    if (!Array.isArray(raw.filters)) throw invalidField(`${path}.filters`, 'must be an array');
    return { kind: 'group', logic, filters: raw.filters.map((f, i) => node(f, `${path}.filters.${i}`, depth + 1, budget)) };
  }
  spendCondition(budget, path);
  return condition(raw, path);
}

/** Reads a PromptLayer `filter_group` (nestable `{ logic, filters }`). */
export function promptLayerFilter(raw: unknown, path = 'filter_group'): RequestFilter {
  const filter = node(raw, path, 1, { conditions: 0 });
  checkTextConditions(filter, path);
  return filter;
}

const LEGACY_SCORE_OPS: Record<string, 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte'> = { '=': 'eq', '==': 'eq', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' };

/** The older dataset filter `scores: [{ name, operator, value }]`, all of which must hold. */
export function legacyScoreFilters(scores: { name?: string | null | undefined; operator: string; value: number }[], path = 'scores'): RequestFilter | null {
  const parts = scores.map((s, i): FilterCondition => {
    const op = lookup(LEGACY_SCORE_OPS, s.operator) ?? Object.values(LEGACY_SCORE_OPS).find((o) => o === s.operator);
    if (!op) throw invalidField(`${path}.${i}.operator`, `unknown operator "${s.operator}"; use >, <, >=, <=, = or !=`);
    return { kind: 'score', name: filterScoreName(s.name, `${path}.${i}.name`), test: numberTest(op, s.value, `${path}.${i}.value`, 'score') };
  });
  return allOf(...parts);
}

export interface PromptLayerSearchBody {
  filter_group?: unknown;
  q?: string | null | undefined;
  sort_by?: string | null | undefined;
  sort_order?: string | null | undefined;
  score_name?: string | null | undefined;
  scores?: { name?: string | null | undefined; operator: string; value: number }[] | null | undefined;
}

const PL_SORT_KEYS: Record<string, string> = {
  request_start_time: 'request_start_time',
  input_tokens: 'input_tokens',
  output_tokens: 'output_tokens',
  cost: 'cost',
  price: 'cost',
  latency_ms: 'latency_ms',
  status: 'status',
  tokens: 'tokens',
};

/**
 * The whole search body as one filter and one sort. `sort_by: "score"` sorts by the score named
 * `score_name`, or `default` when none is given; unscored requests come last either way.
 */
export function readPromptLayerSearch(body: PromptLayerSearchBody): { filter: RequestFilter | null; sort: SortSpec } {
  const filter = allOf(
    body.filter_group === undefined || body.filter_group === null ? null : promptLayerFilter(body.filter_group),
    textQuery(body.q, 'q'),
    body.scores ? legacyScoreFilters(body.scores) : null,
  );
  const paths = { by: 'sort_by', order: 'sort_order' };
  let by: string | undefined;
  if (body.sort_by === 'score') by = `score.${filterScoreName(body.score_name ?? DEFAULT_SCORE_NAME, 'score_name')}`;
  else if (body.sort_by !== undefined && body.sort_by !== null) {
    by = lookup(PL_SORT_KEYS, body.sort_by);
    if (!by) throw invalidField('sort_by', `unknown sort key "${body.sort_by}"; use ${Object.keys(PL_SORT_KEYS).join(', ')} or score`);
  }
  return { filter, sort: parseSort(by, body.sort_order ?? undefined, paths) };
}
