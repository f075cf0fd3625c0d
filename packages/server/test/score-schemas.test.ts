import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { addWorkspace, createTestApp, logBody, logRequest, type TestApp, type TestWorkspace } from './helpers/test-app.js';

interface SchemaItem {
  name: string;
  version: number;
  kind: string;
  labels: { label: string; value: number }[] | null;
  reasons: string[];
  min: number;
  max: number;
  aggregate: string;
  comment_required_below: number | null;
  higher_is_better: boolean;
  archived_at: string | null;
  created_by: string;
}

const QUALITY = {
  kind: 'categorical',
  description: 'Is the answer right?',
  rubric: 'good: correct and complete',
  labels: [
    { label: 'good', value: 100 },
    { label: 'ok', value: 50 },
    { label: 'bad', value: 0 },
  ],
  reasons: ['hallucination', 'off-topic'],
  comment_required_below: 50,
};

for (const backend of BACKENDS) {
  describe(`score schemas [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    const putSchema = (name: string, body: unknown, key?: string) =>
      t.inject({ method: 'PUT', url: `/v1/score-schemas/${encodeURIComponent(name)}`, headers: { 'x-api-key': key ?? t.alpha.key }, payload: body as object });
    const putScore = (id: number, name: string, body: unknown, key?: string) =>
      t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/${encodeURIComponent(name)}`, headers: { 'x-api-key': key ?? t.alpha.key }, payload: body as object });
    const historyOf = async (id: number, key?: string) => {
      const res = await t.get(`/v1/requests/${id}/scores/history`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { events: Record<string, unknown>[] }).events;
    };
    /** A workspace of its own, so one test's schemas and settings do not meet another's. */
    let counter = 0;
    const workspace = () => addWorkspace(t.store, `ws-${counter++}`);

    describe('PUT / GET / DELETE /v1/score-schemas/{name}', () => {
      it('creates version 1 with defaults filled, then a new version on each change, and keeps every version', async () => {
        const w = await workspace();
        const first = await putSchema('quality', QUALITY, w.key);
        assert.equal(first.statusCode, 200, first.body);
        const created = first.json() as { created: boolean; schema: SchemaItem };
        assert.equal(created.created, true);
        assert.equal(created.schema.version, 1);
        assert.equal(created.schema.min, 0);
        assert.equal(created.schema.max, 100);
        assert.equal(created.schema.aggregate, 'latest');
        assert.equal(created.schema.higher_is_better, true);
        assert.equal(created.schema.created_by, `key:${w.keyId}`);

        const same = await putSchema('quality', QUALITY, w.key);
        assert.equal(same.statusCode, 200);
        assert.deepEqual([(same.json() as { created: boolean }).created, (same.json() as { schema: SchemaItem }).schema.version], [false, 1]);

        const changed = await putSchema('quality', { ...QUALITY, aggregate: 'median' }, w.key);
        assert.equal((changed.json() as { schema: SchemaItem }).schema.version, 2);

        const one = await t.get('/v1/score-schemas/quality', { key: w.key });
        assert.equal(one.statusCode, 200, one.body);
        const body = one.json() as { schema: SchemaItem; versions: SchemaItem[] };
        assert.equal(body.schema.version, 2);
        assert.equal(body.schema.aggregate, 'median');
        assert.deepEqual(body.versions.map((v) => [v.version, v.aggregate]), [
          [2, 'median'],
          [1, 'latest'],
        ]);

        const list = await t.get('/v1/score-schemas', { key: w.key });
        assert.deepEqual((list.json() as { schemas: SchemaItem[] }).schemas.map((s) => [s.name, s.version]), [['quality', 2]]);
      });

      it('archives with DELETE: the scores and history stay, writes are no longer checked, and a later PUT makes a new current version', async () => {
        const w = await workspace();
        assert.equal((await putSchema('thumbs', { kind: 'boolean' }, w.key)).statusCode, 200);
        const id = await logRequest(t, {}, w.key);
        assert.equal((await putScore(id, 'thumbs', { label: 'yes' }, w.key)).statusCode, 200);
        assert.equal((await putScore(id, 'thumbs', { score: 40 }, w.key)).statusCode, 400);

        const del = await t.inject({ method: 'DELETE', url: '/v1/score-schemas/thumbs', headers: { 'x-api-key': w.key } });
        assert.equal(del.statusCode, 200, del.body);
        assert.notEqual((del.json() as { schema: SchemaItem }).schema.archived_at, null);
        assert.equal((await t.inject({ method: 'DELETE', url: '/v1/score-schemas/thumbs', headers: { 'x-api-key': w.key } })).statusCode, 404);

        const one = (await t.get('/v1/score-schemas/thumbs', { key: w.key })).json() as { schema: SchemaItem | null; versions: SchemaItem[] };
        assert.equal(one.schema, null);
        assert.equal(one.versions.length, 1);
        assert.deepEqual((await t.get('/v1/score-schemas', { key: w.key })).json(), { success: true, schemas: [] });
        assert.equal(((await t.get('/v1/score-schemas?archived=true', { key: w.key })).json() as { schemas: SchemaItem[] }).schemas.length, 1);

        assert.equal((await t.store.requests.get(w.workspace.id, id))?.scores.thumbs, 100);
        assert.equal((await putScore(id, 'thumbs', { score: 40 }, w.key)).statusCode, 200);
        assert.equal((await historyOf(id, w.key)).length, 2);

        const again = await putSchema('thumbs', { kind: 'boolean' }, w.key);
        assert.deepEqual([(again.json() as { created: boolean }).created, (again.json() as { schema: SchemaItem }).schema.version], [true, 2]);
        assert.equal((await putScore(id, 'thumbs', { score: 40 }, w.key)).statusCode, 400);
      });

      it('defaults a boolean schema to labels yes (100) and no (0)', async () => {
        const w = await workspace();
        const res = await putSchema('helpful', { kind: 'boolean' }, w.key);
        assert.deepEqual((res.json() as { schema: SchemaItem }).schema.labels, [
          { label: 'yes', value: 100 },
          { label: 'no', value: 0 },
        ]);
      });

      for (const [what, body, field] of [
        ['an unknown kind', { kind: 'stars' }, 'kind'],
        ['a numeric range past 100', { kind: 'numeric', max: 101 }, 'max'],
        ['min above max', { kind: 'numeric', min: 60, max: 40 }, 'min'],
        ['labels on a numeric schema', { kind: 'numeric', labels: [{ label: 'a', value: 1 }] }, 'labels'],
        ['a categorical schema without labels', { kind: 'categorical' }, 'labels'],
        ['two labels with one value', { kind: 'categorical', labels: [{ label: 'a', value: 1 }, { label: 'b', value: 1 }] }, 'labels.1.value'],
        ['a label given twice', { kind: 'categorical', labels: [{ label: 'a', value: 1 }, { label: 'a', value: 2 }] }, 'labels.1.label'],
        ['a boolean schema whose values are not 100 and 0', { kind: 'boolean', labels: [{ label: 'up', value: 90 }, { label: 'down', value: 0 }] }, 'labels'],
        ['a reason given twice in another case', { kind: 'numeric', reasons: ['Slow', 'slow'] }, 'reasons.1'],
        ['a reason with a quote', { kind: 'numeric', reasons: ['say "hi"'] }, 'reasons.0'],
        ['an unknown aggregate', { kind: 'numeric', aggregate: 'max' }, 'aggregate'],
        ['an unknown field', { kind: 'numeric', colour: 'red' }, 'colour'],
      ] as const) {
        it(`refuses ${what} with a 400 naming "${field}", creating nothing`, async () => {
          const w = await workspace();
          const res = await putSchema('x', body, w.key);
          assert.equal(res.statusCode, 400, res.body);
          assert.match((res.json() as { message: string }).message, new RegExp(`^${field.replace('.', '\\.')}\\b`));
          assert.equal((await t.get('/v1/score-schemas/x', { key: w.key })).statusCode, 404);
        });
      }

      it("keeps each workspace's schemas apart", async () => {
        const a = await workspace();
        const b = await workspace();
        assert.equal((await putSchema('quality', QUALITY, a.key)).statusCode, 200);
        assert.equal((await t.get('/v1/score-schemas/quality', { key: b.key })).statusCode, 404);
        const id = await logRequest(t, {}, b.key);
        assert.equal((await putScore(id, 'quality', { score: 7 }, b.key)).statusCode, 200);
      });
    });

    describe('writes checked against the schema', () => {
      let w: TestWorkspace;
      before(async () => {
        w = await workspace();
        assert.equal((await putSchema('quality', QUALITY, w.key)).statusCode, 200);
        assert.equal((await putSchema('stars', { kind: 'numeric', min: 20, max: 80, reasons: ['slow'] }, w.key)).statusCode, 200);
      });

      it('takes a label and stores its value, label, comment, reasons and schema version', async () => {
        const id = await logRequest(t, {}, w.key);
        const res = await putScore(id, 'quality', { label: 'bad', comment: 'made up a citation', reasons: ['hallucination'] }, w.key);
        assert.equal(res.statusCode, 200, res.body);
        const change = res.json() as Record<string, unknown>;
        assert.deepEqual([change.new_value, change.label, change.schema_version], [0, 'bad', 1]);
        const [event] = await historyOf(id, w.key);
        assert.deepEqual([event!.new_value, event!.rating, event!.label, event!.reasons, event!.comment, event!.schema_version, event!.kind], [0, 0, 'bad', ['hallucination'], 'made up a citation', 1, 'rating']);
      });

      it('takes a score equal to a label value and finds its label', async () => {
        const id = await logRequest(t, {}, w.key);
        const res = await putScore(id, 'quality', { score: 100 }, w.key);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal((res.json() as { label: string }).label, 'good');
      });

      const refusals: [string, string, Record<string, unknown>, string][] = [
        ['a value that is no label value', 'quality', { score: 70 }, 'score'],
        ['an unknown label', 'quality', { label: 'great' }, 'label'],
        ['a label on a numeric schema', 'stars', { label: 'good' }, 'label'],
        ['a value outside the numeric range', 'stars', { score: 90 }, 'score'],
        ['a score below comment_required_below without a comment', 'quality', { label: 'bad' }, 'comment'],
        ['a reason the schema does not declare', 'quality', { score: 100, reasons: ['rude'] }, 'reasons'],
        ['a reason given twice', 'quality', { score: 100, reasons: ['off-topic', 'off-topic'] }, 'reasons'],
        ['reasons under a name without a schema', 'free', { score: 5, reasons: ['slow'] }, 'reasons'],
        ['a label under a name without a schema', 'free', { label: 'good' }, 'label'],
        ['both score and label', 'quality', { score: 100, label: 'good' }, 'label'],
        ['neither score nor label', 'quality', { comment: 'hm' }, 'score'],
        ['a comment over 4096 bytes', 'quality', { score: 100, comment: 'é'.repeat(2049) }, 'comment'],
        ['a rater claiming an end user', 'quality', { score: 100, rater: 'end_user:42' }, 'rater'],
      ];
      for (const [what, name, body, field] of refusals) {
        it(`PUT refuses ${what} with a 400 naming "${field}" and writes nothing`, async () => {
          const id = await logRequest(t, {}, w.key);
          assert.equal((await putScore(id, name, { score: 100 }, w.key)).statusCode, name === 'stars' ? 400 : 200);
          const before = await historyOf(id, w.key);
          const res = await putScore(id, name, body, w.key);
          assert.equal(res.statusCode, 400, res.body);
          assert.match((res.json() as { message: string }).message, new RegExp(`^${field}:`));
          assert.deepEqual(await historyOf(id, w.key), before);
        });
      }

      it('refuses the same mistakes in a batch, listing every bad item, and writes none of the items', async () => {
        const id = await logRequest(t, {}, w.key);
        const res = await t.post(
          '/v1/scores/batch',
          {
            items: [
              { request_id: id, name: 'quality', label: 'good' },
              { request_id: id, name: 'quality', score: 70 },
              { request_id: id, name: 'stars', score: 50 },
              { request_id: id, name: 'quality', label: 'bad' },
              { request_id: id, name: 'stars', score: 50, reasons: ['fast'] },
            ],
          },
          { key: w.key },
        );
        assert.equal(res.statusCode, 400, res.body);
        const body = res.json() as { errors: { index: number; field: string }[] };
        assert.deepEqual(body.errors.map((e) => [e.index, e.field]), [
          [1, 'score'],
          [3, 'comment'],
          [4, 'reasons'],
        ]);
        assert.deepEqual(await historyOf(id, w.key), []);
      });

      it('takes labels, comments, reasons and raters in a batch', async () => {
        const id = await logRequest(t, {}, w.key);
        const res = await t.post(
          '/v1/scores/batch',
          {
            comment: 'imported',
            items: [
              { request_id: id, name: 'quality', label: 'ok', reasons: ['off-topic'], rater: 'vendor-a' },
              { request_id: id, name: 'stars', score: 30, comment: 'slow answer', reasons: ['slow'] },
            ],
          },
          { key: w.key },
        );
        assert.equal(res.statusCode, 200, res.body);
        const events = await historyOf(id, w.key);
        assert.deepEqual(
          events.map((e) => [e.name, e.new_value, e.label, e.reasons, e.rater, e.comment, e.source]),
          [
            ['quality', 50, 'ok', ['off-topic'], 'external:vendor-a', 'imported', 'batch'],
            ['stars', 30, null, ['slow'], `key:${w.keyId}`, 'slow answer', 'batch'],
          ],
        );
      });

      it('refuses on /rest/track-score and /library-track-score a value the categorical schema does not allow, writing nothing', async () => {
        const id = await logRequest(t, {}, w.key);
        for (const url of ['/rest/track-score', '/library-track-score']) {
          const res = await t.post(url, { request_id: id, name: 'quality', score: 70 }, { key: w.key });
          assert.equal(res.statusCode, 400, res.body);
          assert.deepEqual(Object.keys(res.json() as object).sort(), ['code', 'message', 'success']);
          assert.match((res.json() as { message: string }).message, /^score:/);
        }
        assert.deepEqual(await historyOf(id, w.key), []);
        assert.deepEqual((await t.store.requests.get(w.workspace.id, id))?.scores, {});
        const ok = await t.post('/rest/track-score', { request_id: id, name: 'quality', score: 100 }, { key: w.key });
        assert.equal(ok.statusCode, 200, ok.body);
        const [event] = await historyOf(id, w.key);
        assert.deepEqual([event!.label, event!.schema_version], ['good', 1]);
      });

      it("refuses log-request's inline score outside the schema and logs nothing", async () => {
        const before = await t.store.requests.count(w.workspace.id, null);
        const res = await t.post('/log-request', { ...logBody(), score: 90, score_name: 'stars' }, { key: w.key });
        assert.equal(res.statusCode, 400, res.body);
        assert.match((res.json() as { message: string }).message, /^score:/);
        assert.equal(await t.store.requests.count(w.workspace.id, null), before);
      });
    });

    describe('strict score names (PATCH /v1/workspace)', () => {
      it('is off by default, so a name without a schema takes scores as PromptLayer does', async () => {
        const w = await workspace();
        const res = await t.get('/v1/workspace', { key: w.key });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual((res.json() as { workspace: Record<string, unknown> }).workspace.strict_score_names, false);
        const id = await logRequest(t, {}, w.key);
        assert.equal((await t.post('/rest/track-score', { request_id: id, name: 'anything', score: 3 }, { key: w.key })).statusCode, 200);
      });

      it('refuses, once on, writes to a name without a schema on every route with a 400 naming "name"', async () => {
        const w = await workspace();
        const patch = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': w.key }, payload: { strict_score_names: true } });
        assert.equal(patch.statusCode, 200, patch.body);
        assert.equal((patch.json() as { workspace: { strict_score_names: boolean } }).workspace.strict_score_names, true);
        assert.equal(((await t.get('/v1/workspace', { key: w.key })).json() as { workspace: { strict_score_names: boolean } }).workspace.strict_score_names, true);
        assert.equal((await putSchema('quality', QUALITY, w.key)).statusCode, 200);
        const id = await logRequest(t, {}, w.key);
        const refused = [
          await putScore(id, 'free', { score: 5 }, w.key),
          await t.post('/rest/track-score', { request_id: id, name: 'free', score: 5 }, { key: w.key }),
          await t.post('/rest/track-score', { request_id: id, score: 5 }, { key: w.key }),
          await t.post('/v1/scores/batch', { items: [{ request_id: id, name: 'quality', score: 100 }, { request_id: id, name: 'free', score: 5 }] }, { key: w.key }),
        ];
        for (const res of refused) {
          assert.equal(res.statusCode, 400, res.body);
          assert.match((res.json() as { message: string }).message, /^(name|items):/);
        }
        assert.deepEqual(((refused[3]!.json() as { errors: { index: number; field: string }[] }).errors), [{ index: 1, field: 'name', message: (refused[3]!.json() as { errors: { message: string }[] }).errors[0]!.message }]);
        assert.deepEqual(await historyOf(id, w.key), []);
        assert.equal((await putScore(id, 'quality', { label: 'good' }, w.key)).statusCode, 200);
        // Another workspace is not strict.
        const other = await workspace();
        const otherId = await logRequest(t, {}, other.key);
        assert.equal((await putScore(otherId, 'free', { score: 5 }, other.key)).statusCode, 200);

        const off = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': w.key }, payload: { strict_score_names: false } });
        assert.equal(off.statusCode, 200);
        assert.equal((await putScore(id, 'free', { score: 5 }, w.key)).statusCode, 200);
      });

      it('refuses an empty PATCH and an unknown setting, naming it', async () => {
        const w = await workspace();
        const empty = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': w.key }, payload: {} });
        assert.equal(empty.statusCode, 400, empty.body);
        const unknown = await t.inject({ method: 'PATCH', url: '/v1/workspace', headers: { 'x-api-key': w.key }, payload: { strict: true } });
        assert.equal(unknown.statusCode, 400, unknown.body);
        assert.match((unknown.json() as { message: string }).message, /strict/);
      });
    });
  });
}
