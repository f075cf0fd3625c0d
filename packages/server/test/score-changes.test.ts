import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { addWorkspace, createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

interface EventItem {
  id: number;
  request_id: number;
  name: string;
  old_value: number | null;
  new_value: number | null;
  actor: string;
  source: string;
  comment: string | null;
  batch_id: string | null;
  at: string;
}

for (const backend of BACKENDS) {
  describe(`score changes, history and feed [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    const put = (id: number, name: string, body: unknown, key?: string) =>
      t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/${encodeURIComponent(name)}`, headers: { 'x-api-key': key ?? t.alpha.key }, payload: body as object });
    const del = (id: number, name: string, query = '', key?: string) =>
      t.inject({ method: 'DELETE', url: `/v1/requests/${id}/scores/${encodeURIComponent(name)}${query}`, headers: { 'x-api-key': key ?? t.alpha.key } });
    const history = async (id: number, key?: string) => {
      const res = await t.get(`/v1/requests/${id}/scores/history`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { events: EventItem[] }).events;
    };

    describe('PUT /v1/requests/{id}/scores/{name}', () => {
      it('creates a score, then replaces it, answering old and new value and recording the comment', async () => {
        const id = await logRequest(t);
        const first = await put(id, 'quality', { score: 40, comment: 'first look' });
        assert.equal(first.statusCode, 200, first.body);
        const rating = { label: null, rater: `key:${t.alpha.keyId}`, schema_version: null };
        assert.deepEqual(first.json(), { success: true, request_id: id, name: 'quality', old_value: null, new_value: 40, rating: 40, ...rating });
        const second = await put(id, 'quality', { score: 90 });
        assert.equal(second.statusCode, 200);
        assert.deepEqual(second.json(), { success: true, request_id: id, name: 'quality', old_value: 40, new_value: 90, rating: 90, ...rating });
        assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, { quality: 90 });

        const events = await history(id);
        assert.deepEqual(
          events.map((e) => [e.name, e.old_value, e.new_value, e.actor, e.source, e.comment, e.batch_id]),
          [
            ['quality', null, 40, `key:${t.alpha.keyId}`, 'api', 'first look', null],
            ['quality', 40, 90, `key:${t.alpha.keyId}`, 'api', null, null],
          ],
        );
        for (const e of events) {
          assert.equal(e.request_id, id);
          assert.ok(Math.abs(Date.parse(e.at) - Date.now()) < 60_000, `event time ${e.at} should be now`);
        }
      });

      it('accepts a name with spaces and slashes in the path, URL-encoded', async () => {
        const id = await logRequest(t);
        const res = await put(id, 'tone / style', { score: 7 });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, { 'tone / style': 7 });
      });

      for (const [what, body, field] of [
        ['a score of 101', { score: 101 }, 'score'],
        ['a score of 2.5', { score: 2.5 }, 'score'],
        ['a missing score', {}, 'score'],
        ['a comment that is not a string', { score: 5, comment: 5 }, 'comment'],
      ] as const) {
        it(`rejects ${what} with 400 naming "${field}" and writes nothing`, async () => {
          const id = await logRequest(t);
          const res = await put(id, 'quality', body);
          assert.equal(res.statusCode, 400, res.body);
          assert.equal(res.json().code, 'invalid_field');
          assert.ok((res.json().message as string).startsWith(`${field}:`), res.body);
          assert.deepEqual(await history(id), []);
        });
      }

      it('takes a name of 512 characters (even URL-encoded) and rejects 513 with 400 naming "name"', async () => {
        const id = await logRequest(t);
        const longest = 'é'.repeat(512);
        assert.equal((await put(id, longest, { score: 5 })).statusCode, 200);
        assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, { [longest]: 5 });
        const res = await put(id, 'n'.repeat(513), { score: 5 });
        assert.equal(res.statusCode, 400);
        assert.ok((res.json().message as string).startsWith('name:'), res.body);
      });

      it("answers another workspace's request exactly like a missing one and changes nothing", async () => {
        const foreign = await logRequest(t, {}, t.other.key);
        const res = await put(foreign, 'quality', { score: 5 });
        const missing = await put(987_654_321, 'quality', { score: 5 });
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), missing.json());
        assert.deepEqual((await t.store.requests.get(t.other.workspace.id, foreign))?.scores, {});
        assert.deepEqual(await t.store.scores.history(t.other.workspace.id, foreign), []);
      });

      it('refuses a call without a key with 401', async () => {
        const id = await logRequest(t);
        const res = await t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/quality`, payload: { score: 5 } });
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().code, 'unauthorized');
      });
    });

    describe('DELETE /v1/requests/{id}/scores/{name}', () => {
      it('deletes the score and records the deletion in history with new value null and the comment', async () => {
        const id = await logRequest(t);
        assert.equal((await put(id, 'quality', { score: 60 })).statusCode, 200);
        assert.equal((await put(id, 'other', { score: 1 })).statusCode, 200);
        const res = await del(id, 'quality', '?comment=mistake');
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), { success: true, request_id: id, name: 'quality', old_value: 60, new_value: null, label: null, rater: `key:${t.alpha.keyId}`, rating: null, schema_version: null });
        assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, { other: 1 });
        const last = (await history(id)).at(-1)!;
        assert.deepEqual([last.name, last.old_value, last.new_value, last.comment, last.source], ['quality', 60, null, 'mistake', 'api']);
      });

      it('answers 404 naming "name" when the request has no such score, and records nothing', async () => {
        const id = await logRequest(t);
        assert.equal((await put(id, 'quality', { score: 60 })).statusCode, 200);
        const res = await del(id, 'absent');
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().success, false);
        assert.equal(res.json().code, 'not_found');
        assert.ok((res.json().message as string).startsWith('name:'), res.body);
        assert.equal((await history(id)).length, 1);
      });

      it('a score deleted twice answers 404 the second time', async () => {
        const id = await logRequest(t);
        assert.equal((await put(id, 'quality', { score: 60 })).statusCode, 200);
        assert.equal((await del(id, 'quality')).statusCode, 200);
        assert.equal((await del(id, 'quality')).statusCode, 404);
        assert.equal((await history(id)).length, 2);
      });

      it("answers another workspace's request like a missing one and leaves its score alone", async () => {
        const foreign = await logRequest(t, { score: 33, score_name: 'quality' }, t.other.key);
        const res = await del(foreign, 'quality');
        const missing = await del(987_654_321, 'quality');
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), missing.json());
        assert.deepEqual((await t.store.requests.get(t.other.workspace.id, foreign))?.scores, { quality: 33 });
      });
    });

    describe('history is append-only', () => {
      it('earlier history rows stay exactly as they were through replacements and deletions', async () => {
        const id = await logRequest(t);
        assert.equal((await put(id, 'quality', { score: 10, comment: 'a' })).statusCode, 200);
        assert.equal((await put(id, 'quality', { score: 20 })).statusCode, 200);
        const snapshot = await history(id);
        assert.equal((await put(id, 'quality', { score: 30 })).statusCode, 200);
        assert.equal((await del(id, 'quality')).statusCode, 200);
        assert.equal((await t.post('/v1/scores/batch', { items: [{ request_id: id, name: 'quality', score: 40 }] })).statusCode, 200);
        const later = await history(id);
        assert.equal(later.length, snapshot.length + 3);
        assert.deepEqual(later.slice(0, snapshot.length), snapshot);
        assert.deepEqual(
          later.map((e) => [e.old_value, e.new_value]),
          [
            [null, 10],
            [10, 20],
            [20, 30],
            [30, null],
            [null, 40],
          ],
        );
        const ids = later.map((e) => e.id);
        assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      });

      it("GET history of another workspace's request answers 404 like a missing one", async () => {
        const foreign = await logRequest(t, { score: 5, score_name: 'quality' }, t.other.key);
        const res = await t.get(`/v1/requests/${foreign}/scores/history`);
        const missing = await t.get('/v1/requests/987654321/scores/history');
        assert.equal(res.statusCode, 404);
        assert.deepEqual(res.json(), missing.json());
        assert.equal((await t.get(`/v1/requests/${foreign}/scores/history`, { key: t.other.key })).statusCode, 200);
      });

      it('GET history with a malformed id answers 400 naming "id"', async () => {
        const res = await t.get('/v1/requests/abc/scores/history');
        assert.equal(res.statusCode, 400);
        assert.ok((res.json().message as string).startsWith('id:'), res.body);
      });
    });

    describe('POST /v1/scores/batch', () => {
      it('applies every item in one call, with one batch id and source "batch" on every history row', async () => {
        const ids = [await logRequest(t), await logRequest(t), await logRequest(t)];
        assert.equal((await put(ids[0]!, 'quality', { score: 1 })).statusCode, 200);
        const res = await t.post('/v1/scores/batch', {
          comment: 'weekly review',
          items: [
            { request_id: ids[0], name: 'quality', score: 70 },
            { request_id: String(ids[1]), score: 80 },
            { request_id: ids[2], name: 'quality', score: 100 },
            { request_id: ids[2], name: null, score: 0 },
          ],
        });
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json() as { success: boolean; batch_id: string; count: number; changes: unknown[] };
        assert.equal(body.success, true);
        assert.equal(body.count, 4);
        assert.match(body.batch_id, /^[0-9a-f-]{36}$/);
        const rating = (value: number) => ({ label: null, rater: `key:${t.alpha.keyId}`, rating: value, schema_version: null });
        assert.deepEqual(body.changes, [
          { request_id: ids[0], name: 'quality', old_value: 1, new_value: 70, ...rating(70) },
          { request_id: ids[1], name: 'default', old_value: null, new_value: 80, ...rating(80) },
          { request_id: ids[2], name: 'quality', old_value: null, new_value: 100, ...rating(100) },
          { request_id: ids[2], name: 'default', old_value: null, new_value: 0, ...rating(0) },
        ]);
        assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, ids[2]!))?.scores, { default: 0, quality: 100 });

        // Read per request, so the batch's rows are found however many events other tests wrote first.
        const batchRows: EventItem[] = [];
        for (const id of new Set(ids)) {
          const feed = await t.get(`/v1/score-events?limit=1000&request_id=${id}`);
          batchRows.push(...(feed.json() as { events: EventItem[] }).events.filter((e) => e.batch_id === body.batch_id));
        }
        assert.equal(batchRows.length, 4);
        for (const e of batchRows) {
          assert.equal(e.source, 'batch');
          assert.equal(e.actor, `key:${t.alpha.keyId}`);
          assert.equal(e.comment, 'weekly review');
        }
        // A single change made outside the batch has no batch id.
        assert.equal((await history(ids[0]!))[0]!.batch_id, null);
      });

      it('two batch calls get different batch ids', async () => {
        const id = await logRequest(t);
        const a = await t.post('/v1/scores/batch', { items: [{ request_id: id, score: 1 }] });
        const b = await t.post('/v1/scores/batch', { items: [{ request_id: id, score: 2 }] });
        assert.equal(a.statusCode, 200);
        assert.equal(b.statusCode, 200);
        assert.notEqual(a.json().batch_id, b.json().batch_id);
      });

      it('writes nothing when any item is bad, and lists the index and reason of each bad item', async () => {
        const good = await logRequest(t);
        const alsoGood = await logRequest(t);
        const foreign = await logRequest(t, {}, t.other.key);
        const res = await t.post('/v1/scores/batch', {
          items: [
            { request_id: good, name: 'quality', score: 50 },
            { request_id: good, name: 'quality', score: 101 },
            { request_id: 987_654_321, score: 5 },
            { request_id: foreign, score: 5 },
            { request_id: alsoGood, name: '', score: 5 },
            'not an item',
            { request_id: true, score: 5 },
            { request_id: alsoGood, score: 5, extra: 1 },
            { request_id: alsoGood, score: 60 },
          ],
        });
        assert.equal(res.statusCode, 400, res.body);
        const body = res.json() as { success: boolean; code: string; message: string; errors: { index: number; field: string; message: string }[] };
        assert.equal(body.success, false);
        assert.equal(body.code, 'invalid_field');
        assert.ok(body.message.startsWith('items:'), body.message);
        assert.match(body.message, /7 of 9 items are invalid/);
        assert.deepEqual(
          body.errors.map((e) => [e.index, e.field]),
          [
            [1, 'score'],
            [2, 'request_id'],
            [3, 'request_id'],
            [4, 'name'],
            [5, 'item'],
            [6, 'request_id'],
            [7, 'extra'],
          ],
        );
        for (const e of body.errors) assert.ok(e.message.startsWith(`${e.field}:`), e.message);
        // A foreign request reads exactly like a missing one.
        assert.equal(body.errors[1]!.message, body.errors[2]!.message);
        // All or nothing: the good items were not written either.
        assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, good))?.scores, {});
        assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, alsoGood))?.scores, {});
        assert.deepEqual(await history(good), []);
        assert.deepEqual((await t.store.requests.get(t.other.workspace.id, foreign))?.scores, {});
      });

      it('names the field each refused item is refused for: rater, label, comment, reasons, score', async () => {
        const id = await logRequest(t);
        const res = await t.post('/v1/scores/batch', {
          items: [
            { request_id: id, score: 5, rater: 'end_user:u-1' },
            { request_id: id, score: 5, rater: 7 },
            { request_id: id, label: '' },
            { request_id: id, score: 5, label: 'good' },
            { request_id: id, score: 5, comment: 'x'.repeat(5000) },
            { request_id: id, score: 5, reasons: 'slow' },
            { request_id: id },
          ],
        });
        assert.equal(res.statusCode, 400, res.body);
        const body = res.json() as { errors: { index: number; field: string; message: string }[] };
        assert.deepEqual(
          body.errors.map((e) => [e.index, e.field]),
          [
            [0, 'rater'],
            [1, 'rater'],
            [2, 'label'],
            [3, 'label'],
            [4, 'comment'],
            [5, 'reasons'],
            [6, 'score'],
          ],
        );
        for (const e of body.errors) assert.ok(e.message.startsWith(`${e.field}:`), e.message);
        assert.deepEqual(await history(id), []);
      });

      it('takes 1000 items in one call and refuses 1001 with 400 naming "items"', async () => {
        const id = await logRequest(t);
        const items = Array.from({ length: 1000 }, (_, i) => ({ request_id: id, name: `n${i}`, score: i % 101 }));
        const ok = await t.post('/v1/scores/batch', { items });
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal(ok.json().count, 1000);
        assert.equal(Object.keys((await t.store.requests.get(t.alpha.workspace.id, id))!.scores).length, 1000);
        const tooMany = await t.post('/v1/scores/batch', { items: [...items, { request_id: id, score: 1 }] });
        assert.equal(tooMany.statusCode, 400);
        assert.ok((tooMany.json().message as string).startsWith('items:'), tooMany.body);
      });

      it('refuses an empty list and a missing list with 400 naming "items"', async () => {
        for (const body of [{ items: [] }, {}]) {
          const res = await t.post('/v1/scores/batch', body);
          assert.equal(res.statusCode, 400);
          assert.ok((res.json().message as string).startsWith('items'), res.body);
        }
      });
    });

    describe('GET /v1/score-events', () => {
      it('pages through every event of the workspace in id order with the cursor, then keeps the cursor on an empty page', async () => {
        const feedApp = await createTestApp(backend);
        try {
          const id1 = await logRequest(feedApp);
          const id2 = await logRequest(feedApp);
          const writes: [number, string, number][] = [
            [id1, 'quality', 10],
            [id2, 'quality', 20],
            [id1, 'tone', 30],
            [id1, 'quality', 40],
            [id2, 'tone', 50],
          ];
          for (const [id, name, score] of writes) {
            const res = await feedApp.post('/library-track-score', { request_id: id, name, score });
            assert.equal(res.statusCode, 200);
          }
          // The other workspace's events never show up in alpha's feed.
          const foreign = await logRequest(feedApp, {}, feedApp.other.key);
          assert.equal((await feedApp.post('/library-track-score', { request_id: foreign, score: 99 }, { key: feedApp.other.key })).statusCode, 200);

          const seen: EventItem[] = [];
          let cursor: string | null = null;
          let pages = 0;
          for (;;) {
            const url: string = `/v1/score-events?limit=2${cursor === null ? '' : `&after=${cursor}`}`;
            const res = await feedApp.get(url);
            assert.equal(res.statusCode, 200, res.body);
            const page = res.json() as { events: EventItem[]; next_cursor: string | null; has_more: boolean };
            seen.push(...page.events);
            pages++;
            assert.notEqual(page.next_cursor, null);
            cursor = page.next_cursor;
            if (!page.has_more) break;
          }
          assert.equal(pages, 3);
          assert.deepEqual(
            seen.map((e) => [e.request_id, e.name, e.new_value]),
            writes.map(([id, name, score]) => [id, name, score]),
          );
          assert.deepEqual(seen.map((e) => e.id), [...new Set(seen.map((e) => e.id))].sort((x, y) => x - y));

          // Nothing new: an empty page that hands the same cursor back.
          const empty = await feedApp.get(`/v1/score-events?after=${cursor}`);
          assert.equal(empty.statusCode, 200);
          assert.deepEqual(empty.json(), { success: true, events: [], next_cursor: cursor, has_more: false });

          // A change made later shows up after the stored cursor.
          assert.equal((await feedApp.post('/library-track-score', { request_id: id2, name: 'late', score: 77 })).statusCode, 200);
          const next = await feedApp.get(`/v1/score-events?after=${cursor}`);
          assert.deepEqual(
            (next.json() as { events: EventItem[] }).events.map((e) => [e.name, e.new_value]),
            [['late', 77]],
          );

          const byName = await feedApp.get('/v1/score-events?name=tone');
          assert.deepEqual((byName.json() as { events: EventItem[] }).events.map((e) => e.new_value), [30, 50]);
          const byRequest = await feedApp.get(`/v1/score-events?request_id=${id2}`);
          assert.deepEqual((byRequest.json() as { events: EventItem[] }).events.map((e) => e.new_value), [20, 50, 77]);
          const foreignFilter = await feedApp.get(`/v1/score-events?request_id=${foreign}`);
          assert.deepEqual(foreignFilter.json().events, []);

          const otherFeed = await feedApp.get('/v1/score-events', { key: feedApp.other.key });
          assert.deepEqual((otherFeed.json() as { events: EventItem[] }).events.map((e) => [e.request_id, e.new_value]), [[foreign, 99]]);
        } finally {
          await feedApp.close();
        }
      });

      /** A workspace of the test's own with `events` score changes in its feed: no test reads what another wrote. */
      const workspaceWithEvents = async (name: string, events: number) => {
        const ws = await addWorkspace(t.store, name);
        const id = await logRequest(t, {}, ws.key);
        for (let done = 0; done < events; done += 1000) {
          const items = Array.from({ length: Math.min(1000, events - done) }, (_, i) => ({ request_id: id, name: `n${done + i}`, score: (done + i) % 101 }));
          const res = await t.post('/v1/scores/batch', { items }, { key: ws.key });
          assert.equal(res.statusCode, 200, res.body);
        }
        return ws;
      };

      it('defaults to 100 events a page', async () => {
        const ws = await workspaceWithEvents('feed-default-page', 101);
        const res = await t.get('/v1/score-events', { key: ws.key });
        assert.equal(res.statusCode, 200);
        const body = res.json() as { events: EventItem[]; has_more: boolean };
        assert.equal(body.events.length, 100);
        assert.equal(body.has_more, true);
      });

      for (const [what, query, field] of [
        ['a malformed cursor', 'after=not-a-cursor!', 'after'],
        ['a cursor that decodes to something else', `after=${Buffer.from('{"i":1}').toString('base64url')}`, 'after'],
        ['a limit of 1001', 'limit=1001', 'limit'],
        ['a limit of 0', 'limit=0', 'limit'],
        ['a non-numeric request_id', 'request_id=abc', 'request_id'],
      ] as const) {
        it(`answers ${what} with 400 naming "${field}"`, async () => {
          const res = await t.get(`/v1/score-events?${query}`);
          assert.equal(res.statusCode, 400, res.body);
          assert.equal(res.json().code, 'invalid_field');
          assert.ok((res.json().message as string).startsWith(`${field}:`), res.body);
        });
      }

      it('takes limit=1000', async () => {
        const ws = await workspaceWithEvents('feed-limit-1000', 1001);
        const res = await t.get('/v1/score-events?limit=1000', { key: ws.key });
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().events.length, 1000);
        assert.equal(res.json().has_more, true);
      });
    });
  });
}
