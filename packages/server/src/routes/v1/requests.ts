import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseId } from '../../domain/ids.js';
import { LIMITS } from '../../domain/limits.js';
import { filterFromParams } from '../../domain/search-params.js';
import { allOf, parseFilter, parseSort, PAGE_SIZE, textQuery } from '../../domain/search-query.js';
import { ErrorBody } from '../../schemas/common.js';
import { RequestParams, RequestReply, SearchBody, SearchQuery, SearchReply } from '../../schemas/search.js';
import { requestDetail } from '../../search/request-detail.js';
import { searchPage } from '../../search/search-page.js';
import type { RouteDeps } from '../deps.js';
import { exportRoute } from './request-export.js';
import { requestGlanceRoutes } from './request-glance.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };

const SEARCH_DESCRIPTION =
  'Sorted by `sort_by` (request_start_time by default, latency_ms, cost, tokens, input_tokens, output_tokens, status, id, score or score.NAME; requests without the sorted score come last) and `sort_order` (desc by default). ' +
  'Pages of `limit` items (default 50, at most 500); pass `next_cursor` back as `cursor` for the next page. Cursors are keyset positions, so requests logged while paging never shift a page.';

/** Native reads of requests: search (POST and GET), one request, and export. */
export const requestRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, deps) => {
  const { store, auth } = deps;

  app.post(
    '/v1/requests/search',
    {
      preValidation: auth,
      bodyLimit: LIMITS.searchBodyBytes,
      schema: {
        tags: ['v1'],
        summary: 'Search requests with filters (nestable AND/OR groups) and a cursor',
        description: `The body's \`filter\` is a condition \`{ field, op, value, name?, key? }\` or a group \`{ logic: "and" | "or", filters: [...] }\`; \`q\` searches input and output text. ${SEARCH_DESCRIPTION}`,
        body: SearchBody,
        response: { 200: SearchReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const b = req.body;
      const filter = allOf(b.filter === undefined || b.filter === null ? null : parseFilter(b.filter, 'filter'), textQuery(b.q, 'q'));
      const sort = parseSort(b.sort_by, b.sort_order);
      return searchPage(store, workspaceId, { filter, sort, cursor: b.cursor, limit: b.limit ?? PAGE_SIZE.default });
    },
  );

  app.get(
    '/v1/requests/search',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Search requests with query parameters (simple filters, AND-combined)',
        description:
          'Filters: `provider`, `model`, `function_name`, `prompt_name`, `status`, `prompt_version` (repeat for any of several), `tag` (repeatable; `tag_match=all` (default) or `any`), `metadata.KEY=VALUE`, `has_metadata=KEY`, ' +
          '`score.NAME=OP:VALUE` (OP: eq, neq, lt, lte, gt, gte; also `between:LO,HI`, `exists`, `not_exists`), `has_score=NAME`, `no_score=NAME`, `from` / `to` (request start time, `to` exclusive), ' +
          '`min_latency_ms`, `max_latency_ms`, `min_cost`, `max_cost`, `min_tokens`, `max_tokens`, `q` (text in input or output) and `filter` (a JSON filter node, as in the POST body). ' +
          SEARCH_DESCRIPTION,
        querystring: SearchQuery,
        response: { 200: SearchReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const q = req.query;
      const filter = filterFromParams(q, q as Record<string, unknown>);
      const sort = parseSort(q.sort_by, q.sort_order);
      return searchPage(store, workspaceId, { filter, sort, cursor: q.cursor, limit: q.limit ?? PAGE_SIZE.default });
    },
  );

  exportRoute(app, deps);
  requestGlanceRoutes(app, deps);

  app.get(
    '/v1/requests/:id',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'One request with everything logged and its current scores',
        description: "A request of another workspace answers exactly like a missing one (404).",
        params: RequestParams,
        response: { 200: RequestReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      return requestDetail(store, workspaceId, parseId(req.params.id, 'id'));
    },
  );
};
