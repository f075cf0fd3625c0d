import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromLogRequest } from '../src/domain/request-shape.js';
import { parseSort, type RequestFilter } from '../src/domain/search-query.js';
import type { LogRequestBody } from '../src/schemas/promptlayer.js';
import type { Store } from '../src/store/store.js';
import { BACKENDS, freshStore } from './helpers/backends.js';
import { logBody } from './helpers/test-app.js';

/**
 * A page's tags, metadata, scores and groups are read by one range of request ids when the page's
 * ids lie close together (search.ts detailsOf), else by the ids themselves. Either way each request
 * shows its own details only, never those of requests in between that are not on the page: other
 * workspaces' requests or ones the filter left out.
 */

const N = 60;

interface Expected {
  tags: string[];
  metadata: Record<string, string>;
  scores: Record<string, number>;
  groupIds: number[];
}

for (const backend of BACKENDS) {
  describe(`details of a page of requests [${backend}]`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let alpha: number;
    const expected = new Map<number, Expected>();
    before(async () => {
      const fresh = await freshStore(backend);
      store = fresh.store;
      close = fresh.close;
      alpha = (await store.workspaces.create('alpha')).id;
      const beta = (await store.workspaces.create('beta')).id;
      await store.write(async (w) => {
        // Beta logs between every other pair of alpha's, so alpha's ids interleave with beta's.
        for (let i = 0; i < N; i++) {
          for (const ws of i % 2 === 1 ? [alpha, beta] : [alpha]) {
            const body = logBody({ tags: [`t${i}`, ws === alpha ? 'alpha' : 'beta', ...(i % 10 === 0 ? ['tenth'] : [])], metadata: { i: String(i), ws: String(ws) }, request_start_time: 1_732_700_000 + i });
            const id = await w.run({ op: 'insertRequest', workspaceId: ws, request: fromLogRequest(body as LogRequestBody), actor: { id: 'test', source: 'api' } });
            const scores = { q: (i * 37) % 101, [`only${i % 4}`]: i };
            for (const [name, value] of Object.entries(scores)) await w.run({ op: 'setScore', workspaceId: ws, requestId: id, name, value, actor: { id: 'test', source: 'api' } });
            const groupIds: number[] = [];
            if (i % 5 === 0) {
              const g = await w.run({ op: 'createGroup', workspaceId: ws });
              await w.run({ op: 'addToGroup', workspaceId: ws, requestId: id, groupId: g });
              groupIds.push(g);
            }
            if (ws === alpha) expected.set(id, { tags: [`t${i}`, 'alpha', ...(i % 10 === 0 ? ['tenth'] : [])].sort(), metadata: { i: String(i), ws: String(ws) }, scores, groupIds });
          }
        }
      });
    });
    after(() => close());

    const check = async (filter: RequestFilter | null, sortBy: string | undefined, want: number) => {
      const sort = parseSort(sortBy, 'desc');
      const seen = new Set<number>();
      let position = null;
      do {
        const page = await store.requests.searchContents(alpha, { filter, sort, after: position, limit: 7 });
        for (const r of page.items) {
          const e = expected.get(r.id);
          assert.ok(e, `request ${r.id} is not alpha's`);
          assert.deepEqual([...r.tags].sort(), e.tags, `tags of ${r.id}`);
          assert.deepEqual(r.metadata, e.metadata, `metadata of ${r.id}`);
          assert.deepEqual(r.scores, e.scores, `scores of ${r.id}`);
          assert.deepEqual(r.groupIds, e.groupIds, `groups of ${r.id}`);
          seen.add(r.id);
        }
        position = page.next;
      } while (position !== null);
      assert.equal(seen.size, want);
    };

    it("shows each request's own details when the page's ids interleave with another workspace's", () => check(null, undefined, N));
    it('... and with requests the filter left out', () => check({ kind: 'tags', match: 'none', tags: ['tenth'] }, undefined, N - N / 10));
    it("... and when the filter leaves the page's ids far apart", () => check({ kind: 'tags', match: 'all', tags: ['tenth'] }, undefined, N / 10));
    it('... and when the page is in score order, its ids far apart', () => check(null, 'score.q', N));
  });
}
