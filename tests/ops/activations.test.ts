/**
 * The special-function primitives and the activations built on them:
 * - silu and gelu (both forms) against their definitions written here as loops in f64;
 * - derivative conventions the law suites do not pin down: softplus'(0) = 1/2, logaddexp's
 *   partials at ties, at infinities and with broadcasting, and the derivatives of erf, erfc,
 *   log1p, expm1, silu and gelu against their closed forms;
 * - the f32 kernels (wasm, and the cpu backend in f32) against the f64 kernel rounded to f32, in
 *   f32 ulp over wide sweeps with their tails, plus the exact special values;
 * - clear errors for integer inputs.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { ShapeError } from '../../src/tensor/ShapeError.js';
import { erfRef } from './highPrecision.js';

beforeAll(async () => {
  await ct.init({ backend: 'wasm' });
});

const f64 = (xs: readonly number[]): ct.Tensor => ct.tensor(xs, { dtype: 'f64', backend: 'cpu' });
const read = (t: ct.Tensor): number[] => Array.from(t.dataSync());

/** Evenly spaced points over [lo, hi]. */
const linspace = (lo: number, hi: number, n: number): number[] => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const relErr = (got: number, want: number): number => (got === want ? 0 : Math.abs(got - want) / Math.max(Math.abs(want), 1e-300));

describe('silu and gelu equal their definitions', () => {
  const xs = [...linspace(-12, 12, 241), 0, -0, 1e-9, -1e-9];

  it('silu(x) = x · σ(x)', () => {
    const got = read(ct.silu(f64(xs)));
    xs.forEach((x, i) => {
      expect(relErr(got[i]!, x * sigmoid(x))).toBeLessThan(1e-15);
    });
  });

  it('gelu(x) = x · Φ(x) = 0.5 · x · (1 + erf(x / √2)) (exact form; Φ from the high-precision erf)', () => {
    const got = read(ct.gelu(f64(xs.filter((x) => x > -5))));
    xs.filter((x) => x > -5).forEach((x, i) => {
      const phi = 0.5 * (1 + erfRef(x / Math.SQRT2).erf);
      expect(Math.abs(got[i]! - x * phi)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(x)));
    });
  });

  it("gelu(x, { approximate: true }) is PyTorch's tanh formula", () => {
    const got = read(ct.gelu(f64(xs), { approximate: true }));
    xs.forEach((x, i) => {
      const want = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
      expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(x)));
    });
    // the two forms differ by at most about 5e-4 (the approximation error), and not by nothing
    const exact = read(ct.gelu(f64(xs)));
    const diff = Math.max(...xs.map((_, i) => Math.abs(exact[i]! - got[i]!)));
    expect(diff).toBeGreaterThan(1e-5);
    expect(diff).toBeLessThan(1e-3);
  });

  it('silu, gelu and the special functions refuse integer tensors with a ShapeError naming the op', () => {
    const i = ct.tensor([1, 2], { dtype: 'i32' });
    expect(() => ct.silu(i)).toThrow(ShapeError);
    expect(() => ct.gelu(i)).toThrow(/gelu/);
    for (const op of [ct.erf, ct.erfc, ct.log1p, ct.expm1, ct.softplus]) expect(() => op(i)).toThrow(ShapeError);
    expect(() => ct.logaddexp(i, i)).toThrow(/logaddexp/);
  });
});

describe('derivative conventions', () => {
  const grad1 = (f: (x: ct.Tensor) => ct.Tensor, xs: readonly number[]): number[] => read(ct.grad((x: ct.Tensor) => ct.sum(f(x)))(f64(xs)));

  it("softplus'(x) = σ(x), exactly 1/2 at 0, 1 and 0 at ±∞", () => {
    const xs = [0, -0, 1, -3, 40, -40, Infinity, -Infinity];
    const g = grad1(ct.softplus, xs);
    expect(g[0]).toBe(0.5);
    expect(g[1]).toBe(0.5);
    expect(g.slice(6)).toEqual([1, 0]);
    xs.slice(2, 6).forEach((x, i) => {
      expect(relErr(g[i + 2]!, sigmoid(x))).toBeLessThan(1e-15);
    });
  });

  it('logaddexp sends 1/2 to each argument at a tie, also at (−∞, −∞) and (∞, ∞), and all to the larger at an infinity', () => {
    const as = [1, -7.25, 0, -Infinity, Infinity, Infinity, -Infinity, 2];
    const bs = [1, -7.25, 0, -Infinity, Infinity, 3, 3, 1];
    const [ga, gb] = ct.grad((a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.logaddexp(a, b)), { argnums: [0, 1] })(f64(as), f64(bs));
    expect(read(ga).slice(0, 5)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(read(gb).slice(0, 5)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(read(ga).slice(5, 7)).toEqual([1, 0]);
    expect(read(gb).slice(5, 7)).toEqual([0, 1]);
    // e^(a − out) = σ(a − b) away from ties; the partials sum to 1
    expect(relErr(read(ga)[7]!, sigmoid(1))).toBeLessThan(1e-15);
    expect(relErr(read(gb)[7]!, sigmoid(-1))).toBeLessThan(1e-15);
    expect(read(ct.logaddexp(f64([-Infinity, Infinity]), f64([-Infinity, Infinity])))).toEqual([-Infinity, Infinity]);
  });

  it("the same conventions on wasm (f32): softplus'(0) = 1/2, logaddexp's 1/2 at ties and infinities", () => {
    const w = (v: number[]) => ct.tensor(v, { backend: 'wasm' });
    expect(read(ct.grad((x: ct.Tensor) => ct.sum(ct.softplus(x)))(w([0, -0])))).toEqual([0.5, 0.5]);
    const as = [1, -Infinity, Infinity, Infinity, -Infinity];
    const bs = [1, -Infinity, Infinity, 3, 3];
    const [ga, gb] = ct.grad((a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.logaddexp(a, b)), { argnums: [0, 1] })(w(as), w(bs));
    expect(read(ga)).toEqual([0.5, 0.5, 0.5, 1, 0]);
    expect(read(gb)).toEqual([0.5, 0.5, 0.5, 0, 1]);
  });

  it('logaddexp broadcasts and its cotangents are summed back to each input shape', () => {
    const a = ct.tensor([0.5, -1, 2], { dtype: 'f64', shape: [3] });
    const b = ct.tensor([0, 1, 2, 3, 4, 5], { dtype: 'f64', shape: [2, 3] });
    const [ga, gb] = ct.grad((x: ct.Tensor, y: ct.Tensor) => ct.sum(ct.logaddexp(x, y)), { argnums: [0, 1] })(a, b);
    expect(ga.shape).toEqual([3]);
    expect(gb.shape).toEqual([2, 3]);
    const av = [0.5, -1, 2];
    const bv = [0, 1, 2, 3, 4, 5];
    read(ga).forEach((g, j) => {
      expect(relErr(g, sigmoid(av[j]! - bv[j]!) + sigmoid(av[j]! - bv[j + 3]!))).toBeLessThan(1e-15);
    });
    read(gb).forEach((g, k) => {
      expect(relErr(g, sigmoid(bv[k]! - av[k % 3]!))).toBeLessThan(1e-15);
    });
  });

  it('erf, erfc, log1p, expm1, silu and gelu have their closed-form derivatives', () => {
    const xs = [-3, -1.5, -0.3, 0, 0.2, 1, 2.5];
    const c = 2 / Math.sqrt(Math.PI);
    const check = (f: (x: ct.Tensor) => ct.Tensor, d: (x: number) => number, pts = xs) =>
      grad1(f, pts).forEach((g, i) => {
        expect(Math.abs(g - d(pts[i]!))).toBeLessThanOrEqual(2e-16 * Math.max(1, Math.abs(d(pts[i]!))) * 4);
      });
    check(ct.erf, (x) => c * Math.exp(-x * x));
    check(ct.erfc, (x) => -c * Math.exp(-x * x));
    check(ct.log1p, (x) => 1 / (1 + x), [-0.9, -0.3, 0, 0.2, 1, 2.5, 1e6]);
    check(ct.expm1, Math.exp);
    check(ct.silu, (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))));
    const phi = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
    check(ct.gelu, (x) => 0.5 * (1 + erfRef(x / Math.SQRT2).erf) + x * phi(x));
  });

  it('second derivatives: erf″ = −2x · erf′, softplus″ = σ(1 − σ)', () => {
    const xs = [-1.2, 0.4, 2];
    const h = (f: (x: ct.Tensor) => ct.Tensor) =>
      read(ct.grad((x: ct.Tensor) => ct.sum(ct.grad((y: ct.Tensor) => ct.sum(f(y)))(x)))(f64(xs)));
    const c = 2 / Math.sqrt(Math.PI);
    h(ct.erf).forEach((g, i) => {
      expect(relErr(g, -2 * xs[i]! * c * Math.exp(-(xs[i]! ** 2)))).toBeLessThan(1e-14);
    });
    h(ct.softplus).forEach((g, i) => {
      expect(relErr(g, sigmoid(xs[i]!) * (1 - sigmoid(xs[i]!)))).toBeLessThan(1e-14);
    });
  });
});

/** Distance in f32 ulp between two f32 values (0 for equal values, NaN pairs included). */
function ulps(a: number, b: number): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Infinity;
  const ord = (v: number) => {
    const i = new Int32Array(new Float32Array([v]).buffer)[0]!;
    return i < 0 ? -(i & 0x7fffffff) : i;
  };
  return Math.abs(ord(a) - ord(b));
}

/** Deterministic f32 sweep over [lo, hi]: n evenly spaced points jittered inside their step. */
function sweep32(lo: number, hi: number, n: number): number[] {
  let s = 12345;
  return Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(lo + ((hi - lo) * (i + s / 2 ** 32)) / n);
  });
}

describe('the f32 kernels equal the f64 kernel rounded to f32, within a stated number of ulp', () => {
  /** Each unary op's sweep (f32 normal results; tails included) and its ulp bound. */
  const UNARY: [keyof typeof ct.unaryOps, number[], number][] = [
    ['erf', [...sweep32(-5, 5, 4000), 1e-30, -1e-30, 1e-6, 0.5, -0.5, 4, 4.5], 1],
    ['erfc', [...sweep32(-5, 9.1, 4000), 1e-30, -1e-6, 0.5, -0.5], 1],
    ['log1p', [...sweep32(-0.9999, 3, 3000), ...sweep32(3, 1e30, 500), 1e-30, -1e-30, 1e-7, -1e-7], 1],
    ['expm1', [...sweep32(-20, 88, 4000), 1e-30, -1e-30, 1e-7, -1e-7, 0.5, -0.5], 1],
    ['softplus', [...sweep32(-85, 85, 4000), 1e-30, 0], 1],
  ];

  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [name, xs, bound] of UNARY) {
      it(`${name} on ${backend} (f32): at most ${bound} ulp from the f64 kernel`, () => {
        const want = read(ct.unaryOps[name](f64(xs))).map(Math.fround);
        const got = read(ct.unaryOps[name](ct.tensor(xs, { dtype: 'f32', backend })));
        let worst = 0;
        let at = 0;
        got.forEach((g, i) => {
          const u = ulps(g, want[i]!);
          if (u > worst) [worst, at] = [u, xs[i]!];
        });
        expect(worst, `${name} at ${at}`).toBeLessThanOrEqual(bound);
      });
    }

    it(`logaddexp on ${backend} (f32): at most 1 ulp from the f64 kernel`, () => {
      const as = [...sweep32(-60, 60, 3000), -100, 80, 3];
      const bs = [...sweep32(-60, 60, 3000).reverse(), -100, 79.5, 3];
      const want = read(ct.logaddexp(f64(as), f64(bs))).map(Math.fround);
      const got = read(ct.logaddexp(ct.tensor(as, { backend }), ct.tensor(bs, { backend })));
      got.forEach((g, i) => {
        expect(ulps(g, want[i]!), `logaddexp(${as[i]}, ${bs[i]})`).toBeLessThanOrEqual(1);
      });
    });
  }

  it('over random f32 bit patterns (all magnitudes, subnormals, infinities, NaN) wasm is within 1 ulp of the f64 kernel', () => {
    const f32s = fc.array(fc.float(), { minLength: 1, maxLength: 64 });
    fc.assert(
      fc.property(f32s, f32s, (xs, ys) => {
        const n = Math.min(xs.length, ys.length);
        const [a, b] = [xs.slice(0, n), ys.slice(0, n)];
        const check = (got: readonly number[], want: readonly number[], what: string) =>
          got.forEach((g, i) => {
            expect(ulps(g, Math.fround(want[i]!)), `${what} at ${a[i]}, ${b[i]}`).toBeLessThanOrEqual(1);
          });
        for (const [name] of UNARY) {
          check(read(ct.unaryOps[name](ct.tensor(a, { backend: 'wasm' }))), read(ct.unaryOps[name](f64(a))), name);
        }
        const l = read(ct.logaddexp(ct.tensor(a, { backend: 'wasm' }), ct.tensor(b, { backend: 'wasm' })));
        check(l, read(ct.logaddexp(f64(a), f64(b))), 'logaddexp');
      }),
      { numRuns: 60 },
    );
  });

  it('the wasm kernels keep the special values', () => {
    const w = (op: (x: ct.Tensor) => ct.Tensor, xs: number[]) => read(op(ct.tensor(xs, { backend: 'wasm' })));
    const specials = [0, -0, Infinity, -Infinity, Number.NaN];
    expect(w(ct.erf, specials)).toEqual([0, -0, 1, -1, Number.NaN]);
    expect(Object.is(w(ct.erf, [-0])[0], -0)).toBe(true);
    expect(w(ct.erfc, specials)).toEqual([1, 1, 0, 2, Number.NaN]);
    expect(w(ct.erfc, [10.5, 30, -30])).toEqual([0, 0, 2]);
    expect(w(ct.log1p, [...specials, -1, -2])).toEqual([0, -0, Infinity, Number.NaN, Number.NaN, -Infinity, Number.NaN]);
    expect(Object.is(w(ct.log1p, [-0])[0], -0)).toBe(true);
    expect(w(ct.expm1, [...specials, 100])).toEqual([0, -0, Infinity, -1, Number.NaN, Infinity]);
    expect(Object.is(w(ct.expm1, [-0])[0], -0)).toBe(true);
    expect(w(ct.softplus, [0, Infinity, -Infinity, Number.NaN, 200, -200])).toEqual([
      Math.fround(Math.LN2),
      Infinity,
      0,
      Number.NaN,
      200,
      0,
    ]);
    const l = read(
      ct.logaddexp(
        ct.tensor([-Infinity, Infinity, Infinity, Number.NaN, 1, 0], { backend: 'wasm' }),
        ct.tensor([-Infinity, Infinity, -Infinity, 0, Number.NaN, 0], { backend: 'wasm' }),
      ),
    );
    expect(l).toEqual([-Infinity, Infinity, Infinity, Number.NaN, Number.NaN, Math.fround(Math.LN2)]);
  });

  it('jit fuses the new ops into one kernel on wasm and gives the unfused values', () => {
    const f = (x: ct.Tensor, y: ct.Tensor) =>
      // a sum of non-negative terms (no cancellation: its relative error is at most the terms')
      ct.add(
        ct.add(ct.mul(ct.erfc(x), ct.softplus(y)), ct.square(ct.logaddexp(x, y))),
        ct.add(ct.mul(ct.expm1(ct.abs(y)), ct.log1p(ct.abs(x))), ct.erf(ct.abs(x))),
      );
    const xs = sweep32(-3, 3, 37);
    const ys = sweep32(-2, 4, 37).reverse();
    const x = ct.tensor(xs, { backend: 'wasm' });
    const y = ct.tensor(ys, { backend: 'wasm' });
    const jf = ct.jit(f);
    expect(read(jf(x, y))).toEqual(read(f(x, y)));
    expect(jf.lower(x, y)).toMatch(/\(1 fused kernels?\)/);
  });
});
