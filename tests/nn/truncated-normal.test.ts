/**
 * random.truncatedNormal and the initialisers built on it: the bounds hold,
 * the moments and the distribution (Kolmogorov–Smirnov) match the truncated
 * normal's theory, a key gives the same numbers every time and different keys
 * different ones, and the variance-scaling initialisers have the variance
 * they promise and are usable by name in layers and specs.
 */
import { describe, expect, it } from 'vitest';
import { dense, fromSpec, initializers, random } from '../../src/nn/index.js';

/** The standard normal density. */
const phi = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);

/** Φ(b) − Φ(a) by composite Simpson integration of the density (written independently of the library's CDF). */
function mass(a: number, b: number): number {
  const lo = Math.max(a, -12);
  const hi = Math.min(b, 12);
  if (!(hi > lo)) return 0;
  const n = 4000;
  const h = (hi - lo) / n;
  let s = phi(lo) + phi(hi);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * phi(lo + i * h);
  return (s * h) / 3;
}

/** Mean and variance of a standard normal truncated to [a, b]. */
function theory(a: number, b: number): { mean: number; variance: number } {
  const z = mass(a, b);
  const pa = Number.isFinite(a) ? phi(a) : 0;
  const pb = Number.isFinite(b) ? phi(b) : 0;
  const mean = (pa - pb) / z;
  const ta = Number.isFinite(a) ? a * pa : 0;
  const tb = Number.isFinite(b) ? b * pb : 0;
  return { mean, variance: 1 + (ta - tb) / z - mean * mean };
}

const moments = (x: ArrayLike<number>) => {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i]!;
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - m) ** 2;
  return { mean: m, variance: v / (n - 1) };
};

describe('random.truncatedNormal', () => {
  const cases: [number, number][] = [
    [-2, 2],
    [0.5, 3],
    [-1, 0],
    [3, 5],
    [-Infinity, 1],
  ];
  for (const [lower, upper] of cases) {
    it(`on [${lower}, ${upper}]: inside the bounds, mean and variance as in theory, KS distance small`, () => {
      const n = 20000;
      const x = random.truncatedNormal(random.key(11), [n], { lower, upper, dtype: 'f64' }).dataSync();
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of x) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expect(lo).toBeGreaterThanOrEqual(lower);
      expect(hi).toBeLessThanOrEqual(upper);
      const t = theory(lower, upper);
      const m = moments(x);
      // 5 standard errors of the sample mean; the variance within 8% (a plain normal is off by far more on these intervals)
      expect(Math.abs(m.mean - t.mean)).toBeLessThan(5 * Math.sqrt(t.variance / n));
      expect(Math.abs(m.variance / t.variance - 1)).toBeLessThan(0.08);
      // Kolmogorov–Smirnov against the truncated CDF at 200 points (1.63/√n is the 1% critical value)
      const sorted = Float64Array.from(x).sort();
      const total = mass(lower, upper);
      const a = Number.isFinite(lower) ? lower : -8;
      let d = 0;
      for (let i = 1; i < 200; i++) {
        const q = a + ((upper - a) * i) / 200;
        let below = 0;
        while (below < n && sorted[below]! <= q) below++;
        d = Math.max(d, Math.abs(below / n - mass(lower, q) / total));
      }
      expect(d).toBeLessThan(1.63 / Math.sqrt(n));
    });
  }

  it('the default [-2, 2] has standard deviation 0.87962566103423978; mean and std shift and scale it', () => {
    expect(Math.sqrt(theory(-2, 2).variance)).toBeCloseTo(initializers.TRUNCATED_NORMAL_STD, 6);
    const n = 20000;
    const x = random.truncatedNormal(random.key(3), [n], { mean: 5, std: 0.5 }).dataSync();
    expect(x.length).toBe(n);
    expect(Math.min(...Array.from(x))).toBeGreaterThanOrEqual(Math.fround(4));
    expect(Math.max(...Array.from(x))).toBeLessThanOrEqual(Math.fround(6));
    const m = moments(x);
    expect(Math.abs(m.mean - 5)).toBeLessThan(0.02);
    expect(Math.sqrt(m.variance)).toBeCloseTo(0.5 * 0.87962566103423978, 2);
  });

  it('is deterministic per key, differs across keys, f32 by default, f64 on request', () => {
    const k = random.key(42);
    const a = random.truncatedNormal(k, [3, 4]);
    expect(a.shape).toEqual([3, 4]);
    expect(a.dtype).toBe('f32');
    expect(Array.from(random.truncatedNormal(random.key(42), [3, 4]).dataSync())).toEqual(Array.from(a.dataSync()));
    const [k1, k2] = random.split(k);
    const b = random.truncatedNormal(k1!, [50]).dataSync();
    const c = random.truncatedNormal(k2!, [50]).dataSync();
    expect(Array.from(b)).not.toEqual(Array.from(c));
    expect(random.truncatedNormal(k, [2], { dtype: 'f64' }).dtype).toBe('f64');
  });

  it('tails: inside the bounds; [8, 9] as in theory, [40, 41] and [-41, -40] at the exponential limit ±(40 + 1/40)', () => {
    const tail = (lower: number, upper: number) => random.truncatedNormal(random.key(5), [4000], { lower, upper, dtype: 'f64' }).dataSync();
    const range = (x: ArrayLike<number>) => [Math.min(...Array.from(x)), Math.max(...Array.from(x))];
    const a = tail(8, 9);
    expect(range(a)[0]).toBeGreaterThanOrEqual(8);
    expect(range(a)[1]).toBeLessThanOrEqual(9);
    const t = theory(8, 9);
    expect(Math.abs(moments(a).mean - t.mean)).toBeLessThan(5 * Math.sqrt(t.variance / 4000));
    const b = tail(40, 41);
    const c = tail(-41, -40);
    expect(range(b)[0]).toBeGreaterThanOrEqual(40);
    expect(range(c)[1]).toBeLessThanOrEqual(-40);
    // the truncated normal far out is 40 + Exp(rate 40) to within 2/40³: mean 40.025, standard deviation 0.025
    expect(Math.abs(moments(b).mean - 40.025)).toBeLessThan(5 * (0.025 / Math.sqrt(4000)) + 1e-4);
    expect(Array.from(c)).toEqual(Array.from(b, (v) => -v));
  });

  it('bad options are errors naming random.truncatedNormal', () => {
    const k = random.key(0);
    expect(() => random.truncatedNormal(k, [2], { lower: 1, upper: 1 })).toThrow(/random\.truncatedNormal: lower must be below upper/);
    expect(() => random.truncatedNormal(k, [2], { std: -1 })).toThrow(/random\.truncatedNormal: std must be/);
    expect(() => random.truncatedNormal(k, [2], { dtype: 'i32' })).toThrow(/random\.truncatedNormal: dtype must be f32 or f64/);
  });

  it('normalQuantile inverts normalCdf across both tails', () => {
    for (const p of [1e-300, 1e-20, 1e-6, 0.01, 0.3, 0.5, 0.8, 0.999, 1 - 1e-9]) {
      const x = random.normalQuantile(p);
      const back = p > 0.5 ? 1 - random.normalCdf(-x) : random.normalCdf(x);
      expect(Math.abs(back - p) / Math.min(p, 1 - p)).toBeLessThan(1e-9);
    }
    expect(random.normalCdf(-2)).toBeCloseTo(mass(-Infinity, -2), 10);
  });
});

describe('truncated-normal initialisers', () => {
  const fanIn = 200;
  const fanOut = 100;
  const shape = [fanOut, fanIn];
  const n = fanIn * fanOut;
  const cases: [string, initializers.Initializer, number, number][] = [
    ['lecunNormal', initializers.lecunNormal, 1 / fanIn, 2],
    ['heTruncatedNormal', initializers.heTruncatedNormal, 2 / fanIn, 2],
    ['glorotTruncatedNormal', initializers.glorotTruncatedNormal, 2 / (fanIn + fanOut), 2],
    ['varianceScaling(3, fanOut, truncatedNormal)', initializers.varianceScaling(3, 'fanOut', 'truncatedNormal'), 3 / fanOut, 2],
    ['lecunUniform', initializers.lecunUniform, 1 / fanIn, Math.sqrt(3)],
    ['varianceScaling(2, fanAvg, normal)', initializers.varianceScaling(2, 'fanAvg', 'normal'), 4 / (fanIn + fanOut), Infinity],
  ];
  for (const [name, init, variance, bound] of cases) {
    it(`${name} has variance ${variance.toPrecision(3)} and stays within its bound`, () => {
      const w = init(random.key(9), shape, fanIn, fanOut).dataSync();
      expect(w.length).toBe(n);
      const m = moments(w);
      expect(Math.abs(m.mean)).toBeLessThan(5 * Math.sqrt(variance / n));
      expect(Math.abs(m.variance / variance - 1)).toBeLessThan(0.04);
      // truncated at two standard deviations of the untruncated normal: √variance / 0.8796 · 2
      const limit = bound === 2 ? (2 * Math.sqrt(variance)) / initializers.TRUNCATED_NORMAL_STD : bound * Math.sqrt(variance);
      expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(limit * (1 + 1e-6));
    });
  }

  it('truncatedNormal(std) is std times the [-2, 2] truncation, whatever the fans', () => {
    const w = initializers.truncatedNormal(0.1)(random.key(2), [20000], 7, 3);
    const z = random.truncatedNormal(random.key(2), [20000], { std: 0.1 });
    expect(Array.from(w.dataSync())).toEqual(Array.from(z.dataSync()));
    expect(Math.max(...Array.from(w.dataSync(), Math.abs))).toBeLessThanOrEqual(Math.fround(0.2));
    expect(Math.sqrt(moments(w.dataSync()).variance)).toBeCloseTo(0.1 * 0.8796, 2);
  });

  it('are usable by name in layers and specs', () => {
    const layer = dense(64, { kernelInit: 'lecunNormal', biasInit: 'truncatedNormal' });
    const { params } = layer.init(random.key(1), [-1, 50]);
    const w = params.W.dataSync();
    expect(Math.abs(moments(w).variance * 50 - 1)).toBeLessThan(0.15);
    expect(Math.max(...Array.from(params.b.dataSync(), Math.abs))).toBeLessThanOrEqual(Math.fround(0.02));
    const rebuilt = fromSpec(layer.spec);
    const again = rebuilt.init(random.key(1), [-1, 50]).params as typeof params;
    expect(Array.from(again.W.dataSync())).toEqual(Array.from(w));
    expect(() => initializers.varianceScaling(0, 'fanIn', 'normal')).toThrow(/varianceScaling: scale must be positive/);
  });
});
