import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { LIMITS } from '../src/domain/limits.js';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS } from './helpers/backends.js';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';
import { countRows } from './helpers/routes.js';
import { createTestApp, logBody, logRequest, type TestApp } from './helpers/test-app.js';

const nest = (depth: number, open: string, inner: string, close: string) => open.repeat(depth) + inner + close.repeat(depth);
const PROTO_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString'];

function assertRefusal(res: LightMyRequestResponse | { statusCode: number; body: string }, status: number, message: RegExp, what = ''): void {
  assert.equal(res.statusCode, status, `${what} ${res.body.slice(0, 300)}`);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  assert.equal(body.success, false, what);
  assert.match(String(body.message), message, what);
  assert.equal(typeof body.code, 'string', what);
}

/** Sends raw HTTP on a socket, writing the whole request before reading anything (as a busy client may). */
function writeThenRead(port: number, head: string, bodyBytes: number, opts: { pauseMs?: number } = {}): Promise<{ answer: string; error: string | null }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let error: string | null = null;
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ answer, error }));
    socket.pause();
    socket.write(head);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < bodyBytes && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      setTimeout(() => socket.resume(), opts.pauseMs ?? 200);
    };
    pump();
    // Reading starts once everything was written; a client that never finishes is let go.
    setTimeout(() => socket.destroy(), 20_000).unref();
  });
}

for (const backend of BACKENDS) {
  describe(`nesting depth, body limits and prototype names [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, { rateLimitPerKey: 0, authFailuresPerMinute: 0 });
    });
    after(() => t.close());
    const rows = () => countRows((t.store as SqlStore).db, backend);

    it(`refuses a log whose input nests 10,000 levels with a 400 naming input and the limit of ${LIMITS.jsonDepth}, and writes nothing`, async () => {
      const before = await rows();
      for (const deep of [nest(10_000, '[', '', ']'), nest(10_000, '{"a":', '1', '}')]) {
        const payload = `{"provider":"openai","model":"m","request_start_time":1732712345,"request_end_time":1732712346,"output":{"type":"chat","messages":[]},"input":${deep}}`;
        const res = await t.inject({ method: 'POST', url: '/log-request', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload });
        assertRefusal(res, 400, new RegExp(`^input: nested deeper than the limit of ${LIMITS.jsonDepth} levels`));
      }
      assert.deepEqual(await rows(), before);
    });

    it('accepts a document nested exactly to the limit and refuses one level more, naming the field', async () => {
      // The body's own braces are the first level.
      const ok = await t.post('/log-request', { ...logBody(), kwargs: JSON.parse(`{"k":${nest(LIMITS.jsonDepth - 2, '[', '', ']')}}`) });
      assert.equal(ok.statusCode, 201, ok.body);
      const tooDeep = await t.post('/log-request', { ...logBody(), kwargs: JSON.parse(`{"k":${nest(LIMITS.jsonDepth - 1, '[', '', ']')}}`) });
      assertRefusal(tooDeep, 400, /^kwargs: nested deeper than the limit/);
      // Brackets inside strings are text, not nesting.
      const text = await t.post('/log-request', logBody({ metadata: { brackets: `${'['.repeat(5000)}"\\{` } }));
      assert.equal(text.statusCode, 201, text.body);
    });

    it('refuses a search filter nested 100,000 deep with a 400 naming filter_group, on both search routes', async () => {
      const before = await rows();
      const pl = await t.inject({ method: 'POST', url: '/api/public/v2/requests/search', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: `{"filter_group":${nest(100_000, '[', '', ']')}}` });
      assertRefusal(pl, 400, /^filter_group: nested deeper than the limit/);
      const native = await t.inject({ method: 'POST', url: '/v1/requests/search', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: `{"filter":{"logic":"and","filters":${nest(100_000, '[', '', ']')}}}` });
      assertRefusal(native, 400, /^filter: nested deeper than the limit/);
      const query = await t.get(`/v1/requests/search?filter=${encodeURIComponent(nest(4000, '{"logic":"and","filters":[', '{"field":"model","op":"eq","value":"m"}', ']}'))}`);
      assertRefusal(query, 400, /^filter/);
      assert.deepEqual(await rows(), before);
    });

    it("one workspace's deeply nested logs fail none of another workspace's concurrent score writes", async () => {
      const ids: number[] = [];
      for (let i = 0; i < 10; i++) ids.push(await logRequest(t, { tags: ['deep-race'] }));
      // Without the depth limit this input reached the SQLite writer thread, whose postMessage threw
      // RangeError and failed every write of the batch, of any workspace.
      const deepLog = `{"provider":"openai","model":"m","request_start_time":1732712345,"request_end_time":1732712346,"input":{"type":"chat","messages":[${nest(10_000, '[', '', ']')}]},"output":{"type":"chat","messages":[]}}`;
      const writers = Array.from({ length: 20 }, (_, w) =>
        (async () => {
          const answers: number[] = [];
          for (let i = 0; i < 10; i++) {
            const res = await t.post('/library-track-score', { request_id: ids[(w + i) % ids.length], score: (w * 10 + i) % 101, name: `w${w}` });
            answers.push(res.statusCode);
          }
          return answers;
        })(),
      );
      const attackers = Array.from({ length: 40 }, () => t.inject({ method: 'POST', url: '/log-request', headers: { 'content-type': 'application/json', 'x-api-key': t.other.key }, payload: deepLog }));
      const [written, refused] = await Promise.all([Promise.all(writers), Promise.all(attackers)]);
      assert.deepEqual(written.flat(), new Array<number>(200).fill(200), 'every score write of the first workspace is acknowledged');
      assert.deepEqual(refused.map((r) => r.statusCode), new Array<number>(40).fill(400));
      // The last write of each writer is what is stored.
      for (let w = 0; w < 20; w++) {
        const id = ids[(w + 9) % ids.length]!;
        const stored = await t.store.requests.get(t.alpha.workspace.id, id);
        assert.equal(stored?.scores[`w${w}`], (w * 10 + 9) % 101, `writer ${w}`);
      }
    });

    it('answers sort keys, filter fields and operators named like Object.prototype members with a 400 naming the field, on every search and export route', async () => {
      const before = await rows();
      for (const name of PROTO_NAMES) {
        const q = encodeURIComponent(name);
        const filterParam = (f: object) => encodeURIComponent(JSON.stringify(f));
        const cases: [string, Promise<LightMyRequestResponse>, RegExp][] = [
          ['GET search sort_by', t.get(`/v1/requests/search?sort_by=${q}`), /^sort_by: /],
          ['GET export sort_by', t.get(`/v1/requests/export?sort_by=${q}`), /^sort_by: /],
          ['POST search sort_by', t.post('/v1/requests/search', { sort_by: name }), /^sort_by: /],
          ['PromptLayer sort_by', t.post('/api/public/v2/requests/search', { sort_by: name }), /^sort_by: /],
          ['GET search filter field', t.get(`/v1/requests/search?filter=${filterParam({ field: name, op: 'eq', value: 'x' })}`), /^filter\.field: /],
          ['GET export filter field', t.get(`/v1/requests/export?filter=${filterParam({ field: name, op: 'eq', value: 'x' })}`), /^filter\.field: /],
          ['POST search filter field', t.post('/v1/requests/search', { filter: { field: name, op: 'eq', value: 'x' } }), /^filter\.field: /],
          ['POST search filter op', t.post('/v1/requests/search', { filter: { field: 'model', op: name, value: 'x' } }), /^filter\.op: /],
          ['POST search group logic', t.post('/v1/requests/search', { filter: { logic: name, filters: [] } }), /^filter\.logic: /],
          ['PromptLayer filter field', t.post('/api/public/v2/requests/search', { filter_group: { logic: 'AND', filters: [{ field: name, operator: 'is', value: 'x' }] } }), /^filter_group\.filters\.0\.field: /],
          ['PromptLayer filter operator', t.post('/api/public/v2/requests/search', { filter_group: { logic: 'AND', filters: [{ field: 'model', operator: name, value: 'x' }] } }), /^filter_group\.filters\.0\.operator: /],
          ['PromptLayer legacy operator', t.post('/api/public/v2/requests/search', { scores: [{ name: 'default', operator: name.slice(0, 4), value: 1 }] }), /^scores\.0\.operator: /],
        ];
        for (const [what, answer, message] of cases) assertRefusal(await answer, 400, message, `${what} ${name}`);
      }
      assert.deepEqual(await rows(), before);
    });

    it('refuses numbers too large for a double (1e309) in query strings and bodies with a 400 naming the field', async () => {
      const before = await rows();
      for (const url of ['/v1/requests/export?min_cost=1e309', '/v1/requests/search?max_cost=-1e309', '/v1/scores/stats?min_cost=1e309']) {
        assertRefusal(await t.get(url), 400, /^(min|max)_cost: must be a finite number$/, url);
      }
      const price = await t.inject({ method: 'POST', url: '/log-request', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: JSON.stringify(logBody()).replace('{', '{"price":1e309,') });
      assertRefusal(price, 400, /^price: /);
      const legacy = await t.inject({ method: 'POST', url: '/api/public/v2/requests/search', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: '{"scores":[{"name":"a","operator":">","value":-1e309}]}' });
      assertRefusal(legacy, 400, /^scores\.0\.value: /);
      assert.deepEqual(await rows(), before);
    });

    it('answers a PromptLayer search page of 1e18 or more with a 400 naming page', async () => {
      for (const page of ['1e18', '1e19', '9007199254740993', '1e308']) {
        const res = await t.inject({ method: 'POST', url: '/api/public/v2/requests/search', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: `{"page":${page}}` });
        assertRefusal(res, 400, /^page: /, page);
      }
      const last = await t.post('/api/public/v2/requests/search', { page: 1_000_000 });
      assert.equal(last.statusCode, 200, last.body);
      assert.deepEqual(last.json().items, []);
    });

    it(`refuses bodies over ${LIMITS.smallBodyBytes} bytes on unauthenticated routes and over ${LIMITS.searchBodyBytes} on searches, naming the limit`, async () => {
      const before = await rows();
      const big = (n: number) => JSON.stringify({ email: 'a@b.c', password: 'p'.repeat(n) });
      for (const url of ['/ui/api/login', `/ui/api/setup/${'f'.repeat(64)}`, '/ui/api/logout']) {
        const res = await t.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: big(LIMITS.smallBodyBytes) });
        assertRefusal(res, 413, new RegExp(`^body: larger than the limit of ${LIMITS.smallBodyBytes} bytes`), url);
      }
      for (const url of ['/v1/requests/search', '/api/public/v2/requests/search']) {
        const res = await t.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: JSON.stringify({ q: 'q'.repeat(LIMITS.searchBodyBytes) }) });
        assertRefusal(res, 413, new RegExp(`^body: larger than the limit of ${LIMITS.searchBodyBytes} bytes`), url);
      }
      assert.deepEqual(await rows(), before);
      // The write routes keep their own, larger limits.
      const log = await t.post('/log-request', logBody({ metadata: { big: 'y'.repeat(60_000) }, output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'z'.repeat(2_000_000) }] }] } }));
      assert.equal(log.statusCode, 201, log.body.slice(0, 300));
    });

    it('checks an API key given in the header before reading the body: a wrong key gets 401, not a parse error', async () => {
      const garbage = `{"q":"${'x'.repeat(200_000)}`; // not JSON: reading it would answer 400
      for (const url of ['/v1/requests/search', '/api/public/v2/requests/search', '/log-request', '/library-track-score', '/v1/scores/batch']) {
        const wrong = await t.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-api-key': 'tl_not_a_key' }, payload: garbage });
        assertRefusal(wrong, 401, /API key is not valid/, url);
        const right = await t.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: garbage });
        assertRefusal(right, 400, /^body: is not valid JSON/, url);
      }
      // A key in the body (the PromptLayer SDKs' track calls) still works.
      const id = await logRequest(t);
      const inBody = await t.inject({ method: 'POST', url: '/library-track-score', headers: { 'content-type': 'application/json' }, payload: { request_id: id, score: 42, api_key: t.alpha.key } });
      assert.equal(inBody.statusCode, 200, inBody.body);
    });

    it("answers a path outside the dashboard's files with a 403 in Tally's shape naming the url", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tally-limits-ui-'));
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Tally</title>');
      const ui = await createTestApp(backend, { dashboardDir: dir });
      try {
        const res = await ui.inject({ method: 'GET', url: '/assets/..%5c..%5cpackage.json' });
        assertRefusal(res, 403, /^url: \/assets\/\.\.%5c\.\.%5cpackage\.json is outside the served files$/);
        assert.equal(res.json().code, 'forbidden');
      } finally {
        await ui.close();
      }
    });
  });

  describe(`refusals a real HTTP client can read [${backend}]`, () => {
    let live: LiveApp;
    before(async () => {
      live = await createLiveApp(backend, { rateLimitPerKey: 0, authFailuresPerMinute: 0 });
    });
    after(() => live.close());
    const port = () => Number(new URL(live.baseURL).port);

    it('answers a body over the limit with a 413 that fetch can read, six times of six', async () => {
      const body = JSON.stringify({ request_id: 1, score: 5, name: 'x'.repeat(2 * 1024 * 1024) });
      for (let i = 0; i < 6; i++) {
        const res = await fetch(`${live.baseURL}/library-track-score`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': live.alpha.key }, body });
        assertRefusal({ statusCode: res.status, body: await res.text() }, 413, /^body: larger than the limit of 1048576 bytes$/, `run ${i}`);
      }
      // The connection is still good for the next call.
      const ok = await fetch(`${live.baseURL}/healthz`);
      assert.equal(ok.status, 200);
    });

    it('lets a client that writes its whole oversized body before reading still read the 413', async () => {
      for (let i = 0; i < 3; i++) {
        const size = 4 * 1024 * 1024;
        const head = `POST /library-track-score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-KEY: ${live.alpha.key}\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`;
        const { answer, error } = await writeThenRead(port(), head, size);
        assert.match(answer, /^HTTP\/1\.1 413 /, `run ${i}: ${error ?? ''} ${answer.slice(0, 100)}`);
        assert.match(answer, /"code":"body_too_large"/);
      }
    });

    it('lets a client with a wrong key read the 401 while still sending its large body', async () => {
      const size = 8 * 1024 * 1024;
      const head = `POST /log-request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-KEY: tl_wrong\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`;
      const { answer, error } = await writeThenRead(port(), head, size);
      assert.match(answer, /^HTTP\/1\.1 401 /, `${error ?? ''} ${answer.slice(0, 100)}`);
    });

    it(`closes the connection of a refused body past ${LIMITS.drainBytes} bytes instead of reading on`, async () => {
      const size = LIMITS.drainBytes * 4;
      const head = `POST /library-track-score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-KEY: ${live.alpha.key}\r\nContent-Length: ${size}\r\n\r\n`;
      const started = Date.now();
      const { error } = await writeThenRead(port(), head, size);
      assert.ok(error !== null, 'the server closed the connection before the client finished sending');
      assert.ok(Date.now() - started < 20_000);
    });

    it("answers a query string over the header limit with a 431 in Tally's shape", async () => {
      const res = await fetch(`${live.baseURL}/v1/requests/search?q=${'a'.repeat(20_000)}`, { headers: { 'x-api-key': live.alpha.key } });
      assertRefusal({ statusCode: res.status, body: await res.text() }, 431, /^headers: the request line and headers are larger than the limit of \d+ bytes/);
      assert.match(String(res.headers.get('content-type')), /^application\/json/);
    });
  });
}
