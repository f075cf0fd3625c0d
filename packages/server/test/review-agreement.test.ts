import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { addApiKey, createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

const _ = null;

/**
 * Krippendorff (2011), section C: 4 observers, 12 units, missing values (see agreement.test.ts for
 * the hand computation), as scores: value v is the score 10 v. Interval alpha is unchanged by a
 * linear change of scale, nominal and ordinal alpha by any one-to-one increasing relabelling, so
 * the published 0.849, 0.743 and 0.815 hold for these scores too.
 */
const KRIPPENDORFF_2011 = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
  [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
];

interface Agreement {
  metric: string;
  alpha: number | null;
  interval: { low: number; high: number; seed: number; replicates: number } | null;
  items_rated: number;
  items_pairable: number;
  raters: { rater: string; items: number; shared_items: number; mean_offset: number | null; alpha: number | null }[];
}

const round3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

for (const backend of BACKENDS) {
  describe(`review: ratings, blind review, agreement, disputes, adjudication [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    let run = 0;
    const modelFor = (what: string) => `${what}-${++run}`;
    const logMany = async (model: string, n: number) => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(await logRequest(t, { model }));
      return ids;
    };
    const createQueue = async (body: Record<string, unknown>) => {
      const res = await t.post('/v1/review-queues', { name: 'q', score_name: 'quality', raters_per_item: 1, ...body });
      assert.equal(res.statusCode, 201, res.body);
      return (res.json() as { queue: { id: number } }).queue.id;
    };
    const claim = async (queueId: number, rater: string) => {
      const res = await t.post(`/v1/review-queues/${queueId}/claim`, { rater });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { item: { request_id: number } | null }).item?.request_id ?? null;
    };
    const rate = (queueId: number, requestId: number, body: Record<string, unknown>, key?: string) => t.post(`/v1/review-queues/${queueId}/items/${requestId}/ratings`, body, { key });
    const rateOk = async (queueId: number, requestId: number, body: Record<string, unknown>, key?: string) => {
      const res = await rate(queueId, requestId, body, key);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { rater: string; rating: number; new_value: number | null; completed: boolean; label: string | null };
    };
    const putSchema = async (name: string, body: Record<string, unknown>) => {
      const res = await t.inject({ method: 'PUT', url: `/v1/score-schemas/${name}`, headers: { 'x-api-key': t.alpha.key }, payload: body });
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    };

    describe('rating through a queue', () => {
      it('records the rating as the rater, marks the claim done and completes the item at raters_per_item', async () => {
        const model = modelFor('rate');
        const [one, two] = await logMany(model, 2);
        const q = await createQueue({ filter: { field: 'model', op: '=', value: model }, raters_per_item: 2 });
        assert.equal(await claim(q, 'ann'), one);
        const first = await rateOk(q, one!, { score: 80, comment: 'fine', rater: 'ann' });
        assert.equal(first.rater, 'external:ann');
        assert.equal(first.completed, false);
        assert.equal(await claim(q, 'bob'), one, 'one slot left on item one');
        assert.equal(await claim(q, 'cyd'), two, "ann's rating and bob's claim fill item one's two slots");
        assert.equal((await rateOk(q, one!, { score: 60, rater: 'bob' })).completed, true);
        assert.equal(await claim(q, 'ann'), two, "ann's claim was released by her rating; she is never handed the item she rated");

        const ratings = await t.store.scores.currentRatings(t.alpha.workspace.id, [one!], 'quality');
        assert.deepEqual(ratings.map((r) => [r.rater, r.value, r.comment]).sort(), [['external:ann', 80, 'fine'], ['external:bob', 60, null]]);
        const queue = (await t.get(`/v1/review-queues/${q}`)).json().queue;
        assert.deepEqual([queue.progress.completed, queue.progress.ratings, queue.progress.in_progress], [1, 2, 1]);
        assert.deepEqual(
          queue.progress.raters.map((r: { rater: string; done: number; claimed: number }) => [r.rater, r.done, r.claimed]),
          [['external:ann', 1, 1], ['external:bob', 1, 0], ['external:cyd', 0, 1]],
        );
        const full = await rate(q, one!, { score: 10, rater: 'dan' });
        assert.equal(full.statusCode, 409, 'no slot left for a rater who never claimed it');
        assert.ok((full.json().message as string).startsWith('request_id:'), full.body);
      });

      it('never hands a rater an item they rated outside the queue', async () => {
        const model = modelFor('outside');
        const [one, two] = await logMany(model, 2);
        const put = await t.inject({ method: 'PUT', url: `/v1/requests/${one}/scores/quality`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 50, rater: 'eve' } });
        assert.equal(put.statusCode, 200, put.body);
        const q = await createQueue({ filter: { field: 'model', op: '=', value: model }, raters_per_item: 3 });
        assert.equal(await claim(q, 'eve'), two);
        assert.equal(await claim(q, 'fay'), one);
      });

      it("checks the rating against the name's schema and writes nothing when it is refused", async () => {
        await putSchema('verdict', { kind: 'categorical', labels: [{ label: 'good', value: 100 }, { label: 'bad', value: 0 }] });
        const model = modelFor('schema');
        const [one] = await logMany(model, 1);
        const q = await createQueue({ score_name: 'verdict', filter: { field: 'model', op: '=', value: model } });
        assert.equal(await claim(q, 'gus'), one);
        for (const [body, field] of [
          [{ label: 'great', rater: 'gus' }, 'label'],
          [{ score: 42, rater: 'gus' }, 'score'],
          [{ score: 100, label: 'good', rater: 'gus' }, 'label'],
        ] as const) {
          const res = await rate(q, one!, body);
          assert.equal(res.statusCode, 400, res.body);
          assert.ok((res.json().message as string).startsWith(`${field}:`), res.body);
        }
        assert.deepEqual(await t.store.scores.currentRatings(t.alpha.workspace.id, [one!], 'verdict'), []);
        const claims = await t.store.reviewQueues.claims(q, one!);
        assert.deepEqual(claims.map((c) => c.state), ['claimed'], 'the claim is still held');
        const ok = await rateOk(q, one!, { label: 'bad', rater: 'gus' });
        assert.deepEqual([ok.rating, ok.label, ok.new_value], [0, 'bad', 0]);
      });
    });

    describe('blind review', () => {
      it("hides the item's other ratings and its score until the caller rated, and shows them after", async () => {
        const model = modelFor('blind');
        const [one] = await logMany(model, 1);
        const q = await createQueue({ filter: { field: 'model', op: '=', value: model }, raters_per_item: 2, blind: true });
        assert.equal(await claim(q, 'hal'), one);
        await rateOk(q, one!, { score: 90, rater: 'hal' });
        const claimed = await t.post(`/v1/review-queues/${q}/claim`, { rater: 'ida' });
        assert.equal(claimed.json().item.request_id, one);
        assert.equal(claimed.json().item.scores_hidden, true);
        assert.equal(claimed.json().item.request.scores.quality, undefined, "the claim leaves out hal's score");
        assert.equal(claimed.json().item.request.score_details?.quality, undefined);

        const before = await t.get(`/v1/review-queues/${q}/items/${one}?rater=ida`);
        assert.equal(before.statusCode, 200, before.body);
        assert.deepEqual([before.json().hidden, before.json().rated, before.json().ratings], [true, false, null]);
        assert.equal(before.json().request.scores.quality, undefined);
        assert.equal(before.json().your_claim.state, 'claimed');

        const hal = (await t.get(`/v1/review-queues/${q}/items/${one}?rater=hal`)).json();
        assert.deepEqual([hal.hidden, hal.rated], [false, true], 'hal rated: hal sees');

        await rateOk(q, one!, { score: 30, rater: 'ida' });
        const afterRating = (await t.get(`/v1/review-queues/${q}/items/${one}?rater=ida`)).json();
        assert.equal(afterRating.hidden, false);
        assert.deepEqual(afterRating.ratings.map((r: { rater: string; value: number }) => [r.rater, r.value]).sort(), [['external:hal', 90], ['external:ida', 30]]);
        assert.equal(afterRating.request.scores.quality, 30);
      });
    });

    describe('agreement', () => {
      it("reads Krippendorff's published alphas through the API, with missing ratings", async () => {
        const model = modelFor('kripp');
        const ids = await logMany(model, 12);
        const q = await createQueue({ filter: { field: 'model', op: '=', value: model }, raters_per_item: 4 });
        const raters = ['A', 'B', 'C', 'D'];
        for (const [r, row] of KRIPPENDORFF_2011.entries()) {
          for (const [u, v] of row.entries()) if (v !== null) await rateOk(q, ids[u]!, { score: v * 10, rater: raters[r] });
        }
        const read = async (query: string) => {
          const res = await t.get(`/v1/review-queues/${q}/agreement${query}`);
          assert.equal(res.statusCode, 200, res.body);
          return res.json().agreement as Agreement;
        };
        const interval = await read('');
        assert.equal(interval.metric, 'interval', 'a name without a schema is numeric');
        assert.equal(round3(interval.alpha), 0.849);
        assert.equal(round3((await read('?metric=nominal')).alpha), 0.743);
        assert.equal(round3((await read('?metric=ordinal')).alpha), 0.815);
        assert.equal(interval.items_rated, 12);
        assert.equal(interval.items_pairable, 11);
        assert.ok(interval.interval && interval.interval.low < interval.alpha! && interval.alpha! < interval.interval.high);
        assert.deepEqual((await read('?seed=5&replicates=200')).interval, (await read('?seed=5&replicates=200')).interval, 'the seed reproduces the interval');
        assert.deepEqual(
          interval.raters.map((r) => [r.rater, r.items, r.shared_items]),
          [['external:A', 9, 9], ['external:B', 11, 10], ['external:C', 10, 10], ['external:D', 11, 11]],
        );

        const disputes = await t.get(`/v1/review-queues/${q}/disputes`);
        assert.equal(disputes.statusCode, 200, disputes.body);
        const listed = disputes.json().disputes as { request_id: number; spread: number; distinct: number; ratings: unknown[] }[];
        // Unit 6 (10, 20, 30, 40) spreads 30; units 2 (20, 20, 30, 20) and 8 (10, 10, 20, 10) 10 each.
        assert.deepEqual(
          listed.map((d) => [d.request_id, d.spread, d.distinct, d.ratings.length]),
          [
            [ids[5], 30, 4, 4],
            [ids[1], 10, 2, 4],
            [ids[7], 10, 2, 4],
          ],
        );
      });

      it('follows the schema: nominal for labels; compares people with an automatic rater and queues their disagreements', async () => {
        await putSchema('thumbs', { kind: 'boolean', labels: [{ label: 'up', value: 100 }, { label: 'down', value: 0 }] });
        const model = modelFor('judge');
        const ids = await logMany(model, 6);
        const judge = await addApiKey(t.store, t.alpha.workspace.id, 'judge');
        // People: up, up, down, down, up, (none); the judge: up, down, down, up, up, down.
        const people = ['up', 'up', 'down', 'down', 'up', null];
        const machine = ['up', 'down', 'down', 'up', 'up', 'down'];
        for (const [i, id] of ids.entries()) {
          if (people[i]) {
            const res = await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/thumbs`, headers: { 'x-api-key': t.alpha.key }, payload: { label: people[i], rater: 'pat' } });
            assert.equal(res.statusCode, 200, res.body);
          }
          const res = await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/thumbs`, headers: { 'x-api-key': judge.key }, payload: { label: machine[i] } });
          assert.equal(res.statusCode, 200, res.body);
        }
        const filter = encodeURIComponent(JSON.stringify({ field: 'model', op: '=', value: model }));
        const res = await t.get(`/v1/scores/agreement?name=thumbs&compare=humans,automatic&filter=${filter}`);
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json();
        assert.equal(body.agreement.metric, 'nominal');
        assert.equal(body.agreement.items_pairable, 5);
        const c = body.comparison;
        assert.equal(c.items, 5);
        assert.deepEqual(c.confusion.values, [0, 100]);
        assert.deepEqual(c.confusion.labels, ['down', 'up']);
        // Rows people, columns judge: (down, down) 1, (down, up) 1, (up, down) 1, (up, up) 2.
        assert.deepEqual(c.confusion.counts, [[1, 1], [1, 2]]);
        assert.equal(c.mean_absolute_difference, 40);
        assert.deepEqual(c.disagreements.map((d: { request_id: number }) => d.request_id).sort((a: number, b: number) => a - b), [ids[1], ids[3]]);

        const made = await t.post('/v1/review-queues/from-disagreements', { name: 'judge disagreements', score_name: 'thumbs', filter: { field: 'model', op: '=', value: model }, raters_per_item: 1 });
        assert.equal(made.statusCode, 201, made.body);
        assert.equal(made.json().queue.origin, 'disagreements');
        assert.deepEqual((await t.store.reviewQueues.items(made.json().queue.id)).map((i) => i.requestId).sort((a, b) => a - b), [ids[1], ids[3]]);

        // The window of the agreement: the newest 3 scored requests hold one disagreement of the two.
        const windowed = await t.post('/v1/review-queues/from-disagreements', { name: 'newest disagreements', score_name: 'thumbs', filter: { field: 'model', op: '=', value: model }, limit: 3, raters_per_item: 1 });
        assert.equal(windowed.statusCode, 201, windowed.body);
        assert.deepEqual((await t.store.reviewQueues.items(windowed.json().queue.id)).map((i) => i.requestId), [ids[3]]);
        const refused = await t.post('/v1/review-queues/from-disagreements', { name: 'none', score_name: 'thumbs', limit: 0, raters_per_item: 1 });
        assert.equal(refused.statusCode, 400, refused.body);
        assert.match(refused.json().message, /limit/);
      });
    });

    describe('agreement over a filter: the window', () => {
      it('reads the newest `limit` requests carrying the score, and says so in `window`', async () => {
        const model = modelFor('window');
        // Oldest first: three rated requests, then one with no score of the name (the newest).
        const [old, mid, recent] = await logMany(model, 3);
        await logRequest(t, { model });
        const put = async (id: number, rater: string, score: number) => {
          const res = await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/windowed`, headers: { 'x-api-key': t.alpha.key }, payload: { score, rater } });
          assert.equal(res.statusCode, 200, res.body);
        };
        await put(old!, 'early', 10);
        await put(old!, 'pat', 90);
        for (const id of [mid!, recent!]) {
          await put(id, 'pat', 40);
          await put(id, 'sam', 50);
        }
        const read = async (limit?: number) => {
          const res = await t.get(`/v1/scores/agreement?name=windowed&model=${model}${limit === undefined ? '' : `&limit=${limit}`}`);
          assert.equal(res.statusCode, 200, res.body);
          return res.json() as { window: { limit: number; requests: number; truncated: boolean }; agreement: Agreement };
        };
        const two = await read(2);
        assert.deepEqual(two.window, { limit: 2, requests: 2, truncated: true });
        assert.equal(two.agreement.items_rated, 2);
        assert.deepEqual(two.agreement.raters.map((r) => r.rater).sort(), ['external:pat', 'external:sam'], 'the two newest scored requests, not the oldest');
        const all = await read();
        assert.deepEqual(all.window, { limit: 5000, requests: 3, truncated: false });
        assert.equal(all.agreement.items_rated, 3);
        assert.ok(all.agreement.raters.some((r) => r.rater === 'external:early'));
        assert.deepEqual((await read(3)).window, { limit: 3, requests: 3, truncated: false });
        for (const bad of ['0', '100001', 'x']) {
          const res = await t.get(`/v1/scores/agreement?name=windowed&limit=${bad}`);
          assert.equal(res.statusCode, 400, res.body);
          assert.match(res.json().message, /limit/);
        }
      });
    });

    describe('adjudication', () => {
      it('sets the score of an adjudicated name and records the adjudicator in its history', async () => {
        await putSchema('settled', { kind: 'numeric', aggregate: 'adjudicated' });
        const model = modelFor('adjudicate');
        const [one] = await logMany(model, 1);
        const q = await createQueue({ score_name: 'settled', filter: { field: 'model', op: '=', value: model }, raters_per_item: 2 });
        await rateOk(q, one!, { score: 20, rater: 'jon' });
        await rateOk(q, one!, { score: 80, rater: 'kim' });
        const res = await t.post(`/v1/review-queues/${q}/items/${one}/adjudicate`, { score: 70, comment: 'closer to kim' });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().new_value, 70);
        assert.equal(res.json().adjudicator, `key:${t.alpha.keyId}`);
        assert.equal((await t.store.requests.get(t.alpha.workspace.id, one!))?.scores.settled, 70);
        const history = await t.store.scores.history(t.alpha.workspace.id, one!);
        const last = history.at(-1)!;
        assert.deepEqual([last.kind, last.actor, last.rater, last.newValue, last.comment], ['adjudication', `key:${t.alpha.keyId}`, `key:${t.alpha.keyId}`, 70, 'closer to kim']);
      });

      it('adjudicates a name under any aggregate (here without a schema): later ratings leave it; refuses an item not in the queue', async () => {
        const model = modelFor('not-adjudicated');
        const [one] = await logMany(model, 1);
        const name = 'unschemed';
        const q = await createQueue({ score_name: name, filter: { field: 'model', op: '=', value: model }, raters_per_item: 2 });
        await rateOk(q, one!, { score: 20, rater: 'jon' });
        const res = await t.post(`/v1/review-queues/${q}/items/${one}/adjudicate`, { score: 70 });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual([res.json().old_value, res.json().new_value], [20, 70]);
        await rateOk(q, one!, { score: 90, rater: 'kim' });
        assert.equal((await t.store.requests.get(t.alpha.workspace.id, one!))?.scores[name], 70);
        assert.deepEqual((await t.store.scores.history(t.alpha.workspace.id, one!)).filter((e) => e.name === name).map((e) => [e.kind, e.rating, e.newValue]), [
          ['rating', 20, 20],
          ['adjudication', 70, 70],
          ['rating', 90, 70],
        ]);
        const elsewhere = await logRequest(t, { model: modelFor('elsewhere') });
        const missing = await t.post(`/v1/review-queues/${q}/items/${elsewhere}/adjudicate`, { score: 70 });
        assert.equal(missing.statusCode, 404);
      });
    });
  });
}
