/**
 * The WebGPU backend's fused kernels (generated WGSL, src/backends/webgpu/fused.ts)
 * against the reference: the same nodes run one primitive at a time through
 * the backend's ordinary kernels (runFusedEagerly), on random kernels and
 * data, and against values written out by hand on the edge cases
 * (broadcasting, scalars, empty shapes, several outputs, a where over an i32
 * condition, NaN through relu and maximum, the node-by-node fallback of
 * groups that bind more buffers than the device allows). One pipeline
 * serves a kernel at every shape.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import type { FusedKernel, FusedNode } from '../../src/backends/fused.js';
import { getBackendByName } from '../../src/backends/registry.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/WebGpuBackend.js';
import { ConcreteTensor } from '../../src/core/ConcreteTensor.js';
import { scopeAsync } from '../../src/core/memory.js';
import { runFusedEagerly } from '../../src/jit/fused.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { acquireGpu } from '../webgpu/gpu.js';
import { arbFusedKernel, arbInputs, opNode, sameValues } from './fusedKernels.js';

const ok = await acquireGpu();

const gpu = (): WebGpuBackend => getBackendByName('webgpu') as WebGpuBackend;
const f32 = (xs: number[]) => Float32Array.from(xs);
const i32 = (xs: number[]) => Int32Array.from(xs);
const input = (i: number, dtype: DType = 'f32'): FusedNode => ({ kind: 'input', input: i, dtype });
const literal = (value: number, dtype: DType = 'f32'): FusedNode => ({ kind: 'literal', value, dtype });

/** Runs `k` fused on the GPU; returns its outputs' values. */
function runFused(k: FusedKernel, data: readonly TypedArray[]): Promise<TypedArray[]> {
  return scopeAsync(async () => {
    const b = gpu();
    const ins = k.inputs.map((a, j) => fromTypedArray(data[j]!, a.shape, a.dtype, b));
    const outs = b.runFused(
      k,
      ins.map((t) => t.storageFor('test')),
    );
    expect(outs.length).toBe(k.outputs.length);
    const ts = outs.map((s, j) => new ConcreteTensor(b, s, k.shape, k.nodes[k.outputs[j]!]!.dtype));
    return Promise.all(ts.map((t) => t.data()));
  });
}

/** The reference: the same nodes one primitive at a time on the GPU. */
function runEager(k: FusedKernel, data: readonly TypedArray[]): Promise<TypedArray[]> {
  return scopeAsync(async () => {
    const ins = k.inputs.map((a, j) => fromTypedArray(data[j]!, a.shape, a.dtype, gpu()));
    return Promise.all(runFusedEagerly(k, ins).map((t) => t.data()));
  });
}

/**
 * The kernel computes each node with the primitive's own WGSL expression and converts it to the node's type
 * exactly as the unfused kernels store it, and literals live in variables (never folded when the shader is
 * created), so on the software adapters the results agree bit for bit, f32 as i32. A hardware driver may contract
 * a product and a sum of two nodes into one fused multiply-add (WGSL allows it; the unfused kernels store the
 * product in between, so they cannot), which changes the last bit: there f32 results get a small relative tolerance.
 */
const tolerance = (k: FusedKernel): number => (gpu().adapterKind === 'hardware' && k.nodes.some((n) => n.dtype === 'f32') ? 1e-5 : 0);

async function expectMatchesEager(k: FusedKernel, data: readonly TypedArray[]): Promise<void> {
  const [got, want] = [await runFused(k, data), await runEager(k, data)];
  got.forEach((g, j) => {
    const why = sameValues(g, want[j]!, tolerance(k));
    if (why) throw new Error(`output ${j}: ${why}\nkernel: ${JSON.stringify(k, null, 0)}\nsource:\n${gpu().fusedSource(k)}`);
  });
}

describe.skipIf(!ok)('WebGPU fused kernels', () => {
  afterAll(() => ct.shutdown());

  it('random f32 kernels equal the nodes run one at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbFusedKernel({ dtype: 'f32', maxRank: 3, maxDim: 4, maxNodes: 6 }).chain((k) => fc.tuple(fc.constant(k), arbInputs(k))),
        async ([k, data]) => {
          await expectMatchesEager(k, data);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('random i32 kernels equal the nodes run one at a time', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbFusedKernel({ dtype: 'i32', maxRank: 3, maxDim: 4, maxNodes: 6 }).chain((k) => fc.tuple(fc.constant(k), arbInputs(k))),
        async ([k, data]) => {
          await expectMatchesEager(k, data);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('broadcasts [3,1] against [1,4]', async () => {
    const k: FusedKernel = {
      shape: [3, 4],
      inputs: [
        { shape: [3, 1], dtype: 'f32' },
        { shape: [1, 4], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('mul', [0, 1], 'f32'), literal(0.5), opNode('add', [2, 3], 'f32')],
      outputs: [4],
    };
    const a = [1, 2, 3];
    const b = [10, 20, 30, 40];
    const [out] = await runFused(k, [f32(a), f32(b)]);
    expect(Array.from(out!)).toEqual(a.flatMap((x) => b.map((y) => x * y + 0.5)));
    await expectMatchesEager(k, [f32(a), f32(b)]);
  });

  it('reads a scalar input into every element', async () => {
    const k: FusedKernel = {
      shape: [2, 3],
      inputs: [
        { shape: [2, 3], dtype: 'f32' },
        { shape: [], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('sub', [0, 1], 'f32'), opNode('exp', [2], 'f32')],
      outputs: [2, 3],
    };
    const x = [0, 1, 2, 3, 4, 5];
    const [d, e] = await runFused(k, [f32(x), f32([2])]);
    expect(Array.from(d!)).toEqual(x.map((v) => v - 2));
    expect(e!.length).toBe(6);
    await expectMatchesEager(k, [f32(x), f32([2])]);
  });

  it('a scalar kernel, a kernel without inputs and an empty kernel', async () => {
    const scalar: FusedKernel = {
      shape: [],
      inputs: [{ shape: [], dtype: 'i32' }],
      nodes: [input(0, 'i32'), literal(3, 'i32'), opNode('mul', [0, 1], 'i32')],
      outputs: [2],
    };
    expect(Array.from((await runFused(scalar, [i32([-7])]))[0]!)).toEqual([-21]);
    const noInputs: FusedKernel = {
      shape: [3],
      inputs: [],
      nodes: [literal(2), literal(3), opNode('pow', [0, 1], 'f32')],
      outputs: [2, 0],
    };
    expect((await runFused(noInputs, [])).map((o) => Array.from(o))).toEqual([
      [8, 8, 8],
      [2, 2, 2],
    ]);
    const empty: FusedKernel = {
      shape: [0, 3],
      inputs: [
        { shape: [0, 3], dtype: 'f32' },
        { shape: [3], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('add', [0, 1], 'f32'), opNode('greater', [0, 1], 'f32')],
      outputs: [2, 3],
    };
    const before = gpu().stats().dispatches;
    const outs = await runFused(empty, [f32([]), f32([1, 2, 3])]);
    expect(outs.map((o) => o.length)).toEqual([0, 0]);
    expect(gpu().stats().dispatches).toBe(before);
  });

  it('two outputs of different dtypes, and a where over an i32 condition on f32 values', async () => {
    const k: FusedKernel = {
      shape: [2, 3],
      inputs: [
        { shape: [2, 3], dtype: 'i32' },
        { shape: [2, 3], dtype: 'f32' },
        { shape: [3], dtype: 'f32' },
      ],
      nodes: [
        input(0, 'i32'),
        input(1),
        input(2),
        opNode('where', [0, 1, 2], 'f32'),
        opNode('square', [0], 'i32'),
        opNode('neg', [3], 'f32'),
      ],
      outputs: [5, 4],
    };
    const c = [0, 1, -2, 0, 0, 5];
    const x = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5];
    const y = [-1, -2, -3];
    const [w, sq] = await runFused(k, [i32(c), f32(x), f32(y)]);
    expect(w).toBeInstanceOf(Float32Array);
    expect(sq).toBeInstanceOf(Int32Array);
    expect(Array.from(w!)).toEqual(c.map((v, i) => -(v !== 0 ? x[i]! : y[i % 3]!)));
    expect(Array.from(sq!)).toEqual(c.map((v) => v * v));
    await expectMatchesEager(k, [i32(c), f32(x), f32(y)]);
  });

  it('NaN propagates through relu and maximum; special literals', async () => {
    const k: FusedKernel = {
      shape: [4],
      inputs: [{ shape: [4], dtype: 'f32' }],
      nodes: [
        input(0),
        opNode('relu', [0], 'f32'),
        literal(Number.NaN),
        opNode('maximum', [1, 2], 'f32'),
        literal(0),
        opNode('maximum', [1, 4], 'f32'),
        literal(Number.NEGATIVE_INFINITY),
        opNode('maximum', [0, 6], 'f32'),
        literal(0),
        literal(1),
        opNode('div', [9, 8], 'f32'),
      ],
      outputs: [1, 3, 5, 7, 10],
    };
    const x = [Number.NaN, -1, 2, Number.POSITIVE_INFINITY];
    const [relu, maxNan, max0, maxInf, oneOverZero] = (await runFused(k, [f32(x)])).map((o) => Array.from(o));
    expect(relu).toEqual([Number.NaN, 0, 2, Number.POSITIVE_INFINITY]);
    expect(maxNan).toEqual([Number.NaN, Number.NaN, Number.NaN, Number.NaN]);
    expect(max0).toEqual([Number.NaN, 0, 2, Number.POSITIVE_INFINITY]);
    expect(maxInf).toEqual([Number.NaN, -1, 2, Number.POSITIVE_INFINITY]);
    // (a -0 literal is not used here: shader compilers may treat a constant -0 as +0 — llvmpipe does —, so jit never
    // makes a literal of -0; it stays an input)
    expect(oneOverZero).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    await expectMatchesEager(k, [f32(x)]);
  });

  it('literal-only arithmetic is computed at run time (no shader-creation error on 1/0, log(-1), i32 overflow)', async () => {
    const k: FusedKernel = {
      shape: [2],
      inputs: [{ shape: [2], dtype: 'f32' }],
      nodes: [
        input(0),
        literal(1),
        literal(0),
        opNode('div', [1, 2], 'f32'),
        literal(-1),
        opNode('log', [4], 'f32'),
        opNode('add', [0, 3], 'f32'),
        literal(2147483647, 'i32'),
        opNode('add', [7, 7], 'i32'),
      ],
      outputs: [3, 5, 6, 8],
    };
    const [inf, nan, sum, wrapped] = (await runFused(k, [f32([1, 2])])).map((o) => Array.from(o));
    expect(inf).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(nan!.every(Number.isNaN)).toBe(true);
    expect(sum).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(wrapped).toEqual([-2, -2]);
    await expectMatchesEager(k, [f32([1, 2])]);
  });

  it('a group binding more buffers than the device allows runs node by node, with the same values', async () => {
    const n = gpu().device.limits.maxStorageBuffersPerShaderStage;
    const shape = [2, 3];
    const inputs = Array.from({ length: n }, (_, j) => ({ shape: j % 2 ? [3] : shape, dtype: 'f32' as const }));
    const nodes: FusedNode[] = inputs.map((_, j) => input(j));
    for (let j = 1; j < n; j++) nodes.push(opNode(j % 3 ? 'add' : 'mul', [j === 1 ? 0 : nodes.length - 1, j], 'f32'));
    nodes.push(literal(2), opNode('sub', [nodes.length - 1, nodes.length], 'f32'));
    const k: FusedKernel = { shape, inputs, nodes, outputs: [nodes.length - 1, 0, n, nodes.length - 1] };
    const data = inputs.map((a, j) => f32(Array.from({ length: a.shape.length === 1 ? 3 : 6 }, (_, i) => (i + 1) * (j % 4) - 2)));
    const before = gpu().stats().dispatches;
    const got = await runFused(k, data);
    expect(gpu().stats().dispatches - before).toBeGreaterThan(1);
    const want = await runEager(k, data);
    got.forEach((g, j) => {
      expect(sameValues(g, want[j]!, tolerance(k))).toBeNull();
    });
  });

  it('one pipeline serves a kernel at every shape; dispatches are recorded, not submitted', async () => {
    const make = (shape: number[], bShape: number[]): FusedKernel => ({
      shape,
      inputs: [
        { shape, dtype: 'f32' },
        { shape: bShape, dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('sigmoid', [0], 'f32'), opNode('pow', [2, 1], 'f32'), literal(0.25), opNode('mul', [3, 4], 'f32')],
      outputs: [5],
    });
    const k1 = make([2, 3], [3]);
    const k2 = make([5, 1, 4, 3], [4, 1]);
    expect(gpu().fusedSource(k1)).toBe(gpu().fusedSource(k2));
    const d1 = [f32([0, 1, 2, 3, 4, 5]), f32([1, 2, 3])];
    await runFused(k1, d1);
    const pipelines = gpu().stats().pipelines;
    const d2 = [f32(Array.from({ length: 60 }, (_, i) => i / 10 - 3)), f32([0.5, 1, 2, 3])];
    const got = await scopeAsync(async () => {
      const b = gpu();
      const ins = k2.inputs.map((a, j) => fromTypedArray(d2[j]!, a.shape, a.dtype, b));
      await b.sync();
      const submissions = b.stats().submissions;
      const [s] = b.runFused(
        k2,
        ins.map((t) => t.storageFor('test')),
      );
      expect(b.stats().submissions).toBe(submissions);
      return new ConcreteTensor(b, s!, k2.shape, 'f32').data();
    });
    expect(gpu().stats().pipelines).toBe(pipelines);
    const want = await runEager(k2, d2);
    expect(sameValues(got, want[0]!, tolerance(k2))).toBeNull();
    await expectMatchesEager(k1, d1);
  });
});
