import { sql, type Kysely } from 'kysely';
import type { RequestFilter } from '../domain/search-query.js';
import type { Database } from './schema.js';
import { applyRequestFilter } from './search-filter.js';

/**
 * Aggregate reads behind score statistics and comparisons. Every query here is a GROUP BY that
 * returns at most 101 rows per (score name, group), one per distinct integer value, or one per time
 * bucket: the database does the scanning, Node never holds the individual scores.
 */

export type StatsGroupBy = 'prompt' | 'model' | 'tag';
export type StatsInterval = 'hour' | 'day';

export const INTERVAL_MS: Record<StatsInterval, number> = { hour: 3_600_000, day: 86_400_000 };

type Tables = Database & { s: Database['scores']; t: Database['request_tags'] };

export interface ScoreAggregateQuery {
  name?: string | undefined;
  groupBy?: StatsGroupBy | undefined;
  /** The shared request filter (search's), compiled by search-filter.ts; null: the whole workspace. */
  filter?: RequestFilter | null | undefined;
}

/** The group a row belongs to, as stored: prompt name and version, model, or tag (null: untagged). */
export interface StatsGroupKey {
  promptName?: string | null;
  promptVersion?: number | null;
  model?: string;
  tag?: string | null;
}

export interface DistributionRow {
  name: string;
  group: StatsGroupKey | null;
  value: number;
  count: number;
}

export interface SeriesRow {
  name: string;
  group: StatsGroupKey | null;
  /** Start of the UTC hour or day, epoch ms. */
  bucketStart: number;
  count: number;
  /** Sum of the scores in the bucket: an exact integer, so the mean is the same on every backend. */
  sum: number;
}

function scoredRequests(db: Kysely<Database>, workspaceId: number, q: ScoreAggregateQuery) {
  // `requests` stays un-aliased: the shared filter refers to it by that name.
  // request_tags is joined only to group by tag. A constant-false join instead (`on 1 = 0`) is not
  // folded away by SQLite: it scans every tag row for every score, minutes at a million requests.
  const scored = (db as unknown as Kysely<Tables>).selectFrom('requests').innerJoin('scores as s', 's.request_id', 'requests.id');
  const withTags = scored.leftJoin('request_tags as t', 't.request_id', 'requests.id');
  // Typed as joined either way: `t` is referenced only when grouping by tag.
  const qb = (q.groupBy === 'tag' ? withTags : (scored as unknown as typeof withTags))
    // The workspace is tested on requests (applyRequestFilter); a score row is always in its request's.
    .$if(q.name !== undefined, (b) => b.where('s.name', '=', q.name!));
  return applyRequestFilter(qb, workspaceId, q.filter ?? null);
}

// The group columns each grouping adds to the select list, the GROUP BY and the ORDER BY.
const GROUP_COLUMNS = {
  prompt: ['requests.prompt_name', 'requests.prompt_version'],
  model: ['requests.model'],
  tag: ['t.tag'],
} as const;

interface GroupedRow {
  name: string;
  prompt_name?: string | null;
  prompt_version?: number | null;
  model?: string;
  tag?: string | null;
}

function groupKey(groupBy: StatsGroupBy | undefined, r: GroupedRow): StatsGroupKey | null {
  switch (groupBy) {
    case 'prompt':
      return { promptName: r.prompt_name ?? null, promptVersion: r.prompt_version === null || r.prompt_version === undefined ? null : Number(r.prompt_version) };
    case 'model':
      return { model: r.model ?? '' };
    case 'tag':
      return { tag: r.tag ?? null };
    default:
      return null;
  }
}

/** How many scores have each value, per score name (and group). */
export async function selectScoreDistribution(db: Kysely<Database>, workspaceId: number, q: ScoreAggregateQuery): Promise<DistributionRow[]> {
  if (!q.groupBy && !q.filter) {
    // Nothing of the request is needed: count straight off the covering index
    // scores(workspace_id, name, value, request_id). Every score row belongs to a request of its
    // own workspace, so this counts the same rows as the join, without a lookup per score.
    const rows = await db
      .selectFrom('scores')
      .select(['name', 'value'])
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('workspace_id', '=', workspaceId)
      .$if(q.name !== undefined, (b) => b.where('name', '=', q.name!))
      .groupBy(['name', 'value'])
      .orderBy('name')
      .orderBy('value')
      .execute();
    return rows.map((r) => ({ name: r.name, group: null, value: Number(r.value), count: Number(r.count) }));
  }
  const groupCols = q.groupBy ? GROUP_COLUMNS[q.groupBy] : [];
  const rows = await scoredRequests(db, workspaceId, q)
    .select(['s.name', ...groupCols, 's.value'])
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .groupBy(['s.name', ...groupCols, 's.value'])
    .orderBy('s.name')
    .$call((qb) => groupCols.reduce((acc, c) => acc.orderBy(c), qb))
    .orderBy('s.value')
    .execute();
  return rows.map((r) => ({ name: r.name, group: groupKey(q.groupBy, r as GroupedRow), value: Number(r.value), count: Number(r.count) }));
}

/** Count and exact sum of the scores per UTC hour or day of the request's start time. */
export async function selectScoreSeries(db: Kysely<Database>, workspaceId: number, q: ScoreAggregateQuery & { interval: StatsInterval }): Promise<SeriesRow[]> {
  if (!q.groupBy && !q.filter) return selectHourTotals(db, workspaceId, q);
  const groupCols = q.groupBy ? GROUP_COLUMNS[q.groupBy] : [];
  // A literal, not a parameter: PostgreSQL must see an integer to keep the arithmetic in bigint.
  const width = sql.lit(INTERVAL_MS[q.interval]);
  const bucket = sql<number>`(requests.request_start_time - (requests.request_start_time % ${width}))`;
  const rows = await scoredRequests(db, workspaceId, q)
    .select(['s.name', ...groupCols])
    .select((eb) => [bucket.as('bucket_start'), eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('s.value').as('sum')])
    .groupBy(['s.name', ...groupCols, bucket])
    .orderBy('s.name')
    .$call((qb) => groupCols.reduce((acc, c) => acc.orderBy(c), qb))
    .orderBy(bucket)
    .execute();
  return rows.map((r) => ({
    name: r.name,
    group: groupKey(q.groupBy, r as GroupedRow),
    bucketStart: Number(r.bucket_start),
    count: Number(r.count),
    sum: Number(r.sum),
  }));
}

/**
 * The ungrouped, unfiltered series from the per-hour totals that triggers keep (migration 005):
 * a read of a few thousand rows where the join reads every score and its request. Days are sums of
 * their hours (a UTC day is a whole number of UTC hours); an hour left with no scores is skipped.
 */
async function selectHourTotals(db: Kysely<Database>, workspaceId: number, q: ScoreAggregateQuery & { interval: StatsInterval }): Promise<SeriesRow[]> {
  const width = sql.lit(INTERVAL_MS[q.interval]);
  const bucket = sql<number>`(hour_start - (hour_start % ${width}))`;
  const rows = await db
    .selectFrom('score_hours')
    .select((eb) => ['name', bucket.as('bucket_start'), eb.fn.sum<number>('count').as('count'), eb.fn.sum<number>('sum').as('sum')])
    .where('workspace_id', '=', workspaceId)
    .$if(q.name !== undefined, (b) => b.where('name', '=', q.name!))
    .groupBy(['name', bucket])
    .having((eb) => eb.fn.sum('count'), '>', 0)
    .orderBy('name')
    .orderBy(bucket)
    .execute();
  return rows.map((r) => ({ name: r.name, group: null, bucketStart: Number(r.bucket_start), count: Number(r.count), sum: Number(r.sum) }));
}
