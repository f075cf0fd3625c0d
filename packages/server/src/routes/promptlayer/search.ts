import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LIMITS } from '../../domain/limits.js';
import { ErrorBody } from '../../schemas/common.js';
import { PromptLayerSearchBody, PromptLayerSearchReply } from '../../schemas/search.js';
import { promptLayerPage } from '../../search/promptlayer-page.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/** PromptLayer's request search, with page numbers as its clients expect (25 items a page at most). */
export const promptLayerSearchRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, auth }) => {
  app.post(
    '/api/public/v2/requests/search',
    {
      preValidation: auth,
      bodyLimit: LIMITS.searchBodyBytes,
      schema: {
        tags: ['promptlayer'],
        summary: 'Search requests (PromptLayer filter_group format); items carry their scores',
        description:
          '`filter_group` `{ logic: "AND" | "OR", filters: [{ field, operator, value, nested_key? } | group] }`, `q` (text in input or output), `sort_by` (request_start_time, input_tokens, output_tokens, cost, latency_ms, status, or `score`: the score named by `score_name`, `default` when absent; unscored requests last), `sort_order`, `page` (from 1), `per_page` (1..25, default 10). ' +
          'Also accepts the legacy `scores: [{ name, operator, value }]` (all must hold) and, as a Tally extension, the field `score` with the score name in `nested_key`. `latency` in items is in seconds.',
        body: PromptLayerSearchBody,
        response: { 200: PromptLayerSearchReply, ...errors },
      },
    },
    async (req) => promptLayerPage(store, req.auth!.workspaceId, req.body),
  );
};
