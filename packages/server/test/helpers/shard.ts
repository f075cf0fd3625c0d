/**
 * The share of a long list of cases this test process runs. scripts/run-tests.mjs runs the files
 * package.json lists under "shards" as several processes, each with TALLY_TEST_SHARD=k/n, so a
 * file that walks every route ends with the others instead of alone; unset, a process runs all.
 */
export function shardOf<T>(items: T[]): T[] {
  const spec = process.env.TALLY_TEST_SHARD;
  if (spec === undefined || spec === '') return items;
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const k = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || n < 1 || k < 1 || k > n) throw new Error(`TALLY_TEST_SHARD must be k/n with 1 <= k <= n, not ${spec}`);
  return items.filter((_, i) => i % n === k - 1);
}

/** The shard, for a test's name: ` shard k/n`, or nothing when the process runs all. */
export const shardLabel = (): string => (process.env.TALLY_TEST_SHARD ? ` shard ${process.env.TALLY_TEST_SHARD}` : '');
