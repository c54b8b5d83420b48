/**
 * Matmul epilogues on the WebGPU backend (kernel.matmul: the matmul kernel of shaders/matmul*.wgsl with the
 * epilogue's nodes computed where it stores each value of the product, src/backends/webgpu/fused.ts).
 * Law: `runFused` with a matmul equals `runFusedEagerly` (the matmul kernel, then the nodes one primitive at a time
 * through the unfused kernels) bit for bit on the software adapters (NaN equals NaN; a hardware driver may contract
 * a product and a sum into a fused multiply-add: 1e-5 relative there), on random epilogues over random products
 * (m, k, n in 1..40, k a multiple of 4 and not, k = 0, batch dims broadcast), f32 and i32, and for each matmul
 * kernel (forceMatmulVariant); hand-written: bias + relu against values computed here, the product as an output,
 * a scalar scale, the MLP layer 128×784 @ 784×256 + bias, relu; past the storage-buffer limit, the product then the
 * epilogue; clear errors for what is refused. End to end: a jitted dense layer is one dispatch whose `lower` shows
 * `= matmul` and equals the eager layer; a jitted MLP SGD step equals the eager step.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FusedKernel, FusedNode } from '../../src/backends/fused.js';
import { forceMatmulVariant, type MatmulVariant } from '../../src/backends/webgpu/kernels.js';
import { getBackendByName } from '../../src/backends/registry.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/WebGpuBackend.js';
import { ConcreteTensor } from '../../src/core/ConcreteTensor.js';
import { scopeAsync } from '../../src/core/memory.js';
import * as ct from '../../src/index.js';
import { runFusedEagerly } from '../../src/jit/fused.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { broadcastShapes, sizeOf } from '../../src/tensor/shape.js';
import { acquireGpu } from '../webgpu/gpu.js';
import {
  arbFusedKernel,
  arbInputs,
  broadcastable,
  bufferAvals,
  epilogueData,
  epilogueKernel,
  literalNode as literal,
  opNode,
  sameValues,
  seededValues,
} from './fusedKernels.js';

const ok = await acquireGpu();

const gpu = (): WebGpuBackend => getBackendByName('webgpu') as WebGpuBackend;

/** Runs `k` fused and eagerly (the matmul primitive, then the nodes) on the GPU; the outputs' data of each. */
function runBoth(k: FusedKernel, data: readonly TypedArray[]): Promise<{ got: TypedArray[]; want: TypedArray[] }> {
  return scopeAsync(async () => {
    const b = gpu();
    const xs = bufferAvals(k).map((a, i) => fromTypedArray(data[i]!, a.shape, a.dtype, b));
    const outs = b.runFused(
      k,
      xs.map((x) => x.storageFor('test')),
    );
    expect(outs.length).toBe(k.outputs.length);
    const got = await Promise.all(outs.map((s, j) => new ConcreteTensor(b, s, k.shape, k.nodes[k.outputs[j]!]!.dtype).data()));
    const want = await Promise.all(runFusedEagerly(k, xs).map((t) => t.data()));
    return { got, want };
  });
}

/** The fused outputs equal the eager ones (bit for bit on software adapters; NaN = NaN); returns the fused outputs. */
async function expectSame(k: FusedKernel, data: readonly TypedArray[]): Promise<TypedArray[]> {
  const { got, want } = await runBoth(k, data);
  const tol = gpu().adapterKind === 'hardware' && k.nodes.some((n) => n.dtype === 'f32') ? 1e-5 : 0;
  got.forEach((g, j) => {
    expect(g.length).toBe(sizeOf(k.shape));
    expect(g.constructor).toBe(want[j]!.constructor);
    const diff = sameValues(g, want[j]!, tol);
    if (diff) throw new Error(`output ${j}: ${diff}\nkernel: ${JSON.stringify(k)}\nsource:\n${gpu().fusedSource(k)}`);
  });
  return got;
}

/** Random product shapes: m, n in 1..40, k in 1..40 (a multiple of 4 half the time; 0 now and then), 0-2 broadcast batch dims. */
const arbProduct = fc
  .record({
    m: fc.integer({ min: 1, max: 40 }),
    k: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 10 }).map((q) => 4 * q) },
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) },
      { weight: 1, arbitrary: fc.constant(0) },
    ),
    n: fc.oneof(
      fc.integer({ min: 1, max: 10 }).map((q) => 4 * q),
      fc.integer({ min: 1, max: 40 }),
    ),
    batch: fc.oneof(
      { weight: 3, arbitrary: fc.constant([] as number[]) },
      { weight: 2, arbitrary: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }) },
    ),
  })
  .chain(({ m, k, n, batch }) =>
    fc.record({ aBatch: broadcastable(batch), bBatch: broadcastable(batch) }).map(({ aBatch, bBatch }) => ({
      a: [...aBatch, m, k],
      b: [...bBatch, k, n],
    })),
  );

/** A random epilogue (the nodes of arbFusedKernel) on a random product; sometimes the product is an output too. */
function arbMatmulKernel(dtype: DType): fc.Arbitrary<FusedKernel> {
  return fc.tuple(arbProduct, arbFusedKernel({ dtype, maxNodes: 5, maxRank: 0 }), fc.boolean()).chain(([p, nk, productOut]) => {
    const shape = [...broadcastShapes('matmul', p.a.slice(0, -2), p.b.slice(0, -2)), p.a[p.a.length - 2]!, p.b[p.b.length - 1]!];
    return fc.array(broadcastable(shape), { minLength: nk.inputs.length - 1, maxLength: nk.inputs.length - 1 }).map(
      (extra): FusedKernel => ({
        shape,
        inputs: [{ shape, dtype }, ...extra.map((s) => ({ shape: s, dtype }))],
        nodes: nk.nodes,
        outputs: productOut ? [...nk.outputs, 0] : nk.outputs,
        matmul: { a: { shape: p.a, dtype }, b: { shape: p.b, dtype } },
      }),
    );
  });
}

const arbCase = (dtype: DType) =>
  arbMatmulKernel(dtype).chain((k) => fc.tuple(fc.constant(k), arbInputs({ ...k, inputs: bufferAvals(k) })));

describe.skipIf(!ok)('WebGPU matmul epilogues = the matmul kernel, then the unfused ops', () => {
  afterEach(() => forceMatmulVariant(null));

  it('the backend fuses matmul epilogues', () => {
    expect(gpu().fusesMatmul).toBe(true);
  });

  for (const [dtype, numRuns] of [
    ['f32', 16],
    ['i32', 6],
  ] as const) {
    it(`random ${dtype} epilogues on random products (k a multiple of 4 and not, k = 0, batched, broadcast)`, async () => {
      await fc.assert(
        fc.asyncProperty(arbCase(dtype), async ([k, data]) => {
          await expectSame(k, data);
        }),
        { numRuns },
      );
    });
  }

  it('bias + relu ([m,n] + [n]) with every matmul kernel (tiled, registers, vec4 / avec4), against values computed here', async () => {
    const variants: MatmulVariant[] = ['tiled', 'registers', 'vec4'];
    for (const v of variants) {
      forceMatmulVariant(v);
      for (const [m, kk, n] of [
        [37, 29, 23],
        [33, 40, 12],
        [9, 16, 10],
      ] as const) {
        const k = epilogueKernel([m, kk], [kk, n], [[n]], (f) => [opNode('add', [0, 1], 'f32'), opNode('relu', [f], 'f32')], [3]);
        const data = epilogueData(k, m + n);
        const [got] = await expectSame(k, data);
        const [x, w, b] = data as [Float32Array, Float32Array, Float32Array];
        for (const [i, j] of [
          [0, 0],
          [m - 1, n - 1],
          [m >> 1, n >> 1],
        ] as const) {
          let s = 0;
          for (let q = 0; q < kk; q++) s += x[i * kk + q]! * w[q * n + j]!;
          expect(got![i * n + j]).toBeCloseTo(Math.max(0, s + b[j]!), 4);
        }
        const src = gpu().fusedSource(k);
        expect(src).toMatch(/fn store_c\(i: u32, row: u32, col: u32, p: (vec4<f32>|f32)\)/);
        expect(src).not.toMatch(/var<storage, read_write> c:/);
      }
    }
  });

  it('the product as an output (alone, and beside its epilogue), batched products with every kernel', async () => {
    for (const v of ['tiled', 'registers', 'vec4'] as MatmulVariant[]) {
      forceMatmulVariant(v);
      const alone = epilogueKernel([2, 1, 13, 20], [3, 20, 8], [], () => [], [0]);
      await expectSame(alone, epilogueData(alone, 2));
      const beside = epilogueKernel(
        [3, 1, 19, 12],
        [2, 12, 9],
        [
          [2, 1, 9],
          [19, 1],
        ],
        (f) => [opNode('mul', [0, 1], 'f32'), opNode('sub', [f, 2], 'f32'), opNode('tanh', [f + 1], 'f32')],
        [5, 0, 3],
      );
      await expectSame(beside, epilogueData(beside, 3));
    }
  });

  it('a scalar scale (a literal and a one-element input)', async () => {
    const k = epilogueKernel(
      [20, 50],
      [50, 31],
      [[]],
      (f) => [literal(0.125), opNode('mul', [0, f], 'f32'), opNode('sub', [f + 1, 1], 'f32')],
      [4],
    );
    await expectSame(k, epilogueData(k, 4));
  });

  it('the MLP layer 128×784 @ 784×256 + bias, relu (and the pre-activation as a second output)', async () => {
    const k = epilogueKernel([128, 784], [784, 256], [[256]], (f) => [opNode('add', [0, 1], 'f32'), opNode('relu', [f], 'f32')], [3, 2]);
    await expectSame(k, epilogueData(k, 5));
    // and the classifier's layer (N = 10: scalar stores)
    const c = epilogueKernel([128, 64], [64, 10], [[10]], () => [opNode('add', [0, 1], 'f32')], [2]);
    await expectSame(c, epilogueData(c, 6));
  });

  it('past the storage-buffer limit: the product by the plain kernel, then the epilogue (same values)', async () => {
    const limit = gpu().device.limits.maxStorageBuffersPerShaderStage;
    // enough [n] inputs that a, b, the inputs and the output exceed the limit
    const extra = Array.from({ length: limit - 1 }, () => [7]);
    const k = epilogueKernel(
      [5, 8],
      [8, 7],
      extra,
      (f) => {
        const ops: FusedNode[] = [opNode('add', [0, 1], 'f32')];
        for (let j = 2; j <= extra.length; j++) ops.push(opNode(j % 2 ? 'mul' : 'add', [f + j - 2, j], 'f32'));
        return ops;
      },
      [2 * extra.length],
    );
    expect(2 + extra.length + 1).toBeGreaterThan(limit);
    await expectSame(k, epilogueData(k, 7));
    expect(gpu().fusedSource(k)).toMatch(/the epilogue's buffers exceed one kernel/);
  });

  it('refuses 1-D operands, products of another shape, inner dims that differ, reductions, and missing buffers', () => {
    const base = epilogueKernel([4, 5], [5, 6], [], () => [opNode('neg', [0], 'f32')], [1]);
    const bad = (k: FusedKernel) => () => gpu().fusedSource(k);
    expect(bad({ ...base, matmul: { a: { shape: [5], dtype: 'f32' }, b: { shape: [5, 6], dtype: 'f32' } } })).toThrow(/rank 2 or more/);
    expect(bad({ ...base, matmul: { a: { shape: [4, 5], dtype: 'f32' }, b: { shape: [5, 7], dtype: 'f32' } } })).toThrow(
      /the product \[4,7\] is not the kernel's shape \[4,6\]/,
    );
    expect(bad({ ...base, matmul: { a: { shape: [4, 5], dtype: 'f32' }, b: { shape: [3, 6], dtype: 'f32' } } })).toThrow(
      /inner dims 5 and 3 differ/,
    );
    expect(bad({ ...base, reductions: [{ node: 1, op: 'sum', axes: [1] }] })).toThrow(/no reductions/);
    const b = gpu();
    const s = b.upload(new Float32Array(24), 'f32');
    try {
      expect(() => b.runFused(base, [s])).toThrow(/2 input buffers expected \(a, b of its matmul/);
    } finally {
      b.free(s);
    }
  });
});

describe.skipIf(!ok)('jit fuses dense layers into their matmul on the WebGPU backend', () => {
  afterAll(() => ct.shutdown());

  it('relu(x·w + b) is one dispatch, lower shows `= matmul`, and it equals the eager layer bit for bit', async () => {
    const x = ct.tensor(seededValues(24 * 52, 100), { dtype: 'f32', backend: 'webgpu', shape: [24, 52] });
    const w = ct.tensor(seededValues(52 * 70, 200), { dtype: 'f32', backend: 'webgpu', shape: [52, 70] });
    const b = ct.tensor(Array.from(seededValues(70, 300)), { dtype: 'f32', backend: 'webgpu' });
    const f = (x: ct.Tensor, w: ct.Tensor, b: ct.Tensor) => ct.relu(ct.add(ct.matmul(x, w), b));
    const jf = ct.jit(f);
    const eager = (await f(x, w, b).data()) as Float32Array;
    jf(x, w, b); // traced and planned
    const d0 = ct.debugCounters().dispatches;
    const y = jf(x, w, b);
    expect(ct.debugCounters().dispatches - d0).toBe(1);
    const tol = gpu().adapterKind === 'hardware' ? 1e-5 : 0;
    const diff = sameValues((await y.data()) as Float32Array, eager, tol);
    if (diff) throw new Error(diff);
    const text = jf.lower(x, w, b);
    expect(text).toMatch(/in0:f32\[24,70\] = matmul f32\[24,52\] f32\[52,70\]/);
    expect(text).toMatch(/fn store_c\(/);
  });

  it('a jitted MLP SGD step (loss, gradient, update) equals the eager step', async () => {
    const sizes = [36, 20, 10];
    const batch = 16;
    const mk = () =>
      sizes
        .slice(1)
        .flatMap((n, i) => [
          ct.tensor(seededValues(sizes[i]! * n, 10 + i), { shape: [sizes[i]!, n] }),
          ct.tensor(seededValues(n, 20 + i), { shape: [n] }),
        ]);
    const x = ct.tensor(seededValues(batch * sizes[0]!, 1), { shape: [batch, sizes[0]!] });
    const y = ct.tensor(
      Array.from({ length: batch }, (_, i) => i % 10),
      { dtype: 'i32' },
    );
    const loss = (p: ct.Tensor[]) => {
      let h = x;
      for (let i = 0; i < p.length; i += 2) {
        h = ct.add(ct.matmul(h, p[i]!), p[i + 1]!);
        if (i + 2 < p.length) h = ct.relu(h);
      }
      return ct.softmaxCrossEntropy(h, y);
    };
    const step = (p: ct.Tensor[]) => {
      const [l, g] = ct.valueAndGrad(loss)(p);
      return { l, p: p.map((w, i) => ct.sub(w, ct.mul((g as ct.Tensor[])[i]!, 0.1))) };
    };
    const eager = step(mk());
    const jstep = ct.jit(step);
    let params = mk();
    let out = jstep(params);
    for (let s = 0; s < 2; s++) {
      params = out.p;
      out = jstep(params); // runs the compiled step again on its own outputs
    }
    const first = jstep(mk());
    expect((await first.l.data())[0]).toBeCloseTo((await eager.l.data())[0]!, 5);
    for (let i = 0; i < eager.p.length; i++) {
      const diff = sameValues((await first.p[i]!.data()) as Float32Array, (await eager.p[i]!.data()) as Float32Array, 1e-5);
      if (diff) throw new Error(`parameter ${i}: ${diff}`);
    }
    expect(Number.isFinite((await out.l.data())[0])).toBe(true);
    expect(jstep.lower(mk())).toMatch(/= matmul/);
  });
});
