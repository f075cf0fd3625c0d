import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` makes @fastify/cors skip the route (its documented per-route option, untyped there). */
    cors?: false;
  }
}

/** What the SDKs call the API with. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
// The headers a key-authenticated call sends beyond the CORS-safelisted ones. Deliberately not the
// dashboard's CSRF header: a page of another origin can then never send it, so no session-cookie
// write can pass a preflight, whatever else goes wrong.
const ALLOWED_HEADERS = ['Content-Type', 'X-API-KEY'];
// Browsers hide every answer header that is not safelisted; the SDK reads Retry-After on 429 and 503.
const EXPOSED_HEADERS = ['Retry-After'];
// How long a browser may reuse a preflight answer (Chromium caps it at 2 hours).
const PREFLIGHT_MAX_AGE_S = 600;
// The public API is what the OpenAPI document tags `v1` and `promptlayer`; the dashboard's own
// routes (/ui/api, its pages and assets), health and metrics are not tagged and get no CORS.
const API_TAGS = new Set(['v1', 'promptlayer']);

export interface CorsOptions {
  /** Exact origins (`https://app.example.com`) allowed to call the API from a browser. */
  origins: readonly string[];
}

const isApiRoute = (schema: { tags?: unknown } | undefined): boolean =>
  Array.isArray(schema?.tags) && schema.tags.some((t) => typeof t === 'string' && API_TAGS.has(t));

/** A route URL (`/v1/requests/:id/scores/:name`) as a pattern over request paths. */
function routePattern(url: string): RegExp {
  if (/[*(]/.test(url)) throw new Error(`cors: the API route ${url} uses a wildcard or regex parameter, which preflight matching does not handle`);
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Opt-in CORS for the public API, through @fastify/cors. A browser page of a listed origin may call
 * the `v1` and PromptLayer routes with an API key in `X-API-KEY`; every other origin, every request
 * without an `Origin` header, and every other route (the dashboard's, health, metrics) gets no CORS
 * header at all, and its preflight answers 404 as it would without CORS.
 *
 * `Access-Control-Allow-Credentials` is never sent, so browsers neither attach the dashboard's
 * session cookie to a cross-origin call that asks for it nor let the page read such an answer: a
 * foreign page gets exactly what its API key gives it. With no origins nothing is registered.
 * Must be registered before the routes (it learns the API routes as they are added).
 */
export async function registerCors(app: FastifyInstance, opts: CorsOptions): Promise<void> {
  if (opts.origins.length === 0) return;
  const allowed = new Set(opts.origins);
  const apiPaths: RegExp[] = [];

  app.addHook('onRoute', (route) => {
    // The preflight route @fastify/cors adds for every path; the delegator below judges each one.
    if (route.method === 'OPTIONS' && route.url === '*') return;
    if (isApiRoute(route.schema as { tags?: unknown } | undefined)) apiPaths.push(routePattern(route.url));
    // Skipped before any work, so the dashboard's answers do not even gain `Vary: Origin`.
    else route.config = { ...route.config, cors: false };
  });

  const isApiPath = (url: string): boolean => {
    // The app routes `//rest/track-score` like `/rest/track-score` (ignoreDuplicateSlashes).
    const path = (url.split('?')[0] ?? '').replace(/\/{2,}/g, '/');
    return apiPaths.some((re) => re.test(path));
  };
  const base: FastifyCorsOptions = {
    methods: METHODS,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_S,
    credentials: false,
    strictPreflight: true,
  };
  const originFor = (request: FastifyRequest): string | false => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !allowed.has(origin)) return false;
    if (request.method !== 'OPTIONS') return isApiRoute(request.routeOptions.schema as { tags?: unknown } | undefined) ? origin : false;
    // An OPTIONS call that is not a preflight is answered like any unknown route (404).
    return request.headers['access-control-request-method'] !== undefined && isApiPath(request.url) ? origin : false;
  };
  await app.register(fastifyCors, {
    hook: 'onRequest',
    delegator: (request, callback) => callback(null, { ...base, origin: originFor(request) }),
  });
}
