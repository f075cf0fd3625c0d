/**
 * A small seeded generator (xorshift32) returning numbers in [0, 1), so a test's random inputs are
 * the same on every run and a failure can be replayed.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
