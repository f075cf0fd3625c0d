import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { runCli } from './helpers/process.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  describe(`tally queues list and tally agreement (a real process) [${backend}]`, () => {
    let t: TestApp;
    let queueId: number;
    before(async () => {
      t = await createTestApp(backend);
      const ids = [await logRequest(t, { model: 'cli' }), await logRequest(t, { model: 'cli' }), await logRequest(t, { model: 'cli' })];
      const res = await t.post('/v1/review-queues', { name: 'from the cli', score_name: 'quality', filter: { field: 'model', op: '=', value: 'cli' }, raters_per_item: 2 });
      assert.equal(res.statusCode, 201, res.body);
      queueId = res.json().queue.id;
      const values: Record<string, number[]> = { ann: [10, 50, 90], bob: [20, 40, 100] };
      for (const [rater, list] of Object.entries(values)) {
        for (const [i, id] of ids.entries()) {
          const rated = await t.post(`/v1/review-queues/${queueId}/items/${id}/ratings`, { score: list[i], rater });
          assert.equal(rated.statusCode, 200, rated.body);
        }
      }
    });
    after(() => t.close());

    it('lists the queues of a workspace with their progress', async () => {
      const res = await runCli(['queues', 'list', '--workspace', 'alpha', '--json', ...t.location.args]);
      assert.equal(res.code, 0, res.stderr);
      const rows = JSON.parse(res.stdout) as { id: number; name: string; items: number; completed: number }[];
      assert.deepEqual(rows.map((r) => [r.id, r.name, r.items, r.completed]), [[queueId, 'from the cli', 3, 3]]);
    });

    it("prints the queue's agreement exactly as the API computes it", async () => {
      const res = await runCli(['agreement', '--queue', String(queueId), '--workspace', 'alpha', '--json', ...t.location.args]);
      assert.equal(res.code, 0, res.stderr);
      const api = (await t.get(`/v1/review-queues/${queueId}/agreement`)).json().agreement;
      assert.deepEqual(JSON.parse(res.stdout).agreement, api);
      const text = await runCli(['agreement', '--name', 'quality', '--workspace', 'alpha', ...t.location.args]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^quality: alpha ${api.alpha.toFixed(3)} `));
      const bad = await runCli(['agreement', '--name', 'quality', '--metric', 'ratio', ...t.location.args]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--metric/);
      // --limit: the newest scored requests only, as the API's window, and said so.
      const windowed = await runCli(['agreement', '--name', 'quality', '--limit', '2', '--workspace', 'alpha', '--json', ...t.location.args]);
      assert.equal(windowed.code, 0, windowed.stderr);
      const fromApi = (await t.get('/v1/scores/agreement?name=quality&limit=2')).json();
      assert.deepEqual(JSON.parse(windowed.stdout).window, { limit: 2, requests: 2, truncated: true });
      assert.deepEqual(JSON.parse(windowed.stdout).agreement, fromApi.agreement);
      const said = await runCli(['agreement', '--name', 'quality', '--limit', '2', '--workspace', 'alpha', ...t.location.args]);
      assert.match(said.stdout, /over the latest 2 scored requests/);
      const zero = await runCli(['agreement', '--name', 'quality', '--limit', '0', ...t.location.args]);
      assert.equal(zero.code, 2);
      assert.match(zero.stderr, /--limit/);
    });
  });
}
