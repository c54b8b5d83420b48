/**
 * Reductions beyond `sum` (which lives with the linear primitives in
 * ops/structural.ts and is re-exported here): `max` over any set of axes and
 * `argmax` along one axis (integer result, not differentiable). `max` sends
 * its derivative to the first maximal element (in row-major order over the
 * reduced axes); NaN propagates through `max`.
 */
import { argmaxAlong, reduce } from '../backends/cpu/kernels.js';
import { argmaxKernel as wasmArgmax, maxKernel as wasmMax } from '../backends/wasm/kernels.js';
import { argmaxKernel, maxKernel } from '../backends/webgpu/kernels.js';
import { bind } from '../core/trace.js';
import { fmt, normalizeAxes, normalizeAxis, sizeOf, type Shape } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { arange, asTensor, backendOf, type TensorLike } from './creation.js';
import { equal, mul } from './elementwise.js';
import { handWritten, mapTangent, zeroDerivative, type Builtin } from './rules.js';
import {
  broadcastTo,
  cast,
  expandDims,
  keptShape,
  reshape,
  sumPrim,
  transpose,
  withKeepdims,
  type AxesParams,
  type ReduceOptions,
  batchOps,
} from './structural.js';
import { frontBatchWith } from './batching.js';
import { inversePermutation } from './util.js';

export { sum, sumPrim, type AxesParams, type ReduceOptions } from './structural.js';

/** Parameters of a reduction along one axis. */
export interface AxisParams {
  readonly axis: number;
}

const reducedShape = (op: string, s: Shape, axes: readonly number[]): number[] => {
  for (const a of axes)
    if (!Number.isInteger(a) || a < 0 || a >= s.length) throw new ShapeError(op, `axis ${a} is out of bounds for ${fmt(s)}`);
  return s.filter((_, i) => !axes.includes(i));
};

/** 1 at the first maximal element over `axes`, 0 elsewhere (a constant: built from argmax). */
export function firstMaxMask(x: Tensor, axes: readonly number[]): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const k = sizeOf(axes.map((a) => x.shape[a]!));
  const xr = reshape(transpose(x, perm), [...kept.map((i) => x.shape[i]!), k]);
  const idx = argmax(xr, -1);
  const hot = cast(equal(expandDims(idx, -1), arange(k, undefined, 1, { dtype: 'i32', backend: backendOf(x).name })), x.dtype);
  const back = reshape(
    hot,
    perm.map((i) => x.shape[i]!),
  );
  return transpose(back, inversePermutation(perm));
}

/** The primitive record of `max` over axes (the derivative goes to the first maximal element). */
export const maxPrim: Builtin<AxesParams> = {
  name: 'max',
  shape: ([x], { axes }) => {
    for (const a of axes) if (x!.shape[a] === 0) throw new ShapeError('max', `cannot reduce over the empty axis ${a} of ${fmt(x!.shape)}`);
    return { shape: reducedShape('max', x!.shape, axes), dtype: x!.dtype };
  },
  cpu: ([x], { axes }, out) => reduce(x!, axes, out, -Infinity, (a, v) => (v > a || Number.isNaN(v) ? v : a)),
  // vmap: the batch axis to the front, the reduced axes shifted past it
  batch: frontBatchWith<AxesParams>(batchOps, (p) => ({ axes: p.axes.map((a) => a + 1) })),
  webgpu: maxKernel,
  wasm: wasmMax,
  ...handWritten<AxesParams>(
    // d max x = dx at the first maximal element
    ([x], [t], { axes }) => mapTangent(t!, (v) => bind(sumPrim, [mul(v, firstMaxMask(x!, axes))], { axes })),
    // the cotangent flows to the first maximal element only
    (ct, [x], { axes }) => [mul(broadcastTo(reshape(ct, keptShape(x!.shape, axes)), x!.shape), firstMaxMask(x!, axes))],
  ),
};

/** The primitive record of `argmax` (i32, zero derivative). */
export const argmaxPrim: Builtin<AxisParams> = {
  name: 'argmax',
  shape: ([x], { axis }) => {
    if (x!.shape[axis] === 0) throw new ShapeError('argmax', `cannot reduce over the empty axis ${axis} of ${fmt(x!.shape)}`);
    return { shape: reducedShape('argmax', x!.shape, [axis]), dtype: 'i32' };
  },
  cpu: ([x], { axis }) => argmaxAlong(x!, axis),
  // vmap: the batch axis to the front, the axis shifted past it
  batch: frontBatchWith<AxisParams>(batchOps, (p) => ({ axis: p.axis + 1 })),
  webgpu: argmaxKernel,
  wasm: wasmArgmax,
  // integer-valued: no derivative
  ...zeroDerivative<AxisParams>(1),
};

/** Maximum over `axis` (a number, a list, or all axes when omitted); the derivative goes to the first maximal element. */
export function max(x: TensorLike, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const t = asTensor(x);
  const ax = normalizeAxes('max', axis, t.ndim);
  if (ax.length === 0) return t;
  return withKeepdims(bind(maxPrim, [t], { axes: ax }), t, ax, opts.keepdims);
}

/** Index of the first maximum along `axis` (default: over the flattened tensor); i32, not differentiable. */
export function argmax(x: TensorLike, axis?: number): Tensor {
  const t = asTensor(x);
  if (axis === undefined) return bind(argmaxPrim, [reshape(t, [-1])], { axis: 0 });
  if (t.ndim === 0) throw new ShapeError('argmax', 'needs rank ≥ 1 when an axis is given');
  return bind(argmaxPrim, [t], { axis: normalizeAxis('argmax', axis, t.ndim) });
}
