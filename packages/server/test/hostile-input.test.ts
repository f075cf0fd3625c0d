import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS } from './helpers/backends.js';
import { shardLabel, shardOf } from './helpers/shard.js';
import { addDashboardUser, browserHeaders, signIn, type Browser } from './helpers/dashboard-users.js';
import { countRows, listRoutes, queryKeys, queryParams, type RouteEntry } from './helpers/routes.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

/**
 * A fixed corpus of hostile input sent to every route the app serves (read from the router, so a
 * route added later is covered without editing this file): hostile path parameters, query strings,
 * headers and bodies (prototype names, extreme numbers, deep nesting, invalid Unicode, huge
 * strings), each without credentials, with a valid API key and with a dashboard session.
 *
 * The rule for every answer: never a 5xx; a refusal (4xx) is `{ success: false, message, code }`
 * as JSON and leaves every table's row count as it was; a 2xx (input the route may accept, such as
 * a query parameter a health check ignores) never says `success: false`. Cases marked `refused`
 * are input no route may accept (over the depth limit, not JSON, a `__proto__` key, over the body
 * limit) and must get a 4xx everywhere; the rest may be valid somewhere (logging out takes any body). Unlike fuzz.test.ts (random, slow), every case runs on
 * every run.
 */

const nest = (depth: number, open: string, inner: string, close: string) => open.repeat(depth) + inner + close.repeat(depth);
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'isPrototypeOf'];

interface BodyCase {
  label: string;
  payload: string | Buffer;
  contentType?: string;
  /** No route may accept it: a 4xx is required (with any credentials). */
  refused?: boolean;
}

function bodyCases(requestId: number): BodyCase[] {
  const cases: BodyCase[] = [
    { label: 'arrays nested 10,000 deep', payload: nest(10_000, '[', '', ']'), refused: true },
    { label: 'objects nested 10,000 deep in input', payload: `{"provider":"openai","model":"m","request_start_time":1732712345,"request_end_time":1732712346,"output":{},"input":${nest(10_000, '{"a":', '1', '}')}}`, refused: true },
    { label: 'a filter group nested 20,000 deep', payload: `{"filter_group":${nest(20_000, '{"logic":"AND","filters":[', '{"field":"model","operator":"is","value":"m"}', ']}')}}`, refused: true },
    { label: 'a native filter nested 20,000 deep', payload: `{"filter":${nest(20_000, '{"logic":"and","filters":[', '{"field":"model","op":"eq","value":"m"}', ']}')}}`, refused: true },
    { label: 'kwargs nested 100 deep in a score body', payload: `{"request_id":${requestId},"score":5,"kwargs":${nest(100, '[', '1', ']')}}`, refused: true },
    { label: 'a __proto__ key', payload: `{"request_id":${requestId},"score":5,"__proto__":{"polluted":1}}`, refused: true },
    { label: 'constructor.prototype', payload: `{"request_id":${requestId},"score":5,"constructor":{"prototype":{"polluted":1}}}`, refused: true },
    { label: 'truncated JSON', payload: `{"request_id":${requestId},"score":`, refused: true },
    { label: 'invalid UTF-8 bytes', payload: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`","score":5,"request_id":${requestId}}`)]) },
    { label: 'an overlong UTF-8 encoding', payload: Buffer.from([0xc0, 0xaf, 0x7b, 0x7d]), refused: true },
    { label: 'lone surrogates', payload: `{"request_id":${requestId},"score":5,"name":"\\ud800","email":"a\\udc00@b","password":"\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800"}` },
    { label: 'NUL characters', payload: `{"request_id":${requestId},"score":5,"name":"a\\u0000b","tags":["\\u0000"],"email":"\\u0000","label":"\\u0000"}` },
    { label: 'a number too large for a double', payload: `{"request_id":${requestId},"score":1e309,"value":1e309,"page":1e309,"per_page":1e309,"version":1e309,"price":1e309,"scores":[{"name":"a","operator":">","value":-1e309}]}` },
    { label: 'ids and pages of 1e18', payload: `{"request_id":1e18,"score":5,"page":1e18,"per_page":1e18,"group_id":1e18,"version":1e18}` },
    { label: 'integers past 2^53', payload: `{"request_id":9007199254740993,"score":9007199254740993,"page":9007199254740993}` },
    { label: 'negative and fractional numbers', payload: `{"request_id":-1,"score":-0.5,"page":-1,"per_page":0.5,"value":-1}` },
    { label: 'a score of 101', payload: `{"request_id":${requestId},"score":101,"value":101,"items":[{"request_id":${requestId},"name":"h","value":101}]}` },
    { label: 'a 2 MB string', payload: JSON.stringify({ request_id: requestId, score: 5, name: 'x'.repeat(2 * 1024 * 1024) }) },
    { label: 'a 100 KB name', payload: JSON.stringify({ request_id: requestId, score: 5, name: 'n'.repeat(100_000), email: `${'e'.repeat(100_000)}@x`, password: 'p'.repeat(100_000) }) },
    { label: 'an impossible date', payload: `{"provider":"openai","model":"m","input":{"type":"chat","messages":[]},"output":{"type":"chat","messages":[]},"request_start_time":"2024-02-30T00:00:00Z","request_end_time":"2024-03-02T00:00:00Z"}` },
    { label: 'a body that is not an object', payload: '[1,2,3]' },
    { label: 'JSON as text/plain', payload: `{"request_id":${requestId},"score":5}`, contentType: 'text/plain' },
    { label: 'JSON in UTF-16', payload: Buffer.from(`{"request_id":${requestId},"score":5}`, 'utf16le'), contentType: 'application/json; charset=utf-16' },
    { label: 'a form body', payload: `request_id=${requestId}&score=5`, contentType: 'application/x-www-form-urlencoded', refused: true },
  ];
  for (const name of PROTO_NAMES) {
    cases.push({
      label: `the name ${name} as sort key, filter field and operator`,
      payload: JSON.stringify({
        sort_by: name,
        sort_order: name,
        filter_group: { logic: name, filters: [{ field: name, operator: name, value: 'x', nested_key: name }] },
        filter: { field: name, op: name, value: 'x' },
        scores: [{ name, operator: name, value: 1 }],
      }),
    });
    cases.push({ label: `the name ${name} as a filter field`, payload: JSON.stringify({ filter_group: { logic: 'AND', filters: [{ field: name, operator: 'is', value: 'x' }] }, filter: { field: name, op: 'eq', value: 'x' } }) });
    cases.push({ label: `the name ${name} as an operator`, payload: JSON.stringify({ filter_group: { logic: 'AND', filters: [{ field: 'model', operator: name, value: 'x' }] }, filter: { field: 'model', op: name, value: 'x' } }) });
    cases.push({ label: `the name ${name} as a score's name`, payload: JSON.stringify({ request_id: requestId, score: 5, name, value: 5, items: [{ request_id: requestId, name, value: 5 }], score_name: name, sort_by: 'score' }) });
  }
  return cases;
}

const QUERY_CASES = [
  ...PROTO_NAMES.slice(0, 4).flatMap((n) => [`sort_by=${n}`, `sort_order=${n}&${n}=1&${n}[x]=1`, `score_name=${n}&interval=${n}&group_by=${n}&has_score=${n}&no_score=${n}&has_metadata=${n}`, `filter=${encodeURIComponent(JSON.stringify({ field: n, op: 'eq', value: 'x' }))}`]),
  `filter=${encodeURIComponent(nest(5000, '[', '', ']'))}`,
  `filter=${encodeURIComponent(nest(2000, '{"logic":"and","filters":[', '{"field":"model","op":"eq","value":"m"}', ']}'))}`,
  'limit=1e18', 'limit=-1', 'limit=1e309', 'page=1e18', 'after=1e18', 'cursor=%00%FF', 'cursor=' + 'A'.repeat(3000),
  'from=2024-02-30T00:00:00Z', 'to=2024-13-45T99:99:99Z', 'from=1e309', 'to=-1', 'min_cost=1e309', 'max_latency_ms=-1e309', 'min_tokens=9007199254740993',
  'q=%ED%A0%80', 'q=%FF%FE', 'q=' + 'q'.repeat(100_000), 'tag=' + 't'.repeat(10_000), 'name=%00', 'format=constructor', 'a=1&a=2&a=3&a=4&sort_by=id&sort_by=cost',
];

const PATH_VALUES = ['__proto__', 'constructor', 'toString', '-1', '0', '1e18', '1e309', '99999999999999999999999', '%ED%A0%80', '%FF', '%00', '..%5c..%5cx', 'x'.repeat(9000)];

/** Header sets sent on top of the credentials (which they may override). */
function headerCases(): { label: string; headers: Record<string, string> }[] {
  return [
    { label: 'a 10 KB API key', headers: { 'x-api-key': 'tl_' + 'k'.repeat(10_000) } },
    { label: 'a non-ASCII API key', headers: { 'x-api-key': 'tl_\u00e9\u00ff\u00e0' } },
    { label: 'an empty API key', headers: { 'x-api-key': '' } },
    { label: 'a garbage session cookie', headers: { cookie: `tally_session=${'z'.repeat(5000)}; __proto__=1; constructor=2` } },
    { label: 'a prototype-named cookie', headers: { cookie: '__proto__=x; toString=y; tally_session=__proto__' } },
    { label: 'a huge CSRF token', headers: { 'x-csrf-token': 'c'.repeat(10_000) } },
    { label: 'a strange origin', headers: { origin: 'null', 'access-control-request-method': 'POST' } },
    { label: 'a content-type with odd parameters', headers: { 'content-type': 'application/json; charset=constructor; boundary=__proto__' } },
    { label: 'accept and encoding oddities', headers: { accept: '__proto__/*', 'accept-encoding': 'constructor, br;q=1e309' } },
  ];
}

const USER = { email: 'hostile@example.com', password: 'Hostile-suite-pw-7391-qz' };

interface Stats {
  cases: number;
  byStatus: Map<number, number>;
}

for (const backend of BACKENDS) {
  describe(`hostile input at every route [${backend}]${shardLabel()}`, () => {
    let t: TestApp;
    let routes: RouteEntry[];
    let requestId = 0;
    let params = new Map<string, Set<string>>();
    let browser: Browser;
    const stats: Stats = { cases: 0, byStatus: new Map() };

    before(async () => {
      // A stand-in for the built dashboard, so its pages answer whether or not it was built here.
      const dashboardDir = mkdtempSync(join(tmpdir(), 'tally-hostile-ui-'));
      mkdirSync(join(dashboardDir, 'assets'));
      writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>Tally</title>');
      writeFileSync(join(dashboardDir, 'assets', 'app.js'), 'void 0;');
      t = await createTestApp(backend, { rateLimitPerKey: 0, authFailuresPerMinute: 0, dashboardDir });
      // Logging out would end the session the later cases use: that route goes last.
      routes = shardOf(listRoutes(t.app)).sort((a, b) => Number(a.url === '/ui/api/logout') - Number(b.url === '/ui/api/logout'));
      params = await queryParams(t.app);
      requestId = await logRequest(t, { tags: ['hostile'], metadata: { k: 'v' }, score: 10, score_name: 'base' });
      browser = (await addDashboardUser(t, t.alpha.workspace, USER.email, USER.password)).browser;
    });
    after(async () => {
      console.log(`hostile input [${backend}]${shardLabel()}: ${stats.cases} cases over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries([...stats.byStatus].sort((a, b) => a[0] - b[0])))}`);
      await t.close();
    });

    // Path parameters filled with values that exist where that matters, and that write nothing
    // harmful when accepted (no key of the test is revoked).
    const fillPath = (url: string, value?: string) =>
      url.replace(/:[a-z_]+|\*/gi, (param) => value ?? (url.startsWith('/ui/api/keys') ? '999999' : param === ':name' ? 'base' : param === ':token' ? 'f'.repeat(64) : param === '*' ? 'app.js' : String(requestId)));

    // Every route without credentials; with a key, every route but the dashboard's own API (which
    // takes sessions only); with a session, the routes that take one.
    const credentials = (route: RouteEntry): [string, Record<string, string>][] => [
      ['no credentials', {}],
      ...(route.url.startsWith('/ui/api/') ? [] : [['an API key', { 'x-api-key': t.alpha.key }] as [string, Record<string, string>]]),
      ...(route.url.startsWith('/ui/api/') || route.url.startsWith('/v1/') ? [['a session', browserHeaders(browser)] as [string, Record<string, string>]] : []),
    ];

    const rows = () => countRows((t.store as SqlStore).db, backend);

    /** Sends one case and checks its answer; `before`: the row counts to find unchanged after a refusal. */
    async function check(route: RouteEntry, opts: InjectOptions, what: string, mustRefuse: boolean, before: Record<string, number> | null): Promise<LightMyRequestResponse> {
      const res = await t.inject(opts);
      stats.cases++;
      stats.byStatus.set(res.statusCode, (stats.byStatus.get(res.statusCode) ?? 0) + 1);
      const seen = `${route.method} ${route.url} with ${what}: ${res.statusCode} ${res.body.slice(0, 300)}`;
      assert.ok(res.statusCode < 500, `never a 5xx: ${seen}`);
      const html = /^text\/html/.test(String(res.headers['content-type']));
      if (html) {
        // The dashboard's pages: the same app shell for everyone (401 without a session); they read
        // no input and write nothing.
        assert.equal(route.method, 'GET', seen);
        assert.ok(res.statusCode === 200 || res.statusCode === 401 || res.statusCode === 304, seen);
        return res;
      }
      if (mustRefuse) assert.ok(res.statusCode >= 400, `refused: ${seen}`);
      if (res.statusCode >= 400) {
        assert.match(String(res.headers['content-type']), /^application\/json/, seen);
        const body = res.json() as Record<string, unknown>;
        // `errors` lists each refused item of a batch, beside the shape every refusal has.
        assert.deepEqual(Object.keys(body).filter((k) => k !== 'errors').sort(), ['code', 'message', 'success'], seen);
        assert.equal(body.success, false, seen);
        assert.equal(typeof body.message, 'string', seen);
        assert.ok((body.message as string).length > 0, seen);
        assert.equal(typeof body.code, 'string', seen);
        if (before !== null) assert.deepEqual(await rows(), before, `a refusal writes nothing: ${seen}`);
      } else if (res.statusCode >= 300) {
        assert.equal(route.method, 'GET', `redirects only for pages: ${seen}`);
      } else if (/json/.test(String(res.headers['content-type']))) {
        assert.notEqual((res.json() as { success?: unknown }).success, false, seen);
      }
      return res;
    }

    const send = (route: RouteEntry, url: string, headers: Record<string, string>, payload?: string | Buffer, contentType?: string): InjectOptions => {
      const opts: InjectOptions = { method: route.method as InjectOptions['method'], url, headers: { ...headers } };
      if (payload !== undefined) {
        opts.payload = payload;
        opts.headers = { 'content-type': contentType ?? 'application/json', ...opts.headers };
      }
      return opts;
    };
    const hasBody = (route: RouteEntry) => route.method !== 'GET' && route.method !== 'DELETE';

    interface Case {
      opts: InjectOptions;
      what: string;
      mustRefuse: boolean;
    }

    /**
     * Runs a route's cases. Other routes' cases run one at a time, with row counts around each; a
     * GET route's run several at once (an export starts a thread per answer), and must leave every
     * row count as it found them.
     */
    async function run(route: RouteEntry, cases: Case[]): Promise<void> {
      if (route.method !== 'GET') {
        let counts = await rows();
        for (const c of cases) {
          const res = await check(route, c.opts, c.what, c.mustRefuse, counts);
          // A refusal was just found to leave the counts as they were; anything else may change them.
          if (res.statusCode < 400) counts = await rows();
        }
        return;
      }
      const before = await rows();
      for (let i = 0; i < cases.length; i += 8) {
        await Promise.all(cases.slice(i, i + 8).map((c) => check(route, c.opts, c.what, c.mustRefuse, null)));
      }
      assert.deepEqual(await rows(), before, `GET ${route.url} wrote nothing`);
    }

    /** Runs every route's cases; a logout ends the session, so the next test signs in again. */
    async function runAll(routesToRun: RouteEntry[], casesOf: (route: RouteEntry) => Case[]): Promise<void> {
      for (const route of routesToRun) await run(route, casesOf(route));
      browser = await signIn(t, USER.email, USER.password);
    }

    it('answers hostile path parameters on every route with a 4xx JSON refusal or a clean answer', async () => {
      await runAll(
        routes.filter((r) => /:[a-z_]+|\*/i.test(r.url)),
        (route) =>
          credentials(route).flatMap(([who, creds]) =>
            PATH_VALUES.map((value) => ({ opts: send(route, fillPath(route.url, value), creds, hasBody(route) ? '{}' : undefined), what: `path ${value.slice(0, 40)}, ${who}`, mustRefuse: false })),
          ),
      );
    });

    /**
     * The hostile queries a route gets: those setting a parameter it reads (OpenAPI lists them),
     * and those setting none that any route reads, which only the query parser and the hooks every
     * route shares see. A parameter no handler reads reaches no code that differs between routes.
     */
    const queryCasesOf = (route: RouteEntry) => {
      const reads = params.get(`${route.method} ${route.url}`) ?? new Set<string>();
      const readByAny = new Set([...params.values()].flatMap((s) => [...s]));
      return QUERY_CASES.filter((q) => queryKeys(q).some((k) => reads.has(k)) || !queryKeys(q).some((k) => readByAny.has(k)));
    };

    it('answers hostile query strings on every route with a 4xx JSON refusal or a clean answer', async () => {
      await runAll(routes, (route) =>
        credentials(route).flatMap(([who, creds]) =>
          queryCasesOf(route).map((query) => ({ opts: send(route, `${fillPath(route.url)}?${query}`, creds, hasBody(route) ? '{}' : undefined), what: `query ${query.slice(0, 80)}, ${who}`, mustRefuse: false })),
        ),
      );
    });

    it('answers hostile headers on every route with a 4xx JSON refusal or a clean answer', async () => {
      await runAll(routes, (route) =>
        credentials(route).flatMap(([who, creds]) =>
          headerCases().map(({ label, headers }) => ({ opts: send(route, fillPath(route.url), { ...creds, ...headers }, hasBody(route) ? '{}' : undefined), what: `${label}, ${who}`, mustRefuse: false })),
        ),
      );
    });

    it('answers hostile bodies on every route that takes one with a 4xx JSON refusal or a clean answer', async () => {
      const cases = bodyCases(requestId);
      await runAll(routes.filter(hasBody), (route) =>
        credentials(route).flatMap(([who, creds]) => cases.map((c) => ({ opts: send(route, fillPath(route.url), creds, c.payload, c.contentType), what: `body ${c.label}, ${who}`, mustRefuse: c.refused === true }))),
      );
    });

    it('still serves after the corpus', async () => {
      assert.equal((await t.get('/healthz', { key: null })).statusCode, 200);
      assert.equal((await t.get(`/v1/requests/${requestId}`)).statusCode, 200);
    });
  });
}
