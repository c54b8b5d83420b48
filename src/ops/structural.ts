/**
 * Structural (linear) primitives: reshape, transpose, broadcastTo, slice,
 * pad, concat, cast, sum and stopGradient, plus the derived ops built on them
 * (expandDims, squeeze, stack, unbroadcast, flatten). All are linear, so each
 * record declares the op and its transpose (`linear` in ops/rules.ts) and
 * gets its JVP (the same op on the tangent) and VJP (the transpose on the
 * cotangent) from that. `sum` lives here because its transpose is
 * broadcasting and broadcasting's transpose is summing: the two are one
 * family, and this module depends on no other op module but creation.
 */
import { broadcastStrides, gather, reduce, scatter } from '../backends/cpu/kernels.js';
import {
  broadcastKernel,
  castKernel,
  concatKernel,
  padKernel,
  shareKernel,
  sliceKernel,
  sumKernel,
  transposeKernel,
} from '../backends/webgpu/kernels.js';
import * as wasm from '../backends/wasm/kernels.js';
import { bind } from '../core/trace.js';
import { Zero } from '../core/Zero.js';
import { allocArray, DTYPES, isFloat, toTypedArray, type DType } from '../tensor/dtype.js';
import { describe } from '../tensor/format.js';
import {
  broadcastsTo,
  checkShape,
  fmt,
  normalizeAxes,
  normalizeAxis,
  shapesEqual,
  sizeOf,
  stridesOf,
  type Shape,
} from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, type TensorLike } from './creation.js';
import { linear, zeroDerivative, type Builtin } from './rules.js';
import { allFrontBatch, broadcastingBatch, frontBatchWith, toFront, type BatchOps } from './batching.js';
import { inversePermutation, sameDtype } from './util.js';

/** Parameters of `reshape` and `broadcastTo`: the output shape. */
export interface ReshapeParams {
  readonly shape: Shape;
}
/** Parameters of `transpose`: output axis i is input axis perm[i]. */
export interface TransposeParams {
  readonly perm: readonly number[];
}
/** Parameters of `slice`: the start and size of the window on every axis. */
export interface SliceParams {
  readonly starts: readonly number[];
  readonly sizes: readonly number[];
}
/** Parameters of `pad`: zeros added before (lo) and after (hi) every axis. */
export interface PadParams {
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}
/** Parameters of `concat`: the (non-negative) axis. */
export interface ConcatParams {
  readonly axis: number;
}
/** Parameters of `cast`: the output dtype. */
export interface CastParams {
  readonly dtype: DType;
}
/** Parameters of the reductions: the (non-negative, sorted) axes reduced. */
export interface AxesParams {
  readonly axes: readonly number[];
}
type NoParams = Record<string, never>;

/** The structural ops the batching rules use (called only when a rule runs, after this module has loaded). */
export const batchOps: BatchOps = {
  transpose: (x, perm) => bind(transposePrim, [x], { perm }),
  reshape: (x, shape) => bind(reshapePrim, [x], { shape }),
  broadcastTo: (x, shape) => bind(broadcastToPrim, [x], { shape }),
};

/** The batching rule of a one-input primitive whose batch axis can stay where it is (cast, stopGradient). */
const keepBatch = <P>(): Builtin<P>['batch'] => broadcastingBatch<P>(batchOps);
/** Parameters that list axes of the input, with a batch axis added at the front. */
const shiftAxes = <P extends { readonly axes: readonly number[] }>(p: P): P => ({ ...p, axes: p.axes.map((a) => a + 1) });

/** The primitive record of `reshape` (linear: the cotangent is reshaped back). */
export const reshapePrim: Builtin<ReshapeParams> = {
  name: 'reshape',
  shape: ([x], { shape }) => {
    if (sizeOf(shape) !== sizeOf(x!.shape))
      throw new ShapeError(
        'reshape',
        `cannot reshape ${fmt(x!.shape)} (${sizeOf(x!.shape)} elements) to ${fmt(shape)} (${sizeOf(shape)} elements)`,
      );
    return { shape, dtype: x!.dtype };
  },
  cpu: ([x]) => x!.data,
  // vmap: the batch axis to the front, reshaped along
  batch: frontBatchWith<ReshapeParams>(batchOps, (p, size) => ({ shape: [size, ...p.shape] })),
  webgpu: shareKernel,
  wasm: wasm.shareKernel,
  // d reshape(x) = reshape(dx); transpose: reshape back to the input's shape
  ...linear<ReshapeParams>(
    ([t], { shape }) => reshape(t!, shape),
    (ct, [x]) => [reshape(ct, x!.shape)],
  ),
};

/** The primitive record of `transpose` (linear: the cotangent is transposed by the inverse permutation). */
export const transposePrim: Builtin<TransposeParams> = {
  name: 'transpose',
  shape: ([x], { perm }) => {
    const r = x!.shape.length;
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new ShapeError('transpose', `perm [${perm.join(',')}] is not a permutation of the axes of ${fmt(x!.shape)}`);
    }
    return { shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
  },
  cpu: ([x], { perm }, out) => {
    const st = stridesOf(x!.shape);
    return gather(
      x!.data,
      out.shape,
      perm.map((p) => st[p]!),
      0,
      out.dtype,
    );
  },
  // vmap: the batch axis to the front, the permutation shifted past it
  batch: frontBatchWith<TransposeParams>(batchOps, (p) => ({ perm: [0, ...p.perm.map((a) => a + 1)] })),
  webgpu: transposeKernel,
  wasm: wasm.transposeKernel,
  // d transpose(x) = transpose(dx); the adjoint of a permutation is its inverse
  ...linear<TransposeParams>(
    ([t], { perm }) => transpose(t!, perm),
    (ct, _, { perm }) => [transpose(ct, inversePermutation(perm))],
  ),
};

/** The primitive record of `broadcastTo` (linear: the cotangent is summed back to the input's shape). */
export const broadcastToPrim: Builtin<ReshapeParams> = {
  name: 'broadcastTo',
  shape: ([x], { shape }) => {
    if (!broadcastsTo(x!.shape, shape)) throw new ShapeError('broadcastTo', `cannot broadcast ${fmt(x!.shape)} to ${fmt(shape)}`);
    return { shape, dtype: x!.dtype };
  },
  cpu: ([x], _p, out) => gather(x!.data, out.shape, broadcastStrides(x!.shape, out.shape), 0, out.dtype),
  // vmap: the batch axis to the front, the example padded to the target rank
  batch: (xs, dims, { shape }, size) => {
    const x = toFront(batchOps, xs[0]!, dims[0]!);
    const per = x.shape.length - 1;
    const padded = batchOps.reshape(x, [size, ...Array.from({ length: shape.length - per }, () => 1), ...x.shape.slice(1)]);
    return [batchOps.broadcastTo(padded, [size, ...shape]), 0];
  },
  webgpu: broadcastKernel,
  wasm: wasm.broadcastKernel,
  // d broadcast(x) = broadcast(dx); the adjoint of broadcasting sums over the broadcast axes
  ...linear<ReshapeParams>(
    ([t], { shape }) => broadcastTo(t!, shape),
    (ct, [x]) => [unbroadcast(ct, x!.shape)],
  ),
};

/** The primitive record of `slice` (linear: the cotangent is padded with zeros back to the input's shape). */
export const slicePrim: Builtin<SliceParams> = {
  name: 'slice',
  shape: ([x], { starts, sizes }) => {
    const s = x!.shape;
    if (starts.length !== s.length || sizes.length !== s.length)
      throw new ShapeError(
        'slice',
        `starts [${starts.join(',')}] and sizes [${sizes.join(',')}] must have one entry per axis of ${fmt(s)}`,
      );
    s.forEach((d, i) => {
      const a = starts[i]!;
      const n = sizes[i]!;
      if (!Number.isInteger(a) || !Number.isInteger(n) || a < 0 || n < 0 || a + n > d) {
        throw new ShapeError('slice', `slice [${starts.join(',')}] + [${sizes.join(',')}] is out of bounds for ${fmt(s)} (axis ${i})`);
      }
    });
    return { shape: [...sizes], dtype: x!.dtype };
  },
  cpu: ([x], { starts }, out) => {
    const st = stridesOf(x!.shape);
    const off = starts.reduce((acc, a, i) => acc + a * st[i]!, 0);
    return gather(x!.data, out.shape, st, off, out.dtype);
  },
  // vmap: the batch axis to the front, taken whole
  batch: frontBatchWith<SliceParams>(batchOps, (p, size) => ({ starts: [0, ...p.starts], sizes: [size, ...p.sizes] })),
  webgpu: sliceKernel,
  wasm: wasm.sliceKernel,
  // d slice(x) = slice(dx); the adjoint of slicing is zero-padding back to the input's shape
  ...linear<SliceParams>(
    ([t], p) => bind(slicePrim, [t!], p),
    (ct, [x], { starts, sizes }) => [bind(padPrim, [ct], { lo: starts, hi: x!.shape.map((d, i) => d - starts[i]! - sizes[i]!) })],
  ),
};

/** The primitive record of `pad` (linear: the cotangent is sliced back to the input's window). */
export const padPrim: Builtin<PadParams> = {
  name: 'pad',
  shape: ([x], { lo, hi }) => {
    const s = x!.shape;
    if (lo.length !== s.length || hi.length !== s.length)
      throw new ShapeError('pad', `padding needs one (lo, hi) pair per axis of ${fmt(s)}`);
    if ([...lo, ...hi].some((v) => !Number.isInteger(v) || v < 0))
      throw new ShapeError('pad', `padding must be non-negative integers, got lo [${lo.join(',')}] hi [${hi.join(',')}]`);
    return { shape: s.map((d, i) => d + lo[i]! + hi[i]!), dtype: x!.dtype };
  },
  cpu: ([x], { lo }, out) => {
    const r = allocArray(out.dtype, sizeOf(out.shape));
    const st = stridesOf(out.shape);
    scatter(
      x!.data,
      x!.shape,
      r,
      st,
      lo.reduce((acc, a, i) => acc + a * st[i]!, 0),
    );
    return r;
  },
  // vmap: the batch axis to the front, not padded
  batch: frontBatchWith<PadParams>(batchOps, (p) => ({ lo: [0, ...p.lo], hi: [0, ...p.hi] })),
  webgpu: padKernel,
  wasm: wasm.padKernel,
  // d pad(x) = pad(dx); the adjoint of zero-padding is slicing out the interior
  ...linear<PadParams>(
    ([t], p) => bind(padPrim, [t!], p),
    (ct, [x], { lo }) => [bind(slicePrim, [ct], { starts: lo, sizes: x!.shape })],
  ),
};

/** The primitive record of `concat` (linear: each input's cotangent is its slice of the output's). */
export const concatPrim: Builtin<ConcatParams> = {
  name: 'concat',
  shape: (xs, { axis }) => {
    if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
    sameDtype('concat', ...xs);
    const s0 = xs[0]!.shape;
    if (!Number.isInteger(axis) || axis < 0 || axis >= s0.length)
      throw new ShapeError('concat', `axis ${axis} is out of bounds for ${xs.map((x) => fmt(x.shape)).join(', ')}`);
    for (const x of xs) {
      if (x.shape.length !== s0.length || x.shape.some((d, i) => i !== axis && d !== s0[i])) {
        throw new ShapeError('concat', `shapes ${xs.map((x) => fmt(x.shape)).join(', ')} differ outside axis ${axis}`);
      }
    }
    const out = [...s0];
    out[axis] = xs.reduce((acc, x) => acc + x.shape[axis]!, 0);
    return { shape: out, dtype: xs[0]!.dtype };
  },
  cpu: (xs, { axis }, out) => {
    const r = allocArray(out.dtype, sizeOf(out.shape));
    const st = stridesOf(out.shape);
    let off = 0;
    for (const x of xs) {
      scatter(x.data, x.shape, r, st, off * st[axis]!);
      off += x.shape[axis]!;
    }
    return r;
  },
  // vmap: every input batched at the front (an unbatched one broadcast), concatenated one axis further
  batch: allFrontBatch<ConcatParams>(batchOps, (p) => ({ axis: p.axis + 1 })),
  webgpu: concatKernel,
  wasm: wasm.concatKernel,
  // d concat(xs) = concat(dxs); the adjoint slices the cotangent back into the pieces
  ...linear<ConcatParams>(
    (ts, p) => bind(concatPrim, ts, p),
    (ct, xs, { axis }, needed) => {
      let off = 0;
      return xs.map((x, i) => {
        const start = off;
        off += x.shape[axis]!;
        if (!needed[i]) return Zero;
        const starts = ct.shape.map((_, k) => (k === axis ? start : 0));
        return bind(slicePrim, [ct], { starts, sizes: x.shape });
      });
    },
  ),
};

/** The primitive record of `cast` (linear between float dtypes; no derivative to or from i32). */
export const castPrim: Builtin<CastParams> = {
  name: 'cast',
  shape: ([x], { dtype }) => {
    if (!DTYPES.includes(dtype)) throw new ShapeError('cast', `unknown dtype '${String(dtype)}'`);
    return { shape: x!.shape, dtype };
  },
  cpu: ([x], { dtype }) => toTypedArray(dtype, x!.data),
  // vmap: elementwise, the batch axis stays
  batch: keepBatch<CastParams>(),
  webgpu: castKernel,
  wasm: wasm.castKernel,
  // d cast(x) = cast(dx) between float types; casts to or from integers carry no derivative
  ...linear<CastParams>(
    ([t], { dtype }, [x]) => (isFloat(x!.dtype) && isFloat(dtype) ? cast(t!, dtype) : Zero),
    (ct, [x], { dtype }) => [isFloat(x!.dtype) && isFloat(dtype) ? cast(ct, x!.dtype) : Zero],
  ),
};

/** The primitive record of `stopGradient`: the identity, with a zero derivative. */
export const stopGradientPrim: Builtin<NoParams> = {
  name: 'stopGradient',
  shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  cpu: ([x]) => x!.data,
  // vmap: elementwise, the batch axis stays
  batch: keepBatch<NoParams>(),
  webgpu: shareKernel,
  wasm: wasm.shareKernel,
  // treated as a constant: no derivative flows through
  ...zeroDerivative<NoParams>(1),
};

const reducedShape = (op: string, s: Shape, axes: readonly number[]): number[] => {
  for (const a of axes)
    if (!Number.isInteger(a) || a < 0 || a >= s.length) throw new ShapeError(op, `axis ${a} is out of bounds for ${fmt(s)}`);
  return s.filter((_, i) => !axes.includes(i));
};

/** `s` with the reduced `axes` kept as size 1. */
export const keptShape = (s: Shape, axes: readonly number[]): number[] => s.map((d, i) => (axes.includes(i) ? 1 : d));

/** The primitive record of `sum` (linear: the cotangent is broadcast back over the reduced axes). */
export const sumPrim: Builtin<AxesParams> = {
  name: 'sum',
  shape: ([x], { axes }) => ({ shape: reducedShape('sum', x!.shape, axes), dtype: x!.dtype }),
  cpu: ([x], { axes }, out) => reduce(x!, axes, out, 0, (a, v) => a + v),
  // vmap: the batch axis to the front, the reduced axes shifted past it
  batch: frontBatchWith<AxesParams>(batchOps, shiftAxes),
  webgpu: sumKernel,
  wasm: wasm.sumKernel,
  // d Σx = Σ dx; the adjoint of summing broadcasts the cotangent back over the summed axes
  ...linear<AxesParams>(
    ([t], p) => bind(sumPrim, [t!], p),
    (ct, [x], { axes }) => [broadcastTo(reshape(ct, keptShape(x!.shape, axes)), x!.shape)],
  ),
};

/** Reduction options: keep the reduced axes as size 1. */
export interface ReduceOptions {
  keepdims?: boolean;
}

/** `y` reshaped to keep the reduced axes of `x` as size 1 when `keepdims`. */
export const withKeepdims = (y: Tensor, x: Tensor, axes: readonly number[], keepdims?: boolean): Tensor =>
  keepdims ? reshape(y, keptShape(x.shape, axes)) : y;

/** Sum over `axes` (default: all). d Σx = Σ dx. */
export function sum(x: TensorLike, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const t = asTensor(x);
  const ax = normalizeAxes('sum', axes, t.ndim);
  if (ax.length === 0) return t;
  return withKeepdims(bind(sumPrim, [t], { axes: ax }), t, ax, opts.keepdims);
}

// ---- public op functions ----

/** Reshape; one dimension may be -1 (inferred). */
export function reshape(x: TensorLike, shape: Shape): Tensor {
  const t = asTensor(x);
  const n = t.size;
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError('reshape', `only one dimension may be -1, got ${fmt(shape)}`);
  let target = [...shape];
  if (unknown === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || n % known !== 0) throw new ShapeError('reshape', `cannot reshape ${fmt(t.shape)} to ${fmt(shape)}`);
    target = shape.map((d) => (d === -1 ? n / known : d));
  }
  checkShape('reshape', target);
  if (shapesEqual(target, t.shape)) return t;
  return bind(reshapePrim, [t], { shape: target });
}

/** Permute axes (default: reverse them). */
export function transpose(x: TensorLike, perm?: readonly number[]): Tensor {
  const t = asTensor(x);
  const p = perm ? perm.map((a) => normalizeAxis('transpose', a, t.ndim)) : t.shape.map((_, i) => t.ndim - 1 - i);
  if (p.every((a, i) => a === i) && p.length === t.ndim) return t;
  return bind(transposePrim, [t], { perm: p });
}

/** Swap the last two axes. */
export function matrixTranspose(x: Tensor): Tensor {
  const r = x.ndim;
  if (r < 2) throw new ShapeError('matrixTranspose', `needs rank ≥ 2, got ${describe(x.dtype, x.shape)}`);
  return transpose(x, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
}

/**
 * Broadcast to `shape` (numpy rules: size-1 and missing leading axes repeat). Linear: the cotangent is summed back to the input's shape.
 */
export function broadcastTo(x: TensorLike, shape: Shape): Tensor {
  const t = asTensor(x);
  checkShape('broadcastTo', shape);
  if (shapesEqual(t.shape, shape)) return t;
  return bind(broadcastToPrim, [t], { shape: [...shape] });
}

/** Sum `ct` down to `shape` (the adjoint of broadcasting `shape` up to ct.shape). */
export function unbroadcast(ct: Tensor, shape: Shape): Tensor {
  if (shapesEqual(ct.shape, shape)) return ct;
  if (!broadcastsTo(shape, ct.shape)) throw new ShapeError('unbroadcast', `${fmt(shape)} does not broadcast to ${fmt(ct.shape)}`);
  const lead = ct.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < ct.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && ct.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(ct, axes), shape);
}

/** Insert a size-1 axis at `axis` (negative counts from the end of the result): a reshape, linear. */
export function expandDims(x: TensorLike, axis: number): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis('expandDims', axis, t.ndim + 1);
  const s = [...t.shape];
  s.splice(a, 0, 1);
  return reshape(t, s);
}

/** Remove size-1 axes (all of them, or those listed). */
export function squeeze(x: TensorLike, axes?: number | readonly number[]): Tensor {
  const t = asTensor(x);
  const ax = axes === undefined ? t.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axes, t.ndim);
  for (const a of ax) if (t.shape[a] !== 1) throw new ShapeError('squeeze', `axis ${a} of ${fmt(t.shape)} has size ${t.shape[a]}, not 1`);
  return reshape(
    t,
    t.shape.filter((_, i) => !ax.includes(i)),
  );
}

/**
 * slice(x, begin, size): `size[i] = -1` (or omitted) takes everything to the end;
 * negative begins count from the end.
 */
export function slice(x: TensorLike, begin: readonly number[], size?: readonly number[]): Tensor {
  const t = asTensor(x);
  if (begin.length > t.ndim) throw new ShapeError('slice', `begin [${begin.join(',')}] has more entries than the rank of ${fmt(t.shape)}`);
  const starts = t.shape.map((d, i) => {
    const b = begin[i] ?? 0;
    return b < 0 ? d + b : b;
  });
  const sizes = t.shape.map((d, i) => {
    const s = size?.[i];
    return s === undefined || s === -1 ? d - starts[i]! : s;
  });
  if (sizes.every((s, i) => s === t.shape[i])) return t;
  return bind(slicePrim, [t], { starts, sizes });
}

/** Zero-pad: one [before, after] pair per axis. */
export function pad(x: TensorLike, widths: readonly (readonly [number, number])[]): Tensor {
  const t = asTensor(x);
  if (widths.length !== t.ndim)
    throw new ShapeError('pad', `needs ${t.ndim} (before, after) pairs for ${fmt(t.shape)}, got ${widths.length}`);
  return bind(padPrim, [t], { lo: widths.map((w) => w[0]), hi: widths.map((w) => w[1]) });
}

/** Join tensors of equal shape but for `axis` along that axis (default 0). Linear: each input's cotangent is its slice of the output's. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
  if (xs.some((x) => x.ndim === 0))
    throw new ShapeError(
      'concat',
      `cannot concatenate rank-0 tensors (scalars): ${xs.map((x) => describe(x.dtype, x.shape)).join(', ')}; use stack()`,
    );
  const a = normalizeAxis('concat', axis, xs[0]!.ndim);
  for (const x of xs) {
    if (x.ndim !== xs[0]!.ndim) throw new ShapeError('concat', `ranks differ: ${xs.map((x) => fmt(x.shape)).join(', ')}`);
  }
  if (xs.length === 1) return xs[0]!;
  return bind(concatPrim, xs, { axis: a });
}

/** Join tensors of the same shape along a new axis `axis` (default 0). Linear: each input's cotangent is its slice of the output's. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('stack', 'needs at least one tensor');
  const s0 = xs[0]!.shape;
  for (const x of xs)
    if (!shapesEqual(x.shape, s0)) throw new ShapeError('stack', `shapes differ: ${xs.map((x) => fmt(x.shape)).join(', ')}`);
  const a = normalizeAxis('stack', axis, s0.length + 1);
  return concat(
    xs.map((x) => expandDims(x, a)),
    a,
  );
}

/**
 * Convert to `dtype` (the identity when it is already). d cast(x) = cast(dx) between float types; casts to or from i32 have no derivative.
 */
export function cast(x: TensorLike, dtype: DType): Tensor {
  const t = asTensor(x);
  if (t.dtype === dtype) return t;
  return bind(castPrim, [t], { dtype });
}

/** The identity whose derivative is zero. */
export function stopGradient(x: TensorLike): Tensor {
  return bind(stopGradientPrim, [asTensor(x)], {});
}

/** Flatten all axes from `startAxis` on into one. */
export function flatten(x: TensorLike, startAxis = 0): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis('flatten', startAxis, Math.max(t.ndim, 1));
  return reshape(t, [...t.shape.slice(0, a), -1]);
}
