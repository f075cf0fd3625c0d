import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidField } from '../../domain/errors.js';
import { CRITERIA_FIELDS, criteriaFilter, type RequestCriteria } from '../../domain/request-criteria.js';
import { filterFromParams } from '../../domain/search-params.js';
import { scoreName } from '../../domain/score.js';
import { allOf } from '../../domain/search-query.js';
import { DEFAULT_HISTOGRAM_BUCKETS, histogram, summarize, welchTTest, type ValueCount } from '../../domain/statistics.js';
import { toIso } from '../../domain/timestamps.js';
import { ErrorBody } from '../../schemas/common.js';
import { CompareQuery, CompareReply, StatsQuery, StatsReply } from '../../schemas/scores.js';
import type { ReasonRow, StatsGroupKey } from '../../store/types.js';
import { countReasons, lowThreshold } from '../../domain/score-schema.js';
import type { Store } from '../../store/store.js';
import type { RouteDeps } from '../deps.js';
import { costFigures, sumRows } from './cost-stats.js';

const errors = { 400: ErrorBody, 401: ErrorBody };

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
          'One entry per score name (or only `name`), and per group with `group_by=prompt|model|tag` (a request with several tags counts in each tag; `tag: null` holds untagged requests).',
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
      const groupBy = query.group_by;
      const filter = filterFromParams(query, query as Record<string, unknown>);
      const aggregate = { name, groupBy, filter, raterSources: raterSources(query.rater_source) };
      const [{ distribution: dist, series }, reasonRows] = await Promise.all([
        store.scores.stats(workspaceId, { ...aggregate, interval }),
        store.scores.reasonRows(workspaceId, { name, filter, raterSources: aggregate.raterSources }),
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
};
