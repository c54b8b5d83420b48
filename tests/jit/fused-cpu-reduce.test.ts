/**
 * Fused reductions on the CPU backend (src/backends/cpu/fused.ts), generated
 * JavaScript and the interpreter alike: random kernels with random sum / max
 * reductions against the reference (runFusedEagerly: the nodes one primitive
 * at a time, then the sum / max primitives) and against a naive reduction in
 * plain JavaScript of the reference's values; hand-written cases (softmax
 * pattern, axis 0, all axes, NaN, empty axes, i32 wrapping); and the jitted
 * path end to end.
 */
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setFusedInterpreter } from '../../src/backends/cpu/fused.js';
import { cpuBackend } from '../../src/backends/cpu/CpuBackend.js';
import type { FusedKernel } from '../../src/backends/fused.js';
import { getBackendByName } from '../../src/backends/registry.js';
import { ConcreteTensor } from '../../src/core/ConcreteTensor.js';
import * as ct from '../../src/index.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { sizeOf } from '../../src/tensor/shape.js';
import {
  arbFusedKernel,
  asF64,
  asF64Data,
  inputNode as input,
  naiveReduce,
  opNode,
  runFusedAndEager,
  sameValues,
  withInputs,
  withReductions,
} from './fusedKernels.js';

const cpu = getBackendByName('cpu');

/** The fused run and the eager reference of `k` on `data`, read back (with the reference's values of the reduced nodes). */
const runBoth = (k: FusedKernel, data: readonly TypedArray[]) => runFusedAndEager(k, data, cpuBackend);

/** Whether sums agree to the contract's tolerance (relative to the sum of absolute values; i32 exact). */
function sumDiff(a: ArrayLike<number>, b: ArrayLike<number>, abs: ArrayLike<number>, dtype: DType): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  const tol = dtype === 'f32' ? 1e-5 : dtype === 'f64' ? 1e-12 : 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (tol > 0 && Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= tol * Math.max(abs[i]!, Number.MIN_VALUE)) continue;
    return `cell ${i}: ${x} vs ${y} (sum of |values| ${abs[i]})`;
  }
  return null;
}

/**
 * Checks the fused run of `k`: elementwise outputs bit for bit; max reductions bit for bit against the reference and the naive
 * one; sums within the contract's tolerance of both, and (with `exactSums`) bit for bit the reference's.
 */
function expectReference(k: FusedKernel, data: readonly TypedArray[], exactSums = true): void {
  const { fused, eager, reducedValues } = runBoth(k, data);
  const reds = k.reductions ?? [];
  const fail = (what: string, diff: string): never => {
    throw new Error(
      `${what}: ${diff}\n${cpuBackend.fusedSource(k)}\ninputs: ${data.map((d) => `[${Array.from(d).join(', ')}]`).join(' ')}`,
    );
  };
  fused.forEach((f, m) => {
    const e = eager[m]!;
    expect(f.constructor).toBe(e.constructor);
    const r = reds[m - k.outputs.length];
    if (!r || r.op === 'max' || exactSums) {
      const diff = sameValues(f, e, 0);
      if (diff) fail(r ? `reduction ${m - k.outputs.length} (${r.op}) vs the reference` : `output ${m}`, diff);
    }
    if (!r) return;
    const dtype = k.nodes[r.node]!.dtype;
    const naive = naiveReduce(reducedValues[m - k.outputs.length]!, k.shape, r);
    if (r.op === 'max') {
      const diff = sameValues(f, naive.value, 0);
      if (diff) fail(`reduction ${m - k.outputs.length} (max) vs the naive max`, diff);
    } else {
      // the naive sum is a double; stored in the dtype as the kernel stores it
      const stored = dtype === 'f32' ? Float32Array.from(naive.value) : dtype === 'i32' ? Int32Array.from(naive.value) : naive.value;
      const d1 = sumDiff(f, e, naive.abs, dtype);
      if (d1) fail(`reduction ${m - k.outputs.length} (sum) vs the reference`, d1);
      const d2 = sumDiff(f, stored, naive.abs, dtype);
      if (d2) fail(`reduction ${m - k.outputs.length} (sum) vs the naive sum`, d2);
    }
  });
}

/** Pseudo-random values in [-3, 3) (deterministic). */
function noise(n: number, seed = 1): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 6 - 3;
  });
}

const modes = [
  ['generated JavaScript', false],
  ['the interpreter', true],
] as const;

afterEach(() => setFusedInterpreter(false));

describe('cpu fused reductions', () => {
  it('the cpu backend says it fuses reductions', () => {
    expect(cpuBackend.fusesReductions).toBe(true);
  });

  for (const [mode, interpret] of modes) {
    describe(`with ${mode}`, () => {
      it('random f32 kernels with random reductions equal the reference (sums bit for bit, and within tolerance of a naive sum)', () => {
        setFusedInterpreter(interpret);
        fc.assert(
          fc.property(withInputs(withReductions(arbFusedKernel({ dtype: 'f32', maxRank: 4, maxDim: 4, maxNodes: 10 }))), ([k, data]) =>
            expectReference(k, data),
          ),
          { numRuns: 250 },
        );
      });

      it('random i32 kernels with random reductions equal the reference exactly', () => {
        setFusedInterpreter(interpret);
        fc.assert(
          fc.property(withInputs(withReductions(arbFusedKernel({ dtype: 'i32', maxRank: 4, maxDim: 4, maxNodes: 10 }))), ([k, data]) =>
            expectReference(k, data),
          ),
          { numRuns: 200 },
        );
      });

      it('random f64 kernels with random reductions equal the reference', () => {
        setFusedInterpreter(interpret);
        fc.assert(
          fc.property(withInputs(withReductions(arbFusedKernel({ dtype: 'f32', maxRank: 3, maxDim: 4, maxNodes: 10 }))), ([k, data]) =>
            expectReference(asF64(k), asF64Data(data)),
          ),
          { numRuns: 150 },
        );
      });

      it('random kernels of many elements (several interpreter blocks) with reductions equal the reference', () => {
        setFusedInterpreter(interpret);
        fc.assert(
          fc.property(withInputs(withReductions(arbFusedKernel({ dtype: 'f32', maxRank: 3, maxDim: 14, maxNodes: 6 }))), ([k, data]) =>
            expectReference(k, data),
          ),
          { numRuns: 40 },
        );
      });

      it('the softmax pattern: max along the last axis, then the sum of exp(x - max)', () => {
        setFusedInterpreter(interpret);
        const [rows, cols] = [5, 7];
        const x = Float32Array.from(noise(rows * cols, 3));
        const maxK: FusedKernel = {
          shape: [rows, cols],
          inputs: [{ shape: [rows, cols], dtype: 'f32' }],
          nodes: [input(0)],
          outputs: [],
          reductions: [{ node: 0, op: 'max', axes: [1] }],
        };
        const m = runBoth(maxK, [x]).fused[0]!;
        const rowsOf = (r: number) => Array.from(x.subarray(r * cols, (r + 1) * cols));
        expect(Array.from(m)).toEqual(Array.from({ length: rows }, (_, r) => Math.max(...rowsOf(r))));
        expectReference(maxK, [x]);
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
        const s = runBoth(sumK, [x, m as Float32Array]).fused[0]!;
        for (let r = 0; r < rows; r++) {
          const want = rowsOf(r).reduce((acc, v) => acc + Math.fround(Math.exp(Math.fround(v - m[r]!))), 0);
          expect(Math.abs(s[r]! - want)).toBeLessThanOrEqual(1e-6 * want);
        }
        expectReference(sumK, [x, m as Float32Array]);
        // the reduced node is not stored: the kernel has no elementwise output to write
        const src = cpuBackend.fusedSource(sumK);
        expect(src).not.toMatch(/outs\[/);
        expect(src).toMatch(/sum\[axes=1\] v3/);
      });

      it('a sum over axis 0 of a [batch, features] product (bias-gradient pattern), with a broadcast input', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [6, 3],
          inputs: [
            { shape: [6, 3], dtype: 'f32' },
            { shape: [3], dtype: 'f32' },
          ],
          nodes: [input(0), input(1), opNode('mul', [0, 1], 'f32')],
          outputs: [2],
          reductions: [{ node: 2, op: 'sum', axes: [0] }],
        };
        const a = Float32Array.from(noise(18, 5));
        const b = Float32Array.from([0.5, -2, 3]);
        const { fused } = runBoth(k, [a, b]);
        for (let f = 0; f < 3; f++) {
          let want = 0;
          for (let r = 0; r < 6; r++) want += Math.fround(a[r * 3 + f]! * b[f]!);
          expect(fused[1]![f]).toBe(Math.fround(want));
        }
        expectReference(k, [a, b]);
      });

      it('a sum over all axes (mean of squares pattern) gives a scalar', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [3, 4, 5],
          inputs: [{ shape: [3, 4, 5], dtype: 'f32' }],
          nodes: [input(0), opNode('square', [0], 'f32')],
          outputs: [],
          reductions: [{ node: 1, op: 'sum', axes: [0, 1, 2] }],
        };
        const x = Float32Array.from(noise(60, 7));
        const { fused } = runBoth(k, [x]);
        expect(fused[0]!.length).toBe(1);
        expect(fused[0]![0]).toBe(Math.fround(Array.from(x).reduce((acc, v) => acc + Math.fround(v * v), 0)));
        expectReference(k, [x]);
      });

      it('NaN in a max propagates (whatever its position), -Infinity rows and signed zeros stay as the max kernel gives them', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [4, 3],
          inputs: [{ shape: [4, 3], dtype: 'f32' }],
          nodes: [input(0)],
          outputs: [],
          reductions: [
            { node: 0, op: 'max', axes: [1] },
            { node: 0, op: 'max', axes: [0] },
          ],
        };
        const x = Float32Array.from([Number.NaN, 1, 2, 5, Number.NaN, -1, -0, 0, -Infinity, -Infinity, -Infinity, -Infinity]);
        const { fused } = runBoth(k, [x]);
        expect(Array.from(fused[0]!)).toEqual([Number.NaN, Number.NaN, -0, -Infinity]); // -0 comes first and 0 is not greater
        expect(Array.from(fused[1]!)).toEqual([Number.NaN, Number.NaN, 2]);
        expectReference(k, [x]);
        expectReference(k, [Float32Array.from([-0, 0, 0, 0, -0, -0, -0, -0, -0, 3, 2, Number.NaN])]);
      });

      it('a reduction of an input node, and two reductions of the same node', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [2, 3, 4],
          inputs: [
            { shape: [2, 3, 4], dtype: 'f32' },
            { shape: [3, 1], dtype: 'f32' },
          ],
          nodes: [input(0), input(1), opNode('add', [0, 1], 'f32'), opNode('tanh', [2], 'f32')],
          outputs: [3],
          reductions: [
            { node: 1, op: 'sum', axes: [0, 2] },
            { node: 0, op: 'max', axes: [2] },
            { node: 3, op: 'sum', axes: [1] },
            { node: 3, op: 'max', axes: [1] },
            { node: 3, op: 'sum', axes: [0, 1, 2] },
          ],
        };
        const x = Float32Array.from(noise(24, 11));
        const b = Float32Array.from([1, -2, 0.25]);
        const { fused } = runBoth(k, [x, b]);
        // the broadcast input summed over the axes it is broadcast along: 8 copies of each value
        expect(Array.from(fused[1]!)).toEqual([8, -16, 2]);
        expectReference(k, [x, b]);
      });

      it('a sum over an empty axis is 0; empty outputs; single-element and rank-0 kernels', () => {
        setFusedInterpreter(interpret);
        const empty: FusedKernel = {
          shape: [3, 0],
          inputs: [{ shape: [3, 0], dtype: 'f32' }],
          nodes: [input(0), opNode('exp', [0], 'f32')],
          outputs: [1],
          reductions: [
            { node: 1, op: 'sum', axes: [1] },
            { node: 1, op: 'sum', axes: [0] },
            { node: 1, op: 'sum', axes: [0, 1] },
          ],
        };
        const { fused } = runBoth(empty, [new Float32Array(0)]);
        expect(fused.map((f) => Array.from(f))).toEqual([[], [0, 0, 0], [], [0]]);
        expectReference(empty, [new Float32Array(0)]);
        const one: FusedKernel = {
          shape: [1, 1],
          inputs: [{ shape: [1, 1], dtype: 'f32' }],
          nodes: [input(0), opNode('neg', [0], 'f32')],
          outputs: [],
          reductions: [
            { node: 1, op: 'sum', axes: [0, 1] },
            { node: 1, op: 'max', axes: [1] },
            { node: 1, op: 'sum', axes: [] },
          ],
        };
        expect(runBoth(one, [Float32Array.from([2.5])]).fused.map((f) => Array.from(f))).toEqual([[-2.5], [-2.5], [-2.5]]);
        expectReference(one, [Float32Array.from([2.5])]);
        const rank0: FusedKernel = {
          shape: [],
          inputs: [{ shape: [], dtype: 'f64' }],
          nodes: [input(0, 'f64'), opNode('square', [0], 'f64')],
          outputs: [1],
          reductions: [{ node: 1, op: 'sum', axes: [] }],
        };
        expect(runBoth(rank0, [Float64Array.from([3])]).fused.map((f) => Array.from(f))).toEqual([[9], [9]]);
        expectReference(rank0, [Float64Array.from([3])]);
      });

      it('a max over an empty axis is refused with the reason', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [2, 0],
          inputs: [{ shape: [2, 0], dtype: 'f32' }],
          nodes: [input(0)],
          outputs: [],
          reductions: [{ node: 0, op: 'max', axes: [1] }],
        };
        const x = fromTypedArray(new Float32Array(0), [2, 0], 'f32', cpu);
        expect(() => cpuBackend.runFused(k, [x.storageFor('test')])).toThrow(/max over the empty axis 1/);
        x.dispose();
      });

      it('i32 sums accumulate exactly and wrap once when stored, as the unfused sum does', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [2, 3],
          inputs: [{ shape: [2, 3], dtype: 'i32' }],
          nodes: [input(0, 'i32'), { kind: 'literal', value: 1, dtype: 'i32' }, opNode('add', [0, 1], 'i32')],
          outputs: [],
          reductions: [
            { node: 2, op: 'sum', axes: [1] },
            { node: 2, op: 'max', axes: [0] },
          ],
        };
        const big = 2 ** 31 - 2;
        const x = Int32Array.from([big, big, big, -5, 7, -(2 ** 31)]);
        const { fused } = runBoth(k, [x]);
        expect(Array.from(fused[0]!)).toEqual([(3 * (big + 1)) | 0, (-4 + 8 - (2 ** 31 - 1)) | 0]);
        expectReference(k, [x]);
      });

      it('a sum of a constant adds it once per element (not multiplied), as the unfused sum does', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [3, 1000],
          inputs: [],
          nodes: [{ kind: 'literal', value: 0.1, dtype: 'f32' }],
          outputs: [],
          reductions: [{ node: 0, op: 'sum', axes: [1] }],
        };
        let want = 0;
        for (let i = 0; i < 1000; i++) want += Math.fround(0.1);
        const out = cpuBackend.runFused(k, []);
        const t = new ConcreteTensor(cpu, out[0]!, [3], 'f32');
        expect(Array.from(t.dataSync())).toEqual([want, want, want].map(Math.fround));
        t.dispose();
      });

      it('large f32 sums (many blocks, every reduction layout) are bit for bit those of the unfused sum kernel', () => {
        setFusedInterpreter(interpret);
        const shape = [17, 33, 29];
        const x = Float32Array.from(noise(sizeOf(shape), 13));
        const nodes = [input(0), opNode('sin', [0], 'f32'), opNode('mul', [0, 1], 'f32')];
        for (const axes of [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]) {
          const k: FusedKernel = {
            shape,
            inputs: [{ shape, dtype: 'f32' }],
            nodes,
            outputs: [],
            reductions: [{ node: 2, op: 'sum', axes }],
          };
          expectReference(k, [x]);
        }
      });
    });
  }

  it('the generated source folds a last-axis reduction in a local and an axis-0 reduction in place', () => {
    const k = (axes: number[]): FusedKernel => ({
      shape: [4, 8],
      inputs: [{ shape: [4, 8], dtype: 'f32' }],
      nodes: [input(0), opNode('exp', [0], 'f32')],
      outputs: [],
      reductions: [{ node: 1, op: 'sum', axes }],
    });
    const last = cpuBackend.fusedSource(k([1]));
    expect(last).toMatch(/s0 \+= v1;/);
    expect(last).toMatch(/a0\[q0\] = s0;/);
    const first = cpuBackend.fusedSource(k([0]));
    expect(first).toMatch(/a0\[q0\] \+= v1;/);
  });
});

describe('jit with fused reductions on the cpu backend', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'cpu' });
  });

  const vals = (t: ct.Tensor) => Array.from(t.dataSync());

  it('logsumexp along axis 1 equals the eager result, and lower shows the sum inside the fused kernel', () => {
    const x = ct.tensor(
      Array.from({ length: 4 }, (_, r) => noise(6, r + 1)),
      { dtype: 'f32', backend: 'cpu' },
    );
    const f = (t: ct.Tensor) => ct.logsumexp(t, 1);
    const jf = ct.jit(f);
    const got = vals(jf(x));
    const want = vals(f(x));
    const diff = sameValues(Float32Array.from(got), Float32Array.from(want), 1e-6);
    if (diff) throw new Error(diff);
    const text = jf.lower(x);
    // the sum of exp(x - max) runs inside the fused kernel that computes exp(x - max)
    expect(text).toMatch(/exp[\s\S]*-> \([^)]*sum\[axes=1\] v\d+\)/);
  });

  it('mean of squares equals the eager result, and lower shows a sum over all axes inside the fused kernel', () => {
    const x = ct.tensor(
      Array.from({ length: 5 }, (_, r) => noise(3, r + 9)),
      { dtype: 'f32', backend: 'cpu' },
    );
    const f = (t: ct.Tensor) => ct.mean(ct.square(t));
    const jf = ct.jit(f);
    const got = vals(jf(x));
    const want = vals(f(x));
    const diff = sameValues(Float32Array.from(got), Float32Array.from(want), 1e-6);
    if (diff) throw new Error(diff);
    expect(jf.lower(x)).toMatch(/-> \([^)]*sum\[axes=0,1\]/);
  });
});
