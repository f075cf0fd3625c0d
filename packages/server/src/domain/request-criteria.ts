import { invalidField } from './errors.js';
import { queryTime } from './search-params.js';
import { allOf, type FilterCondition, type RequestFilter } from './search-query.js';

/**
 * A compare cohort's criteria as query parameters (`a.model`, `b.prompt_version`, ...), turned into the
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
  const time = (v: string | number, field: string) => queryTime(String(v), field);
  const fromMs = c.from === undefined ? undefined : time(c.from, `${prefix}from`);
  const toMs = c.to === undefined ? undefined : time(c.to, `${prefix}to`);
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw invalidField(`${prefix}to`, `must be after ${prefix}from`);
  if (fromMs !== undefined) parts.push({ kind: 'number', column: 'request_start_time', test: { op: 'gte', value: fromMs } });
  if (toMs !== undefined) parts.push({ kind: 'number', column: 'request_start_time', test: { op: 'lt', value: toMs } });
  return allOf(...parts);
}
