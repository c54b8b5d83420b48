/**
 * Law: every WebGPU kernel equals the naive reference (tests/kernels/reference.ts)
 * on random shapes: both matmul kernels ('tiled' and 'registers', pinned with
 * forceMatmulVariant) on sizes across their tiles, the reductions (both entry
 * points: one thread per output and the workgroup tree), argmax, the strided
 * map kernel behind transpose, slice, pad, concat and broadcastTo, and the
 * elementwise maps with broadcasting. Inputs are f32 values; the reference
 * computes in f64 on the same values. Data movement, comparisons, max and
 * argmax must be exact; arithmetic within f32 rounding; sums and products
 * within an f32 accumulation bound that grows with the number of terms.
 * The GPU is acquired as in tests/webgpu (a loud skip without an adapter; a
 * failure under CI=true).
 */
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import * as ct from '../../src/index.js';
import { forceMatmulVariant, type MatmulVariant } from '../../src/backends/webgpu/kernels.js';
import { acquireGpu } from '../webgpu/gpu.js';
import { argmaxChecks, concatBroadcastChecks, expectChecksAsync, matmulChecks, stridedChecks } from './checks.js';
import * as ref from './reference.js';
import {
  argmaxArb,
  array,
  broadcastShapesArb,
  concatArb,
  expectMatches,
  matmulArb,
  padArb,
  reduceArb,
  seedArb,
  shapeArb,
  sliceArb,
  transposeArb,
} from './cases.js';

const ok = await acquireGpu();
const swiftshader = ok && /swiftshader/i.test(ct.backendInfo());

const RUNS = 15;
const gpu = (x: ref.NdArray, dtype: 'f32' | 'i32' = 'f32') =>
  ct.tensor(x.data as number[], { shape: [...x.shape], dtype, backend: 'webgpu' });
const read = async (t: ct.Tensor) => ({ shape: t.shape, data: await t.data() });
/** An async property over `arb`, run with the suite's fixed seed. */
const prop = <T>(arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>, runs = RUNS) =>
  fc.assert(
    fc.asyncProperty(arb, async (v) => {
      await ct.scopeAsync(() => check(v));
      return true;
    }),
    { numRuns: runs },
  );

describe.skipIf(!ok)('WebGPU kernels = naive references', () => {
  afterAll(async () => {
    forceMatmulVariant(null);
    await ct.shutdown();
  });

  // Sizes on both sides of each kernel's blocks: the tiled kernel's 64² tile and
  // 8×4 thread block, the register kernel's 64×128 tile, 32-row thread block and
  // 8-column lane stride. (The register kernel is skipped on SwiftShader, which
  // never uses it and takes about a minute to run it.)
  for (const variant of ['tiled', 'registers'] as const satisfies readonly MatmulVariant[]) {
    it.skipIf(variant === 'registers' && swiftshader)(
      `matmul kernel '${variant}' (batched, broadcast batch dims, odd sizes, f32 and i32)`,
      async () => {
        forceMatmulVariant(variant);
        try {
          await prop(
            fc.tuple(matmulArb([1, 3, 4, 8, 9, 31, 33, 65, 129], [1, 2, 5, 17]), fc.boolean()),
            ([c, int]) => expectChecksAsync(matmulChecks(gpu, c, int, `matmul '${variant}'`), read),
            20,
          );
        } finally {
          forceMatmulVariant(null);
        }
      },
    );
  }

  it('sum and max over any axes (short axes: a thread per output; long axes: the workgroup tree), NaN through max', async () => {
    const long = fc
      .record({ rows: fc.constantFrom(1, 3), len: fc.constantFrom(65, 300, 1500), seed: seedArb, nan: fc.boolean() })
      .map(({ rows, len, seed, nan }) => ({ shape: [rows, len], axes: [1], seed, kind: nan ? ('nan' as const) : ('real' as const) }));
    await prop(fc.oneof(reduceArb('real'), reduceArb('nan'), long), async ({ shape, axes, seed, kind }) => {
      const x = array(shape, seed, kind);
      const terms = axes.reduce((n, a) => n * shape[a]!, 1);
      if (kind === 'real')
        expectMatches(`sum [${shape}] axes [${axes}]`, await read(ct.sum(gpu(x), axes)), ref.sum(x, axes), 1e-6, 3 * 2 ** -24 * terms);
      if (axes.length > 0) expectMatches(`max [${shape}] axes [${axes}] (${kind})`, await read(ct.max(gpu(x), axes)), ref.max(x, axes));
    });
  });

  it('argmax: the first maximum along any axis (ties), f32 with NaN and i32', async () => {
    await prop(fc.tuple(argmaxArb('ints'), fc.constantFrom('ints', 'nan', 'i32')), ([c, kind]) =>
      expectChecksAsync(argmaxChecks(gpu, c, kind), read),
    );
  });

  it('transpose, slice, pad (strided map kernel)', async () => {
    await prop(fc.tuple(transposeArb, sliceArb, padArb), ([t, s, p]) => expectChecksAsync(stridedChecks(gpu, t, s, p), read));
  });

  it('concat and broadcastTo (strided map kernel)', async () => {
    await prop(fc.tuple(concatArb, broadcastShapesArb(2), seedArb), ([c, [from, to], seed]) =>
      expectChecksAsync(concatBroadcastChecks(gpu, c, from!, to!, seed), read),
    );
  });

  it('elementwise maps with broadcasting: arithmetic, comparisons, where, unary maths, cast', async () => {
    const binary: [string, (a: ct.Tensor, b: ct.Tensor) => ct.Tensor, (a: number, b: number) => number][] = [
      ['add', ct.add, (a, b) => a + b],
      ['sub', ct.sub, (a, b) => a - b],
      ['mul', ct.mul, (a, b) => a * b],
      ['maximum', ct.maximum, Math.max],
      ['greater', ct.greater, (a, b) => (a > b ? 1 : 0)],
      ['equal', ct.equal, (a, b) => (a === b ? 1 : 0)],
    ];
    const unary: [string, (x: ct.Tensor) => ct.Tensor, (v: number) => number, number][] = [
      ['neg', ct.neg, (v) => -v, 0],
      ['abs', ct.abs, Math.abs, 0],
      ['square', ct.square, (v) => v * v, 1e-7],
      ['exp', ct.exp, Math.exp, 2e-6],
      ['tanh', ct.tanh, Math.tanh, 2e-6],
    ];
    await prop(
      fc.tuple(broadcastShapesArb(3), seedArb, fc.nat(binary.length - 1), fc.nat(unary.length - 1), shapeArb(4)),
      async ([[sa, sb, sc], seed, bi, ui, su]) => {
        const [bname, bop, bf] = binary[bi]!;
        const a = array(sa!, seed, 'ints');
        const b = array(sb!, seed + 1, 'real');
        expectMatches(
          `${bname} [${sa}] [${sb}]`,
          await read(bop(gpu(a), gpu(b))),
          ref.map((u, v) => Math.fround(bf(u, v)), a, b),
        );
        const c = array(sc!, seed + 2, 'ints');
        expectMatches(`where [${sc}] [${sa}] [${sb}]`, await read(ct.where(gpu(c), gpu(a), gpu(b))), ref.where(c, a, b));
        const [uname, uop, uf, rtol] = unary[ui]!;
        const x = array(su, seed + 3, 'real');
        expectMatches(`${uname} [${su}]`, await read(uop(gpu(x))), ref.map(uf, x), rtol, rtol);
        expectMatches(`cast i32 [${su}]`, await read(ct.cast(gpu(x), 'i32')), ref.map(Math.trunc, x));
      },
    );
  });
});
