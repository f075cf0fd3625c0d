import { sql, type RawBuilder } from 'kysely';
import type { StatsSource } from './score-stats.js';
import { scoredRequests } from './score-stats.js';
import { planTextSearch, requestColumn } from './search-filter.js';
import type { CorrelationQuery, CorrelationRows, CorrelationX } from './types.js';

/** The request column (or sum) each x of a correlation reads. */
const X_COLUMN: Record<CorrelationX, () => RawBuilder<unknown>> = {
  latency_ms: () => requestColumn('latency_ms'),
  cost: () => requestColumn('price'),
  input_tokens: () => requestColumn('input_tokens'),
  output_tokens: () => requestColumn('output_tokens'),
  tokens: () => requestColumn('tokens'),
};

interface BinRow {
  bin: number | string;
  count: number | string;
  x_min: number | string;
  x_max: number | string;
  x_sum: number | string;
  y_sum: number | string;
  dxx: number | string;
  dyy: number | string;
  dxy: number | string;
  /** Pairs read before the limit cut: limit + 1 when older ones were left out. */
  seen: number | string;
}

/**
 * A score of the matching requests against one of their figures, in one statement: each pair's
 * average ranks (rank() plus half its ties: tied values share the mean of their positions), a bin
 * from x's average rank, so that equal x always fall in one bin, and per bin the sums Spearman's
 * rho is made of. Ranks are kept doubled (2r is an integer) and centred on n + 1, so the sums are
 * of integers and bins are integer divisions, alike on both backends.
 *
 * Only the pairs of the newest `limit` scored requests are read: a walk of requests by id, newest
 * first, stopping at limit + 1 (the one more says older pairs were left out), so the cost follows
 * the limit and not the store; ranking every pair of a million requests takes seconds.
 */
export async function selectCorrelation(src: StatsSource, workspaceId: number, q: CorrelationQuery): Promise<CorrelationRows> {
  await planTextSearch(src.db, q.filter);
  const newest = scoredRequests(src.db, workspaceId, { name: q.name, filter: q.filter })
    .select(['requests.id as id', X_COLUMN[q.x]().as('x'), 's.value as y'])
    .orderBy('requests.id', 'desc')
    .limit(q.limit + 1);
  const bins = sql.lit(q.bins);
  const limit = sql.lit(q.limit);
  const { rows } = await sql<BinRow>`
    with seen as ${newest},
    p as (select x, y from seen order by id desc limit ${limit}),
    r as (
      select x, y,
        2 * rank() over (order by x) + count(*) over (partition by x) - 1 as rx2,
        2 * rank() over (order by y) + count(*) over (partition by y) - 1 as ry2,
        count(*) over () as n
      from p
    ),
    d as (
      select x, y, ((rx2 - 1) * ${bins}) / (2 * n) as bin,
        cast(rx2 - (n + 1) as double precision) as dx,
        cast(ry2 - (n + 1) as double precision) as dy
      from r
    )
    select bin, count(*) as count, min(x) as x_min, max(x) as x_max, sum(x) as x_sum, sum(y) as y_sum,
      sum(dx * dx) as dxx, sum(dy * dy) as dyy, sum(dx * dy) as dxy, (select count(*) from seen) as seen
    from d group by bin order by bin
  `.execute(src.db);
  const truncated = rows.length > 0 && Number(rows[0]!.seen) > q.limit;
  const out = rows.map((r) => ({
    bin: Number(r.bin),
    count: Number(r.count),
    xMin: Number(r.x_min),
    xMax: Number(r.x_max),
    xSum: Number(r.x_sum),
    ySum: Number(r.y_sum),
    dxx: Number(r.dxx),
    dyy: Number(r.dyy),
    dxy: Number(r.dxy),
  }));
  return { bins: out, truncated };
}
