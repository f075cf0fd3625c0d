import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { BACKENDS } from './helpers/backends.js';
import { addDashboardUser, browserHeaders } from './helpers/dashboard-users.js';
import { createTestApp, logRequest, splitTestOptions, type TestApp } from './helpers/test-app.js';

interface Claim {
  rater: string;
  item: null | { request_id: number; held: boolean; expires_at: string; scores_hidden: boolean; request: { id: number; scores: Record<string, number> } };
}

interface Queue {
  id: number;
  name: string;
  sample: { count?: number; ratio?: number; seed: number; by?: string } | null;
  raters_per_item: number;
  archived_at: string | null;
  progress: { items: number; completed: number; in_progress: number; pending: number; ratings: number; raters: { rater: string; claimed: number; done: number; skipped: number }[] };
}

for (const backend of BACKENDS) {
  describe(`review queues [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    /** A model name of its own per test, so each test's filter matches only its own requests. */
    let run = 0;
    const modelFor = (what: string) => `${what}-${++run}`;
    const logMany = async (model: string, n: number, extra: Record<string, unknown> = {}) => {
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(await logRequest(t, { model, ...extra }));
      return ids;
    };
    const byModel = (model: string) => ({ field: 'model', op: '=', value: model });

    const create = async (body: Record<string, unknown>, key?: string): Promise<Queue> => {
      const res = await t.post('/v1/review-queues', { score_name: 'quality', raters_per_item: 1, ...body }, { key });
      assert.equal(res.statusCode, 201, res.body);
      return (res.json() as { queue: Queue }).queue;
    };
    const itemIds = async (queueId: number) => (await t.store.reviewQueues.items(queueId)).map((i) => i.requestId);
    const claim = async (queueId: number, rater?: string, key?: string): Promise<Claim> => {
      const res = await t.post(`/v1/review-queues/${queueId}/claim`, rater === undefined ? {} : { rater }, { key });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Claim;
    };
    const getQueue = async (queueId: number, key?: string) => {
      const res = await t.get(`/v1/review-queues/${queueId}`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { queue: Queue }).queue;
    };

    describe('made from a filter', () => {
      it('takes every request the filter matches now, each once, oldest first', async () => {
        const model = modelFor('fill');
        const ids = await logMany(model, 5);
        await logMany(modelFor('other'), 2);
        const q = await create({ name: 'all of them', filter: byModel(model) });
        assert.deepEqual(await itemIds(q.id), ids);
        assert.equal(q.progress.items, 5);
        assert.equal(q.progress.pending, 5);
        assert.equal(q.sample, null);
      });

      it('draws the same sample from the same seed and gives each stratum its share', async () => {
        const model = modelFor('sample');
        const a = await logMany(model, 12, { provider: 'openai' });
        const b = await logMany(model, 4, { provider: 'anthropic' });
        const one = await create({ name: 's1', filter: byModel(model), sample: { count: 4, seed: 99, by: 'provider' } });
        const two = await create({ name: 's2', filter: byModel(model), sample: { count: 4, seed: 99, by: 'provider' } });
        const items = await itemIds(one.id);
        assert.deepEqual(await itemIds(two.id), items, 'same seed, same sample in the same order');
        assert.equal(items.filter((id) => a.includes(id)).length, 3, '12 of 16 requests: 3 of 4');
        assert.equal(items.filter((id) => b.includes(id)).length, 1, '4 of 16 requests: 1 of 4');
        const other = await create({ name: 's3', filter: byModel(model), sample: { count: 4, seed: 100, by: 'provider' } });
        assert.notDeepEqual(await itemIds(other.id), items, 'another seed, another sample');
        const ratio = await create({ name: 's4', filter: byModel(model), sample: { ratio: 0.5 } });
        assert.equal((await itemIds(ratio.id)).length, 8);
        assert.equal(typeof ratio.sample?.seed, 'number', 'a seed is chosen and reported when none is given');
      });

      it('refuses bad definitions with 400 naming the field, and makes no queue', async () => {
        const before = (await t.store.reviewQueues.list(t.alpha.workspace.id, { includeArchived: true })).length;
        for (const [body, field] of [
          [{ raters_per_item: 0 }, 'raters_per_item'],
          [{ sample: { count: 5, ratio: 0.5 } }, 'sample'],
          [{ sample: { ratio: 0 } }, 'sample.ratio'],
          [{ sample: { count: 3, by: 'colour' } }, 'sample.by'],
          [{ filter: { field: 'nonsense', op: '=', value: 1 } }, 'filter.field'],
          [{ name: '   ' }, 'name'],
          [{ score_name: '' }, 'score_name'],
          [{ claim_ttl_seconds: 1 }, 'claim_ttl_seconds'],
        ] as const) {
          const res = await t.post('/v1/review-queues', { ...{ name: 'bad', score_name: 'quality', raters_per_item: 1 }, ...(body as Record<string, unknown>) });
          assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
          assert.ok((res.json().message as string).startsWith(`${field}`), `${JSON.stringify(body)} names ${field}: ${res.body}`);
        }
        assert.equal((await t.store.reviewQueues.list(t.alpha.workspace.id, { includeArchived: true })).length, before);
      });
    });

    describe('include_new', () => {
      it('adds a request logged after the queue was made by the next claim, and only a matching one', async () => {
        const model = modelFor('new');
        const [first] = await logMany(model, 1);
        const q = await create({ name: 'new ones', filter: byModel(model), include_new: true });
        const later = await logRequest(t, { model });
        await logRequest(t, { model: modelFor('elsewhere') });
        assert.equal((await claim(q.id, 'r1')).item?.request_id, first);
        assert.equal((await claim(q.id, 'r2')).item?.request_id, later);
        assert.deepEqual(await itemIds(q.id), [first, later]);
        assert.equal((await claim(q.id, 'r3')).item, null);
      });

      it('adds an older request once it is scored into the filter, and leaves a queue without include_new alone', async () => {
        const model = modelFor('scored');
        const [x, y] = await logMany(model, 2);
        const filter = { logic: 'and', filters: [byModel(model), { field: 'score', name: 'helpful', op: '<', value: 50 }] };
        const live = await create({ name: 'low helpful', filter, include_new: true });
        const fixed = await create({ name: 'low helpful, fixed', filter });
        assert.deepEqual(await itemIds(live.id), []);
        const put = await t.inject({ method: 'PUT', url: `/v1/requests/${y}/scores/helpful`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 20 } });
        assert.equal(put.statusCode, 200, put.body);
        await t.inject({ method: 'PUT', url: `/v1/requests/${x}/scores/helpful`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 90 } });
        assert.equal((await getQueue(live.id)).progress.items, 1);
        assert.deepEqual(await itemIds(live.id), [y]);
        assert.equal((await getQueue(fixed.id)).progress.items, 0);
        // A second pass finds nothing new and adds nothing twice.
        await logRequest(t, { model: modelFor('unrelated') });
        assert.deepEqual(await itemIds(live.id), [y]);
        assert.equal((await getQueue(live.id)).progress.items, 1);
      });

      it('keeps a sample by count at its count as new requests come', async () => {
        const model = modelFor('capped');
        await logMany(model, 2);
        const q = await create({ name: 'capped', filter: byModel(model), include_new: true, sample: { count: 3, seed: 1 } });
        assert.equal(q.progress.items, 2);
        await logMany(model, 3);
        assert.equal((await getQueue(q.id)).progress.items, 3);
      });
    });

    describe('claiming', () => {
      it('hands an item to raters_per_item raters at most, the held item again, and never one the rater skipped', async () => {
        const model = modelFor('claims');
        const [one, two] = await logMany(model, 2);
        const q = await create({ name: 'two each', filter: byModel(model), raters_per_item: 2 });
        const a = await claim(q.id, 'ann');
        assert.equal(a.rater, 'external:ann');
        assert.equal(a.item?.request_id, one);
        assert.equal(a.item?.held, false);
        const again = await claim(q.id, 'ann');
        assert.equal(again.item?.request_id, one, 'a rater who holds an item gets it back');
        assert.equal(again.item?.held, true);
        assert.equal((await claim(q.id, 'bob')).item?.request_id, one, 'the second slot of item one');
        assert.equal((await claim(q.id, 'cyd')).item?.request_id, two, 'item one has its two raters');
        assert.equal((await claim(q.id, 'dan')).item?.request_id, two);
        assert.equal((await claim(q.id, 'eve')).item, null, 'no slot left anywhere');

        const skip = await t.post(`/v1/review-queues/${q.id}/items/${one}/skip`, { rater: 'ann' });
        assert.equal(skip.statusCode, 200, skip.body);
        assert.equal((await claim(q.id, 'eve')).item?.request_id, one, "ann's skip freed her slot");
        const annNext = await claim(q.id, 'ann');
        assert.equal(annNext.item, null, 'ann is not handed the item she skipped, and item two is full');

        const progress = (await getQueue(q.id)).progress;
        assert.equal(progress.in_progress, 2);
        assert.deepEqual(
          progress.raters.map((r) => [r.rater, r.claimed, r.skipped]),
          [
            ['external:ann', 0, 1],
            ['external:bob', 1, 0],
            ['external:cyd', 1, 0],
            ['external:dan', 1, 0],
            ['external:eve', 1, 0],
          ],
        );
        const noClaim = await t.post(`/v1/review-queues/${q.id}/items/${two}/skip`, { rater: 'ann' });
        assert.equal(noClaim.statusCode, 404);
        assert.ok((noClaim.json().message as string).startsWith('request_id:'), noClaim.body);
      });

      // A claim held for 0 ms has run out by the next claim: no waiting, no timing to flake.
      it('frees the slot of an expired claim', async () => {
        const model = modelFor('expiry');
        const [only] = await logMany(model, 1);
        const queueId = await t.app.writeQueue.submit({
          op: 'createReviewQueue',
          workspaceId: t.alpha.workspace.id,
          definition: { name: 'short', origin: 'filter', scoreName: 'quality', filter: byModel(model), sample: null, includeNew: false, ratersPerItem: 1, blind: false, instructions: null, claimTtlMs: 0 },
          requestIds: [only!],
          requestCursor: 0,
          eventCursor: 0,
          actor: { id: 'key:test', source: 'api' },
        });
        assert.equal((await claim(queueId, 'first')).item?.request_id, only);
        assert.equal((await claim(queueId, 'second')).item?.request_id, only, "the first rater's claim ran out");
        assert.equal((await claim(queueId, 'first')).item?.request_id, only, 'and the first rater may take it again');
        const claims = await t.store.reviewQueues.claims(queueId, null);
        assert.deepEqual(claims.map((c) => [c.rater, c.state]).sort(), [['external:first', 'claimed'], ['external:second', 'claimed']]);
      });

      it('names the rater by who calls: the key itself, an external rater, a dashboard user', async () => {
        const model = modelFor('who');
        await logMany(model, 3);
        const q = await create({ name: 'who', filter: byModel(model) });
        assert.equal((await claim(q.id)).rater, `key:${t.alpha.keyId}`);
        const user = await addDashboardUser(t, t.alpha.workspace, `rater${run}@example.com`, 'correct horse battery staple');
        const res = await t.inject({ method: 'POST', url: `/v1/review-queues/${q.id}/claim`, headers: browserHeaders(user.browser), payload: {} });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().rater, `user:${user.userId}`);
        const named = await t.inject({ method: 'POST', url: `/v1/review-queues/${q.id}/claim`, headers: browserHeaders(user.browser), payload: { rater: 'someone' } });
        assert.equal(named.statusCode, 400);
        assert.ok((named.json().message as string).startsWith('rater:'), named.body);
      });

      it('hides the score of the queue in a blind queue and shows it otherwise', async () => {
        const model = modelFor('blind');
        const [id] = await logMany(model, 1);
        await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/quality`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 70 } });
        await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/tone`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 10 } });
        const blind = await create({ name: 'blind', filter: byModel(model), blind: true });
        const open = await create({ name: 'open', filter: byModel(model) });
        const hidden = (await claim(blind.id, 'x')).item!;
        assert.equal(hidden.scores_hidden, true);
        assert.deepEqual(hidden.request.scores, { tone: 10 });
        const shown = (await claim(open.id, 'x')).item!;
        assert.equal(shown.scores_hidden, false);
        assert.deepEqual(shown.request.scores, { quality: 70, tone: 10 });
      });

      it('answers 404 to another workspace and 409 to a claim on an archived queue', async () => {
        const model = modelFor('walls');
        await logMany(model, 1);
        const q = await create({ name: 'walls', filter: byModel(model) });
        const foreign = await t.post(`/v1/review-queues/${q.id}/claim`, {}, { key: t.other.key });
        assert.equal(foreign.statusCode, 404);
        assert.ok((foreign.json().message as string).startsWith('id:'), foreign.body);
        assert.equal((await t.get(`/v1/review-queues/${q.id}`, { key: t.other.key })).statusCode, 404);
        const list = await t.get('/v1/review-queues', { key: t.other.key });
        assert.deepEqual(list.json().queues, []);

        const del = await t.inject({ method: 'DELETE', url: `/v1/review-queues/${q.id}`, headers: { 'x-api-key': t.alpha.key } });
        assert.equal(del.statusCode, 200, del.body);
        assert.ok(del.json().queue.archived_at);
        const archived = await t.post(`/v1/review-queues/${q.id}/claim`, {});
        assert.equal(archived.statusCode, 409);
        const listed = (await t.get('/v1/review-queues')).json().queues as Queue[];
        assert.ok(!listed.some((x) => x.id === q.id), 'archived queues are left out of the list');
        const all = (await t.get('/v1/review-queues?include_archived=true')).json().queues as Queue[];
        assert.ok(all.some((x) => x.id === q.id));
      });
    });

    describe('two instances claiming at once', () => {
      let second: { app: FastifyInstance; store: Store };
      before(async () => {
        const store = await openStore({ databaseUrl: t.location.databaseUrl, dataDir: t.location.dataDir });
        const { config, deps } = splitTestOptions({});
        second = { app: await buildApp(config, { store, ...deps }), store };
      });
      after(async () => {
        await second.app.close();
        await second.store.close();
      });

      it('never hands the last slot to two raters', async () => {
        for (let round = 0; round < 5; round++) {
          const model = modelFor('race');
          const [a, b] = await logMany(model, 2);
          const q = await create({ name: `race ${round}`, filter: byModel(model), raters_per_item: 2 });
          // Three slots are taken up front, so one is left: item b's second.
          await claim(q.id, 'holder-1');
          await claim(q.id, 'holder-2');
          await claim(q.id, 'holder-3');
          const raters = Array.from({ length: 8 }, (_, i) => `racer-${i}`);
          const answers = await Promise.all(
            raters.map((rater, i) =>
              (i % 2 === 0 ? t.app : second.app).inject({ method: 'POST', url: `/v1/review-queues/${q.id}/claim`, headers: { 'x-api-key': t.alpha.key }, payload: { rater } }),
            ),
          );
          for (const res of answers) assert.equal(res.statusCode, 200, res.body);
          const got = answers.map((res) => (res.json() as Claim).item?.request_id ?? null).filter((id) => id !== null);
          assert.deepEqual(got, [b], `round ${round}: exactly one racer gets the last slot`);
          const claims = await t.store.reviewQueues.claims(q.id, null);
          assert.equal(claims.filter((c) => c.requestId === a).length, 2);
          assert.equal(claims.filter((c) => c.requestId === b).length, 2);
        }
      });
    });
  });
}
