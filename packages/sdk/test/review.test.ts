import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../server/test/helpers/backends.js';
import { createLiveApp, type LiveApp } from '../../server/test/helpers/live-app.js';
import { logRequest } from '../../server/test/helpers/test-app.js';
import { Tally, TallyError } from '../src/index.js';

for (const backend of BACKENDS) {
  describe(`@tally/sdk against a live server: review queues and agreement [${backend}]`, () => {
    let t: LiveApp;
    let tally: Tally;
    before(async () => {
      t = await createLiveApp(backend);
      tally = new Tally({ apiKey: t.alpha.key, baseURL: t.baseURL, maxRetries: 0 });
    });
    after(() => t.close());

    it('makes a queue, claims and rates its items as named raters, and reads the agreement and disputes', async () => {
      const ids = [await logRequest(t, { model: 'sdk-review' }), await logRequest(t, { model: 'sdk-review' })];
      const q = await tally.queues.create({ name: 'sdk', score_name: 'quality', filter: { field: 'model', op: '=', value: 'sdk-review' }, raters_per_item: 2 });
      assert.equal(q.progress.items, 2);
      const values: Record<string, number[]> = { ann: [90, 20], bob: [70, 80] };
      for (const rater of ['ann', 'bob']) {
        for (let i = 0; i < 2; i++) {
          const { item } = await tally.queues.claim(q.id, { rater });
          assert.ok(item, `${rater} gets an item`);
          const r = await tally.queues.rate(q.id, item.request_id, { score: values[rater]![ids.indexOf(item.request_id)]!, rater });
          assert.equal(r.rater, `external:${rater}`);
        }
        assert.equal((await tally.queues.claim(q.id, { rater })).item, null);
      }
      const progress = (await tally.queues.get(q.id)).progress;
      assert.deepEqual([progress.completed, progress.ratings], [2, 4]);
      const { agreement } = await tally.queues.agreement(q.id, { seed: 3, replicates: 200 });
      assert.equal(agreement.items_pairable, 2);
      assert.equal(agreement.raters.length, 2);
      const disputes = await tally.queues.disputes(q.id);
      assert.deepEqual(disputes.map((d) => [d.request_id, d.spread]), [[ids[1], 60], [ids[0], 20]]);
      const overall = await tally.scores.agreement({ name: 'quality', filter: { field: 'model', op: '=', value: 'sdk-review' } });
      assert.equal(overall.agreement.alpha, agreement.alpha);
      assert.equal(overall.window.truncated, false);
      const newest = await tally.scores.agreement({ name: 'quality', limit: 1, filter: { field: 'model', op: '=', value: 'sdk-review' } });
      assert.deepEqual(newest.window, { limit: 1, requests: 1, truncated: true });
      assert.ok((await tally.queues.list()).some((x) => x.id === q.id));
      const archived = await tally.queues.archive(q.id);
      assert.ok(archived.archived_at);
      const refused = await tally.queues.claim(q.id).then(() => null, (e: unknown) => e);
      assert.ok(refused instanceof TallyError);
      assert.equal(refused.status, 409);
    });
  });
}
