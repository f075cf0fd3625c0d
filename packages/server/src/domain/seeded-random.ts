/**
 * Deterministic randomness for the parts of Tally whose results must be reproducible from a seed:
 * review-queue samples and the bootstrap interval of an agreement coefficient. Pure arithmetic on
 * 32-bit integers, so every platform and both backends give the same numbers.
 */

/** A seed: any integer; only its low 32 bits count. */
export type Seed = number;

/** murmur3's 32-bit finaliser: spreads every input bit over every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A number in [0, 1) that depends only on `seed` and `key`: the same pair always gives the same
 * number, and different keys give numbers that look independent. A sample keeps the keys with the
 * lowest numbers, so it does not depend on the order the keys arrive in, and a key added later is
 * judged by the same rule as those before it.
 */
export function keyedUniform(seed: Seed, key: string | number): number {
  const text = String(key);
  // FNV-1a over the UTF-16 code units, started from the seed, then finalised.
  let h = (0x811c9dc5 ^ fmix32(seed >>> 0)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h ^ text.length) / 4294967296;
}

/**
 * A seeded generator of numbers in [0, 1) (mulberry32: 32 bits of state, passes the usual
 * statistical batteries for this use, and is a few lines).
 */
export function seededUniform(seed: Seed): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
