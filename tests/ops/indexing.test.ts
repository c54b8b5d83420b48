/**
 * take, scatterAdd and takeAlongAxis against naive references written with
 * multi-index loops (numpy semantics: negative indices count from the end,
 * duplicates accumulate), on cpu f64 / f32 / i32 and wasm f32 / i32; the
 * out-of-range errors (op, axis, index, size) on cpu and wasm; the transpose
 * identity <take(x, i), y> = <x, scatterAdd(0, i, y)>; jit, vmap (against
 * loops) and the gradient of an embedding lookup.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { prng } from '../../laws/numeric.js';
import { vmapLaw } from '../../laws/vmap.js';

beforeAll(async () => {
  await ct.init({ backend: 'wasm' });
  await ct.init({ backend: 'cpu' });
});

// ---- naive references: one output element at a time, through multi-indices ----

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The multi-index of flat position `p` in `shape` (row-major). */
function unravel(p: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = p % shape[d]!;
    p = Math.floor(p / shape[d]!);
  }
  return idx;
}

/** The flat position of multi-index `idx` in `shape`. */
const ravel = (idx: readonly number[], shape: readonly number[]): number => idx.reduce((acc, v, d) => acc * shape[d]! + v, 0);

/** numpy.take: out[pre, j…, post] = x[pre, idx[j…], post]. */
function takeRef(x: readonly number[], xs: readonly number[], idx: readonly number[], is: readonly number[], axis: number): number[] {
  const os = [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)];
  const n = xs[axis]!;
  return Array.from({ length: sizeOf(os) }, (_, p) => {
    const o = unravel(p, os);
    const j = ravel(o.slice(axis, axis + is.length), is);
    const k = idx[j]! < 0 ? idx[j]! + n : idx[j]!;
    return x[ravel([...o.slice(0, axis), k, ...o.slice(axis + is.length)], xs)]!;
  });
}

/** scatter-add: out = x; out[pre, idx[j…], post] += u[pre, j…, post], for every element of u in row-major order. */
function scatterRef(
  x: readonly number[],
  xs: readonly number[],
  idx: readonly number[],
  is: readonly number[],
  u: readonly number[],
  axis: number,
): number[] {
  const out = [...x];
  const us = [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)];
  const n = xs[axis]!;
  for (let p = 0; p < u.length; p++) {
    const o = unravel(p, us);
    const j = ravel(o.slice(axis, axis + is.length), is);
    const k = idx[j]! < 0 ? idx[j]! + n : idx[j]!;
    out[ravel([...o.slice(0, axis), k, ...o.slice(axis + is.length)], xs)]! += u[p]!;
  }
  return out;
}

/** numpy.take_along_axis with broadcasting on the other axes. */
function takeAlongRef(x: readonly number[], xs: readonly number[], idx: readonly number[], is: readonly number[], axis: number) {
  const os = xs.map((d, i) => (i === axis ? is[i]! : Math.max(d, is[i]!)));
  const n = xs[axis]!;
  const values = Array.from({ length: sizeOf(os) }, (_, p) => {
    const o = unravel(p, os);
    const k0 =
      idx[
        ravel(
          o.map((v, i) => (is[i] === 1 ? 0 : v)),
          is,
        )
      ]!;
    const k = k0 < 0 ? k0 + n : k0;
    return x[
      ravel(
        o.map((v, i) => (i === axis ? k : xs[i] === 1 ? 0 : v)),
        xs,
      )
    ]!;
  });
  return { shape: os, values };
}

// ---- random cases ----

interface IndexCase {
  readonly xs: number[];
  readonly axis: number;
  readonly is: number[];
  readonly x: number[];
  readonly idx: number[];
  readonly u: number[];
}

/** x of rank 1-3, an axis (non-empty), indices of rank 0-2 in [-n, n), updates of the scatter shape; small integers. */
const indexCase: fc.Arbitrary<IndexCase> = fc
  .record({
    xs: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    axisU: fc.nat(10),
    is: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
    seed: fc.integer(),
  })
  .map(({ xs, axisU, is, seed }) => {
    const r = prng(seed);
    const axis = axisU % xs.length;
    const n = xs[axis]!;
    const us = [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)];
    const ints = (k: number, lo: number, hi: number) => Array.from({ length: k }, () => lo + Math.floor(r() * (hi - lo)));
    return { xs, axis, is, x: ints(sizeOf(xs), -50, 50), idx: ints(sizeOf(is), -n, n), u: ints(sizeOf(us), -50, 50) };
  });

const values = (t: ct.Tensor): number[] => Array.from(t.dataSync());

const on = (backend: ct.BackendName, dtype: ct.DType, c: IndexCase) => ({
  x: ct.tensor(c.x, { shape: c.xs, dtype, backend }),
  i: ct.tensor(c.idx, { shape: c.is, dtype: 'i32', backend }),
  u: ct.tensor(c.u, { shape: [...c.xs.slice(0, c.axis), ...c.is, ...c.xs.slice(c.axis + 1)], dtype, backend }),
});

describe('take and scatterAdd equal the naive references', () => {
  const sides: [ct.BackendName, ct.DType][] = [
    ['cpu', 'f64'],
    ['cpu', 'f32'],
    ['cpu', 'i32'],
    ['wasm', 'f32'],
    ['wasm', 'i32'],
  ];
  for (const [backend, dtype] of sides) {
    it(`${backend} ${dtype}: random shapes, axes, negative and duplicate indices, index ranks 0-2`, () => {
      fc.assert(
        fc.property(indexCase, (c) =>
          ct.scope(() => {
            const { x, i, u } = on(backend, dtype, c);
            const t = ct.take(x, i, c.axis);
            expect(t.shape).toEqual([...c.xs.slice(0, c.axis), ...c.is, ...c.xs.slice(c.axis + 1)]);
            expect(t.dtype).toBe(dtype);
            expect(t.backendName).toBe(backend);
            expect(values(t)).toEqual(takeRef(c.x, c.xs, c.idx, c.is, c.axis));
            const s = ct.scatterAdd(x, i, u, c.axis);
            expect(s.shape).toEqual(c.xs);
            expect(values(s)).toEqual(scatterRef(c.x, c.xs, c.idx, c.is, c.u, c.axis));
          }),
        ),
        { numRuns: 40 },
      );
    });
  }

  it('wasm f32 scatterAdd accumulates duplicates in index order, as the cpu f32 kernel (bitwise)', () => {
    const r = prng(7);
    const u = Array.from({ length: 64 * 5 }, () => r() * 2 - 1);
    const idx = Array.from({ length: 64 }, (_, j) => [0, 1, -1, 0][j % 4]!);
    const run = (backend: ct.BackendName) =>
      values(
        ct.scatterAdd(
          ct.zeros([3, 5], { backend }),
          ct.tensor(idx, { dtype: 'i32', backend }),
          ct.tensor(u, { shape: [64, 5], backend }),
          0,
        ),
      );
    expect(run('wasm')).toEqual(run('cpu'));
  });

  it('larger shapes on wasm (threads may split the calls) equal the cpu kernel', () => {
    const r = prng(11);
    const [outer, n, inner, m] = [37, 50, 33, 70];
    const x = Array.from({ length: outer * n * inner }, () => r());
    const idx = Array.from({ length: m }, () => Math.floor(r() * 2 * n) - n);
    const u = Array.from({ length: outer * m * inner }, () => r());
    const run = (backend: ct.BackendName) => {
      const xt = ct.tensor(x, { shape: [outer, n, inner], backend });
      const ix = ct.tensor(idx, { dtype: 'i32', backend });
      return [values(ct.take(xt, ix, 1)), values(ct.scatterAdd(xt, ix, ct.tensor(u, { shape: [outer, m, inner], backend }), 1))];
    };
    expect(run('wasm')).toEqual(run('cpu'));
  });

  it('examples: negative axis, nested-array and number indices, empty indices', () => {
    const x = ct.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(values(ct.take(x, [2, 0, -1], -1))).toEqual([3, 1, 3, 6, 4, 6]);
    const t = ct.take(
      x,
      [
        [1, 0],
        [-1, -2],
      ],
      0,
    );
    expect(t.shape).toEqual([2, 2, 3]);
    expect(values(t)).toEqual([4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3]);
    const s = ct.take(x, 1, 1);
    expect(s.shape).toEqual([2]);
    expect(values(s)).toEqual([2, 5]);
    expect(ct.take(x, [], 1).shape).toEqual([2, 0]);
    expect(values(ct.scatterAdd(ct.zeros([4]), [1, 1, -1, 1], ct.tensor([1, 2, 3, 4])))).toEqual([0, 7, 0, 3]);
    // a number as updates is broadcast to the updates' shape
    expect(values(ct.scatterAdd(ct.zeros([2, 3]), [0, 0], 1, 1))).toEqual([2, 0, 0, 2, 0, 0]);
  });
});

describe('errors', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: an out-of-range index names the op, the axis, the index and the size`, () => {
      const x = ct.zeros([2, 3], { backend });
      expect(() => ct.take(x, ct.tensor([0, 3], { dtype: 'i32', backend }), 1)).toThrow(
        /take: index 3 \(at position 1 of the indices\) is out of range for axis 1 of size 3/,
      );
      expect(() => ct.take(x, ct.tensor([-3], { dtype: 'i32', backend }), 0)).toThrow(/take: index -3 .* axis 0 of size 2/);
      expect(() => ct.scatterAdd(x, ct.tensor([5], { dtype: 'i32', backend }), ct.zeros([2, 1], { backend }), 1)).toThrow(
        /scatterAdd: index 5 .* axis 1 of size 3/,
      );
      expect(() => ct.takeAlongAxis(x, ct.tensor([[0, 4, 1]], { dtype: 'i32', backend }), 0)).toThrow(
        /takeAlongAxis: index 4 .* axis 0 of size 2/,
      );
      // nothing is left allocated by a refused call
      const before = ct.memoryStats().liveTensors;
      for (let k = 0; k < 3; k++) expect(() => ct.scope(() => ct.take(x, [7], 1))).toThrow(/out of range/);
      expect(ct.memoryStats().liveTensors).toBe(before);
    });
  }

  it('bad indices, axes and shapes are clear errors', () => {
    const x = ct.zeros([2, 3]);
    expect(() => ct.take(x, ct.tensor([0.5]), 0)).toThrow(/take: indices must be i32, got f32\[1\]/);
    expect(() => ct.take(x, [0.5], 0)).toThrow(/take: indices must be integers, got 0.5/);
    expect(() => ct.take(x, [0], 2)).toThrow(/take: axis 2 is out of bounds/);
    expect(() => ct.take(ct.scalar(1), [0], 0)).toThrow(/take: cannot index a rank-0 tensor/);
    expect(() => ct.scatterAdd(x, [0, 1], ct.zeros([2, 3]), 1)).toThrow(/scatterAdd: updates f32\[2,3\] must have shape .* \[2,2\]/);
    expect(() => ct.scatterAdd(x, [0], ct.zeros([2, 1], { dtype: 'i32' }), 1)).toThrow(/scatterAdd: updates \(i32\) and x \(f32\)/);
    expect(() => ct.takeAlongAxis(x, ct.tensor([0, 1], { dtype: 'i32' }), 1)).toThrow(/takeAlongAxis: indices \[2\] must have the rank/);
    expect(() => ct.takeAlongAxis(x, ct.tensor([[0], [1], [1]], { dtype: 'i32' }), 1)).toThrow(/do not broadcast/);
  });
});

describe('derivatives', () => {
  it('transpose identity: <take(x, i), y> = <x, scatterAdd(0, i, y)> (f64, random cases)', () => {
    fc.assert(
      fc.property(indexCase, fc.integer(), (c, seed) =>
        ct.scope(() => {
          const r = prng(seed);
          const x = ct.tensor(
            c.x.map(() => r() - 0.5),
            { shape: c.xs, dtype: 'f64' },
          );
          const i = ct.tensor(c.idx, { shape: c.is, dtype: 'i32' });
          const us = [...c.xs.slice(0, c.axis), ...c.is, ...c.xs.slice(c.axis + 1)];
          const y = ct.tensor(
            Array.from({ length: sizeOf(us) }, () => r() - 0.5),
            { shape: us, dtype: 'f64' },
          );
          const lhs = ct.sum(ct.mul(ct.take(x, i, c.axis), y)).dataSync()[0]!;
          const rhs = ct.sum(ct.mul(x, ct.scatterAdd(ct.zerosLike(x), i, y, c.axis))).dataSync()[0]!;
          expect(lhs).toBeCloseTo(rhs, 10);
        }),
      ),
      { numRuns: 40 },
    );
  });

  it('grad of an embedding lookup equals the one-hot matmul formulation (duplicates accumulate)', () => {
    const r = prng(3);
    const E = ct.tensor(
      Array.from({ length: 7 * 4 }, () => r() - 0.5),
      { shape: [7, 4], dtype: 'f64' },
    );
    const ids = ct.tensor(
      [
        [1, 3, 1],
        [6, 0, -1],
      ],
      { dtype: 'i32' },
    );
    const w = ct.tensor(
      Array.from({ length: 2 * 3 * 4 }, () => r() - 0.5),
      { shape: [2, 3, 4], dtype: 'f64' },
    );
    const lookup = (e: ct.Tensor) => ct.sum(ct.mul(ct.tanh(ct.take(e, ids, 0)), w));
    const viaOneHot = (e: ct.Tensor) => {
      const norm = ct.where(ct.less(ids, 0), ct.add(ids, 7), ids);
      const hot = ct.oneHot(ct.reshape(norm, [-1]), 7);
      return ct.sum(ct.mul(ct.tanh(ct.reshape(ct.matmul(ct.cast(hot, 'f64'), e), [2, 3, 4])), w));
    };
    const [v1, g1] = ct.valueAndGrad(lookup)(E);
    const [v2, g2] = ct.valueAndGrad(viaOneHot)(E);
    expect(v1.dataSync()[0]!).toBeCloseTo(v2.dataSync()[0]!, 12);
    const a = values(g1);
    const b = values(g2);
    for (const [k, v] of a.entries()) expect(v).toBeCloseTo(b[k]!, 12);
    // rows never looked up get no gradient; row 1 (twice) and row 6 (as 6 and -1) accumulate
    expect(a.slice(2 * 4, 3 * 4)).toEqual([0, 0, 0, 0]);
    // jit of the gradient is the same
    expect(values(ct.jit(ct.grad(lookup))(E))).toEqual(a);
  });

  it('scatterAdd: gradients with respect to x and the updates (x̄ = ct, ū = take(ct, i))', () => {
    const x = ct.tensor([1, 2, 3], { dtype: 'f64' });
    const u = ct.tensor([10, 20], { dtype: 'f64' });
    const w = ct.tensor([1, 2, 3], { dtype: 'f64' });
    const f = (a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.mul(ct.scatterAdd(a, [2, -1], b), w));
    const [gx, gu] = ct.grad(f, { argnums: [0, 1] })(x, u) as ct.Tensor[];
    expect(values(gx!)).toEqual([1, 2, 3]);
    expect(values(gu!)).toEqual([3, 3]);
  });
});

describe('takeAlongAxis', () => {
  const caseArb = fc
    .record({
      xs: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      axisU: fc.nat(10),
      ones: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      xOnes: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      m: fc.integer({ min: 0, max: 4 }),
      seed: fc.integer(),
    })
    .map(({ xs, axisU, ones, xOnes, m, seed }) => {
      const r = prng(seed);
      const axis = axisU % xs.length;
      // indices and x broadcast against each other on the other axes (size-1 axes on either side)
      const is = xs.map((d, i) => (i === axis ? m : ones[i] ? 1 : d));
      const xs2 = xs.map((d, i) => (i !== axis && xOnes[i] && !ones[i] ? 1 : d));
      const n = xs2[axis]!;
      return {
        xs: xs2,
        is,
        axis,
        x: Array.from({ length: sizeOf(xs2) }, () => Math.floor(r() * 100)),
        idx: Array.from({ length: sizeOf(is) }, () => Math.floor(r() * 2 * n) - n),
      };
    });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: equals numpy.take_along_axis (broadcasting, negative indices), eager and jitted`, () => {
      fc.assert(
        fc.property(caseArb, (c) =>
          ct.scope(() => {
            const x = ct.tensor(c.x, { shape: c.xs, backend });
            const i = ct.tensor(c.idx, { shape: c.is, dtype: 'i32', backend });
            const ref = takeAlongRef(c.x, c.xs, c.idx, c.is, c.axis);
            const y = ct.takeAlongAxis(x, i, c.axis);
            expect(y.shape).toEqual(ref.shape);
            expect(values(y)).toEqual(ref.values);
            const j = ct.jit((a: ct.Tensor, b: ct.Tensor) => ct.takeAlongAxis(a, b, c.axis - c.xs.length));
            expect(values(j(x, i))).toEqual(ref.values);
          }),
        ),
        { numRuns: 30 },
      );
    });
  }

  it('gradient: the cotangent is scattered back to the picked elements (e.g. the top-k of each row)', () => {
    const x = ct.tensor(
      [
        [3, 1, 2],
        [5, 6, 4],
      ],
      { dtype: 'f64' },
    );
    const i = ct.tensor(
      [
        [0, 0],
        [1, 2],
      ],
      { dtype: 'i32' },
    );
    const g = ct.grad((a: ct.Tensor) => ct.sum(ct.square(ct.takeAlongAxis(a, i, 1))))(x);
    expect(values(g)).toEqual([12, 0, 0, 0, 12, 8]);
  });
});

describe('under jit and vmap', () => {
  it('jit with traced indices equals eager', () => {
    const f = ct.jit((x: ct.Tensor, i: ct.Tensor, u: ct.Tensor) => ct.add(ct.take(x, i, 1), ct.sum(ct.scatterAdd(x, i, u, 1))));
    const x = ct.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'f64' },
    );
    for (const idx of [
      [0, 2],
      [-1, -1],
    ]) {
      const i = ct.tensor(idx, { dtype: 'i32' });
      const u = ct.tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'f64' });
      const eager = ct.add(ct.take(x, i, 1), ct.sum(ct.scatterAdd(x, i, u, 1)));
      expect(values(f(x, i, u))).toEqual(values(eager));
    }
  });

  it('vmap of take / scatterAdd / takeAlongAxis over every combination of batched inputs equals the loop', () => {
    const r = prng(5);
    const f64 = (shape: number[]) =>
      ct.tensor(
        Array.from({ length: sizeOf(shape) }, () => r() - 0.5),
        { shape, dtype: 'f64' },
      );
    const ints = (shape: number[], n: number) =>
      ct.tensor(
        Array.from({ length: sizeOf(shape) }, () => Math.floor(r() * 2 * n) - n),
        { shape, dtype: 'i32' },
      );
    // B = 3 examples: x [2, 4, 3] per example; indices [5] per example
    const cases: [string, (...xs: ct.Tensor[]) => ct.Tensor, ct.Tensor[], (number | null)[]][] = [
      ['take, x batched', (x, i) => ct.take(x, i, 1), [f64([3, 2, 4, 3]), ints([5], 4)], [0, null]],
      ['take, indices batched', (x, i) => ct.take(x, i, 1), [f64([2, 4, 3]), ints([5, 3], 4)], [null, 1]],
      ['take, both batched', (x, i) => ct.take(x, i, 1), [f64([2, 4, 3, 3]), ints([3, 5], 4)], [3, 0]],
      ['take, both batched, axis 0', (x, i) => ct.take(x, i, 0), [f64([2, 3, 4, 3]), ints([3, 5], 2)], [1, 0]],
      ['scatterAdd, x batched', (x, i, u) => ct.scatterAdd(x, i, u, 1), [f64([3, 2, 4, 3]), ints([5], 4), f64([2, 5, 3])], [0, null, null]],
      [
        'scatterAdd, updates batched',
        (x, i, u) => ct.scatterAdd(x, i, u, 1),
        [f64([2, 4, 3]), ints([5], 4), f64([2, 5, 3, 3])],
        [null, null, 3],
      ],
      [
        'scatterAdd, indices batched',
        (x, i, u) => ct.scatterAdd(x, i, u, 1),
        [f64([2, 4, 3]), ints([5, 3], 4), f64([2, 5, 3])],
        [null, 1, null],
      ],
      [
        'scatterAdd, all batched',
        (x, i, u) => ct.scatterAdd(x, i, u, 2),
        [f64([2, 4, 3, 3]), ints([3, 5], 3), f64([3, 2, 4, 5])],
        [3, 0, 0],
      ],
      ['takeAlongAxis, both batched', (x, i) => ct.takeAlongAxis(x, i, 1), [f64([3, 2, 4]), ints([3, 1, 6], 4)], [0, 0]],
      ['takeAlongAxis, indices batched', (x, i) => ct.takeAlongAxis(x, i, 0), [f64([2, 4]), ints([2, 4, 3], 2)], [null, 2]],
    ];
    for (const [name, f, args, inAxes] of cases) {
      const res = vmapLaw(f, args, inAxes, 0);
      expect(res.ok, `${name}: ${res.ok ? '' : res.message}`).toBe(true);
      const res2 = vmapLaw(f, args, inAxes, -1);
      expect(res2.ok, `${name} (out axis -1): ${res2.ok ? '' : res2.message}`).toBe(true);
    }
  });

  it('vmap of an out-of-range index (both batched) is still an error', () => {
    const x = ct.zeros([2, 3]);
    const i = ct.tensor([[0], [3]], { dtype: 'i32' });
    expect(() => ct.vmap((a: ct.Tensor, b: ct.Tensor) => ct.take(a, b, 0))(x, i)).toThrow(/take: index 3 .* axis 0 of size 3/);
  });
});
