/**
 * The vec4 matmul kernels, llvmpipe's when K is a multiple of 4 (matmul_vec4.wgsl
 * when N is one too, else matmul_avec4.wgsl), against a naive triple loop in
 * float64, with the variant pinned: sizes on both sides of their thread blocks
 * (RM = 1, 2, 8, 32 rows; matmul_vec4: CN = 1, 2, 4, 8 column quads of 8 lanes,
 * i.e. N across 32, 64, 128 and 256; matmul_avec4: CN = 1 to 16 columns of 8
 * lanes, N across 8 to 128), rows and columns that end inside a block,
 * broadcast batch dims, 1-D operands, the products of one training step of the
 * benchmark MLP, i32 exactly, and shapes they cannot take (K not a multiple of
 * 4: the register kernel runs them).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { forceMatmulVariant } from '../../src/backends/webgpu/kernels.js';
import { acquireGpu, rng } from './gpu.js';

const ok = await acquireGpu();

/** Broadcast batch shape of two batch shapes (numpy rules). */
function broadcastBatch(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`bad batch shapes [${a}] [${b}]`);
    return Math.max(x, y);
  });
}

/** Naive batched product of row-major [...ba, M, K] and [...bb, K, N] in float64. */
function naive(a: Float64Array, ashape: number[], b: Float64Array, bshape: number[]): { data: Float64Array; shape: number[] } {
  const [M, K] = ashape.slice(-2) as [number, number];
  const N = bshape[bshape.length - 1]!;
  const ba = ashape.slice(0, -2);
  const bb = bshape.slice(0, -2);
  const batch = broadcastBatch(ba, bb);
  const count = batch.reduce((s, d) => s * d, 1);
  const out = new Float64Array(count * M * N);
  const index = (shape: number[], full: number[], flat: number) => {
    // the flat index into `shape` (right-aligned, size-1 dims broadcast) of element `flat` of `full`
    let idx = 0;
    let stride = 1;
    let rem = flat;
    for (let d = full.length - 1; d >= 0; d--) {
      const i = rem % full[d]!;
      rem = Math.floor(rem / full[d]!);
      const sd = d - (full.length - shape.length);
      if (sd >= 0) {
        if (shape[sd]! !== 1) idx += i * stride;
        stride *= shape[sd]!;
      }
    }
    return idx;
  };
  for (let t = 0; t < count; t++) {
    const ao = index(ba, batch, t) * M * K;
    const bo = index(bb, batch, t) * K * N;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ao + i * K + k]! * b[bo + k * N + j]!;
        out[t * M * N + i * N + j] = s;
      }
  }
  return { data: out, shape: [...batch, M, N] };
}

const rand = (n: number, seed: number, int: boolean): number[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => (int ? Math.floor(r() * 7) - 3 : r() * 2 - 1));
};

/** C = A·B on the GPU (variant pinned to vec4) against the naive product; 1-D operands as matmul takes them. */
async function check(ashape: number[], bshape: number[], dtype: 'f32' | 'i32' = 'f32', seed = 1): Promise<void> {
  const na = ashape.reduce((s, d) => s * d, 1);
  const nb = bshape.reduce((s, d) => s * d, 1);
  const int = dtype === 'i32';
  const ad = rand(na, seed, int);
  const bd = rand(nb, seed + 1000, int);
  // f32 inputs as the GPU sees them
  const af = Float64Array.from(int ? ad : Float32Array.from(ad));
  const bf = Float64Array.from(int ? bd : Float32Array.from(bd));
  const a2 = ashape.length === 1 ? [1, ashape[0]!] : ashape;
  const b2 = bshape.length === 1 ? [bshape[0]!, 1] : bshape;
  const want = naive(af, a2, bf, b2);
  let wantShape = want.shape;
  if (ashape.length === 1) wantShape = [...wantShape.slice(0, -2), wantShape[wantShape.length - 1]!];
  if (bshape.length === 1) wantShape = wantShape.slice(0, -1);
  const got = await ct.scopeAsync(async () => {
    const a = ct.tensor(ad, { shape: ashape, dtype, backend: 'webgpu' });
    const b = ct.tensor(bd, { shape: bshape, dtype, backend: 'webgpu' });
    const c = ct.matmul(a, b);
    return { shape: c.shape, data: await c.data() };
  });
  const label = `[${ashape}] @ [${bshape}] ${dtype}`;
  expect(got.shape, label).toEqual(wantShape);
  const K = a2[a2.length - 1]!;
  let bad = 0;
  let first = '';
  for (let i = 0; i < want.data.length; i++) {
    const w = want.data[i]!;
    const g = got.data[i]!;
    const tol = int ? 0 : 1e-5 * Math.abs(w) + 2e-6 * K;
    if (!(Math.abs(g - w) <= tol)) {
      if (bad++ === 0) first = `element ${i}: got ${g}, want ${w}`;
    }
  }
  expect(bad, `${label}: ${bad} wrong, first ${first}`).toBe(0);
}

describe.skipIf(!ok)('WebGPU matmul kernels vec4 = naive product', () => {
  afterAll(async () => {
    forceMatmulVariant(null);
    await ct.shutdown();
  });
  const pinned = (name: string, body: () => Promise<void>) =>
    it(name, async () => {
      forceMatmulVariant('vec4');
      try {
        await body();
      } finally {
        forceMatmulVariant(null);
      }
    });

  pinned('sizes across its row blocks and column quads (M not a multiple of the block, N/4 ending inside a lane stride)', async () => {
    let seed = 1;
    for (const m of [1, 2, 3, 7, 8, 9, 31, 33, 65]) await check([m, 12], [12, 36], 'f32', seed++);
    for (const n of [4, 28, 60, 64, 68, 124, 132, 252, 260]) await check([33, 8], [8, n], 'f32', seed++);
    for (const k of [4, 16, 100]) await check([40, k], [k, 136], 'f32', seed++);
  });

  pinned('N not a multiple of 4 (matmul_avec4.wgsl): widths across its column blocks, batched, i32', async () => {
    let seed = 30;
    for (const n of [1, 3, 5, 9, 10, 15, 17, 31, 33, 63, 65, 127, 129, 131, 257]) await check([35, 8], [8, n], 'f32', seed++);
    for (const m of [1, 2, 7, 9, 33]) await check([m, 12], [12, 10], 'f32', seed++);
    await check([2, 3, 9, 4], [3, 4, 13], 'f32', seed++);
    await check([1, 17, 16], [2, 16, 1], 'f32', seed++);
    await check([37, 20], [20, 130], 'i32', seed++);
  });

  pinned('the products of one training step of the MLP 784-256-128-10 (batch 128)', async () => {
    const shapes: [number, number, number][] = [
      [128, 784, 256],
      [128, 256, 128],
      [128, 128, 10],
      [128, 10, 128],
      [128, 128, 256],
      [256, 128, 128],
      [784, 128, 256],
    ];
    let seed = 50;
    for (const [m, k, n] of shapes) await check([m, k], [k, n], 'f32', seed++);
  });

  pinned('broadcast batch dims and 1-D operands', async () => {
    await check([2, 3, 9, 8], [3, 8, 12], 'f32', 70);
    await check([1, 33, 4], [2, 4, 68], 'f32', 71);
    await check([3, 1, 5, 8], [4, 8, 4], 'f32', 72);
    await check([8], [8, 36], 'f32', 73);
    await check([2, 8, 12], [12], 'f32', 74);
    await check([12], [3, 12, 8], 'f32', 75);
  });

  pinned('i32 exactly', async () => {
    await check([37, 20], [20, 132], 'i32', 80);
    await check([2, 9, 4], [4, 260], 'i32', 81);
  });

  pinned('shapes they cannot take (K not a multiple of 4) fall back to the register kernel', async () => {
    await check([33, 10], [10, 36], 'f32', 90);
    await check([33, 7], [7, 10], 'f32', 91);
    await check([5, 7, 9], [9, 13], 'f32', 92);
  });

  it("the adapter's own choice (vec4 on llvmpipe when it can) on the MLP's first and last products and an odd one", async () => {
    forceMatmulVariant(null);
    await check([128, 784], [784, 256], 'f32', 95);
    await check([128, 128], [128, 10], 'f32', 96);
    await check([17, 10], [10, 3], 'f32', 97);
  });
});
