import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS } from './helpers/backends.js';
import { countRows, listRoutes, type RouteEntry } from './helpers/routes.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

/**
 * Hostile input at every route the app serves (read from the router, so later routes are fuzzed
 * too). The rule checked on every case: never a 5xx; every 4xx is the JSON error shape and writes
 * nothing (row counts of every table are unchanged); a 2xx happens only when the random body is
 * valid for the route (reads, or a write whose body passed validation), and carries no
 * `success: false`. `TALLY_FUZZ_RUNS` sets the random cases per route (default 40).
 */
const RUNS = Number(process.env.TALLY_FUZZ_RUNS ?? 40);

const FIELDS = [
  'request_id', 'score', 'name', 'metadata', 'tags', 'provider', 'model', 'input', 'output', 'request_start_time', 'request_end_time',
  'prompt_name', 'prompt_input_variables', 'version', 'label', 'group_id', 'function_name', 'provider_type', 'kwargs', 'request_response',
  'filter_group', 'filters', 'q', 'page', 'per_page', 'sort_by', 'sort_order', 'items', 'value', 'comment', 'score_name', 'status',
  'error_type', 'error_message', 'price', 'input_tokens', 'api_key', 'email', 'password', 'token', 'workspace_id', 'workspace', 'role',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
];

// Raw JSON text, so numbers JSON.stringify cannot write (1e309, -0, 100.0) and duplicate keys are sent.
const rawAtom = fc.oneof(
  fc.constantFrom(
    '1e309', '-1e309', '-0', '100.0', '"100"', '1e-400', '9007199254740993', '0.5', '-1', '101', '100', '0', '1E2', 'null', 'true', 'false',
    '[]', '{}', '"\\ud800"', '"a\\udc00b"', '"\\u0000"', '"x\\u0000y"', '""', '" "', '"<script>alert(1)</script>"', '"\'; drop table requests; --"',
    '"2024-13-45T99:99:99Z"', '"1732712345"', '-9223372036854775809', '1.7976931348623157e308', '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
  ),
  fc.string().map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.integer({ min: 1000, max: 300_000 }).map((n) => JSON.stringify('x'.repeat(n))),
  fc.integer({ min: 300, max: 20_000 }).map((n) => `[${new Array<string>(n).fill('"t"').join(',')}]`),
  fc.integer({ min: 50, max: 3000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 50, max: 3000 }).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)),
);
const rawKey = fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 20 }), fc.constantFrom('\\u0000', '\\ud800', 'x'.repeat(5000)));
const { rawValue } = fc.letrec<{ rawValue: string; rawObject: string; rawArray: string }>((tie) => ({
  rawValue: fc.oneof({ depthSize: 'small', withCrossShrink: true }, rawAtom, tie('rawObject'), tie('rawArray')),
  rawObject: fc
    .array(fc.tuple(rawKey, tie('rawValue')), { maxLength: 8 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k).replace(/\\\\u/g, '\\u')}:${v}`).join(',')}}`),
  rawArray: fc.array(tie('rawValue'), { maxLength: 6 }).map((items) => `[${items.join(',')}]`),
}));

// A valid body with one field replaced by a hostile value, or repeated (duplicate keys): these reach
// past the first validation error into the handlers.
const nearValid = (bases: Record<string, unknown>[]) =>
  fc.tuple(fc.constantFrom(...bases), fc.constantFrom(...FIELDS), rawValue, fc.boolean()).map(([base, field, value, duplicate]) => {
    const entries = Object.entries(base).map(([k, v]) => [JSON.stringify(k), JSON.stringify(v)] as [string, string]);
    const i = entries.findIndex(([k]) => k === JSON.stringify(field));
    if (i >= 0 && !duplicate) entries[i]![1] = value;
    else entries.push([JSON.stringify(field), value]);
    return `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`;
  });

const INVALID_UTF8 = [
  Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","score":5,"request_id":1}')]),
  Buffer.concat([Buffer.from('{"metadata":{"k":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"},"request_id":1}')]),
  Buffer.from([0xc0, 0xaf, 0x7b, 0x7d]),
];

const CONTENT_TYPES = [
  'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json; charset=latin1', 'application/xml', null,
];

const pathValue = fc.oneof(
  fc.nat({ max: 1_000_000 }).map(String),
  fc.constantFrom('-1', '0', '1e309', '99999999999999999999999', '%00', '%ED%A0%80', '%FF', 'abc', '..%2F..%2Fetc', '1.5', '%20', 'x'.repeat(9000), '__proto__', 'constructor'),
  fc.string({ maxLength: 30 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))),
);

const queryString = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS, 'from', 'to', 'interval', 'after', 'limit', 'format', 'cursor', 'a[b]', '__proto__[x]'), fc.string({ maxLength: 10 })), fc.oneof(pathValue, fc.constantFrom('', '1e309', '-0', '100.0', 'true', '[]'))), { maxLength: 6 })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k.replace(/[\ud800-\udfff]/g, ''))}=${v}`).join('&'));

interface Tally {
  cases: number;
  byStatus: Map<number, number>;
}

for (const backend of BACKENDS) {
  describe(`fuzzing every route with hostile input [${backend}]`, () => {
    let t: TestApp;
    let routes: RouteEntry[];
    let requestId = 0;
    const tally: Tally = { cases: 0, byStatus: new Map() };
    before(async () => {
      // A stand-in for the built dashboard, so its pages answer whether or not it was built here.
      const dashboardDir = mkdtempSync(join(tmpdir(), 'tally-fuzz-ui-'));
      mkdirSync(join(dashboardDir, 'assets'));
      writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>Tally</title>');
      writeFileSync(join(dashboardDir, 'assets', 'app.js'), 'void 0;');
      t = await createTestApp(backend, { rateLimitPerKey: 0, authFailuresPerMinute: 0, trackBodyLimit: 256 * 1024, logBodyLimit: 1024 * 1024, dashboardDir } as Parameters<typeof createTestApp>[1]);
      routes = listRoutes(t.app);
      requestId = await logRequest(t, { tags: ['fuzz'], metadata: { k: 'v' }, score: 10, score_name: 'base' });
    });
    after(async () => {
      const health = await t.get('/healthz', { key: null });
      assert.equal(health.statusCode, 200, 'the app still serves after fuzzing');
      console.log(`fuzz [${backend}]: ${tally.cases} cases over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries([...tally.byStatus].sort((a, b) => a[0] - b[0])))}`);
      await t.close();
    });

    const fillPath = (url: string, values: string[]) => {
      let i = 0;
      return url.replace(/:[a-z_]+|\*/gi, () => values[i++ % values.length] ?? '1');
    };

    async function check(route: RouteEntry, opts: InjectOptions, label: string): Promise<LightMyRequestResponse> {
      const db = (t.store as SqlStore).db;
      const beforeRows = await countRows(db, backend);
      const res = await t.inject(opts);
      tally.cases++;
      tally.byStatus.set(res.statusCode, (tally.byStatus.get(res.statusCode) ?? 0) + 1);
      const what = `${route.method} ${route.url} ${label}: ${res.statusCode} ${res.body.slice(0, 300)}`;
      assert.ok(res.statusCode < 500, `never a 5xx: ${what}`);
      if (route.method === 'GET' && /^text\/html/.test(String(res.headers['content-type']))) {
        // The dashboard's pages: the same HTML app shell, 401 without a session (documented in
        // routes/ui/dashboard.ts); they read no input and write nothing.
        assert.ok(res.statusCode === 200 || res.statusCode === 401, what);
        assert.deepEqual(await countRows(db, backend), beforeRows, what);
      } else if (res.statusCode >= 400) {
        assert.match(String(res.headers['content-type']), /^application\/json/, what);
        const body = res.json() as { success?: unknown; message?: unknown; code?: unknown };
        assert.equal(body.success, false, what);
        assert.equal(typeof body.message, 'string', what);
        assert.equal(typeof body.code, 'string', what);
        assert.deepEqual(await countRows(db, backend), beforeRows, `a refused call wrote nothing: ${what}`);
      } else if (res.statusCode >= 300) {
        assert.equal(route.method, 'GET', `redirects only for pages: ${what}`);
      } else if (/json/.test(String(res.headers['content-type']))) {
        assert.notEqual((res.json() as { success?: unknown }).success, false, what);
      }
      return res;
    }

    it('answers every route, with hostile paths, queries and bodies, never with a 5xx', { timeout: 20 * 60_000 }, async () => {
      const bases = [
        { request_id: requestId, score: 50, name: 'fz' },
        { request_id: requestId, metadata: { a: 'b' } },
        { request_id: requestId, prompt_name: 'p', prompt_input_variables: {}, version: 1 },
        { provider: 'openai', model: 'm', input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] }, request_start_time: 1732712345, request_end_time: 1732712346, tags: ['a'], metadata: { k: 'v' } },
        { items: [{ request_id: requestId, name: 'fz', value: 3 }] },
        { value: 7 },
        { filter_group: { logic: 'AND', filters: [] }, page: 1, per_page: 10 },
      ];
      const keyMode = fc.constantFrom('header', 'header', 'header', 'none', 'wrong', 'other');
      for (const route of routes) {
        const hasBody = route.method !== 'GET' && route.method !== 'DELETE';
        const body = hasBody ? fc.oneof(rawValue, nearValid(bases), nearValid(bases), fc.constantFrom(...INVALID_UTF8)) : fc.constant(undefined);
        await fc.assert(
          fc.asyncProperty(fc.array(pathValue, { minLength: 1, maxLength: 3 }), queryString, body, fc.constantFrom(...CONTENT_TYPES), keyMode, async (params, query, payload, type, key) => {
            const headers: Record<string, string> = {};
            if (key === 'header') headers['x-api-key'] = t.alpha.key;
            if (key === 'other') headers['x-api-key'] = t.other.key;
            if (key === 'wrong') headers['x-api-key'] = 'tl_0000000000000000000000000000000000000000000';
            if (hasBody && type) headers['content-type'] = type;
            const url = fillPath(route.url, params) + (query ? `?${query}` : '');
            const opts: InjectOptions = { method: route.method as InjectOptions['method'], url, headers };
            if (hasBody && payload !== undefined) opts.payload = payload;
            await check(route, opts, `url ${url.slice(0, 120)} type ${type} key ${key} body ${String(payload).slice(0, 200)}`);
          }),
          { numRuns: RUNS },
        );
      }
    });

    it('refuses duplicate keys, prototype keys, unrepresentable numbers and invalid UTF-8 at the score route with 4xx and writes nothing', async () => {
      const route = { method: 'POST', url: '/rest/track-score' };
      const cases = [
        `{"request_id":${requestId},"score":1e309}`,
        `{"request_id":${requestId},"score":-1e309}`,
        `{"request_id":${requestId},"score":"100"}`,
        `{"request_id":${requestId},"score":50.5}`,
        `{"request_id":${requestId},"score":101}`,
        `{"request_id":${requestId},"score":5,"name":"a\\u0000b"}`,
        `{"request_id":${requestId},"score":5,"__proto__":{"score":1}}`,
        `{"request_id":${requestId},"score":5,"constructor":{"prototype":{"x":1}}}`,
        `{"request_id":${requestId},"score":5,"score":500}`,
        `{"request_id":"1e309","score":5}`,
        `{"request_id":${requestId},"score":5,"name":"${'n'.repeat(513)}"}`,
      ];
      // `check` alone lets a 2xx through (it cannot tell a valid random body from an invalid one);
      // every case here is invalid, so each must be a 4xx, and the request's scores stay as they were.
      const scoresOf = async () => ((await t.get(`/v1/requests/${requestId}`)).json() as { request?: { scores?: unknown } }).request?.scores;
      // The fuzz test before this one may have added scores: whatever they are, none may change here.
      const scoresBefore = (await scoresOf()) as Record<string, number> | undefined;
      assert.equal(scoresBefore?.base, 10, 'the request read answers with its scores');
      const refuse = async (payload: string | Buffer, label: string) => {
        const res = await check(route, { method: 'POST', url: route.url, headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload }, label);
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `refused with a 4xx: ${label} got ${res.statusCode} ${res.body.slice(0, 200)}`);
      };
      for (const payload of cases) await refuse(payload, payload.slice(0, 80));
      for (const payload of INVALID_UTF8) await refuse(payload, 'invalid utf-8');
      assert.deepEqual(await scoresOf(), scoresBefore, 'no refused score reached the request');
      // -0 and 100.0 are the integers 0 and 100 in JSON: accepted, as documented.
      for (const [payload, value] of [[`{"request_id":${requestId},"score":-0,"name":"zero"}`, 0], [`{"request_id":${requestId},"score":100.0,"name":"hundred"}`, 100]] as const) {
        const res = await t.inject({ method: 'POST', url: route.url, headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload });
        assert.equal(res.statusCode, 200, res.body);
        const stored = await t.store.requests.get(t.alpha.workspace.id, requestId);
        assert.equal(Object.is(stored?.scores[JSON.parse(payload).name as string], value), true);
      }
    });

    // A lone surrogate is valid JSON but no Unicode text, and bytes that are not UTF-8 decode to
    // U+FFFD: stored, either would be a name other than the one the client sent.
    it('refuses a score name holding a lone surrogate or invalid UTF-8 with a 400 naming "name"', async () => {
      for (const payload of [`{"request_id":${requestId},"score":5,"name":"\\ud800"}`, INVALID_UTF8[0]!]) {
        const res = await t.inject({ method: 'POST', url: '/rest/track-score', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload });
        assert.equal(res.statusCode, 400, res.body);
        assert.match((res.json() as { message: string }).message, /^name: /);
      }
    });
  });
}
