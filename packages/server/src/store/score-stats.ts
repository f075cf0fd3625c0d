import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { RequestFilter } from '../domain/search-query.js';
import { MAX_STATS_GROUPS } from '../domain/statistics.js';
import type { Database } from './schema.js';
import type { DistributionRow, ScoreAggregateQuery, ScoreStatsRows, SeriesRow, StatsGroupBy, StatsGroupKey, StatsInterval } from './types.js';
import { applyRequestFilter, isSqlite, planTextSearch } from './search-filter.js';

/**
 * Aggregate reads behind score statistics and comparisons. Every query here is a GROUP BY that
 * returns at most 101 rows per (score name, group), one per distinct integer value, or one per time
 * bucket: the database does the scanning, Node never holds the individual scores.
 */


export const INTERVAL_MS: Record<StatsInterval, number> = { hour: 3_600_000, day: 86_400_000 };

type Tables = Database & { s: Database['scores']; t: Database['request_tags']; m: Database['request_metadata'] };


/** The key of a `metadata.KEY` grouping; undefined for any other. */
export const metadataKeyOf = (groupBy: StatsGroupBy | undefined): string | undefined => (groupBy?.startsWith('metadata.') ? groupBy.slice('metadata.'.length) : undefined);

/** Where the statistics are read, and how that database orders text. */
export interface StatsSource {
  db: Kysely<Database>;
  /**
   * The collation that orders text by code point, as SQLite's default (BINARY) does; null for the
   * default. PostgreSQL's default follows the server's locale, so it names "C".
   */
  codePointCollation: string | null;
}

const TEXT_KEYS = new Set(['name', 'prompt_name', 'model', 'tag', 'meta_value']);

/**
 * The ORDER BY term of a name or group column: the same order on both backends (SQLite sorts NULL
 * first by default and PostgreSQL last), so groups come back in one order wherever they are read.
 */
function groupOrder(src: StatsSource, column: string): RawBuilder<unknown> {
  const bare = column.slice(column.indexOf('.') + 1);
  const collate = src.codePointCollation !== null && TEXT_KEYS.has(bare) ? sql` collate ${sql.id(src.codePointCollation)}` : sql``;
  return sql`${sql.ref(column)}${collate} nulls first`;
}

/**
 * The current ratings of raters of some sources, as rows shaped like `scores` (workspace_id,
 * request_id, name, value, reasons): per request, name and rater, the rater's latest history row
 * after the name's last delete, when it holds a rating (a withdrawn one holds null). Read through
 * score_events_request.
 */
export function currentRatingsTable(workspaceId: number, name: string | undefined, sources: readonly string[]): RawBuilder<unknown> {
  return sql`(
    select e.workspace_id, e.request_id, e.name, e.rating as value, e.reasons
    from score_events e
    where e.workspace_id = ${workspaceId} and e.kind = 'rating' and e.rating is not null
      and e.source in (${sql.join([...sources])})
      ${name === undefined ? sql`` : sql`and e.name = ${name}`}
      and not exists (
        select 1 from score_events l
        where l.request_id = e.request_id and l.id > e.id and l.name = e.name
          and (l.kind = 'delete' or (l.kind = 'rating' and l.rater = e.rater))
      )
  )`;
}

export function scoredRequests(db: Kysely<Database>, workspaceId: number, q: ScoreAggregateQuery) {
  // `requests` stays un-aliased: the shared filter refers to it by that name.
  // request_tags is joined only to group by tag. A constant-false join instead (`on 1 = 0`) is not
  // folded away by SQLite: it scans every tag row for every score, minutes at a million requests.
  const base = (db as unknown as Kysely<Tables>).selectFrom('requests');
  // Ratings of some sources stand in for the scores, with the same columns (typed as scores').
  const scored =
    q.raterSources === undefined
      ? base.innerJoin('scores as s', 's.request_id', 'requests.id')
      : (base.innerJoin(currentRatingsTable(workspaceId, q.name, q.raterSources).as('s'), (j) => j.onRef(sql.ref('s.request_id') as never, '=', 'requests.id')) as unknown as ReturnType<typeof base.innerJoin<'scores as s', 's.request_id', 'requests.id'>>);
  const metaKey = metadataKeyOf(q.groupBy);
  // One metadata row at most per request and key (their primary key): a seek per scored request.
  // Only its type is used: the query joins what its grouping reads.
  const joinedBoth = () => scored.leftJoin('request_tags as t', 't.request_id', 'requests.id').leftJoin('request_metadata as m', (j) => j.onRef('m.request_id', '=', 'requests.id').on('m.key', '=', metaKey ?? ''));
  type Joined = ReturnType<typeof joinedBoth>;
  // Typed as joined either way: `t` is referenced only when grouping by tag, `m` by metadata.
  const joined = (
    q.groupBy === 'tag'
      ? scored.leftJoin('request_tags as t', 't.request_id', 'requests.id')
      : metaKey !== undefined
        ? scored.leftJoin('request_metadata as m', (j) => j.onRef('m.request_id', '=', 'requests.id').on('m.key', '=', metaKey))
        : scored
  ) as unknown as Joined;
  const qb = joined
    // The workspace is tested on requests (applyRequestFilter); a score row is always in its request's.
    .$if(q.name !== undefined, (b) => b.where('s.name', '=', q.name!))
    .$if(q.minRequestId !== undefined, (b) => b.where('requests.id', '>=', q.minRequestId!))
    // A filter calls tally_alive() on SQLite (search-filter.ts); without one the join still may
    // read every score of the name (a breakdown, a correlation), so it calls it too: the read then
    // stops at its deadline, or when its client has gone (sqlite/read-deadline.ts).
    .$if(!q.filter && isSqlite(db), (b) => b.where(sql<SqlBool>`tally_alive()`));
  return applyRequestFilter(qb, workspaceId, q.filter ?? null);
}

// The group columns each grouping adds to the select list, the GROUP BY and the ORDER BY.
const GROUP_COLUMNS = {
  prompt: ['requests.prompt_name', 'requests.prompt_version'],
  model: ['requests.model'],
  tag: ['t.tag'],
} as const;

/** The grouping's columns as selected (a metadata value is named meta_value: `value` is the score's). */
const groupColumns = (groupBy: StatsGroupBy | undefined): readonly string[] =>
  groupBy === undefined ? [] : metadataKeyOf(groupBy) !== undefined ? ['m.value as meta_value'] : GROUP_COLUMNS[groupBy as keyof typeof GROUP_COLUMNS];

interface GroupedRow {
  name: string;
  prompt_name?: string | null;
  prompt_version?: number | null;
  model?: string;
  tag?: string | null;
  meta_value?: string | null;
}

function groupKey(groupBy: StatsGroupBy | undefined, r: GroupedRow): StatsGroupKey | null {
  switch (groupBy) {
    case 'prompt':
      return { promptName: r.prompt_name ?? null, promptVersion: r.prompt_version === null || r.prompt_version === undefined ? null : Number(r.prompt_version) };
    case 'model':
      return { model: r.model ?? '' };
    case 'tag':
      return { tag: r.tag ?? null };
    case undefined:
      return null;
    default:
      return { metadataValue: r.meta_value ?? null };
  }
}

/** How many scores have each value, per score name (and group). */
export async function selectScoreDistribution(src: StatsSource, workspaceId: number, q: ScoreAggregateQuery): Promise<DistributionRow[]> {
  await planTextSearch(src.db, q.filter ?? null);
  const totals = totalsSelection(q);
  if (totals) return selectValueTotals(src, workspaceId, q, totals);
  // Comparisons read no grouping but these; metadata groupings are read by selectJoinedStats only.
  if (metadataKeyOf(q.groupBy) !== undefined) throw new Error('selectScoreDistribution does not group by metadata');
  const groupCols = q.groupBy ? GROUP_COLUMNS[q.groupBy as keyof typeof GROUP_COLUMNS] : [];
  const rows = await scoredRequests(src.db, workspaceId, q)
    .select(['s.name', ...groupCols, 's.value'])
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .groupBy(['s.name', ...groupCols, 's.value'])
    .$call((qb) => ['s.name', ...groupCols].reduce((acc, c) => acc.orderBy(groupOrder(src, c)), qb))
    .orderBy('s.value')
    .execute();
  return rows.map((r) => ({ name: r.name, group: groupKey(q.groupBy, r as GroupedRow), value: Number(r.value), count: Number(r.count) }));
}

/**
 * Distribution and series (count and exact sum per UTC hour or day of the request's start time)
 * for statistics: from the totals when they can answer, otherwise from one join of the scores with
 * their requests that both aggregations read.
 */
export async function selectScoreStats(src: StatsSource, workspaceId: number, q: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows> {
  await planTextSearch(src.db, q.filter ?? null);
  const totals = totalsSelection(q);
  if (totals) {
    const [distribution, series] = await Promise.all([selectValueTotals(src, workspaceId, q, totals), selectHourTotals(src, workspaceId, q, totals)]);
    return { distribution, series };
  }
  return selectJoinedStats(src, workspaceId, q);
}

interface JoinedStatsRow extends GroupedRow {
  /** 0: a distribution row (value, count); 1: a series row (bucket_start, count, sum). */
  part: number | string;
  value: number | string | null;
  bucket_start: number | string | null;
  count: number | string;
  sum: number | string | null;
}

/**
 * The join, run once: its rows are kept (a materialized common table expression) and grouped
 * twice, by value and by time bucket. Two statements would each join every score with its request,
 * and PostgreSQL hashes all of a name's scores for such a join (bench/queries.ts compares).
 */
async function selectJoinedStats(src: StatsSource, workspaceId: number, q: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows> {
  const groupCols = groupColumns(q.groupBy);
  const joined = scoredRequests(src.db, workspaceId, q).select(['s.name', ...(groupCols as 'requests.model'[]), 's.value', 'requests.request_start_time']);
  // The joined rows' columns are named without their tables (`requests.model` is `model`).
  const groupNames = groupCols.map((c) => (c.includes(' as ') ? c.slice(c.indexOf(' as ') + 4) : c.slice(c.indexOf('.') + 1)));
  const columns = ['name', ...groupNames];
  const keys = sql.join(columns.map((c) => sql.ref(c)));
  // A literal, not a parameter: PostgreSQL must see an integer to keep the arithmetic in bigint.
  const width = sql.lit(INTERVAL_MS[q.interval]);
  const bucket = sql`request_start_time - (request_start_time % ${width})`;
  // A tag or a metadata value is one column of unbounded variety: only the groups with the most
  // scores are kept (ties by value, in code point order), and a row of part 2 says some were left.
  const bounded = q.groupBy === 'tag' || metadataKeyOf(q.groupBy) !== undefined;
  const g = sql.ref(groupNames[0] ?? 'name');
  const gOrder = groupOrder(src, groupNames[0] ?? 'name');
  const limit = sql.lit(MAX_STATS_GROUPS);
  // `in` and an uncorrelated `exists`: a hashed set and one constant, not a scan of top per row.
  const kept = bounded ? sql`where (j.${g} in (select g from top where rn <= ${limit}) or (j.${g} is null and exists (select 1 from top where rn <= ${limit} and g is null)))` : sql``;
  const top = bounded ? sql`, top as (select ${g} as g, row_number() over (order by count(*) desc, ${gOrder}) as rn from j group by ${g})` : sql``;
  const nulls = columns.map((c) => sql`null as ${sql.ref(c)}`);
  const leftOut = bounded ? sql`union all select 2 as part, ${sql.join(nulls)}, null as value, null as bucket_start, count(*) as count, null as sum from top where rn > ${limit}` : sql``;
  const { rows } = await sql<JoinedStatsRow>`
    with j as materialized ${joined}${top}
    select * from (
      select 0 as part, ${keys}, value, null as bucket_start, count(*) as count, null as sum
      from j ${kept} group by ${keys}, value
      union all
      select 1 as part, ${keys}, null as value, ${bucket} as bucket_start, count(*) as count, sum(value) as sum
      from j ${kept} group by ${keys}, ${bucket}
      ${leftOut}
    ) as parts
    order by part, ${sql.join(columns.map((c) => groupOrder(src, c)))}, value, bucket_start
  `.execute(src.db);
  const out: ScoreStatsRows = { distribution: [], series: [] };
  if (bounded) out.groupsTruncated = false;
  for (const r of rows) {
    const part = Number(r.part);
    if (part === 2) {
      out.groupsTruncated = Number(r.count) > 0;
      continue;
    }
    const group = groupKey(q.groupBy, r);
    if (part === 0) out.distribution.push({ name: r.name, group, value: Number(r.value), count: Number(r.count) });
    else out.series.push({ name: r.name, group, bucketStart: Number(r.bucket_start), count: Number(r.count), sum: Number(r.sum) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reads from the totals that triggers keep per score name, prompt and model (migrations 005, 007)

/** One condition the totals can answer: the request's prompt name, version or model is one of these. */
export type TotalsCondition = { column: 'prompt_name' | 'model'; values: string[] } | { column: 'prompt_version'; values: number[] };

/**
 * The conditions of a query the totals can answer in place of the join: no grouping or grouping by
 * prompt or model, and a filter that is nothing but prompt names, prompt versions and models that
 * must all hold. Null when the query needs the join (any other filter, or grouping by tag).
 */
export function totalsSelection(q: ScoreAggregateQuery): TotalsCondition[] | null {
  // The totals count scores, whoever rated them; ratings of some sources need the join.
  // So do a window of the newest requests: the totals are not kept per request.
  if (q.groupBy === 'tag' || metadataKeyOf(q.groupBy) !== undefined || q.raterSources !== undefined || q.minRequestId !== undefined) return null;
  return q.filter ? totalsConditions(q.filter) : [];
}

/** The values an equality or `in` test accepts; empty for any other test. */
const acceptedValues = <T>(t: { op: string; value?: T; values?: T[] }): T[] => (t.op === 'eq' ? [t.value!] : t.op === 'in' ? t.values! : []);

function totalsConditions(f: RequestFilter): TotalsCondition[] | null {
  if (f.kind === 'group') {
    if (f.logic === 'or' && f.filters.length !== 1) return null;
    const parts = f.filters.map(totalsConditions);
    return parts.every((p) => p !== null) ? parts.flat() : null;
  }
  if (f.kind === 'string' && (f.column === 'prompt_name' || f.column === 'model')) {
    const values = acceptedValues<string>(f.test);
    return values.length > 0 ? [{ column: f.column, values }] : null;
  }
  if (f.kind === 'number' && f.column === 'prompt_version') {
    const values = acceptedValues<number>(f.test);
    // The totals store "no version" as 0; stored versions are integers from 1.
    return values.length > 0 && values.every((v) => Number.isInteger(v) && v >= 1) ? [{ column: 'prompt_version', values }] : null;
  }
  return null;
}

/** The rows of a totals table (key columns of migration 007) in the workspace, name and conditions. */
function totalsWhere(workspaceId: number, name: string | undefined, conditions: TotalsCondition[]): RawBuilder<SqlBool> {
  const parts = [sql<SqlBool>`workspace_id = ${workspaceId}`, ...(name === undefined ? [] : [sql<SqlBool>`name = ${name}`])];
  for (const c of conditions) {
    const values = sql.join(c.values);
    if (c.column === 'prompt_name') parts.push(sql<SqlBool>`prompt_named = 1 and prompt_name in (${values})`);
    else parts.push(c.column === 'model' ? sql<SqlBool>`model in (${values})` : sql<SqlBool>`prompt_version in (${values})`);
  }
  return sql<SqlBool>`${sql.join(parts, sql` and `)}`;
}

// The key columns a grouping reads from the totals, in the order groups are sorted.
const TOTALS_GROUP_KEY = { prompt: ['prompt_named', 'prompt_name', 'prompt_version'], model: ['model'] } as const;

interface TotalsKeyRow {
  name: string;
  prompt_named?: number | string;
  prompt_name?: string;
  prompt_version?: number | string;
  model?: string;
}

/** A totals row's group as the join's rows give it: the key columns' stand-ins for null undone. */
function totalsGroup(groupBy: StatsGroupBy | undefined, r: TotalsKeyRow): StatsGroupKey | null {
  const version = Number(r.prompt_version);
  return groupKey(groupBy, { ...r, prompt_name: Number(r.prompt_named) === 1 ? r.prompt_name : null, prompt_version: version === 0 ? null : version });
}

const totalsKey = (groupBy: StatsGroupBy | undefined) => (groupBy === 'prompt' || groupBy === 'model' ? TOTALS_GROUP_KEY[groupBy] : []);

/** The distribution from `score_values`: at most 101 rows per name, prompt and model. */
async function selectValueTotals(src: StatsSource, workspaceId: number, q: ScoreAggregateQuery, conditions: TotalsCondition[]): Promise<DistributionRow[]> {
  const keyCols = totalsKey(q.groupBy);
  const rows = await src.db
    .selectFrom('score_values')
    .where(totalsWhere(workspaceId, q.name, conditions))
    .select(['name', ...keyCols, 'value'])
    .select((eb) => eb.fn.sum<number>('count').as('count'))
    .groupBy(['name', ...keyCols, 'value'])
    .having((eb) => eb.fn.sum('count'), '>', 0)
    .$call((qb) => ['name', ...keyCols].reduce((acc, c) => acc.orderBy(groupOrder(src, c)), qb))
    .orderBy('value')
    .execute();
  return rows.map((r) => ({ name: r.name, group: totalsGroup(q.groupBy, r as TotalsKeyRow), value: Number(r.value), count: Number(r.count) }));
}

/**
 * The series from `score_hours`: a read of a few thousand rows where the join reads every score
 * and its request. Days are sums of their hours (a UTC day is a whole number of UTC hours); an hour
 * left with no scores is skipped.
 */
async function selectHourTotals(
  src: StatsSource,
  workspaceId: number,
  q: ScoreAggregateQuery & { interval: StatsInterval },
  conditions: TotalsCondition[],
): Promise<SeriesRow[]> {
  const keyCols = totalsKey(q.groupBy);
  const width = sql.lit(INTERVAL_MS[q.interval]);
  const bucket = sql<number>`(hour_start - (hour_start % ${width}))`;
  const rows = await src.db
    .selectFrom('score_hours')
    .where(totalsWhere(workspaceId, q.name, conditions))
    .select(['name', ...keyCols])
    .select((eb) => [bucket.as('bucket_start'), eb.fn.sum<number>('count').as('count'), eb.fn.sum<number>('sum').as('sum')])
    .groupBy(['name', ...keyCols, bucket])
    .having((eb) => eb.fn.sum('count'), '>', 0)
    .$call((qb) => ['name', ...keyCols].reduce((acc, c) => acc.orderBy(groupOrder(src, c)), qb))
    .orderBy(bucket)
    .execute();
  return rows.map((r) => ({
    name: r.name,
    group: totalsGroup(q.groupBy, r as TotalsKeyRow),
    bucketStart: Number(r.bucket_start),
    count: Number(r.count),
    sum: Number(r.sum),
  }));
}
