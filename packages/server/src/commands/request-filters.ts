/**
 * The search filters as CLI flags, shared by `tally requests search` and `tally export`. Each flag
 * mirrors a query parameter of `GET /v1/requests/search` (`--min-latency-ms` is `min_latency_ms`,
 * `--score quality>=80` is `score.quality=gte:80`), so the flags become exactly those parameters:
 * sent as they are to a server (`--url`), or parsed here by the same domain code the route runs
 * when the command reads a store. Every mistake is reported naming the flag, before any I/O.
 */
import { Option, type Command } from 'commander';
import { invalidField, TallyError } from '../domain/errors.js';
import { filterFromParams, type SearchParams } from '../domain/search-params.js';
import { parseSort, type RequestFilter, type SortSpec } from '../domain/search-query.js';

/** The filter flags as commander hands them over (repeatable ones as arrays). */
export interface FilterFlags {
  filter?: string;
  text?: string;
  provider?: string[];
  model?: string[];
  functionName?: string[];
  promptName?: string[];
  promptVersion?: string[];
  status?: string[];
  tag?: string[];
  tagMatch?: string;
  metadata?: string[];
  hasMetadata?: string[];
  score?: string[];
  hasScore?: string[];
  withoutScore?: string[];
  from?: string;
  to?: string;
  minLatencyMs?: string;
  maxLatencyMs?: string;
  minCost?: string;
  maxCost?: string;
  minTokens?: string;
  maxTokens?: string;
  sort?: string;
  order?: string;
}

/** Query parameters as they travel: every value text, repeated parameters as arrays. */
export type QueryParams = Record<string, string | string[]>;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const many = (flags: string, description: string) => new Option(flags, description).argParser(collect);

/** Adds the filter and sort flags to a command. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .addOption(many('--provider <name>', 'provider, e.g. openai (repeat for any of several)'))
    .addOption(many('--model <name>', 'model, e.g. gpt-4o (repeatable)'))
    .addOption(many('--function-name <name>', 'logged function name (repeatable)'))
    .addOption(many('--prompt-name <name>', 'prompt template name (repeatable)'))
    .addOption(many('--prompt-version <n>', 'prompt version number (repeatable)'))
    .addOption(many('--status <status>', 'SUCCESS, WARNING or ERROR (repeatable)'))
    .addOption(many('--tag <tag>', 'tag the request carries (repeatable; all must match unless --tag-match any)'))
    .addOption(new Option('--tag-match <mode>', 'with several --tag: all (default) or any'))
    .addOption(many('--metadata <key=value>', 'metadata KEY equals VALUE (repeatable)'))
    .addOption(many('--has-metadata <key>', 'metadata KEY is present (repeatable)'))
    .addOption(many('--score <name[op]value>', 'score filter: quality>=80, quality<50, quality=90, quality!=90, or the query form quality=gte:80, quality=between:40,60, quality=exists (repeatable)'))
    .addOption(many('--has-score <name>', 'the request has a score NAME (repeatable)'))
    .addOption(many('--without-score <name>', 'the request has no score NAME (repeatable)'))
    .option('--from <time>', 'request start time, inclusive: ISO 8601 or epoch seconds')
    .option('--to <time>', 'request start time, exclusive: ISO 8601 or epoch seconds')
    .option('--min-latency-ms <ms>', 'latency at least MS milliseconds')
    .option('--max-latency-ms <ms>', 'latency at most MS milliseconds')
    .option('--min-cost <usd>', 'cost at least USD')
    .option('--max-cost <usd>', 'cost at most USD')
    .option('--min-tokens <n>', 'input plus output tokens at least N')
    .option('--max-tokens <n>', 'input plus output tokens at most N')
    .option('-q, --text <text>', 'text contained in the logged input or output (ignores ASCII case)')
    .option('--filter <json>', 'a native filter node as JSON, e.g. \'{"logic":"or","filters":[...]}\'')
    .option('--sort <field>', 'request_start_time (default), latency_ms, cost, tokens, input_tokens, output_tokens, status, id, score or score.NAME')
    .option('--order <order>', 'asc or desc (default desc)');
}

// `--score` also takes a comparison written out (`quality>=80`); the query form (`quality=gte:80`)
// passes through unchanged. Two-character operators are tried first.
const SCORE_COMPARISON = /^(.+?)(>=|<=|!=|>|<)(.*)$/;
const COMPARISON_OPS: Record<string, string> = { '>=': 'gte', '<=': 'lte', '!=': 'neq', '>': 'gt', '<': 'lt' };

function keyValue(text: string, flag: string, example: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw invalidField(flag, `"${text}" is not ${example}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function scoreFlag(text: string): [string, string] {
  const m = SCORE_COMPARISON.exec(text);
  if (m && !m[1]!.includes('=')) return [m[1]!, `${COMPARISON_OPS[m[2]!]}:${m[3]}`];
  return keyValue(text, '--score', 'NAME>=VALUE, NAME=VALUE or NAME=OP:VALUE (e.g. quality>=80)');
}

const push = (params: QueryParams, key: string, value: string) => {
  const prev = params[key];
  params[key] = prev === undefined ? [value] : [...(Array.isArray(prev) ? prev : [prev]), value];
};

/** The flags as `GET /v1/requests/search` query parameters (sort included, paging not). */
export function queryParams(f: FilterFlags): QueryParams {
  const p: QueryParams = {};
  const one = (key: string, v: string | undefined) => {
    if (v !== undefined) p[key] = v;
  };
  const list = (key: string, v: string[] | undefined) => {
    for (const x of v ?? []) push(p, key, x);
  };
  one('filter', f.filter);
  one('q', f.text);
  list('provider', f.provider);
  list('model', f.model);
  list('function_name', f.functionName);
  list('prompt_name', f.promptName);
  list('prompt_version', f.promptVersion);
  list('status', f.status);
  list('tag', f.tag);
  one('tag_match', f.tagMatch);
  for (const m of f.metadata ?? []) {
    const [key, value] = keyValue(m, '--metadata', 'KEY=VALUE');
    push(p, `metadata.${key}`, value);
  }
  list('has_metadata', f.hasMetadata);
  for (const s of f.score ?? []) {
    const [name, test] = scoreFlag(s);
    push(p, `score.${name}`, test);
  }
  list('has_score', f.hasScore);
  list('no_score', f.withoutScore);
  one('from', f.from);
  one('to', f.to);
  one('min_latency_ms', f.minLatencyMs);
  one('max_latency_ms', f.maxLatencyMs);
  one('min_cost', f.minCost);
  one('max_cost', f.maxCost);
  one('min_tokens', f.minTokens);
  one('max_tokens', f.maxTokens);
  one('sort_by', f.sort);
  one('sort_order', f.order);
  return p;
}

/** Query parameter -> the flag that sets it. */
const FLAG_OF: Record<string, string> = {
  filter: '--filter',
  q: '--text',
  provider: '--provider',
  model: '--model',
  function_name: '--function-name',
  prompt_name: '--prompt-name',
  prompt_version: '--prompt-version',
  status: '--status',
  tag: '--tag',
  tag_match: '--tag-match',
  has_metadata: '--has-metadata',
  has_score: '--has-score',
  no_score: '--without-score',
  from: '--from',
  to: '--to',
  min_latency_ms: '--min-latency-ms',
  max_latency_ms: '--max-latency-ms',
  min_cost: '--min-cost',
  max_cost: '--max-cost',
  min_tokens: '--min-tokens',
  max_tokens: '--max-tokens',
  sort_by: '--sort',
  sort_order: '--order',
  cursor: '--cursor',
  limit: '--limit',
  format: '--format',
};

/** The flag behind a query parameter or a path inside one (`score.quality`, `filter.filters.1.op`, `tag.0`). */
export function flagOf(field: string): string | undefined {
  if (field.startsWith('score.')) return '--score';
  if (field.startsWith('metadata.')) return '--metadata';
  return FLAG_OF[field] ?? FLAG_OF[field.split('.')[0]!];
}

/**
 * Rewrites a message that starts with a query parameter (`from: must be ...`, as the domain and the
 * server word them) to start with the flag instead: `--from: must be ...`; a path inside a
 * parameter is kept in brackets: `--score (score.quality): unknown operator ...`.
 */
export function messageForFlags(message: string): string {
  const m = /^([A-Za-z_][^:\s]*): (.*)$/s.exec(message);
  if (!m) return message;
  const field = m[1]!;
  const flag = flagOf(field);
  if (flag === undefined) return message;
  return FLAG_OF[field] === flag ? `${flag}: ${m[2]}` : `${flag} (${field}): ${m[2]}`;
}

/** Reruns `fn`, turning a refusal that names a query parameter into one naming its flag. */
export function namingFlags<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TallyError) throw new TallyError(err.code, messageForFlags(err.message));
    throw err;
  }
}

/** {@link namingFlags} for a promise. */
export async function namingFlagsAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TallyError) throw new TallyError(err.code, messageForFlags(err.message));
    throw err;
  }
}

const NUMBER = /^\d+(\.\d+)?$/;

function number(p: QueryParams, key: string): number | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v[v.length - 1]! : v;
  if (!NUMBER.test(s)) throw invalidField(key, `must be a number of 0 or more, not "${s}"`);
  return Number(s);
}

const strings = (p: QueryParams, key: string): string[] | undefined => {
  const v = p[key];
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
};
const text = (p: QueryParams, key: string): string | undefined => {
  const v = p[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
};

/**
 * Parses query parameters into the filter and sort, as the search route does after its schema has
 * converted the text: the same `filterFromParams` and `parseSort`, so a store and a server agree.
 * Errors name the flags.
 */
export function parseQueryParams(p: QueryParams): { filter: RequestFilter | null; sort: SortSpec } {
  return namingFlags(() => {
    const tagMatch = text(p, 'tag_match');
    if (tagMatch !== undefined && tagMatch !== 'any' && tagMatch !== 'all') throw invalidField('tag_match', 'must be "any" or "all"');
    const versions = strings(p, 'prompt_version')?.map((v) => {
      if (!/^[1-9]\d{0,15}$/.test(v)) throw invalidField('prompt_version', `must be a positive integer, not "${v}"`);
      return Number(v);
    });
    const params: SearchParams = {
      filter: text(p, 'filter'),
      q: text(p, 'q'),
      provider: strings(p, 'provider'),
      model: strings(p, 'model'),
      function_name: strings(p, 'function_name'),
      prompt_name: strings(p, 'prompt_name'),
      prompt_version: versions,
      status: strings(p, 'status'),
      tag: strings(p, 'tag'),
      tag_match: tagMatch as 'any' | 'all' | undefined,
      has_metadata: strings(p, 'has_metadata'),
      has_score: strings(p, 'has_score'),
      no_score: strings(p, 'no_score'),
      from: text(p, 'from'),
      to: text(p, 'to'),
      min_latency_ms: number(p, 'min_latency_ms'),
      max_latency_ms: number(p, 'max_latency_ms'),
      min_cost: number(p, 'min_cost'),
      max_cost: number(p, 'max_cost'),
      min_tokens: number(p, 'min_tokens'),
      max_tokens: number(p, 'max_tokens'),
    };
    const filter = filterFromParams(params, p);
    const sort = parseSort(text(p, 'sort_by'), text(p, 'sort_order'));
    return { filter, sort };
  });
}
