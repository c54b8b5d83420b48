/**
 * Laws of `vmap`, checked against its definition: `vmap(f)(xs)` equals a
 * JavaScript loop over the examples that slices every batched argument
 * (`ct.slice` + `ct.reshape`), applies `f` to one example at a time and
 * stacks the results (`ct.stack`) at the output axis. The loop runs on
 * concrete tensors, no batching rule involved, so a batching rule that moves
 * the batch axis to the wrong place, drops it, or broadcasts against the
 * wrong axis shows up as a difference.
 *
 * - `vmapLaw`: vmap(f) = the loop, for given inAxes (numbers, negative numbers, null) and outAxes;
 * - `vmapGradLaw`: vmap(grad f) = per-example gradients computed in a loop;
 * - `jvpOfVmapLaw`: jvp(vmap f) = vmap(jvp f) = the loop of JVPs;
 * - `gradOfVmapLaw`: grad of Σ vmap(f) = the per-example gradients (summed for a shared argument);
 * - `nestedVmapLaw`: vmap(vmap f) over different axes = the double loop;
 * - `jitVmapLaw`: jit(vmap f) = vmap(f) = vmap(jit f) = the loop;
 * - `jacobianVectorizeLaw`: jacfwd / jacrev (one batched pass) = the same with `vectorize: false`.
 *
 * `batchPrimCase` and `batchedArgs` turn a primitive case or a random
 * program's inputs into batched arguments with random batch sizes and axes;
 * `primitiveVmapLaw` checks one primitive case with all of the above.
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import { broadcastPair, shape, tensorOf } from './arbitraries.js';
import type { PrimCase, TensorSpec } from './cases.js';
import { builtinCases } from './domains.js';
import { buildProgram, program, programToString, type ProgramOptions, type ProgramSpec, type UnaryOps } from './programs.js';
import { describeCase, specTensor } from './cases.js';
import { casesFromDomain, type PrimDomain } from './userDomain.js';
import { compare, isFloatDtype, looser, prng, tolFor, type Tolerance } from './numeric.js';
import { firstFailure, formatFailure, pass, type LawResult } from './result.js';

/** A function of tensors checked under vmap: returns a tensor or an array (tuple) of tensors. */
export type BatchFn = (...args: ct.Tensor[]) => unknown;

/** The batch axis of each argument: a number (negative counts from the end) or null (shared by every example). */
export type InAxes = readonly (number | null)[];

/** The batch axis of the output: one for every output leaf, or one per leaf of an array output. */
export type OutAxes = number | null | readonly (number | null)[];

/** Options of the vmap laws. */
export interface VmapLawOptions {
  /** Tolerance (default: by the outputs' dtype, f64 rtol 1e-6 / atol 1e-8, f32 rtol 2e-4 / atol 1e-5). */
  readonly tol?: Partial<Tolerance>;
  /** The batch size when no argument is batched. */
  readonly axisSize?: number;
}

const shapeStr = (s: readonly number[]): string => `[${s.join(',')}]`;

const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Example `k` of `x` along axis `d` (null: `x` itself, shared by every example): a slice, reshaped without the axis. */
export function exampleOf(x: ct.Tensor, d: number | null, k: number): ct.Tensor {
  if (d === null) return x;
  const a = norm(d, x.ndim);
  return ct.reshape(
    ct.slice(
      x,
      x.shape.map((_, i) => (i === a ? k : 0)),
      x.shape.map((s, i) => (i === a ? 1 : s)),
    ),
    x.shape.filter((_, i) => i !== a),
  );
}

/** The batch size of batched arguments (the first batched one's), or `axisSize`. */
function batchSize(args: readonly ct.Tensor[], inAxes: InAxes, axisSize?: number): number {
  const i = inAxes.findIndex((a) => a !== null);
  if (i < 0) {
    if (axisSize === undefined) throw new Error('vmap laws: no argument is batched and no axisSize is given');
    return axisSize;
  }
  const x = args[i]!;
  return x.shape[norm(inAxes[i]!, x.ndim)]!;
}

/** The tensors of an output (a tensor or a tree of them). */
const leavesOf = (y: unknown): ct.Tensor[] =>
  ct.treeLeaves(y as never).map((l) => (typeof l === 'number' ? ct.scalar(l) : (l as ct.Tensor)));

const outAxisOf = (outAxes: OutAxes, j: number): number | null =>
  Array.isArray(outAxes) ? (outAxes[j] ?? null) : (outAxes as number | null);

/**
 * The definition of vmap: `f` applied to one example at a time in a JavaScript loop, each output leaf stacked at its
 * out axis (an output leaf with out axis null is the first example's).
 */
export function loopVmap(f: BatchFn, args: readonly ct.Tensor[], inAxes: InAxes, outAxes: OutAxes, axisSize?: number): ct.Tensor[] {
  const n = batchSize(args, inAxes, axisSize);
  const results = Array.from({ length: n }, (_, k) => leavesOf(f(...args.map((x, i) => exampleOf(x, inAxes[i] ?? null, k)))));
  const first = results[0] ?? [];
  return first.map((y, j) => {
    const to = outAxisOf(outAxes, j);
    if (to === null) return y;
    return ct.stack(
      results.map((r) => r[j]!),
      norm(to, y.ndim + 1),
    );
  });
}

/** `f` as a function that loops over the examples: for nesting the definition inside another loop. */
export const loopVmapFn =
  (f: BatchFn, inAxes: InAxes, outAxes: OutAxes, axisSize?: number): BatchFn =>
  (...xs) =>
    loopVmap(f, xs, inAxes, outAxes, axisSize);

/** Describes the arguments (dtypes and shapes) for failure reports. */
const describeArgs = (args: readonly ct.Tensor[]): string => `arguments ${args.map((x) => `${x.dtype}${shapeStr(x.shape)}`).join(', ')}`;

/** Describes a batched call for failure reports. */
function describeCall(args: readonly ct.Tensor[], inAxes: InAxes, outAxes: OutAxes): string {
  return `${describeArgs(args)}; inAxes ${JSON.stringify(inAxes)}; outAxes ${JSON.stringify(outAxes)}`;
}

/** Compare output leaves (shapes, dtypes and values) with the reference's. */
export function leavesAgree(
  law: string,
  expected: readonly ct.Tensor[],
  actual: readonly ct.Tensor[],
  tol: Partial<Tolerance> | undefined,
  what: string,
): LawResult {
  if (expected.length !== actual.length)
    return { ok: false, law, message: `${what}: ${actual.length} output tensors, the reference has ${expected.length}` };
  for (let j = 0; j < expected.length; j++) {
    const e = expected[j]!;
    const a = actual[j]!;
    if (shapeStr(e.shape) !== shapeStr(a.shape) || e.dtype !== a.dtype)
      return {
        ok: false,
        law,
        message: `${what}: output ${j} is ${a.dtype}${shapeStr(a.shape)}, the reference ${e.dtype}${shapeStr(e.shape)}`,
      };
    const t = { ...looser(tolFor(e.dtype), tolFor(a.dtype)), ...tol };
    const ev = Array.from(e.dataSync());
    const av = Array.from(a.dataSync());
    const worst = compare(ev, av, e.shape, t);
    if (worst)
      return {
        ok: false,
        law,
        message: `${what}: output ${j} (${e.dtype}${shapeStr(e.shape)}) differs from the reference`,
        expectedLabel: 'loop over the examples',
        actualLabel: 'batched',
        expected: ev,
        actual: av,
        worst,
      };
  }
  return pass(law);
}

/** The first failure among comparisons of output leaves, each `[label, expected, actual]` (labelled in its message). */
function allAgree(
  law: string,
  checks: readonly (readonly [label: string, expected: readonly ct.Tensor[], actual: readonly ct.Tensor[]])[],
  tol: Partial<Tolerance> | undefined,
  what: string,
): LawResult {
  return firstFailure(
    checks.map(([label, expected, actual]) => leavesAgree(law, expected, actual, tol, `${label}, ${what}`)),
    law,
  );
}

/** The options of `ct.vmap` for these axes (and the batch size when no argument is batched). */
const vmapOptions = (inAxes: InAxes, outAxes: OutAxes, axisSize?: number): ct.VmapOptions => ({
  inAxes: [...inAxes],
  outAxes: outAxes as ct.AxisSpec,
  ...(axisSize ? { axisSize } : {}),
});

/** `f` as a function of tensors to one tensor, for the derivative transformations. */
const asTensorFn = (f: BatchFn) => f as (...xs: ct.Tensor[]) => ct.Tensor;

/** Run a law body in a scope, turning a thrown error into a failure. */
function guarded(law: string, what: string, body: () => LawResult): LawResult {
  try {
    return ct.scope(body);
  } catch (e) {
    const err = e as Error;
    return { ok: false, law, message: `${what}: threw ${err.name ?? 'Error'}: ${err.message}` };
  }
}

/** Law: `vmap(f, { inAxes, outAxes })(...args)` equals the loop over the examples stacked at `outAxes`. */
export function vmapLaw(
  f: BatchFn,
  args: readonly ct.Tensor[],
  inAxes: InAxes,
  outAxes: OutAxes = 0,
  opts: VmapLawOptions = {},
): LawResult {
  const law = 'vmap(f) = stacking f over the examples';
  const what = describeCall(args, inAxes, outAxes);
  return guarded(law, what, () => {
    const expected = loopVmap(f, args, inAxes, outAxes, opts.axisSize);
    const actual = leavesOf(ct.vmap(f, vmapOptions(inAxes, outAxes, opts.axisSize))(...args));
    return leavesAgree(law, expected, actual, opts.tol, what);
  });
}

/** Options of the gradient laws: which arguments are differentiated (default: every float argument). */
export interface VmapGradOptions extends VmapLawOptions {
  readonly argnums?: readonly number[];
}

const floatArgnums = (args: readonly ct.Tensor[], argnums?: readonly number[]): number[] =>
  argnums ? [...argnums] : args.flatMap((x, i) => (isFloatDtype(x.dtype) ? [i] : []));

/**
 * Law: `vmap(grad(f))` equals the per-example gradients computed in a loop (f scalar-valued per example; the gradients
 * with respect to `argnums`, each stacked at `outAxes`).
 */
export function vmapGradLaw(
  f: BatchFn,
  args: readonly ct.Tensor[],
  inAxes: InAxes,
  outAxes: OutAxes = 0,
  opts: VmapGradOptions = {},
): LawResult {
  const law = 'vmap(grad f) = per-example gradients';
  const argnums = floatArgnums(args, opts.argnums);
  if (argnums.length === 0) return pass(law);
  const g = ct.grad(asTensorFn(f), { argnums }) as BatchFn;
  const r = vmapLaw(g, args, inAxes, outAxes, opts);
  return r.ok ? pass(law) : { ...r, law };
}

/**
 * Law: `jvp(vmap f)` and `vmap(jvp f)` (tangents batched like their primals) both equal the loop of per-example JVPs,
 * primal output and tangent output.
 */
export function jvpOfVmapLaw(
  f: BatchFn,
  args: readonly ct.Tensor[],
  tangents: readonly ct.Tensor[],
  inAxes: InAxes,
  outAxis: number,
  opts: VmapLawOptions = {},
): LawResult {
  const law = 'jvp(vmap f) = vmap(jvp f) = the loop of JVPs';
  const what = describeCall(args, inAxes, outAxis);
  const n = args.length;
  // integer arguments (indices) are held fixed: only the float ones carry tangents
  const floats = args.flatMap((x, i) => (isFloatDtype(x.dtype) ? [i] : []));
  const withFloats =
    (g: BatchFn, xs: readonly ct.Tensor[]) =>
    (...fs: ct.Tensor[]) =>
      asTensorFn(g)(...xs.map((x, i) => (floats.includes(i) ? fs[floats.indexOf(i)]! : x)));
  const pick = (xs: readonly ct.Tensor[]) => floats.map((i) => xs[i]!);
  const jvpF: BatchFn = (...xt) => ct.jvp(withFloats(f, xt.slice(0, n)), pick(xt.slice(0, n)), pick(xt.slice(n)));
  const both = [...inAxes, ...inAxes];
  return guarded(law, what, () => {
    const expected = loopVmap(jvpF, [...args, ...tangents], both, outAxis, opts.axisSize);
    const vf = ct.vmap(f, vmapOptions(inAxes, outAxis));
    const outer = leavesOf(ct.jvp(withFloats(vf, args), pick(args), pick(tangents)));
    const inner = leavesOf(ct.vmap(jvpF, vmapOptions(both, outAxis))(...args, ...tangents));
    return allAgree(
      law,
      [
        ['jvp(vmap f)', expected, outer],
        ['vmap(jvp f)', expected, inner],
      ],
      opts.tol,
      what,
    );
  });
}

/**
 * Law: the gradient of Σ vmap(f) (f scalar-valued per example) holds the per-example gradients: stacked at the batch
 * axis for a batched argument, summed over the examples for a shared one (null inAxes).
 */
export function gradOfVmapLaw(f: BatchFn, args: readonly ct.Tensor[], inAxes: InAxes, opts: VmapGradOptions = {}): LawResult {
  const law = 'grad(Σ vmap f) = per-example gradients (summed where shared)';
  const what = describeCall(args, inAxes, 0);
  const argnums = floatArgnums(args, opts.argnums);
  if (argnums.length === 0) return pass(law);
  return guarded(law, what, () => {
    const total = (...xs: ct.Tensor[]) => ct.sum(ct.vmap(f, { inAxes: [...inAxes] })(...xs) as ct.Tensor);
    const actual = leavesOf(ct.grad(total, { argnums: [...argnums] })(...args));
    const g = ct.grad(asTensorFn(f), { argnums: [...argnums] }) as BatchFn;
    const n = batchSize(args, inAxes, opts.axisSize);
    const per = Array.from({ length: n }, (_, k) => leavesOf(g(...args.map((x, i) => exampleOf(x, inAxes[i] ?? null, k)))));
    const expected = argnums.map((i, j) => {
      const d = inAxes[i] ?? null;
      const gs = per.map((p) => p[j]!);
      return d === null ? gs.reduce((a, b) => ct.add(a, b)) : ct.stack(gs, norm(d, args[i]!.ndim));
    });
    return leavesAgree(law, expected, actual, opts.tol, what);
  });
}

/** The axes of a nested vmap: the outer vmap's, and the inner one's (relative to one outer example). */
export interface NestedAxes {
  readonly outerIn: InAxes;
  readonly innerIn: InAxes;
  readonly outerOut: number;
  readonly innerOut: number;
}

/** Law: `vmap(vmap(f, inner), outer)` equals the double loop (the inner loop inside the outer one). */
export function nestedVmapLaw(f: BatchFn, args: readonly ct.Tensor[], axes: NestedAxes, opts: VmapLawOptions = {}): LawResult {
  const law = 'vmap(vmap f) = the double loop';
  const what = `${describeCall(args, axes.outerIn, axes.outerOut)}; inner inAxes ${JSON.stringify(axes.innerIn)}, outAxes ${axes.innerOut}`;
  return guarded(law, what, () => {
    const expected = loopVmap(loopVmapFn(f, axes.innerIn, axes.innerOut), args, axes.outerIn, axes.outerOut);
    const inner = ct.vmap(f, vmapOptions(axes.innerIn, axes.innerOut));
    const actual = leavesOf(ct.vmap(inner, vmapOptions(axes.outerIn, axes.outerOut))(...args));
    return leavesAgree(law, expected, actual, opts.tol, what);
  });
}

/** Law: `jit(vmap f)`, `vmap f` and `vmap(jit f)` all equal the loop over the examples. */
export function jitVmapLaw(
  f: BatchFn,
  args: readonly ct.Tensor[],
  inAxes: InAxes,
  outAxes: OutAxes = 0,
  opts: VmapLawOptions = {},
): LawResult {
  const law = 'jit(vmap f) = vmap f = vmap(jit f)';
  const what = describeCall(args, inAxes, outAxes);
  return guarded(law, what, () => {
    const expected = loopVmap(f, args, inAxes, outAxes);
    const vopts = vmapOptions(inAxes, outAxes);
    const plain = leavesOf(ct.vmap(f, vopts)(...args));
    const jitOuter = leavesOf(ct.jit(ct.vmap(f, vopts))(...args));
    const jitInner = leavesOf(ct.vmap(ct.jit(f), vopts)(...args));
    return allAgree(
      law,
      [
        ['vmap f', expected, plain],
        ['jit(vmap f)', expected, jitOuter],
        ['vmap(jit f)', expected, jitInner],
      ],
      opts.tol,
      what,
    );
  });
}

/** Law: `jacfwd` and `jacrev` (one batched pass over the basis) equal the same with `vectorize: false` (one pass per basis vector). */
export function jacobianVectorizeLaw(f: BatchFn, args: readonly ct.Tensor[], argnum: number, opts: VmapLawOptions = {}): LawResult {
  const law = 'jacfwd / jacrev vectorized = one pass per basis vector';
  const what = `${describeArgs(args)}; argnums ${argnum}`;
  const g = asTensorFn(f);
  return guarded(law, what, () =>
    allAgree(
      law,
      [
        [
          'jacfwd',
          leavesOf(ct.jacfwd(g, { argnums: argnum, vectorize: false })(...args)),
          leavesOf(ct.jacfwd(g, { argnums: argnum })(...args)),
        ],
        [
          'jacrev',
          leavesOf(ct.jacrev(g, { argnums: argnum, vectorize: false })(...args)),
          leavesOf(ct.jacrev(g, { argnums: argnum })(...args)),
        ],
      ],
      opts.tol,
      what,
    ),
  );
}

// ---- cases ----

const NONE = {} as Record<string, never>;

/** A spec's values on the grid of multiples of 0.5, exactly. */
const onGrid = (s: TensorSpec): TensorSpec => ({ ...s, values: s.values.map((v) => Math.round(2 * v) / 2) });

/** Comparisons on one exact grid: ties happen (the derivative laws avoid them, batching has no reason to). */
const tiedComparison: fc.Arbitrary<PrimCase> = broadcastPair().chain(({ a, b }) =>
  fc
    .tuple(tensorOf(a, 'grid'), tensorOf(b, 'grid'))
    .map(([x, y]) => ({ inputs: [onGrid(x), onGrid(y)], params: NONE, zeroDerivative: true })),
);

/** broadcastTo from a strictly lower rank without size-1 axes: the batch axis must be padded on the right side. */
const lowerRankBroadcast: fc.Arbitrary<PrimCase> = fc
  .tuple(shape({ minRank: 2, maxRank: 4, minDim: 2 }), fc.integer({ min: 1, max: 3 }))
  .chain(([out, drop]) => tensorOf(out.slice(Math.min(drop, out.length - 1))).map((x) => ({ inputs: [x], params: { shape: out } })));

/**
 * The cases of the vmap laws: the domain table's, with ties added to the comparisons (equal is always 0 without them)
 * and more broadcasts from a lower rank.
 */
export const vmapCases: { readonly [P in ct.PrimName]: fc.Arbitrary<PrimCase> } = {
  ...builtinCases,
  greater: fc.oneof(builtinCases.greater, tiedComparison),
  greaterEqual: fc.oneof(builtinCases.greaterEqual, tiedComparison),
  less: fc.oneof(builtinCases.less, tiedComparison),
  lessEqual: fc.oneof(builtinCases.lessEqual, tiedComparison),
  equal: fc.oneof(builtinCases.equal, tiedComparison),
  notEqual: fc.oneof(builtinCases.notEqual, tiedComparison),
  broadcastTo: fc.oneof(builtinCases.broadcastTo, lowerRankBroadcast),
};

// ---- batched arguments from cases ----

/** Where the laws run: the backend and the float dtype (f64 inputs of a case become this dtype; i32 stay i32). */
export interface BatchSide {
  readonly backend: ct.BackendName;
  readonly dtype: ct.DType;
}

/** The reference side: CPU in f64. */
export const CPU_F64: BatchSide = { backend: 'cpu', dtype: 'f64' };

const dtypeOn = (d: ct.DType | undefined, side: BatchSide): ct.DType => (d === 'i32' ? 'i32' : side.dtype === 'f32' ? 'f32' : (d ?? 'f64'));

/** A case's parameters on a side: a `dtype` parameter of f64 becomes f32 on an f32 side (the wasm backend holds no f64). */
export function paramsOn(params: unknown, side: BatchSide): unknown {
  if (side.dtype === 'f32' && params !== null && typeof params === 'object' && (params as { dtype?: unknown }).dtype === 'f64')
    return { ...params, dtype: 'f32' };
  return params;
}

/**
 * The values of example `k` made from a spec's values: example 0 is the spec itself, example k > 0 its values shuffled
 * and (for floats) scaled by a positive factor, so every domain (positive, away from zero, ties excluded, distinct
 * values, a 0/1 condition) is kept and no two examples agree.
 */
function exampleValues(s: TensorSpec, k: number, rand: () => number): number[] {
  const v = [...s.values];
  if (k === 0) return v;
  for (let i = v.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  if (s.dtype === 'i32') return v;
  const factor = 1 + 0.25 * k;
  return v.map((x) => x * factor);
}

const tensorOn = (values: readonly number[], shape: readonly number[], dtype: ct.DType, side: BatchSide): ct.Tensor =>
  ct.tensor(Float64Array.from(values), { shape: [...shape], dtype, backend: side.backend });

/** A random axis in [0, rank] written as a non-negative or (half the time) a negative number. */
function randomAxis(rank: number, rand: () => number): number {
  const a = Math.floor(rand() * (rank + 1));
  return rand() < 0.5 ? a : a - (rank + 1);
}

/** Random batch axes for `count` arguments of the given ranks: null a quarter of the time, at least one batched. */
function randomInAxes(ranks: readonly number[], rand: () => number): (number | null)[] {
  const axes = ranks.map((r): number | null => (rand() < 0.25 ? null : randomAxis(r, rand)));
  if (ranks.length > 0 && !axes.some((a) => a !== null)) {
    const i = Math.floor(rand() * ranks.length);
    axes[i] = randomAxis(ranks[i]!, rand);
  }
  return axes;
}

/** Batched arguments: the arguments with their batch axes, the batch size and each argument's example rank. */
export interface Batched {
  readonly args: ct.Tensor[];
  readonly inAxes: (number | null)[];
  readonly size: number;
}

/** Batched arguments from specs: `size` examples of each (see exampleValues), stacked at random axes (or shared: null). */
export function batchedArgs(specs: readonly TensorSpec[], seed: number, side: BatchSide = CPU_F64, size?: number): Batched {
  const rand = prng(seed);
  const n = size ?? 1 + Math.floor(rand() * 3);
  const inAxes = randomInAxes(
    specs.map((s) => s.shape.length),
    rand,
  );
  const args = specs.map((s, i) => {
    const d = inAxes[i]!;
    const dtype = dtypeOn(s.dtype, side);
    if (d === null) return tensorOn(s.values, s.shape, dtype, side);
    const examples = Array.from({ length: n }, (_, k) => tensorOn(exampleValues(s, k, rand), s.shape, dtype, side));
    return ct.stack(examples, norm(d, s.shape.length + 1));
  });
  return { args, inAxes, size: n };
}

/** Nested batched arguments: an inner batch (size 1-3) inside an outer one (size 1-3), each at random axes. */
export function nestedBatchedArgs(
  specs: readonly TensorSpec[],
  seed: number,
  side: BatchSide = CPU_F64,
): { args: ct.Tensor[]; outerIn: (number | null)[]; innerIn: (number | null)[] } {
  const rand = prng(seed);
  const n1 = 1 + Math.floor(rand() * 3);
  const n2 = 1 + Math.floor(rand() * 3);
  const innerIn = randomInAxes(
    specs.map((s) => s.shape.length),
    rand,
  );
  const outerIn = randomInAxes(
    specs.map((s, i) => s.shape.length + (innerIn[i] === null ? 0 : 1)),
    rand,
  );
  let k = 0;
  const args = specs.map((s, i) => {
    const dtype = dtypeOn(s.dtype, side);
    const one = () => tensorOn(exampleValues(s, k++, rand), s.shape, dtype, side);
    const innerStack = () => {
      const d = innerIn[i]!;
      return d === null ? one() : ct.stack(Array.from({ length: n2 }, one), norm(d, s.shape.length + 1));
    };
    const d = outerIn[i]!;
    if (d === null) return innerStack();
    const outs = Array.from({ length: n1 }, innerStack);
    return ct.stack(outs, norm(d, outs[0]!.ndim + 1));
  });
  return { args, outerIn, innerIn };
}

/** The laws `primitiveVmapLaw` checks (its `laws` option). */
export const VMAP_LAWS = ['vmap', 'grad', 'jvp', 'grad-of-sum', 'nested', 'jit', 'jacobians'] as const;
/** The name of a vmap law of a primitive (see VMAP_LAWS). */
export type VmapLawName = (typeof VMAP_LAWS)[number];

/** Options of `primitiveVmapLaw`: the side to run on, the laws, tolerance. */
export interface PrimitiveVmapOptions {
  readonly side?: BatchSide;
  readonly laws?: readonly VmapLawName[];
  readonly tol?: Partial<Tolerance>;
}

/** The rank of a primitive's output on a case's example shapes. */
function outRank(prim: ct.Primitive, c: PrimCase, params: unknown): number {
  return prim.shape(
    c.inputs.map((s) => ({ shape: s.shape, dtype: s.dtype ?? 'f64' })),
    params,
  ).shape.length;
}

/**
 * The vmap laws of a primitive on one case, with random batch sizes (1-3) and axes drawn from `seed`: the primitive is
 * applied with `bind(prim, inputs, params)` (so a record outside the registry, e.g. a mutant, is checked as written).
 */
export function primitiveVmapLaw(prim: ct.Primitive, c: PrimCase, seed: number, opts: PrimitiveVmapOptions = {}): LawResult {
  const side = opts.side ?? CPU_F64;
  const laws = opts.laws ?? VMAP_LAWS;
  const params = paramsOn(c.params, side);
  const lo: VmapLawOptions = c.tol || opts.tol ? { tol: { ...c.tol, ...opts.tol } } : {};
  const rand = prng(seed ^ 0x5bd1e995);
  const f: BatchFn = (...xs) => ct.bind(prim, xs, params);
  const r = outRank(prim, c, params);
  const outAxis = randomAxis(r, rand);
  const results: LawResult[] = [];
  const diff = c.diff ?? c.inputs.map((s) => s.dtype !== 'i32');
  const argnums = diff.flatMap((d, i) => (d ? [i] : []));
  const outDtype = prim.shape(
    c.inputs.map((s) => ({ shape: s.shape, dtype: dtypeOn(s.dtype, side) })),
    params,
  ).dtype;
  const outSpec: TensorSpec = {
    shape: prim.shape(
      c.inputs.map((s) => ({ shape: s.shape, dtype: s.dtype ?? 'f64' })),
      params,
    ).shape,
    values: [],
  };
  // w · f summed, w a further batched argument: a scalar per example with the derivatives of f
  const weight = (): TensorSpec => {
    const size = outSpec.shape.reduce((a, b) => a * b, 1);
    return { shape: outSpec.shape, values: Array.from({ length: size }, () => 2 * rand() - 1), dtype: outDtype };
  };
  const scalarised: BatchFn = (...xs) => ct.sum(ct.mul(ct.bind(prim, xs.slice(0, -1), params), xs[xs.length - 1]!));
  const differentiable = isFloatDtype(outDtype) && argnums.length > 0;
  for (const law of laws) {
    const s = Math.floor(rand() * 2 ** 31);
    switch (law) {
      case 'vmap': {
        const b = batchedArgs(c.inputs, s, side);
        results.push(vmapLaw(f, b.args, b.inAxes, outAxis, lo));
        break;
      }
      case 'grad': {
        if (!differentiable) break;
        const b = batchedArgs([...c.inputs, weight()], s, side);
        const gradAxes = argnums.map((i) => randomAxis(c.inputs[i]!.shape.length, rand));
        results.push(vmapGradLaw(scalarised, b.args, b.inAxes, gradAxes, { ...lo, argnums }));
        break;
      }
      case 'jvp': {
        if (!differentiable) break;
        const b = batchedArgs(c.inputs, s, side);
        const tangents = b.args.map((x, i) =>
          argnums.includes(i)
            ? ct.tensor(
                Float64Array.from({ length: x.size }, () => 2 * rand() - 1),
                { shape: [...x.shape], dtype: x.dtype, backend: side.backend },
              )
            : ct.zerosLike(x),
        );
        results.push(jvpOfVmapLaw(f, b.args, tangents, b.inAxes, outAxis, lo));
        break;
      }
      case 'grad-of-sum': {
        if (!differentiable) break;
        const b = batchedArgs([...c.inputs, weight()], s, side);
        results.push(gradOfVmapLaw(scalarised, b.args, b.inAxes, { ...lo, argnums }));
        break;
      }
      case 'nested': {
        const b = nestedBatchedArgs(c.inputs, s, side);
        const innerOut = randomAxis(r, rand);
        const outerOut = randomAxis(r + 1, rand);
        results.push(nestedVmapLaw(f, b.args, { outerIn: b.outerIn, innerIn: b.innerIn, outerOut, innerOut }, lo));
        break;
      }
      case 'jit': {
        const b = batchedArgs(c.inputs, s, side);
        results.push(jitVmapLaw(f, b.args, b.inAxes, outAxis, lo));
        break;
      }
      case 'jacobians': {
        if (!differentiable) break;
        const xs = c.inputs.map((spec) => tensorOn(spec.values, spec.shape, dtypeOn(spec.dtype, side), side));
        for (const k of argnums) results.push(jacobianVectorizeLaw(f, xs, k, lo));
        break;
      }
    }
    const last = results[results.length - 1];
    if (last && !last.ok) return last;
  }
  return pass('vmap');
}

/** Options of `checkVmap`: the cases (or a domain to draw them from), the side and the laws. */
export interface CheckVmapOptions extends PrimitiveVmapOptions {
  /** Cases to check (default: drawn from `domain`, or from the op's declared domain). */
  readonly cases?: fc.Arbitrary<PrimCase>;
  readonly domain?: PrimDomain;
}

/**
 * A property checking the vmap laws of a primitive (a record, or an op from `definePrimitive`, with or without a
 * batching rule) on random cases, batch sizes and axes: `fc.assert(checkVmap(myOp))`.
 */
export function checkVmap(
  prim: ct.Primitive | { readonly primitive: ct.Primitive; readonly domain?: unknown },
  opts: CheckVmapOptions = {},
): fc.IPropertyWithHooks<[PrimCase, number]> {
  const record = 'primitive' in prim ? prim.primitive : prim;
  const domain = opts.domain ?? ('primitive' in prim ? (prim.domain as PrimDomain | undefined) : undefined);
  const cases = opts.cases ?? casesFromDomain(domain ?? {});
  return fc.property(cases, fc.integer(), (c, seed) => {
    const r = primitiveVmapLaw(record, c, seed, opts);
    if (!r.ok) throw new Error(`${formatFailure(r, `primitive '${record.name}'`)}\n  case: ${describeCase(c)}`);
    return true;
  });
}

// ---- random programs ----

/**
 * The vmap laws on a random program (laws/programs.ts, its nested grad / jvp / vjp included): vmap(f) and
 * vmap(grad <w, f>) equal their loops, for random batch sizes and axes drawn from `seed` (CPU, f64).
 */
export function programVmapLaw(spec: ProgramSpec, seed: number, ops?: UnaryOps): LawResult {
  const f = buildProgram(spec, ops) as BatchFn;
  const rand = prng(seed);
  const y = ct.scope(() => {
    const out = f(...spec.inputs.map(specTensor)) as ct.Tensor;
    return { shape: [...out.shape], dtype: out.dtype };
  });
  const b = batchedArgs(spec.inputs, seed);
  const forward = vmapLaw(f, b.args, b.inAxes, randomAxis(y.shape.length, rand));
  if (!forward.ok) return forward;
  const size = y.shape.reduce((a, c) => a * c, 1);
  const w: TensorSpec = { shape: y.shape, values: Array.from({ length: size }, () => 2 * rand() - 1) };
  const g = batchedArgs([...spec.inputs, w], seed + 1);
  const scalar: BatchFn = (...xs) => ct.sum(ct.mul(f(...xs.slice(0, -1)) as ct.Tensor, xs[xs.length - 1]!));
  const argnums = spec.inputs.map((_, i) => i);
  return vmapGradLaw(
    scalar,
    g.args,
    g.inAxes,
    spec.inputs.map((s) => randomAxis(s.shape.length, rand)),
    { argnums },
  );
}

/** A property: random programs satisfy the vmap laws (the program is printed with a failure). */
export function programVmapProperty(
  opts: ProgramOptions = {},
  onChecked?: (spec: ProgramSpec) => void,
): fc.IPropertyWithHooks<[ProgramSpec, number]> {
  return fc.property(program(opts), fc.integer(), (spec, seed) => {
    const r = programVmapLaw(spec, seed, opts.unaryOps);
    if (!r.ok) throw new Error(`${formatFailure(r, 'a random program under vmap')}\n${programToString(spec, opts.unaryOps)}`);
    onChecked?.(spec);
    return true;
  });
}
