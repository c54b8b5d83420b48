/**
 * Random fused kernels (src/backends/fused.ts) for the tests of every
 * backend's fused code against the reference (runFusedEagerly: the same
 * nodes one primitive at a time), random input data for them, and the runs
 * and comparisons those tests share.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Backend } from '../../src/backends/Backend.js';
import type { FusedBackend, FusedKernel, FusedNode, FusedReduction } from '../../src/backends/fused.js';
import { ConcreteTensor } from '../../src/core/ConcreteTensor.js';
import { scope } from '../../src/core/memory.js';
import { runFusedEagerly } from '../../src/jit/fused.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import { lookupPrimitive } from '../../src/ops/primitives.js';
import type { Aval } from '../../src/tensor/Aval.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { broadcastShapes, type Shape, sizeOf } from '../../src/tensor/shape.js';

/** The fusible primitives by arity, and which of them take i32 operands. */
export const FLOAT_UNARY = [
  'neg',
  'exp',
  'log',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'sqrt',
  'square',
  'abs',
  'reciprocal',
  'sign',
  'erf',
  'erfc',
  'log1p',
  'expm1',
  'softplus',
];
export const INT_UNARY = ['neg', 'relu', 'square', 'abs', 'sign'];
export const FLOAT_BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'logaddexp'];
export const INT_BINARY = ['add', 'sub', 'mul', 'maximum', 'minimum'];
export const COMPARISONS = ['greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'];

/** An op node of a built-in fusible primitive. */
export function opNode(op: string, args: readonly number[], dtype: DType): FusedNode {
  const spec = lookupPrimitive(op)?.fusion;
  if (!spec) throw new Error(`${op} is not fusible`);
  return { kind: 'op', op, spec, args, dtype };
}

/** A shape that broadcasts to `shape`: some leading dims dropped, some dims set to 1. */
export const broadcastable = (shape: readonly number[]) =>
  fc
    .tuple(fc.integer({ min: 0, max: shape.length }), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }))
    .map(([drop, ones]) => shape.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));

/** A random op of a kernel's body: its kind, primitive, operand picks (taken modulo the nodes so far) and literal value. */
export interface RandomOp {
  readonly kind: 'unary' | 'binary' | 'where' | 'literal';
  readonly unary: string;
  readonly binary: string;
  readonly picks: readonly number[];
  readonly value: number;
}

/** `minLength` to `maxLength` random ops on values of `dtype` (binary twice as often as the other kinds). */
export function arbOps(dtype: DType, minLength: number, maxLength: number): fc.Arbitrary<RandomOp[]> {
  const unary = dtype === 'i32' ? INT_UNARY : FLOAT_UNARY;
  const binary = [...(dtype === 'i32' ? INT_BINARY : FLOAT_BINARY), ...COMPARISONS];
  return fc.array(
    fc.record({
      kind: fc.constantFrom('unary' as const, 'binary' as const, 'binary' as const, 'where' as const, 'literal' as const),
      unary: fc.constantFrom(...unary),
      binary: fc.constantFrom(...binary),
      picks: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
      value: fc.constantFrom(0, 1, -1, 0.5, 2, 3),
    }),
    { minLength, maxLength },
  );
}

/**
 * The nodes of a kernel with `inputCount` inputs of `dtype` followed by `ops`, and its outputs: the last node, and the node
 * `extraOut` picks (modulo the nodes) when it picks another.
 */
export function opsToNodes(
  inputCount: number,
  ops: readonly RandomOp[],
  extraOut: number | null,
  dtype: DType,
): { nodes: FusedNode[]; outputs: number[] } {
  const nodes: FusedNode[] = Array.from({ length: inputCount }, (_, i) => ({ kind: 'input', input: i, dtype }));
  for (const o of ops) {
    const [p, q, r] = o.picks.map((k) => k % nodes.length) as [number, number, number];
    if (o.kind === 'literal') nodes.push({ kind: 'literal', value: dtype === 'i32' ? Math.trunc(o.value) : o.value, dtype });
    else if (o.kind === 'unary') nodes.push(opNode(o.unary, [p], dtype));
    else if (o.kind === 'binary') nodes.push(opNode(o.binary, [p, q], dtype));
    else nodes.push(opNode('where', [p, q, r], dtype));
  }
  const last = nodes.length - 1;
  const outputs = extraOut === null || extraOut % nodes.length === last ? [last] : [last, extraOut % nodes.length];
  return { nodes, outputs };
}

/** Options of {@link arbFusedKernel}. */
export interface ArbOptions {
  readonly dtype?: DType;
  readonly maxRank?: number;
  readonly maxDim?: number;
  readonly maxNodes?: number;
}

/** A random fused kernel over f32 (or i32) values: 1-3 inputs, up to `maxNodes` ops, 1-2 outputs. */
export function arbFusedKernel(opts: ArbOptions = {}): fc.Arbitrary<FusedKernel> {
  const dtype = opts.dtype ?? 'f32';
  return fc
    .array(fc.integer({ min: 1, max: opts.maxDim ?? 5 }), { minLength: 0, maxLength: opts.maxRank ?? 3 })
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        inputShapes: fc.array(broadcastable(shape), { minLength: 1, maxLength: 3 }),
        ops: arbOps(dtype, 1, opts.maxNodes ?? 8),
        extraOut: fc.option(fc.nat()),
      }),
    )
    .map(({ shape, inputShapes, ops, extraOut }) => {
      const inputs: Aval[] = inputShapes.map((s) => ({ shape: s, dtype }));
      return { shape, inputs, ...opsToNodes(inputs.length, ops, extraOut, dtype) };
    });
}

/** Random data for each input of a kernel: small integers for i32, values in [-3, 3] with a few specials for f32. */
export function arbInputs(k: FusedKernel): fc.Arbitrary<TypedArray[]> {
  return fc.tuple(
    ...k.inputs.map((a) => {
      const n = sizeOf(a.shape);
      if (a.dtype === 'i32')
        return fc.array(fc.integer({ min: -9, max: 9 }), { minLength: n, maxLength: n }).map((v) => Int32Array.from(v));
      const v = fc.oneof(
        { weight: 20, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
      );
      return fc.array(v, { minLength: n, maxLength: n }).map((xs) => Float32Array.from(xs));
    }),
  );
}

/** Same values bit for bit, except that every NaN equals every NaN; `tol` relative tolerance for finite floats. */
export function sameValues(a: TypedArray, b: TypedArray, tol = 0): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (tol > 0 && Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= tol * Math.max(1, Math.abs(x), Math.abs(y))) continue;
    return `element ${i}: ${x} vs ${y}`;
  }
  return null;
}

// ---- shared by the backends' fused-kernel tests ----

/** An input node. */
export const inputNode = (i: number, dtype: DType = 'f32'): FusedNode => ({ kind: 'input', input: i, dtype });
/** A literal node (a scalar constant). */
export const literalNode = (value: number, dtype: DType = 'f32'): FusedNode => ({ kind: 'literal', value, dtype });

/** Kernels paired with random data for their inputs. */
export const withInputs = (kernels: fc.Arbitrary<FusedKernel>): fc.Arbitrary<[FusedKernel, TypedArray[]]> =>
  kernels.chain((k) => fc.tuple(fc.constant(k), arbInputs(k)));

/** Adds 1-2 sum / max reductions of random nodes over random subsets of the axes; sometimes drops the elementwise outputs. */
export function withReductions(kernels: fc.Arbitrary<FusedKernel>): fc.Arbitrary<FusedKernel> {
  return kernels.chain((kernel) =>
    fc
      .record({
        reds: fc.array(
          fc.record({
            node: fc.nat(),
            op: fc.constantFrom('sum' as const, 'max' as const),
            mask: fc.array(fc.boolean(), { minLength: kernel.shape.length, maxLength: kernel.shape.length }),
          }),
          { minLength: 1, maxLength: 2 },
        ),
        keepOutputs: fc.boolean(),
      })
      .map(({ reds, keepOutputs }) => ({
        ...kernel,
        outputs: keepOutputs ? kernel.outputs : [],
        reductions: reds.map(({ node, op, mask }) => ({
          node: node % kernel.nodes.length,
          op,
          axes: mask.flatMap((on, ax) => (on ? [ax] : [])),
        })),
      })),
  );
}

/** Asserts `check` on `numRuns` random kernels of `kernels`, each with random data for its inputs. */
export function forAllKernels(
  kernels: fc.Arbitrary<FusedKernel>,
  check: (k: FusedKernel, data: readonly TypedArray[]) => unknown,
  numRuns: number,
): void {
  fc.assert(
    fc.property(withInputs(kernels), ([k, data]) => {
      check(k, data);
    }),
    { numRuns },
  );
}

/** An f32 kernel as f64 (every node and input). */
export function asF64(k: FusedKernel): FusedKernel {
  const to = (d: DType): DType => (d === 'f32' ? 'f64' : d);
  return {
    ...k,
    inputs: k.inputs.map((a) => ({ ...a, dtype: to(a.dtype) })),
    nodes: k.nodes.map((n) => ({ ...n, dtype: to(n.dtype) }) as FusedNode),
  };
}

/** f32 data as f64, perturbed below f32 precision (i % 3 · 1e-9) so that f64 kernels see values f32 cannot hold. */
export const asF64Data = (data: readonly TypedArray[]): Float64Array[] =>
  data.map((d) => Float64Array.from(d, (v, i) => v + (i % 3) * 1e-9));

/** The shape a reduction keeps: the kernel's shape without the reduced axes. */
export const keptShape = (shape: Shape, r: FusedReduction): number[] => shape.filter((_, ax) => !r.axes.includes(ax));

/** The avals of the buffers runFused takes: a and b of the matmul then inputs 1, …, or the kernel's inputs. */
export const bufferAvals = (k: FusedKernel): readonly Aval[] => (k.matmul ? [k.matmul.a, k.matmul.b, ...k.inputs.slice(1)] : k.inputs);

/** The avals of runFused's results: the elementwise outputs, then the reductions. */
export const resultAvals = (k: FusedKernel): Aval[] => [
  ...k.outputs.map((o) => ({ shape: k.shape, dtype: k.nodes[o]!.dtype })),
  ...(k.reductions ?? []).map((r) => ({ shape: keptShape(k.shape, r), dtype: k.nodes[r.node]!.dtype })),
];

/** The results of one kernel run fused and through the reference, read back. */
export interface FusedRuns {
  /** The fused run's outputs, then its reductions. */
  readonly fused: TypedArray[];
  /** The same from runFusedEagerly. */
  readonly eager: TypedArray[];
  /** Per reduction, the reference's values of the reduced node (over the kernel's shape). */
  readonly reducedValues: TypedArray[];
}

/**
 * Runs `k` on `data` (the buffers of {@link bufferAvals}) fused on `on`, and through runFusedEagerly (the nodes one primitive
 * at a time) on tensors of `eagerOn`; everything read back.
 */
export function runFusedAndEager(
  k: FusedKernel,
  data: readonly TypedArray[],
  on: Backend & FusedBackend,
  eagerOn: Backend = on,
): FusedRuns {
  return scope(() => {
    const tensorsOn = (b: Backend) => bufferAvals(k).map((a, i) => fromTypedArray(data[i]!, a.shape, a.dtype, b));
    const ins = tensorsOn(on);
    const eagerIns = eagerOn === on ? ins : tensorsOn(eagerOn);
    const outs = on.runFused(
      k,
      ins.map((t) => t.storageFor('test')),
    );
    const reds = k.reductions ?? [];
    expect(outs.length).toBe(k.outputs.length + reds.length);
    const avals = resultAvals(k);
    const fused = outs.map((s, m) => {
      const t = new ConcreteTensor(on, s, avals[m]!.shape, avals[m]!.dtype);
      const v = t.dataSync();
      t.dispose();
      return v;
    });
    const eager = runFusedEagerly(k, eagerIns).map((t) => t.dataSync());
    const reducedValues =
      reds.length === 0
        ? []
        : runFusedEagerly({ ...k, outputs: reds.map((r) => r.node), reductions: [] }, eagerIns).map((t) => t.dataSync());
    return { fused, eager, reducedValues };
  });
}

/** The data of a kernel's inputs, for a failure message (left out when large). */
export const describeData = (data: readonly TypedArray[]): string =>
  data.reduce((n, d) => n + d.length, 0) > 1000 ? `${data.length} inputs` : data.map((d) => `[${Array.from(d).join(', ')}]`).join(' ');

/**
 * Checks that the fused elementwise outputs of `k` (no reductions) on `on` equal the reference's on `eagerOn` bit for bit
 * (NaN equals NaN), failing with the fused code and the data; returns the fused outputs.
 */
export function expectFusedSame(
  k: FusedKernel,
  data: readonly TypedArray[],
  on: Backend & FusedBackend,
  eagerOn: Backend = on,
): TypedArray[] {
  const { fused, eager } = runFusedAndEager(k, data, on, eagerOn);
  expect(fused.length).toBe(k.outputs.length);
  fused.forEach((f, m) => {
    const e = eager[m]!;
    expect(f.length).toBe(sizeOf(k.shape));
    expect(f.constructor).toBe(e.constructor);
    const diff = sameValues(f, e, 0);
    if (diff) throw new Error(`output ${m}: ${diff}\n${on.fusedSource(k)}\ninputs: ${describeData(data)}`);
  });
  return fused;
}

/**
 * A naive reduction of `values` (row-major over `shape`) by `r`: per kept element, the sum (in a double) or the max (NaN
 * propagating), and the sum of absolute values (the scale of a sum's rounding error).
 */
export function naiveReduce(values: TypedArray, shape: Shape, r: FusedReduction): { value: Float64Array; abs: Float64Array } {
  const size = sizeOf(keptShape(shape, r));
  const value = new Float64Array(size).fill(r.op === 'sum' ? 0 : Number.NEGATIVE_INFINITY);
  const abs = new Float64Array(size);
  const idx = shape.map(() => 0);
  for (let e = 0; e < values.length; e++) {
    let rem = e;
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      idx[ax] = rem % shape[ax]!;
      rem = Math.floor(rem / shape[ax]!);
    }
    let cell = 0;
    shape.forEach((d, ax) => {
      if (!r.axes.includes(ax)) cell = cell * d + idx[ax]!;
    });
    const v = values[e]!;
    if (r.op === 'sum') value[cell]! += v;
    else if (Number.isNaN(v) || v > value[cell]!) value[cell] = Number.isNaN(value[cell]!) ? value[cell]! : v;
    abs[cell]! += Math.abs(v);
  }
  return { value, abs };
}

/** Deterministic f32 values in [-3, 3) (an LCG seeded by `seed`). */
export function lcgValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 6 - 3;
  }
  return out;
}

/** Deterministic values in [-1, 1) (f32) or small integers in [-9, 9] (i32), for the matmul-epilogue tests. */
export function seededValues(n: number, seed: number, dtype: DType = 'f32'): TypedArray {
  let s = seed * 2654435761;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return (s >>> 8) / 2 ** 24;
  };
  if (dtype === 'i32') return Int32Array.from({ length: n }, () => Math.floor(next() * 19) - 9);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

/** A kernel whose input 0 is a·b (of dtype `dt`), with extra inputs of shapes `extra` and these nodes after the input nodes. */
export function epilogueKernel(
  a: Shape,
  b: Shape,
  extra: readonly Shape[],
  ops: (first: number) => FusedNode[],
  outputs: readonly number[],
  dt: DType = 'f32',
): FusedKernel {
  const shape = [...broadcastShapes('matmul', a.slice(0, -2), b.slice(0, -2)), a[a.length - 2]!, b[b.length - 1]!];
  const inputs: Aval[] = [{ shape, dtype: dt }, ...extra.map((s) => ({ shape: s, dtype: dt }))];
  const nodes: FusedNode[] = [...inputs.map((_, i) => inputNode(i, dt)), ...ops(inputs.length)];
  return { shape, inputs, nodes, outputs, matmul: { a: { shape: a, dtype: dt }, b: { shape: b, dtype: dt } } };
}

/** Seeded data for the buffers of `k` (a, b, inputs 1, …). */
export const epilogueData = (k: FusedKernel, seed: number): TypedArray[] =>
  bufferAvals(k).map((a, i) => seededValues(sizeOf(a.shape), seed + i, a.dtype));
