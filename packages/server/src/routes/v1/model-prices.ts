import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TallyError } from '../../domain/errors.js';
import { BUILTIN_PRICES, BUILTIN_PRICES_TAKEN } from '../../domain/model-prices.js';
import { queryTime } from '../../domain/search-params.js';
import { parseTimestamp, toIso } from '../../domain/timestamps.js';
import { ErrorBody } from '../../schemas/common.js';
import { DeleteModelPriceQuery, DeleteModelPriceReply, ModelParams, ModelPriceReply, ModelPricesReply, PutModelPriceBody } from '../../schemas/prices.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/** Effective time 0 is "always": the override applies to requests of any time. */
const effectiveIso = (ms: number): string | null => (ms === 0 ? null : toIso(ms));

/**
 * A workspace's model prices (USD per million tokens), overriding or extending the table shipped
 * with Tally. Prices are computed when a request is written: a price set now applies to requests
 * logged from now on whose start time is at or after its effective time; requests already stored
 * keep the price they were given.
 */
export const modelPriceRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, queue, auth }) => {
  app.get(
    '/v1/model-prices',
    { preValidation: auth, schema: { tags: ['v1'], summary: "The workspace's model prices and the table shipped with Tally", response: { 200: ModelPricesReply, ...errors } } },
    async (req) => {
      const { workspaceId } = req.auth!;
      const overrides = await store.prices.list(workspaceId);
      return {
        success: true as const,
        overrides: overrides.map((o) => ({ model: o.model, input: o.input, output: o.output, cached_input: o.cachedInput, effective_from: effectiveIso(o.effectiveFrom), updated_at: toIso(o.updatedAt) })),
        builtin: [...BUILTIN_PRICES].map(([model, p]) => ({ model, provider: p.provider, input: p.input, output: p.output, cached_input: p.cachedInput, effective_from: null })),
        builtin_taken: BUILTIN_PRICES_TAKEN,
      };
    },
  );

  app.put(
    '/v1/model-prices/:model',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Set the price of a model for this workspace, from an effective time on',
        description:
          'USD per million tokens. `effective_from` (epoch seconds or ISO 8601; absent: any time) is compared with a request\'s start time, so requests keep the price in force when they ran. Prices are computed when a request is written: this applies to requests logged from now on, never re-prices stored ones. Setting the same model and effective time again replaces it.',
        params: ModelParams,
        body: PutModelPriceBody,
        response: { 200: ModelPriceReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const model = req.params.model;
      const from = req.body.effective_from ?? null;
      const effectiveFrom = from === null ? 0 : parseTimestamp(from, 'effective_from');
      const cachedInput = req.body.cached_input ?? null;
      await queue.submit({ op: 'setModelPrice', workspaceId, model, effectiveFrom, input: req.body.input, output: req.body.output, cachedInput });
      return { success: true as const, price: { model, input: req.body.input, output: req.body.output, cached_input: cachedInput, effective_from: effectiveIso(effectiveFrom) } };
    },
  );

  app.delete(
    '/v1/model-prices/:model',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Delete a workspace's price of a model (one effective time, or all)",
        description: 'Requests already priced keep their price. 404 when nothing matched.',
        params: ModelParams,
        querystring: DeleteModelPriceQuery,
        response: { 200: DeleteModelPriceReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const from = req.query.effective_from;
      const effectiveFrom = from === undefined ? null : queryTime(from, 'effective_from');
      const deleted = await queue.submit({ op: 'deleteModelPrice', workspaceId, model: req.params.model, effectiveFrom });
      if (deleted === 0) throw new TallyError('not_found', `model: this workspace has no price for this model${from === undefined ? '' : ' from that effective time'}`, { field: 'model' });
      return { success: true as const, deleted };
    },
  );
};
