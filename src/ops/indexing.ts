/**
 * Indexing primitives: `take` (numpy.take: gather whole slices along one axis
 * by an i32 index tensor) and its transpose `scatterAdd` (add slices at indexed
 * positions, duplicates accumulating), plus the composite `takeAlongAxis`
 * (numpy.take_along_axis) built on `take`. The tensors are seen as
 * [outer, n, inner] around the indexed axis (n its size) and the indices as a
 * flat list of m positions: take's output is [outer, m, inner], scatterAdd's
 * updates are [outer, m, inner]. Negative indices count from the end; an index
 * outside [-n, n) is an error naming the op, the axis, the index and the size
 * on the cpu and wasm backends; on WebGPU (where the indices are not on the
 * host) an out-of-range index reads 0 in `take` and its update is dropped in
 * `scatterAdd`. Both are linear in their float inputs; indices carry no
 * derivative.
 */
import type { CpuInput } from '../backends/Backend.js';
import { indexOutOfRange } from '../backends/indexErrors.js';
import { scatterAddKernel as wasmScatterAdd, takeKernel as wasmTake } from '../backends/wasm/indexingKernels.js';
import { scatterAddKernel as gpuScatterAdd, takeKernel as gpuTake } from '../backends/webgpu/indexingKernels.js';
import { ConcreteTensor } from '../core/ConcreteTensor.js';
import { bind } from '../core/trace.js';
import { Zero } from '../core/Zero.js';
import { allocArray, type TypedArray } from '../tensor/dtype.js';
import { broadcastShapes, fmt, normalizeAxis, shapesEqual, sizeOf, stridesOf, type Shape } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import type { Aval } from '../tensor/Aval.js';
import { arange, backendOf, tensor, zerosLike } from './creation.js';
import { add, greater, mul, sub, where } from './elementwise.js';
import { linear, type Builtin } from './rules.js';
import { toFront } from './batching.js';
import { batchOps, broadcastTo, reshape, transpose } from './structural.js';

/** Parameters of `take` and `scatterAdd`: the (non-negative) indexed axis. */
export interface IndexAxisParams {
  readonly axis: number;
}

/** Indices as accepted by the indexing ops: an i32 tensor, or numbers (a flat or nested array), made i32. */
export type IndexLike = Tensor | number | readonly IndexNested[];
/** A nested array of indices. */
export type IndexNested = number | readonly IndexNested[];

/** [outer, n, inner] of `shape` around `axis`. */
const around = (shape: Shape, axis: number): [number, number, number] => [
  sizeOf(shape.slice(0, axis)),
  shape[axis]!,
  sizeOf(shape.slice(axis + 1)),
];

/** `x.shape[:axis] + indices + x.shape[axis+1:]`: the output of take and the updates of scatterAdd. */
const indexedShape = (x: Shape, axis: number, indices: Shape): number[] => [...x.slice(0, axis), ...indices, ...x.slice(axis + 1)];

function checkAxis(op: string, x: Aval, axis: number): void {
  if (x.shape.length === 0) throw new ShapeError(op, `cannot index a rank-0 tensor (${x.dtype}[]) along an axis`);
  if (!Number.isInteger(axis) || axis < 0 || axis >= x.shape.length)
    throw new ShapeError(op, `axis ${axis} is out of bounds for ${x.dtype}${fmt(x.shape)}`);
}

function checkIndices(op: string, idx: Aval): void {
  if (idx.dtype !== 'i32') throw new ShapeError(op, `indices must be i32, got ${idx.dtype}${fmt(idx.shape)}`);
}

/** Indices made non-negative (numpy: negatives count from the end); an out-of-range index is an error naming the op. */
function normalizedIndices(op: string, idx: TypedArray, n: number, axis: number): Int32Array {
  const out = new Int32Array(idx.length);
  for (let j = 0; j < idx.length; j++) {
    const v = idx[j]!;
    if (v < -n || v >= n) throw indexOutOfRange(op, axis, v, n, j);
    out[j] = v < 0 ? v + n : v;
  }
  return out;
}

/** CPU take: out[o, j, i] = x[o, idx[j], i]. */
function takeCpu([x, idx]: readonly CpuInput[], { axis }: IndexAxisParams, out: Aval): TypedArray {
  const [outer, n, inner] = around(x!.shape, axis);
  const ks = normalizedIndices('take', idx!.data, n, axis);
  const m = ks.length;
  const r = allocArray(out.dtype, outer * m * inner);
  const src = x!.data;
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < m; j++) {
      const from = (o * n + ks[j]!) * inner;
      r.set(src.subarray(from, from + inner), (o * m + j) * inner);
    }
  return r;
}

/** CPU scatterAdd: out = x; out[o, idx[j], i] += updates[o, j, i] (duplicates accumulate in order of j; i32 wraps). */
function scatterAddCpu([x, idx, upd]: readonly CpuInput[], { axis }: IndexAxisParams, out: Aval): TypedArray {
  const [outer, n, inner] = around(x!.shape, axis);
  const ks = normalizedIndices('scatterAdd', idx!.data, n, axis);
  const m = ks.length;
  const r = allocArray(out.dtype, x!.data.length);
  r.set(x!.data);
  const u = upd!.data;
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < m; j++) {
      const to = (o * n + ks[j]!) * inner;
      const from = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) r[to + i] = r[to + i]! + u[from + i]!;
    }
  return r;
}

/** An i32 iota along a front axis of `size`, shaped [size, 1, …, 1] to broadcast against `rank - 1` more axes. */
const frontIota = (size: number, rank: number, like: Tensor): Tensor =>
  reshape(arange(size, undefined, 1, { dtype: 'i32', backend: backendOf(like).name }), [
    size,
    ...Array.from({ length: rank - 1 }, () => 1),
  ]);

/**
 * Front-batched indices [B, ...] folded into positions along an axis of B·n (example b's block of n starts at b·n):
 * negatives are made non-negative first, and an index outside [-n, n) becomes one outside [-B·n, B·n), so the kernel
 * still refuses it (cpu, wasm) or ignores it (WebGPU).
 */
function foldIndices(op: string, axis: number, idx: Tensor, n: number, size: number): Tensor {
  // concrete indices on the host are checked here, so that the error names the example's index and axis
  if (idx instanceof ConcreteTensor && idx.backendName !== 'webgpu') normalizedIndices(op, idx.dataSync(), n, axis);
  const nn = tensorI32(n, idx);
  const norm = where(greater(tensorI32(0, idx), idx), add(idx, nn), idx);
  const inRange = mul(greater(norm, tensorI32(-1, idx)), greater(nn, norm));
  const folded = add(norm, mul(frontIota(size, idx.ndim, idx), nn));
  return where(inRange, folded, tensorI32(-1 - size * n, idx));
}

const tensorI32 = (v: number, like: Tensor): Tensor => tensor([v], { dtype: 'i32', shape: [], backend: backendOf(like).name });

/**
 * `x` with its batch axis at the front turned into a block of the indexed axis: [B, …pre, n, …post] →
 * […pre, B·n, …post] (the inverse of `unfold`).
 */
function foldInto(x: Tensor, axis: number): Tensor {
  const s = x.shape;
  const perm = [...Array.from({ length: axis }, (_, i) => i + 1), 0, ...s.slice(axis + 1).map((_, i) => axis + 1 + i)];
  const t = transpose(x, perm);
  return reshape(t, [...s.slice(1, axis + 1), s[0]! * s[axis + 1]!, ...s.slice(axis + 2)]);
}

/** [B, …pre, …ishape, …post] → […pre, B, …ishape, …post]: the batch axis moved to where the indices' axes begin. */
function batchToAxis(x: Tensor, axis: number): Tensor {
  const perm = [...Array.from({ length: axis }, (_, i) => i + 1), 0, ...x.shape.slice(axis + 1).map((_, i) => axis + 1 + i)];
  return transpose(x, perm);
}

/** `x` batched at the front (broadcast when it is shared by every example). */
function atFront(x: Tensor, d: number | null, size: number): Tensor {
  if (d !== null) return toFront(batchOps, x, d);
  return broadcastTo(reshape(x, [1, ...x.shape]), [size, ...x.shape]);
}

/** The primitive record of `take` (linear in x: the cotangent is scattered back by scatterAdd; no derivative for the indices). */
export const takePrim: Builtin<IndexAxisParams> = {
  name: 'take',
  shape: ([x, idx], { axis }) => {
    checkAxis('take', x!, axis);
    checkIndices('take', idx!);
    return { shape: indexedShape(x!.shape, axis, idx!.shape), dtype: x!.dtype };
  },
  cpu: takeCpu,
  // vmap: a batched x indexes one axis further; batched indices give the batch axis at `axis` of the output; both
  // batched: the batch axis is folded into the indexed axis and the indices shifted by b·n
  batch: ([x, idx], [dx, di], { axis }, size, self) => {
    if (di === null) return [bind(self, [toFront(batchOps, x!, dx!), idx!], { axis: axis + 1 }), 0];
    const i = toFront(batchOps, idx!, di!);
    if (dx === null) return [bind(self, [x!, i], { axis }), axis];
    const xb = toFront(batchOps, x!, dx!);
    return [bind(self, [foldInto(xb, axis), foldIndices('take', axis, i, xb.shape[axis + 1]!, size)], { axis }), axis];
  },
  webgpu: gpuTake,
  wasm: wasmTake,
  // d take(x, i) = take(dx, i); the adjoint scatters the cotangent back: x̄ = scatterAdd(0, i, ct); none for the indices
  ...linear<IndexAxisParams>(
    ([t], p, [, idx]) => bind(takePrim, [t!, idx!], p),
    (ct, [x, idx], p) => [bind(scatterAddPrim, [zerosLike(x!), idx!, ct], p), Zero],
  ),
};

/**
 * The primitive record of `scatterAdd` (linear in x and the updates: x̄ = ct, ūpdates = take(ct, i); no derivative for
 * the indices).
 */
export const scatterAddPrim: Builtin<IndexAxisParams> = {
  name: 'scatterAdd',
  shape: ([x, idx, upd], { axis }) => {
    checkAxis('scatterAdd', x!, axis);
    checkIndices('scatterAdd', idx!);
    const want = indexedShape(x!.shape, axis, idx!.shape);
    if (!shapesEqual(upd!.shape, want))
      throw new ShapeError(
        'scatterAdd',
        `updates ${upd!.dtype}${fmt(upd!.shape)} must have shape x.shape[:axis] + indices.shape + x.shape[axis+1:] = ${fmt(want)} ` +
          `(x ${x!.dtype}${fmt(x!.shape)}, indices ${fmt(idx!.shape)}, axis ${axis})`,
      );
    if (upd!.dtype !== x!.dtype) throw new ShapeError('scatterAdd', `updates (${upd!.dtype}) and x (${x!.dtype}) must have the same dtype`);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  cpu: scatterAddCpu,
  // vmap: x and the updates batched at the front (broadcast if shared); shared indices scatter one axis further,
  // batched indices are folded with the batch axis into the indexed axis
  batch: ([x, idx, upd], [dx, di, du], { axis }, size, self) => {
    const xb = atFront(x!, dx!, size);
    const ub = atFront(upd!, du!, size);
    if (di === null) return [bind(self, [xb, idx!, ub], { axis: axis + 1 }), 0];
    const i = toFront(batchOps, idx!, di!);
    const n = xb.shape[axis + 1]!;
    const xf = foldInto(xb, axis);
    const r = bind(self, [xf, foldIndices('scatterAdd', axis, i, n, size), batchToAxis(ub, axis)], { axis });
    const s = xb.shape;
    return [reshape(r, [...s.slice(1, axis + 1), size, n, ...s.slice(axis + 2)]), axis];
  },
  webgpu: gpuScatterAdd,
  wasm: wasmScatterAdd,
  // d scatterAdd(x, i, u) = scatterAdd(dx, i, du); the adjoint: x̄ = ct, ū = take(ct, i); none for the indices
  ...linear<IndexAxisParams>(
    ([tx, , tu], p, [, idx]) => bind(scatterAddPrim, [tx!, idx!, tu!], p),
    (ct, [, idx], p, needed) => [ct, Zero, needed[2] ? bind(takePrim, [ct, idx!], p) : Zero],
  ),
};

/** Indices as an i32 tensor on `like`'s backend (numbers and nested arrays are made i32). */
function asIndices(op: string, indices: IndexLike, like: Tensor): Tensor {
  if (indices instanceof Tensor) {
    if (indices.dtype !== 'i32') throw new ShapeError(op, `indices must be i32, got ${indices.dtype}${fmt(indices.shape)}`);
    return indices;
  }
  const check = (v: IndexNested): void => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new ValueError(op, `indices must be integers, got ${v}`);
    } else if (Array.isArray(v)) v.forEach(check);
    else throw new ValueError(op, `indices must be numbers, nested arrays of numbers or an i32 tensor, got ${typeof v}`);
  };
  check(indices as IndexNested);
  return tensor(indices as number, { dtype: 'i32', backend: backendOf(like).name });
}

/**
 * numpy.take: the slices of `x` along `axis` (negative counts from the end) at `indices` (an i32 tensor of any shape,
 * or numbers); the output has shape `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. Negative indices count from
 * the end of the axis; an index outside [-n, n) is an error on cpu and wasm and reads 0 on WebGPU.
 * d take(x, i) = take(dx, i); x̄ = scatterAdd(zeros, i, ct); the indices get no derivative.
 */
export function take(x: Tensor, indices: IndexLike, axis = 0): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError('take', 'x must be a tensor');
  const idx = asIndices('take', indices, x);
  if (x.ndim === 0) throw new ShapeError('take', `cannot index a rank-0 tensor (${x.dtype}[]) along an axis`);
  return bind(takePrim, [x, idx], { axis: normalizeAxis('take', axis, x.ndim) });
}

/**
 * `x` with `updates` added at `indices` along `axis` (the transpose of take): updates have shape
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`, duplicate indices accumulate, negative ones count from the end.
 * An index outside [-n, n) is an error on cpu and wasm; on WebGPU its update is dropped.
 * d scatterAdd(x, i, u) = scatterAdd(dx, i, du); x̄ = ct, ū = take(ct, i); the indices get no derivative.
 */
export function scatterAdd(x: Tensor, indices: IndexLike, updates: Tensor | number, axis = 0): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError('scatterAdd', 'x must be a tensor');
  const idx = asIndices('scatterAdd', indices, x);
  if (x.ndim === 0) throw new ShapeError('scatterAdd', `cannot index a rank-0 tensor (${x.dtype}[]) along an axis`);
  const a = normalizeAxis('scatterAdd', axis, x.ndim);
  const u =
    updates instanceof Tensor
      ? updates
      : broadcastTo(tensor([updates], { shape: [], dtype: x.dtype, backend: backendOf(x).name }), indexedShape(x.shape, a, idx.shape));
  return bind(scatterAddPrim, [x, idx, u], { axis: a });
}

/**
 * numpy.take_along_axis: out[…, j, …] = x[…, indices[…, j, …], …] along `axis`, `indices` an i32 tensor of x's rank
 * that broadcasts against x on the other axes. A composite: the positions in the flattened (broadcast) x are computed
 * with i32 arithmetic from the indices (so traced indices work under jit and vmap) and looked up with one `take`, so
 * its derivatives are take's and scatterAdd's. Out-of-range indices: as for `take` (an error on cpu and wasm, 0 on
 * WebGPU).
 */
export function takeAlongAxis(x: Tensor, indices: IndexLike, axis: number): Tensor {
  const op = 'takeAlongAxis';
  if (!(x instanceof Tensor)) throw new ValueError(op, 'x must be a tensor');
  const idx = asIndices(op, indices, x);
  if (x.ndim === 0) throw new ShapeError(op, `cannot index a rank-0 tensor (${x.dtype}[]) along an axis`);
  if (idx.ndim !== x.ndim)
    throw new ShapeError(op, `indices ${fmt(idx.shape)} must have the rank of x ${x.dtype}${fmt(x.shape)} (${x.ndim})`);
  const a = normalizeAxis(op, axis, x.ndim);
  const n = x.shape[a]!;
  const other = (s: Shape): number[] => s.map((d, i) => (i === a ? 1 : d));
  let common: Shape;
  try {
    common = broadcastShapes(op, other(x.shape), other(idx.shape));
  } catch {
    throw new ShapeError(
      op,
      `indices ${fmt(idx.shape)} do not broadcast against x ${fmt(x.shape)} outside axis ${a} (numpy.take_along_axis rules)`,
    );
  }
  const outShape = common.map((d, i) => (i === a ? idx.shape[a]! : d));
  const xShape = common.map((d, i) => (i === a ? n : d));
  const xb = broadcastTo(x, xShape);
  const ib = broadcastTo(idx, outShape);
  // 1 + the index made non-negative (checked by take on cpu and wasm; 0 for an out-of-range index on WebGPU)
  let pos: Tensor;
  try {
    pos = take(arange(1, n + 1, 1, { dtype: 'i32', backend: backendOf(x).name }), ib, 0);
  } catch (e) {
    if (e instanceof ValueError && e.op === 'take')
      throw new ValueError(op, e.message.slice('take: '.length).replace('for axis 0 ', `for axis ${a} `));
    throw e;
  }
  // the offset of every output position's line along the axis in the flattened x (a constant)
  const st = stridesOf(xShape);
  const base = new Int32Array(sizeOf(outShape.map((d, i) => (i === a ? 1 : d))));
  const lineShape = outShape.map((d, i) => (i === a ? 1 : d));
  const lst = stridesOf(lineShape);
  for (let q = 0; q < base.length; q++) {
    let off = 0;
    for (let k = 0; k < lineShape.length; k++) off += (Math.floor(q / lst[k]!) % lineShape[k]!) * st[k]!;
    base[q] = off;
  }
  const baseT = tensor(base, { shape: lineShape, dtype: 'i32', backend: backendOf(x).name });
  const size = sizeOf(xShape);
  const flat = add(baseT, mul(sub(pos, tensorI32(1, pos)), tensorI32(st[a]!, pos)));
  const safe = where(greater(pos, tensorI32(0, pos)), flat, tensorI32(-1 - size, pos));
  return take(reshape(xb, [size]), safe, 0);
}
