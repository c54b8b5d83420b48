/**
 * The WebGPU backend's fused reductions (src/backends/webgpu/fused.ts,
 * shaders/fused_reduce.wgsl) against the reference (runFusedEagerly: the same
 * nodes and the sum / max primitives one at a time on the backend's ordinary
 * kernels): random kernels with random reductions, and hand-written cases
 * checked against values computed here (softmax-style last-axis max and sum,
 * axis-0 and all-axes sums, NaN in a max, a reduction of an input, two
 * reductions of one node, empty axes, the materialising fallback, large
 * reduced blocks through the workgroup tree). Sums may be folded in another
 * order than the unfused kernel's: f32 sums agree to 1e-5 of the sum of the
 * reduced magnitudes; i32 sums and every max agree exactly. The jitted path
 * (logsumexp, mean of squares) fuses its reductions on this backend.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import type { FusedKernel, FusedNode, FusedReduction } from '../../src/backends/fused.js';
import { getBackendByName } from '../../src/backends/registry.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/WebGpuBackend.js';
import { ConcreteTensor } from '../../src/core/ConcreteTensor.js';
import { scopeAsync } from '../../src/core/memory.js';
import { runFusedEagerly } from '../../src/jit/fused.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { acquireGpu } from '../webgpu/gpu.js';
import { arbFusedKernel, arbInputs, opNode, sameValues } from './fusedKernels.js';

const ok = await acquireGpu();

const gpu = (): WebGpuBackend => getBackendByName('webgpu') as WebGpuBackend;
const f32 = (xs: number[]) => Float32Array.from(xs);
const i32 = (xs: number[]) => Int32Array.from(xs);
const input = (i: number, dtype: DType = 'f32'): FusedNode => ({ kind: 'input', input: i, dtype });
const literal = (value: number, dtype: DType = 'f32'): FusedNode => ({ kind: 'literal', value, dtype });

/** The shape of each output: the kernel's shape, then each reduction's (the reduced axes dropped). */
const outShapes = (k: FusedKernel): number[][] => [
  ...k.outputs.map(() => [...k.shape]),
  ...(k.reductions ?? []).map((r) => k.shape.filter((_, i) => !r.axes.includes(i))),
];
const outDtypes = (k: FusedKernel): DType[] => [...k.outputs, ...(k.reductions ?? []).map((r) => r.node)].map((o) => k.nodes[o]!.dtype);

/** Runs `k` fused on the GPU; returns its outputs' values (elementwise outputs, then reductions). */
function runFused(k: FusedKernel, data: readonly TypedArray[]): Promise<TypedArray[]> {
  return scopeAsync(async () => {
    const b = gpu();
    const ins = k.inputs.map((a, j) => fromTypedArray(data[j]!, a.shape, a.dtype, b));
    const outs = b.runFused(
      k,
      ins.map((t) => t.storageFor('test')),
    );
    const shapes = outShapes(k);
    const dtypes = outDtypes(k);
    expect(outs.length).toBe(shapes.length);
    const ts = outs.map((s, j) => new ConcreteTensor(b, s, shapes[j]!, dtypes[j]!));
    return Promise.all(ts.map((t) => t.data()));
  });
}

/** The reference (one primitive at a time on the GPU), and the sum of magnitudes of each sum's reduced values (its tolerance scale). */
function runEager(k: FusedKernel, data: readonly TypedArray[]): Promise<{ values: TypedArray[]; scales: (TypedArray | null)[] }> {
  return scopeAsync(async () => {
    const ins = k.inputs.map((a, j) => fromTypedArray(data[j]!, a.shape, a.dtype, gpu()));
    const values = await Promise.all(runFusedEagerly(k, ins).map((t) => t.data()));
    // the same kernel with |node| reduced by sum: the scale of each f32 sum's rounding error
    const nodes: FusedNode[] = [...k.nodes];
    const reductions: FusedReduction[] = (k.reductions ?? []).map((r) => {
      nodes.push(opNode('abs', [r.node], k.nodes[r.node]!.dtype));
      return { node: nodes.length - 1, op: 'sum', axes: r.axes };
    });
    const abs = runFusedEagerly({ ...k, nodes, outputs: [], reductions }, ins);
    const scales = await Promise.all(abs.map((t, j) => (k.reductions![j]!.op === 'sum' ? t.data() : null)));
    return { values, scales };
  });
}

/**
 * Elementwise outputs and max reductions agree bit for bit on the software adapters (a hardware driver may contract
 * a product and a sum into a fused multiply-add: 1e-5 relative there, as in fused-webgpu.test.ts); f32 sums to 1e-5
 * of the sum of the reduced magnitudes; i32 sums exactly.
 */
async function expectMatchesEager(k: FusedKernel, data: readonly TypedArray[]): Promise<void> {
  const got = await runFused(k, data);
  const { values: want, scales } = await runEager(k, data);
  const hw = gpu().adapterKind === 'hardware' && k.nodes.some((n) => n.dtype === 'f32') ? 1e-5 : 0;
  const fail = (j: number, why: string): never => {
    throw new Error(`output ${j}: ${why}\nkernel: ${JSON.stringify(k, null, 0)}\nsource:\n${gpu().fusedSource(k)}`);
  };
  got.forEach((g, j) => {
    const w = want[j]!;
    const r = j - k.outputs.length;
    const scale = r >= 0 ? scales[r] : null;
    if (!scale || g instanceof Int32Array) {
      const why = sameValues(g, w, hw);
      if (why) fail(j, why);
      return;
    }
    if (g.length !== w.length) fail(j, `lengths ${g.length} vs ${w.length}`);
    for (let i = 0; i < g.length; i++) {
      const [x, y, s] = [g[i]!, w[i]!, scale[i]!];
      if (Object.is(x, y) || x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
      if (Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= 1e-5 * Math.max(s, Number.MIN_VALUE)) continue;
      fail(j, `element ${i}: ${x} vs ${y} (sum of magnitudes ${s})`);
    }
  });
}

/** 1-2 reductions of random nodes over random axis subsets of a random kernel (sometimes without elementwise outputs). */
const arbReducingKernel = (dtype: DType) =>
  arbFusedKernel({ dtype, maxRank: 3, maxDim: 5, maxNodes: 6 }).chain((k) =>
    fc
      .record({
        reds: fc.array(
          fc.record({
            node: fc.nat(),
            op: fc.constantFrom<FusedReduction['op']>('sum', 'max'),
            axes: fc.array(fc.boolean(), { minLength: k.shape.length, maxLength: k.shape.length }),
          }),
          { minLength: 1, maxLength: 2 },
        ),
        keepOutputs: fc.boolean(),
      })
      .map(({ reds, keepOutputs }) => {
        const reductions: FusedReduction[] = reds.map((r) => ({
          node: r.node % k.nodes.length,
          op: r.op,
          axes: r.axes.flatMap((b, i) => (b ? [i] : [])),
        }));
        return { ...k, outputs: keepOutputs ? k.outputs : [], reductions } satisfies FusedKernel;
      }),
  );

/** A random kernel with reductions and random data for its inputs. */
const arbCase = (dtype: DType) => arbReducingKernel(dtype).chain((k) => fc.tuple(fc.constant(k), arbInputs(k)));

describe.skipIf(!ok)('WebGPU fused reductions', () => {
  afterAll(() => ct.shutdown());

  it('the backend fuses reductions', () => {
    expect(gpu().fusesReductions).toBe(true);
  });

  it('random f32 kernels with reductions equal the nodes and reductions run one at a time', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase('f32'), async ([k, data]) => {
        await expectMatchesEager(k, data);
      }),
      { numRuns: 30 },
    );
  });

  it('random i32 kernels with reductions equal the nodes and reductions run one at a time', async () => {
    await fc.assert(
      fc.asyncProperty(arbCase('i32'), async ([k, data]) => {
        await expectMatchesEager(k, data);
      }),
      { numRuns: 30 },
    );
  });

  it('softmax pattern: max along the last axis, and the sum of exp(x - m) along it', async () => {
    const [rows, cols] = [3, 5];
    const x = Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.3) * 4);
    const maxK: FusedKernel = {
      shape: [rows, cols],
      inputs: [{ shape: [rows, cols], dtype: 'f32' }],
      nodes: [input(0)],
      outputs: [],
      reductions: [{ node: 0, op: 'max', axes: [1] }],
    };
    const [m] = await runFused(maxK, [f32(x)]);
    const fx = f32(x);
    const want = Array.from({ length: rows }, (_, r) => Math.max(...fx.subarray(r * cols, (r + 1) * cols)));
    expect(Array.from(m!)).toEqual(want);
    const sumK: FusedKernel = {
      shape: [rows, cols],
      inputs: [
        { shape: [rows, cols], dtype: 'f32' },
        { shape: [rows, 1], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('sub', [0, 1], 'f32'), opNode('exp', [2], 'f32')],
      outputs: [],
      reductions: [{ node: 3, op: 'sum', axes: [1] }],
    };
    const [s] = await runFused(sumK, [fx, m!]);
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let c = 0; c < cols; c++) acc += Math.fround(Math.exp(Math.fround(fx[r * cols + c]! - m![r]!)));
      expect(Math.abs(s![r]! - acc)).toBeLessThanOrEqual(1e-5 * acc);
    }
    await expectMatchesEager(maxK, [fx]);
    await expectMatchesEager(sumK, [fx, m!]);
  });

  it('axis-0 sum of a broadcast product (bias gradient), with the product also an output', async () => {
    const [batch, feat] = [7, 3];
    const g = Array.from({ length: batch * feat }, (_, i) => (i % 5) - 2);
    const s = [0.5, -1, 2];
    const k: FusedKernel = {
      shape: [batch, feat],
      inputs: [
        { shape: [batch, feat], dtype: 'f32' },
        { shape: [feat], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('mul', [0, 1], 'f32')],
      outputs: [2],
      reductions: [{ node: 2, op: 'sum', axes: [0] }],
    };
    const [prod, bias] = await runFused(k, [f32(g), f32(s)]);
    expect(Array.from(prod!)).toEqual(g.map((v, i) => v * s[i % feat]!));
    expect(Array.from(bias!)).toEqual(s.map((sv, f) => g.filter((_, i) => i % feat === f).reduce((a, v) => a + v * sv, 0)));
    await expectMatchesEager(k, [f32(g), f32(s)]);
  });

  it('all-axes sum (scalar output): mean of squares, f32 and i32', async () => {
    const x = Array.from({ length: 24 }, (_, i) => i - 11.5);
    const k: FusedKernel = {
      shape: [2, 3, 4],
      inputs: [{ shape: [2, 3, 4], dtype: 'f32' }],
      nodes: [input(0), opNode('square', [0], 'f32')],
      outputs: [],
      reductions: [{ node: 1, op: 'sum', axes: [0, 1, 2] }],
    };
    const [s] = await runFused(k, [f32(x)]);
    expect(s!.length).toBe(1);
    expect(s![0]).toBe(x.reduce((a, v) => a + v * v, 0));
    const ki: FusedKernel = {
      shape: [3, 4],
      inputs: [{ shape: [3, 4], dtype: 'i32' }],
      nodes: [input(0, 'i32'), opNode('square', [0], 'i32')],
      outputs: [],
      reductions: [{ node: 1, op: 'sum', axes: [0, 1] }],
    };
    const xi = Array.from({ length: 12 }, (_, i) => i * 3 - 17);
    expect(Array.from((await runFused(ki, [i32(xi)]))[0]!)).toEqual([xi.reduce((a, v) => a + v * v, 0)]);
    await expectMatchesEager(k, [f32(x)]);
  });

  it('NaN in a max propagates; -inf and i32 extremes', async () => {
    const k: FusedKernel = {
      shape: [3, 4],
      inputs: [{ shape: [3, 4], dtype: 'f32' }],
      nodes: [input(0)],
      outputs: [],
      reductions: [
        { node: 0, op: 'max', axes: [1] },
        { node: 0, op: 'max', axes: [0] },
      ],
    };
    const ninf = Number.NEGATIVE_INFINITY;
    const x = [1, Number.NaN, 3, 2, ninf, ninf, ninf, ninf, 5, 6, 7, Number.NaN];
    const [rows, cols] = (await runFused(k, [f32(x)])).map((o) => Array.from(o));
    expect(rows).toEqual([Number.NaN, ninf, Number.NaN]);
    expect(cols).toEqual([5, Number.NaN, 7, Number.NaN]);
    await expectMatchesEager(k, [f32(x)]);
    const ki: FusedKernel = {
      shape: [4],
      inputs: [{ shape: [4], dtype: 'i32' }],
      nodes: [input(0, 'i32')],
      outputs: [],
      reductions: [{ node: 0, op: 'max', axes: [0] }],
    };
    expect(Array.from((await runFused(ki, [i32([-2147483648, -2147483648, -2147483648, -2147483648])]))[0]!)).toEqual([-2147483648]);
  });

  it('a reduction of an input node, and two reductions of the same node', async () => {
    const x = [3, -1, 4, 1, -5, 9];
    const k: FusedKernel = {
      shape: [2, 3],
      inputs: [{ shape: [2, 3], dtype: 'f32' }],
      nodes: [input(0), opNode('neg', [0], 'f32')],
      outputs: [1],
      reductions: [
        { node: 0, op: 'sum', axes: [1] },
        { node: 1, op: 'max', axes: [1] },
        { node: 1, op: 'sum', axes: [1] },
        { node: 0, op: 'max', axes: [0, 1] },
      ],
    };
    const [neg, s, mx, sneg, all] = (await runFused(k, [f32(x)])).map((o) => Array.from(o));
    expect(neg).toEqual(x.map((v) => -v));
    expect(s).toEqual([6, 5]);
    expect(mx).toEqual([1, 5]);
    expect(sneg).toEqual([-6, -5]);
    expect(all).toEqual([9]);
    await expectMatchesEager(k, [f32(x)]);
  });

  it('empty axes: a sum over an empty axis is 0; an empty kept shape gives empty outputs without a dispatch', async () => {
    const k: FusedKernel = {
      shape: [3, 0],
      inputs: [{ shape: [3, 0], dtype: 'f32' }],
      nodes: [input(0), opNode('exp', [0], 'f32')],
      outputs: [],
      reductions: [
        { node: 1, op: 'sum', axes: [1] },
        { node: 1, op: 'sum', axes: [0, 1] },
      ],
    };
    const [rows, all] = (await runFused(k, [f32([])])).map((o) => Array.from(o));
    expect(rows).toEqual([0, 0, 0]);
    expect(all).toEqual([0]);
    const empty: FusedKernel = { ...k, reductions: [{ node: 1, op: 'max', axes: [0] }] };
    const before = gpu().stats().dispatches;
    expect((await runFused(empty, [f32([])]))[0]!.length).toBe(0);
    expect(gpu().stats().dispatches).toBe(before);
    // a reduction over no axes is the node itself
    const none: FusedKernel = {
      shape: [2, 2],
      inputs: [{ shape: [2, 2], dtype: 'f32' }],
      nodes: [input(0), opNode('square', [0], 'f32')],
      outputs: [],
      reductions: [{ node: 1, op: 'sum', axes: [] }],
    };
    expect(Array.from((await runFused(none, [f32([1, 2, 3, 4])]))[0]!)).toEqual([1, 4, 9, 16]);
  });

  it('large reduced blocks go through the workgroup tree; many outputs through one thread each', async () => {
    const [rows, cols] = [3, 1000];
    const x = Array.from({ length: rows * cols }, (_, i) => ((i * 7919) % 1000) / 100 - 5);
    x[1500] = 1e6;
    const k: FusedKernel = {
      shape: [rows, cols],
      inputs: [{ shape: [rows, cols], dtype: 'f32' }],
      nodes: [input(0), opNode('tanh', [0], 'f32'), opNode('mul', [0, 1], 'f32')],
      outputs: [],
      reductions: [
        { node: 0, op: 'max', axes: [1] },
        { node: 2, op: 'sum', axes: [1] },
        { node: 2, op: 'sum', axes: [0, 1] },
      ],
    };
    const [mx] = await runFused(k, [f32(x)]);
    const fx = f32(x);
    expect(Array.from(mx!)).toEqual([0, 1, 2].map((r) => Math.max(...fx.subarray(r * cols, (r + 1) * cols))));
    await expectMatchesEager(k, [fx]);
    const many: FusedKernel = {
      shape: [5000, 3],
      inputs: [{ shape: [5000, 3], dtype: 'i32' }],
      nodes: [input(0, 'i32'), literal(2, 'i32'), opNode('mul', [0, 1], 'i32')],
      outputs: [],
      reductions: [{ node: 2, op: 'sum', axes: [1] }],
    };
    const xi = Array.from({ length: 15000 }, (_, i) => (i % 13) - 6);
    const [si] = await runFused(many, [i32(xi)]);
    expect(Array.from(si!)).toEqual(Array.from({ length: 5000 }, (_, r) => 2 * (xi[3 * r]! + xi[3 * r + 1]! + xi[3 * r + 2]!)));
  });

  it('one pipeline serves a kernel at every shape and set of axes', async () => {
    const make = (shape: number[], axes: number[]): FusedKernel => ({
      shape,
      inputs: [{ shape, dtype: 'f32' }],
      nodes: [input(0), opNode('sigmoid', [0], 'f32')],
      outputs: [],
      reductions: [{ node: 1, op: 'sum', axes }],
    });
    const k1 = make([2, 3], [1]);
    const k2 = make([4, 5, 6], [0, 2]);
    expect(gpu().fusedSource(k1)).toBe(gpu().fusedSource(k2));
    const d1 = [f32([0, 1, 2, 3, 4, 5])];
    await expectMatchesEager(k1, d1);
    const pipelines = gpu().stats().pipelines;
    await runFused(k2, [f32(Array.from({ length: 120 }, (_, i) => i / 10 - 6))]);
    expect(gpu().stats().pipelines).toBe(pipelines);
  });

  it('the reduced node is not stored: one dispatch for a kernel of reductions only', async () => {
    const k: FusedKernel = {
      shape: [4, 8],
      inputs: [
        { shape: [4, 8], dtype: 'f32' },
        { shape: [4, 8], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('sub', [0, 1], 'f32'), opNode('square', [2], 'f32')],
      outputs: [],
      reductions: [
        { node: 3, op: 'sum', axes: [1] },
        { node: 2, op: 'max', axes: [1] },
      ],
    };
    const data = [f32(Array.from({ length: 32 }, (_, i) => i % 7)), f32(Array.from({ length: 32 }, (_, i) => i % 3))];
    const before = gpu().stats().dispatches;
    await runFused(k, data);
    expect(gpu().stats().dispatches - before).toBe(1);
    await expectMatchesEager(k, data);
  });

  it('a kernel binding more buffers than the device allows materialises its reduced nodes, with the same values', async () => {
    const n = gpu().device.limits.maxStorageBuffersPerShaderStage;
    const shape = [2, 3];
    const inputs = Array.from({ length: n }, (_, j) => ({ shape: j % 2 ? [3] : shape, dtype: 'f32' as const }));
    const nodes: FusedNode[] = inputs.map((_, j) => input(j));
    for (let j = 1; j < n; j++) nodes.push(opNode(j % 3 ? 'add' : 'mul', [j === 1 ? 0 : nodes.length - 1, j], 'f32'));
    const last = nodes.length - 1;
    const k: FusedKernel = {
      shape,
      inputs,
      nodes,
      outputs: [last],
      reductions: [
        { node: last, op: 'sum', axes: [1] },
        { node: last, op: 'max', axes: [0, 1] },
        { node: 1, op: 'sum', axes: [0] },
      ],
    };
    const data = inputs.map((a, j) => f32(Array.from({ length: sizeOf(a.shape) }, (_, i) => (i + 1) * (j % 4) - 2)));
    expect(gpu().fusedSource(k)).toContain('materialised');
    await expectMatchesEager(k, data);
  });

  it('jit fuses the reductions of logsumexp and of a mean of squares, with the eager values', async () => {
    const x = ct.tensor(
      Array.from({ length: 4 }, (_, r) => Array.from({ length: 6 }, (_, c) => Math.cos(r * 6 + c) * 3)),
      { dtype: 'f32', backend: 'webgpu' },
    );
    const lse = ct.jit((t: ct.Tensor) => ct.logsumexp(t, 1));
    const msq = ct.jit((t: ct.Tensor) => ct.mean(ct.square(t)));
    const [got1, want1] = [await lse(x).data(), await ct.logsumexp(x, 1).data()];
    const [got2, want2] = [await msq(x).data(), await ct.mean(ct.square(x)).data()];
    expect(sameValues(got1, want1, 1e-5)).toBeNull();
    expect(sameValues(got2, want2, 1e-5)).toBeNull();
    // (the max of logsumexp reads the input itself: it has no elementwise producer to fuse with)
    const text1 = lse.lower(x);
    const text2 = msq.lower(x);
    expect(text1).toMatch(/-> \([^\n]*sum\[axes=1\]/);
    expect(text2).toMatch(/-> \([^\n]*sum\[axes=0,1\]/);
    expect(text2).toContain('fn fold(');
  });
});
