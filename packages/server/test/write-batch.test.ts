import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TallyError } from '../src/domain/errors.js';
import type { NewRequest } from '../src/domain/request-shape.js';
import type { Actor } from '../src/store/store.js';
import type { WriteCommand } from '../src/store/write-commands.js';
import { BACKENDS, freshStore } from './helpers/backends.js';

const actor: Actor = { id: 'key:1', source: 'api' };
const request: NewRequest = {
  provider: 'openai', model: 'm', functionName: '', apiType: null, input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] },
  parameters: {}, promptName: null, promptId: null, promptVersion: null, promptInputVariables: {}, inputTokens: 0, outputTokens: 0, price: 0,
  status: 'SUCCESS', errorType: null, errorMessage: null, startMs: 1_700_000_000_000, endMs: 1_700_000_000_250, tags: [], metadata: {},
  groupId: null, spanId: null, score: null,
};

/**
 * One batch of the write queue as the store commits it (SQLite: on the writer thread; PostgreSQL:
 * runs of score writes in one statement): each command gets its own outcome, in order.
 */
for (const backend of BACKENDS) {
  describe(`store.writeBatch [${backend}]`, () => {
    it('answers each command of a mixed batch in order; refused ones write nothing, the rest commit with a true history', async () => {
      const s = await freshStore(backend);
      try {
        const ws = await s.store.createWorkspace('w');
        const other = await s.store.createWorkspace('other');
        const insert = (workspaceId: number): WriteCommand => ({ op: 'insertRequest', workspaceId, request, actor });
        const [r1, r2, foreign] = (await s.store.writeBatch([insert(ws.id), insert(ws.id), insert(other.id)])).map((o) => (o.ok ? (o.value as number) : assert.fail(String(o.error))));
        const score = (requestId: number, name: string, value: number, workspaceId = ws.id): WriteCommand => ({ op: 'setScore', workspaceId, requestId, name, value, actor });
        const outcomes = await s.store.writeBatch([
          score(r1!, 'a', 10),
          score(r1!, 'a', 20), // the same request and name again: applied after the first
          score(999_999, 'a', 5), // no such request
          score(r2!, 'a', 30),
          { op: 'createGroup', workspaceId: ws.id },
          score(r1!, 'b', 1),
          score(foreign!, 'a', 7), // another workspace's request answers like a missing one
          score(r1!, 'a', 40),
        ]);
        const values = outcomes.map((o) => (o.ok ? o.value : (o.error as TallyError).code));
        assert.deepEqual(values[0], { requestId: r1, name: 'a', oldValue: null, newValue: 10 });
        assert.deepEqual(values[1], { requestId: r1, name: 'a', oldValue: 10, newValue: 20 });
        assert.equal(values[2], 'not_found');
        assert.deepEqual(values[3], { requestId: r2, name: 'a', oldValue: null, newValue: 30 });
        assert.equal(typeof values[4], 'number');
        assert.deepEqual(values[5], { requestId: r1, name: 'b', oldValue: null, newValue: 1 });
        assert.equal(values[6], 'not_found');
        assert.deepEqual(values[7], { requestId: r1, name: 'a', oldValue: 20, newValue: 40 });

        assert.deepEqual((await s.store.getRequest(ws.id, r1!))?.scores, { a: 40, b: 1 });
        assert.deepEqual((await s.store.getRequest(other.id, foreign!))?.scores, {});
        const history = (await s.store.scoreHistory(ws.id, r1!)).map((e) => [e.name, e.oldValue, e.newValue]);
        assert.deepEqual(history, [['a', null, 10], ['a', 10, 20], ['b', null, 1], ['a', 20, 40]]);
        // The feed holds exactly the committed changes, in command order.
        const feed = (await s.store.scoreEvents(ws.id, { afterId: 0, limit: 100 })).map((e) => [e.requestId, e.name, e.newValue]);
        assert.deepEqual(feed, [[r1, 'a', 10], [r1, 'a', 20], [r2, 'a', 30], [r1, 'b', 1], [r1, 'a', 40]]);
        assert.deepEqual(await s.store.scoreEvents(other.id, { afterId: 0, limit: 100 }), []);
      } finally {
        await s.close();
      }
    });
  });
}
