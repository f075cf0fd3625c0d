import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TallyError, notFound } from '../src/domain/errors.js';
import { WriteQueue } from '../src/ingest/write-queue.js';
import type { Store, StoreWriter } from '../src/store/store.js';

/** A store whose transactions record what they committed, and can be held open. */
function fakeStore() {
  const committed: string[][] = [];
  let gate: Promise<void> = Promise.resolve();
  let release = () => {};
  const store = {
    async write<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T> {
      await gate;
      const tx: string[] = [];
      const writer = { tx } as unknown as StoreWriter;
      const result = await fn(writer);
      committed.push(tx);
      return result;
    },
  } as unknown as Store;
  return {
    store,
    committed,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
  };
}

const job = (name: string, fail = false) => async (w: StoreWriter) => {
  if (fail) throw notFound('request_id', 'request');
  (w as unknown as { tx: string[] }).tx.push(name);
  return name;
};

describe('write queue', () => {
  it('commits writes that arrive together in one transaction and answers each after the commit', async () => {
    const f = fakeStore();
    const q = new WriteQueue(f.store, { maxBatch: 100, maxPending: 1000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => q.submit(job(`w${i}`))));
    assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => `w${i}`));
    assert.equal(f.committed.length, 1);
    assert.equal(f.committed[0]!.length, 50);
  });

  it('bounds a batch by maxBatch', async () => {
    const f = fakeStore();
    const q = new WriteQueue(f.store, { maxBatch: 8, maxPending: 1000 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => q.submit(job(`w${i}`))));
    assert.deepEqual(f.committed.map((t) => t.length), [8, 8, 4]);
  });

  it('fails only the bad write of a batch; its neighbours commit', async () => {
    const f = fakeStore();
    const q = new WriteQueue(f.store, { maxBatch: 100, maxPending: 1000 });
    const outcomes = await Promise.allSettled([q.submit(job('a')), q.submit(job('bad', true)), q.submit(job('c'))]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(((outcomes[1] as PromiseRejectedResult).reason as TallyError).code, 'not_found');
    assert.deepEqual(f.committed.flat().sort(), ['a', 'c']);
  });

  it('refuses with 503 and Retry-After when the queue is full, instead of growing', async () => {
    const f = fakeStore();
    f.hold();
    const q = new WriteQueue(f.store, { maxBatch: 2, maxPending: 3 });
    const accepted = [q.submit(job('1')), q.submit(job('2')), q.submit(job('3'))];
    await new Promise((r) => setImmediate(r));
    // The first batch of 2 is in flight; 1 waits; room for 2 more.
    accepted.push(q.submit(job('4')), q.submit(job('5')));
    await assert.rejects(q.submit(job('6')), (err: unknown) => err instanceof TallyError && err.status === 503 && err.retryAfter === 1);
    f.release();
    assert.deepEqual(await Promise.all(accepted), ['1', '2', '3', '4', '5']);
  });

  it('close() commits what is queued and then refuses new writes', async () => {
    const f = fakeStore();
    f.hold();
    const q = new WriteQueue(f.store, { maxBatch: 100, maxPending: 100 });
    const pending = [q.submit(job('x')), q.submit(job('y'))];
    const closed = q.close();
    f.release();
    await closed;
    assert.deepEqual(await Promise.all(pending), ['x', 'y']);
    await assert.rejects(q.submit(job('z')), (err: unknown) => err instanceof TallyError && err.status === 503);
  });
});
