import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI 3.1 document at `GET /openapi.json`, generated from the route schemas (so it cannot
 * drift from what the server validates), and a human-readable reference at `GET /docs`.
 *
 * Must be registered before the route plugins: @fastify/swagger collects routes as they are added.
 * The reference page is Swagger UI served from the installed package: it works offline, loads
 * nothing from a CDN, and its online spec validator is switched off.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tally API',
        version: '1',
        description:
          'PromptLayer-compatible routes (tag `promptlayer`) and the native API under `/v1` (tag `v1`). Authenticate with an API key in the `X-API-KEY` header (the PromptLayer track calls also take `api_key` in the body). Errors are `{ success: false, message, code }`, the message starting with the offending field.',
      },
      tags: [
        { name: 'promptlayer', description: 'Wire-compatible with the official PromptLayer SDKs' },
        { name: 'v1', description: "Tally's native API: history, score changes, statistics, comparison" },
        { name: 'webhooks', description: 'Signed POSTs on every score change, logged request and alert (docs/webhooks.md)' },
        { name: 'alerts', description: 'Alerts on a score over a window that fire only when its confidence interval is past the threshold' },
        { name: 'feedback', description: "End users' feedback from a web page: a feedback token instead of an API key, CORS for the workspace's feedback origins (docs/feedback.md)" },
      ],
      components: {
        securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-KEY' } },
      },
      security: [{ apiKey: [] }],
    },
  });

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
    theme: { title: 'Tally API reference' },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
