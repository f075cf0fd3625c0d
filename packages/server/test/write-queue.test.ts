import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TallyError, notFound } from '../src/domain/errors.js';
import { WriteQueue } from '../src/ingest/write-queue.js';
import type { Store } from '../src/store/store.js';
import { groupCommit, refusal, type BatchWriter } from '../src/store/group-commit.js';
import type { Outcome, WriteCommand } from '../src/store/write-commands.js';

/**
 * A store whose transactions record what they committed, and can be held open. Its
 * createGroup(n) records n and gives n; addToGroup always fails its checks like a missing
 * request (a TallyError, nothing written); setMetadata always fails like a database error.
 */
function fakeStore() {
  const committed: number[][] = [];
  let gate: Promise<void> = Promise.resolve();
  let release = () => {};
  const run = (c: WriteCommand, tx: number[]): unknown => {
    if (c.op === 'createGroup') return tx.push(c.workspaceId), c.workspaceId;
    if (c.op === 'addToGroup') throw notFound('request_id', 'request');
    throw new Error('UNIQUE constraint failed');
  };
  const writer: BatchWriter = {
    async commit(batch) {
      await gate;
      const tx: number[] = [];
      const out = batch.map((c): Outcome => {
        try {
          return { ok: true, value: run(c, tx) };
        } catch (error) {
          return refusal(error);
        }
      });
      committed.push(tx);
      return out;
    },
  };
  const store = { writeBatch: (batch: readonly WriteCommand[]) => groupCommit(writer, batch) } as unknown as Store;
  return {
    store,
    committed,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
  };
}

const job = (n: number) => ({ op: 'createGroup' as const, workspaceId: n });
const refusedJob = { op: 'addToGroup' as const, workspaceId: 1, requestId: 1, groupId: 1 };
const failingJob = { op: 'setMetadata' as const, workspaceId: 1, requestId: 1, metadata: {} };
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('write queue', () => {
  it('commits writes that arrive together in one transaction and answers each after the commit', async () => {
    const f = fakeStore();
    const q = new WriteQueue(f.store, { maxBatch: 100, maxPending: 1000 });
    const results = await Promise.all(range(50).map((i) => q.submit(job(i))));
    assert.deepEqual(results, range(50));
    assert.equal(f.committed.length, 1);
    assert.equal(f.committed[0]!.length, 50);
  });

  it('bounds a batch by maxBatch', async () => {
    const f = fakeStore();
    const q = new WriteQueue(f.store, { maxBatch: 8, maxPending: 1000 });
    await Promise.all(range(20).map((i) => q.submit(job(i))));
    assert.deepEqual(f.committed.map((t) => t.length), [8, 8, 4]);
  });

  it('fails only a write its checks refuse; its neighbours commit in the same transaction', async () => {
    const f = fakeStore();
    const q = new WriteQueue(f.store, { maxBatch: 100, maxPending: 1000 });
    const outcomes = await Promise.allSettled([q.submit(job(1)), q.submit(refusedJob), q.submit(job(3))]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(((outcomes[1] as PromiseRejectedResult).reason as TallyError).code, 'not_found');
    assert.deepEqual(f.committed, [[1, 3]]);
  });

  it('after any other failure the batch rolls back and each write runs alone, so only the bad one fails', async () => {
    const f = fakeStore();
    const q = new WriteQueue(f.store, { maxBatch: 100, maxPending: 1000 });
    const outcomes = await Promise.allSettled([q.submit(job(1)), q.submit(failingJob), q.submit(job(3))]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /UNIQUE constraint/);
    // The failed transaction left nothing behind (the fake records only what committed).
    assert.deepEqual(f.committed, [[1], [3]]);
  });

  it('hands the store one batch at a time, in order, and hands over what arrived meanwhile before answering the committed batch', async () => {
    const events: string[] = [];
    let inStore = 0;
    let most = 0;
    // Each batch commits when the test says so.
    let commit = () => {};
    const store = {
      async writeBatch(batch: readonly WriteCommand[]) {
        events.push(`handed ${batch.map((c) => c.workspaceId).join(',')}`);
        most = Math.max(most, ++inStore);
        await new Promise<void>((r) => (commit = r));
        inStore--;
        return batch.map((c) => ({ ok: true, value: c.workspaceId }));
      },
    } as unknown as Store;
    const q = new WriteQueue(store, { maxBatch: 100, maxPending: 1000 });
    const turn = () => new Promise((r) => setImmediate(r));
    const submit = (n: number) => q.submit(job(n)).then((v) => (events.push(`answered ${v}`), v));
    const first = [submit(1), submit(2)];
    await turn();
    // [1, 2] is with the store; these wait for it and go together the moment it has committed.
    const second = range(3).map((i) => submit(2 + i));
    await turn();
    const third = [submit(6)];
    await turn();
    assert.deepEqual(events, ['handed 1,2']);
    commit();
    await turn();
    commit();
    assert.deepEqual(await Promise.all([...first, ...second, ...third]), [1, 2, 3, 4, 5, 6]);
    assert.equal(most, 1);
    assert.deepEqual(events, ['handed 1,2', 'handed 3,4,5,6', 'answered 1', 'answered 2', 'answered 3', 'answered 4', 'answered 5', 'answered 6']);
  });

  it('hands over the next batch after a batch the store could not run at all, and fails only that batch', async () => {
    const handed: number[][] = [];
    let calls = 0;
    const store = {
      async writeBatch(batch: readonly WriteCommand[]) {
        handed.push(batch.map((c) => c.workspaceId));
        await new Promise((r) => setTimeout(r, 10));
        if (++calls === 1) throw new Error('database is down');
        return batch.map((c) => ({ ok: true, value: c.workspaceId }));
      },
    } as unknown as Store;
    const q = new WriteQueue(store, { maxBatch: 100, maxPending: 1000 });
    const first = [q.submit(job(1)), q.submit(job(2))];
    await new Promise((r) => setImmediate(r));
    const second = [q.submit(job(3))];
    const outcomes = await Promise.allSettled([...first, ...second]);
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'fulfilled']);
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /database is down/);
    assert.deepEqual(handed, [[1, 2], [3]]);
  });

  it('refuses with 503 and Retry-After when the queue is full, instead of growing', async () => {
    const f = fakeStore();
    f.hold();
    const q = new WriteQueue(f.store, { maxBatch: 2, maxPending: 3 });
    const accepted = [q.submit(job(1)), q.submit(job(2)), q.submit(job(3))];
    await new Promise((r) => setImmediate(r));
    // [1, 2] is with the store and 3 waits: room for 2 more.
    accepted.push(q.submit(job(4)), q.submit(job(5)));
    await assert.rejects(q.submit(job(6)), (err: unknown) => err instanceof TallyError && err.status === 503 && err.retryAfter === 1);
    f.release();
    assert.deepEqual(await Promise.all(accepted), [1, 2, 3, 4, 5]);
  });

  it('close() commits what is queued and then refuses new writes', async () => {
    const f = fakeStore();
    f.hold();
    const q = new WriteQueue(f.store, { maxBatch: 100, maxPending: 100 });
    const pending = [q.submit(job(7)), q.submit(job(8))];
    const closed = q.close();
    f.release();
    await closed;
    assert.deepEqual(await Promise.all(pending), [7, 8]);
    await assert.rejects(q.submit(job(9)), (err: unknown) => err instanceof TallyError && err.status === 503);
  });
});
