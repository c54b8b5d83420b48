/**
 * Fused reductions on the wasm backend (REDUCE instructions of assembly/fused.ts, compiled by
 * src/backends/wasm/fused.ts). Law: runFused equals runFusedEagerly (the nodes one primitive at a
 * time, then the unfused sum / max kernels): elementwise outputs bit for bit, max exactly (NaN equals
 * NaN), i32 sums exactly, f32 sums within 1e-5 of the sum of the absolute values of the reduced
 * elements (computed here from the reference's values of the reduced node). Random kernels with 1-2
 * random reductions of random nodes over random axis subsets, within one block and across blocks, on
 * one thread and split across workers; hand-written cases (softmax pattern, axis 0, all axes, middle
 * axes, NaN in a max, a reduction of an input, two reductions of one node, empty axes, i32 wrapping);
 * the jitted path end to end.
 */
import type fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FusedKernel, FusedReduction } from '../../src/backends/fused.js';
import { defaultBackend, getBackendByName } from '../../src/backends/registry.js';
import { WasmBackend } from '../../src/backends/wasm/WasmBackend.js';
import * as ct from '../../src/index.js';
import type { TypedArray } from '../../src/tensor/dtype.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  type ArbOptions,
  arbFusedKernel,
  forAllKernels,
  inputNode as input,
  lcgValues as noise,
  naiveReduce,
  opNode,
  resultAvals,
  runFusedAndEager,
  sameValues,
  withReductions,
} from './fusedKernels.js';

let wasm: WasmBackend;

beforeAll(() => {
  defaultBackend();
  wasm = getBackendByName('wasm') as WasmBackend;
});

/** Runs `k` fused on `on` and eagerly on the registered wasm backend; checks every output; returns the fused ones. */
function expectSame(k: FusedKernel, data: readonly TypedArray[], on: WasmBackend = wasm): TypedArray[] {
  const { fused: got, eager: want, reducedValues } = runFusedAndEager(k, data, on, wasm);
  const reds = k.reductions ?? [];
  const avals = resultAvals(k);
  got.forEach((g, j) => {
    const w = want[j]!;
    expect(g.length).toBe(sizeOf(avals[j]!.shape));
    expect(g.constructor).toBe(w.constructor);
    const fail = (why: string): never => {
      throw new Error(`output ${j}: ${why}\n${on.fusedSource(k)}`);
    };
    const r = reds[j - k.outputs.length];
    if (!r || r.op === 'max' || avals[j]!.dtype === 'i32') {
      const diff = sameValues(g, w, 0);
      if (diff) fail(diff);
      return;
    }
    // f32 sums: within 1e-5 of the sum of |reduced elements| (exactly equal where that is not finite)
    const abs = naiveReduce(reducedValues[j - k.outputs.length]!, k.shape, r).abs;
    for (let e = 0; e < g.length; e++) {
      const x = g[e]!;
      const y = w[e]!;
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      if (!(Number.isFinite(abs[e]!) && Math.abs(x - y) <= 1e-5 * abs[e]! + 1e-30)) fail(`element ${e}: ${x} vs ${y} (Σ|x| ${abs[e]})`);
    }
  });
  return got;
}

/** A random kernel with 1-2 random reductions of random nodes over random axis subsets (sometimes without elementwise outputs). */
const arbReduceKernel = (opts: ArbOptions = {}): fc.Arbitrary<FusedKernel> => withReductions(arbFusedKernel(opts));

describe('wasm fused reductions equal the unfused ops (runFusedEagerly)', () => {
  it('the wasm backend fuses reductions', () => {
    expect(wasm.fusesReductions).toBe(true);
  });

  it('random f32 kernels with random reductions', () => {
    forAllKernels(arbReduceKernel(), expectSame, 150);
  });

  it('random i32 kernels with random reductions', () => {
    forAllKernels(arbReduceKernel({ dtype: 'i32' }), expectSame, 100);
  });

  it('random kernels over more than a block (rows crossing blocks, partial last blocks)', () => {
    forAllKernels(arbReduceKernel({ maxRank: 3, maxDim: 13, maxNodes: 5 }), expectSame, 60);
    forAllKernels(arbReduceKernel({ dtype: 'i32', maxRank: 4, maxDim: 9, maxNodes: 4 }), expectSame, 40);
  });
});

describe('wasm fused reductions: hand-written cases', () => {
  /** exp(x - b) over [rows, cols] with b of [rows, 1], reduced by `reductions`. */
  const expShift = (rows: number, cols: number, reductions: FusedReduction[], outputs: number[] = []): FusedKernel => ({
    shape: [rows, cols],
    inputs: [
      { shape: [rows, cols], dtype: 'f32' },
      { shape: [rows, 1], dtype: 'f32' },
    ],
    nodes: [input(0), input(1), opNode('sub', [0, 1], 'f32'), opNode('exp', [2], 'f32')],
    outputs,
    reductions,
  });

  it('the softmax pattern: max and sum along the last axis, against values computed here', () => {
    const k: FusedKernel = {
      shape: [2, 3],
      inputs: [{ shape: [2, 3], dtype: 'f32' }],
      nodes: [input(0), opNode('exp', [0], 'f32')],
      outputs: [],
      reductions: [
        { node: 0, op: 'max', axes: [1] },
        { node: 1, op: 'sum', axes: [1] },
      ],
    };
    const x = Float32Array.of(1, 3, 2, -1, -5, 0);
    const [mx, s] = expectSame(k, [x]);
    expect(Array.from(mx!)).toEqual([3, 0]);
    expect(s![0]).toBeCloseTo(Math.exp(1) + Math.exp(3) + Math.exp(2), 4);
    expect(s![1]).toBeCloseTo(Math.exp(-1) + Math.exp(-5) + 1, 5);
    // the exp is not materialised: no store, one reduce per reduction
    const text = wasm.fusedSource(k);
    expect(text).not.toMatch(/store/);
    expect(text.match(/reduce /g)?.length).toBe(2);
    expect(text).toMatch(/reduce sum\[axes=1\] v1 -> out1/);
  });

  it('last-axis sum and max of exp(x - b), rows crossing blocks: [37, 100], [3, 1000], [1000, 3], [5, 4096]', () => {
    for (const [rows, cols] of [
      [37, 100],
      [3, 1000],
      [1000, 3],
      [5, 4096],
    ] as const) {
      const k = expShift(
        rows,
        cols,
        [
          { node: 3, op: 'sum', axes: [1] },
          { node: 2, op: 'max', axes: [1] },
        ],
        [3],
      );
      expectSame(k, [noise(rows * cols, rows), noise(rows, cols)]);
    }
  });

  it('axis-0 sum of [batch, features] (a bias gradient), and a middle axis of [4, 300, 5]', () => {
    const k: FusedKernel = {
      shape: [300, 7],
      inputs: [
        { shape: [300, 7], dtype: 'f32' },
        { shape: [300, 1], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('mul', [0, 1], 'f32')],
      outputs: [],
      reductions: [{ node: 2, op: 'sum', axes: [0] }],
    };
    const a = noise(2100, 3);
    const b = noise(300, 4);
    const [got] = expectSame(k, [a, b]);
    for (let j = 0; j < 7; j++) {
      let s = 0;
      for (let i = 0; i < 300; i++) s += Math.fround(a[i * 7 + j]! * b[i]!);
      expect(Math.abs(got![j]! - s)).toBeLessThan(1e-3);
    }
    const mid: FusedKernel = {
      shape: [4, 300, 5],
      inputs: [{ shape: [4, 300, 5], dtype: 'f32' }],
      nodes: [input(0), opNode('square', [0], 'f32')],
      outputs: [1],
      reductions: [
        { node: 1, op: 'sum', axes: [1] },
        { node: 0, op: 'max', axes: [0, 2] },
      ],
    };
    expectSame(mid, [noise(6000, 5)]);
  });

  it('all axes (a scalar output): the mean-of-squares pattern over 70,000 elements, and a rank-0 kernel', () => {
    const k: FusedKernel = {
      shape: [700, 100],
      inputs: [{ shape: [700, 100], dtype: 'f32' }],
      nodes: [input(0), opNode('square', [0], 'f32')],
      outputs: [],
      reductions: [{ node: 1, op: 'sum', axes: [0, 1] }],
    };
    const x = noise(70000, 6);
    const [got] = expectSame(k, [x]);
    expect(got!.length).toBe(1);
    let s = 0;
    for (const v of x) s += Math.fround(v * v);
    expect(Math.abs(got![0]! - s) / s).toBeLessThan(1e-5);
    const r0: FusedKernel = {
      shape: [],
      inputs: [{ shape: [], dtype: 'f32' }],
      nodes: [input(0), opNode('neg', [0], 'f32')],
      outputs: [1],
      reductions: [
        { node: 1, op: 'sum', axes: [] },
        { node: 1, op: 'max', axes: [] },
      ],
    };
    expect(expectSame(r0, [Float32Array.of(2.5)]).map((d) => d[0])).toEqual([-2.5, -2.5, -2.5]);
  });

  it('NaN in a max propagates (at any position of a row, in any lane or the tail)', () => {
    const cols = 11;
    const rows = cols;
    const x = noise(rows * cols, 7);
    for (let r = 0; r < rows; r++) x[r * cols + r] = Number.NaN;
    const k: FusedKernel = {
      shape: [rows + 1, cols],
      inputs: [
        { shape: [rows + 1, cols], dtype: 'f32' },
        { shape: [], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('mul', [0, 1], 'f32')],
      outputs: [],
      reductions: [
        { node: 2, op: 'max', axes: [1] },
        { node: 2, op: 'max', axes: [0] },
      ],
    };
    const data = new Float32Array((rows + 1) * cols);
    data.set(x);
    data.fill(-Infinity, rows * cols);
    const [byRow, byCol] = expectSame(k, [data, Float32Array.of(2)]);
    expect(Array.from(byRow!.subarray(0, rows)).every(Number.isNaN)).toBe(true);
    expect(byRow![rows]).toBe(-Infinity);
    expect(Array.from(byCol!).every(Number.isNaN)).toBe(true);
    // i32 max over rows that start below zero
    const ki: FusedKernel = {
      shape: [3, 5],
      inputs: [{ shape: [3, 5], dtype: 'i32' }],
      nodes: [input(0, 'i32')],
      outputs: [],
      reductions: [{ node: 0, op: 'max', axes: [1] }],
    };
    const [mi] = expectSame(ki, [
      Int32Array.of(-5, -9, -2147483648, -7, -6, 3, 1, 2, 9, 2147483647, -2147483648, -2147483648, -2147483648, -2147483648, -2147483648),
    ]);
    expect(Array.from(mi!)).toEqual([-5, 2147483647, -2147483648]);
  });

  it('a reduction of an input node (read directly, gathered, or a splat), and of a literal', () => {
    const k: FusedKernel = {
      shape: [6, 130],
      inputs: [
        { shape: [6, 130], dtype: 'f32' },
        { shape: [130], dtype: 'f32' },
        { shape: [1, 1], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), input(2), { kind: 'literal', value: 0.5, dtype: 'f32' }],
      outputs: [],
      reductions: [
        { node: 0, op: 'sum', axes: [1] },
        { node: 1, op: 'max', axes: [0] },
        { node: 2, op: 'sum', axes: [0, 1] },
        { node: 3, op: 'sum', axes: [1] },
      ],
    };
    const [, , s2, s3] = expectSame(k, [noise(780, 8), noise(130, 9), Float32Array.of(1.25)]);
    expect(s2![0]).toBe(1.25 * 780);
    expect(Array.from(s3!)).toEqual(new Array(6).fill(65));
  });

  it('two reductions of the same node, and the node also an output', () => {
    const k = expShift(
      9,
      77,
      [
        { node: 3, op: 'sum', axes: [1] },
        { node: 3, op: 'sum', axes: [0] },
        { node: 3, op: 'max', axes: [0, 1] },
      ],
      [3, 2],
    );
    expectSame(k, [noise(9 * 77, 10), noise(9, 11)]);
  });

  it('an empty reduced axis: the sum is 0 (and an empty kept axis gives an empty output)', () => {
    const k: FusedKernel = {
      shape: [3, 0],
      inputs: [{ shape: [3, 0], dtype: 'f32' }],
      nodes: [input(0), opNode('exp', [0], 'f32')],
      outputs: [1],
      reductions: [
        { node: 1, op: 'sum', axes: [1] },
        { node: 1, op: 'sum', axes: [0] },
      ],
    };
    const [o, s1, s0] = expectSame(k, [new Float32Array(0)]);
    expect(o!.length).toBe(0);
    expect(Array.from(s1!)).toEqual([0, 0, 0]);
    expect(s0!.length).toBe(0);
    const ki: FusedKernel = {
      shape: [0, 4],
      inputs: [{ shape: [0, 4], dtype: 'i32' }],
      nodes: [input(0, 'i32')],
      outputs: [],
      reductions: [{ node: 0, op: 'sum', axes: [0] }],
    };
    expect(Array.from(expectSame(ki, [new Int32Array(0)])[0]!)).toEqual([0, 0, 0, 0]);
  });

  it('i32 sums wrap like the unfused kernel', () => {
    const k: FusedKernel = {
      shape: [2, 6],
      inputs: [{ shape: [2, 6], dtype: 'i32' }],
      nodes: [input(0, 'i32'), opNode('square', [0], 'i32')],
      outputs: [],
      reductions: [{ node: 1, op: 'sum', axes: [1] }],
    };
    const big = 2147483647;
    expectSame(k, [Int32Array.of(big, big, 3, 65536, 65536, -1, 1, 2, 3, 4, 5, 6)]);
  });

  it('errors: a reduction of a missing node, unsorted axes, an op other than sum and max', () => {
    const base: FusedKernel = { shape: [2, 3], inputs: [{ shape: [2, 3], dtype: 'f32' }], nodes: [input(0)], outputs: [] };
    expect(() => wasm.fusedSource({ ...base, reductions: [{ node: 4, op: 'sum', axes: [1] }] })).toThrow(/reduction 0.*not a node/);
    expect(() => wasm.fusedSource({ ...base, reductions: [{ node: 0, op: 'sum', axes: [1, 0] }] })).toThrow(/not sorted/);
    expect(() => wasm.fusedSource({ ...base, reductions: [{ node: 0, op: 'prod' as 'sum', axes: [1] }] })).toThrow(/sum and max only/);
    expect(() => wasm.fusedSource(base)).toThrow(/at least one output/);
  });
});

describe('wasm fused reductions split across threads', () => {
  let split: WasmBackend;
  beforeAll(async () => {
    // every splittable call split, the workers running every chunk
    split = await WasmBackend.create({ threads: 3, splitMinWork: 0, callerRuns: false });
  });
  afterAll(() => split.destroy());

  /** expectSame on the split backend, and its results bit for bit those of the unsplit call (sums included). */
  function expectSplitSame(k: FusedKernel, data: readonly TypedArray[]): void {
    const got = expectSame(k, data, split);
    const whole = expectSame(k, data);
    got.forEach((g, j) => {
      const diff = sameValues(g, whole[j]!, 0);
      if (diff) throw new Error(`output ${j}, split vs whole: ${diff}`);
    });
  }

  it('a last-axis reduction splits by rows; a reduction over the leading axis or all axes runs whole', () => {
    const before = split.memoryStats();
    // rows of 37 and of 1500 (a row spans blocks; chunks rounded to whole rows)
    for (const [rows, cols] of [
      [300, 37],
      [40, 1500],
    ] as const) {
      const k = expShift(rows, cols, [
        { node: 3, op: 'sum', axes: [1] },
        { node: 0, op: 'max', axes: [1] },
      ]);
      expectSplitSame(k, [noise(rows * cols, rows), noise(rows, 1)]);
    }
    // [4, 300, 5] reduced over its middle axis: units of 1500 elements
    const mid: FusedKernel = {
      shape: [4, 300, 5],
      inputs: [{ shape: [4, 300, 5], dtype: 'f32' }],
      nodes: [input(0), opNode('exp', [0], 'f32')],
      outputs: [1],
      reductions: [{ node: 1, op: 'sum', axes: [1] }],
    };
    expectSplitSame(mid, [noise(6000, 12)]);
    const after = split.memoryStats();
    expect(after.splitCalls - before.splitCalls).toBe(3);
    expect(after.workerChunks).toBeGreaterThan(before.workerChunks + 3);
    const whole = split.memoryStats().splitCalls;
    expectSame(expShift(300, 37, [{ node: 3, op: 'sum', axes: [0] }]), [noise(11100, 13), noise(300, 14)], split);
    expectSame(expShift(300, 37, [{ node: 3, op: 'max', axes: [0, 1] }]), [noise(11100, 15), noise(300, 16)], split);
    expect(split.memoryStats().splitCalls).toBe(whole);
  });

  it('random kernels with reductions, split: bit for bit the unsplit results', () => {
    forAllKernels(arbReduceKernel({ maxRank: 3, maxDim: 13, maxNodes: 4 }), expectSplitSame, 40);
  });

  /** exp(x - b) over [rows, cols] reduced by `reductions` (as in the hand-written cases). */
  function expShift(rows: number, cols: number, reductions: FusedReduction[]): FusedKernel {
    return {
      shape: [rows, cols],
      inputs: [
        { shape: [rows, cols], dtype: 'f32' },
        { shape: [rows, 1], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('sub', [0, 1], 'f32'), opNode('exp', [2], 'f32')],
      outputs: [],
      reductions,
    };
  }
});

describe('jit with fused reductions on the wasm backend', () => {
  const vals = (t: ct.Tensor) => Float32Array.from(t.dataSync());
  const matrix = (rows: number, cols: number, seed: number) =>
    ct.tensor(
      Array.from({ length: rows }, (_, r) => Array.from(noise(cols, seed + r))),
      { dtype: 'f32', backend: 'wasm' },
    );

  it('logsumexp along axis 1 equals the eager result; lower shows the sum inside the fused kernel', () => {
    const x = matrix(6, 50, 1);
    const f = (t: ct.Tensor) => ct.logsumexp(t, 1);
    const jf = ct.jit(f);
    const diff = sameValues(vals(jf(x)), vals(f(x)), 1e-6);
    if (diff) throw new Error(diff);
    const text = jf.lower(x);
    expect(text).toMatch(/exp[\s\S]*-> \([^)]*sum\[axes=1\] v\d+\)/);
    expect(text).toMatch(/reduce sum\[axes=1\]/);
  });

  it('mean of squares equals the eager result; lower shows a sum over all axes inside the fused kernel', () => {
    const x = matrix(30, 41, 2);
    const f = (t: ct.Tensor) => ct.mean(ct.square(t));
    const jf = ct.jit(f);
    const diff = sameValues(vals(jf(x)), vals(f(x)), 1e-6);
    if (diff) throw new Error(diff);
    expect(jf.lower(x)).toMatch(/-> \([^)]*sum\[axes=0,1\]/);
  });
});
