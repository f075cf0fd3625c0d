import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { parseCsv } from './helpers/parse-csv.js';
import { addApiKey, addWorkspace, createTestApp, logRequest, type TestApp, type TestWorkspace } from './helpers/test-app.js';

interface ScoreDetails {
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  actor: string;
  rater: string;
  updated_at: string;
  schema_version: number | null;
  ratings?: { rater: string; value: number; label: string | null; comment: string | null; reasons: string[] | null; source: string; at: string }[];
}

for (const backend of BACKENDS) {
  describe(`ratings and aggregates [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    let counter = 0;
    /** A workspace of its own per test, so schemas and reason counts do not meet. */
    const workspace = () => addWorkspace(t.store, `r-${counter++}`);
    const putSchema = (w: TestWorkspace, name: string, body: unknown) =>
      t.inject({ method: 'PUT', url: `/v1/score-schemas/${encodeURIComponent(name)}`, headers: { 'x-api-key': w.key }, payload: body as object });
    const rate = async (w: TestWorkspace, id: number, name: string, body: Record<string, unknown>, key = w.key) => {
      const res = await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/${encodeURIComponent(name)}`, headers: { 'x-api-key': key }, payload: body });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { new_value: number | null; old_value: number | null; rating: number | null; rater: string; label: string | null };
    };
    const details = async (w: TestWorkspace, id: number) => {
      const res = await t.get(`/v1/requests/${id}`, { key: w.key });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { request: { scores: Record<string, number>; score_details: Record<string, ScoreDetails> } }).request;
    };
    const del = (w: TestWorkspace, id: number, name: string, query = '') =>
      t.inject({ method: 'DELETE', url: `/v1/requests/${id}/scores/${encodeURIComponent(name)}${query}`, headers: { 'x-api-key': w.key } });

    it('keeps PromptLayer semantics without a schema: the last write wins, one history row per write, ratings per key', async () => {
      const w = await workspace();
      const second = await addApiKey(t.store, w.workspace.id, 'second');
      const id = await logRequest(t, {}, w.key);
      assert.equal((await t.post('/rest/track-score', { request_id: id, score: 30 }, { key: w.key })).statusCode, 200);
      assert.equal((await t.post('/library-track-score', { request_id: id, score: 80 }, { key: second.key })).statusCode, 200);
      assert.equal((await t.post('/rest/track-score', { request_id: id, score: 10 }, { key: w.key })).statusCode, 200);
      const r = await details(w, id);
      assert.deepEqual(r.scores, { default: 10 });
      const d = r.score_details.default!;
      assert.deepEqual([d.value, d.rater, d.actor, d.source, d.label, d.schema_version], [10, `key:${w.keyId}`, `key:${w.keyId}`, 'api', null, null]);
      assert.deepEqual(
        d.ratings!.map((x) => [x.rater, x.value]),
        [
          [`key:${second.keyId}`, 80],
          [`key:${w.keyId}`, 10],
        ],
      );
      const history = (await t.get(`/v1/requests/${id}/scores/history`, { key: w.key })).json() as { events: { old_value: number | null; new_value: number; kind: string }[] };
      assert.deepEqual(history.events.map((e) => [e.old_value, e.new_value, e.kind]), [
        [null, 30, 'rating'],
        [30, 80, 'rating'],
        [80, 10, 'rating'],
      ]);
    });

    it('makes the score the mean of the current ratings, rounded half up, one per rater', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'quality', { kind: 'numeric', aggregate: 'mean' })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      assert.equal((await rate(w, id, 'quality', { score: 60, rater: 'ann' })).new_value, 60);
      assert.equal((await rate(w, id, 'quality', { score: 71, rater: 'bob' })).new_value, 66); // 65.5 rounds up
      const third = await rate(w, id, 'quality', { score: 90 });
      assert.deepEqual([third.old_value, third.new_value, third.rating, third.rater], [66, 74, 90, `key:${w.keyId}`]); // 221 / 3 = 73.67
      // Bob changes his mind: his rating is replaced, not added.
      assert.equal((await rate(w, id, 'quality', { score: 11, rater: 'external:bob' })).new_value, 54); // (60 + 11 + 90) / 3 = 53.67
      const r = await details(w, id);
      assert.equal(r.scores.quality, 54);
      assert.deepEqual(
        r.score_details.quality!.ratings!.map((x) => [x.rater, x.value]),
        [
          ['external:ann', 60],
          [`key:${w.keyId}`, 90],
          ['external:bob', 11],
        ],
      );
    });

    it('makes the score the median under "median": the middle one, or the mean of the middle two rounded half up', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', aggregate: 'median' })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'q', { score: 10, rater: 'a' });
      assert.equal((await rate(w, id, 'q', { score: 15, rater: 'b' })).new_value, 13); // 12.5 rounds up
      assert.equal((await rate(w, id, 'q', { score: 90, rater: 'c' })).new_value, 15);
    });

    it('gives the median until an adjudication, then the adjudicated value; a categorical score carries its label', async () => {
      const w = await workspace();
      const labels = [
        { label: 'good', value: 100 },
        { label: 'ok', value: 50 },
        { label: 'bad', value: 0 },
      ];
      assert.equal((await putSchema(w, 'verdict', { kind: 'categorical', labels, aggregate: 'adjudicated' })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'verdict', { label: 'good', rater: 'a' });
      await rate(w, id, 'verdict', { label: 'bad', rater: 'b' });
      const third = await rate(w, id, 'verdict', { label: 'ok', rater: 'c' });
      assert.deepEqual([third.new_value, third.label], [50, 'ok']);
      const adjudicated = await t.store.write((wr) =>
        wr.run({ op: 'adjudicate', workspaceId: w.workspace.id, requestId: id, name: 'verdict', value: null, label: 'bad', actor: { id: 'user:7', source: 'dashboard' }, opts: { comment: 'b is right' } }),
      );
      assert.deepEqual([adjudicated.oldValue, adjudicated.newValue, adjudicated.label], [50, 0, 'bad']);
      // A later rating does not move an adjudicated score.
      assert.equal((await rate(w, id, 'verdict', { label: 'good', rater: 'd' })).new_value, 0);
      const r = await details(w, id);
      assert.deepEqual([r.scores.verdict, r.score_details.verdict!.label], [0, 'bad']);
      const events = (await t.store.scores.history(w.workspace.id, id)).map((e) => [e.kind, e.rater, e.rating, e.newValue]);
      assert.deepEqual(events.at(-2), ['adjudication', 'user:7', 0, 0]);
      // The ratings are the raters' own, not the adjudication.
      assert.deepEqual((await t.store.scores.currentRatings(w.workspace.id, [id], 'verdict')).map((x) => [x.rater, x.label]), [
        ['external:a', 'good'],
        ['external:b', 'bad'],
        ['external:c', 'ok'],
        ['external:d', 'good'],
      ]);
    });

    const adjudicate = (w: TestWorkspace, id: number, name: string, value: number, adjudicator = 'user:7') =>
      t.store.write((wr) => wr.run({ op: 'adjudicate', workspaceId: w.workspace.id, requestId: id, name, value, actor: { id: adjudicator, source: 'dashboard' }, opts: { comment: 'settled' } }));
    /** A rating written straight through the store's program (the PromptLayer path, on both backends). */
    const rateInStore = (w: TestWorkspace, id: number, name: string, value: number, rater: string) =>
      t.store.write((wr) => wr.run({ op: 'setScore', workspaceId: w.workspace.id, requestId: id, name, value, rater, actor: { id: `key:${w.keyId}`, source: 'api' } }));

    it('lets an adjudication override the score without a schema; later ratings are recorded but the score stays until a delete', async () => {
      const w = await workspace();
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'plain', { score: 30 });
      const settled = await adjudicate(w, id, 'plain', 70);
      assert.deepEqual([settled.oldValue, settled.newValue, settled.rater], [30, 70, 'user:7']);
      // Every way of rating leaves it: the route, the PromptLayer route, a batch and the store's own program.
      const put = await rate(w, id, 'plain', { score: 10, rater: 'ann' });
      assert.deepEqual([put.old_value, put.new_value, put.rating], [70, 70, 10]);
      assert.equal((await t.post('/rest/track-score', { request_id: id, score: 5, name: 'plain' }, { key: w.key })).statusCode, 200);
      const batch = await t.post('/v1/scores/batch', { items: [{ request_id: id, name: 'plain', score: 15, rater: 'bob' }] }, { key: w.key });
      assert.equal(batch.statusCode, 200, batch.body);
      const direct = await rateInStore(w, id, 'plain', 20, 'external:cy');
      assert.deepEqual([direct.oldValue, direct.newValue, direct.rating], [70, 70, 20]);
      const r = await details(w, id);
      assert.equal(r.scores.plain, 70);
      const d = r.score_details.plain!;
      assert.deepEqual([d.value, d.rater, d.comment], [70, 'user:7', 'settled']);
      assert.deepEqual(
        d.ratings!.map((x) => [x.rater, x.value]),
        [
          ['external:ann', 10],
          [`key:${w.keyId}`, 5],
          ['external:bob', 15],
          ['external:cy', 20],
        ],
      );
      const history = (await t.store.scores.history(w.workspace.id, id)).filter((e) => e.name === 'plain').map((e) => [e.kind, e.rating, e.oldValue, e.newValue]);
      assert.deepEqual(history, [
        ['rating', 30, null, 30],
        ['adjudication', 70, 30, 70],
        ['rating', 10, 70, 70],
        ['rating', 5, 70, 70],
        ['rating', 15, 70, 70],
        ['rating', 20, 70, 70],
      ]);
      // A newer adjudication replaces it; a delete of the score ends it.
      assert.equal((await adjudicate(w, id, 'plain', 40, 'user:8')).newValue, 40);
      assert.equal((await rate(w, id, 'plain', { score: 90 })).new_value, 40);
      assert.equal((await details(w, id)).score_details.plain!.rater, 'user:8');
      assert.equal((await del(w, id, 'plain')).statusCode, 200);
      assert.equal((await rate(w, id, 'plain', { score: 90 })).new_value, 90);
      assert.equal((await rateInStore(w, id, 'plain', 25, 'external:cy')).newValue, 25);
    });

    it('lets an adjudication override a mean: ratings and withdrawals leave it, a delete ends it', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', aggregate: 'mean' })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'q', { score: 20, rater: 'a' });
      assert.equal((await rate(w, id, 'q', { score: 80, rater: 'b' })).new_value, 50);
      assert.deepEqual([(await adjudicate(w, id, 'q', 90)).newValue], [90]);
      assert.deepEqual([(await rate(w, id, 'q', { score: 10, rater: 'c' })).new_value], [90]);
      const withdrawn = await del(w, id, 'q', '?rater=b');
      assert.equal(withdrawn.statusCode, 200, withdrawn.body);
      assert.equal((withdrawn.json() as { new_value: number }).new_value, 90);
      assert.deepEqual([(await details(w, id)).scores.q, (await details(w, id)).score_details.q!.rater], [90, 'user:7']);
      // Under latest now (the schema changed): still adjudicated.
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', aggregate: 'latest' })).statusCode, 200);
      assert.equal((await rate(w, id, 'q', { score: 33, rater: 'd' })).new_value, 90);
      assert.equal((await del(w, id, 'q')).statusCode, 200);
      assert.equal((await rate(w, id, 'q', { score: 33, rater: 'd' })).new_value, 33);
    });

    it('counts reasons of the current ratings of raters of the given sources with rater_source', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'why', { kind: 'numeric', reasons: ['slow', 'wrong'] })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      // A key's rating (source api), then a batch's (source batch), which is the score.
      await rate(w, id, 'why', { score: 20, reasons: ['slow'] });
      const batch = await t.post('/v1/scores/batch', { items: [{ request_id: id, name: 'why', score: 90, reasons: ['wrong'], rater: 'bot' }] }, { key: w.key });
      assert.equal(batch.statusCode, 200, batch.body);
      const reasons = async (query: string) => {
        const res = await t.get(`/v1/scores/stats?name=why${query}`, { key: w.key });
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { reasons: { name: string; reasons: { reason: string; count: number; low: number }[] }[] }).reasons.map((r) => [r.name, r.reasons.map((x) => [x.reason, x.count, x.low])]);
      };
      assert.deepEqual(await reasons(''), [['why', [['wrong', 1, 0]]]]);
      assert.deepEqual(await reasons('&rater_source=api'), [['why', [['slow', 1, 1]]]]);
      assert.deepEqual(await reasons('&rater_source=api,batch'), [['why', [['slow', 1, 1], ['wrong', 1, 0]]]]);
      assert.deepEqual(await reasons('&rater_source=dashboard'), []);
    });

    it("withdraws one rater's rating with DELETE ?rater= and recomputes; the score goes when the last rating goes", async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', aggregate: 'mean', reasons: ['slow'] })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'q', { score: 20, rater: 'a', comment: 'too slow', reasons: ['slow'] });
      await rate(w, id, 'q', { score: 80, rater: 'b' });
      const res = await del(w, id, 'q', '?rater=b');
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual([(res.json() as { old_value: number }).old_value, (res.json() as { new_value: number }).new_value], [50, 20]);
      // The score now carries the remaining rating's comment and reasons.
      const d = (await details(w, id)).score_details.q!;
      assert.deepEqual([d.value, d.comment, d.reasons, d.rater], [20, 'too slow', ['slow'], 'external:a']);
      assert.equal((await del(w, id, 'q', '?rater=b')).statusCode, 404);
      assert.match(((await del(w, id, 'q', '?rater=b')).json() as { message: string }).message, /^rater:/);
      const last = await del(w, id, 'q', '?rater=external:a');
      assert.equal(last.statusCode, 200, last.body);
      assert.equal((last.json() as { new_value: number | null }).new_value, null);
      assert.deepEqual((await details(w, id)).scores, {});
      assert.deepEqual(await t.store.scores.currentRatings(w.workspace.id, [id]), []);
      const kinds = (await t.store.scores.history(w.workspace.id, id)).map((e) => [e.kind, e.rater, e.rating, e.newValue]);
      assert.deepEqual(kinds, [
        ['rating', 'external:a', 20, 20],
        ['rating', 'external:b', 80, 50],
        ['rating', 'external:b', null, 20],
        ['rating', 'external:a', null, null],
      ]);
    });

    it('deletes the score and every rating with a DELETE without rater; ratings start afresh after it', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', aggregate: 'mean' })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'q', { score: 20, rater: 'a' });
      await rate(w, id, 'q', { score: 80, rater: 'b' });
      assert.equal((await del(w, id, 'q')).statusCode, 200);
      assert.deepEqual(await t.store.scores.currentRatings(w.workspace.id, [id]), []);
      assert.equal((await rate(w, id, 'q', { score: 40, rater: 'c' })).new_value, 40);
      const last = (await t.store.scores.history(w.workspace.id, id)).at(-2)!;
      assert.deepEqual([last.kind, last.newValue, last.rating], ['delete', null, null]);
    });

    it('refuses a rater that claims a key, a user or an end user, naming "rater"', async () => {
      const w = await workspace();
      const id = await logRequest(t, {}, w.key);
      for (const rater of ['end_user:abc', 'key:1', 'user:2', 'external:end_user:x', '', ' padded']) {
        const res = await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/q`, headers: { 'x-api-key': w.key }, payload: { score: 5, rater } });
        assert.equal(res.statusCode, 400, `${rater}: ${res.body}`);
        assert.match((res.json() as { message: string }).message, /^rater:/);
      }
    });

    it('answers currentRatings for many requests at once, leaving out other workspaces', async () => {
      const w = await workspace();
      const other = await workspace();
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) ids.push(await logRequest(t, {}, w.key));
      const foreign = await logRequest(t, {}, other.key);
      await rate(w, ids[0]!, 'a', { score: 1 });
      await rate(w, ids[2]!, 'b', { score: 2, rater: 'x' });
      await rate(w, ids[2]!, 'a', { score: 3 });
      await rate(other, foreign, 'a', { score: 4 });
      const all = await t.store.scores.currentRatings(w.workspace.id, [...ids, foreign, 999_999]);
      assert.deepEqual(all.map((r) => [r.requestId, r.name, r.rater, r.value]), [
        [ids[0], 'a', `key:${w.keyId}`, 1],
        [ids[2], 'a', `key:${w.keyId}`, 3],
        [ids[2], 'b', 'external:x', 2],
      ]);
      assert.deepEqual((await t.store.scores.currentRatings(w.workspace.id, ids, 'b')).map((r) => r.requestId), [ids[2]]);
    });

    it('shows score_details with label, comment, reasons, rater, source and schema version on GET /v1/requests/{id}', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'thumbs', { kind: 'boolean', labels: [{ label: 'up', value: 100 }, { label: 'down', value: 0 }], reasons: ['rude', 'wrong'] })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'thumbs', { label: 'down', comment: 'wrong capital', reasons: ['wrong'], rater: 'vendor' });
      const r = await details(w, id);
      assert.deepEqual(r.scores, { thumbs: 0 });
      const d = r.score_details.thumbs!;
      assert.match(d.updated_at, /^\d{4}-\d\d-\d\dT/);
      assert.match(d.ratings![0]!.at, /^\d{4}-\d\d-\d\dT/);
      assert.deepEqual(
        { ...d, updated_at: 'T', ratings: d.ratings!.map((x) => ({ ...x, at: 'T' })) },
        {
          value: 0,
          label: 'down',
          comment: 'wrong capital',
          reasons: ['wrong'],
          source: 'api',
          actor: `key:${w.keyId}`,
          rater: 'external:vendor',
          updated_at: 'T',
          schema_version: 1,
          ratings: [{ rater: 'external:vendor', value: 0, label: 'down', comment: 'wrong capital', reasons: ['wrong'], source: 'api', at: 'T' }],
        },
      );
    });

    it('carries kind, rater, rating, label, reasons and schema version in the history and the feed', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', reasons: ['slow'] })).statusCode, 200);
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', reasons: ['slow', 'wrong'] })).statusCode, 200);
      const id = await logRequest(t, {}, w.key);
      await rate(w, id, 'q', { score: 12, comment: 'meh', reasons: ['wrong', 'slow'], rater: 'v' });
      const pick = (e: Record<string, unknown>) => [e.kind, e.rater, e.rating, e.label, e.reasons, e.schema_version, e.comment, e.new_value];
      const expected = ['rating', 'external:v', 12, null, ['wrong', 'slow'], 2, 'meh', 12];
      const history = (await t.get(`/v1/requests/${id}/scores/history`, { key: w.key })).json() as { events: Record<string, unknown>[] };
      assert.deepEqual(history.events.map(pick), [expected]);
      const feed = (await t.get(`/v1/score-events?request_id=${id}`, { key: w.key })).json() as { events: Record<string, unknown>[] };
      assert.deepEqual(feed.events.map(pick), [expected]);
    });

    it('exports score_details in JSONL and a comment column after each score column in CSV', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'thumbs', { kind: 'boolean', reasons: ['rude'] })).statusCode, 200);
      const a = await logRequest(t, {}, w.key);
      const b = await logRequest(t, {}, w.key);
      await rate(w, a, 'thumbs', { label: 'no', comment: 'rude, "very"', reasons: ['rude'] });
      await rate(w, a, 'zeta', { score: 7 });
      await rate(w, b, 'zeta', { score: 9, comment: 'fine' });

      const jsonl = await t.get('/v1/requests/export?format=jsonl&sort_by=id&sort_order=asc', { key: w.key });
      assert.equal(jsonl.statusCode, 200, jsonl.body);
      const lines = jsonl.body.trim().split('\n').map((l) => JSON.parse(l) as { id: number; score_details: Record<string, ScoreDetails> });
      assert.deepEqual(lines.map((l) => l.id), [a, b]);
      const thumbs = lines[0]!.score_details.thumbs!;
      assert.deepEqual([thumbs.value, thumbs.label, thumbs.comment, thumbs.reasons, thumbs.rater, thumbs.source, thumbs.schema_version], [0, 'no', 'rude, "very"', ['rude'], `key:${w.keyId}`, 'api', 1]);
      assert.match(thumbs.updated_at, /^\d{4}-/);
      assert.deepEqual(Object.keys(lines[1]!.score_details), ['zeta']);

      const csv = await t.get('/v1/requests/export?format=csv&sort_by=id&sort_order=asc', { key: w.key });
      assert.equal(csv.statusCode, 200, csv.body);
      const [header, ...rows] = parseCsv(csv.body);
      const col = (name: string) => header!.indexOf(name);
      assert.deepEqual(header!.slice(-4), ['score:thumbs', 'score_comment:thumbs', 'score:zeta', 'score_comment:zeta']);
      assert.deepEqual(rows.map((r) => [r[col('score:thumbs')], r[col('score_comment:thumbs')], r[col('score:zeta')], r[col('score_comment:zeta')]]), [
        ['0', 'rude, "very"', '7', ''],
        ['', '', '9', 'fine'],
      ]);
    });

    it('counts reasons per name in /v1/scores/stats, with the low ones below the threshold', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', reasons: ['hallucination', 'off-topic'], comment_required_below: 30 })).statusCode, 200);
      const values: [number, string[]][] = [
        [10, ['hallucination']],
        [20, ['hallucination', 'off-topic']],
        [90, ['hallucination']],
        [50, ['off-topic']],
        [30, ['off-topic']], // at the threshold: not low
        [70, []],
      ];
      for (const [score, reasons] of values) {
        const id = await logRequest(t, {}, w.key);
        await rate(w, id, 'q', { score, reasons, comment: 'why' });
      }
      const free = await logRequest(t, {}, w.key);
      await rate(w, free, 'free', { score: 3 });
      const res = await t.get('/v1/scores/stats', { key: w.key });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual((res.json() as { reasons: unknown }).reasons, [
        {
          name: 'q',
          low_below: 30,
          reasons: [
            { reason: 'hallucination', count: 3, low: 2 },
            { reason: 'off-topic', count: 3, low: 1 },
          ],
        },
      ]);
      const filtered = await t.get('/v1/scores/stats?score.q=gte:50', { key: w.key });
      assert.deepEqual((filtered.json() as { reasons: { reasons: unknown }[] }).reasons[0]!.reasons, [
        { reason: 'hallucination', count: 1, low: 0 },
        { reason: 'off-topic', count: 1, low: 0 },
      ]);
    });

    it('finds requests by reason in the POST filter, the GET parameters and the PromptLayer search', async () => {
      const w = await workspace();
      assert.equal((await putSchema(w, 'q', { kind: 'numeric', reasons: ['hallucination', 'hallucination-ish', 'Off_topic'] })).statusCode, 200);
      const [x, y, z, n] = [await logRequest(t, {}, w.key), await logRequest(t, {}, w.key), await logRequest(t, {}, w.key), await logRequest(t, {}, w.key)];
      await rate(w, x!, 'q', { score: 10, reasons: ['hallucination'] });
      await rate(w, y!, 'q', { score: 20, reasons: ['hallucination-ish', 'Off_topic'] });
      await rate(w, z!, 'q', { score: 30 });
      void n;
      const search = async (filter: unknown) => {
        const res = await t.post('/v1/requests/search', { filter, sort_by: 'id', sort_order: 'asc' }, { key: w.key });
        assert.equal(res.statusCode, 200, res.body);
        return (res.json() as { items: { id: number }[] }).items.map((i) => i.id);
      };
      assert.deepEqual(await search({ field: 'reason', name: 'q', op: 'eq', value: 'hallucination' }), [x]);
      assert.deepEqual(await search({ field: 'reason', name: 'q', op: 'eq', value: 'off_topic' }), [y]); // ASCII case ignored; `_` is no wildcard
      assert.deepEqual(await search({ field: 'reason', name: 'q', op: 'in', value: ['hallucination', 'Off_topic'] }), [x, y]);
      assert.deepEqual(await search({ field: 'reason', name: 'q', op: 'neq', value: 'hallucination' }), [y, z, n]);
      assert.deepEqual(await search({ field: 'reason', name: 'other', op: 'eq', value: 'hallucination' }), []);
      const get = await t.get('/v1/requests/search?reason.q=hallucination-ish&sort_by=id&sort_order=asc', { key: w.key });
      assert.equal(get.statusCode, 200, get.body);
      assert.deepEqual((get.json() as { items: { id: number }[] }).items.map((i) => i.id), [y]);
      const pl = await t.post('/api/public/v2/requests/search', { filter_group: { logic: 'AND', filters: [{ field: 'reason', nested_key: 'q', operator: 'is', value: 'hallucination' }] } }, { key: w.key });
      assert.equal(pl.statusCode, 200, pl.body);
      assert.deepEqual((pl.json() as { items: { id: number }[] }).items.map((i) => i.id), [x]);
      const bad = await t.post('/v1/requests/search', { filter: { field: 'reason', name: 'q', op: 'contains', value: 'hall' } }, { key: w.key });
      assert.equal(bad.statusCode, 400, bad.body);
    });
  });
}
