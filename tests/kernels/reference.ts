/**
 * Naive reference kernels, written for clarity and not for speed: every
 * output element is computed on its own from its index tuple by plain nested
 * loops, with no strides, blocking, collapsing or fast paths. Optimised
 * kernels (the CPU kernels, the WebGPU kernels, and any later Wasm or fused
 * kernel) are checked against these on random shapes (tests/kernels/*).
 * Arrays are plain row-major number arrays with a shape.
 */

export interface NdArray {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Every index tuple of `shape`, in row-major order (the last axis fastest). */
export function indices(shape: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const d of shape) {
    const next: number[][] = [];
    for (const prefix of out) for (let i = 0; i < d; i++) next.push([...prefix, i]);
    out = next;
  }
  return out;
}

/** The row-major position of `idx` in `shape`. */
export function position(shape: readonly number[], idx: readonly number[]): number {
  let p = 0;
  for (let k = 0; k < shape.length; k++) p = p * shape[k]! + idx[k]!;
  return p;
}

/** x[idx] */
export const at = (x: NdArray, idx: readonly number[]): number => x.data[position(x.shape, idx)]!;

/** Builds an array of `shape` whose element at each index tuple is `f(idx)`. */
export function build(shape: readonly number[], f: (idx: number[]) => number): NdArray {
  return { shape: [...shape], data: indices(shape).map(f) };
}

/** numpy broadcasting: align on the right; a dimension is 1 or equal to the others. */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e !== 1) {
        if (d !== 1 && d !== e) throw new Error(`shapes [${shapes.join('] [')}] do not broadcast`);
        d = e;
      }
    }
    out.push(d);
  }
  return out;
}

/** The element of `x` that index `idx` of a broadcast target reads: missing leading axes dropped, size-1 axes read at 0. */
export function broadcastRead(x: NdArray, idx: readonly number[]): number {
  const lead = idx.length - x.shape.length;
  return at(
    x,
    x.shape.map((d, k) => (d === 1 ? 0 : idx[lead + k]!)),
  );
}

/** out[idx] = f(x0[idx], x1[idx], ...) with numpy broadcasting. */
export function map(f: (...v: number[]) => number, ...xs: NdArray[]): NdArray {
  return build(broadcastShape(...xs.map((x) => x.shape)), (idx) => f(...xs.map((x) => broadcastRead(x, idx))));
}

export const broadcastTo = (x: NdArray, shape: readonly number[]): NdArray => build(shape, (idx) => broadcastRead(x, idx));

/** out[i_0, ..., i_r] = x[j] where j[perm[k]] = i_k. */
export function transpose(x: NdArray, perm: readonly number[]): NdArray {
  return build(
    perm.map((p) => x.shape[p]!),
    (idx) => {
      const j = new Array<number>(x.shape.length);
      perm.forEach((p, k) => {
        j[p] = idx[k]!;
      });
      return at(x, j);
    },
  );
}

/** out[idx] = x[begin + idx] over `size`. */
export const slice = (x: NdArray, begin: readonly number[], size: readonly number[]): NdArray =>
  build(size, (idx) =>
    at(
      x,
      idx.map((i, k) => i + begin[k]!),
    ),
  );

/** Zero padding: `widths[k] = [before, after]` on axis k. */
export function pad(x: NdArray, widths: readonly (readonly [number, number])[]): NdArray {
  return build(
    x.shape.map((d, k) => widths[k]![0] + d + widths[k]![1]),
    (idx) => {
      const j = idx.map((i, k) => i - widths[k]![0]);
      return j.every((v, k) => v >= 0 && v < x.shape[k]!) ? at(x, j) : 0;
    },
  );
}

/** Joins along `axis`: the output index picks the input whose range holds it. */
export function concat(xs: readonly NdArray[], axis: number): NdArray {
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  return build(shape, (idx) => {
    let i = idx[axis]!;
    for (const x of xs) {
      if (i < x.shape[axis]!)
        return at(
          x,
          idx.map((v, k) => (k === axis ? i : v)),
        );
      i -= x.shape[axis]!;
    }
    throw new Error('unreachable');
  });
}

/** out[idx] = src[offset + Σ_k idx_k · strides_k]: a strided read (the definition of a gather). */
export const gather = (src: readonly number[], outShape: readonly number[], strides: readonly number[], offset: number): NdArray =>
  build(outShape, (idx) => src[offset + idx.reduce((s, i, k) => s + i * strides[k]!, 0)]!);

/** dst[offset + Σ_k idx_k · strides_k] = src[idx], visiting the index tuples in row-major order (later writes win). */
export function scatter(src: NdArray, dst: readonly number[], strides: readonly number[], offset: number): number[] {
  const out = [...dst];
  for (const idx of indices(src.shape)) out[offset + idx.reduce((s, i, k) => s + i * strides[k]!, 0)] = at(src, idx);
  return out;
}

/**
 * A fold over `axes` (any subset, any order): each output element (the input's
 * shape without those axes, or with them as 1 with keepdims) starts at `init`
 * and folds in, in row-major order, every input element whose other indices match.
 */
export function reduce(
  x: NdArray,
  axes: readonly number[],
  init: number,
  step: (acc: number, v: number) => number,
  keepdims = false,
): NdArray {
  const reduced = (k: number) => axes.includes(k);
  const outShape = x.shape.flatMap((d, k) => (reduced(k) ? (keepdims ? [1] : []) : [d]));
  return build(outShape, (outIdx) => {
    let acc = init;
    for (const idx of indices(x.shape)) {
      const kept = idx.flatMap((i, k) => (reduced(k) ? (keepdims ? [0] : []) : [i]));
      if (kept.every((v, q) => v === outIdx[q])) acc = step(acc, at(x, idx));
    }
    return acc;
  });
}

export const sum = (x: NdArray, axes: readonly number[]): NdArray => reduce(x, axes, 0, (a, v) => a + v);

/** The largest value; NaN wins (NaN propagates, as in numpy). */
export const max = (x: NdArray, axes: readonly number[]): NdArray =>
  reduce(x, axes, -Infinity, (a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : Math.max(a, v)));

/** Index along `axis` of the first maximum (the first NaN, where there is one). */
export function argmax(x: NdArray, axis: number): NdArray {
  const outShape = x.shape.filter((_, k) => k !== axis);
  return build(outShape, (outIdx) => {
    const along = (i: number) => at(x, [...outIdx.slice(0, axis), i, ...outIdx.slice(axis)]);
    for (let i = 0; i < x.shape[axis]!; i++) if (Number.isNaN(along(i))) return i;
    let best = 0;
    for (let i = 1; i < x.shape[axis]!; i++) if (along(i) > along(best)) best = i;
    return best;
  });
}

/**
 * Batched matrix product with numpy broadcasting of the batch axes:
 * a [..., m, k] × b [..., k, n] → [..., m, n]; out[..., i, j] = Σ_p a[..., i, p] · b[..., p, j].
 */
export function matmul(a: NdArray, b: NdArray): NdArray {
  const m = a.shape[a.shape.length - 2]!;
  const k = a.shape[a.shape.length - 1]!;
  const n = b.shape[b.shape.length - 1]!;
  if (b.shape[b.shape.length - 2] !== k) throw new Error(`inner dimensions differ: [${a.shape}] x [${b.shape}]`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch);
  const batchRead = (shape: readonly number[], idx: readonly number[]) =>
    shape.map((d, q) => (d === 1 ? 0 : idx[idx.length - shape.length + q]!));
  return build([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2) as [number, number];
    let s = 0;
    for (let p = 0; p < k; p++) s += at(a, [...batchRead(aBatch, bi), i, p]) * at(b, [...batchRead(bBatch, bi), p, j]);
    return s;
  });
}

/** where(c, x, y): x where c is non-zero, else y, with broadcasting. */
export const where = (c: NdArray, x: NdArray, y: NdArray): NdArray => map((cv, xv, yv) => (cv !== 0 ? xv : yv), c, x, y);
