import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidField } from '../../domain/errors.js';
import { CRITERIA_FIELDS, criteriaFilter, type RequestCriteria } from '../../domain/request-criteria.js';
import { filterFromParams } from '../../domain/search-params.js';
import { scoreName } from '../../domain/score.js';
import { allOf } from '../../domain/search-query.js';
import { DEFAULT_HISTOGRAM_BUCKETS, MAX_STATS_GROUPS, histogram, summarize, welchTTest, type ValueCount } from '../../domain/statistics.js';
import { toIso } from '../../domain/timestamps.js';
import { ErrorBody } from '../../schemas/common.js';
import {
  CompareQuery,
  CompareReply,
  CorrelationQuery,
  CorrelationReply,
  DEFAULT_CORRELATION_PAIRS,
  FacetsQuery,
  FacetsReply,
  MAX_CORRELATION_PAIRS,
  MAX_FACETS,
  StatsQuery,
  StatsReply,
} from '../../schemas/scores.js';
import type { CorrelationBinRow, ReasonRow, StatsGroupBy, StatsGroupKey } from '../../store/types.js';
import { countReasons, lowThreshold } from '../../domain/score-schema.js';
import type { Store } from '../../store/store.js';
import type { RouteDeps } from '../deps.js';
import { costFigures, sumRows } from './cost-stats.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 503: ErrorBody };

async function requireScoreName(store: Store, workspaceId: number, name: string): Promise<void> {
  if (!(await store.scores.nameExists(workspaceId, name))) throw invalidField('name', `no score named "${name}" in this workspace`);
}

const wireGroup = (g: StatsGroupKey | null) => {
  if (g === null) return null;
  const out: Record<string, string | number | null> = {};
  if (g.promptName !== undefined) out.prompt_name = g.promptName;
  if (g.promptVersion !== undefined) out.prompt_version = g.promptVersion;
  if (g.model !== undefined) out.model = g.model;
  if (g.tag !== undefined) out.tag = g.tag;
  if (g.metadataValue !== undefined) out.metadata_value = g.metadataValue;
  return out;
};

function cohortCriteria(query: Record<string, unknown>, side: 'a' | 'b'): RequestCriteria {
  const c: Record<string, unknown> = {};
  for (const f of CRITERIA_FIELDS) if (query[`${side}.${f}`] !== undefined) c[f] = query[`${side}.${f}`];
  return c as RequestCriteria;
}

/** Score statistics (`/v1/scores/stats`) and the two-cohort comparison (`/v1/scores/compare`). */
/** `rater_source=end_user` or `api,dashboard`: the sources whose raters' ratings are counted; absent: the scores. */
const raterSources = (text: string | undefined): string[] | undefined => (text === undefined ? undefined : [...new Set(text.split(','))]);

export const scoreAnalyticsRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, auth }) => {
  app.get(
    '/v1/scores/stats',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Statistics per score name: count, mean, standard deviation, min, max, p50, p90, histogram and time series',
        description: [
          'One entry per score name (or only `name`), and per group with `group_by=prompt|model|tag|metadata.KEY` (a request with several tags counts in each tag; `tag: null` holds untagged requests; `metadata_value: null` holds requests without KEY).',
          'With `name` and `limit`, only the newest `limit` matching requests (by id) scored `name` are counted, and `window: { limit, truncated }` says whether older ones were left out: a tag or metadata breakdown of a large workspace then costs what `limit` requests do. Without `limit`, every matching score counts.',
          `Grouping by tag or metadata keeps the ${MAX_STATS_GROUPS} groups with the most scores (ties by value); \`groups_truncated\` says whether any were left out.`,
          '`stddev` is the sample standard deviation (divides by n - 1; null below two scores). Percentiles interpolate linearly between the closest ranks (as PostgreSQL percentile_cont).',
          'The histogram has `buckets` equal-width buckets over 0..100 (default 10: [0,10), [10,20), ..., [90,100], the last closed at 100). The series counts scores and their mean per UTC `interval` (hour or day, default day) of the request start time.',
          "`reasons` counts, per score name, the current scores carrying each reason and how many of them are low (below `low_below`: the schema's comment_required_below, else the middle of its range rounded up, 50 without a schema); not grouped. With `rater_source`, like the rest of the statistics, it counts the current ratings of raters of those sources instead (each rating's own reasons and value).",
          'Filters: exactly those of `GET /v1/requests/search` (all combined with AND), e.g. `from` / `to` (request start time, `to` exclusive), `prompt_name`, `prompt_version`, `model`, `tag`, `score.NAME=gte:80`, `has_score`, `no_score`, `metadata.KEY`, latency, cost and token ranges, `filter` (a native filter node as JSON) and `q` (text in input or output).',
        ].join('\n\n'),
        querystring: StatsQuery,
        response: { 200: StatsReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const query = req.query;
      const name = query.name === undefined ? undefined : scoreName(query.name);
      if (name !== undefined) await requireScoreName(store, workspaceId, name);
      const buckets = query.buckets ?? DEFAULT_HISTOGRAM_BUCKETS;
      const interval = query.interval ?? 'day';
      const groupBy = query.group_by as StatsGroupBy | undefined;
      const filter = filterFromParams(query, query as Record<string, unknown>);
      if (query.limit !== undefined && name === undefined) throw invalidField('limit', 'needs name: the window is of the newest requests scored that name');
      const window = query.limit === undefined || name === undefined ? undefined : await store.scores.windowStart(workspaceId, { name, filter, limit: query.limit });
      const aggregate = { name, groupBy, filter, raterSources: raterSources(query.rater_source), minRequestId: window?.minRequestId ?? undefined };
      const [{ distribution: dist, series, groupsTruncated }, reasonRows] = await Promise.all([
        store.scores.stats(workspaceId, { ...aggregate, interval }),
        store.scores.reasonRows(workspaceId, { name, filter, raterSources: aggregate.raterSources, minRequestId: aggregate.minRequestId }),
      ]);
      const byName = new Map<string, ReasonRow[]>();
      for (const r of reasonRows) {
        let list = byName.get(r.name);
        if (!list) byName.set(r.name, (list = []));
        list.push(r);
      }
      const schemas = byName.size === 0 ? new Map() : await store.scoreSchemas.current(workspaceId, [...byName.keys()]);
      const reasons = [...byName].map(([n, rows]) => {
        const lowBelow = lowThreshold(schemas.get(n));
        return { name: n, low_below: lowBelow, reasons: countReasons(rows, lowBelow) };
      });

      // Rows arrive ordered by name and group, alike on both backends (score-stats.ts groupOrder);
      // both reads see the same groups in the same order.
      const entries = new Map<string, { name: string; group: StatsGroupKey | null; dist: ValueCount[]; series: { start: string; count: number; mean: number }[] }>();
      const entryFor = (n: string, group: StatsGroupKey | null) => {
        const key = JSON.stringify([n, group]);
        let e = entries.get(key);
        if (!e) entries.set(key, (e = { name: n, group, dist: [], series: [] }));
        return e;
      };
      for (const r of dist) entryFor(r.name, r.group).dist.push({ value: r.value, count: r.count });
      for (const r of series) entryFor(r.name, r.group).series.push({ start: toIso(r.bucketStart), count: r.count, mean: r.sum / r.count });

      return {
        success: true as const,
        stddev: 'sample' as const,
        percentiles: 'linear' as const,
        interval,
        group_by: groupBy ?? null,
        ...(groupsTruncated === undefined ? {} : { groups_truncated: groupsTruncated }),
        ...(window === undefined ? {} : { window: { limit: query.limit!, truncated: window.truncated } }),
        scores: [...entries.values()].map((e) => ({
          name: e.name,
          group: wireGroup(e.group),
          ...summarize(e.dist),
          histogram: histogram(e.dist, buckets),
          series: e.series,
        })),
        reasons,
      };
    },
  );

  app.get(
    '/v1/scores/compare',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Compare one score between two cohorts of requests with Welch\'s t-test',
        description: [
          'Each cohort is given by `a.<field>` and `b.<field>` parameters, all of which must hold: `prompt_name`, `prompt_version`, `model`, `tag`, `from`, `to` (request start time; `to` exclusive). Example: `name=quality&a.prompt_name=summarize&a.prompt_version=2&b.prompt_name=summarize&b.prompt_version=3`. The search filters of `GET /v1/requests/search` apply to both cohorts.',
          '`difference` is mean(b) - mean(a) with a 95% confidence interval; `test` is `welch_t` (two-sided Welch t-test, Welch-Satterthwaite degrees of freedom). Higher scores are better: the verdict is `b_better` or `a_better` when p < 0.05, `no_significant_difference` otherwise, and `not_enough_data` when a cohort has fewer than 2 scores or neither cohort has any variance.',
          'An unknown score name is a 400 naming it.',
        ].join('\n\n'),
        querystring: CompareQuery,
        response: { 200: CompareReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const query = req.query as Record<string, unknown> & CompareQuery;
      const name = scoreName(query.name);
      const sides = (['a', 'b'] as const).map((side) => {
        const criteria = cohortCriteria(query, side);
        const filter = criteriaFilter(criteria, `${side}.`);
        if (filter === null) throw invalidField(side, `give at least one of ${CRITERIA_FIELDS.map((f) => `${side}.${f}`).join(', ')}`);
        return { criteria, filter };
      });
      await requireScoreName(store, workspaceId, name);
      const shared = filterFromParams(query, query);
      const sources = raterSources(query.rater_source);
      const [a, b] = await Promise.all(sides.map((s) => store.scores.distribution(workspaceId, { name, filter: allOf(s.filter, shared), raterSources: sources })));
      // What each cohort cost, and its score per dollar.
      const [costA, costB] = await Promise.all(sides.map((s) => store.prices.costStats(workspaceId, { filter: allOf(s.filter, shared), groupBy: null, scoreName: name })));
      const result = welchTTest(a!, b!);
      return {
        success: true as const,
        name,
        ...result,
        a: { criteria: sides[0]!.criteria as Record<string, string | number>, ...result.a, cost: costFigures(sumRows(costA!), true) },
        b: { criteria: sides[1]!.criteria as Record<string, string | number>, ...result.b, cost: costFigures(sumRows(costB!), true) },
      };
    },
  );

  app.get(
    '/v1/scores/correlation',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "A score against latency, cost or tokens: binned means and Spearman's rank correlation",
        description: [
          '`x` is the request figure (`latency_ms`, `cost`, `input_tokens`, `output_tokens` or `tokens`, their sum); every current score of `name` on a matching request is one pair.',
          "`spearman.rho` is Pearson's correlation of the pairs' ranks; tied values share the mean of their ranks (`ties: average`). It is null below two pairs or when x or the score does not vary.",
          `Only the pairs of the newest \`limit\` scored requests (by id) are read: default ${DEFAULT_CORRELATION_PAIRS}, at most ${MAX_CORRELATION_PAIRS}; \`window.truncated\` says whether older ones were left out, and \`n\` counts the pairs read.`,
          '`bins` (default 10) splits the pairs by the rank of x into equal shares (deciles by default), tied x always in one bin: bin = floor((rank - 0.5) * bins / n). Each bin gives its count, the range and mean of x and the mean score; empty bins are left out.',
          'Filters: exactly those of `GET /v1/requests/search`. An unknown score name is a 400 naming it.',
        ].join('\n\n'),
        querystring: CorrelationQuery,
        response: { 200: CorrelationReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const query = req.query;
      const name = scoreName(query.name);
      await requireScoreName(store, workspaceId, name);
      const filter = filterFromParams(query, query as Record<string, unknown>);
      const limit = query.limit ?? DEFAULT_CORRELATION_PAIRS;
      const { bins, truncated } = await store.scores.correlation(workspaceId, { name, x: query.x, bins: query.bins ?? 10, filter, limit });
      const figures = correlationFigures(bins);
      return { success: true as const, name, x: query.x, n: figures.n, window: { limit, truncated }, spearman: figures.spearman, bins: figures.bins };
    },
  );

  app.get(
    '/v1/requests/facets',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'The prompt names and versions, models, tags, metadata keys and score names in use in the workspace',
        description: `Each list sorted and at most \`limit\` long (default 100, at most ${MAX_FACETS}); \`truncated\` says more exist. Prompt versions are listed per prompt name (at most \`limit\` name and version pairs). Pickers fill themselves from it; the cost grows with the values listed, not with the requests.`,
        querystring: FacetsQuery,
        response: { 200: FacetsReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const limit = req.query.limit ?? 100;
      const f = await store.scores.facets(workspaceId, limit);
      const list = <T>(values: T[]) => ({ values: values.slice(0, limit), truncated: values.length > limit });
      const pairs = list(f.promptVersions);
      const names = list(f.promptNames);
      const versionsOf = new Map<string, number[]>();
      for (const p of pairs.values) {
        let vs = versionsOf.get(p.promptName);
        if (!vs) versionsOf.set(p.promptName, (vs = []));
        vs.push(p.version);
      }
      return {
        success: true as const,
        limit,
        prompts: { values: names.values.map((n) => ({ prompt_name: n, versions: versionsOf.get(n) ?? [] })), truncated: names.truncated || pairs.truncated },
        models: list(f.models),
        tags: list(f.tags),
        metadata_keys: list(f.metadataKeys),
        score_names: list(f.scoreNames),
      };
    },
  );
};

/** Spearman's rho and the bins' means from the per-bin sums of the store (score-correlation.ts). */
export function correlationFigures(rows: CorrelationBinRow[]) {
  let n = 0;
  let dxx = 0;
  let dyy = 0;
  let dxy = 0;
  for (const r of rows) {
    n += r.count;
    dxx += r.dxx;
    dyy += r.dyy;
    dxy += r.dxy;
  }
  const rho = n >= 2 && dxx > 0 && dyy > 0 ? Math.max(-1, Math.min(1, dxy / Math.sqrt(dxx * dyy))) : null;
  return {
    n,
    spearman: { rho, n, ties: 'average' as const },
    bins: rows.map((r) => ({ bin: r.bin, count: r.count, x_min: r.xMin, x_max: r.xMax, x_mean: r.xSum / r.count, score_mean: r.ySum / r.count })),
  };
}
