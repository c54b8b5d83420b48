/**
 * Matmul epilogues on the wasm backend (kernel.matmul: matmul_f32_fused / matmul_i32_fused in
 * src/backends/wasm/assembly/matmul.ts, the program of src/backends/wasm/fused.ts run on each block
 * of rows of the product as it is computed).
 * Law: `runFused` with a matmul equals `runFusedEagerly` (the matmul kernel, then the nodes one
 * primitive at a time through the unfused wasm kernels) bit for bit (NaN equals NaN), on random
 * epilogues over random products (m, k, n in 1..40, k = 0 too, batch dims broadcast), f32 and i32;
 * hand-written: bias + relu, the product as an output (alone, twice, and beside others), a scalar
 * scale, the MLP layer 128×784 @ 784×256 + bias, relu, wide products (several column blocks), one
 * or two rows, a 1×1 product, products split across threads (the workers checked to have run
 * chunks), the plain module (not relaxed SIMD) against its own matmul kernel then the epilogue; clear errors for what
 * is refused; end to end: a jitted dense layer is one kernel whose
 * `lower` shows the matmul, and equals the eager layer.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/backends/Backend.js';
import type { FusedKernel, FusedNode } from '../../src/backends/fused.js';
import { defaultBackend, getBackendByName } from '../../src/backends/registry.js';
import { WasmBackend } from '../../src/backends/wasm/WasmBackend.js';
import { scope } from '../../src/core/memory.js';
import * as ct from '../../src/index.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import { lookupPrimitive } from '../../src/ops/primitives.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { broadcastShapes, type Shape, sizeOf } from '../../src/tensor/shape.js';
import {
  arbFusedKernel,
  arbInputs,
  broadcastable,
  bufferAvals,
  epilogueData,
  epilogueKernel,
  expectFusedSame,
  literalNode as literal,
  opNode,
  sameValues,
  seededValues,
} from './fusedKernels.js';

let wasm: WasmBackend;

beforeAll(() => {
  defaultBackend();
  wasm = getBackendByName('wasm') as WasmBackend;
});

/** The fused outputs on `on` equal the eager ones on the registered wasm backend bit for bit (NaN = NaN); returns the fused outputs. */
const expectSame = (k: FusedKernel, data: readonly TypedArray[], on: WasmBackend = wasm): TypedArray[] =>
  expectFusedSame(k, data, on, wasm);

/** Random product shapes: m, k, n in 1..40 (k = 0 now and then), 0 to 2 batch dims, each operand's batch dims broadcast. */
const arbProduct = fc
  .record({
    m: fc.integer({ min: 1, max: 40 }),
    k: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.constant(0) }),
    n: fc.integer({ min: 1, max: 40 }),
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

/**
 * A random epilogue (the nodes of arbFusedKernel) on a random product: input 0 becomes the product,
 * the other inputs broadcast to it; sometimes the product itself is an output too.
 */
function arbMatmulKernel(dtype: DType): fc.Arbitrary<FusedKernel> {
  return fc.tuple(arbProduct, arbFusedKernel({ dtype, maxNodes: 6, maxRank: 0 }), fc.boolean()).chain(([p, nk, productOut]) => {
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

describe('wasm matmul epilogues = the matmul kernel, then the unfused ops', () => {
  for (const dtype of ['f32', 'i32'] as const) {
    it(`random ${dtype} epilogues on random products (batched, broadcast, k = 0) are bitwise the eager result`, () => {
      fc.assert(
        fc.property(
          arbMatmulKernel(dtype).chain((k) => fc.tuple(fc.constant(k), arbInputs({ ...k, inputs: bufferAvals(k) }))),
          ([k, data]) => {
            expectSame(k, data);
          },
        ),
        { numRuns: dtype === 'f32' ? 120 : 50 },
      );
    });
  }

  it('bias + relu: [m,n] + [n], then relu', () => {
    const k = epilogueKernel([37, 29], [29, 23], [[23]], (f) => [opNode('add', [0, 1], 'f32'), opNode('relu', [f], 'f32')], [3]);
    const [got] = expectSame(k, epilogueData(k, 1));
    // against values computed here: relu(x·w + b) with f32 products accumulated in order from f32 sums
    const [x, w, b] = epilogueData(k, 1) as [Float32Array, Float32Array, Float32Array];
    for (const [i, j] of [
      [0, 0],
      [36, 22],
      [17, 5],
    ] as const) {
      let s = 0;
      for (let q = 0; q < 29; q++) s += x[i * 29 + q]! * w[q * 23 + j]!;
      expect(got![i * 23 + j]).toBeCloseTo(Math.max(0, s + b[j]!), 4);
    }
    expect(wasm.fusedSource(k)).toMatch(/epilogue of matmul_f32_fused: in0 = matmul f32\[37,29\] f32\[29,23\] -> scratch/);
  });

  it('the product as an output: alone, twice, and beside its epilogue (written straight to its output)', () => {
    const a = [45, 70];
    const b = [70, 33];
    const alone = epilogueKernel(a, b, [], () => [], [0]);
    expectSame(alone, epilogueData(alone, 2));
    expect(wasm.fusedSource(alone)).toMatch(/-> out0/);
    expectSame(
      epilogueKernel(a, b, [], () => [], [0, 0]),
      epilogueData(alone, 2),
    );
    const beside = epilogueKernel(a, b, [[33]], (f) => [opNode('mul', [0, 1], 'f32'), opNode('tanh', [f], 'f32')], [3, 0, 2]);
    expectSame(beside, epilogueData(beside, 3));
    expect(wasm.fusedSource(beside)).toMatch(/-> out1/);
  });

  it('a scalar scale (a literal and a one-element input)', () => {
    const k = epilogueKernel(
      [20, 50],
      [50, 31],
      [[]],
      (f) => [literal(0.125), opNode('mul', [0, f], 'f32'), opNode('sub', [f + 1, 1], 'f32')],
      [4],
    );
    expectSame(k, epilogueData(k, 4));
  });

  it('the MLP layer 128×784 @ 784×256 + bias, relu (and the pre-activation as a second output)', () => {
    const k = epilogueKernel([128, 784], [784, 256], [[256]], (f) => [opNode('add', [0, 1], 'f32'), opNode('relu', [f], 'f32')], [3, 2]);
    expectSame(k, epilogueData(k, 5));
  });

  it('wide products (several column blocks), one or two rows, a 1×1 product, k = 0, batched with broadcast', () => {
    const bias = (f: number): FusedNode[] => [opNode('add', [0, 1], 'f32'), opNode('sigmoid', [f], 'f32')];
    for (const [a, b, extra] of [
      [[70, 300], [300, 1100], [1100]],
      [[1, 90], [90, 700], [700]],
      [
        [2, 33],
        [33, 9],
        [2, 1],
      ],
      [[1, 5], [5, 1], []],
      [[6, 0], [0, 7], [7]],
      [[3, 1, 19, 40], [2, 40, 600], [600]],
      [
        [4, 70, 12],
        [12, 530],
        [4, 1, 530],
      ],
    ] as const) {
      const k = epilogueKernel(a, b, [extra], bias, [3]);
      expectSame(k, epilogueData(k, a[0] + b[1]));
    }
  });
});

describe('wasm matmul epilogues split across threads', () => {
  let split: WasmBackend;
  beforeAll(async () => {
    // every splittable call split; the workers run every chunk, so a pool that computed nothing would fail
    split = await WasmBackend.create({ threads: 3, splitMinWork: 0, callerRuns: false });
  });
  afterAll(() => split.destroy());

  it('the MLP layer and a wide batched product, split by jobs, equal the unsplit eager result', () => {
    const before = split.memoryStats();
    const mlp = epilogueKernel([300, 784], [784, 256], [[256]], (f) => [opNode('add', [0, 1], 'f32'), opNode('relu', [f], 'f32')], [3]);
    expectSame(mlp, epilogueData(mlp, 6), split);
    const wide = epilogueKernel(
      [2, 130, 64],
      [64, 1030],
      [[1030]],
      (f) => [opNode('mul', [0, 1], 'f32'), opNode('neg', [f], 'f32')],
      [0, 3],
    );
    expectSame(wide, epilogueData(wide, 7), split);
    const after = split.memoryStats();
    expect(after.splitCalls - before.splitCalls).toBeGreaterThanOrEqual(2);
    expect(after.workerChunks).toBeGreaterThan(before.workerChunks);
  });
});

describe('wasm matmul epilogues on the plain module (f32x4.mul + f32x4.add, whatever the engine)', () => {
  let plain: WasmBackend;
  beforeAll(async () => {
    plain = await WasmBackend.create({ threads: 1, relaxed: false });
  });
  afterAll(() => plain.destroy());

  /** The product by the plain module's matmul kernel, then the epilogue as a fused kernel without a matmul: its outputs. */
  function unfusedOnPlain(k: FusedKernel, data: readonly TypedArray[]): TypedArray[] {
    const mm = lookupPrimitive('matmul')!;
    const bufs = bufferAvals(k).map((a, i) => plain.upload(data[i]!, a.dtype));
    const product = plain.run({
      name: 'matmul',
      params: {},
      inputs: [k.matmul!.a, k.matmul!.b].map((a, i) => ({ ...a, storage: bufs[i]! })),
      out: k.inputs[0]!,
      cpu: mm.cpu,
      wasm: mm.wasm,
    });
    const { matmul: _, ...epilogue } = k;
    const outs = plain.runFused(epilogue, [product, ...bufs.slice(2)]);
    const fused = plain.runFused(k, bufs);
    const read = (s: Storage, j: number) => plain.readSync(s, k.nodes[k.outputs[j]!]!.dtype, sizeOf(k.shape));
    const want = outs.map(read);
    const got = fused.map(read);
    for (const s of [...bufs, product, ...outs, ...fused]) plain.free(s);
    got.forEach((g, j) => {
      const diff = sameValues(g, want[j]!, 0);
      if (diff) throw new Error(`output ${j}: ${diff}`);
    });
    return got;
  }

  it('the MLP layer and a wide product equal the plain matmul kernel, then the epilogue', () => {
    expect(plain.relaxed).toBe(false);
    const mlp = epilogueKernel([128, 784], [784, 256], [[256]], (f) => [opNode('add', [0, 1], 'f32'), opNode('relu', [f], 'f32')], [3, 0]);
    unfusedOnPlain(mlp, epilogueData(mlp, 8));
    const wide = epilogueKernel([2, 70, 300], [300, 600], [[600]], (f) => [opNode('sub', [0, 1], 'f32'), opNode('tanh', [f], 'f32')], [3]);
    unfusedOnPlain(wide, epilogueData(wide, 9));
  });
});

describe('wasm matmul epilogues: errors', () => {
  const bad = (k: FusedKernel) => () => wasm.fusedSource(k);

  it('refuses 1-D operands, products of another shape, inner dims that differ, and reductions', () => {
    const base = epilogueKernel([4, 5], [5, 6], [], () => [opNode('neg', [0], 'f32')], [1]);
    expect(bad({ ...base, matmul: { a: { shape: [5], dtype: 'f32' }, b: { shape: [5, 6], dtype: 'f32' } } })).toThrow(/rank 2 or more/);
    expect(bad({ ...base, matmul: { a: { shape: [4, 5], dtype: 'f32' }, b: { shape: [5, 7], dtype: 'f32' } } })).toThrow(
      /the product \[4,7\] is not the kernel's shape \[4,6\]/,
    );
    expect(bad({ ...base, matmul: { a: { shape: [4, 5], dtype: 'f32' }, b: { shape: [3, 6], dtype: 'f32' } } })).toThrow(
      /inner dims 5 and 3 differ/,
    );
    expect(bad({ ...base, reductions: [{ node: 1, op: 'sum', axes: [1] }] })).toThrow(/no reductions/);
  });

  it('refuses buffers that do not match: a count without a and b, a buffer too small', () => {
    const k = epilogueKernel([4, 5], [5, 6], [[6]], () => [opNode('add', [0, 1], 'f32')], [2]);
    scope(() => {
      const t = (s: Shape) => fromTypedArray(new Float32Array(sizeOf(s)), s, 'f32', wasm).storageFor('test');
      expect(() => wasm.runFused(k, [t([4, 6]), t([6])])).toThrow(/3 input buffers \(a, b of its matmul/);
      expect(() => wasm.runFused(k, [t([4, 5]), t([5]), t([6])])).toThrow(/input buffer 1 holds 20 bytes, its shape needs 120/);
    });
  });
});

describe('jit fuses a dense layer into its matmul on the wasm backend', () => {
  it('relu(x·w + b) is one kernel, lower shows `= matmul`, and it equals the eager layer', () => {
    const x = ct.tensor(
      Array.from({ length: 24 }, (_, i) => Array.from(seededValues(50, 100 + i))),
      { dtype: 'f32', backend: 'wasm' },
    );
    const w = ct.tensor(
      Array.from({ length: 50 }, (_, i) => Array.from(seededValues(70, 200 + i))),
      { dtype: 'f32', backend: 'wasm' },
    );
    const b = ct.tensor(Array.from(seededValues(70, 300)), { dtype: 'f32', backend: 'wasm' });
    const f = (x: ct.Tensor, w: ct.Tensor, b: ct.Tensor) => ct.relu(ct.add(ct.matmul(x, w), b));
    const jf = ct.jit(f);
    const eager = Float32Array.from(f(x, w, b).dataSync());
    jf(x, w, b); // traced and planned
    const d0 = ct.debugCounters().dispatches;
    const y = jf(x, w, b);
    expect(ct.debugCounters().dispatches - d0).toBe(1);
    const diff = sameValues(Float32Array.from(y.dataSync()), eager, 0);
    if (diff) throw new Error(diff);
    const text = jf.lower(x, w, b);
    expect(text).toMatch(/in0:f32\[24,70\] = matmul f32\[24,50\] f32\[50,70\]/);
    expect(text).toMatch(/matmul_f32_fused/);
  });
});
