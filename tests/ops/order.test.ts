/**
 * Scans and orderings (src/ops/order.ts) against naive references written as
 * loops over each line: cumsum and cumprod as the sums and products of every
 * prefix (suffix), argsort as the stable rank of each element
 * (#{j : x_j before x_k, or tied with j < k}; a different algorithm from the
 * kernels' sorts), sort and topk as the values in that order. On every
 * backend (cpu f64/f32/i32, wasm f32/i32, WebGPU f32/i32 on small shapes),
 * with ties, ±0, NaN and i32 wrap-around; the derivatives of cumsum, cumprod
 * (at zeros: one and several), sort and topk against the product rule written
 * out and finite differences; vmap and jit of each; the errors.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { checkGrads } from '../../laws/checkers.js';
import { prng } from '../../laws/numeric.js';
import { forceArgsortVariant, forceCumsumVariant } from '../../src/backends/webgpu/orderKernels.js';
import { acquireGpuKeepCpuDefault } from '../webgpu/gpu.js';

// ---------- references: loops over the lines ----------

/** The flat positions of every line of `shape` along `axis`, in axis order. */
function linesOf(shape: readonly number[], axis: number): number[][] {
  const len = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) out.push(Array.from({ length: len }, (_, k) => (o * len + k) * inner + i));
  return out;
}

type Dt = 'f64' | 'f32' | 'i32';
const roundTo = (dt: Dt, v: number): number => (dt === 'f32' ? Math.fround(v) : dt === 'i32' ? v | 0 : v);

/** out[i] = x[0] ∘ … ∘ x[i] (or x[i] ∘ … ∘ x[n-1]) with ∘ = + or ×, each prefix folded from its first element. */
function refScan(x: readonly number[], shape: readonly number[], axis: number, reverse: boolean, op: '+' | '*', dt: Dt): number[] {
  const out = new Array<number>(x.length).fill(0);
  for (const line of linesOf(shape, axis)) {
    const ps = reverse ? [...line].reverse() : line;
    for (let i = 0; i < ps.length; i++) {
      let acc = x[ps[0]!]!;
      for (let j = 1; j <= i; j++) acc = roundTo(dt, op === '+' ? acc + x[ps[j]!]! : acc * x[ps[j]!]!);
      out[ps[i]!] = acc;
    }
  }
  return out;
}

/** Whether u sorts strictly before v: numbers by <, a number before NaN. */
const before = (u: number, v: number): boolean => (Number.isNaN(v) ? !Number.isNaN(u) : u < v);

/** The stable ascending order by rank counting: element k goes to #{j : x_j before x_k, or tied with j < k}. */
function refArgsort(x: readonly number[], shape: readonly number[], axis: number, first = before): number[] {
  const out = new Array<number>(x.length).fill(-1);
  for (const line of linesOf(shape, axis)) {
    line.forEach((pk, k) => {
      let rank = 0;
      line.forEach((pj, j) => {
        if (first(x[pj]!, x[pk]!) || (j < k && !first(x[pk]!, x[pj]!))) rank++;
      });
      out[line[rank]!] = k;
    });
  }
  return out;
}

/** The values of x in the order `order` (indices along `axis`, per line). */
function gatherRef(x: readonly number[], order: readonly number[], shape: readonly number[], axis: number): number[] {
  const out = new Array<number>(x.length).fill(0);
  for (const line of linesOf(shape, axis)) for (const p of line) out[p] = x[line[order[p]!]!]!;
  return out;
}

/** Whether u ranks above v in topk: numbers by >, a number above NaN. */
const above = (u: number, v: number): boolean => (Number.isNaN(v) ? !Number.isNaN(u) : u > v);

/** topk by the definition: the descending stable order along the last axis, its first k. */
function refTopk(x: readonly number[], shape: readonly number[], k: number): { values: number[]; indices: number[] } {
  const axis = shape.length - 1;
  const order = refArgsort(x, shape, axis, above);
  const values: number[] = [];
  const indices: number[] = [];
  for (const line of linesOf(shape, axis))
    for (let j = 0; j < k; j++) {
      indices.push(order[line[j]!]!);
      values.push(x[line[order[line[j]!]!]!]!);
    }
  return { values, indices };
}

// ---------- data ----------

/** Values with ties, ±0 and (for floats, with `nan`) NaN: small integers and halves. */
function tiedValues(n: number, seed: number, dt: Dt, nan: boolean): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => {
    const u = r();
    if (dt !== 'i32' && nan && u < 0.1) return NaN;
    if (dt !== 'i32' && u < 0.2) return u < 0.15 ? -0 : 0;
    const v = Math.floor(r() * 9) - 4;
    return dt === 'i32' ? v : v / 2;
  });
}

/** Distinct real values in [-2, 2] (no ties: the order is locally constant). */
function distinctValues(n: number, seed: number): number[] {
  const r = prng(seed);
  const perm = Array.from({ length: n }, (_, i) => i).sort(() => r() - 0.5);
  return perm.map((p) => -2 + (4 * (p + 0.2 + 0.6 * r())) / n);
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 });
const caseArb = fc.record({ shape: shapeArb, axisU: fc.nat(7), seed: fc.integer({ min: 1, max: 2 ** 30 }), reverse: fc.boolean() });

const same = (got: ArrayLike<number>, want: readonly number[], tol = 0): void => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    if (Number.isNaN(w)) expect(g, `at ${i}`).toBeNaN();
    else if (tol === 0) expect(Object.is(g, w) || (g === 0 && w === 0), `at ${i}: ${g} vs ${w}`).toBe(true);
    else expect(Math.abs(g - w), `at ${i}: ${g} vs ${w}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w)));
  });
};

const SIDES: readonly { backend: ct.BackendName; dtype: Dt }[] = [
  { backend: 'cpu', dtype: 'f64' },
  { backend: 'cpu', dtype: 'f32' },
  { backend: 'cpu', dtype: 'i32' },
  { backend: 'wasm', dtype: 'f32' },
  { backend: 'wasm', dtype: 'i32' },
];

beforeAll(async () => {
  await ct.init({ backend: 'wasm' });
  await ct.init({ backend: 'cpu' });
});

describe('kernels against the loop references (cpu f64/f32/i32, wasm f32/i32)', () => {
  for (const { backend, dtype } of SIDES) {
    it(`${backend} ${dtype}: cumsum (both directions), argsort (stable, ±0 tie, NaN last), sort, cumprod`, () => {
      fc.assert(
        fc.property(caseArb, fc.boolean(), ({ shape, axisU, seed, reverse }, nan) => {
          const axis = axisU % shape.length;
          const n = shape.reduce((a, b) => a * b, 1);
          const x = tiedValues(n, seed, dtype, nan).map((v) => roundTo(dtype, v));
          ct.scope(() => {
            const t = ct.tensor(x, { shape, dtype, backend });
            const neg = axis - shape.length; // the same axis counted from the end
            same(ct.cumsum(t, neg, { reverse }).dataSync(), refScan(x, shape, axis, reverse, '+', dtype));
            const order = refArgsort(x, shape, axis);
            same(ct.argsort(t, axis).dataSync(), order);
            same(ct.sort(t, neg).dataSync(), gatherRef(x, order, shape, axis));
            // a log-depth product differs from the sequential one by rounding only (exact on these halves up to 2^-k)
            same(ct.cumprod(t, axis, { reverse }).dataSync(), refScan(x, shape, axis, reverse, '*', dtype), dtype === 'f32' ? 1e-6 : 0);
          });
        }),
        { numRuns: 30 },
      );
    });
  }

  it('cumsum of real values: f32 one rounding per step (cpu f32 and wasm bit for bit), f64 within rounding', () => {
    fc.assert(
      fc.property(caseArb, ({ shape, axisU, seed, reverse }) => {
        const axis = axisU % shape.length;
        const n = shape.reduce((a, b) => a * b, 1);
        const x = Array.from({ length: n }, prng(seed)).map((v) => Math.fround(4 * v - 2));
        const want32 = refScan(x, shape, axis, reverse, '+', 'f32');
        for (const backend of ['cpu', 'wasm'] as const)
          same(ct.cumsum(ct.tensor(x, { shape, backend }), axis, { reverse }).dataSync(), want32);
        same(
          ct.cumsum(ct.tensor(x, { shape, dtype: 'f64' }), axis, { reverse }).dataSync(),
          refScan(x, shape, axis, reverse, '+', 'f64'),
          1e-15,
        );
      }),
      { numRuns: 30 },
    );
  });

  it('long lines and many lines on wasm (merge widths past 512, both axes)', () => {
    for (const shape of [
      [2, 600],
      [300, 37],
    ]) {
      const n = shape[0]! * shape[1]!;
      const x = tiedValues(n, 7, 'f32', true).map(Math.fround);
      for (const dtype of ['f32', 'i32'] as const) {
        const xs = dtype === 'i32' ? x.map((v) => (Number.isNaN(v) ? 3 : 2 * v)) : x;
        const t = ct.tensor(xs, { shape, dtype, backend: 'wasm' });
        same(ct.argsort(t, 1).dataSync(), refArgsort(xs, shape, 1));
        same(ct.argsort(t, 0).dataSync(), refArgsort(xs, shape, 0));
        same(ct.cumsum(t, 1, { reverse: true }).dataSync(), refScan(xs, shape, 1, true, '+', dtype));
      }
    }
  });

  it('explicit cases: stability, ±0, NaN placement, reverse, i32 wrap-around, empty axes', () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const x = ct.tensor([2, NaN, 0, -1, NaN, -0, 2, 0], { backend });
      expect(Array.from(ct.argsort(x).dataSync())).toEqual([3, 2, 5, 7, 0, 6, 1, 4]);
      same(ct.sort(x).dataSync(), [-1, 0, -0, 0, 2, 2, NaN, NaN]);
      expect(Array.from(ct.cumsum(ct.tensor([1, 2, 3, 4], { backend }), 0, { reverse: true }).dataSync())).toEqual([10, 9, 7, 4]);
      expect(Object.is(ct.cumsum(ct.tensor([-0, 1], { backend }), 0).dataSync()[0], -0)).toBe(true);
      const big = ct.tensor([2147483647, 1, -5], { dtype: 'i32', backend });
      expect(Array.from(ct.cumsum(big, 0).dataSync())).toEqual([2147483647, -2147483648, 2147483643]);
      const [v, i] = ct.topk(ct.tensor([[-2147483648, 5, 2147483647, 5, 0]], { dtype: 'i32', backend }), 4);
      expect([Array.from(v.dataSync()), Array.from(i.dataSync())]).toEqual([
        [2147483647, 5, 5, 0],
        [2, 1, 3, 4],
      ]);
      const [fv, fi] = ct.topk(ct.tensor([0, NaN, -0, 3, 0], { backend }), 4);
      expect(Array.from(fi.dataSync())).toEqual([3, 0, 2, 4]);
      same(fv.dataSync(), [3, 0, -0, 0]);
      const empty = ct.zeros([2, 0, 3], { backend });
      expect(ct.cumsum(empty, 1).shape).toEqual([2, 0, 3]);
      expect(ct.argsort(empty, 1).shape).toEqual([2, 0, 3]);
      expect(ct.cumprod(empty, 1).shape).toEqual([2, 0, 3]);
      expect(ct.topk(ct.zeros([2, 3], { backend }), 0).map((t) => t.shape)).toEqual([
        [2, 0],
        [2, 0],
      ]);
    }
  });

  it('topk against the definition: descending, the lower index first on ties, NaN last', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(5), fc.boolean(), ({ shape, seed }, kU, nan) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const k = kU % (shape[shape.length - 1]! + 1);
        for (const { backend, dtype } of SIDES) {
          const x = tiedValues(n, seed, dtype, nan).map((v) => roundTo(dtype, v));
          const want = refTopk(x, shape, k);
          ct.scope(() => {
            const [v, i] = ct.topk(ct.tensor(x, { shape, dtype, backend }), k);
            expect(v.shape).toEqual([...shape.slice(0, -1), k]);
            expect(i.dtype).toBe('i32');
            same(i.dataSync(), want.indices);
            same(v.dataSync(), want.values);
          });
        }
      }),
      { numRuns: 25 },
    );
  });
});

// ---------- derivatives ----------

const f64 = (v: readonly number[], shape: readonly number[]): ct.Tensor => ct.tensor(v, { shape: [...shape], dtype: 'f64' });

/** ∂/∂x_j of Σ_i w_i · Π_{k ≤ i} x_k (prefix products; suffixes with reverse) along each line, written out without division. */
function refCumprodGrad(x: readonly number[], w: readonly number[], shape: readonly number[], axis: number, reverse: boolean): number[] {
  const g = new Array<number>(x.length).fill(0);
  for (const line of linesOf(shape, axis)) {
    const ps = reverse ? [...line].reverse() : line;
    for (let j = 0; j < ps.length; j++)
      for (let i = j; i < ps.length; i++) {
        let prod = w[ps[i]!]!;
        for (let k = 0; k <= i; k++) if (k !== j) prod *= x[ps[k]!]!;
        g[ps[j]!]! += prod;
      }
  }
  return g;
}

describe('derivatives', () => {
  it('cumprod: the gradient at inputs with one and several zeros equals the product rule written out', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 3 }), ({ shape, axisU, seed, reverse }, zeros) => {
        const axis = axisU % shape.length;
        const n = shape.reduce((a, b) => a * b, 1);
        const r = prng(seed);
        const x = Array.from({ length: n }, () => 3 * r() - 1.5);
        for (let z = 0; z < zeros; z++) x[Math.floor(r() * n)] = 0;
        const w = Array.from({ length: n }, () => 2 * r() - 1);
        const g = ct.grad((t: ct.Tensor) => ct.sum(ct.mul(ct.cumprod(t, axis, { reverse }), f64(w, shape))))(f64(x, shape));
        same(g.dataSync(), refCumprodGrad(x, w, shape, axis, reverse), 1e-12);
      }),
      { numRuns: 40 },
    );
  });

  it('cumprod: a line with one zero and a line with two (the gradient is not 0/0 = NaN)', () => {
    const g = ct.grad((t: ct.Tensor) => ct.sum(ct.cumprod(t, 1)))(f64([2, 0, 3, 4, 2, 0, 3, 0], [2, 4]));
    // row 0 [2, 0, 3, 4]: ∂/∂x1 = 2 + 2·3 + 2·3·4 = 32, ∂/∂x2 = ∂/∂x3 = 0 (x1 = 0 in every product);
    // row 1 [2, 0, 3, 0] (two zeros): ∂/∂x1 = 2 + 2·3 + 2·3·0 = 8, ∂/∂x3 = 2·0·3 = 0
    expect(Array.from(g.dataSync())).toEqual([1, 32, 0, 0, 1, 8, 0, 0]);
  });

  it('cumprod and cumsum: finite differences, the transpose law and second order (zeros included)', () => {
    const arb = caseArb.map(({ shape, axisU, seed, reverse }) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const r = prng(seed);
      const x = Array.from({ length: n }, () => (r() < 0.25 ? 0 : 2 * r() - 1));
      return { args: [f64(x, shape)], axis: axisU % shape.length, reverse };
    });
    fc.assert(
      fc.property(arb, ({ args, axis, reverse }) => {
        fc.assert(
          checkGrads((t) => ct.cumprod(t, axis, { reverse }), args, { order: 2 }),
          { numRuns: 1 },
        );
        fc.assert(
          checkGrads((t) => ct.cumsum(t, axis, { reverse }), args, { order: 1 }),
          { numRuns: 1 },
        );
      }),
      { numRuns: 15 },
    );
  });

  it('cumsum: the VJP is the cumulative sum of the cotangent in the other direction', () => {
    const w = [1, 10, 100, 1000];
    for (const reverse of [false, true]) {
      const g = ct.grad((t: ct.Tensor) => ct.sum(ct.mul(ct.cumsum(t, 0, { reverse }), f64(w, [4]))))(f64([5, 6, 7, 8], [4]));
      expect(Array.from(g.dataSync())).toEqual(reverse ? [1, 11, 111, 1111] : [1111, 1110, 1100, 1000]);
    }
  });

  it('sort and topk: the derivative follows the permutation (against the loop and finite differences)', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(5), ({ shape, axisU, seed }, kU) => {
        const axis = axisU % shape.length;
        const n = shape.reduce((a, b) => a * b, 1);
        const x = distinctValues(n, seed);
        const r = prng(seed + 1);
        const w = Array.from({ length: n }, () => 2 * r() - 1);
        // Σ_j w_j sort(x)_j: input order[j] of each line receives w_j
        const order = refArgsort(x, shape, axis);
        const want = new Array<number>(n).fill(0);
        for (const line of linesOf(shape, axis))
          line.forEach((p, j) => {
            want[line[order[p]!]!] = w[line[j]!]!;
          });
        const g = ct.grad((t: ct.Tensor) => ct.sum(ct.mul(ct.sort(t, axis), f64(w, shape))))(f64(x, shape));
        same(g.dataSync(), want);
        fc.assert(
          checkGrads((t) => ct.sort(t, axis), [f64(x, shape)], { order: 2 }),
          { numRuns: 1 },
        );
        const k = kU % (shape[shape.length - 1]! + 1);
        fc.assert(
          checkGrads((t) => ct.topk(t, k)[0], [f64(x, shape)], { order: 2 }),
          { numRuns: 1 },
        );
        // topk: the selected positions receive the cotangent, the others nothing
        const { indices } = refTopk(x, shape, k);
        const gk = ct
          .grad((t: ct.Tensor) => ct.sum(ct.topk(t, k)[0]))(f64(x, shape))
          .dataSync();
        const last = shape[shape.length - 1]!;
        const hit = new Array<number>(n).fill(0);
        indices.forEach((c, q) => {
          hit[Math.floor(q / Math.max(k, 1)) * last + c] = 1;
        });
        same(gk, hit);
      }),
      { numRuns: 25 },
    );
  });

  it('argsort has no derivative (symbolic zero through it)', () => {
    const [, t] = ct.jvp((x: ct.Tensor) => ct.argsort(x), [f64([3, 1, 2], [3])], [f64([1, 1, 1], [3])]);
    expect(Array.from(t.dataSync())).toEqual([0, 0, 0]);
  });
});

// ---------- transformations ----------

describe('vmap and jit', () => {
  it('vmap of each op (batch axis anywhere) equals stacking the examples', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(3), ({ shape, axisU, seed, reverse }, inU) => {
        const axis = axisU % shape.length;
        const batch = 3;
        const inAxis = inU % (shape.length + 1);
        const per = shape.reduce((a, b) => a * b, 1);
        const x = tiedValues(per * batch, seed, 'f64', true);
        const full = [...shape];
        full.splice(inAxis, 0, batch);
        const xs = f64(x, full);
        const fns: [string, (t: ct.Tensor) => ct.Tensor][] = [
          ['cumsum', (t) => ct.cumsum(t, axis, { reverse })],
          ['cumprod', (t) => ct.cumprod(t, axis, { reverse })],
          ['argsort', (t) => ct.argsort(t, axis)],
          ['sort', (t) => ct.sort(t, axis)],
          ['topk', (t) => ct.topk(t, 2 % (shape[shape.length - 1]! + 1))[0]],
        ];
        for (const [name, f] of fns) {
          const got = ct.vmap(f, { inAxes: inAxis })(xs);
          const loop = ct.stack(
            Array.from({ length: batch }, (_, b) =>
              f(
                ct.squeeze(
                  ct.slice(
                    xs,
                    full.map((_, i) => (i === inAxis ? b : 0)),
                    full.map((d, i) => (i === inAxis ? 1 : d)),
                  ),
                  inAxis,
                ),
              ),
            ),
          );
          expect(got.shape, name).toEqual(loop.shape);
          same(got.dataSync(), Array.from(loop.dataSync()));
        }
      }),
      { numRuns: 20 },
    );
  });

  it('vmap(grad) of a sort/cumprod loss equals a loop of gradients', () => {
    const loss = (t: ct.Tensor) => ct.sum(ct.mul(ct.sort(t), ct.cumprod(t, 0)));
    const xs = f64([0.5, 0, -1.5, 2, 1, -0.25, 0.75, 0], [2, 4]);
    const got = ct.vmap(ct.grad(loss))(xs);
    const loop = ct.stack([0, 1].map((b) => ct.grad(loss)(ct.reshape(ct.slice(xs, [b, 0], [1, 4]), [4]))));
    same(got.dataSync(), Array.from(loop.dataSync()), 1e-15);
  });

  it('jit of each op equals the op, on cpu and wasm, in value and gradient', () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const dtype = backend === 'cpu' ? 'f64' : 'f32';
      const x = ct.tensor(distinctValues(12, 3), { shape: [3, 4], dtype, backend });
      const f = (t: ct.Tensor) =>
        ct.concat(
          [
            ct.reshape(ct.cumsum(t, 0, { reverse: true }), [-1]),
            ct.reshape(ct.cumprod(t, -1), [-1]),
            ct.reshape(ct.cast(ct.argsort(t, 0), dtype), [-1]),
            ct.reshape(ct.sort(t, -1), [-1]),
            ct.reshape(ct.topk(t, 3)[0], [-1]),
          ],
          0,
        );
      same(ct.jit(f)(x).dataSync(), Array.from(f(x).dataSync()));
      const loss = (t: ct.Tensor) => ct.sum(ct.mul(f(t), f(t)));
      same(ct.jit(ct.grad(loss))(x).dataSync(), Array.from(ct.grad(loss)(x).dataSync()), dtype === 'f32' ? 1e-5 : 1e-14);
    }
  });
});

describe('errors name the op and the shapes', () => {
  it('bad axes, scalars and k', () => {
    const x = ct.zeros([2, 3]);
    expect(() => ct.cumsum(x, 2)).toThrow(/cumsum: axis 2 is out of bounds/);
    expect(() => ct.cumprod(x, -3)).toThrow(/cumprod: axis -3 is out of bounds/);
    expect(() => ct.argsort(ct.scalar(1))).toThrow(/argsort: needs a tensor of rank ≥ 1/);
    expect(() => ct.sort(x, 1.5)).toThrow(/sort: axis 1.5/);
    expect(() => ct.topk(x, 4)).toThrow(/topk: k must be an integer in \[0, 3\]/);
    expect(() => ct.bind(ct.primitives.cumsum, [x], { axis: 5, reverse: false })).toThrow(/cumsum: axis 5 is out of bounds for \[2,3\]/);
  });
});

// ---------- WebGPU (small shapes) ----------

const gpu = await acquireGpuKeepCpuDefault();

describe.skipIf(!gpu)('WebGPU against the loop references', () => {
  afterAll(() => ct.shutdown());
  it('jit of the ops on WebGPU equals the eager ops, in value and gradient', async () => {
    const x = ct.tensor(distinctValues(12, 5), { shape: [3, 4], backend: 'webgpu' });
    const f = (t: ct.Tensor) =>
      ct.concat(
        [
          ct.reshape(ct.cumsum(t, 0, { reverse: true }), [-1]),
          ct.reshape(ct.cumprod(t, -1), [-1]),
          ct.reshape(ct.cast(ct.argsort(t, 0), 'f32'), [-1]),
          ct.reshape(ct.sort(t, -1), [-1]),
          ct.reshape(ct.topk(t, 3)[0], [-1]),
        ],
        0,
      );
    same(await ct.jit(f)(x).data(), Array.from(await f(x).data()));
    const loss = (t: ct.Tensor) => ct.sum(ct.mul(f(t), f(t)));
    same(await ct.jit(ct.grad(loss))(x).data(), Array.from(await ct.grad(loss)(x).data()), 1e-5);
  });

  it('cumsum, argsort, sort, cumprod, topk (f32 and i32; ties, ±0, NaN)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, fc.boolean(), fc.boolean(), async ({ shape, axisU, seed, reverse }, nan, int) => {
        const axis = axisU % shape.length;
        const dtype: Dt = int ? 'i32' : 'f32';
        const n = shape.reduce((a, b) => a * b, 1);
        const x = tiedValues(n, seed, dtype, nan).map((v) => roundTo(dtype, v));
        const t = ct.tensor(x, { shape, dtype, backend: 'webgpu' });
        const order = refArgsort(x, shape, axis);
        same(await ct.cumsum(t, axis, { reverse }).data(), refScan(x, shape, axis, reverse, '+', dtype));
        same(await ct.argsort(t, axis).data(), order);
        same(await ct.sort(t, axis).data(), gatherRef(x, order, shape, axis));
        same(await ct.cumprod(t, axis, { reverse }).data(), refScan(x, shape, axis, reverse, '*', dtype), int ? 0 : 1e-6);
        const k = Math.min(2, shape[shape.length - 1]!);
        const [v, i] = ct.topk(t, k);
        const want = refTopk(x, shape, k);
        same(await i.data(), want.indices);
        same(await v.data(), want.values);
      }),
      { numRuns: 8 },
    );
  });

  it('a long line (one thread scans it; merge passes sort it)', async () => {
    const shape = [2, 700];
    const x = tiedValues(1400, 11, 'f32', true).map(Math.fround);
    const t = ct.tensor(x, { shape, backend: 'webgpu' });
    same(await ct.argsort(t, 1).data(), refArgsort(x, shape, 1));
    const ints = x.map((v) => (Number.isNaN(v) ? 1 : 2 * v));
    same(
      await ct.cumsum(ct.tensor(ints, { shape, dtype: 'i32', backend: 'webgpu' }), 1).data(),
      refScan(ints, shape, 1, false, '+', 'i32'),
    );
  });

  it('both argsort kernels (rank counting; merge passes with binary searches): stable, NaN last, any axis, odd lengths', async () => {
    const arb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 2 }),
      len: fc.integer({ min: 1, max: 70 }),
      at: fc.nat(2),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
      int: fc.boolean(),
    });
    for (const variant of ['rank', 'merge'] as const) {
      forceArgsortVariant(variant);
      try {
        await fc.assert(
          fc.asyncProperty(arb, async ({ shape: s, len, at, seed, int }) => {
            const axis = Math.min(at, s.length);
            const shape = [...s.slice(0, axis), len, ...s.slice(axis)];
            const dtype: Dt = int ? 'i32' : 'f32';
            const x = tiedValues(
              shape.reduce((a, b) => a * b, 1),
              seed,
              dtype,
              true,
            ).map((v) => roundTo(dtype, v));
            same(await ct.argsort(ct.tensor(x, { shape, dtype, backend: 'webgpu' }), axis).data(), refArgsort(x, shape, axis));
          }),
          { numRuns: 6 },
        );
      } finally {
        forceArgsortVariant(null);
      }
    }
  });

  it('both cumsum kernels (a thread per line; a workgroup per line, chunk sums scanned): directions, axes, chunk edges', async () => {
    const cases: [number[], number][] = [
      [[3, 5], 1],
      [[2, 256], 1],
      [[3, 257], 1],
      [[520, 3], 0],
      [[2, 700], 1],
    ];
    for (const variant of ['threads', 'lines'] as const) {
      forceCumsumVariant(variant);
      try {
        for (const [shape, axis] of cases) {
          const n = shape[0]! * shape[1]!;
          const r = prng(n);
          const x = Array.from({ length: n }, () => Math.fround(2 * r() - 1));
          const ints = x.map((v) => Math.round(1000 * v));
          for (const reverse of [false, true]) {
            const got = await ct.cumsum(ct.tensor(x, { shape, backend: 'webgpu' }), axis, { reverse }).data();
            // f32 sums grouped by chunk ('lines'): within the accumulated rounding of the sequential sum
            if (variant === 'threads') same(got, refScan(x, shape, axis, reverse, '+', 'f32'));
            else same(got, refScan(x, shape, axis, reverse, '+', 'f64'), 2e-7 * shape[axis]!);
            const gi = await ct.cumsum(ct.tensor(ints, { shape, dtype: 'i32', backend: 'webgpu' }), axis, { reverse }).data();
            same(gi, refScan(ints, shape, axis, reverse, '+', 'i32'));
          }
        }
        // -0 at the start of a line stays -0; i32 wraps
        const z = await ct.cumsum(ct.tensor([-0, ...new Array<number>(299).fill(0)], { backend: 'webgpu' }), 0).data();
        expect(Object.is(z[0], -0), variant).toBe(true);
        const big = new Array<number>(300).fill(2 ** 30);
        same(await ct.cumsum(ct.tensor(big, { dtype: 'i32', backend: 'webgpu' }), 0).data(), refScan(big, [300], 0, false, '+', 'i32'));
      } finally {
        forceCumsumVariant(null);
      }
    }
  });
});
