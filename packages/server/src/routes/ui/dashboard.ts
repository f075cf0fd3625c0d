import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadSession } from '../../auth/sessions.js';
import type { Accounts } from '../../store/accounts.js';

/**
 * The built SPA. In the repository, where `npm run build -w packages/dashboard` writes it (same
 * path from src/ and dist/); in an installed package, the copy `npm pack` put beside dist/
 * (`dashboard/`). The repository's wins even while `npm pack` has its copy in place, so a server
 * started then keeps its files when the copy is removed.
 */
const WORKSPACE = new URL('../../../../dashboard/', import.meta.url);
const inRepository = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('package.json', WORKSPACE), 'utf8')) as { name?: string }).name === '@tally/dashboard';
  } catch {
    return false;
  }
})();
export const DEFAULT_DASHBOARD_DIR = inRepository ? fileURLToPath(new URL('dist/', WORKSPACE)) : fileURLToPath(new URL('../../../dashboard/', import.meta.url));

// Client-side routes of the SPA. Every one answers with index.html; the router takes it from there.
const PUBLIC_PAGES = ['/login', '/setup/:token'];
const PRIVATE_PAGES = ['/', '/requests', '/requests/:id', '/review', '/analytics', '/keys', '/members', '/webhooks', '/alerts'];

// Logged prompts are untrusted; even if some content ever reached the DOM as HTML, no inline or
// foreign script could run. Charts set inline styles, hence 'unsafe-inline' for styles only.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

// Pages of score schemas, review queues and agreement (issues 26 and 27), kept apart from the
// list above so branches that add pages there merge without touching the same line.
const RATING_PAGES = ['/score-schemas', '/queues', '/queues/:id', '/queues/:id/review', '/agreement'];

/**
 * Serves the built dashboard: hashed assets under `/assets/` (cached forever, each sent as its
 * prebuilt .br or .gz when the client accepts one) and index.html for each client route, which
 * browsers must revalidate: after an upgrade it names assets the old one did not. A private page
 * without a session answers 401 (with the same app shell, which shows the sign-in form): nothing
 * about the workspace is in it.
 */
export async function dashboardRoutes(app: FastifyInstance, opts: { accounts: Accounts; dir?: string }): Promise<void> {
  const dir = opts.dir ?? DEFAULT_DASHBOARD_DIR;
  // Assets in a context of their own: their options (a year's cache, a compressed copy chosen by
  // Accept-Encoding, hence Vary) must not reach the page below.
  await app.register(async (assets) => {
    await assets.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/assets/',
      index: false,
      // File names carry a hash of their content: a name never changes what it holds.
      immutable: true,
      maxAge: '365d',
      preCompressed: true,
    });
  });
  // The page itself: reply.sendFile only, no routes, and no cache-control of the plugin's, so the
  // route's no-cache stands.
  await app.register(fastifyStatic, { root: dir, serve: false, cacheControl: false });

  const page = (privatePage: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin').header('cache-control', 'no-cache');
    if (!existsSync(join(dir, 'index.html'))) {
      return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built: run `npm run build` at the repository root.\n');
    }
    if (privatePage && !(await loadSession(opts.accounts, req, { csrf: false }))) reply.code(401);
    return reply.sendFile('index.html');
  };
  for (const url of PUBLIC_PAGES) app.get(url, { schema: { hide: true } }, page(false));
  for (const url of PRIVATE_PAGES) app.get(url, { schema: { hide: true } }, page(true));
  for (const url of RATING_PAGES) app.get(url, { schema: { hide: true } }, page(true));
}
