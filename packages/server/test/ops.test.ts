import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { classifyDatabaseError, DatabaseUnavailableError } from '../src/store/database-errors.js';
import type { Store } from '../src/store/store.js';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logBody, logRequest, type TestApp } from './helpers/test-app.js';

/** The store with `ping` replaced, to play a database that hangs or refuses. */
function withPing(store: Store, ping: () => Promise<void>): Store {
  return new Proxy(store, { get: (target, prop, recv) => (prop === 'ping' ? ping : Reflect.get(target, prop, recv)) });
}

describe('database error classification', () => {
  it('maps outages of either backend to 503 unavailable naming the problem, and leaves other errors alone', () => {
    const cases: [unknown, string | null][] = [
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'connection refused'],
      [Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), 'server shutting down'],
      [new Error('Connection terminated unexpectedly'), 'connection lost'],
      [new Error('timeout exceeded when trying to connect'), 'connection timed out'],
      [Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), 'disk is full'],
      [Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' }), 'database file is read-only'],
      [Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }), 'disk I/O error (is the file or its folder writable?)'],
      [Object.assign(new Error('duplicate key'), { code: '23505' }), null],
      [Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }), null],
      [new TypeError('x is undefined'), null],
    ];
    for (const [err, problem] of cases) {
      const mapped = classifyDatabaseError(err);
      assert.equal(mapped?.problem ?? null, problem, String(err));
      if (mapped) {
        assert.ok(mapped instanceof DatabaseUnavailableError);
        assert.equal(mapped.status, 503);
        assert.equal(mapped.retryAfter, 2);
        assert.equal(mapped.message, `database: ${problem}; retry shortly`);
      }
    }
  });
});

for (const backend of BACKENDS) {
  describe(`health, readiness and metrics [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    it('answers /healthz and /readyz with 200 JSON and no key', async () => {
      const health = await t.get('/healthz', { key: null });
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { success: true, status: 'ok' });
      const ready = await t.get('/readyz', { key: null });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { success: true, status: 'ready', database: 'ok' });
    });

    it('reports not ready with 503 JSON and Retry-After when the database refuses or hangs, while /healthz stays up', async () => {
      for (const ping of [
        () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
        () => new Promise<void>(() => {}),
      ]) {
        const app = await buildApp(configWith(), { store: withPing(t.store, ping), logger: false });
        try {
          const started = Date.now();
          const ready = await app.inject({ method: 'GET', url: '/readyz' });
          assert.ok(Date.now() - started < 3000, 'readyz answers within its timeout');
          assert.equal(ready.statusCode, 503);
          assert.equal(ready.headers['retry-after'], '2');
          const body = ready.json();
          assert.equal(body.success, false);
          assert.equal(body.status, 'not ready');
          assert.equal(body.code, 'unavailable');
          assert.match(body.message, /^database: (connection refused|no answer within 1000 ms)$/);
          const health = await app.inject({ method: 'GET', url: '/healthz' });
          assert.equal(health.statusCode, 200);
          const metrics = await app.inject({ method: 'GET', url: '/metrics' });
          assert.match(metrics.body, /tally_database_errors_total\{problem="(connection refused|no answer within 1000 ms)"\} 1/);
        } finally {
          await app.close();
        }
      }
    });

    it('exposes request counts and latency by route pattern, queue depth and batch sizes in Prometheus format', async () => {
      const id = await logRequest(t);
      assert.equal((await t.post('/rest/track-score', { request_id: id, score: 5 })).statusCode, 200);
      assert.equal((await t.get(`/api/public/v2/requests/${id}`)).statusCode, 200);
      assert.equal((await t.post('/rest/track-score', { request_id: id, score: 500 })).statusCode, 400);
      const res = await t.get('/metrics', { key: null });
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
      const text = res.body;
      assert.match(text, /tally_http_requests_total\{method="POST",route="\/log-request",status="201"\} 1/);
      assert.match(text, /tally_http_requests_total\{method="POST",route="\/rest\/track-score",status="200"\} 1/);
      assert.match(text, /tally_http_requests_total\{method="POST",route="\/rest\/track-score",status="400"\} 1/);
      // The route pattern, never the raw URL with its id.
      assert.match(text, /route="\/api\/public\/v2\/requests\/:request_id"|route="\/api\/public\/v2\/requests\/:id"/);
      assert.doesNotMatch(text, new RegExp(`requests/${id}"`));
      // One observation of the logged request's latency (which bucket depends on the machine).
      assert.match(text, /tally_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/log-request",status="201"\} 1/);
      assert.match(text, /tally_http_request_duration_seconds_count\{method="POST",route="\/log-request",status="201"\} 1/);
      assert.match(text, /tally_write_queue_depth 0/);
      assert.match(text, /tally_write_batch_size_count [1-9]/);
    });
  });

  describe(`rate limits [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, { rateLimitPerKey: 5, authFailuresPerMinute: 3 });
    });
    after(() => t.close());

    it('answers 429 JSON with Retry-After once a key passes its per-minute limit, and other keys go on', async () => {
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 7; i++) {
        last = await t.post('/log-request', logBody());
        statuses.push(last.statusCode);
      }
      assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429, 429]);
      assert.ok(last);
      const retry = Number(last.headers['retry-after']);
      assert.ok(retry >= 1 && retry <= 60, `Retry-After ${last.headers['retry-after']}`);
      const body = last.json();
      assert.equal(body.success, false);
      assert.equal(body.code, 'rate_limited');
      assert.match(body.message, /^rate limit: at most 5 requests per minute for this API key; retry in \d+ s$/);
      assert.equal((await t.post('/log-request', logBody(), { key: t.other.key })).statusCode, 201);
      // Health and metrics are not limited.
      for (let i = 0; i < 8; i++) assert.equal((await t.get('/healthz', { key: null })).statusCode, 200);
    });

    it('answers 429 with Retry-After to an address after repeated failed authentications, even with a valid key then', async () => {
      const bad = { 'x-api-key': 'tl_wrong', 'content-type': 'application/json' };
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await t.inject({ method: 'POST', url: '/rest/track-score', remoteAddress: '10.9.8.7', headers: bad, payload: '{}' })).statusCode);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      const blocked = await t.inject({ method: 'POST', url: '/log-request', remoteAddress: '10.9.8.7', headers: { 'x-api-key': t.other.key }, payload: logBody() });
      assert.equal(blocked.statusCode, 429);
      assert.ok(Number(blocked.headers['retry-after']) >= 1);
      assert.equal(blocked.json().code, 'rate_limited');
      assert.match(blocked.json().message, /^authentication: too many failed attempts from this address; retry in \d+ s$/);
      // Another address is not affected.
      const fine = await t.inject({ method: 'POST', url: '/log-request', remoteAddress: '10.9.8.8', headers: { 'x-api-key': t.other.key }, payload: logBody() });
      assert.equal(fine.statusCode, 201);
    });
  });
}
