/**
 * The fast paths of the WebGPU elementwise, fused and reduction kernels
 * against naive references computed here element by element: the flat map and
 * fused kernels (every operand contiguous or one scalar; vec4 quads when the
 * element count and offsets are multiples of 4, scalar threads otherwise), the
 * index division through f32 (exact for every dividend below 2^23), and the
 * one-thread-per-cell reductions; odd sizes, sizes not a multiple of 4, and
 * broadcasts that still take the strided kernels.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { divmodWgsl } from '../../src/backends/webgpu/mapKernel.js';
import { acquireGpu, closeMessage, rng, values } from './gpu.js';

const ok = await acquireGpu();

const f32 = (xs: readonly number[]): number[] => xs.map(Math.fround);
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const rowMajor = (shape: readonly number[]): number[] => {
  const st = shape.map(() => 1);
  for (let d = shape.length - 2; d >= 0; d--) st[d] = st[d + 1]! * shape[d + 1]!;
  return st;
};
/** The multi-index of flat index i in `shape`. */
const unravel = (i: number, shape: readonly number[]): number[] => {
  const idx = shape.map(() => 0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
};
/** Element of `data` (of `shape`) read with numpy broadcasting at the multi-index `idx` of a larger shape. */
const at = (data: readonly number[], shape: readonly number[], idx: readonly number[]): number => {
  const st = rowMajor(shape);
  const off = idx.length - shape.length;
  return data[shape.reduce((acc, n, d) => acc + (n === 1 ? 0 : idx[off + d]! * st[d]!), 0)]!;
};
/** Naive broadcasting binary op into `shape`. */
const naive2 = (
  a: readonly number[],
  as: readonly number[],
  b: readonly number[],
  bs: readonly number[],
  shape: readonly number[],
  f: (x: number, y: number) => number,
): number[] => Array.from({ length: size(shape) }, (_, i) => f(at(a, as, unravel(i, shape)), at(b, bs, unravel(i, shape))));

const exact = { rtol: 0, atol: 0 };
async function expectClose(label: string, t: ct.Tensor, want: readonly number[], tol = exact): Promise<void> {
  const got = Array.from(await t.data());
  expect(closeMessage(label, got, want, tol)).toBeNull();
}

// a / b and a % b through the fast index division (user elementwise kernels calling it), with its reciprocal as
// computed, or scaled by 1 ± 2^-22 (more error than WGSL allows a division: 2.5 ULP), as a GPU whose division is
// less accurate than the IEEE one of software adapters could compute it
const divmodPrimitive = (name: string, part: 'x' | 'y', scale: string) =>
  ct.definePrimitive({
    name,
    shape: ([a]) => ({ shape: a!.shape, dtype: 'i32' }),
    cpu: ([a, b]) => Int32Array.from(a!.data, (x, i) => (part === 'x' ? Math.floor(x / b!.data[i]!) : x % b!.data[i]!)),
    wgsl: {
      kind: 'elementwise',
      expr: `i32(test_divmod(u32(x0), u32(x1)).${part})`,
      prelude: divmodWgsl(true).replace('index_divmod', 'test_divmod').replace('(1.0 / f32(b))', `((1.0 / f32(b)) * ${scale})`),
    },
    ...ct.zeroDerivativeRules(2),
  });
const SCALES = ['1.0', '(1.0 + 0x1p-22f)', '(1.0 - 0x1p-22f)'];
const divPrims = SCALES.map((s, i) => [divmodPrimitive(`webgpuTestFastDiv${i}`, 'x', s), divmodPrimitive(`webgpuTestFastMod${i}`, 'y', s)]);

describe.skipIf(!ok)('WebGPU fast paths against naive references', () => {
  afterAll(() => ct.shutdown());

  it('the f32 index division is exact for dividends below 2^23', async () => {
    const r = rng(7);
    const as: number[] = [];
    const bs: number[] = [];
    const push = (a: number, b: number) => {
      if (a >= 0 && a < 2 ** 23 && b >= 1) {
        as.push(a);
        bs.push(b);
      }
    };
    for (let b = 1; b <= 3000; b++) {
      push(2 ** 23 - 1, b);
      push(2 ** 23 - 1 - b, b);
      const q = Math.floor((2 ** 23 - 1) / b);
      for (const dq of [0, -1, -Math.floor(q / 2)]) {
        for (const dr of [-1, 0, 1]) push((q + dq) * b + dr, b);
      }
    }
    for (let k = 0; k < 20000; k++) {
      const b = 1 + Math.floor(r() ** 3 * (2 ** 23 - 1));
      const q = Math.floor(r() * ((2 ** 23 - 1) / b + 1));
      for (const dr of [-1, 0, 1, b - 1]) push(q * b + dr, b);
      push(Math.floor(r() * 2 ** 23), b);
    }
    const a = ct.tensor(as, { dtype: 'i32' });
    const b = ct.tensor(bs, { dtype: 'i32' });
    for (const [j, [div, mod]] of divPrims.entries()) {
      await expectClose(
        `quotient, reciprocal scaled by ${SCALES[j]}`,
        div!(a, b),
        as.map((x, i) => Math.floor(x / bs[i]!)),
      );
      await expectClose(
        `remainder, reciprocal scaled by ${SCALES[j]}`,
        mod!(a, b),
        as.map((x, i) => x % bs[i]!),
      );
    }
  });

  it('strided maps past the fast division bound (2^23 elements) use the integer division', async () => {
    const [R, C] = [2900, 2901];
    const a = Float32Array.from({ length: R * C }, (_, i) => (i % 1009) - 504);
    const b = Float32Array.from({ length: R }, (_, r) => r * 1024);
    const got = await ct.add(ct.tensor(a, { shape: [R, C] }), ct.tensor(b, { shape: [R, 1] })).data();
    let bad = -1;
    for (let i = 0; i < R * C && bad < 0; i++) if (got[i] !== a[i]! + b[Math.floor(i / C)]!) bad = i;
    expect(bad).toBe(-1);
  });

  it('binary maps: contiguous operands and scalars (flat, vec4 and not), broadcasts (strided)', async () => {
    const cases: [number[], number[]][] = [
      [[1], [1]],
      [[3], [3]],
      [[5], [5]],
      [[4], [4]],
      [[1001], [1001]],
      [[1000], [1000]],
      [
        [7, 9],
        [7, 9],
      ],
      [
        [8, 4],
        [8, 4],
      ],
      [[], [1003]],
      [[1004], []],
      [[1], [6, 4]],
      [[6, 5], [5]],
      [[6, 8], [8]],
      [
        [6, 8],
        [6, 1],
      ],
      [
        [3, 4],
        [3, 1],
      ],
      [[1], [5, 12]],
      [
        [9, 12],
        [1, 12],
      ],
      [
        [5, 1],
        [1, 6],
      ],
      [
        [5, 1],
        [1, 8],
      ],
      [
        [3, 1, 4],
        [5, 1],
      ],
    ];
    for (const [i, [as, bs]] of cases.entries()) {
      const shape = as.length >= bs.length ? [...as] : [...bs];
      for (let d = 1; d <= Math.min(as.length, bs.length); d++) {
        shape[shape.length - d] = Math.max(as[as.length - d]!, bs[bs.length - d]!);
      }
      const a = f32(values(size(as), 10 + i));
      const b = f32(values(size(bs), 40 + i, 'nonzero'));
      const ta = ct.tensor(a, { shape: as });
      const tb = ct.tensor(b, { shape: bs });
      const sh = `[${as}] with [${bs}]`;
      await expectClose(
        `add ${sh}`,
        ct.add(ta, tb),
        naive2(a, as, b, bs, shape, (x, y) => Math.fround(x + y)),
      );
      await expectClose(
        `div ${sh}`,
        ct.div(ta, tb),
        naive2(a, as, b, bs, shape, (x, y) => Math.fround(x / y)),
      );
      await expectClose(
        `greater ${sh}`,
        ct.greater(ta, tb),
        naive2(a, as, b, bs, shape, (x, y) => (x > y ? 1 : 0)),
      );
      const ia = ct.tensor(a.map(Math.round), { shape: as, dtype: 'i32' });
      const ib = ct.tensor(b.map(Math.round), { shape: bs, dtype: 'i32' });
      await expectClose(
        `i32 mul ${sh}`,
        ct.mul(ia, ib),
        naive2(a.map(Math.round), as, b.map(Math.round), bs, shape, (x, y) => Math.imul(x, y)),
      );
    }
  });

  it('unary maps, casts and where over odd and multiple-of-4 sizes', async () => {
    for (const n of [1, 2, 3, 4, 13, 16, 257, 1024]) {
      const x = f32(values(n, n, 'any'));
      const t = ct.tensor(x);
      await expectClose(
        `relu ${n}`,
        ct.relu(t),
        x.map((v) => Math.max(v, 0)),
      );
      await expectClose(
        `exp ${n}`,
        ct.exp(t),
        x.map((v) => Math.fround(Math.exp(v))),
        { rtol: 1e-5, atol: 1e-6 },
      );
      await expectClose(
        `cast ${n}`,
        ct.cast(ct.mul(t, 3), 'i32'),
        x.map((v) => Math.trunc(Math.fround(v * 3))),
      );
      const c = values(n, 2 * n, 'bits');
      await expectClose(
        `where ${n}`,
        ct.where(ct.tensor(c, { dtype: 'i32' }), t, -1),
        x.map((v, i) => (c[i] ? v : -1)),
      );
    }
  });

  it('slices and concatenations: offsets that are and are not multiples of 4', async () => {
    const x = f32(values(1030, 3));
    const t = ct.tensor(x);
    for (const [start, len] of [
      [0, 1024],
      [1, 1024],
      [4, 1024],
      [3, 7],
      [8, 1],
      [2, 1027],
    ] as const) {
      await expectClose(`slice ${start}+${len}`, ct.slice(t, [start], [len]), x.slice(start, start + len));
    }
    // 2-D slices and pads: row strides and offsets that are and are not multiples of 4 (rows form or strided)
    const g = f32(values(6 * 12, 4));
    const tg = ct.tensor(g, { shape: [6, 12] });
    for (const [r0, c0, nr, nc] of [
      [1, 4, 4, 8],
      [1, 1, 4, 8],
      [0, 0, 6, 4],
      [2, 3, 3, 5],
    ] as const) {
      const want = Array.from({ length: nr }, (_, r) => g.slice((r0 + r) * 12 + c0, (r0 + r) * 12 + c0 + nc)).flat();
      await expectClose(`slice [6,12] at ${r0},${c0} size ${nr}×${nc}`, ct.slice(tg, [r0, c0], [nr, nc]), want);
    }
    for (const [lo, hi] of [
      [4, 0],
      [1, 3],
    ] as const) {
      const w = 12 + lo + hi;
      const want = Array.from({ length: 6 * w }, (_, i) => {
        const c = i % w;
        return c >= lo && c < lo + 12 ? g[Math.floor(i / w) * 12 + c - lo]! : 0;
      });
      await expectClose(
        `pad [6,12] by ${lo},${hi}`,
        ct.pad(tg, [
          [0, 0],
          [lo, hi],
        ]),
        want,
      );
    }
    const parts = [5, 8, 12, 3].map((n, i) => f32(values(n, 60 + i)));
    await expectClose('concat', ct.concat(parts.map((p) => ct.tensor(p))), parts.flat());
    const m = f32(values(6 * 10, 5));
    const tm = ct.tensor(m, { shape: [6, 10] });
    await expectClose(
      'concat axis 1',
      ct.concat([tm, tm], 1),
      Array.from({ length: 6 }, (_, r) => [...m.slice(r * 10, r * 10 + 10), ...m.slice(r * 10, r * 10 + 10)]).flat(),
    );
  });

  it('transposes: 4×4 tiles (sides multiples of 4, after collapsing) and strided gathers', async () => {
    const cases: [number[], number[] | undefined, 'f32' | 'i32'][] = [
      [[129, 67], undefined, 'f32'],
      [[128, 784], undefined, 'f32'],
      [[128, 10], undefined, 'f32'],
      [[4, 4], undefined, 'f32'],
      [[8, 12], undefined, 'i32'],
      [[12, 6], undefined, 'f32'],
      [[3, 5, 7], undefined, 'f32'],
      [[4, 2, 6], [1, 2, 0], 'f32'],
      [[2, 8, 4], [0, 2, 1], 'f32'],
      [[1, 16, 1, 8], [3, 1, 2, 0], 'i32'],
    ];
    for (const [shape, given, dtype] of cases) {
      const x = values(size(shape), shape[0]! + shape.length, dtype === 'i32' ? 'ints' : 'any').map(
        dtype === 'i32' ? Math.round : Math.fround,
      );
      const perm = given ?? shape.map((_, d) => shape.length - 1 - d);
      const outShape = perm.map((p) => shape[p]!);
      const st = rowMajor(shape);
      const want = Array.from({ length: size(outShape) }, (_, i) => {
        const idx = unravel(i, outShape);
        return x[perm.reduce((acc, p, d) => acc + idx[d]! * st[p]!, 0)]!;
      });
      await expectClose(`transpose [${shape}] by [${perm}] (${dtype})`, ct.transpose(ct.tensor(x, { shape, dtype }), perm), want);
    }
  });

  it('sums and maxima over leading, trailing and all axes', async () => {
    for (const shape of [
      [129, 257],
      [128, 256],
      [3, 1000],
      [1000, 3],
      [130, 7, 3],
    ]) {
      const x = f32(values(size(shape), shape[1]!));
      const t = ct.tensor(x, { shape });
      for (const axes of [[0], [shape.length - 1], shape.map((_, d) => d)]) {
        const kept = shape.map((n, d) => (axes.includes(d) ? 1 : n));
        const nOut = size(kept);
        const sum = new Array<number>(nOut).fill(0);
        const max = new Array<number>(nOut).fill(-Infinity);
        const kst = rowMajor(kept);
        x.forEach((v, i) => {
          const idx = unravel(i, shape);
          const o = idx.reduce((acc, k, d) => acc + (axes.includes(d) ? 0 : k * kst[d]!), 0);
          sum[o] = sum[o]! + v;
          max[o] = Math.max(max[o]!, v);
        });
        await expectClose(`sum [${shape}] over [${axes}]`, ct.sum(t, axes), sum, { rtol: 1e-5, atol: 1e-4 });
        await expectClose(`max [${shape}] over [${axes}]`, ct.max(t, axes), max);
      }
    }
  });

  it('jitted fused kernels: flat (vec4 and not, with scalars), broadcast, and with leading-axis reductions', async () => {
    const lr = 0.1;
    const update = ct.jit((w: ct.Tensor, g: ct.Tensor, s: ct.Tensor) => ct.sub(w, ct.mul(ct.mul(g, s), lr)));
    const reluGradSum = ct.jit((a: ct.Tensor, g: ct.Tensor) => {
      const m = ct.mul(g, ct.greater(a, 0));
      return { m, s0: ct.sum(m, 0), s1: ct.sum(m, 1) };
    });
    for (const shape of [[1], [3], [1003], [1004], [31, 33], [784, 256]]) {
      const n = size(shape);
      const w = f32(values(n, 1));
      const g = f32(values(n, 2));
      const s = Math.fround(1.5);
      await expectClose(
        `update [${shape}]`,
        update(ct.tensor(w, { shape }), ct.tensor(g, { shape }), ct.tensor(s)),
        w.map((v, i) => Math.fround(v - Math.fround(Math.fround(g[i]! * s) * Math.fround(lr)))),
      );
    }
    // rows of quads with a bias along the rows or one value per row (the rows form)
    const biasRelu = ct.jit((a: ct.Tensor, c: ct.Tensor) => ct.relu(ct.add(a, c)));
    for (const [as, cs] of [
      [[128, 256], [256]],
      [
        [7, 12],
        [7, 1],
      ],
      [
        [7, 12],
        [1, 12],
      ],
      [[7, 10], [10]],
    ]) {
      const a = f32(values(size(as!), 11));
      const c = f32(values(size(cs!), 12));
      const want = naive2(a, as!, c, cs!, as!, (x, y) => Math.max(Math.fround(x + y), 0));
      await expectClose(`bias relu [${as}] with [${cs}]`, biasRelu(ct.tensor(a, { shape: as! }), ct.tensor(c, { shape: cs! })), want);
    }
    // broadcasts that collapse to ranks 2 to 6: the strided fused kernel (straight-line offsets up to rank 4, a loop past it)
    const axpy = ct.jit((a: ct.Tensor, c: ct.Tensor) => ct.add(ct.mul(a, 2), c));
    for (const [as, cs] of [
      [
        [7, 1],
        [1, 9],
      ],
      [
        [2, 1, 3],
        [1, 5, 3],
      ],
      [
        [2, 1, 3, 1],
        [1, 4, 1, 5],
      ],
      [
        [2, 1, 3, 1, 2],
        [1, 3, 1, 2, 1],
      ],
      [
        [2, 1, 3, 1, 2, 1],
        [1, 3, 1, 2, 1, 3],
      ],
    ]) {
      const shape = as!.map((n, d) => Math.max(n, cs![d]!));
      const a = f32(values(size(as!), 8));
      const c = f32(values(size(cs!), 9));
      const want = naive2(a, as!, c, cs!, shape, (x, y) => Math.fround(Math.fround(x * 2) + y));
      await expectClose(`fused [${as}] with [${cs}]`, axpy(ct.tensor(a, { shape: as! }), ct.tensor(c, { shape: cs! })), want);
      await expectClose(`eager [${as}] with [${cs}]`, ct.add(ct.mul(ct.tensor(a, { shape: as! }), 2), ct.tensor(c, { shape: cs! })), want);
    }
    // a broadcast input: the strided fused kernel
    const w = f32(values(6 * 5, 3));
    const b = f32(values(5, 4));
    await expectClose(
      'update [6,5] with [5]',
      update(ct.tensor(w, { shape: [6, 5] }), ct.tensor(b, { shape: [5] }), ct.tensor(2)),
      w.map((v, i) => Math.fround(v - Math.fround(Math.fround(b[i % 5]! * 2) * Math.fround(lr)))),
    );
    for (const [R, C] of [
      [129, 131],
      [128, 256],
      [5, 300],
    ] as const) {
      const a = f32(values(R * C, 5));
      const g = f32(values(R * C, 6));
      const m = a.map((v, i) => (v > 0 ? g[i]! : 0));
      const out = reluGradSum(ct.tensor(a, { shape: [R, C] }), ct.tensor(g, { shape: [R, C] }));
      await expectClose(`relu grad [${R},${C}]`, out.m, m);
      const s0 = Array.from({ length: C }, (_, c) => m.filter((_, i) => i % C === c).reduce((x, y) => x + y, 0));
      const s1 = Array.from({ length: R }, (_, r) => m.slice(r * C, r * C + C).reduce((x, y) => x + y, 0));
      await expectClose(`sum axis 0 [${R},${C}]`, out.s0, s0, { rtol: 1e-5, atol: 1e-4 });
      await expectClose(`sum axis 1 [${R},${C}]`, out.s1, s1, { rtol: 1e-5, atol: 1e-4 });
    }
  });
});
