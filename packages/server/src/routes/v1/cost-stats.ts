import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { filterFromParams } from '../../domain/search-params.js';
import { scoreName } from '../../domain/score.js';
import { ErrorBody } from '../../schemas/common.js';
import { CostStatsQuery, CostStatsReply, type CostFigures } from '../../schemas/prices.js';
import type { CostStatsRow } from '../../store/pricing.js';
import type { RouteDeps } from '../deps.js';

/** A row's cost figures on the wire; the score's only when one was asked for. */
export function costFigures(r: Omit<CostStatsRow, 'group'>, withScore: boolean): Static<typeof CostFigures> {
  const out: Static<typeof CostFigures> = {
    requests: r.requests,
    priced_requests: r.priced,
    total_cost: r.cost,
    computed_cost: r.computedCost,
    mean_cost: r.requests === 0 ? null : r.cost / r.requests,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
  };
  if (withScore) {
    out.scored_requests = r.scored;
    out.mean_score = r.scored === 0 ? null : r.scoreSum / r.scored;
    out.scored_cost = r.scoredCost;
    out.score_per_dollar = r.scored === 0 || r.scoredCost <= 0 ? null : r.scoreSum / r.scoredCost;
  }
  return out;
}

/** Adds up rows of several groups. */
export function sumRows(rows: readonly CostStatsRow[]): Omit<CostStatsRow, 'group'> {
  const total = { requests: 0, priced: 0, cost: 0, computedCost: 0, inputTokens: 0, outputTokens: 0, scored: 0, scoreSum: 0, scoredCost: 0 };
  for (const r of rows) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += r[k];
  return total;
}

/** `GET /v1/costs/stats`: what the matching requests cost, per model or prompt version, and a score per dollar. */
export const costStatsRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, auth }) => {
  app.get(
    '/v1/costs/stats',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Cost totals of the matching requests, per model or prompt version, with score per dollar',
        description:
          'The search filters of `GET /v1/requests/search` select the requests. `group_by=model` or `prompt` splits them. With `name`, each group also has its scored requests, their mean score and `score_per_dollar` (sum of scores / cost of the scored requests). Costs include prices Tally computed (`computed_cost`).',
        querystring: CostStatsQuery,
        response: { 200: CostStatsReply, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const query = req.query as Record<string, unknown> & CostStatsQuery;
      const name = query.name === undefined ? null : scoreName(query.name);
      const groupBy = query.group_by ?? null;
      const rows = await store.prices.costStats(workspaceId, { filter: filterFromParams(query, query), groupBy, scoreName: name });
      const withScore = name !== null;
      return {
        success: true as const,
        name,
        group_by: groupBy,
        groups: groupBy === null
          ? []
          : rows.map((r) => ({
              ...(r.group?.model !== undefined ? { model: r.group.model } : { prompt_name: r.group?.promptName ?? null, prompt_version: r.group?.promptVersion ?? null }),
              ...costFigures(r, withScore),
            })),
        total: costFigures(sumRows(rows), withScore),
      };
    },
  );
};
