import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tally, TallyError } from '../src/index.js';
import { backoffMs, retryAfterMs } from '../src/http.js';

/** A fetch that answers from a list and records every call. */
function fakeFetch(answers: (() => Response | Promise<Response>)[]) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), init });
    const next = answers.shift();
    if (!next) throw new Error('fakeFetch: no answer left');
    return next();
  }) as typeof fetch;
  return { f, calls };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

async function rejects(p: Promise<unknown>): Promise<TallyError> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(r instanceof TallyError, `expected a TallyError, got ${String(r)}`);
  return r;
}

describe('Tally client (no server)', () => {
  it('reads TALLY_API_KEY and TALLY_BASE_URL when no options are given', () => {
    const saved = { key: process.env.TALLY_API_KEY, url: process.env.TALLY_BASE_URL };
    process.env.TALLY_API_KEY = 'tl_fromenv';
    process.env.TALLY_BASE_URL = 'http://127.0.0.1:9999/';
    try {
      const t = new Tally();
      assert.equal(t.baseURL, 'http://127.0.0.1:9999');
    } finally {
      if (saved.key === undefined) delete process.env.TALLY_API_KEY;
      else process.env.TALLY_API_KEY = saved.key;
      if (saved.url === undefined) delete process.env.TALLY_BASE_URL;
      else process.env.TALLY_BASE_URL = saved.url;
    }
  });

  it('refuses to start without a key, naming TALLY_API_KEY', () => {
    const saved = process.env.TALLY_API_KEY;
    delete process.env.TALLY_API_KEY;
    try {
      assert.throws(() => new Tally(), { name: 'TallyError', code: 'missing_api_key', message: 'apiKey: no API key given and TALLY_API_KEY is not set' });
    } finally {
      if (saved !== undefined) process.env.TALLY_API_KEY = saved;
    }
  });

  it('refuses a score of 101 before the network, with the server message', async () => {
    const { f, calls } = fakeFetch([]);
    const t = new Tally({ apiKey: 'tl_x', baseURL: 'http://127.0.0.1:1', fetch: f });
    const err = await rejects(t.track.score({ request_id: 1, score: 101 }));
    assert.deepEqual([err.status, err.code, err.message], [400, 'invalid_field', 'score: must be an integer from 0 to 100']);
    assert.equal((await rejects(t.scores.set(1, 'q', 50.5))).message, 'score: must be an integer from 0 to 100');
    assert.equal((await rejects(t.track.score({ request_id: 'abc', score: 5 }))).message, 'request_id: must be a positive integer id');
    assert.equal((await rejects(t.track.score({ request_id: 1, score: 5, name: '' }))).message, 'name: must be 1 to 512 characters');
    assert.equal(calls.length, 0);
  });

  it('refuses a bad batch before the network, listing every bad item with its index', async () => {
    const { f, calls } = fakeFetch([]);
    const t = new Tally({ apiKey: 'tl_x', fetch: f });
    const err = await rejects(t.scores.batch([{ request_id: 1, score: 5 }, { request_id: 0, score: 5 }, { request_id: 2, score: 200 }]));
    assert.deepEqual(err.errors, [
      { index: 1, field: 'request_id', message: 'request_id: must be a positive integer id' },
      { index: 2, field: 'score', message: 'score: must be an integer from 0 to 100' },
    ]);
    assert.equal(err.message, 'items: 2 of 3 items are invalid and nothing was written (first: items.1.request_id: must be a positive integer id)');
    assert.equal(calls.length, 0);
  });

  it('retries 503 honouring Retry-After, then returns the answer', async () => {
    const { f, calls } = fakeFetch([json(503, { success: false, message: 'queue: full', code: 'unavailable' }, { 'retry-after': '0' }), json(200, { success: true, message: 'score tracked' })]);
    const t = new Tally({ apiKey: 'tl_x', fetch: f, maxRetries: 2 });
    assert.equal(await t.track.score({ request_id: 3, score: 50 }), true);
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.url, 'http://127.0.0.1:8787/rest/track-score');
    assert.equal((calls[0]?.init?.headers as Record<string, string>)['x-api-key'], 'tl_x');
    assert.deepEqual(JSON.parse(String(calls[0]?.init?.body)), { request_id: 3, score: 50 });
  });

  it('waits the Retry-After the server asks for', async () => {
    const { f } = fakeFetch([json(429, { success: false, message: 'slow down', code: 'rate_limited' }, { 'retry-after': '0.3' }), json(200, { success: true, id: 9 })]);
    const t = new Tally({ apiKey: 'tl_x', fetch: f });
    const started = Date.now();
    assert.equal(await t.group.create(), 9);
    assert.ok(Date.now() - started >= 280, 'waited about 300 ms');
  });

  it('gives up after maxRetries with the last error, status and code', async () => {
    const { f, calls } = fakeFetch([0, 1, 2].map(() => json(500, { success: false, message: 'internal error', code: 'internal' })));
    const t = new Tally({ apiKey: 'tl_x', fetch: f, maxRetries: 2 });
    const err = await rejects(t.scores.history(5, { maxRetries: 2 }));
    assert.deepEqual([err.status, err.code, err.message], [500, 'internal', 'internal error']);
    assert.equal(calls.length, 3);
  });

  it('does not repeat logRequest after a 500 (it could log twice), but does after a 503', async () => {
    const body = { provider: 'p', model: 'm', input: { type: 'chat' as const, messages: [] }, output: { type: 'chat' as const, messages: [] }, request_start_time: 1, request_end_time: 2 };
    const a = fakeFetch([json(500, { success: false, message: 'internal error', code: 'internal' })]);
    assert.equal((await rejects(new Tally({ apiKey: 'k', fetch: a.f }).logRequest(body))).status, 500);
    assert.equal(a.calls.length, 1);
    const b = fakeFetch([json(503, { success: false, message: 'busy', code: 'unavailable' }, { 'retry-after': '0' }), json(201, { id: 4, request_id: 4 })]);
    assert.equal((await new Tally({ apiKey: 'k', fetch: b.f }).logRequest(body)).id, 4);
  });

  it('does not retry 4xx answers', async () => {
    const { f, calls } = fakeFetch([json(404, { success: false, message: 'request_id: no request with this id', code: 'not_found' })]);
    const err = await rejects(new Tally({ apiKey: 'k', fetch: f }).track.score({ request_id: 7, score: 1 }));
    assert.deepEqual([err.status, err.code, err.message], [404, 'not_found', 'request_id: no request with this id']);
    assert.equal(calls.length, 1);
  });

  it('times out one attempt after timeoutMs with code "timeout"', async () => {
    const hang = (async (_: unknown, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))) as typeof fetch;
    const t = new Tally({ apiKey: 'k', fetch: hang, timeoutMs: 50, maxRetries: 0 });
    const err = await rejects(t.requests.get(1));
    assert.deepEqual([err.status, err.code], [0, 'timeout']);
    assert.match(err.message, /no answer within 50 ms/);
  });

  it('a non-JSON error body becomes a TallyError, not a parse crash', async () => {
    const { f } = fakeFetch([() => new Response('<html>bad gateway</html>', { status: 502 })]);
    const err = await rejects(new Tally({ apiKey: 'k', fetch: f, maxRetries: 0 }).scores.history(1));
    assert.equal(err.status, 502);
    assert.equal(err.message, 'response: HTTP 502 with a body that is not JSON');
  });

  it('parses Retry-After as seconds or a date, and backs off exponentially with a cap', () => {
    assert.equal(retryAfterMs('2'), 2000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(retryAfterMs(null), undefined);
    assert.deepEqual([0, 1, 2, 10].map((a) => backoffMs(a, () => 1)), [500, 1000, 2000, 8000]);
  });
});
