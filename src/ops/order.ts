/**
 * Scans and orderings along one axis: the primitives `cumsum` (linear: its
 * transpose is the cumulative sum in the other direction) and `argsort`
 * (stable, i32, no derivative), and the composites built on them and on the
 * other primitives, so that their derivatives come from those rules:
 * `cumprod` (a log-depth scan of `mul`, right at zeros), `sort` and `topk`
 * (gathers along the permutation, so the derivative follows it).
 *
 * Order conventions: ascending; equal values keep their index order (−0 and
 * +0 are equal); NaN comes after every number (NaNs in index order).
 */
import type { CpuInput } from '../backends/Backend.js';
import { argsortKernel as wasmArgsort, cumsumKernel as wasmCumsum } from '../backends/wasm/orderKernels.js';
import { argsortKernel, cumsumKernel } from '../backends/webgpu/orderKernels.js';
import { bind } from '../core/trace.js';
import { allocArray, type TypedArray } from '../tensor/dtype.js';
import { fmt, normalizeAxis, sizeOf, type Shape } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, backendOf, ones, type TensorLike } from './creation.js';
import { mul, neg, sub } from './elementwise.js';
import { takeAlongAxis } from './indexing.js';
import { frontBatchWith } from './batching.js';
import { linear, zeroDerivative, type Builtin } from './rules.js';
import { batchOps, concat, slice } from './structural.js';

/** Parameters of `cumsum`: the (non-negative) axis, and whether the sums run from the end. */
export interface CumsumParams {
  readonly axis: number;
  readonly reverse: boolean;
}

/** Parameters of `argsort`: the (non-negative) axis. */
export interface ArgsortParams {
  readonly axis: number;
}

/** Options of the cumulative ops: `reverse` accumulates from the end of the axis. */
export interface CumulativeOptions {
  readonly reverse?: boolean;
}

/** Throws a ShapeError naming `op` unless `axis` is an axis of `shape` (rank ≥ 1). */
function checkAxis(op: string, shape: Shape, axis: number): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length)
    throw new ShapeError(op, `axis ${axis} is out of bounds for ${fmt(shape)}${shape.length === 0 ? ' (needs rank ≥ 1)' : ''}`);
}

/** Calls `line(base, step, len)` for every line of `shape` along `axis` (base: the first element's offset, step: the stride). */
function forEachLine(shape: Shape, axis: number, line: (base: number, step: number, len: number) => void): void {
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) line(o * len * inner + i, inner, len);
}

/**
 * The CPU reference of `cumsum`: one line at a time, from its first element (its last with `reverse`), one addition per
 * element in the output's arithmetic (f32 rounded at every step, i32 wrapping).
 */
function cumsumCpu(x: CpuInput, { axis, reverse }: CumsumParams): TypedArray {
  const out = allocArray(x.dtype, x.data.length);
  const d = x.data;
  const round = x.dtype === 'f32' ? Math.fround : x.dtype === 'i32' ? (v: number) => v | 0 : (v: number) => v;
  forEachLine(x.shape, axis, (base, step, len) => {
    if (len === 0) return;
    let p = reverse ? base + (len - 1) * step : base;
    const s = reverse ? -step : step;
    let acc = d[p]!;
    out[p] = acc;
    for (let k = 1; k < len; k++) {
      p += s;
      acc = round(acc + d[p]!);
      out[p] = acc;
    }
  });
  return out;
}

/** Whether `u` sorts strictly before `v`: numbers by <, a number before a NaN, NaNs never before each other. */
const before = (u: number, v: number): boolean => (Number.isNaN(v) ? !Number.isNaN(u) : u < v);

/** The CPU reference of `argsort`: each line's indices in a stable sort by `before`. */
function argsortCpu(x: CpuInput, { axis }: ArgsortParams): Int32Array {
  const out = new Int32Array(x.data.length);
  const d = x.data;
  forEachLine(x.shape, axis, (base, step, len) => {
    const idx = Array.from({ length: len }, (_, k) => k);
    // Array.prototype.sort is stable: equal values keep their index order
    idx.sort((a, b) => {
      const u = d[base + a * step]!;
      const v = d[base + b * step]!;
      return before(u, v) ? -1 : before(v, u) ? 1 : 0;
    });
    idx.forEach((k, j) => {
      out[base + j * step] = k;
    });
  });
  return out;
}

/** The batching rule of a primitive along one axis: the batch axis to the front, the axis shifted past it. */
const shiftAxis = <P extends { readonly axis: number }>(p: P): P => ({ ...p, axis: p.axis + 1 });

/** The primitive record of `cumsum` (linear: the transpose is the cumulative sum in the other direction). */
export const cumsumPrim: Builtin<CumsumParams> = {
  name: 'cumsum',
  shape: ([x], { axis }) => {
    checkAxis('cumsum', x!.shape, axis);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  cpu: ([x], p) => cumsumCpu(x!, p),
  // vmap: the batch axis to the front, the axis shifted past it
  batch: frontBatchWith<CumsumParams>(batchOps, shiftAxis),
  webgpu: cumsumKernel,
  wasm: wasmCumsum,
  // d cumsum(x) = cumsum(dx); transpose: yᵢ = Σ_{j ≤ i} xⱼ gives x̄ⱼ = Σ_{i ≥ j} ȳᵢ, the sum in the other direction
  ...linear<CumsumParams>(
    ([t], p) => bind(cumsumPrim, [t!], p),
    (ct, _xs, p) => [bind(cumsumPrim, [ct], { axis: p.axis, reverse: !p.reverse })],
  ),
};

/** The primitive record of `argsort` (i32, zero derivative; stable, NaN last). */
export const argsortPrim: Builtin<ArgsortParams> = {
  name: 'argsort',
  shape: ([x], { axis }) => {
    checkAxis('argsort', x!.shape, axis);
    return { shape: x!.shape, dtype: 'i32' };
  },
  cpu: ([x], p) => argsortCpu(x!, p),
  // vmap: the batch axis to the front, the axis shifted past it
  batch: frontBatchWith<ArgsortParams>(batchOps, shiftAxis),
  webgpu: argsortKernel,
  wasm: wasmArgsort,
  // integer-valued: no derivative
  ...zeroDerivative<ArgsortParams>(1),
};

/** `axis` of `t` normalised (negative counts from the end); rank 0 is a ShapeError naming `op`. */
function axisOf(op: string, t: Tensor, axis: number): number {
  if (t.ndim === 0) throw new ShapeError(op, `needs a tensor of rank ≥ 1, got a scalar ${fmt(t.shape)}`);
  return normalizeAxis(op, axis, t.ndim);
}

/**
 * Cumulative sum along `axis` (negative counts from the end): out[i] = Σ_{j ≤ i} x[j], or Σ_{j ≥ i} x[j] with
 * `reverse`. Linear: d cumsum(x) = cumsum(dx); the VJP is the cumulative sum of the cotangent in the other direction.
 */
export function cumsum(x: TensorLike, axis: number, opts: CumulativeOptions = {}): Tensor {
  const t = asTensor(x);
  return bind(cumsumPrim, [t], { axis: axisOf('cumsum', t, axis), reverse: opts.reverse === true });
}

/** The window [start, start + size) of `x` along `axis`. */
function along(x: Tensor, axis: number, start: number, size: number): Tensor {
  return slice(
    x,
    x.shape.map((_, i) => (i === axis ? start : 0)),
    x.shape.map((d, i) => (i === axis ? size : d)),
  );
}

/**
 * Cumulative product along `axis` (negative counts from the end): out[i] = Π_{j ≤ i} x[j], or Π_{j ≥ i} x[j] with
 * `reverse`. A log-depth (Hillis–Steele) scan of `mul` over shifted copies (⌈log₂ n⌉ products), so its derivative
 * comes from the product rule and is right at zeros: ∂out[i]/∂x[j] = Π_{k ≤ i, k ≠ j} x[k] for j ≤ i (no division).
 */
export function cumprod(x: TensorLike, axis: number, opts: CumulativeOptions = {}): Tensor {
  const t = asTensor(x);
  const a = axisOf('cumprod', t, axis);
  const n = t.shape[a]!;
  let y = t;
  for (let d = 1; d < n; d *= 2) {
    // y[i] · y[i - d] (or y[i + d] reversed), with 1 where i - d falls off the axis
    const fill = ones(
      t.shape.map((s, i) => (i === a ? d : s)),
      { dtype: t.dtype, backend: backendOf(t).name },
    );
    const shifted = opts.reverse ? concat([along(y, a, d, n - d), fill], a) : concat([fill, along(y, a, 0, n - d)], a);
    y = mul(y, shifted);
  }
  return y;
}

/**
 * The indices (i32) that sort `x` ascending along `axis` (default the last; negative counts from the end). Stable:
 * equal values (−0 and +0 among them) keep their index order; NaN comes after every number. No derivative.
 */
export function argsort(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  return bind(argsortPrim, [t], { axis: axisOf('argsort', t, axis) });
}

/**
 * `x` sorted ascending along `axis` (default the last; negative counts from the end): `takeAlongAxis(x, argsort(x, axis),
 * axis)`, so the derivative follows the permutation (the cotangent of output j goes to the input it came from). Stable
 * (ties keep their index order), NaN last.
 */
export function sort(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  const a = axisOf('sort', t, axis);
  return takeAlongAxis(t, argsort(t, a), a);
}

/**
 * The `k` largest values along the last axis and their indices: `[values, indices]`, each of shape
 * [...x.shape[:-1], k], values descending, indices i32; equal values (−0 and +0 among them) in index order (the lower
 * index first); NaN ranks below every number. The derivative of the values follows the selected positions (a
 * gather, as in `sort`); the indices have none. A composite: the stable ascending order of a decreasing key (−x, or
 * −1 − x on i32, which does not overflow), its first k, and `takeAlongAxis`.
 */
export function topk(x: TensorLike, k: number): [Tensor, Tensor] {
  const t = asTensor(x);
  const a = axisOf('topk', t, -1);
  const n = t.shape[a]!;
  if (!Number.isInteger(k) || k < 0 || k > n)
    throw new ValueError('topk', `k must be an integer in [0, ${n}] (the last axis of ${fmt(t.shape)}), got ${k}`);
  const key = t.dtype === 'i32' ? sub(-1, t) : neg(t);
  const indices = along(argsort(key, a), a, 0, k);
  return [takeAlongAxis(t, indices, a), indices];
}
