/**
 * The request filters as the URL holds them. They are exactly the query parameters of
 * `GET /v1/requests/search` and `/v1/requests/export`, so a bookmarked view, the table and an export
 * always mean the same thing.
 */
export interface ScoreFilterRow {
  name: string;
  mode: 'range' | 'unscored' | 'scored';
  min: string;
  max: string;
}

export interface FilterState {
  q: string;
  provider: string;
  model: string;
  prompt_name: string;
  prompt_version: string;
  status: string;
  tags: string;
  tag_match: 'any' | 'all';
  metadata_key: string;
  metadata_value: string;
  from: string;
  to: string;
  min_latency_ms: string;
  max_latency_ms: string;
  min_cost: string;
  max_cost: string;
  min_tokens: string;
  max_tokens: string;
  scores: ScoreFilterRow[];
}

const SIMPLE = ['q', 'provider', 'model', 'prompt_name', 'prompt_version', 'status', 'min_latency_ms', 'max_latency_ms', 'min_cost', 'max_cost', 'min_tokens', 'max_tokens'] as const;

export const emptyFilters = (): FilterState => ({
  q: '',
  provider: '',
  model: '',
  prompt_name: '',
  prompt_version: '',
  status: '',
  tags: '',
  tag_match: 'all',
  metadata_key: '',
  metadata_value: '',
  from: '',
  to: '',
  min_latency_ms: '',
  max_latency_ms: '',
  min_cost: '',
  max_cost: '',
  min_tokens: '',
  max_tokens: '',
  scores: [],
});

// datetime-local inputs hold local time without a zone; the API takes ISO 8601 with one.
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso: string) => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

export function filtersFromQuery(q: URLSearchParams): FilterState {
  const f = emptyFilters();
  for (const k of SIMPLE) f[k] = q.get(k) ?? '';
  f.tags = q.getAll('tag').join(', ');
  f.tag_match = q.get('tag_match') === 'any' ? 'any' : 'all';
  for (const [k, v] of q) {
    if (k.startsWith('metadata.')) {
      f.metadata_key = k.slice('metadata.'.length);
      f.metadata_value = v;
    }
    if (k.startsWith('score.')) {
      const name = k.slice('score.'.length);
      const row: ScoreFilterRow = { name, mode: 'range', min: '', max: '' };
      const [op, rest = ''] = v.includes(':') ? [v.slice(0, v.indexOf(':')), v.slice(v.indexOf(':') + 1)] : ['eq', v];
      if (op === 'between') [row.min = '', row.max = ''] = rest.split(',');
      else if (op === 'gte') row.min = rest;
      else if (op === 'lte') row.max = rest;
      else if (op === 'eq') row.min = row.max = rest;
      f.scores.push(row);
    }
  }
  for (const name of q.getAll('no_score')) f.scores.push({ name, mode: 'unscored', min: '', max: '' });
  for (const name of q.getAll('has_score')) f.scores.push({ name, mode: 'scored', min: '', max: '' });
  if (!f.metadata_key) {
    const has = q.get('has_metadata');
    if (has) f.metadata_key = has;
  }
  f.from = q.get('from') ? toLocal(q.get('from')!) : '';
  f.to = q.get('to') ? toLocal(q.get('to')!) : '';
  return f;
}

/** The filter as API query parameters (no sort, no cursor). */
export function filtersToQuery(f: FilterState): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of SIMPLE) if (f[k].trim()) q.set(k, f[k].trim());
  const tags = f.tags.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of tags) q.append('tag', t);
  if (tags.length > 1 && f.tag_match === 'any') q.set('tag_match', 'any');
  if (f.metadata_key.trim()) {
    if (f.metadata_value !== '') q.set(`metadata.${f.metadata_key.trim()}`, f.metadata_value);
    else q.append('has_metadata', f.metadata_key.trim());
  }
  if (f.from) q.set('from', toIso(f.from));
  if (f.to) q.set('to', toIso(f.to));
  for (const s of f.scores) {
    const name = s.name.trim();
    if (!name) continue;
    if (s.mode === 'unscored') q.append('no_score', name);
    else if (s.mode === 'scored') q.append('has_score', name);
    else if (s.min !== '' && s.max !== '') q.append(`score.${name}`, s.min === s.max ? `eq:${s.min}` : `between:${s.min},${s.max}`);
    else if (s.min !== '') q.append(`score.${name}`, `gte:${s.min}`);
    else if (s.max !== '') q.append(`score.${name}`, `lte:${s.max}`);
    else q.append('has_score', name);
  }
  return q;
}

/** The filter part of a page's query string (drops sort, cursor and page-only keys). */
export function filterOnly(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of q) if (!['sort_by', 'sort_order', 'cursor', 'name', 'i'].includes(k)) out.append(k, v);
  return out;
}

/** Score names the filter mentions, so their columns show even when the page has none. */
export function scoreNamesInQuery(q: URLSearchParams): string[] {
  const names = new Set<string>();
  for (const [k, v] of q) {
    if (k.startsWith('score.')) names.add(k.slice(6));
    if (k === 'no_score' || k === 'has_score') names.add(v);
    if (k === 'sort_by' && v.startsWith('score.')) names.add(v.slice(6));
  }
  return [...names];
}
