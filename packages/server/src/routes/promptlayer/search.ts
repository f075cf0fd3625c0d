import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { readPromptLayerSearch } from '../../domain/promptlayer-search.js';
import { LIMITS } from '../../domain/limits.js';
import { ErrorBody } from '../../schemas/common.js';
import { PromptLayerSearchBody, PromptLayerSearchReply } from '../../schemas/search.js';
import type { RouteDeps } from '../deps.js';
import { promptLayerItem } from '../v1/request-items.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 503: ErrorBody };

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
    async (req) => {
      const { workspaceId } = req.auth!;
      const { filter, sort } = readPromptLayerSearch(req.body);
      const page = req.body.page ?? 1;
      const perPage = req.body.per_page ?? 10;
      const [total, found] = await Promise.all([
        store.countRequests(workspaceId, filter),
        store.searchRequests(workspaceId, { filter, sort, offset: (page - 1) * perPage, limit: perPage }),
      ]);
      const pages = Math.ceil(total / perPage);
      const hasNext = page < pages;
      const hasPrev = page > 1;
      return {
        success: true as const,
        items: found.items.map(promptLayerItem),
        page,
        pages,
        per_page: perPage,
        total,
        has_next: hasNext,
        has_prev: hasPrev,
        next_num: hasNext ? page + 1 : null,
        prev_num: hasPrev ? page - 1 : null,
      };
    },
  );
};
