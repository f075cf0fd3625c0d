/**
 * End users' feedback (docs/feedback.md): tokens minted with an API key, submitted without one.
 * Every refusal is checked to have written nothing (the request's history is unchanged).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { signToken } from '../src/auth/feedback-tokens.js';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logBody, logRequest, type TestApp } from './helpers/test-app.js';

const PAGE = 'http://127.0.0.1:5500';
const OTHER_PAGE = 'https://other.example.com';
const DAY_MS = 86_400_000;

interface Minted {
  token: string;
  expires_at: string;
}
interface HistoryEvent {
  name: string;
  old_value: number | null;
  new_value: number | null;
  actor: string;
  source: string;
  comment: string | null;
}

const mint = async (t: TestApp, body: Record<string, unknown>, key?: string): Promise<Minted> => {
  const res = await t.post('/v1/feedback-tokens', body, { key });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Minted;
};

const submit = (t: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}, remoteAddress?: string) =>
  t.inject({ method: 'POST', url: '/v1/feedback', headers, payload: body, ...(remoteAddress ? { remoteAddress } : {}) });

const history = async (t: TestApp, id: number, key?: string): Promise<HistoryEvent[]> => {
  const res = await t.get(`/v1/requests/${id}/scores/history`, { key });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { events: HistoryEvent[] }).events;
};

const scores = async (t: TestApp, id: number, key?: string): Promise<Record<string, number>> => {
  const res = await t.get(`/v1/requests/${id}`, { key });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { request: { scores: Record<string, number> } }).request.scores;
};

const errorOf = (res: LightMyRequestResponse) => res.json() as { code: string; message: string };

/** The token's claims, read as any page can (the payload is signed, not encrypted). */
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

/** The token with its payload replaced (signature kept): what a tamperer would send. */
const withClaims = (token: string, change: Record<string, unknown>) => {
  const [v, , sig] = token.split('.');
  return `${v}.${Buffer.from(JSON.stringify({ ...claimsOf(token), ...change })).toString('base64url')}.${sig}`;
};

for (const backend of BACKENDS) {
  describe(`feedback tokens and POST /v1/feedback [${backend}]`, () => {
    let t: TestApp;
    let id: number;

    before(async () => {
      t = await createTestApp(backend);
      id = await logRequest(t);
    });
    after(() => t.close());

    it('mints a compact, URL-safe token bound to the request and name, living one day by default', async () => {
      const before = Date.now();
      const res = await t.post('/v1/feedback-tokens', { request_id: id, name: 'thumbs', values: [100, 0], end_user: 'u-17' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as Minted & { request_id: number; name: string };
      assert.match(body.token, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
      assert.ok(body.token.length < 300, `${body.token.length} characters`);
      assert.equal(body.request_id, id);
      assert.equal(body.name, 'thumbs');
      const expires = Date.parse(body.expires_at);
      assert.ok(expires >= before + DAY_MS - 1000 && expires <= Date.now() + DAY_MS, body.expires_at);
      const c = claimsOf(body.token);
      assert.deepEqual([c.ws, c.rid, c.n, c.v, c.eu], [t.alpha.workspace.id, id, 'thumbs', [100, 0], 'u-17']);
      assert.equal(typeof c.jti, 'string');
      assert.equal(typeof c.kid, 'string');
    });

    it('refuses to mint for a request of another workspace (404), without a key (401), or past 30 days (400)', async () => {
      const foreign = await logRequest(t, {}, t.other.key);
      const res = await t.post('/v1/feedback-tokens', { request_id: foreign });
      assert.equal(res.statusCode, 404);
      assert.match(errorOf(res).message, /^request_id: /);
      const noKey = await t.post('/v1/feedback-tokens', { request_id: id }, { key: null });
      assert.equal(noKey.statusCode, 401);
      const long = await t.post('/v1/feedback-tokens', { request_id: id, expires_in: 31 * 86_400 });
      assert.equal(long.statusCode, 400);
      assert.match(errorOf(long).message, /^expires_in: /);
      const two = await t.post('/v1/feedback-tokens', { request_id: id, values: [1], range: { min: 0, max: 5 } });
      assert.equal(two.statusCode, 400);
      assert.match(errorOf(two).message, /^range: give one of values, labels or range/);
      const backwards = await t.post('/v1/feedback-tokens', { request_id: id, range: { min: 9, max: 5 } });
      assert.equal(backwards.statusCode, 400);
      assert.match(errorOf(backwards).message, /^range: /);
      const month = await mint(t, { request_id: id, expires_in: 30 * 86_400 });
      assert.ok(Date.parse(month.expires_at) > Date.now() + 29 * DAY_MS);
    });

    it('records a submission as an end-user rating; the same end user again replaces it, history keeps both', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, name: 'thumbs', values: [100, 0], end_user: 'u-1' });
      const up = await submit(t, { token, value: 100 });
      assert.equal(up.statusCode, 200, up.body);
      assert.deepEqual(up.json(), { success: true, name: 'thumbs', value: 100 });
      const down = await submit(t, { token, value: 0, comment: 'wrong answer' });
      assert.equal(down.statusCode, 200, down.body);
      assert.deepEqual(await scores(t, r), { thumbs: 0 });
      const events = await history(t, r);
      assert.deepEqual(
        events.map((e) => [e.name, e.old_value, e.new_value, e.actor, e.source, e.comment]),
        [
          ['thumbs', null, 100, 'end_user:u-1', 'end_user', null],
          ['thumbs', 100, 0, 'end_user:u-1', 'end_user', 'wrong answer'],
        ],
      );
    });

    it('without an end user, the rater is the token: end_user:<token id>', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, name: 'stars', range: { min: 1, max: 5 } });
      const res = await submit(t, { token, value: 4 });
      assert.equal(res.statusCode, 200, res.body);
      const [e] = await history(t, r);
      assert.equal(e!.actor, `end_user:${String(claimsOf(token).jti)}`);
    });

    it('refuses a value the token does not allow with 400 naming value, and writes nothing', async () => {
      const r = await logRequest(t);
      const thumbs = await mint(t, { request_id: r, name: 'thumbs', values: [100, 0] });
      const bad = await submit(t, { token: thumbs.token, value: 50 });
      assert.equal(bad.statusCode, 400);
      assert.match(errorOf(bad).message, /^value: must be one of 100, 0$/);
      const stars = await mint(t, { request_id: r, name: 'stars', range: { min: 1, max: 5 } });
      const high = await submit(t, { token: stars.token, value: 6 });
      assert.equal(high.statusCode, 400);
      assert.match(errorOf(high).message, /^value: must be from 1 to 5$/);
      const outOfScale = await submit(t, { token: stars.token, value: 101 });
      assert.equal(outOfScale.statusCode, 400);
      assert.match(errorOf(outOfScale).message, /^value: /);
      const neither = await submit(t, { token: stars.token });
      assert.equal(neither.statusCode, 400);
      assert.match(errorOf(neither).message, /^value: give either value or label/);
      assert.deepEqual(await history(t, r), []);
    });

    it('takes the request and name from the token only: a body naming another request, name or rater is refused', async () => {
      const mine = await logRequest(t);
      const target = await logRequest(t);
      const { token } = await mint(t, { request_id: mine, name: 'thumbs', values: [100, 0] });
      for (const [field, extra] of [
        ['request_id', { request_id: target }],
        ['name', { name: 'quality' }],
        ['end_user', { end_user: 'someone-else' }],
        ['source', { source: 'api' }],
      ] as const) {
        const res = await submit(t, { token, value: 100, ...extra });
        assert.equal(res.statusCode, 400, field);
        assert.equal(errorOf(res).message, `${field}: is not a known field`);
      }
      // A token whose payload is edited to name the other request no longer verifies.
      const moved = await submit(t, { token: withClaims(token, { rid: target }), value: 100 });
      assert.equal(moved.statusCode, 401);
      const renamed = await submit(t, { token: withClaims(token, { n: 'quality' }), value: 100 });
      assert.equal(renamed.statusCode, 401);
      const widened = await submit(t, { token: withClaims(token, { v: [100, 0, 50] }), value: 50 });
      assert.equal(widened.statusCode, 401);
      assert.deepEqual(await history(t, mine), []);
      assert.deepEqual(await history(t, target), []);
    });

    it('answers 401 and writes nothing for a tampered signature, a foreign or garbled token', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, values: [100, 0] });
      const sig = token.slice(-43);
      const flipped = `${token.slice(0, -43)}${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
      const cases: [string, string, RegExp][] = [
        ['tampered signature', flipped, /^token: signature does not match/],
        ['another workspace', withClaims(token, { ws: t.other.workspace.id }), /^token: /],
        ['a workspace that does not exist', withClaims(token, { ws: 999_999 }), /^token: signature does not match/],
        ['garbage', 'hello', /^token: is not a feedback token/],
        ['an API key', t.alpha.key, /^token: is not a feedback token/],
        ['another version', token.replace(/^v1\./, 'v2.'), /^token: is not a feedback token/],
      ];
      for (const [what, bad, message] of cases) {
        const res = await submit(t, { token: bad, value: 100 });
        assert.equal(res.statusCode, 401, what);
        assert.equal(errorOf(res).code, 'unauthorized', what);
        assert.match(errorOf(res).message, message, what);
      }
      // A token of another server: the same claims under a secret this server never had.
      const otherServer = signToken(claimsOf(token) as never, { secretId: String(claimsOf(token).kid), secret: Buffer.alloc(32, 7).toString('base64url') });
      const res = await submit(t, { token: otherServer, value: 100 });
      assert.equal(res.statusCode, 401);
      assert.deepEqual(await history(t, r), []);
    });

    it('refuses a token replayed after it expired', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, values: [100, 0] });
      // The same claims, signed with the workspace's real secret, but past their expiry.
      const secret = await t.store.feedback.signingSecret(t.alpha.workspace.id);
      const claims = claimsOf(token);
      const expired = signToken({ ...claims, exp: Math.floor(Date.now() / 1000) - 1 } as never, secret);
      const res = await submit(t, { token: expired, value: 100 });
      assert.equal(res.statusCode, 401);
      assert.match(errorOf(res).message, /^token: has expired/);
      const fresh = signToken({ ...claims, exp: Math.floor(Date.now() / 1000) + 60 } as never, secret);
      assert.equal((await submit(t, { token: fresh, value: 100 })).statusCode, 200);
      assert.equal((await history(t, r)).length, 1);
    });

    it('refuses every token minted before the secret was rotated; tokens minted after work', async () => {
      const r = await logRequest(t);
      const old = await mint(t, { request_id: r, values: [100, 0] });
      const rotated = await t.post('/v1/workspace/feedback-secret/rotate', {});
      assert.equal(rotated.statusCode, 200, rotated.body);
      const newId = (rotated.json() as { secret_id: string }).secret_id;
      assert.notEqual(newId, claimsOf(old.token).kid);
      const res = await submit(t, { token: old.token, value: 100 });
      assert.equal(res.statusCode, 401);
      assert.match(errorOf(res).message, /^token: was not signed by the workspace's current secret/);
      assert.deepEqual(await history(t, r), []);
      const fresh = await mint(t, { request_id: r, values: [100, 0] });
      assert.equal(claimsOf(fresh.token).kid, newId);
      assert.equal((await submit(t, { token: fresh.token, value: 100 })).statusCode, 200);
    });

    it('is POST only: GET and the other methods answer 405 with Allow: POST and never write', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, values: [100, 0] });
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'] as const) {
        const res = await t.inject({ method, url: `/v1/feedback?token=${token}&value=100` });
        assert.equal(res.statusCode, 405, method);
        assert.equal(res.headers.allow, 'POST, OPTIONS', method);
      }
      assert.deepEqual(await history(t, r), []);
    });

    it('mints many tokens at once, in order, the items over the shared fields; a missing request mints none', async () => {
      const a = await logRequest(t);
      const b = await logRequest(t);
      const res = await t.post('/v1/feedback-tokens/batch', { name: 'thumbs', values: [100, 0], end_user: 'u-9', items: [{ request_id: a }, { request_id: b, name: 'stars', range: { min: 1, max: 5 } }] });
      assert.equal(res.statusCode, 200, res.body);
      const { tokens } = res.json() as { tokens: (Minted & { request_id: number; name: string })[] };
      assert.deepEqual(tokens.map((x) => [x.request_id, x.name]), [[a, 'thumbs'], [b, 'stars']]);
      assert.deepEqual([claimsOf(tokens[0]!.token).v, claimsOf(tokens[0]!.token).eu], [[100, 0], 'u-9']);
      assert.deepEqual([claimsOf(tokens[1]!.token).v, claimsOf(tokens[1]!.token).r], [undefined, [1, 5]]);
      const foreign = await logRequest(t, {}, t.other.key);
      const missing = await t.post('/v1/feedback-tokens/batch', { items: [{ request_id: a }, { request_id: foreign }] });
      assert.equal(missing.statusCode, 404);
      assert.match(errorOf(missing).message, /^items\.1\.request_id: /);
      const bad = await t.post('/v1/feedback-tokens/batch', { items: [{ request_id: a }, { request_id: b, end_user: '' }] });
      assert.equal(bad.statusCode, 400);
      assert.match(errorOf(bad).message, /^items\.1\.end_user: /);
      const tooMany = await t.post('/v1/feedback-tokens/batch', { items: Array.from({ length: 501 }, () => ({ request_id: a })) });
      assert.equal(tooMany.statusCode, 400);
      assert.match(errorOf(tooMany).message, /^items: /);
    });

    it('log-request and track-request return a token when the body asks; a bad ask logs nothing', async () => {
      const logged = await t.post('/log-request', logBody({ tags: ['with-token'], feedback_token: { name: 'thumbs', values: [100, 0], end_user: 'u-3' } }));
      assert.equal(logged.statusCode, 201, logged.body);
      const body = logged.json() as { id: number; feedback_token: Minted };
      assert.deepEqual([claimsOf(body.feedback_token.token).rid, claimsOf(body.feedback_token.token).n], [body.id, 'thumbs']);
      assert.equal((await submit(t, { token: body.feedback_token.token, value: 100 })).statusCode, 200);
      assert.deepEqual(await scores(t, body.id), { thumbs: 100 });

      const plain = await t.post('/log-request', logBody());
      assert.equal(plain.statusCode, 201);
      assert.equal('feedback_token' in (plain.json() as object), false);

      const tracked = await t.post('/track-request', {
        function_name: 'openai.chat.completions.create',
        kwargs: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
        request_response: { choices: [{ message: { role: 'assistant', content: 'hello' } }] },
        request_start_time: 1732712345,
        request_end_time: 1732712346,
        feedback_token: { name: 'thumbs' },
      });
      assert.equal(tracked.statusCode, 200, tracked.body);
      const tb = tracked.json() as { request_id: number; feedback_token: Minted };
      assert.equal(claimsOf(tb.feedback_token.token).rid, tb.request_id);

      const count = async () => {
        const res = await t.post('/v1/requests/search', { limit: 500 });
        return (res.json() as { items: unknown[] }).items.length;
      };
      const before = await count();
      const bad = await t.post('/log-request', logBody({ feedback_token: { name: 'thumbs', expires_in: 5 } }));
      assert.equal(bad.statusCode, 400);
      assert.match(errorOf(bad).message, /^feedback_token\.expires_in: /);
      const unknown = await t.post('/log-request', logBody({ feedback_token: { nme: 'thumbs' } }));
      assert.equal(unknown.statusCode, 400);
      assert.match(errorOf(unknown).message, /^feedback_token\.nme: /);
      assert.equal(await count(), before);
    });

    it('PATCH /v1/workspace sets feedback_origins as browsers send them, naming a bad one', async () => {
      const res = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.alpha.key }, payload: { feedback_origins: [PAGE, PAGE] } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual((res.json() as { workspace: { feedback_origins: string[] } }).workspace.feedback_origins, [PAGE]);
      const ws = await t.get('/v1/workspace');
      assert.deepEqual((ws.json() as { workspace: { feedback_origins: string[]; strict_score_names: boolean } }).workspace.feedback_origins, [PAGE]);
      // One PATCH sets both kinds of settings, together.
      const both = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.alpha.key }, payload: { feedback_origins: [PAGE], strict_score_names: false } });
      assert.equal(both.statusCode, 200, both.body);
      const read = await t.get('/v1/workspace/feedback');
      assert.deepEqual((read.json() as { feedback_origins: string[] }).feedback_origins, [PAGE]);
      for (const [bad, hint] of [['https://app.example.com/', /did you mean "https:\/\/app\.example\.com"\?$/], ['*', /is not an origin/]] as const) {
        const r = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.alpha.key }, payload: { feedback_origins: [PAGE, bad] } });
        assert.equal(r.statusCode, 400);
        assert.match(errorOf(r).message, /^feedback_origins\.1: /);
        assert.match(errorOf(r).message, hint);
      }
      // A bad origin beside a good setting changes neither.
      const mixed = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.alpha.key }, payload: { strict_score_names: true, feedback_origins: ['ftp://x'] } });
      assert.equal(mixed.statusCode, 400);
      assert.equal((((await t.get('/v1/workspace')).json()) as { workspace: { strict_score_names: boolean } }).workspace.strict_score_names, false);
      const other = await t.get('/v1/workspace/feedback', { key: t.other.key });
      assert.deepEqual((other.json() as { feedback_origins: string[] }).feedback_origins, []);
    });
  });

  describe(`end-user ratings under score schemas [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    const putSchema = async (name: string, body: Record<string, unknown>) => {
      const res = await t.inject({ method: 'PUT', url: `/v1/score-schemas/${name}`, headers: { 'x-api-key': t.alpha.key }, payload: body });
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    };
    interface Rating {
      rater: string;
      value: number;
      label: string | null;
      source: string;
      comment: string | null;
    }
    const detailOf = async (id: number, name: string) => {
      const res = await t.get(`/v1/requests/${id}`);
      assert.equal(res.statusCode, 200, res.body);
      const r = (res.json() as { request: { scores: Record<string, number>; score_details?: Record<string, { value: number; ratings?: Rating[] }> } }).request;
      return { score: r.scores[name], ratings: r.score_details?.[name]?.ratings ?? [] };
    };

    it('many end users rate one request; a mean thumbs schema makes the share of thumbs up; a toggle replaces', async () => {
      await putSchema('thumbs', { kind: 'boolean', labels: [{ label: 'up', value: 100 }, { label: 'down', value: 0 }], aggregate: 'mean' });
      const r = await logRequest(t);
      const { tokens } = (
        await t.post('/v1/feedback-tokens/batch', { name: 'thumbs', values: [100, 0], items: ['ann', 'bob', 'cy', 'dee'].map((end_user) => ({ request_id: r, end_user })) })
      ).json() as { tokens: Minted[] };
      for (const [i, value] of [100, 100, 0, 100].entries()) assert.equal((await submit(t, { token: tokens[i]!.token, value })).statusCode, 200);
      assert.equal((await detailOf(r, 'thumbs')).score, 75);
      // Bob changes his mind on a new page view (a new token for the same end user): his rating is
      // replaced (still four raters), history has both.
      const again = await mint(t, { request_id: r, name: 'thumbs', values: [100, 0], end_user: 'bob' });
      assert.notEqual(claimsOf(again.token).jti, claimsOf(tokens[1]!.token).jti);
      assert.equal((await submit(t, { token: again.token, value: 0 })).statusCode, 200);
      const { score, ratings } = await detailOf(r, 'thumbs');
      assert.equal(score, 50);
      assert.deepEqual(
        ratings.map((x) => [x.rater, x.value, x.source]).sort(),
        [
          ['end_user:ann', 100, 'end_user'],
          ['end_user:bob', 0, 'end_user'],
          ['end_user:cy', 0, 'end_user'],
          ['end_user:dee', 100, 'end_user'],
        ],
      );
      const bob = (await history(t, r)).filter((e) => e.actor === 'end_user:bob');
      assert.deepEqual(bob.map((e) => [e.source, (e as unknown as { rater: string; rating: number }).rater, (e as unknown as { rating: number }).rating]), [
        ['end_user', 'end_user:bob', 100],
        ['end_user', 'end_user:bob', 0],
      ]);
      // A reviewer's rating through the API sits beside the end users', with its own source.
      const put = await t.inject({ method: 'PUT', url: `/v1/requests/${r}/scores/thumbs`, headers: { 'x-api-key': t.alpha.key }, payload: { label: 'up' } });
      assert.equal(put.statusCode, 200, put.body);
      const after = await detailOf(r, 'thumbs');
      assert.deepEqual(after.ratings.filter((x) => x.source !== 'end_user').map((x) => [x.rater, x.value, x.source]), [[`key:${t.alpha.keyId}`, 100, 'api']]);
      assert.equal(after.ratings.filter((x) => x.source === 'end_user').length, 4);
    });

    it('a token may allow labels of the schema; the label becomes its value; others are refused naming label', async () => {
      await putSchema('verdict', { kind: 'categorical', labels: [{ label: 'good', value: 100 }, { label: 'ok', value: 50 }, { label: 'bad', value: 0 }] });
      const r = await logRequest(t);
      const unknownLabel = await t.post('/v1/feedback-tokens', { request_id: r, name: 'verdict', labels: ['good', 'great'] });
      assert.equal(unknownLabel.statusCode, 400);
      assert.match(errorOf(unknownLabel).message, /^labels\.1: must be one of the labels of "verdict"/);
      const noSchema = await t.post('/v1/feedback-tokens', { request_id: r, name: 'no-schema', labels: ['good'] });
      assert.equal(noSchema.statusCode, 400);
      assert.match(errorOf(noSchema).message, /^labels: /);
      const { token } = await mint(t, { request_id: r, name: 'verdict', labels: ['good', 'bad'], end_user: 'eve' });
      const ok = await submit(t, { token, label: 'good', comment: 'clear' });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json(), { success: true, name: 'verdict', value: 100, label: 'good' });
      const notAllowed = await submit(t, { token, label: 'ok' });
      assert.equal(notAllowed.statusCode, 400);
      assert.match(errorOf(notAllowed).message, /^label: must be one of "good", "bad"$/);
      const asValue = await submit(t, { token, value: 0 });
      assert.equal(asValue.statusCode, 400);
      assert.match(errorOf(asValue).message, /^value: this token takes a label/);
      assert.deepEqual((await detailOf(r, 'verdict')).ratings.map((x) => [x.rater, x.value, x.label, x.comment]), [['end_user:eve', 100, 'good', 'clear']]);
    });

    it("a value the token allows but the name's schema does not is refused naming value, nothing written", async () => {
      await putSchema('stars', { kind: 'numeric', min: 1, max: 5 });
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, name: 'stars' });
      const res = await submit(t, { token, value: 7 });
      assert.equal(res.statusCode, 400);
      assert.match(errorOf(res).message, /^value: must be an integer from 1 to 5/);
      assert.deepEqual(await history(t, r), []);
      assert.equal((await submit(t, { token, value: 4 })).statusCode, 200);
    });

    it('no API route writes a rating as an end user: end_user raters are refused on PUT and batch', async () => {
      const r = await logRequest(t);
      for (const rater of ['end_user:u-1', 'external:end_user:u-1']) {
        const put = await t.inject({ method: 'PUT', url: `/v1/requests/${r}/scores/thumbs`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 100, rater } });
        assert.equal(put.statusCode, 400, rater);
        assert.match(errorOf(put).message, /^rater: /);
        const batch = await t.post('/v1/scores/batch', { items: [{ request_id: r, name: 'thumbs', score: 100, rater }] });
        assert.equal(batch.statusCode, 400, rater);
        assert.match(errorOf(batch).message, /items\.0\.rater: /);
      }
      assert.deepEqual(await history(t, r), []);
      // Nor can a key's write claim the end_user source: whatever the body says, it is the key's.
      const own = await t.inject({ method: 'PUT', url: `/v1/requests/${r}/scores/plain`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 100, source: 'end_user' } });
      if (own.statusCode === 200) assert.deepEqual((await history(t, r)).map((e) => [e.actor, e.source]), [[`key:${t.alpha.keyId}`, 'api']]);
      else assert.equal(own.statusCode, 400);
    });
  });

  describe(`end users apart from reviewers: search, statistics and compare by rater source [${backend}]`, () => {
    let t: TestApp;
    const ids: number[] = [];
    before(async () => {
      t = await createTestApp(backend);
      // Two answers of prompt version 1, two of version 2; end users: v1 up, down; v2 up, up.
      for (const version of [1, 1, 2, 2]) ids.push(await logRequest(t, { prompt_name: 'answer', prompt_version_number: version }));
      for (const [i, value] of [100, 0, 100, 100].entries()) {
        const { token } = await mint(t, { request_id: ids[i]!, name: 'helpful', values: [100, 0], end_user: `reader-${i}` });
        assert.equal((await submit(t, { token, value })).statusCode, 200);
      }
      // A reviewer overrules the second (no schema: the latest rating is the score).
      const put = await t.inject({ method: 'PUT', url: `/v1/requests/${ids[1]}/scores/helpful`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 100 } });
      assert.equal(put.statusCode, 200, put.body);
    });
    after(() => t.close());

    interface Entry {
      group: { prompt_version?: number } | null;
      count: number;
      mean: number | null;
    }
    const stats = async (query: string): Promise<Entry[]> => {
      const res = await t.get(`/v1/scores/stats?name=helpful${query}`);
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { scores: Entry[] }).scores;
    };

    it('statistics count end users\' ratings apart: the share of thumbs up per prompt version', async () => {
      assert.deepEqual((await stats('')).map((e) => [e.count, e.mean]), [[4, 100]]);
      assert.deepEqual((await stats('&rater_source=end_user')).map((e) => [e.count, e.mean]), [[4, 75]]);
      assert.deepEqual((await stats('&rater_source=api,dashboard')).map((e) => [e.count, e.mean]), [[1, 100]]);
      const perVersion = await stats('&rater_source=end_user&group_by=prompt');
      assert.deepEqual(perVersion.map((e) => [e.group?.prompt_version, e.count, e.mean]), [[1, 2, 50], [2, 2, 100]]);
      // Together with a request filter.
      assert.deepEqual((await stats('&rater_source=end_user&prompt_version=1')).map((e) => [e.count, e.mean]), [[2, 50]]);
      const bad = await t.get('/v1/scores/stats?name=helpful&rater_source=robots');
      assert.equal(bad.statusCode, 400);
      assert.match(errorOf(bad).message, /^rater_source: /);
    });

    it('compare takes rater_source: prompt version 1 against 2 by end users only', async () => {
      const q = 'name=helpful&a.prompt_name=answer&a.prompt_version=1&b.prompt_name=answer&b.prompt_version=2';
      const all = await t.get(`/v1/scores/compare?${q}`);
      assert.equal(all.statusCode, 200, all.body);
      assert.deepEqual([(all.json() as { a: { mean: number } }).a.mean, (all.json() as { b: { mean: number } }).b.mean], [100, 100]);
      const users = await t.get(`/v1/scores/compare?${q}&rater_source=end_user`);
      assert.equal(users.statusCode, 200, users.body);
      const body = users.json() as { a: { mean: number; count: number }; b: { mean: number; count: number } };
      assert.deepEqual([body.a.count, body.a.mean, body.b.count, body.b.mean], [2, 50, 2, 100]);
    });

    it('search filters by rater source: requests a reviewer rated, or that only end users rated', async () => {
      const search = async (filter: unknown) => {
        const res = await t.post('/v1/requests/search', { filter, sort_by: 'id', sort_order: 'asc' });
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { items: { id: number }[] }).items.map((i) => i.id);
      };
      assert.deepEqual(await search({ field: 'rater_source', name: 'helpful', op: 'eq', value: 'api' }), [ids[1]]);
      assert.deepEqual(await search({ field: 'rater_source', name: 'helpful', op: 'eq', value: 'end_user' }), ids);
      assert.deepEqual(await search({ field: 'rater_source', name: 'helpful', op: 'not_in', value: ['api', 'dashboard'] }), [ids[0], ids[2], ids[3]]);
      const bad = await t.post('/v1/requests/search', { filter: { field: 'rater_source', name: 'helpful', op: 'eq', value: 'robots' } });
      assert.equal(bad.statusCode, 400);
      assert.match(errorOf(bad).message, /^filter\.value: "robots" is not a source/);
    });

    it('a withdrawn end-user rating no longer counts', async () => {
      const del = await t.inject({ method: 'DELETE', url: `/v1/requests/${ids[3]}/scores/helpful?rater=end_user:reader-3`, headers: { 'x-api-key': t.alpha.key } });
      assert.equal(del.statusCode, 200, del.body);
      assert.deepEqual((await stats('&rater_source=end_user')).map((e) => [e.count, e.mean]), [[3, 200 / 3]]);
      const res = await t.post('/v1/requests/search', { filter: { field: 'rater_source', name: 'helpful', op: 'eq', value: 'end_user' }, sort_by: 'id', sort_order: 'asc' });
      assert.deepEqual((res.json() as { items: { id: number }[] }).items.map((i) => i.id), ids.slice(0, 3));
    });
  });

  describe(`POST /v1/feedback from browser pages: its own CORS [${backend}]`, () => {
    let t: TestApp;

    before(async () => {
      // The API's own CORS allows another origin: the two lists stay apart.
      t = await createTestApp(backend, { corsOrigins: ['https://api-client.example.com'] });
      const set = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.alpha.key }, payload: { feedback_origins: [PAGE] } });
      assert.equal(set.statusCode, 200, set.body);
      const other = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.other.key }, payload: { feedback_origins: [OTHER_PAGE] } });
      assert.equal(other.statusCode, 200, other.body);
    });
    after(() => t.close());

    const preflight = (origin: string) => t.inject({ method: 'OPTIONS', url: '/v1/feedback', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });

    it("grants the preflight of an origin some workspace allows: POST, Content-Type, no credentials", async () => {
      const res = await preflight(PAGE);
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers['access-control-allow-origin'], PAGE);
      assert.equal(res.headers['access-control-allow-methods'], 'POST');
      assert.equal(res.headers['access-control-allow-headers'], 'Content-Type');
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
      assert.match(String(res.headers.vary), /Origin/);
    });

    it('gives an origin no workspace allows no CORS header, the API\'s own CORS origin included', async () => {
      for (const origin of ['https://evil.example.com', 'https://api-client.example.com', 'null']) {
        const res = await preflight(origin);
        assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      }
      // And the feedback origin gains nothing on the API.
      const api = await t.inject({ method: 'OPTIONS', url: '/v1/requests/search', headers: { origin: PAGE, 'access-control-request-method': 'POST' } });
      assert.equal(api.headers['access-control-allow-origin'], undefined);
    });

    it('accepts a POST from an origin its token\'s workspace allows, and exposes Retry-After', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, values: [100, 0] });
      const res = await submit(t, { token, value: 100 }, { origin: PAGE });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['access-control-allow-origin'], PAGE);
      assert.equal(res.headers['access-control-expose-headers'], 'Retry-After');
      assert.equal(res.headers['access-control-allow-credentials'], undefined);
    });

    it("refuses with 403, writing nothing, a page allowed only by another workspace than the token's", async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, values: [100, 0] });
      // OTHER_PAGE passes the preflight (workspace `other` lists it) but the token is alpha's.
      assert.equal((await preflight(OTHER_PAGE)).headers['access-control-allow-origin'], OTHER_PAGE);
      const res = await submit(t, { token, value: 100 }, { origin: OTHER_PAGE });
      assert.equal(res.statusCode, 403);
      assert.match(errorOf(res).message, /^origin: /);
      const unknown = await submit(t, { token, value: 100 }, { origin: 'https://evil.example.com' });
      assert.equal(unknown.statusCode, 403);
      assert.equal(unknown.headers['access-control-allow-origin'], undefined);
      assert.deepEqual(await history(t, r), []);
      // Without an Origin (a server, not a browser) the token alone is enough.
      assert.equal((await submit(t, { token, value: 100 })).statusCode, 200);
    });

    it('lets an allowed page read refusals: 401 for a bad token carries the CORS header', async () => {
      const res = await submit(t, { token: 'v1.nope.nope', value: 1 }, { origin: PAGE });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['access-control-allow-origin'], PAGE);
    });

    it('an origin removed from the list is refused at once on this instance', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, values: [100, 0] });
      await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.alpha.key }, payload: { feedback_origins: [] } });
      try {
        assert.equal((await preflight(PAGE)).headers['access-control-allow-origin'], undefined);
        assert.equal((await submit(t, { token, value: 100 }, { origin: PAGE })).statusCode, 403);
      } finally {
        await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': t.alpha.key }, payload: { feedback_origins: [PAGE] } });
      }
    });
  });

  describe(`feedback rate limits [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, { feedbackPerAddress: 5, feedbackPerToken: 2 });
    });
    after(() => t.close());

    it('slows a flood from one address with 429 and Retry-After, bad tokens included; other addresses go on', async () => {
      const r = await logRequest(t);
      const { token } = await mint(t, { request_id: r, values: [100, 0] });
      const answers: number[] = [];
      for (let i = 0; i < 7; i++) answers.push((await submit(t, { token: `v1.garbage${i}.x`, value: 100 }, {}, '203.0.113.7')).statusCode);
      assert.deepEqual(answers, [401, 401, 401, 401, 401, 429, 429]);
      const limited = await submit(t, { token, value: 100 }, {}, '203.0.113.7');
      assert.equal(limited.statusCode, 429);
      assert.ok(Number(limited.headers['retry-after']) >= 1, String(limited.headers['retry-after']));
      assert.equal(errorOf(limited).code, 'rate_limited');
      assert.deepEqual(await history(t, r), []);
      assert.equal((await submit(t, { token, value: 100 }, {}, '203.0.113.8')).statusCode, 200);
    });

    it('limits one token: its third submission in a minute is 429, another token is not', async () => {
      const r = await logRequest(t);
      const a = await mint(t, { request_id: r, values: [100, 0], end_user: 'a' });
      const b = await mint(t, { request_id: r, values: [100, 0], end_user: 'b' });
      const codes = [];
      for (const [i, value] of [100, 0, 100].entries()) codes.push((await submit(t, { token: a.token, value }, {}, `198.51.100.${i + 1}`)).statusCode);
      assert.deepEqual(codes, [200, 200, 429]);
      assert.equal((await submit(t, { token: b.token, value: 100 }, {}, '198.51.100.9')).statusCode, 200);
      assert.equal((await history(t, r)).length, 3);
    });
  });
}
