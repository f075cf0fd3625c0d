import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateApiKey } from '../src/auth/api-keys.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { BACKENDS, freshLocation, type StoreLocationForTest } from './helpers/backends.js';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';
import { logRequest } from './helpers/test-app.js';
import { runCli } from './helpers/process.js';

for (const backend of BACKENDS) {
  describe(`tally score (a real process) [${backend}]`, () => {
    let location: StoreLocationForTest;
    let store: Store;
    let requestId: number;
    before(async () => {
      location = await freshLocation(backend);
      store = await openStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir });
      const ws = await store.workspaces.create('default');
      requestId = await store.write((w) =>
        w.run({ op: 'insertRequest', workspaceId: ws.id, actor: { id: 'test', source: 'api' }, request: {
          provider: 'openai', model: 'm', functionName: '', apiType: null, input: {}, output: {}, parameters: {}, promptName: null, promptId: null, promptVersion: null,
          promptInputVariables: {}, inputTokens: 0, outputTokens: 0, price: 0, status: 'SUCCESS', errorType: null, errorMessage: null, startMs: 1000, endMs: 2000,
          tags: [], metadata: {}, groupId: null, spanId: null, score: null,
        } }),
      );
    });
    after(async () => {
      await store.close();
      await location.drop();
    });

    it('sets a score in the store and records source "cli" with the comment', async () => {
      const res = await runCli(['score', String(requestId), '87', '--name', 'quality', '--comment', 'by hand', ...location.args]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout.trim(), `request ${requestId}: quality (none) -> 87`);
      const again = await runCli(['score', String(requestId), '90', '--name', 'quality', '--json', ...location.args]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(JSON.parse(again.stdout), { request_id: requestId, name: 'quality', old_value: 87, new_value: 90, label: null });
      const ws = await store.workspaces.find('default');
      const history = await store.scores.history(ws!.id, requestId);
      assert.deepEqual(history.map((e) => [e.newValue, e.source, e.comment]), [[87, 'cli', 'by hand'], [90, 'cli', null]]);
    });

    it('refuses 101 with exit code 2 and the server wording, and writes nothing', async () => {
      const res = await runCli(['score', String(requestId), '101', '--name', 'refused', ...location.args]);
      assert.equal(res.code, 2);
      assert.equal(res.stderr.trim(), 'tally: value: must be an integer from 0 to 100');
      const ws = await store.workspaces.find('default');
      assert.equal((await store.requests.get(ws!.id, requestId))?.scores.refused, undefined);
    });

    it("takes --label, --comment and repeated --reason under the name's schema, and refuses an unknown label naming it", async () => {
      const ws = (await store.workspaces.find('default'))!;
      const definition = { kind: 'categorical' as const, description: null, rubric: null, higherIsBetter: true, min: 0, max: 100, labels: [{ label: 'good', value: 100 }, { label: 'bad', value: 0 }], reasons: ['hallucination', 'off-topic'], commentRequiredBelow: 50, aggregate: 'latest' as const };
      await store.write((w) => w.run({ op: 'putScoreSchema', workspaceId: ws.id, name: 'verdict', definition, actor: { id: 'cli', source: 'cli' } }));
      const res = await runCli(['score', String(requestId), '--name', 'verdict', '--label', 'bad', '--comment', 'made up', '--reason', 'hallucination', '--reason', 'off-topic', ...location.args]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout.trim(), `request ${requestId}: verdict (none) -> 0 (bad)`);
      const last = (await store.scores.history(ws.id, requestId)).at(-1)!;
      assert.deepEqual([last.name, last.label, last.comment, last.reasons, last.source], ['verdict', 'bad', 'made up', ['hallucination', 'off-topic'], 'cli']);
      const unknown = await runCli(['score', String(requestId), '--name', 'verdict', '--label', 'meh', ...location.args]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^tally: label: must be one of the labels of "verdict"/);
      const both = await runCli(['score', String(requestId), '100', '--name', 'verdict', '--label', 'good', ...location.args]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /^tally: --label:/);
      const noComment = await runCli(['score', String(requestId), '--name', 'verdict', '--label', 'bad', ...location.args]);
      assert.equal(noComment.code, 2);
      assert.match(noComment.stderr, /^tally: comment:/);
      // The three refused calls wrote nothing.
      assert.equal((await store.scores.history(ws.id, requestId)).filter((e) => e.name === 'verdict').length, 1);
    });

    it('answers an unknown request with exit code 2 naming it', async () => {
      const res = await runCli(['score', '987654321', '5', ...location.args]);
      assert.equal(res.code, 2);
      assert.match(res.stderr, /^tally: request_id: no request with this id/);
    });

    it('prints help', async () => {
      const res = await runCli(['score', '--help']);
      assert.equal(res.code, 0);
      assert.match(res.stdout, /Usage: tally score \[options\] <request-id> \[value\]/);
      assert.match(res.stdout, /--label <label>/);
      assert.match(res.stdout, /--reason <reason>/);
      assert.match(res.stdout, /--url <url>/);
    });
  });

  describe(`tally score --url --key (through @tally/sdk) [${backend}]`, () => {
    let t: LiveApp;
    before(async () => {
      t = await createLiveApp(backend);
    });
    after(() => t.close());

    it('sets the score on a running server', async () => {
      const id = await logRequest(t);
      const res = await runCli(['score', String(id), '64', '--name', 'remote', '--url', t.baseURL, '--key', t.alpha.key]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout.trim(), `request ${id}: remote (none) -> 64`);
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, { remote: 64 });
    });

    it('sends --label, --comment and --reason to a running server', async () => {
      const put = await t.inject({ method: 'PUT', url: '/v1/score-schemas/thumbs', headers: { 'x-api-key': t.alpha.key }, payload: { kind: 'boolean', reasons: ['rude'] } });
      assert.equal(put.statusCode, 200, put.body);
      const id = await logRequest(t);
      const res = await runCli(['score', String(id), '--name', 'thumbs', '--label', 'no', '--comment', 'rude reply', '--reason', 'rude', '--json', '--url', t.baseURL, '--key', t.alpha.key]);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), { request_id: id, name: 'thumbs', old_value: null, new_value: 0, label: 'no' });
      const [event] = await t.store.scores.history(t.alpha.workspace.id, id);
      assert.deepEqual([event!.label, event!.comment, event!.reasons], ['no', 'rude reply', ['rude']]);
    });

    it('reports a wrong key with exit code 2', async () => {
      const id = await logRequest(t);
      const res = await runCli(['score', String(id), '64', '--url', t.baseURL, '--key', generateApiKey().key]);
      assert.equal(res.code, 2);
      assert.equal(res.stderr.trim(), 'tally: the API key is not valid or has been revoked');
    });
  });
}
