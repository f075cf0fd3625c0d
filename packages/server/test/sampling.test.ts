import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admitsLater, checkSample, sample } from '../src/domain/sampling.js';
import { TallyError } from '../src/domain/errors.js';

interface Item {
  id: number;
  model: string;
}

/** 1000 requests: 700 of model a, 250 of b, 50 of c. */
const ITEMS: Item[] = Array.from({ length: 1000 }, (_, i) => ({ id: i + 1, model: i < 700 ? 'a' : i < 950 ? 'b' : 'c' }));
const ids = (items: readonly Item[]) => items.map((i) => i.id);
const countBy = (items: readonly Item[]) => items.reduce<Record<string, number>>((acc, i) => ({ ...acc, [i.model]: (acc[i.model] ?? 0) + 1 }), {});
const shuffled = (items: readonly Item[]) => [...items].sort((x, y) => ((x.id * 7919) % 1009) - ((y.id * 7919) % 1009));

describe('samples for review queues', () => {
  it('draws the same sample from the same seed, whatever order the items come in', () => {
    const one = sample(ITEMS, { count: 50, seed: 42 }, (i) => i.id);
    const again = sample(shuffled(ITEMS), { count: 50, seed: 42 }, (i) => i.id);
    assert.equal(one.length, 50);
    assert.deepEqual(ids(again), ids(one));
    const other = sample(ITEMS, { count: 50, seed: 43 }, (i) => i.id);
    assert.ok(ids(other).filter((id) => ids(one).includes(id)).length < 25, 'another seed draws another sample');
    assert.notDeepEqual(ids(one), ids(ITEMS.slice(0, 50)), 'not the first 50');
  });

  it('keeps a ratio of the items, near the share of each model without stratifying', () => {
    const picked = sample(ITEMS, { ratio: 0.2, seed: 1 }, (i) => i.id);
    assert.equal(picked.length, 200);
    assert.equal(new Set(ids(picked)).size, 200, 'no item twice');
  });

  it('gives each model its share when stratified by count', () => {
    const picked = sample(ITEMS, { count: 100, seed: 9, by: 'model' }, (i) => i.id, (i) => i.model);
    assert.deepEqual(countBy(picked), { a: 70, b: 25, c: 5 });
    // Shares of 11: 7.7, 2.75, 0.55 -> floors 7, 2, 0; the two left go to the largest remainders,
    // b (0.75) and a (0.7), so c (0.55) gets none.
    assert.deepEqual(countBy(sample(ITEMS, { count: 11, seed: 9, by: 'model' }, (i) => i.id, (i) => i.model)), { a: 8, b: 3 });
    assert.deepEqual(
      ids(sample(shuffled(ITEMS), { count: 100, seed: 9, by: 'model' }, (i) => i.id, (i) => i.model)),
      ids(picked),
      'stratified samples reproduce too',
    );
  });

  it('gives each model its share, and a small model at least one, when stratified by ratio', () => {
    const picked = sample(ITEMS, { ratio: 0.1, seed: 5, by: 'model' }, (i) => i.id, (i) => i.model);
    assert.deepEqual(countBy(picked), { a: 70, b: 25, c: 5 });
    const tiny = sample(ITEMS, { ratio: 0.001, seed: 5, by: 'model' }, (i) => i.id, (i) => i.model);
    assert.deepEqual(countBy(tiny), { a: 1, b: 1, c: 1 });
  });

  it('admits later items by the same rule: the ratio by keyed number, the count while there is room', () => {
    const spec = { ratio: 0.25, seed: 3 } as const;
    const admitted = ITEMS.filter((i) => admitsLater(spec, i.id, 0)).length;
    assert.ok(admitted > 200 && admitted < 300, `about a quarter admitted: ${admitted}`);
    assert.equal(admitsLater({ count: 10, seed: 3 }, 99, 9), true);
    assert.equal(admitsLater({ count: 10, seed: 3 }, 99, 10), false);
  });

  it('refuses a sample with both or neither of count and ratio, naming the field', () => {
    const refused = (value: Parameters<typeof checkSample>[0], field: string) => {
      assert.throws(() => checkSample(value, 'sample', 1), (e: unknown) => e instanceof TallyError && e.field === field);
    };
    refused({ count: 5, ratio: 0.5 }, 'sample');
    refused({}, 'sample');
    refused({ count: 0 }, 'sample.count');
    refused({ count: 2.5 }, 'sample.count');
    refused({ ratio: 0 }, 'sample.ratio');
    refused({ ratio: 1.5 }, 'sample.ratio');
    refused({ ratio: 0.5, seed: 1.5 }, 'sample.seed');
    assert.deepEqual(checkSample({ ratio: 0.5 }, 'sample', 77), { ratio: 0.5, seed: 77, by: undefined });
  });
});
