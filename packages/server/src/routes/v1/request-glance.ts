import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { previewOf } from '../../domain/request-preview.js';
import { filterFromParams } from '../../domain/search-params.js';
import { parseSort } from '../../domain/search-query.js';
import { ErrorBody } from '../../schemas/common.js';
import { familyParams, FilterParams } from '../../schemas/search.js';
import { parseContent } from '../../store/search.js';
import type { RouteDeps } from '../deps.js';

type App = Parameters<FastifyPluginAsyncTypebox<RouteDeps>>[0];

/** Counting stops here: past it the answer is "more than COUNT_BOUND", whatever the workspace's size. */
export const COUNT_BOUND = 10_000;
/** Previews are asked for one page of the log at a time. */
const PREVIEW_IDS_MAX = 100;

const errors = { 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 503: ErrorBody };

const CountQuery = Type.Object({ ...FilterParams }, familyParams);
const CountReply = Type.Object({
  success: Type.Literal(true),
  count: Type.Integer({ description: `the number of matching requests, at most ${COUNT_BOUND}` }),
  exact: Type.Boolean({ description: `false when more than ${COUNT_BOUND} requests match (count is then ${COUNT_BOUND})` }),
});

const PreviewQuery = Type.Object(
  {
    ids: Type.String({
      pattern: `^[1-9][0-9]{0,15}(,[1-9][0-9]{0,15}){0,${PREVIEW_IDS_MAX - 1}}$`,
      description: `must be 1 to ${PREVIEW_IDS_MAX} comma-separated request ids`,
    }),
  },
  { additionalProperties: false },
);
const PreviewReply = Type.Object({
  success: Type.Literal(true),
  previews: Type.Array(Type.Object({ id: Type.Integer(), input: Type.String(), output: Type.String() })),
});

/**
 * What the request log shows around a page of search results: how many requests match (bounded,
 * so it stays cheap on a large workspace) and one-line previews of a page's requests.
 */
export function requestGlanceRoutes(app: App, { store, auth }: RouteDeps): void {
  app.get(
    '/v1/requests/count',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: `How many requests match the search filters, exact up to ${COUNT_BOUND}`,
        description: `Takes the filters of \`GET /v1/requests/search\`. Counting stops past ${COUNT_BOUND} matching requests: then \`exact\` is false and \`count\` is ${COUNT_BOUND}.`,
        querystring: CountQuery,
        response: { 200: CountReply, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const filter = filterFromParams(q, q as Record<string, unknown>);
      const n = await store.requests.count(req.auth!.workspaceId, filter, COUNT_BOUND);
      return { success: true as const, count: Math.min(n, COUNT_BOUND), exact: n <= COUNT_BOUND };
    },
  );

  app.get(
    '/v1/requests/previews',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'One-line text previews of requests: the last user message and the answer',
        description: `\`ids\`: up to ${PREVIEW_IDS_MAX} comma-separated request ids; ids of missing requests (or of another workspace) are left out. Each preview is plain text on one line, at most 160 characters.`,
        querystring: PreviewQuery,
        response: { 200: PreviewReply, ...errors },
      },
    },
    async (req) => {
      const ids = [...new Set(req.query.ids.split(',').map(Number))];
      const page = await store.requests.searchContents(req.auth!.workspaceId, {
        filter: { kind: 'number', column: 'id', test: { op: 'in', values: ids } },
        sort: parseSort(undefined, undefined),
        after: null,
        limit: ids.length,
      });
      const previews = page.items.map((row) => {
        const r = parseContent(row);
        return { id: r.id, input: previewOf(r.input, 'input'), output: previewOf(r.output, 'output') };
      });
      return { success: true as const, previews };
    },
  );
}
