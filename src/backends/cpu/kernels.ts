/**
 * Generic CPU kernel building blocks used by the primitive records:
 * elementwise maps with broadcasting, strided gathers and scatters,
 * reductions over any axes, arg-reductions and batched matmul.
 */
import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { sizeOf, stridesOf, type Shape } from '../../tensor/shape.js';
import type { Aval, CpuInput } from '../Backend.js';

/** Strides of `s` seen from a broadcast target of rank `rank` (0 on broadcast dims). */
export function broadcastStrides(s: Shape, target: Shape): number[] {
  const st = stridesOf(s);
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < s.length; i++) {
    const j = target.length - s.length + i;
    out[j] = s[i] === 1 ? 0 : st[i]!;
  }
  return out;
}

/** out[i] = src[offset + Σ idx_k · strides_k] over the output shape. */
export function gather(src: TypedArray, outShape: Shape, strides: readonly number[], offset: number, dtype: DType): TypedArray {
  const n = sizeOf(outShape);
  const out = allocArray(dtype, n);
  const rank = outShape.length;
  if (n === 0) return out;
  if (rank === 0) {
    out[0] = src[offset]!;
    return out;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastDim = outShape[last]!;
  const lastStride = strides[last]!;
  let base = offset;
  for (let i = 0; i < n; ) {
    let p = base;
    for (let j = 0; j < lastDim; j++, p += lastStride) out[i++] = src[p]!;
    // advance the odometer over the leading dims
    let k = last - 1;
    while (k >= 0) {
      idx[k]!++;
      base += strides[k]!;
      if (idx[k]! < outShape[k]!) break;
      base -= strides[k]! * outShape[k]!;
      idx[k] = 0;
      k--;
    }
  }
  return out;
}

/** dst[offset + Σ idx_k · strides_k] = src[i] for a contiguous src of `shape`. */
export function scatter(src: TypedArray, shape: Shape, dst: TypedArray, strides: readonly number[], offset: number): void {
  const n = sizeOf(shape);
  const rank = shape.length;
  if (n === 0) return;
  if (rank === 0) {
    dst[offset] = src[0]!;
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastDim = shape[last]!;
  const lastStride = strides[last]!;
  let base = offset;
  for (let i = 0; i < n; ) {
    let p = base;
    for (let j = 0; j < lastDim; j++, p += lastStride) dst[p] = src[i++]!;
    let k = last - 1;
    while (k >= 0) {
      idx[k]!++;
      base += strides[k]!;
      if (idx[k]! < shape[k]!) break;
      base -= strides[k]! * shape[k]!;
      idx[k] = 0;
      k--;
    }
  }
}

export function mapUnary(x: CpuInput, out: Aval, f: (v: number) => number): TypedArray {
  const n = x.data.length;
  const r = allocArray(out.dtype, n);
  const d = x.data;
  for (let i = 0; i < n; i++) r[i] = f(d[i]!);
  return r;
}

/** Materialise an input broadcast to `shape` (no copy when already that shape). */
export function expand(x: CpuInput, shape: Shape): TypedArray {
  if (sizeOf(x.shape) === sizeOf(shape)) return x.data;
  return gather(x.data, shape, broadcastStrides(x.shape, shape), 0, x.dtype);
}

export function mapBinary(a: CpuInput, b: CpuInput, out: Aval, f: (x: number, y: number) => number): TypedArray {
  const n = sizeOf(out.shape);
  const r = allocArray(out.dtype, n);
  const an = a.data.length;
  const bn = b.data.length;
  if (an === n && bn === n) {
    const ad = a.data;
    const bd = b.data;
    for (let i = 0; i < n; i++) r[i] = f(ad[i]!, bd[i]!);
  } else if (an === n && bn === 1) {
    const ad = a.data;
    const bv = b.data[0]!;
    for (let i = 0; i < n; i++) r[i] = f(ad[i]!, bv);
  } else if (an === 1 && bn === n) {
    const av = a.data[0]!;
    const bd = b.data;
    for (let i = 0; i < n; i++) r[i] = f(av, bd[i]!);
  } else {
    const ad = expand(a, out.shape);
    const bd = expand(b, out.shape);
    for (let i = 0; i < n; i++) r[i] = f(ad[i]!, bd[i]!);
  }
  return r;
}

/**
 * Reduce over `axes` (sorted, normalised): out has the input shape without the
 * reduced axes. `init` seeds every output cell; `step(acc, v)` folds a value.
 */
export function reduce(x: CpuInput, axes: readonly number[], out: Aval, init: number, step: (acc: number, v: number) => number): TypedArray {
  const shape = x.shape;
  const rank = shape.length;
  const n = sizeOf(out.shape);
  const acc = new Float64Array(n).fill(init);
  const reduced = new Set(axes);
  // output strides expressed on the input's axes (0 on reduced ones)
  const outStrides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    if (!reduced.has(i)) {
      outStrides[i] = s;
      s *= shape[i]!;
    }
  }
  const total = x.data.length;
  if (total > 0) {
    if (rank === 0) acc[0] = step(acc[0]!, x.data[0]!);
    else {
      const idx = new Array<number>(rank).fill(0);
      let o = 0;
      const d = x.data;
      const last = rank - 1;
      const lastDim = shape[last]!;
      const ls = outStrides[last]!;
      for (let i = 0; i < total; ) {
        let p = o;
        for (let j = 0; j < lastDim; j++, p += ls) acc[p] = step(acc[p]!, d[i++]!);
        let k = last - 1;
        while (k >= 0) {
          idx[k]!++;
          o += outStrides[k]!;
          if (idx[k]! < shape[k]!) break;
          o -= outStrides[k]! * shape[k]!;
          idx[k] = 0;
          k--;
        }
      }
    }
  }
  const r = allocArray(out.dtype, n);
  for (let i = 0; i < n; i++) r[i] = acc[i]!;
  return r;
}

/** Index of the first maximum along `axis` (i32 result). */
export function argmaxAlong(x: CpuInput, axis: number): Int32Array {
  const shape = x.shape;
  const outer = sizeOf(shape.slice(0, axis));
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const r = new Int32Array(outer * inner);
  const d = x.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = -Infinity;
      let bi = 0;
      let found = false;
      for (let k = 0; k < len; k++) {
        const v = d[(o * len + k) * inner + i]!;
        if (Number.isNaN(v)) {
          if (!found || !Number.isNaN(best)) {
            best = v;
            bi = k;
            found = true;
          }
          break;
        }
        if (!found || v > best) {
          best = v;
          bi = k;
          found = true;
        }
      }
      r[o * inner + i] = bi;
    }
  }
  return r;
}

/** Batched matmul with broadcast batch dims: a [..., m, k] x b [..., k, n]. */
export function matmulKernel(a: CpuInput, b: CpuInput, out: Aval): TypedArray {
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = a.shape[ar - 2]!;
  const k = a.shape[ar - 1]!;
  const n = b.shape[br - 1]!;
  const batchShape = out.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const aBatch = broadcastStrides(a.shape.slice(0, -2), batchShape);
  const bBatch = broadcastStrides(b.shape.slice(0, -2), batchShape);
  const r = allocArray(out.dtype, batch * m * n);
  const acc = new Float64Array(n);
  const ad = a.data;
  const bd = b.data;
  const bs = batchShape.length;
  const idx = new Array<number>(bs).fill(0);
  for (let t = 0; t < batch; t++) {
    let ao = 0;
    let bo = 0;
    for (let q = 0; q < bs; q++) {
      ao += idx[q]! * aBatch[q]!;
      bo += idx[q]! * bBatch[q]!;
    }
    ao *= m * k;
    bo *= k * n;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      const arow = ao + i * k;
      for (let p = 0; p < k; p++) {
        const av = ad[arow + p]!;
        const brow = bo + p * n;
        for (let j = 0; j < n; j++) acc[j]! += av * bd[brow + j]!;
      }
      const orow = (t * m + i) * n;
      for (let j = 0; j < n; j++) r[orow + j] = acc[j]!;
    }
    for (let q = bs - 1; q >= 0; q--) {
      idx[q]!++;
      if (idx[q]! < batchShape[q]!) break;
      idx[q] = 0;
    }
  }
  return r;
}
