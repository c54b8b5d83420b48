/**
 * A seeded generator of uniform numbers in [0, 1) (mulberry32): small, fast and
 * the same sequence everywhere, for reproducible data (the addition model's
 * problems, the law kit's cases, the benchmarks' operands). Not for tensors'
 * random initialisation, which draws from `nn.random` keys.
 */

/** A generator of uniform numbers in [0, 1) seeded with `seed` (mulberry32; the seed is taken as a uint32). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
