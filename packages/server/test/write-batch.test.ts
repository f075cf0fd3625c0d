import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TallyError } from '../src/domain/errors.js';
import type { NewRequest } from '../src/domain/request-shape.js';
import type { Actor } from '../src/store/types.js';
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
        const ws = await s.store.workspaces.create('w');
        const other = await s.store.workspaces.create('other');
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
        const rated = (value: number) => ({ label: null, rater: actor.id, rating: value, schemaVersion: null });
        assert.deepEqual(values[0], { requestId: r1, name: 'a', oldValue: null, newValue: 10, ...rated(10) });
        assert.deepEqual(values[1], { requestId: r1, name: 'a', oldValue: 10, newValue: 20, ...rated(20) });
        assert.equal(values[2], 'not_found');
        assert.deepEqual(values[3], { requestId: r2, name: 'a', oldValue: null, newValue: 30, ...rated(30) });
        assert.equal(typeof values[4], 'number');
        assert.deepEqual(values[5], { requestId: r1, name: 'b', oldValue: null, newValue: 1, ...rated(1) });
        assert.equal(values[6], 'not_found');
        assert.deepEqual(values[7], { requestId: r1, name: 'a', oldValue: 20, newValue: 40, ...rated(40) });

        assert.deepEqual((await s.store.requests.get(ws.id, r1!))?.scores, { a: 40, b: 1 });
        assert.deepEqual((await s.store.requests.get(other.id, foreign!))?.scores, {});
        const history = (await s.store.scores.history(ws.id, r1!)).map((e) => [e.name, e.oldValue, e.newValue]);
        assert.deepEqual(history, [['a', null, 10], ['a', 10, 20], ['b', null, 1], ['a', 20, 40]]);
        // The feed holds exactly the committed changes, in command order.
        const feed = (await s.store.scores.events(ws.id, { afterId: 0, limit: 100 })).map((e) => [e.requestId, e.name, e.newValue]);
        assert.deepEqual(feed, [[r1, 'a', 10], [r1, 'a', 20], [r2, 'a', 30], [r1, 'b', 1], [r1, 'a', 40]]);
        assert.deepEqual(await s.store.scores.events(other.id, { afterId: 0, limit: 100 }), []);
      } finally {
        await s.close();
      }
    });

    it('logs a batch of requests with their tags, metadata, groups and scores, ids ascending in command order, each read back as written', async () => {
      const s = await freshStore(backend);
      try {
        const ws = await s.store.workspaces.create('w');
        const other = await s.store.workspaces.create('other');
        const [group] = await s.store.writeBatch([{ op: 'createGroup', workspaceId: ws.id }]);
        const groupId = group!.ok ? (group!.value as number) : assert.fail('no group');
        const logged = (i: number, extra: Partial<NewRequest> = {}): NewRequest => ({
          ...request,
          model: `m${i}`,
          input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: `question ${i}, "quoted" and ünïcode` }] }] },
          parameters: { temperature: i / 10 },
          promptName: i % 2 ? 'p' : null,
          promptVersion: i % 2 ? i : null,
          inputTokens: i,
          price: i / 1000,
          startMs: request.startMs + i,
          endMs: request.startMs + i + 100,
          tags: i % 3 === 0 ? [] : [`t${i}`, 'shared'],
          metadata: i % 2 ? { user: `u${i}`, team: 'x' } : {},
          spanId: `s${i}`,
          ...extra,
        });
        // Plain requests (the ones PostgreSQL inserts together), broken up by one with a score, one
        // in a group, one in another workspace, and one referring to a group that does not exist.
        const requests: [number, NewRequest][] = [
          [ws.id, logged(1)], [ws.id, logged(2)], [ws.id, logged(3)],
          [ws.id, logged(4, { score: { name: 'default', value: 77 } })],
          [ws.id, logged(5)], [other.id, logged(6)],
          [ws.id, logged(7, { groupId })],
          [ws.id, logged(8, { groupId: 999_999 })],
          [ws.id, logged(9)], [ws.id, logged(10)],
        ];
        const outcomes = await s.store.writeBatch(requests.map(([workspaceId, r]) => ({ op: 'insertRequest', workspaceId, request: r, actor })));
        assert.equal((outcomes[7]!.ok ? null : (outcomes[7]!.error as TallyError).code), 'not_found', 'the unknown group is refused alone');
        const ids = outcomes.flatMap((o, i) => (i === 7 ? [] : [o.ok ? (o.value as number) : assert.fail(String(o.error))]));
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ids ascend in command order');
        assert.equal(new Set(ids).size, ids.length);

        const written = requests.filter((_, i) => i !== 7);
        for (const [k, id] of ids.entries()) {
          const [workspaceId, r] = written[k]!;
          const got = await s.store.requests.get(workspaceId, id);
          assert.ok(got, `request ${id} reads back`);
          assert.equal(await s.store.requests.get(workspaceId === ws.id ? other.id : ws.id, id), null, 'and only in its own workspace');
          assert.deepEqual(
            { model: got.model, input: got.input, parameters: got.parameters, promptName: got.promptName, promptVersion: got.promptVersion, inputTokens: got.inputTokens, price: got.price, startMs: got.startMs, endMs: got.endMs, latencyMs: got.latencyMs, spanId: got.spanId },
            { model: r.model, input: r.input, parameters: r.parameters, promptName: r.promptName, promptVersion: r.promptVersion, inputTokens: r.inputTokens, price: r.price, startMs: r.startMs, endMs: r.endMs, latencyMs: r.endMs - r.startMs, spanId: r.spanId },
          );
          assert.deepEqual([...got.tags].sort(), [...r.tags].sort());
          assert.deepEqual(got.metadata, r.metadata);
          assert.deepEqual(got.groupIds, r.groupId === null ? [] : [r.groupId]);
          assert.deepEqual(got.scores, r.score ? { [r.score.name]: r.score.value } : {});
        }
        // The id sequence moved past the batch: the next request gets a new, larger id.
        const [next] = await s.store.writeBatch([{ op: 'insertRequest', workspaceId: ws.id, request: logged(11), actor }]);
        assert.ok(next!.ok && (next!.value as number) > Math.max(...ids));
      } finally {
        await s.close();
      }
    });

    it('a logged request that fails in a batch of plain ones fails alone; the others commit', async () => {
      const s = await freshStore(backend);
      try {
        const ws = await s.store.workspaces.create('w');
        // A duplicate tag breaks the (request_id, tag) key: the HTTP layer never sends one, the store must still contain the damage.
        const bad: NewRequest = { ...request, tags: ['same', 'same'] };
        const outcomes = await s.store.writeBatch([request, request, bad, request].map((r) => ({ op: 'insertRequest', workspaceId: ws.id, request: r, actor })));
        assert.deepEqual(outcomes.map((o) => o.ok), [true, true, false, true]);
        for (const o of outcomes.filter((x) => x.ok)) assert.ok(await s.store.requests.get(ws.id, o.value as number));
        const page = await s.store.requests.search(ws.id, { filter: null, sort: { key: { kind: 'column', column: 'id' }, order: 'asc' }, limit: 10 });
        assert.equal(page.items.length, 3, 'nothing of the failed request was written');
      } finally {
        await s.close();
      }
    });
  });
}
