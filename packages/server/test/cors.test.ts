import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { ConfigError, loadConfig } from '../src/config.js';
import { BACKENDS } from './helpers/backends.js';
import { addDashboardUser } from './helpers/dashboard-users.js';
import { createTestApp, logBody, logRequest, type TestApp } from './helpers/test-app.js';

const APP = 'https://app.example.com';
const DEV = 'http://localhost:5173';
const ORIGINS = [APP, DEV];

/** The CORS headers of an answer (every `access-control-*` header), by name. */
const corsHeaders = (res: LightMyRequestResponse): Record<string, unknown> =>
  Object.fromEntries(Object.entries(res.headers).filter(([name]) => name.startsWith('access-control-')));

const preflight = (t: TestApp, url: string, origin: string, method: string, requestHeaders = 'content-type,x-api-key') =>
  t.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders } });

/** What an allowed origin's preflight answers, exactly. */
const grantedPreflight = (origin: string) => ({
  'access-control-allow-origin': origin,
  'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
  'access-control-allow-headers': 'Content-Type, X-API-KEY',
  'access-control-expose-headers': 'Retry-After',
  'access-control-max-age': '600',
});

// One preflight per kind of API route the SDKs call, with the method they use.
const API_CALLS: [string, string][] = [
  ['POST', '/log-request'],
  ['POST', '/rest/track-score'],
  ['POST', '//rest/track-score'],
  ['POST', '/create-group'],
  ['GET', '/api/public/v2/requests/7'],
  ['POST', '/v1/requests/search'],
  ['GET', '/v1/requests/search?limit=5'],
  ['GET', '/v1/requests/7'],
  ['PUT', '/v1/requests/7/scores/quality'],
  ['DELETE', '/v1/requests/7/scores/with%20space'],
  ['GET', '/v1/requests/export?format=csv'],
  ['POST', '/v1/scores/batch'],
];

describe('--cors-origins / TALLY_CORS_ORIGINS', () => {
  it('defaults to no origins', () => {
    assert.deepEqual(loadConfig({}, {}).corsOrigins, []);
    assert.deepEqual(loadConfig({}, { TALLY_CORS_ORIGINS: '' }).corsOrigins, []);
  });

  it('reads a comma-separated list from the flag or the variable, the flag winning', () => {
    assert.deepEqual(loadConfig({}, { TALLY_CORS_ORIGINS: `${APP}, ${DEV},` }).corsOrigins, [APP, DEV]);
    assert.deepEqual(loadConfig({ corsOrigins: 'http://127.0.0.1:3000' }, { TALLY_CORS_ORIGINS: APP }).corsOrigins, ['http://127.0.0.1:3000']);
  });

  it('refuses what is not an origin as browsers send it, naming the setting and the value', () => {
    const cases: [string, RegExp][] = [
      ['https://app.example.com/', /"https:\/\/app\.example\.com\/" is not an origin .*did you mean "https:\/\/app\.example\.com"\?$/],
      ['https://App.Example.com', /did you mean "https:\/\/app\.example\.com"\?$/],
      ['https://app.example.com:443', /did you mean "https:\/\/app\.example\.com"\?$/],
      ['https://app.example.com/path', /did you mean "https:\/\/app\.example\.com"\?$/],
      ['*', /"\*" is not an origin .*no wildcard$/],
      ['null', /"null" is not an origin/],
      ['app.example.com', /"app\.example\.com" is not an origin/],
      ['file:///tmp/x.html', /"file:\/\/\/tmp\/x\.html" is not an origin/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => loadConfig({}, { TALLY_CORS_ORIGINS: `${APP},${value}` }),
        (err: unknown) => err instanceof ConfigError && err.message.startsWith('invalid setting --cors-origins / TALLY_CORS_ORIGINS: ') && message.test(err.message),
        value,
      );
    }
  });
});

for (const backend of BACKENDS) {
  describe(`CORS for browser pages calling the API with a key [${backend}]`, () => {
    let plain: TestApp;
    let t: TestApp;
    let requestId: number;
    // Every answer of the CORS-enabled app, to check that none ever allows credentials.
    const answers: LightMyRequestResponse[] = [];
    before(async () => {
      plain = await createTestApp(backend);
      t = await createTestApp(backend, { corsOrigins: ORIGINS });
      const inject = t.inject;
      t.inject = async (opts) => {
        const res = await inject(opts);
        answers.push(res);
        return res;
      };
      requestId = await logRequest(t);
    });
    after(async () => {
      await plain?.close();
      await t?.close();
    });

    it('by default sends no CORS header: a preflight answers 404 and a call has no Access-Control-* header', async () => {
      for (const [method, url] of API_CALLS) {
        const res = await preflight(plain, url, APP, method);
        assert.equal(res.statusCode, 404, `${method} ${url}`);
        assert.equal((res.json() as { code: string }).code, 'not_found');
        assert.deepEqual(corsHeaders(res), {}, `${method} ${url}`);
      }
      const id = await logRequest(plain);
      const res = await plain.inject({ method: 'GET', url: `/v1/requests/${id}`, headers: { origin: APP, 'x-api-key': plain.alpha.key } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(corsHeaders(res), {});
      assert.equal(res.headers.vary, undefined);
    });

    it('answers the preflight of every API route from an allowed origin with the origin, GET/POST/PUT/DELETE and X-API-KEY', async () => {
      for (const origin of ORIGINS) {
        for (const [method, url] of API_CALLS) {
          const res = await preflight(t, url, origin, method);
          assert.equal(res.statusCode, 204, `${origin} ${method} ${url}: ${res.body}`);
          assert.deepEqual(corsHeaders(res), grantedPreflight(origin), `${origin} ${method} ${url}`);
          assert.match(String(res.headers.vary), /\bOrigin\b/);
          assert.equal(res.body, '');
        }
      }
    });

    it('gives a disallowed origin no CORS header at all: its preflight answers 404', async () => {
      const others = ['https://evil.example.com', 'http://app.example.com', 'https://app.example.com.evil.com', 'https://app.example.com:8443', 'null', 'http://localhost:5174'];
      for (const origin of others) {
        for (const [method, url] of API_CALLS) {
          const res = await preflight(t, url, origin, method);
          assert.equal(res.statusCode, 404, `${origin} ${method} ${url}`);
          assert.deepEqual(corsHeaders(res), {}, `${origin} ${method} ${url}`);
        }
        const call = await t.inject({ method: 'GET', url: `/v1/requests/${requestId}`, headers: { origin, 'x-api-key': t.alpha.key } });
        assert.equal(call.statusCode, 200);
        assert.deepEqual(corsHeaders(call), {}, origin);
      }
    });

    it('a cross-origin call with X-API-KEY is served, with the origin allowed and Retry-After exposed', async () => {
      const logged = await t.inject({ method: 'POST', url: '/log-request', headers: { origin: APP, 'x-api-key': t.alpha.key }, payload: logBody({ tags: ['from-a-page'] }) });
      assert.equal(logged.statusCode, 201, logged.body);
      assert.deepEqual(corsHeaders(logged), { 'access-control-allow-origin': APP, 'access-control-expose-headers': 'Retry-After' });
      const id = (logged.json() as { id: number }).id;

      const scored = await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/quality`, headers: { origin: APP, 'x-api-key': t.alpha.key }, payload: { score: 77 } });
      assert.equal(scored.statusCode, 200, scored.body);
      assert.equal(corsHeaders(scored)['access-control-allow-origin'], APP);

      const read = await t.inject({ method: 'GET', url: `/v1/requests/${id}`, headers: { origin: DEV, 'x-api-key': t.alpha.key } });
      assert.equal(read.statusCode, 200);
      assert.equal(corsHeaders(read)['access-control-allow-origin'], DEV);
      const request = (read.json() as { request: { tags: string[]; scores: Record<string, number> } }).request;
      assert.deepEqual([request.tags, request.scores], [['from-a-page'], { quality: 77 }]);
    });

    it("error answers reach an allowed page too, so the SDK can read them: 401 for a wrong key, 400 naming the field", async () => {
      const wrongKey = await t.inject({ method: 'GET', url: `/v1/requests/${requestId}`, headers: { origin: APP, 'x-api-key': 'tl_not_a_key' } });
      assert.equal(wrongKey.statusCode, 401);
      assert.equal(corsHeaders(wrongKey)['access-control-allow-origin'], APP);
      assert.equal((wrongKey.json() as { code: string }).code, 'unauthorized');

      const bad = await t.inject({ method: 'POST', url: '/rest/track-score', headers: { origin: APP, 'x-api-key': t.alpha.key }, payload: { request_id: requestId, score: 101 } });
      assert.equal(bad.statusCode, 400);
      assert.equal(corsHeaders(bad)['access-control-allow-origin'], APP);
      assert.match((bad.json() as { message: string }).message, /^score: /);
    });

    it("never covers the dashboard's routes, health or metrics, even from an allowed origin", async () => {
      for (const [method, url] of [['POST', '/ui/api/login'], ['GET', '/ui/api/session'], ['POST', '/ui/api/keys'], ['PUT', '/ui/api/session/workspace'], ['DELETE', '/ui/api/keys/1'], ['GET', '/requests'], ['GET', '/healthz'], ['GET', '/metrics']] as const) {
        const pre = await preflight(t, url, APP, method);
        assert.equal(pre.statusCode, 404, `${method} ${url}`);
        assert.deepEqual(corsHeaders(pre), {}, `${method} ${url}`);
      }
      for (const url of ['/ui/api/session', '/healthz', '/requests']) {
        const res = await t.inject({ method: 'GET', url, headers: { origin: APP } });
        assert.deepEqual(corsHeaders(res), {}, url);
        assert.equal(res.headers.vary, undefined, url);
      }
    });

    it("does not weaken the dashboard session: no credentials, and the CSRF header is not allowed in a preflight", async () => {
      const pre = await preflight(t, `/v1/requests/${requestId}/scores/quality`, APP, 'PUT', 'content-type,x-csrf-token');
      assert.equal(pre.statusCode, 204);
      assert.equal(pre.headers['access-control-allow-headers'], 'Content-Type, X-API-KEY');
      assert.equal(pre.headers['access-control-allow-credentials'], undefined);

      // A session-cookie read from an allowed origin: answered (the browser sent no cookie unless the
      // page asked for credentials, and without Allow-Credentials it will not hand this answer over).
      const user = await addDashboardUser(t, t.alpha.workspace, 'cors@example.com', 'a long enough password');
      const read = await t.inject({ method: 'GET', url: `/v1/requests/${requestId}`, headers: { origin: APP, cookie: `tally_session=${user.browser.cookie}` } });
      assert.equal(read.statusCode, 200);
      assert.equal(read.headers['access-control-allow-origin'], APP);
      assert.equal(read.headers['access-control-allow-credentials'], undefined);

      assert.ok(answers.length > 100, `answers seen: ${answers.length}`);
      assert.deepEqual(answers.filter((a) => 'access-control-allow-credentials' in a.headers).map((a) => a.headers), []);
    });
  });

  describe(`CORS and the auth-failure limit [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, { corsOrigins: [APP], authFailuresPerMinute: 2 });
    });
    after(() => t?.close());

    it('a 429 with Retry-After reaches an allowed page with Retry-After exposed', async () => {
      const statuses: number[] = [];
      let last: LightMyRequestResponse | undefined;
      for (let i = 0; i < 3; i++) {
        last = await t.inject({ method: 'POST', url: '/v1/requests/search', headers: { origin: APP, 'x-api-key': 'tl_wrong' }, payload: {} });
        statuses.push(last.statusCode);
      }
      assert.deepEqual(statuses, [401, 401, 429]);
      assert.match(String(last!.headers['retry-after']), /^[1-9]\d*$/);
      assert.deepEqual(corsHeaders(last!), { 'access-control-allow-origin': APP, 'access-control-expose-headers': 'Retry-After' });
    });
  });
}
