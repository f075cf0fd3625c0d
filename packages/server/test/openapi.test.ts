import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

interface Operation {
  tags?: string[];
  summary?: string;
  responses?: Record<string, unknown>;
}
interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

/**
 * Every route the app serves, read from Fastify's route tree (`printRoutes` with no common
 * prefix): each line is a path segment appended to its parent's path, with its methods.
 */
function servedRoutes(t: TestApp): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of t.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack[depth] = path;
    for (const method of m[3]!.split(', ')) out.push({ method, path });
  }
  return out;
}

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

// The API surface the document must cover: PromptLayer's routes and the native /v1 API. The
// dashboard's own pages and session API, health checks and the docs themselves are not part of it.
const isApiRoute = (method: string, path: string) =>
  method !== 'HEAD' && (path.startsWith('/v1/') || path.startsWith('/api/public/') || (method === 'POST' && !path.startsWith('/ui/')));

for (const backend of BACKENDS) {
  describe(`OpenAPI document and reference page [${backend}]`, () => {
    let t: TestApp;
    let doc: OpenApiDoc;
    before(async () => {
      t = await createTestApp(backend);
      const res = await t.get('/openapi.json', { key: null });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /application\/json/);
      doc = res.json() as OpenApiDoc;
    });
    after(() => t.close());

    it('is an OpenAPI 3.1 document, served without a key', () => {
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(doc.info.title, 'Tally API');
    });

    it('lists every PromptLayer and /v1 route the server serves, with its method', () => {
      const api = servedRoutes(t).filter((r) => isApiRoute(r.method, r.path));
      // The tree parse must have found the routes at all (guards against a silently empty list).
      for (const expected of ['/rest/track-score', '/library-track-score', '/log-request', '/track-request', '/create-group', '/v1/scores/batch']) {
        assert.ok(api.some((r) => r.path === expected), `route tree lacks ${expected}`);
      }
      const missing = api.filter((r) => doc.paths[toOpenApiPath(r.path)]?.[r.method.toLowerCase()] === undefined);
      assert.deepEqual(missing, []);
    });

    it('documents the score history, change, statistics and compare routes with their responses', () => {
      const expected: [string, string, string][] = [
        ['/v1/requests/{id}/scores/history', 'get', '200'],
        ['/v1/score-events', 'get', '200'],
        ['/v1/requests/{id}/scores/{name}', 'put', '200'],
        ['/v1/requests/{id}/scores/{name}', 'delete', '200'],
        ['/v1/scores/batch', 'post', '200'],
        ['/v1/scores/stats', 'get', '200'],
        ['/v1/scores/compare', 'get', '200'],
        ['/log-request', 'post', '201'],
        ['/rest/track-score', 'post', '200'],
        ['/api/public/v2/requests/{request_id}', 'get', '200'],
      ];
      for (const [path, method, status] of expected) {
        const op = doc.paths[path]?.[method];
        assert.ok(op, `${method.toUpperCase()} ${path} is not documented`);
        assert.ok(op.responses?.[status], `${method.toUpperCase()} ${path} has no ${status} response`);
        assert.ok(op.responses?.['400'] ?? op.responses?.['401'], `${method.toUpperCase()} ${path} documents no error response`);
        assert.ok(op.summary && op.summary.length > 0, `${method.toUpperCase()} ${path} has no summary`);
      }
      assert.deepEqual(doc.paths['/v1/scores/stats']!.get!.tags, ['v1']);
      assert.deepEqual(doc.paths['/rest/track-score']!.post!.tags, ['promptlayer']);
    });

    it('declares on every API route the refusals any of them can give: 429 past a rate limit, 503 when the store is away', () => {
      // Left out: routes that only refuse (a method feedback does not take), and CORS preflights,
      // answered before any key or store is looked at.
      const answers = (r: { method: string; path: string }) => doc.paths[toOpenApiPath(r.path)]?.[r.method.toLowerCase()]?.responses ?? {};
      const api = servedRoutes(t).filter((r) => isApiRoute(r.method, r.path) && r.method !== 'OPTIONS' && Object.keys(answers(r)).some((code) => code.startsWith('2')));
      const lacking = api.flatMap((r) => {
        const responses = answers(r);
        return ['429', '503'].filter((code) => !(code in responses)).map((code) => `${r.method} ${r.path}: ${code}`);
      });
      assert.ok(api.length > 50, `found ${api.length} API routes`);
      assert.deepEqual(lacking, []);
    });

    it('lists no route the server does not serve', () => {
      for (const [path, methods] of Object.entries(doc.paths)) {
        for (const method of Object.keys(methods)) {
          assert.ok(t.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{([^}]+)\}/g, ':$1') }), `${method} ${path} is not served`);
        }
      }
    });

    it('serves a human-readable reference at /docs whose assets all come from this server', async () => {
      const res = await t.get('/docs', { key: null });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/html/);
      assert.match(res.body, /<html/i);
      assert.match(res.body, /Tally API reference/);
      const assets = [...res.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(assets.length > 0);
      for (const asset of assets) {
        assert.ok(asset.startsWith('/docs/'), `asset ${asset} is not served by Tally`);
        const a = await t.get(asset, { key: null });
        assert.equal(a.statusCode, 200, `asset ${asset} answered ${a.statusCode}`);
      }
      // The page loads the same document /openapi.json serves.
      const json = await t.get('/docs/json', { key: null });
      assert.equal(json.statusCode, 200);
      assert.equal(json.json().openapi, '3.1.0');
      assert.deepEqual(Object.keys(json.json().paths).sort(), Object.keys(doc.paths).sort());
    });
  });
}
