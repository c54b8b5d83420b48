/**
 * Fused elementwise kernels on the CPU backend (src/backends/cpu/fused.ts),
 * generated JavaScript and the interpreter alike, against the reference:
 * the same nodes run one primitive at a time (runFusedEagerly), bit for bit.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fusedCodegen, setFusedInterpreter } from '../../src/backends/cpu/fused.js';
import { cpuBackend } from '../../src/backends/cpu/CpuBackend.js';
import { type FusedKernel, isFusedBackend } from '../../src/backends/fused.js';
import { getBackendByName } from '../../src/backends/registry.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import type { TypedArray } from '../../src/tensor/dtype.js';
import { arbFusedKernel, asF64, asF64Data, expectFusedSame, opNode, runFusedAndEager, sameValues, withInputs } from './fusedKernels.js';

const cpu = getBackendByName('cpu');

/** The fused run and the eager reference of `k` on `data`, read back. */
const both = (k: FusedKernel, data: readonly TypedArray[]) => runFusedAndEager(k, data, cpuBackend);

/** Fails naming the kernel, the inputs and the first differing element when the fused run is not the reference bit for bit. */
function expectSame(k: FusedKernel, data: readonly TypedArray[]): void {
  expectFusedSame(k, data, cpuBackend);
}

const modes = [
  ['generated JavaScript', false],
  ['the interpreter', true],
] as const;

afterEach(() => setFusedInterpreter(false));

describe('cpu fused kernels', () => {
  it('the cpu backend is a fused backend, and generates code here', () => {
    expect(isFusedBackend(cpu)).toBe(true);
    expect(fusedCodegen()).toBe(true);
  });

  for (const [mode, interpret] of modes) {
    describe(`with ${mode}`, () => {
      it('random f32 kernels equal the ops run one by one, bit for bit', () => {
        setFusedInterpreter(interpret);
        fc.assert(
          fc.property(withInputs(arbFusedKernel({ dtype: 'f32', maxRank: 4, maxDim: 4, maxNodes: 10 })), ([k, data]) =>
            expectSame(k, data),
          ),
          { numRuns: 200 },
        );
      });

      it('random i32 kernels equal the ops run one by one, bit for bit', () => {
        setFusedInterpreter(interpret);
        fc.assert(
          fc.property(withInputs(arbFusedKernel({ dtype: 'i32', maxRank: 4, maxDim: 4, maxNodes: 10 })), ([k, data]) =>
            expectSame(k, data),
          ),
          { numRuns: 200 },
        );
      });

      it('random f64 kernels equal the ops run one by one, bit for bit', () => {
        setFusedInterpreter(interpret);
        fc.assert(
          fc.property(withInputs(arbFusedKernel({ dtype: 'f32', maxRank: 3, maxDim: 4, maxNodes: 10 })), ([k, data]) =>
            expectSame(asF64(k), asF64Data(data)),
          ),
          { numRuns: 150 },
        );
      });

      it('random kernels over large i32 values wrap as the ops do', () => {
        setFusedInterpreter(interpret);
        const big = fc.oneof(fc.integer(), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, 65536, -46341, 46341));
        fc.assert(
          fc.property(
            arbFusedKernel({ dtype: 'i32', maxRank: 2, maxDim: 4, maxNodes: 8 }).chain((k) =>
              fc.tuple(
                fc.constant(k),
                fc.tuple(
                  ...k.inputs.map((a) => {
                    const n = a.shape.reduce((x, y) => x * y, 1);
                    return fc.array(big, { minLength: n, maxLength: n }).map((v) => Int32Array.from(v));
                  }),
                ),
              ),
            ),
            ([k, data]) => expectSame(k, data),
          ),
          { numRuns: 100 },
        );
      });

      it('broadcasts [3,1] with [1,4]', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [3, 4],
          inputs: [
            { shape: [3, 1], dtype: 'f32' },
            { shape: [1, 4], dtype: 'f32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'input', input: 1, dtype: 'f32' },
            opNode('mul', [0, 1], 'f32'),
            opNode('sub', [2, 0], 'f32'),
          ],
          outputs: [3],
        };
        const a = Float32Array.from([1, 2, 3]);
        const b = Float32Array.from([10, 20, 30, 40]);
        const { fused } = both(k, [a, b]);
        const naive = Float32Array.from({ length: 12 }, (_, i) => {
          const x = a[Math.floor(i / 4)]!;
          return Math.fround(Math.fround(x * b[i % 4]!) - x);
        });
        expect(sameValues(fused[0]!, naive)).toBeNull();
        expectSame(k, [a, b]);
      });

      it('broadcasts a middle axis and leading dims of a higher-rank shape', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [2, 3, 4, 5],
          inputs: [
            { shape: [2, 1, 4, 5], dtype: 'f32' },
            { shape: [3, 1, 1], dtype: 'f32' },
            { shape: [2, 3, 4, 5], dtype: 'f32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'input', input: 1, dtype: 'f32' },
            { kind: 'input', input: 2, dtype: 'f32' },
            opNode('add', [0, 1], 'f32'),
            opNode('mul', [3, 2], 'f32'),
            opNode('tanh', [4], 'f32'),
          ],
          outputs: [5, 3],
        };
        const data = [40, 3, 120].map((n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 2));
        const { fused } = both(k, data);
        const [x, y, z] = data as [Float32Array, Float32Array, Float32Array];
        const naiveAdd = Float32Array.from({ length: 120 }, (_, i) => {
          const [a, b, c, d] = [Math.floor(i / 60), Math.floor(i / 20) % 3, Math.floor(i / 5) % 4, i % 5];
          return x[a * 20 + c * 5 + d]! + y[b]!;
        });
        expect(sameValues(fused[1]!, naiveAdd)).toBeNull();
        expect(
          sameValues(
            fused[0]!,
            naiveAdd.map((v, i) => Math.tanh(Math.fround(v * z[i]!))),
          ),
        ).toBeNull();
        expectSame(k, data);
      });

      it('reads a scalar input once for every element', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [5],
          inputs: [
            { shape: [5], dtype: 'f32' },
            { shape: [], dtype: 'f32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'input', input: 1, dtype: 'f32' },
            { kind: 'literal', value: 0.1, dtype: 'f32' },
            opNode('mul', [1, 2], 'f32'),
            opNode('add', [0, 3], 'f32'),
          ],
          outputs: [4],
        };
        const x = Float32Array.from([0, 1, 2, 3, -4]);
        const s = Float32Array.from([3]);
        const { fused } = both(k, [x, s]);
        const c = Math.fround(3 * Math.fround(0.1));
        expect(Array.from(fused[0]!)).toEqual(Array.from(x, (v) => Math.fround(v + c)));
        expectSame(k, [x, s]);
        if (!interpret) {
          // the single value, the literal and their product are computed before the loop
          const src = cpuBackend.fusedSource(k);
          const loop = src.indexOf('for (');
          for (const line of ['const v1 = x1[0];', 'const v2 = 0.10000000149011612;', 'const v3 = fround(v1 * v2);']) {
            expect(src.indexOf(line)).toBeGreaterThan(-1);
            expect(src.indexOf(line)).toBeLessThan(loop);
          }
        }
      });

      it('shapes of many elements (several interpreter blocks) with broadcasting carried across blocks', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [3, 257, 2],
          inputs: [
            { shape: [257, 1], dtype: 'f32' },
            { shape: [3, 1, 2], dtype: 'f32' },
            { shape: [3, 257, 2], dtype: 'f32' },
            { shape: [1], dtype: 'f32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'input', input: 1, dtype: 'f32' },
            { kind: 'input', input: 2, dtype: 'f32' },
            { kind: 'input', input: 3, dtype: 'f32' },
            opNode('sub', [0, 1], 'f32'),
            opNode('mul', [4, 2], 'f32'),
            opNode('sigmoid', [3], 'f32'),
            opNode('add', [5, 6], 'f32'),
            opNode('less', [0, 1], 'f32'),
          ],
          outputs: [7, 8, 6],
        };
        const data = [257, 6, 1542, 1].map((n, j) => Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.37 + j) * 3));
        const { fused } = both(k, data);
        const [x, y, z, s] = data as [Float32Array, Float32Array, Float32Array, Float32Array];
        const v = s[0]!;
        const sg = Math.fround(v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
        const naive = Float32Array.from({ length: 1542 }, (_, i) => {
          const [a, b, c] = [Math.floor(i / 514), Math.floor(i / 2) % 257, i % 2];
          return Math.fround(Math.fround(Math.fround(x[b]! - y[a * 2 + c]!) * z[i]!) + sg);
        });
        expect(sameValues(fused[0]!, naive)).toBeNull();
        expect(sameValues(fused[2]!, new Float32Array(1542).fill(sg))).toBeNull();
        expectSame(k, data);
      });

      it('runs a 0-size shape to empty outputs', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [0, 3],
          inputs: [
            { shape: [0, 1], dtype: 'f32' },
            { shape: [3], dtype: 'f32' },
            { shape: [], dtype: 'i32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'input', input: 1, dtype: 'f32' },
            { kind: 'input', input: 2, dtype: 'i32' },
            opNode('add', [0, 1], 'f32'),
            opNode('neg', [2], 'i32'),
          ],
          outputs: [3, 4],
        };
        const { fused } = both(k, [new Float32Array(0), Float32Array.from([1, 2, 3]), Int32Array.from([4])]);
        expect(fused[0]).toBeInstanceOf(Float32Array);
        expect(fused[0]!.length).toBe(0);
        expect(fused[1]).toBeInstanceOf(Int32Array);
        expect(fused[1]!.length).toBe(0);
      });

      it('returns several outputs of different dtypes (and the same node twice)', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [2, 3],
          inputs: [
            { shape: [2, 3], dtype: 'f32' },
            { shape: [2, 3], dtype: 'i32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'input', input: 1, dtype: 'i32' },
            opNode('exp', [0], 'f32'),
            opNode('square', [1], 'i32'),
            { kind: 'literal', value: 1, dtype: 'f32' },
            opNode('greater', [2, 4], 'f32'),
            opNode('where', [5, 3, 1], 'i32'),
          ],
          outputs: [2, 6, 5, 2],
        };
        const x = Float32Array.from([-1, 0, 0.5, 1, 2, Number.NaN]);
        const y = Int32Array.from([1, -2, 3, -4, 5, -6]);
        const { fused } = both(k, [x, y]);
        expect(fused.map((f) => f.constructor)).toEqual([Float32Array, Int32Array, Float32Array, Float32Array]);
        const e = Float32Array.from(x, Math.exp);
        expect(sameValues(fused[0]!, e)).toBeNull();
        expect(sameValues(fused[3]!, e)).toBeNull();
        expect(Array.from(fused[1]!)).toEqual([1, -2, 9, 16, 25, -6]);
        expect(Array.from(fused[2]!)).toEqual([0, 0, 1, 1, 1, 0]);
        expectSame(k, [x, y]);
      });

      it('propagates NaN through relu, maximum and minimum', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [4],
          inputs: [
            { shape: [4], dtype: 'f32' },
            { shape: [4], dtype: 'f32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'input', input: 1, dtype: 'f32' },
            opNode('relu', [0], 'f32'),
            opNode('maximum', [0, 1], 'f32'),
            opNode('minimum', [1, 0], 'f32'),
            opNode('maximum', [1, 2], 'f32'),
          ],
          outputs: [2, 3, 4, 5],
        };
        const x = Float32Array.from([Number.NaN, -1, 2, -0]);
        const y = Float32Array.from([1, Number.NaN, 0, 0]);
        const { fused } = both(k, [x, y]);
        const show = (a: TypedArray) => Array.from(a, (v) => (Object.is(v, -0) ? '-0' : String(v)));
        expect(show(fused[0]!)).toEqual(['NaN', '0', '2', '0']);
        expect(show(fused[1]!)).toEqual(['NaN', 'NaN', '2', '-0']);
        expect(show(fused[2]!)).toEqual(['NaN', 'NaN', '0', '0']);
        expect(show(fused[3]!)).toEqual(['NaN', 'NaN', '2', '0']);
        expectSame(k, [x, y]);
      });

      it('wraps i32 overflow as the unfused ops store it (mul of large values, negated -2^31)', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [4],
          inputs: [
            { shape: [4], dtype: 'i32' },
            { shape: [4], dtype: 'i32' },
          ],
          nodes: [
            { kind: 'input', input: 0, dtype: 'i32' },
            { kind: 'input', input: 1, dtype: 'i32' },
            opNode('mul', [0, 1], 'i32'),
            opNode('add', [2, 0], 'i32'),
            opNode('neg', [0], 'i32'),
            opNode('abs', [0], 'i32'),
          ],
          outputs: [2, 3, 4, 5],
        };
        const a = Int32Array.from([2 ** 31 - 1, 123456789, -(2 ** 31), 65536]);
        const b = Int32Array.from([2 ** 31 - 1, 987654321, -1, 65536]);
        const { fused } = both(k, [a, b]);
        expect(Array.from(fused[0]!)).toEqual(Array.from(a, (v, i) => (v * b[i]!) | 0));
        expect(fused[0]![3]).toBe(0);
        expect(fused[2]![2]).toBe(-(2 ** 31));
        expect(fused[3]![2]).toBe(-(2 ** 31));
        expectSame(k, [a, b]);
      });

      it('rounds literals as the unfused ops fill them (f32 rounding, i32 truncation, -0 kept)', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [2],
          inputs: [{ shape: [2], dtype: 'f32' }],
          nodes: [
            { kind: 'input', input: 0, dtype: 'f32' },
            { kind: 'literal', value: 0.1, dtype: 'f32' },
            { kind: 'literal', value: -0, dtype: 'f32' },
            opNode('add', [0, 1], 'f32'),
            opNode('maximum', [2, 0], 'f32'),
            { kind: 'literal', value: 2.7, dtype: 'i32' },
          ],
          outputs: [3, 4, 5],
        };
        expectSame(k, [Float32Array.from([0, -0])]);
      });

      it('an error names the problem when the number of inputs is wrong', () => {
        setFusedInterpreter(interpret);
        const k: FusedKernel = {
          shape: [2],
          inputs: [
            { shape: [2], dtype: 'f32' },
            { shape: [2], dtype: 'f32' },
          ],
          nodes: [{ kind: 'input', input: 0, dtype: 'f32' }, { kind: 'input', input: 1, dtype: 'f32' }, opNode('add', [0, 1], 'f32')],
          outputs: [2],
        };
        const x = fromTypedArray(Float32Array.from([1, 2]), [2], 'f32', cpu);
        expect(() => cpuBackend.runFused(k, [x.storageFor('test')])).toThrow(/2 inputs expected, got 1/);
        const wrong = fromTypedArray(Float32Array.from([1, 2, 3]), [3], 'f32', cpu);
        expect(() => cpuBackend.runFused(k, [x.storageFor('test'), wrong.storageFor('test')])).toThrow(
          /input 1 should hold f32\[2\], got 3 elements of f32/,
        );
        const bad: FusedKernel = { ...k, inputs: [k.inputs[0]!, { shape: [3], dtype: 'f32' }] };
        expect(() => cpuBackend.runFused(bad, [x.storageFor('test'), wrong.storageFor('test')])).toThrow(
          /input 1 of shape \[3\] does not broadcast to \[2\]/,
        );
        const reducing = (axes: number[], node = 2): FusedKernel => ({ ...k, reductions: [{ node, op: 'sum', axes }] });
        const xx = [x.storageFor('test'), x.storageFor('test')];
        expect(() => cpuBackend.runFused(reducing([1]), xx)).toThrow(/reduction 0: axis 1 is out of bounds for rank 1/);
        expect(() => cpuBackend.runFused(reducing([0], 7), xx)).toThrow(/reduction 0 reads node 7, which does not exist/);
        const twoD: FusedKernel = { ...k, shape: [2, 2], reductions: [{ node: 2, op: 'sum', axes: [1, 0] }] };
        expect(() => cpuBackend.runFused(twoD, xx)).toThrow(/axes \[1,0\] are not sorted and distinct/);
        x.dispose();
        wrong.dispose();
      });
    });
  }

  it('the generated source of a simple kernel is one loop', () => {
    const k: FusedKernel = {
      shape: [8],
      inputs: [
        { shape: [8], dtype: 'f32' },
        { shape: [8], dtype: 'f32' },
      ],
      nodes: [
        { kind: 'input', input: 0, dtype: 'f32' },
        { kind: 'input', input: 1, dtype: 'f32' },
        opNode('mul', [0, 1], 'f32'),
        opNode('exp', [2], 'f32'),
        opNode('add', [3, 0], 'f32'),
      ],
      outputs: [4],
    };
    const src = cpuBackend.fusedSource(k);
    expect(src.match(/\bfor \(/g)?.length).toBe(1);
    expect(src).toContain('fround(v0 * v1)');
    expect(src).toContain('f3(v2)');
    setFusedInterpreter(true);
    expect(cpuBackend.fusedSource(k)).toMatch(/interpreted/);
  });

  it('kernels of the same structure share one generated function whatever their shapes', () => {
    const kernel = (shape: number[], b: number[]): FusedKernel => ({
      shape,
      inputs: [
        { shape, dtype: 'f32' },
        { shape: b, dtype: 'f32' },
      ],
      nodes: [{ kind: 'input', input: 0, dtype: 'f32' }, { kind: 'input', input: 1, dtype: 'f32' }, opNode('add', [0, 1], 'f32')],
      outputs: [2],
    });
    expect(cpuBackend.fusedSource(kernel([4, 5], [5]))).toBe(cpuBackend.fusedSource(kernel([7, 2, 3], [1, 2, 3])).replace('7,2,3', '4,5'));
  });
});
