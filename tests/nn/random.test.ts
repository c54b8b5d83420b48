/**
 * PRNG keys: Threefry-2x32 known answers, purity and determinism, split and
 * foldIn give distinct streams, distributions have the right moments.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { random } from '../../src/nn/index.js';

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

describe('random', () => {
  it('threefry2x32 matches the Random123 known-answer vectors', () => {
    expect(random.threefry2x32(0, 0, 0, 0)).toEqual([0x6b200159, 0x99ba4efe]);
    expect(random.threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)).toEqual([0x1cb996fc, 0xbb002be7]);
    expect(random.threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)).toEqual([0xc4923a9c, 0x483df7a0]);
  });

  it('keys are frozen values; the same key gives the same numbers', () => {
    const k = random.key(42);
    expect(Object.isFrozen(k)).toBe(true);
    expect(Array.from(random.uniform(k, [5]).dataSync())).toEqual(Array.from(random.uniform(random.key(42), [5]).dataSync()));
    expect(Array.from(random.normal(k, [7]).dataSync())).toEqual(Array.from(random.normal(k, [7]).dataSync()));
    // a fixed value pins the stream across runs and versions
    expect(random.randomBits(random.key(0), 2)).toEqual(new Uint32Array([0x6b200159, 0x99ba4efe]));
  });

  it('split and foldIn give distinct keys, different from the parent stream', () => {
    const k = random.key(7);
    const ks = random.split(k, 4);
    const words = new Set([k, ...ks, random.foldIn(k, 0), random.foldIn(k, 1)].map((x) => `${x.k0},${x.k1}`));
    expect(words.size).toBe(7);
    expect(random.split(k, 4)).toEqual(ks);
    const a = random.uniform(ks[0]!, [100]).dataSync();
    const b = random.uniform(ks[1]!, [100]).dataSync();
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('uniform lies in [min, max) with the right mean; normal has mean 0 and std 1', () => {
    const u = random.uniform(random.key(1), [20000], { minval: -2, maxval: 3 }).dataSync();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.05);
    const z = random.normal(random.key(2), [20000], { dtype: 'f64' }).dataSync();
    const m = mean(z);
    const sd = Math.sqrt(mean(Array.from(z, (v) => (v - m) ** 2)));
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it('bernoulli has rate p; permutation is a permutation; categorical follows the probabilities', () => {
    const b = random.bernoulli(random.key(3), 0.3, [10000]).dataSync();
    expect(Math.abs(mean(b) - 0.3)).toBeLessThan(0.02);
    const p = Array.from(random.permutation(random.key(4), 50).dataSync());
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    // each class count is Binomial(n, p_c): its frequency lies within 5 standard deviations,
    // 5·sqrt(p(1 − p)/n) (about 0.006 for p = 0.1 at n = 60,000; a correct sampler leaves it
    // with probability under 1e-6, and the key is fixed); a sampler 6% off in any class fails
    const probs = [0.1, 0.6, 0.3];
    const n = 60_000;
    const logits = ct.broadcastTo(ct.log(ct.tensor(probs)), [n, 3]);
    const s = random.categorical(random.key(5), logits).dataSync();
    expect(s.length).toBe(n);
    const counts = [0, 0, 0];
    for (const c of s) counts[c]!++;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
    probs.forEach((p, c) => {
      expect(Math.abs(counts[c]! / n - p), `class ${c}: frequency ${counts[c]! / n}, p = ${p}`).toBeLessThan(
        5 * Math.sqrt((p * (1 - p)) / n),
      );
    });
  });

  it('rejects bad inputs with clear errors', () => {
    expect(() => random.key(1.5)).toThrow(/random.key: seed must be a safe integer/);
    expect(() => random.uniform({} as never, [2])).toThrow(/expected a PRNG key/);
    expect(() => random.bernoulli(random.key(0), 2, [2])).toThrow(/p must be in \[0, 1\]/);
  });
});
