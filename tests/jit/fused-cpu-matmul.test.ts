/**
 * Matmul epilogues on the CPU backend (src/backends/cpu/fused.ts), generated
 * JavaScript and the interpreter alike: random elementwise epilogues on random
 * matmul shapes (m, k, n up to 40, k = 0 too, batched with broadcast batch
 * dims; f32, f64 and i32) against the reference (runFusedEagerly: the matmul
 * primitive, then the nodes one primitive at a time) bit for bit, the product
 * against a naive triple loop; hand-written cases (bias + relu, the product as
 * an output, a scalar scale, the MLP layer's shapes); the checks; and the
 * jitted path end to end (one kernel, `= matmul` in `lower`).
 */
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fusedCodegen, runFusedCpu, setFusedInterpreter } from '../../src/backends/cpu/fused.js';
import { cpuBackend } from '../../src/backends/cpu/CpuBackend.js';
import type { FusedKernel } from '../../src/backends/fused.js';
import { getBackendByName } from '../../src/backends/registry.js';
import { scope } from '../../src/core/memory.js';
import * as ct from '../../src/index.js';
import { runFusedEagerly } from '../../src/jit/fused.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import type { Aval } from '../../src/tensor/Aval.js';
import { allocArray, type DType, type TypedArray } from '../../src/tensor/dtype.js';
import { broadcastStrides, sizeOf, type Shape } from '../../src/tensor/shape.js';
import { arbOps, broadcastable, bufferAvals, inputNode, opNode, opsToNodes, runFusedAndEager } from './fusedKernels.js';

const cpu = getBackendByName('cpu');

afterEach(() => setFusedInterpreter(false));

/** A kernel with a matmul and the data of its runtime inputs `[a, b, input 1, …]`. */
interface Case {
  readonly k: FusedKernel;
  readonly data: readonly TypedArray[];
}

/** The fused kernel's outputs on the cpu backend, read back. */
const runFused = (k: FusedKernel, data: readonly TypedArray[]): TypedArray[] => runFusedAndEager(k, data, cpuBackend).fused;

/** The reference's outputs (the matmul primitive, then the nodes one primitive at a time). */
function runEager(k: FusedKernel, data: readonly TypedArray[]): TypedArray[] {
  return scope(() => {
    const ins = bufferAvals(k).map((a, j) => fromTypedArray(data[j]!, a.shape, a.dtype, cpu));
    return runFusedEagerly(k, ins).map((t) => t.dataSync());
  });
}

/** Same values bit for bit (the sign of zero included); every NaN equals every NaN. */
function identical(a: TypedArray, b: TypedArray): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue;
    return `element ${i}: ${x} vs ${y}`;
  }
  return null;
}

/** A naive matmul (batch dims broadcast): per element a dot product summed in ascending order in a double, stored in the dtype. */
function naiveMatmul(a: TypedArray, sa: Shape, b: TypedArray, sb: Shape, out: Shape, dtype: DType): TypedArray {
  const m = sa[sa.length - 2]!;
  const k = sa[sa.length - 1]!;
  const n = sb[sb.length - 1]!;
  const batch = out.slice(0, -2);
  const as = broadcastStrides(sa.slice(0, -2), batch);
  const bs = broadcastStrides(sb.slice(0, -2), batch);
  const r = allocArray(dtype, sizeOf(out));
  for (let t = 0; t < sizeOf(batch); t++) {
    // the batch index of matrix t, and its matrices of a and b
    let rem = t;
    let ao = 0;
    let bo = 0;
    for (let q = batch.length - 1; q >= 0; q--) {
      const i = rem % batch[q]!;
      rem = Math.floor(rem / batch[q]!);
      ao += i * as[q]!;
      bo += i * bs[q]!;
    }
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ao * m * k + i * k + p]! * b[bo * k * n + p * n + j]!;
        r[t * m * n + i * n + j] = s;
      }
  }
  return r;
}

// ---- random cases ----

/** Random values of `dtype`: small values and a few specials (large integers for i32, to wrap). */
function arbData(dtype: DType, n: number): fc.Arbitrary<TypedArray> {
  if (dtype === 'i32') {
    const v = fc.oneof(
      { weight: 20, arbitrary: fc.integer({ min: -9, max: 9 }) },
      { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, -(2 ** 31), 2 ** 20 + 3, -(2 ** 16) - 1) },
    );
    return fc.array(v, { minLength: n, maxLength: n }).map((xs) => Int32Array.from(xs));
  }
  const v = fc.oneof(
    { weight: 30, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
  );
  return fc.array(v, { minLength: n, maxLength: n }).map((xs) => (dtype === 'f32' ? Float32Array.from(xs) : Float64Array.from(xs)));
}

/** A random matmul with a random elementwise epilogue: node 0 is the product; 0-2 more inputs broadcast into its shape. */
function arbMatmulCase(dtype: DType, maxDim = 40): fc.Arbitrary<Case> {
  const dim = fc.integer({ min: 1, max: maxDim });
  return fc
    .record({
      batch: fc.oneof(
        { weight: 2, arbitrary: fc.constant([] as number[]) },
        { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }) },
      ),
      m: dim,
      k: fc.oneof({ weight: 6, arbitrary: dim }, { weight: 1, arbitrary: fc.constant(0) }),
      n: dim,
    })
    .chain(({ batch, m, k, n }) =>
      fc.record({ m: fc.constant(m), k: fc.constant(k), n: fc.constant(n), ab: broadcastable(batch), bb: broadcastable(batch) }),
    )
    .chain(({ m, k, n, ab, bb }) => {
      // the product's batch dims: a's and b's broadcast together
      const rank = Math.max(ab.length, bb.length);
      const batch = Array.from({ length: rank }, (_, i) => Math.max(ab[ab.length - rank + i] ?? 1, bb[bb.length - rank + i] ?? 1));
      const shape = [...batch, m, n];
      return fc.record({
        shape: fc.constant(shape),
        a: fc.constant([...ab, m, k]),
        b: fc.constant([...bb, k, n]),
        extra: fc.array(broadcastable(shape), { minLength: 0, maxLength: 2 }),
        ops: arbOps(dtype, 0, 6),
        extraOut: fc.option(fc.nat()),
      });
    })
    .chain(({ shape, a, b, extra, ops, extraOut }) => {
      const inputs: Aval[] = [{ shape, dtype }, ...extra.map((s) => ({ shape: s, dtype }))];
      const { nodes, outputs } = opsToNodes(inputs.length, ops, extraOut, dtype);
      const k: FusedKernel = { shape, inputs, nodes, outputs, matmul: { a: { shape: a, dtype }, b: { shape: b, dtype } } };
      return fc.tuple(...bufferAvals(k).map((x) => arbData(dtype, sizeOf(x.shape)))).map((data) => ({ k, data }));
    });
}

/** Both modes (generated code, interpreter) equal the reference bit for bit; an output that is the product equals the naive one. */
function checkCase({ k, data }: Case): void {
  const eager = runEager(k, data);
  const product = naiveMatmul(data[0]!, k.matmul!.a.shape, data[1]!, k.matmul!.b.shape, k.shape, k.matmul!.a.dtype);
  for (const interp of [false, true]) {
    setFusedInterpreter(interp);
    const fused = runFused(k, data);
    fused.forEach((f, m) => {
      const diff = identical(f, eager[m]!);
      if (diff) throw new Error(`${interp ? 'interpreter' : 'codegen'} output ${m}: ${diff}`);
      if (k.outputs[m] === 0) {
        const d = identical(f, product);
        if (d) throw new Error(`${interp ? 'interpreter' : 'codegen'}: the product differs from the naive one: ${d}`);
      }
    });
  }
  setFusedInterpreter(false);
}

describe('cpu matmul epilogues: random epilogues on random matmuls against the reference, bit for bit', () => {
  for (const dtype of ['f32', 'f64', 'i32'] as const) {
    it(`${dtype}: generated code and interpreter equal runFusedEagerly`, () => {
      fc.assert(fc.property(arbMatmulCase(dtype), checkCase), { numRuns: dtype === 'f32' ? 120 : 60 });
    });
  }

  it('f32: the product alone (node 0 the only output) equals the naive matmul, batched and broadcast', () => {
    fc.assert(
      fc.property(
        arbMatmulCase('f32').map(({ k, data }) => ({ k: { ...k, outputs: [0] }, data })),
        checkCase,
      ),
      { numRuns: 60 },
    );
  });
});

// ---- hand-written cases ----

/** Deterministic values in [-1, 1). */
function noise(n: number, seed: number, dtype: DType = 'f32'): TypedArray {
  const out = allocArray(dtype, n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = dtype === 'i32' ? (s % 19) - 9 : s / 2 ** 31 - 1;
  }
  return out;
}

/** relu(x @ w + bias) over [m, n] with bias [n] (optionally also the product as an output). */
function biasRelu(m: number, k: number, n: number, dtype: DType, withProduct = false): FusedKernel {
  return {
    shape: [m, n],
    inputs: [
      { shape: [m, n], dtype },
      { shape: [n], dtype },
    ],
    nodes: [inputNode(0, dtype), inputNode(1, dtype), opNode('add', [0, 1], dtype), opNode('relu', [2], dtype)],
    outputs: withProduct ? [3, 0] : [3],
    matmul: { a: { shape: [m, k], dtype }, b: { shape: [k, n], dtype } },
  };
}

/** The naive relu(x @ w + bias), each step stored in the dtype. */
function naiveBiasRelu(x: TypedArray, w: TypedArray, bias: TypedArray, m: number, k: number, n: number, dtype: DType): TypedArray {
  const prod = naiveMatmul(x, [m, k], w, [k, n], [m, n], dtype);
  const out = allocArray(dtype, m * n);
  const sum = allocArray(dtype, 1);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      sum[0] = prod[i * n + j]! + bias[j]!;
      const v = sum[0];
      out[i * n + j] = v > 0 || Number.isNaN(v) ? v : 0;
    }
  return out;
}

describe('cpu matmul epilogues: hand-written cases', () => {
  for (const interp of [false, true]) {
    const mode = interp ? 'interpreter' : 'generated code';

    it(`${mode}: bias + relu ([m,n] + [n]) equals the naive computation and the reference, f32 and f64`, () => {
      setFusedInterpreter(interp);
      expect(fusedCodegen()).toBe(!interp);
      for (const dtype of ['f32', 'f64'] as const) {
        for (const [m, k, n] of [
          [1, 1, 1],
          [3, 5, 7],
          [9, 17, 2],
          [4, 0, 6],
          [33, 40, 29],
        ] as const) {
          const data = [noise(m * k, m + 1, dtype), noise(k * n, k + 2, dtype), noise(n, n + 3, dtype)];
          const kernel = biasRelu(m, k, n, dtype);
          const [got] = runFused(kernel, data);
          expect(identical(got!, naiveBiasRelu(data[0]!, data[1]!, data[2]!, m, k, n, dtype))).toBeNull();
          expect(identical(got!, runEager(kernel, data)[0]!)).toBeNull();
        }
      }
    });

    it(`${mode}: the product as an output too, bit for bit the naive product; k = 0 gives +0`, () => {
      setFusedInterpreter(interp);
      const [m, k, n] = [13, 21, 11];
      const data = [noise(m * k, 7), noise(k * n, 8), noise(n, 9)];
      const [act, prod] = runFused(biasRelu(m, k, n, 'f32', true), data);
      expect(identical(prod!, naiveMatmul(data[0]!, [m, k], data[1]!, [k, n], [m, n], 'f32'))).toBeNull();
      expect(identical(act!, naiveBiasRelu(data[0]!, data[1]!, data[2]!, m, k, n, 'f32'))).toBeNull();
      const [, zero] = runFused(biasRelu(3, 0, 4, 'f32', true), [new Float32Array(0), new Float32Array(0), noise(4, 1)]);
      expect(Array.from(zero!).every((v) => Object.is(v, 0))).toBe(true);
    });

    it(`${mode}: a scalar scale (a literal and a one-element input), batched with broadcast batch dims`, () => {
      setFusedInterpreter(interp);
      const dtype = 'f32';
      const k: FusedKernel = {
        shape: [2, 3, 5, 4],
        inputs: [
          { shape: [2, 3, 5, 4], dtype },
          { shape: [1], dtype },
          { shape: [3, 1, 4], dtype },
        ],
        nodes: [
          inputNode(0, dtype),
          inputNode(1, dtype),
          { kind: 'literal', value: 0.5, dtype },
          opNode('mul', [0, 2], dtype),
          opNode('mul', [3, 1], dtype),
          inputNode(2, dtype),
          opNode('sub', [4, 5], dtype),
        ],
        outputs: [6, 3],
        matmul: { a: { shape: [2, 1, 5, 6], dtype }, b: { shape: [3, 6, 4], dtype } },
      };
      const data = [noise(60, 1), noise(72, 2), Float32Array.of(-3), noise(12, 3)];
      const fused = runFused(k, data);
      const eager = runEager(k, data);
      const prod = naiveMatmul(data[0]!, [2, 1, 5, 6], data[1]!, [3, 6, 4], [2, 3, 5, 4], dtype);
      expect(identical(fused[0]!, eager[0]!)).toBeNull();
      expect(identical(fused[1]!, eager[1]!)).toBeNull();
      expect(
        identical(
          fused[1]!,
          prod.map((v) => Math.fround(v * 0.5)),
        ),
      ).toBeNull();
    });

    it(`${mode}: i32 products wrap as the matmul primitive stores them`, () => {
      setFusedInterpreter(interp);
      const data = [Int32Array.of(2 ** 30, 3, -7, 2 ** 31 - 1), Int32Array.of(4, 5, 2 ** 20, 6), Int32Array.of(1, -1)];
      const kernel = biasRelu(2, 2, 2, 'i32', true);
      const [act, prod] = runFused(kernel, data);
      const eager = runEager(kernel, data);
      expect(identical(act!, eager[0]!)).toBeNull();
      expect(identical(prod!, eager[1]!)).toBeNull();
      expect(identical(prod!, naiveMatmul(data[0]!, [2, 2], data[1]!, [2, 2], [2, 2], 'i32'))).toBeNull();
    });

    it(`${mode}: the MLP layer's shapes (128×784 @ 784×256 + bias, relu) equal the naive computation`, () => {
      setFusedInterpreter(interp);
      const [m, k, n] = [128, 784, 256];
      const data = [noise(m * k, 11), noise(k * n, 12), noise(n, 13)];
      const [got] = runFused(biasRelu(m, k, n, 'f32'), data);
      expect(identical(got!, naiveBiasRelu(data[0]!, data[1]!, data[2]!, m, k, n, 'f32'))).toBeNull();
    });

    it(`${mode}: a product no node reads is not needed; an empty product gives empty outputs`, () => {
      setFusedInterpreter(interp);
      const dtype = 'f32';
      const k: FusedKernel = {
        shape: [3, 2],
        inputs: [
          { shape: [3, 2], dtype },
          { shape: [2], dtype },
        ],
        nodes: [inputNode(0, dtype), inputNode(1, dtype), opNode('exp', [1], dtype)],
        outputs: [2],
        matmul: { a: { shape: [3, 4], dtype }, b: { shape: [4, 2], dtype } },
      };
      const [got] = runFused(k, [noise(12, 1), noise(8, 2), Float32Array.of(0, 1)]);
      expect(Array.from(got!)).toEqual([1, Math.fround(Math.E), 1, Math.fround(Math.E), 1, Math.fround(Math.E)]);
      const empty = runFused(biasRelu(0, 3, 5, dtype, true), [new Float32Array(0), noise(15, 1), noise(5, 2)]);
      expect(empty.map((e) => e.length)).toEqual([0, 0]);
    });
  }

  it('the generated source computes the product tile by tile with the matmul kernel and writes the outputs in the same loop', () => {
    const src = cpuBackend.fusedSource(biasRelu(64, 32, 48, 'f32'));
    expect(src).toMatch(/in0 = matmul f32\[64,32\] x f32\[32,48\]/);
    expect(src).toMatch(/G\(ad, AO\[t\] \+ i0 \* k, bt, BO\[t\], ins\[0\], 0, h, k, n\);/);
    expect(src).toMatch(/const v0 = x0\[q\];/);
    expect(src).toMatch(/o0\[e\] = v3;/);
    setFusedInterpreter(true);
    expect(cpuBackend.fusedSource(biasRelu(4, 4, 4, 'f32'))).toMatch(/interpreted[\s\S]*= matmul f32\[4,4\] f32\[4,4\]/);
  });

  it('refuses malformed matmul kernels with a clear error', () => {
    const base = biasRelu(3, 4, 5, 'f32');
    const data = [noise(12, 1), noise(20, 2), noise(5, 3)];
    const bad =
      (k: FusedKernel, d: readonly TypedArray[] = data) =>
      () =>
        runFusedCpu(k, d);
    expect(bad({ ...base, matmul: { a: { shape: [3, 4], dtype: 'f32' }, b: { shape: [3, 5], dtype: 'f32' } } })).toThrow(
      /inner dimensions differ/,
    );
    expect(bad({ ...base, matmul: { a: { shape: [4], dtype: 'f32' }, b: { shape: [4, 5], dtype: 'f32' } } })).toThrow(/rank ≥ 2/);
    expect(bad({ ...base, matmul: { a: { shape: [3, 4], dtype: 'f32' }, b: { shape: [4, 6], dtype: 'f32' } } })).toThrow(
      /not the kernel's \[3,5\]/,
    );
    expect(bad({ ...base, reductions: [{ node: 3, op: 'sum', axes: [0] }] })).toThrow(/no reductions/);
    expect(bad(base, data.slice(0, 2))).toThrow(/3 inputs expected, got 2/);
    expect(bad(base, [noise(12, 1), noise(21, 2), noise(5, 3)])).toThrow(/b should hold f32\[4,5\]/);
  });

  it('kernels that differ only in reading an input as one value or with broadcasting get their own code', () => {
    const mk = (s: number[]): FusedKernel => ({
      shape: [2, 3],
      inputs: [
        { shape: s, dtype: 'f32' },
        { shape: [2, 3], dtype: 'f32' },
      ],
      nodes: [inputNode(0, 'f32'), inputNode(1, 'f32'), opNode('add', [0, 1], 'f32')],
      outputs: [2],
    });
    runFusedCpu(mk([1]), [Float32Array.of(5), new Float32Array(6)]);
    const [r] = runFusedCpu(mk([3]), [Float32Array.of(1, 2, 3), new Float32Array(6)]);
    expect(Array.from(r!)).toEqual([1, 2, 3, 1, 2, 3]);
  });
});

describe('jit fuses the epilogue into the matmul on the cpu backend', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'cpu' });
  });

  it('relu(x @ w + b) equals the eager result bit for bit, runs as one kernel, and lower shows the matmul in the kernel', () => {
    const [m, k, n] = [16, 24, 8];
    const x = ct.tensor(noise(m * k, 21), { dtype: 'f32', backend: 'cpu', shape: [m, k] });
    const w = ct.tensor(noise(k * n, 22), { dtype: 'f32', backend: 'cpu', shape: [k, n] });
    const b = ct.tensor(Array.from(noise(n, 23)), { dtype: 'f32', backend: 'cpu' });
    const f = (x: ct.Tensor, w: ct.Tensor, b: ct.Tensor) => ct.relu(ct.add(ct.matmul(x, w), b));
    const jf = ct.jit(f);
    jf(x, w, b); // trace first
    const d0 = ct.debugCounters().dispatches;
    const got = jf(x, w, b);
    const d1 = ct.debugCounters().dispatches;
    expect(d1 - d0).toBe(1);
    const want = f(x, w, b);
    expect(identical(got.dataSync(), want.dataSync())).toBeNull();
    const text = jf.lower(x, w, b);
    expect(text).toMatch(/in0:f32\[16,8\] = matmul f32\[16,24\] f32\[24,8\]/);
    expect(text).toMatch(/function fusedKernel\(ins, outs, F, M, G, ad, bt\)/);
  });
});
