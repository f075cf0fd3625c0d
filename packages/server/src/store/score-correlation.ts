import { sql, type RawBuilder } from 'kysely';
import type { StatsSource } from './score-stats.js';
import { scoredRequests } from './score-stats.js';
import { planTextSearch, requestColumn } from './search-filter.js';
import type { CorrelationBinRow, CorrelationQuery, CorrelationX } from './types.js';

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
}

/**
 * A score of the matching requests against one of their figures, in one statement: each pair's
 * average ranks (rank() plus half its ties: tied values share the mean of their positions), a bin
 * from x's average rank, so that equal x always fall in one bin, and per bin the sums Spearman's
 * rho is made of. Ranks are kept doubled (2r is an integer) and centred on n + 1, so the sums are
 * of integers and bins are integer divisions, alike on both backends.
 */
export async function selectCorrelation(src: StatsSource, workspaceId: number, q: CorrelationQuery): Promise<CorrelationBinRow[]> {
  await planTextSearch(src.db, q.filter);
  const pairs = scoredRequests(src.db, workspaceId, { name: q.name, filter: q.filter })
    .select([X_COLUMN[q.x]().as('x'), 's.value as y']);
  const bins = sql.lit(q.bins);
  const { rows } = await sql<BinRow>`
    with p as ${pairs},
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
      sum(dx * dx) as dxx, sum(dy * dy) as dyy, sum(dx * dy) as dxy
    from d group by bin order by bin
  `.execute(src.db);
  return rows.map((r) => ({
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
}
