/**
 * Generic CPU kernel building blocks used by the primitive records:
 * elementwise maps with broadcasting, strided gathers and scatters,
 * reductions over any axes, arg-reductions and batched matmul.
 */
import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { broadcastStrides, sizeOf, type Shape } from '../../tensor/shape.js';

export { broadcastStrides };
import type { Aval, CpuInput } from '../Backend.js';

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

/**
 * Elementwise loops specialised per (function, input type, output type).
 * One shared loop would see every op's function and every typed-array kind,
 * and V8 would fall back to slow generic element access and calls; a loop
 * compiled per specialisation stays monomorphic, so the function is inlined.
 * Where code generation is not allowed (a strict Content-Security-Policy),
 * the shared loops are used: same results, slower.
 */
type UnaryLoop = (f: (v: number) => number, x: TypedArray, r: TypedArray, n: number) => void;
type BinaryLoop = (f: (a: number, b: number) => number, a: TypedArray, b: TypedArray, r: TypedArray, n: number) => void;

const UNARY_SRC = 'for (let i = 0; i < n; i++) r[i] = f(x[i]);';
const BINARY_SRC: Record<'same' | 'scalarB' | 'scalarA', string> = {
  same: 'for (let i = 0; i < n; i++) r[i] = f(a[i], b[i]);',
  scalarB: 'const v = b[0]; for (let i = 0; i < n; i++) r[i] = f(a[i], v);',
  scalarA: 'const v = a[0]; for (let i = 0; i < n; i++) r[i] = f(v, b[i]);',
};

let codegen = true;
function compile<T>(params: string, body: string, fallback: T): T {
  if (codegen) {
    try {
      return new Function(params, body) as T;
    } catch {
      codegen = false;
    }
  }
  return fallback;
}

const unaryFallback: UnaryLoop = (f, x, r, n) => {
  for (let i = 0; i < n; i++) r[i] = f(x[i]!);
};
const binaryFallback: Record<keyof typeof BINARY_SRC, BinaryLoop> = {
  same: (f, a, b, r, n) => {
    for (let i = 0; i < n; i++) r[i] = f(a[i]!, b[i]!);
  },
  scalarB: (f, a, b, r, n) => {
    const v = b[0]!;
    for (let i = 0; i < n; i++) r[i] = f(a[i]!, v);
  },
  scalarA: (f, a, b, r, n) => {
    const v = a[0]!;
    for (let i = 0; i < n; i++) r[i] = f(v, b[i]!);
  },
};

const unaryLoops = new WeakMap<(v: number) => number, Map<string, UnaryLoop>>();
const binaryLoops = new WeakMap<(a: number, b: number) => number, Map<string, BinaryLoop>>();

function loopFor<F extends object, L>(cache: WeakMap<F, Map<string, L>>, f: F, key: string, make: () => L): L {
  let byKey = cache.get(f);
  if (!byKey) {
    byKey = new Map();
    cache.set(f, byKey);
  }
  let loop = byKey.get(key);
  if (!loop) {
    loop = make();
    byKey.set(key, loop);
  }
  return loop;
}

export function mapUnary(x: CpuInput, out: Aval, f: (v: number) => number): TypedArray {
  const n = x.data.length;
  const r = allocArray(out.dtype, n);
  const loop = loopFor(unaryLoops, f, x.dtype + out.dtype, () => compile('f, x, r, n', UNARY_SRC, unaryFallback));
  loop(f, x.data, r, n);
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
  let kind: keyof typeof BINARY_SRC = 'same';
  let ad = a.data;
  let bd = b.data;
  if (an === n && bn === 1 && n !== 1) kind = 'scalarB';
  else if (an === 1 && bn === n && n !== 1) kind = 'scalarA';
  else if (an !== n || bn !== n) {
    ad = expand(a, out.shape);
    bd = expand(b, out.shape);
  }
  const loop = loopFor(binaryLoops, f, kind + a.dtype + out.dtype, () => compile('f, a, b, r, n', BINARY_SRC[kind], binaryFallback[kind]));
  loop(f, ad, bd, r, n);
  return r;
}

/**
 * Reduce over `axes` (sorted, normalised): out has the input shape without the
 * reduced axes. `init` seeds every output cell; `step(acc, v)` folds a value.
 */
export function reduce(
  x: CpuInput,
  axes: readonly number[],
  out: Aval,
  init: number,
  step: (acc: number, v: number) => number,
): TypedArray {
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

/**
 * One [m, k] x [k, n] product: A rows at `ao` (row-major), Bᵀ rows at `bo`
 * ([n, k] row-major, so both operands are read contiguously), C at `ro`.
 * Register-blocked 4 x 2 dot products accumulated in doubles.
 */
export function gemmBt(
  ad: TypedArray,
  ao: number,
  bt: TypedArray,
  bo: number,
  r: TypedArray,
  ro: number,
  m: number,
  k: number,
  n: number,
): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = ao + i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const b0 = bo + j * k;
      const b1 = b0 + k;
      let s00 = 0,
        s01 = 0,
        s10 = 0,
        s11 = 0,
        s20 = 0,
        s21 = 0,
        s30 = 0,
        s31 = 0;
      for (let p = 0; p < k; p++) {
        const y0 = bt[b0 + p]!;
        const y1 = bt[b1 + p]!;
        const x0 = ad[a0 + p]!;
        const x1 = ad[a1 + p]!;
        const x2 = ad[a2 + p]!;
        const x3 = ad[a3 + p]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s20 += x2 * y0;
        s21 += x2 * y1;
        s30 += x3 * y0;
        s31 += x3 * y1;
      }
      const c = ro + i * n + j;
      r[c] = s00;
      r[c + 1] = s01;
      r[c + n] = s10;
      r[c + n + 1] = s11;
      r[c + 2 * n] = s20;
      r[c + 2 * n + 1] = s21;
      r[c + 3 * n] = s30;
      r[c + 3 * n + 1] = s31;
    }
    for (; j < n; j++) {
      const b0 = bo + j * k;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let p = 0; p < k; p++) {
        const y = bt[b0 + p]!;
        s0 += ad[a0 + p]! * y;
        s1 += ad[a1 + p]! * y;
        s2 += ad[a2 + p]! * y;
        s3 += ad[a3 + p]! * y;
      }
      const c = ro + i * n + j;
      r[c] = s0;
      r[c + n] = s1;
      r[c + 2 * n] = s2;
      r[c + 3 * n] = s3;
    }
  }
  for (; i < m; i++) {
    const a0 = ao + i * k;
    for (let j = 0; j < n; j++) {
      const b0 = bo + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += ad[a0 + p]! * bt[b0 + p]!;
      r[ro + i * n + j] = s;
    }
  }
}

/**
 * Bᵀ of every [k, n] matrix of `b` (row-major, one after another): [..., n, k], so that {@link gemmBt} reads both
 * operands contiguously.
 */
export function transposeMatrices(b: TypedArray, dtype: DType, k: number, n: number): TypedArray {
  const bt = allocArray(dtype, b.length);
  const count = k * n === 0 ? 0 : b.length / (k * n);
  for (let t = 0; t < count; t++) {
    const o = t * k * n;
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[o + j * k + p] = b[o + p * n + j]!;
  }
  return bt;
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
  const bt = transposeMatrices(b.data, b.dtype, k, n);
  const bs = batchShape.length;
  const idx = new Array<number>(bs).fill(0);
  for (let t = 0; t < batch; t++) {
    let ao = 0;
    let bo = 0;
    for (let q = 0; q < bs; q++) {
      ao += idx[q]! * aBatch[q]!;
      bo += idx[q]! * bBatch[q]!;
    }
    gemmBt(a.data, ao * m * k, bt, bo * k * n, r, t * m * n, m, k, n);
    for (let q = bs - 1; q >= 0; q--) {
      idx[q]!++;
      if (idx[q]! < batchShape[q]!) break;
      idx[q] = 0;
    }
  }
  return r;
}
