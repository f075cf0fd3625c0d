import { invalidField } from './errors.js';
import { allOf, parseFilter, textQuery, type FilterCondition, type RequestFilter } from './search-query.js';
import { parseTimestamp } from './timestamps.js';

/**
 * Simple request criteria as query parameters (statistics and compare's cohorts), turned into the
 * shared filter model so that they mean exactly what the same filters mean in search.
 */
export interface RequestCriteria {
  prompt_name?: string | undefined;
  prompt_version?: number | undefined;
  model?: string | undefined;
  tag?: string | undefined;
  /** Request start time, inclusive: epoch seconds or ISO 8601. */
  from?: string | number | undefined;
  /** Request start time, exclusive. */
  to?: string | number | undefined;
}

export const CRITERIA_FIELDS = ['prompt_name', 'prompt_version', 'model', 'tag', 'from', 'to'] as const;

/** `prefix` names the parameters in errors, e.g. `a.` for `a.from`. Null when no criterion is given. */
export function criteriaFilter(c: RequestCriteria, prefix = ''): RequestFilter | null {
  const parts: FilterCondition[] = [];
  if (c.prompt_name !== undefined) parts.push({ kind: 'string', column: 'prompt_name', test: { op: 'eq', value: c.prompt_name } });
  if (c.prompt_version !== undefined) parts.push({ kind: 'number', column: 'prompt_version', test: { op: 'eq', value: c.prompt_version } });
  if (c.model !== undefined) parts.push({ kind: 'string', column: 'model', test: { op: 'eq', value: c.model } });
  if (c.tag !== undefined) parts.push({ kind: 'tags', match: 'any', tags: [c.tag] });
  // Query strings carry text: a number-looking `from` is epoch seconds, anything else ISO 8601.
  const time = (v: string | number, field: string) => parseTimestamp(typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v, field);
  const fromMs = c.from === undefined ? undefined : time(c.from, `${prefix}from`);
  const toMs = c.to === undefined ? undefined : time(c.to, `${prefix}to`);
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw invalidField(`${prefix}to`, `must be after ${prefix}from`);
  if (fromMs !== undefined) parts.push({ kind: 'number', column: 'request_start_time', test: { op: 'gte', value: fromMs } });
  if (toMs !== undefined) parts.push({ kind: 'number', column: 'request_start_time', test: { op: 'lt', value: toMs } });
  return allOf(...parts);
}

/**
 * The search filters a GET endpoint takes: `filter`, a native filter node as JSON text (see
 * search-query.ts), and `q`, text over input and output.
 */
export function queryFilter(filterJson: string | undefined, q: string | undefined): RequestFilter | null {
  let node: RequestFilter | null = null;
  if (filterJson !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(filterJson);
    } catch {
      throw invalidField('filter', 'must be a JSON filter node, e.g. {"field":"model","op":"=","value":"gpt-4o"}');
    }
    node = parseFilter(raw, 'filter');
  }
  return allOf(node, textQuery(q, 'q'));
}
