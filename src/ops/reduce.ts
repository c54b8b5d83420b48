/**
 * Reduction primitives: `sum` and `max` over any set of axes, `argmax` along
 * one axis (integer result, not differentiable). `max` sends its derivative
 * to the first maximal element (in row-major order over the reduced axes).
 */
import { argmaxAlong, reduce } from '../backends/cpu/kernels.js';
import type { Primitive } from '../core/Primitive.js';
import { bind } from '../core/trace.js';
import { lin, Zero } from '../core/Zero.js';
import { fmt, normalizeAxes, normalizeAxis, type Shape } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { arange, asTensor, type TensorLike } from './creation.js';
import { mul, equal } from './elementwise.js';
import { broadcastTo, cast, expandDims, reshape, transpose } from './structural.js';

export interface AxesParams {
  readonly axes: readonly number[];
}
export interface AxisParams {
  readonly axis: number;
}

const reducedShape = (op: string, s: Shape, axes: readonly number[]): number[] => {
  for (const a of axes) if (!Number.isInteger(a) || a < 0 || a >= s.length) throw new ShapeError(op, `axis ${a} is out of bounds for ${fmt(s)}`);
  return s.filter((_, i) => !axes.includes(i));
};
const keptShape = (s: Shape, axes: readonly number[]): number[] => s.map((d, i) => (axes.includes(i) ? 1 : d));

export const sumPrim: Primitive<AxesParams> = {
  name: 'sum',
  shape: ([x], { axes }) => ({ shape: reducedShape('sum', x!.shape, axes), dtype: x!.dtype }),
  cpu: ([x], { axes }, out) => reduce(x!, axes, out, 0, (a, v) => a + v),
  // linear: d Σx = Σ dx
  jvp: (_, [t], p) => lin(t!, (t) => bind(sumPrim, [t], p)),
  // adjoint of summing is broadcasting the cotangent back over the summed axes
  vjp: (ct, [x], { axes }) => [broadcastTo(reshape(ct, keptShape(x!.shape, axes)), x!.shape)],
};

/** 1 at the first maximal element over `axes`, 0 elsewhere (a constant: built from argmax). */
export function firstMaxMask(x: Tensor, axes: readonly number[]): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const k = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
  const xr = reshape(transpose(x, perm), [...kept.map((i) => x.shape[i]!), k]);
  const idx = argmax(xr, -1);
  const hot = cast(equal(expandDims(idx, -1), arange(k, undefined, 1, { dtype: 'i32' })), x.dtype);
  const back = reshape(hot, perm.map((i) => x.shape[i]!));
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return transpose(back, inv);
}

export const maxPrim: Primitive<AxesParams> = {
  name: 'max',
  shape: ([x], { axes }) => {
    for (const a of axes) if (x!.shape[a] === 0) throw new ShapeError('max', `cannot reduce over the empty axis ${a} of ${fmt(x!.shape)}`);
    return { shape: reducedShape('max', x!.shape, axes), dtype: x!.dtype };
  },
  cpu: ([x], { axes }, out) => reduce(x!, axes, out, -Infinity, (a, v) => (v > a || Number.isNaN(v) ? v : a)),
  // d max x = dx at the first maximal element
  jvp: ([x], [t], { axes }) => lin(t!, (t) => bind(sumPrim, [mul(t, firstMaxMask(x!, axes))], { axes })),
  // the cotangent flows to the first maximal element only
  vjp: (ct, [x], { axes }) => [mul(broadcastTo(reshape(ct, keptShape(x!.shape, axes)), x!.shape), firstMaxMask(x!, axes))],
};

export const argmaxPrim: Primitive<AxisParams> = {
  name: 'argmax',
  shape: ([x], { axis }) => {
    if (x!.shape[axis] === 0) throw new ShapeError('argmax', `cannot reduce over the empty axis ${axis} of ${fmt(x!.shape)}`);
    return { shape: reducedShape('argmax', x!.shape, [axis]), dtype: 'i32' };
  },
  cpu: ([x], { axis }) => argmaxAlong(x!, axis),
  // integer-valued: no derivative
  jvp: () => Zero,
  vjp: () => [Zero],
};

export interface ReduceOptions {
  keepdims?: boolean;
}

const withKeepdims = (y: Tensor, x: Tensor, axes: readonly number[], keepdims?: boolean): Tensor =>
  keepdims ? reshape(y, keptShape(x.shape, axes)) : y;

/** Sum over `axes` (default: all). */
export function sum(x: TensorLike, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const t = asTensor(x);
  const ax = normalizeAxes('sum', axes, t.ndim);
  if (ax.length === 0) return t;
  return withKeepdims(bind(sumPrim, [t], { axes: ax }), t, ax, opts.keepdims);
}

/** Maximum over `axis` (a number, a list, or all axes when omitted). */
export function max(x: TensorLike, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const t = asTensor(x);
  const ax = normalizeAxes('max', axis, t.ndim);
  if (ax.length === 0) return t;
  return withKeepdims(bind(maxPrim, [t], { axes: ax }), t, ax, opts.keepdims);
}

/** Index of the first maximum along `axis` (default: over the flattened tensor); i32. */
export function argmax(x: TensorLike, axis?: number): Tensor {
  const t = asTensor(x);
  if (axis === undefined) return bind(argmaxPrim, [reshape(t, [-1])], { axis: 0 });
  if (t.ndim === 0) throw new ShapeError('argmax', 'needs rank ≥ 1 when an axis is given');
  return bind(argmaxPrim, [t], { axis: normalizeAxis('argmax', axis, t.ndim) });
}
