import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyCookie from '@fastify/cookie';
import { keyAuthenticator } from './auth/key-auth.js';
import { keyOrSessionAuthenticator } from './auth/sessions.js';
import { LIMITS } from './domain/limits.js';
import { WriteQueue } from './ingest/write-queue.js';
import { registerErrorHandling } from './routes/error-handler.js';
import { registerOpenApi } from './routes/openapi.js';
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
  /** The built dashboard (default: packages/dashboard/dist). */
  dashboardDir?: string;
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
    // A score name (up to 512 characters, URL-encoded) is a path parameter of
    // /v1/requests/{id}/scores/{name}; the default of 100 would answer 414 to valid names.
    routerOptions: { maxParamLength: 8192 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app);

  const queue = new WriteQueue(deps.store, { maxBatch: deps.queueMaxBatch ?? 256, maxPending: deps.queueMaxPending ?? 10_000 });
  app.decorate('writeQueue', queue);
  app.decorateRequest('auth', null);
  app.decorateRequest('session', null);
  await app.register(fastifyCookie);
  // Closing stops intake first (Fastify refuses new requests), then everything queued commits.
  app.addHook('onClose', async () => queue.close());

  const auth = keyAuthenticator(deps.store, app.log);
  // The native API serves programs (API key) and the dashboard (session cookie + CSRF token) alike;
  // the PromptLayer routes (plDeps) stay key-only.
  const routeDeps = { store: deps.store, queue, auth: keyOrSessionAuthenticator(auth, deps.store.accounts), trackBodyLimit, logBodyLimit };
  const plDeps = { ...routeDeps, auth };
  // Before the route plugins: the OpenAPI document is collected from routes as they are added.
  await registerOpenApi(app);
  await app.register(trackRoutes, plDeps);
  await app.register(logRoutes, plDeps);
  await app.register(promptLayerSearchRoutes, plDeps);
  await app.register(scoreRoutes, routeDeps);
  await app.register(scoreAnalyticsRoutes, routeDeps);
  await app.register(requestRoutes, routeDeps);
  await app.register(accountRoutes, { accounts: deps.store.accounts, loginFailuresPerMinute: 60 });
  await app.register(keyRoutes, { store: deps.store });
  await app.register(dashboardRoutes, { accounts: deps.store.accounts, dir: deps.dashboardDir });
  return app;
}
