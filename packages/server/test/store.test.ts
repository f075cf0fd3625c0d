import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewRequest } from '../src/domain/request-shape.js';
import { openStore } from '../src/store/open-store.js';
import type { Actor } from '../src/store/types.js';
import { BACKENDS, freshLocation, freshStore } from './helpers/backends.js';

const actor: Actor = { id: 'key:1', source: 'api' };

function request(overrides: Partial<NewRequest> = {}): NewRequest {
  return {
    provider: 'openai', model: 'm', functionName: '', apiType: null, input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] },
    parameters: {}, promptName: null, promptId: null, promptVersion: null, promptInputVariables: {}, inputTokens: 0, outputTokens: 0, price: 0,
    status: 'SUCCESS', errorType: null, errorMessage: null, startMs: 1_700_000_000_000, endMs: 1_700_000_000_250, tags: [], metadata: {},
    groupId: null, spanId: null, score: null, ...overrides,
  };
}

for (const backend of BACKENDS) {
  describe(`store [${backend}]`, () => {
    it('migrating an already migrated store changes nothing', async () => {
      const s = await freshStore(backend);
      try {
        const ws = await s.store.workspaces.create('w');
        await s.store.migrate();
        await s.store.migrate();
        assert.deepEqual((await s.store.workspaces.list()).map((w) => w.name), ['w']);
        assert.equal((await s.store.workspaces.find('w'))?.id, ws.id);
      } finally {
        await s.close();
      }
    });

    it('two instances starting at once on one empty store both migrate, and exactly one creates "default"', async () => {
      const loc = await freshLocation(backend);
      try {
        const opts = { databaseUrl: loc.databaseUrl, dataDir: loc.dataDir };
        const [a, b] = await Promise.all([openStore(opts), openStore(opts)]);
        try {
          const boots = await Promise.all([a.workspaces.bootstrapDefault(), b.workspaces.bootstrapDefault()]);
          assert.equal(boots.filter((w) => w !== null).length, 1);
          assert.deepEqual((await a.workspaces.list()).map((w) => w.name), ['default']);
          // Both see one working schema.
          const ws = (await b.workspaces.find('default'))!;
          const id = await a.write((w) => w.run({ op: 'insertRequest', workspaceId: ws.id, request: request(), actor }));
          assert.equal((await b.requests.get(ws.id, id))?.id, id);
        } finally {
          await a.close();
          await b.close();
        }
      } finally {
        await loc.drop();
      }
    });

    it('a write transaction that throws leaves nothing behind', async () => {
      const s = await freshStore(backend);
      try {
        const ws = await s.store.workspaces.create('w');
        await assert.rejects(
          s.store.write(async (w) => {
            await w.run({ op: 'insertRequest', workspaceId: ws.id, request: request({ tags: ['t'], metadata: { k: 'v' }, score: { name: 'default', value: 3 } }), actor });
            throw new Error('abort');
          }),
          /abort/,
        );
        const id = await s.store.write((w) => w.run({ op: 'insertRequest', workspaceId: ws.id, request: request(), actor }));
        // The aborted insert's row is gone: the only request is the one just written.
        for (let other = 1; other < id; other++) assert.equal(await s.store.requests.get(ws.id, other), null);
      } finally {
        await s.close();
      }
    });

    it('appends a history row for every create, replace and delete, and a delete of nothing records nothing', async () => {
      const s = await freshStore(backend);
      try {
        const ws = await s.store.workspaces.create('w');
        const id = await s.store.write((w) => w.run({ op: 'insertRequest', workspaceId: ws.id, request: request(), actor }));
        await s.store.write((w) => w.run({ op: 'setScore', workspaceId: ws.id, requestId: id, name: 'q', value: 10, actor }));
        await s.store.write((w) => w.run({ op: 'setScore', workspaceId: ws.id, requestId: id, name: 'q', value: 20, actor: { id: 'user:7', source: 'dashboard' }, opts: { comment: 'looked again' } }));
        const deleted = await s.store.write((w) => w.run({ op: 'deleteScore', workspaceId: ws.id, requestId: id, name: 'q', actor }));
        assert.deepEqual(deleted, { requestId: id, name: 'q', oldValue: 20, newValue: null, label: null, rater: actor.id, rating: null, schemaVersion: null });
        assert.equal(await s.store.write((w) => w.run({ op: 'deleteScore', workspaceId: ws.id, requestId: id, name: 'q', actor })), null);
        const history = await s.store.scores.history(ws.id, id);
        assert.deepEqual(
          history.map((e) => [e.oldValue, e.newValue, e.actor, e.source, e.comment, e.kind, e.rater, e.rating]),
          [
            [null, 10, 'key:1', 'api', null, 'rating', 'key:1', 10],
            [10, 20, 'user:7', 'dashboard', 'looked again', 'rating', 'user:7', 20],
            [20, null, 'key:1', 'api', null, 'delete', 'key:1', null],
          ],
        );
        assert.deepEqual((await s.store.requests.get(ws.id, id))?.scores, {});
      } finally {
        await s.close();
      }
    });
  });
}

describe('store [postgres]: write order across instances', { skip: !BACKENDS.includes('postgres') }, () => {
  it('a write transaction that began later commits later, so the history feed never shows event N+1 before N', async () => {
    const loc = await freshLocation('postgres');
    const opts = { databaseUrl: loc.databaseUrl, dataDir: loc.dataDir };
    const [a, b, reader] = await Promise.all([openStore(opts), openStore(opts), openStore(opts)]);
    let release = () => {};
    try {
      const ws = await a.workspaces.create('w');
      const [r1, r2] = [await a.write((w) => w.run({ op: 'insertRequest', workspaceId: ws.id, request: request(), actor })), await a.write((w) => w.run({ op: 'insertRequest', workspaceId: ws.id, request: request(), actor }))];
      const gate = new Promise<void>((r) => (release = r));
      let firstWrote!: () => void;
      const wrote = new Promise<void>((r) => (firstWrote = r));
      const first = a.write(async (w) => {
        await w.run({ op: 'setScore', workspaceId: ws.id, requestId: r1, name: 'q', value: 1, actor });
        firstWrote();
        await gate;
      });
      await wrote;
      let secondDone = false;
      const second = b.write((w) => w.run({ op: 'setScore', workspaceId: ws.id, requestId: r2, name: 'q', value: 2, actor })).then(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 300));
      // Another instance's write waits for the open one instead of committing a higher event id first.
      assert.equal(secondDone, false);
      assert.deepEqual(await reader.scores.events(ws.id, { afterId: 0, limit: 10 }), []);
      release();
      await Promise.all([first, second]);
      const events = await reader.scores.events(ws.id, { afterId: 0, limit: 10 });
      assert.deepEqual(events.map((e) => [e.requestId, e.newValue]), [[r1, 1], [r2, 2]]);
      assert.ok(events[0]!.id < events[1]!.id);
    } finally {
      // Never leave the first transaction open, or closing its pool would wait for ever.
      release();
      await Promise.all([a.close(), b.close(), reader.close()]);
      await loc.drop();
    }
  });
});
