import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../server/test/helpers/backends.js';
import { createLiveApp, type LiveApp } from '../../server/test/helpers/live-app.js';
import { addWorkspace, logRequest } from '../../server/test/helpers/test-app.js';
import { Tally, TallyError } from '../src/index.js';

async function rejects(p: Promise<unknown>): Promise<TallyError> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(r instanceof TallyError, `expected a TallyError, got ${String(r)}`);
  return r;
}

for (const backend of BACKENDS) {
  describe(`@tally/sdk score schemas, ratings and workspace settings [${backend}]`, () => {
    let t: LiveApp;
    let tally: Tally;
    before(async () => {
      t = await createLiveApp(backend);
      tally = new Tally({ apiKey: t.alpha.key, baseURL: t.baseURL, maxRetries: 0 });
    });
    after(() => t.close());

    it('puts, gets, lists and archives schemas, with versions', async () => {
      const first = await tally.scoreSchemas.put('verdict', { kind: 'categorical', labels: [{ label: 'good', value: 100 }, { label: 'bad', value: 0 }], reasons: ['hallucination'], comment_required_below: 50 });
      assert.deepEqual([first.created, first.schema.version, first.schema.aggregate], [true, 1, 'latest']);
      const second = await tally.scoreSchemas.put('verdict', { kind: 'categorical', labels: [{ label: 'good', value: 100 }, { label: 'bad', value: 0 }], reasons: ['hallucination'], comment_required_below: 50, aggregate: 'median' });
      assert.equal(second.schema.version, 2);
      const record = await tally.scoreSchemas.get('verdict');
      assert.deepEqual([record.schema?.version, record.versions.map((v) => v.version)], [2, [2, 1]]);
      assert.deepEqual((await tally.scoreSchemas.list()).map((s) => s.name), ['verdict']);
      await tally.scoreSchemas.put('thumbs', { kind: 'boolean' });
      const archived = await tally.scoreSchemas.archive('thumbs');
      assert.notEqual(archived.archived_at, null);
      assert.deepEqual((await tally.scoreSchemas.list()).map((s) => s.name), ['verdict']);
      assert.deepEqual((await tally.scoreSchemas.list({ archived: true })).map((s) => s.name), ['thumbs', 'verdict']);
      const missing = await rejects(tally.scoreSchemas.get('nothing'));
      assert.equal(missing.status, 404);
    });

    it('writes a label with comment, reasons and rater, reads score_details, withdraws one rater', async () => {
      const id = await logRequest(t);
      const change = await tally.scores.set(id, 'verdict', { label: 'bad' }, { comment: 'invented a source', reasons: ['hallucination'], rater: 'vendor-a' });
      assert.deepEqual([change.new_value, change.label, change.rater, change.schema_version], [0, 'bad', 'external:vendor-a', 2]);
      await tally.scores.set(id, 'verdict', 100, { rater: 'vendor-b' });
      const r = await tally.requests.get(id);
      const d = r.score_details!.verdict!;
      assert.deepEqual([d.value, d.label], [50, null]); // the median of 0 and 100; no label has 50
      assert.deepEqual(d.ratings!.map((x) => [x.rater, x.value, x.comment]), [
        ['external:vendor-a', 0, 'invented a source'],
        ['external:vendor-b', 100, null],
      ]);
      const withdrawn = await tally.scores.delete(id, 'verdict', { rater: 'vendor-b' });
      assert.equal(withdrawn.new_value, 0);
      const history = await tally.scores.history(id);
      assert.deepEqual(history.map((e) => [e.kind, e.rater, e.rating]), [
        ['rating', 'external:vendor-a', 0],
        ['rating', 'external:vendor-b', 100],
        ['rating', 'external:vendor-b', null],
      ]);
      const refused = await rejects(tally.scores.set(id, 'verdict', 70));
      assert.equal(refused.status, 400);
      assert.match(refused.message, /^score:/);
    });

    it('sends labels, comments and reasons in a batch, and refuses score and label together before sending', async () => {
      const id = await logRequest(t);
      const res = await tally.scores.batch([{ request_id: id, name: 'verdict', label: 'good', reasons: [], comment: 'fine' }]);
      assert.deepEqual(res.changes.map((c) => [c.new_value, c.label]), [[100, 'good']]);
      const both = await rejects(tally.scores.batch([{ request_id: id, name: 'verdict', label: 'good', score: 100 } as never]));
      assert.deepEqual(both.errors?.map((e) => e.field), ['score']);
    });

    it('reads and changes the workspace settings', async () => {
      const w = await addWorkspace(t.store, 'sdk-strict');
      const own = new Tally({ apiKey: w.key, baseURL: t.baseURL, maxRetries: 0 });
      assert.equal((await own.workspace.get()).strict_score_names, false);
      assert.equal((await own.workspace.update({ strict_score_names: true })).strict_score_names, true);
      const id = await logRequest(t, {}, w.key);
      const refused = await rejects(own.scores.set(id, 'free', 5));
      assert.match(refused.message, /^name:/);
      assert.equal((await own.workspace.get()).name, 'sdk-strict');
    });
  });
}
