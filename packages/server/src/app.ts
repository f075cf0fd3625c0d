import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyCookie from '@fastify/cookie';
import { keyAuthenticator } from './auth/key-auth.js';
import { limitAuthFailures, registerKeyRateLimit } from './auth/rate-limits.js';
import { keyOrSessionAuthenticator } from './auth/sessions.js';
import { registerCors } from './routes/cors.js';
import { DEFAULT_EXPORT_LIMITS, ExportSlots } from './routes/export-slots.js';
import { LIMITS } from './domain/limits.js';
import { WriteQueue } from './ingest/write-queue.js';
import { createMetrics, instrumentRequests } from './metrics.js';
import { answerFrameworkError, registerErrorHandling } from './routes/error-handler.js';
import { refuseNulCharacters } from './routes/nul-guard.js';
import { registerOpenApi } from './routes/openapi.js';
import { opsRoutes } from './routes/ops.js';
import { logRoutes } from './routes/promptlayer/log.js';
import { promptLayerSearchRoutes } from './routes/promptlayer/search.js';
import { trackRoutes } from './routes/promptlayer/track.js';
import { accountRoutes } from './routes/ui/accounts.js';
import { dashboardRoutes } from './routes/ui/dashboard.js';
import { keyRoutes } from './routes/ui/keys.js';
import { requestRoutes } from './routes/v1/requests.js';
import { scoreAnalyticsRoutes } from './routes/v1/score-analytics.js';
import { scoreRoutes } from './routes/v1/scores.js';
import { validatorCompiler } from './routes/validation.js';
import type { Store } from './store/store.js';

export interface AppDeps {
  store: Store;
  /** Pino options, `false` for none (tests). */
  logger?: FastifyServerOptions['logger'];
  trackBodyLimit?: number;
  logBodyLimit?: number;
  queueMaxBatch?: number;
  queueMaxPending?: number;
  /** Requests per API key per minute (429 above); 0 for no limit. Default 60000. */
  rateLimitPerKey?: number;
  /** Failed authentications per client address per minute (429 above); 0 for no limit. Default 60. */
  authFailuresPerMinute?: number;
  /** Most time a request may take from its first byte to its answer, ms (408 after). Default 60000. */
  requestTimeoutMs?: number;
  /**
   * Threads one export is split among (see export-stream.ts); 1 (the default): one thread per
   * export, several exports at once each on its own.
   */
  exportThreads?: number;
  /** Exports streaming at once per API key (or dashboard user) and in all (429 beyond); 0 for no limit. Defaults 2 and 4. */
  exportsPerKey?: number;
  exportsInAll?: number;
  /** Most time a client may take to send the request headers, ms. Default 15000. */
  headersTimeoutMs?: number;
  /** Process metrics (CPU, memory, event loop) in /metrics; the CLI turns them on. */
  processMetrics?: boolean;
  /** The built dashboard (default: packages/dashboard/dist). */
  dashboardDir?: string;
  /**
   * Exact browser origins (`https://app.example.com`) allowed to call the API with a key (CORS,
   * never with cookies). Default none: no CORS headers at all.
   */
  corsOrigins?: readonly string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    writeQueue: WriteQueue;
  }
}

/**
 * Logs carry an allowlist: method, route pattern, status, timing and the request's id. Never
 * headers (keys), bodies (prompts) or query strings.
 */
const serializers = {
  req: (req: { method: string; routeOptions?: { url?: string }; id: string }) => ({ id: req.id, method: req.method, route: req.routeOptions?.url ?? 'unmatched' }),
  res: (res: { statusCode: number }) => ({ status: res.statusCode }),
};

/** Builds the HTTP app over a store. Only the CLI calls `listen`; tests use `app.inject`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const trackBodyLimit = deps.trackBodyLimit ?? LIMITS.trackBodyBytes;
  const logBodyLimit = deps.logBodyLimit ?? LIMITS.logBodyBytes;
  const logger = deps.logger === undefined || deps.logger === false ? false : deps.logger === true ? { serializers } : { serializers, ...deps.logger };
  const app = Fastify({
    logger,
    bodyLimit: Math.max(trackBodyLimit, logBodyLimit),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    frameworkErrors: answerFrameworkError,
    // A slow client cannot hold a connection: headers must arrive within headersTimeout, the whole
    // request within requestTimeout, and a silent socket is closed after connectionTimeout.
    requestTimeout: deps.requestTimeoutMs ?? 60_000,
    connectionTimeout: (deps.requestTimeoutMs ?? 60_000) + 5_000,
    // Node checks those timeouts every connectionsCheckingInterval (30 s by default); check each second.
    http: { headersTimeout: deps.headersTimeoutMs ?? 15_000, connectionsCheckingInterval: 1000 },
    // SDKs append `/path` to the base URL as given, so `PROMPTLAYER_BASE_URL=http://host:8787/`
    // sends `//library-track-score`; route it rather than answer 404.
    // maxParamLength: a score name (up to 512 characters, URL-encoded) is a path parameter of
    // /v1/requests/{id}/scores/{name}; the default of 100 would answer 414 to valid names.
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 8192 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app);
  // First among the hooks, so answers refused early (401, 413, 429) still reach an allowed page.
  await registerCors(app, { origins: deps.corsOrigins ?? [] });
  refuseNulCharacters(app);

  const metrics = createMetrics({ queueDepth: () => queue.depth, processMetrics: deps.processMetrics ?? false });
  const queue = new WriteQueue(deps.store, { maxBatch: deps.queueMaxBatch ?? 256, maxPending: deps.queueMaxPending ?? 10_000, onBatch: metrics.observeBatch });
  app.decorate('writeQueue', queue);
  app.decorateRequest('auth', null);
  app.decorateRequest('session', null);
  await app.register(fastifyCookie);
  // Closing stops intake first (Fastify refuses new requests), then everything queued commits.
  app.addHook('onClose', async () => queue.close());

  instrumentRequests(app, metrics);
  await registerKeyRateLimit(app, { maxPerMinute: deps.rateLimitPerKey ?? 60_000 });
  await app.register(opsRoutes, { store: deps.store, metrics });
  const auth = limitAuthFailures(keyAuthenticator(deps.store, app.log), { maxPerMinute: deps.authFailuresPerMinute ?? 60 });
  // The native API serves programs (API key) and the dashboard (session cookie + CSRF token) alike;
  // the PromptLayer routes (plDeps) stay key-only.
  const exportSlots = new ExportSlots({ perKey: deps.exportsPerKey ?? DEFAULT_EXPORT_LIMITS.perKey, inAll: deps.exportsInAll ?? DEFAULT_EXPORT_LIMITS.inAll });
  const routeDeps = { store: deps.store, queue, auth: keyOrSessionAuthenticator(auth, deps.store.accounts), trackBodyLimit, logBodyLimit, exportThreads: deps.exportThreads ?? 1, exportSlots };
  const plDeps = { ...routeDeps, auth };
  // Before the route plugins: the OpenAPI document is collected from routes as they are added.
  await registerOpenApi(app);
  await app.register(trackRoutes, plDeps);
  await app.register(logRoutes, plDeps);
  await app.register(promptLayerSearchRoutes, plDeps);
  await app.register(scoreRoutes, routeDeps);
  await app.register(scoreAnalyticsRoutes, routeDeps);
  await app.register(requestRoutes, routeDeps);
  await app.register(accountRoutes, { accounts: deps.store.accounts, loginFailuresPerMinute: deps.authFailuresPerMinute ?? 60 });
  await app.register(keyRoutes, { store: deps.store });
  await app.register(dashboardRoutes, { accounts: deps.store.accounts, dir: deps.dashboardDir });
  return app;
}
