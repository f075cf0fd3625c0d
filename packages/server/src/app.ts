import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyCookie from '@fastify/cookie';
import { keyAuthenticator } from './auth/key-auth.js';
import { limitAuthFailures, registerKeyRateLimit } from './auth/rate-limits.js';
import { keyOrSessionAuthenticator } from './auth/sessions.js';
import { registerCors } from './routes/cors.js';
import { ExportSlots } from './routes/export-slots.js';
import { LIMITS } from './domain/limits.js';
import { WriteQueue } from './ingest/write-queue.js';
import { createMetrics, instrumentRequests } from './metrics.js';
import { answerClientError, answerFrameworkError, registerErrorHandling } from './routes/error-handler.js';
import { parseJsonWithDepthLimit } from './routes/json-body.js';
import { stopReadsOfGoneClients } from './routes/client-gone.js';
import { checkKeyBeforeBody } from './routes/key-before-body.js';
import { drainRefusedBodies } from './routes/refused-body.js';
import { refuseWhileClosing } from './routes/closing.js';
import { refuseNulCharacters } from './routes/nul-guard.js';
import { feedbackRoutes } from './routes/feedback.js';
import { registerOpenApi } from './routes/openapi.js';
import { opsRoutes } from './routes/ops.js';
import { logRoutes } from './routes/promptlayer/log.js';
import { promptLayerSearchRoutes } from './routes/promptlayer/search.js';
import { trackRoutes } from './routes/promptlayer/track.js';
import { accountRoutes } from './routes/ui/accounts.js';
import { dashboardRoutes } from './routes/ui/dashboard.js';
import { keyRoutes } from './routes/ui/keys.js';
import { feedbackTokenRoutes } from './routes/v1/feedback-tokens.js';
import { requestRoutes } from './routes/v1/requests.js';
import { reviewAgreementRoutes } from './routes/v1/review-agreement.js';
import { reviewQueueRoutes } from './routes/v1/review-queues.js';
import { scoreAnalyticsRoutes } from './routes/v1/score-analytics.js';
import { scoreRoutes } from './routes/v1/scores.js';
import { scoreSchemaRoutes } from './routes/v1/score-schemas.js';
import { alertRoutes } from './routes/v1/alerts.js';
import { webhookRoutes } from './routes/v1/webhooks.js';
import { AlertScheduler } from './events/alert-evaluator.js';
import { WebhookWorker } from './events/webhook-worker.js';
import { costStatsRoutes } from './routes/v1/cost-stats.js';
import { modelPriceRoutes } from './routes/v1/model-prices.js';
import { spanScoreRoutes } from './routes/v1/span-scores.js';
import { traceRoutes } from './routes/v1/traces.js';
import { validatorCompiler } from './routes/validation.js';
import type { Config } from './config.js';
import type { Store } from './store/store.js';

/** What the app runs on besides its settings. */
export interface AppDeps {
  store: Store;
  /** Pino options, or `false` for none (tests); absent: a logger at the configured level. */
  logger?: FastifyServerOptions['logger'];
  /** Process metrics (CPU, memory, event loop) in /metrics; the CLI turns them on. */
  processMetrics?: boolean;
  /** The built dashboard (absent: packages/dashboard/dist). */
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

function loggerOptions(config: Config, given: AppDeps['logger']): FastifyServerOptions['logger'] {
  if (given === undefined) return config.logLevel === 'silent' ? false : { serializers, level: config.logLevel };
  if (given === false) return false;
  return given === true ? { serializers } : { serializers, ...given };
}

/**
 * Builds the HTTP app over a store with a resolved configuration (`loadConfig`, `configWith`):
 * every setting comes from there, none is defaulted here. Only the CLI calls `listen`; tests use
 * `app.inject`.
 */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const { trackBodyLimit, logBodyLimit } = config;
  const logger = loggerOptions(config, deps.logger);
  const app = Fastify({
    logger,
    // Routes that take large bodies (logs, scores, searches) set their own limit.
    bodyLimit: LIMITS.smallBodyBytes,
    // refuseWhileClosing answers those requests, in Tally's shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    frameworkErrors: answerFrameworkError,
    // Only from these proxies do X-Forwarded-For and X-Forwarded-Proto count: they set the client
    // address the failure and rate limits key on, and the https that makes the session cookie Secure.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    clientErrorHandler: answerClientError,
    // A slow client cannot hold a connection: headers must arrive within headersTimeout, the whole
    // request within requestTimeout, and a silent socket is closed after connectionTimeout.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs + 5_000,
    // Node checks those timeouts every connectionsCheckingInterval (30 s by default); check each second.
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    // SDKs append `/path` to the base URL as given, so `PROMPTLAYER_BASE_URL=http://host:8787/`
    // sends `//library-track-score`; route it rather than answer 404.
    // maxParamLength: a score name (up to 512 characters, URL-encoded) is a path parameter of
    // /v1/requests/{id}/scores/{name}; the default of 100 would answer 414 to valid names.
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 8192 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app);
  // First among the hooks, so answers refused early (401, 413, 429) still reach an allowed page.
  await registerCors(app, { origins: config.corsOrigins });
  refuseWhileClosing(app);
  refuseNulCharacters(app);
  parseJsonWithDepthLimit(app, { maxDepth: LIMITS.jsonDepth });
  drainRefusedBodies(app, { maxBytes: LIMITS.drainBytes });

  const metrics = createMetrics({ queueDepth: () => queue.depth, processMetrics: deps.processMetrics ?? false });
  const queue = new WriteQueue(deps.store, { maxBatch: config.queueMaxBatch, maxPending: config.queueMaxPending, onBatch: metrics.observeBatch });
  app.decorate('writeQueue', queue);
  app.decorateRequest('auth', null);
  app.decorateRequest('session', null);
  await app.register(fastifyCookie);
  // Closing stops intake first (Fastify refuses new requests), then everything queued commits.
  app.addHook('onClose', async () => queue.close());

  instrumentRequests(app, metrics);
  await registerKeyRateLimit(app, { maxPerMinute: config.rateLimitPerKey });
  await app.register(opsRoutes, { store: deps.store, metrics });
  const auth = limitAuthFailures(keyAuthenticator(deps.store, app.log), { maxPerMinute: config.authFailuresPerMinute });
  // The native API serves programs (API key) and the dashboard (session cookie + CSRF token) alike;
  // the PromptLayer routes (plDeps) stay key-only.
  const exportSlots = new ExportSlots({ perKey: config.exportsPerKey, inAll: config.exportsInAll });
  const routeDeps = { store: deps.store, queue, auth: keyOrSessionAuthenticator(auth, deps.store.accounts), trackBodyLimit, logBodyLimit, exportThreads: config.exportThreads, exportSlots };
  const plDeps = { ...routeDeps, auth };
  checkKeyBeforeBody(app, [auth, routeDeps.auth]);
  // Before the route plugins: the OpenAPI document is collected from routes as they are added.
  await registerOpenApi(app);
  await app.register(trackRoutes, plDeps);
  await app.register(logRoutes, plDeps);
  // After the PromptLayer write routes, which only queue writes (and read one request by id):
  // the hook would cost each of their calls and stop nothing.
  stopReadsOfGoneClients(app);
  await app.register(promptLayerSearchRoutes, plDeps);
  await app.register(scoreRoutes, routeDeps);
  await app.register(scoreAnalyticsRoutes, routeDeps);
  await app.register(scoreSchemaRoutes, routeDeps);
  await app.register(requestRoutes, routeDeps);
  // Webhooks are sent and alerts evaluated off the request path, by timers that stop when the app closes.
  const worker =
    config.webhookPollMs > 0
      ? new WebhookWorker(deps.store, {
          pollMs: config.webhookPollMs,
          backoffBaseMs: config.webhookBackoffMs,
          timeoutMs: config.webhookTimeoutMs,
          concurrency: config.webhookConcurrency,
          allowedHosts: config.webhookAllowedHosts,
          log: app.log,
        })
      : null;
  const scheduler = config.alertIntervalMs > 0 ? new AlertScheduler(deps.store, { intervalMs: config.alertIntervalMs, publicUrl: config.publicUrl, log: app.log }) : null;
  await app.register(webhookRoutes, { store: deps.store, auth: routeDeps.auth, allowedHosts: config.webhookAllowedHosts, kick: worker ? () => worker.kick() : undefined });
  await app.register(alertRoutes, { store: deps.store, auth: routeDeps.auth, publicUrl: config.publicUrl });
  app.addHook('onReady', async () => {
    worker?.start();
    scheduler?.start();
  });
  app.addHook('preClose', async () => {
    await Promise.all([worker?.stop(), scheduler?.stop()]);
  });
  await app.register(spanScoreRoutes, routeDeps);
  await app.register(modelPriceRoutes, routeDeps);
  await app.register(costStatsRoutes, routeDeps);
  await app.register(traceRoutes, { queue, auth, metrics, bodyLimit: config.tracesBodyLimit, maxSpans: config.tracesMaxSpans });
  await app.register(reviewQueueRoutes, routeDeps);
  await app.register(reviewAgreementRoutes, routeDeps);
  await app.register(feedbackTokenRoutes, routeDeps);
  await app.register(feedbackRoutes, { store: deps.store, queue, perAddress: config.feedbackPerAddress, perToken: config.feedbackPerToken });
  await app.register(accountRoutes, { accounts: deps.store.accounts, loginFailuresPerMinute: config.authFailuresPerMinute, publicUrl: config.publicUrl });
  await app.register(keyRoutes, { store: deps.store });
  await app.register(dashboardRoutes, { accounts: deps.store.accounts, dir: deps.dashboardDir });
  return app;
}
