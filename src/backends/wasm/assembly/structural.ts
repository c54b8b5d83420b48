// Data movement and reductions of the wasm backend (AssemblyScript): strided gather (transpose, slice,
// broadcastTo), strided scatter (pad, concat), zero fill, sum / max over [outer, reduced, inner],
// argmax along [outer, len, inner]. Elements are 32-bit (f32 or i32); data movement copies bit patterns.
//
// Gather and scatter take meta = [rank, shape[rank], strides[rank]] (the strided side's strides, in
// elements) and work on rows [rowStart, rowEnd) of the contiguous side (rows: all dims but the last).

// @ts-ignore: decorator
@inline function stridedOffset(meta: usize, rank: i32, row: i32): i32 {
  let off = 0;
  let r = row;
  const strides = meta + <usize>((1 + rank) << 2);
  for (let d = rank - 2; d >= 0; d--) {
    const dim = load<i32>(meta + <usize>((1 + d) << 2));
    const q = r / dim;
    off += (r - q * dim) * load<i32>(strides + <usize>(d << 2));
    r = q;
  }
  return off;
}

/** out (contiguous) = src[offset + Σ idx·strides] for rows [rowStart, rowEnd). */
export function gather_32(src: usize, offset: i32, out: usize, meta: usize, rowStart: i32, rowEnd: i32): void {
  const rank = load<i32>(meta);
  const len = load<i32>(meta + <usize>(rank << 2));
  const s = load<i32>(meta + <usize>((rank + rank) << 2));
  for (let row = rowStart; row < rowEnd; row++) {
    const p = src + <usize>((offset + stridedOffset(meta, rank, row)) << 2);
    const o = out + (<usize>row * <usize>len) * 4;
    if (s == 1) memory.copy(o, p, <usize>len << 2);
    else if (s == 0) {
      const v = v128.load32_splat(p);
      let j = 0;
      for (; j + 4 <= len; j += 4) v128.store(o + <usize>(j << 2), v);
      for (; j < len; j++) store<u32>(o + <usize>(j << 2), load<u32>(p));
    } else {
      for (let j = 0; j < len; j++) store<u32>(o + <usize>(j << 2), load<u32>(p + <usize>((j * s) << 2)));
    }
  }
}

/** dst[offset + Σ idx·strides] = src (contiguous) for rows [rowStart, rowEnd) of src. */
export function scatter_32(src: usize, dst: usize, offset: i32, meta: usize, rowStart: i32, rowEnd: i32): void {
  const rank = load<i32>(meta);
  const len = load<i32>(meta + <usize>(rank << 2));
  const s = load<i32>(meta + <usize>((rank + rank) << 2));
  for (let row = rowStart; row < rowEnd; row++) {
    const p = dst + <usize>((offset + stridedOffset(meta, rank, row)) << 2);
    const i = src + (<usize>row * <usize>len) * 4;
    if (s == 1) memory.copy(p, i, <usize>len << 2);
    else for (let j = 0; j < len; j++) store<u32>(p + <usize>((j * s) << 2), load<u32>(i + <usize>(j << 2)));
  }
}

/** bytes zero bytes at ptr. */
export function zero_fill(ptr: usize, bytes: i32): void {
  memory.fill(ptr, 0, <usize>bytes);
}

// ---------------------------------------------------------------------------------------------
// Reductions over the middle axis of [outer, red, inner] (outputs [outer, inner]); outer rows
// [start, end). f32 sums over a contiguous axis (inner = 1) accumulate in f64; over a strided axis,
// in f32 row by row (SIMD over inner). max: NaN propagates (v > acc || isNaN(v) ? v : acc, as the CPU).

// @ts-ignore: decorator
@inline function maxF32(acc: v128, v: v128): v128 {
  return v128.bitselect(v, acc, v128.or(f32x4.gt(v, acc), f32x4.ne(v, v)));
}

// @ts-ignore: decorator
@inline function combine(isF32: bool, isMax: bool, acc: v128, v: v128): v128 {
  if (isMax) return isF32 ? maxF32(acc, v) : i32x4.max_s(acc, v);
  return isF32 ? f32x4.add(acc, v) : i32x4.add(acc, v);
}

// @ts-ignore: decorator
@inline function reduceContiguous(isF32: bool, isMax: bool, x: usize, red: i32): v128 {
  // returns the result in lane 0
  if (!isMax && isF32) {
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= red; j += 4) {
      const v = v128.load(x + <usize>(j << 2));
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
    }
    let s = f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1) + f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1);
    for (; j < red; j++) s += <f64>load<f32>(x + <usize>(j << 2));
    return f32x4.splat(<f32>s);
  }
  let acc: v128 = isMax ? (isF32 ? f32x4.splat(-Infinity) : i32x4.splat(i32.MIN_VALUE)) : i32x4.splat(0);
  let j = 0;
  for (; j + 4 <= red; j += 4) acc = combine(isF32, isMax, acc, v128.load(x + <usize>(j << 2)));
  // lanes in order, then the tail
  let r = combine(isF32, isMax, combine(isF32, isMax, i32x4.shuffle(acc, acc, 0, 0, 0, 0), i32x4.shuffle(acc, acc, 1, 1, 1, 1)), i32x4.shuffle(acc, acc, 2, 2, 2, 2));
  r = combine(isF32, isMax, r, i32x4.shuffle(acc, acc, 3, 3, 3, 3));
  for (; j < red; j++) r = combine(isF32, isMax, r, v128.load32_splat(x + <usize>(j << 2)));
  return r;
}

// @ts-ignore: decorator
@inline function reduceLoop(isF32: bool, isMax: bool, x: usize, out: usize, red: i32, inner: i32, start: i32, end: i32): void {
  if (inner == 1) {
    for (let o = start; o < end; o++) {
      v128.store32_lane(out + <usize>(o << 2), reduceContiguous(isF32, isMax, x + (<usize>o * <usize>red) * 4, red), 0);
    }
    return;
  }
  const rowBytes = <usize>inner << 2;
  for (let o = start; o < end; o++) {
    const base = x + <usize>o * <usize>red * rowBytes;
    const dst = out + <usize>o * rowBytes;
    if (red == 0) {
      memory.fill(dst, 0, rowBytes);
      continue;
    }
    memory.copy(dst, base, rowBytes);
    for (let r = 1; r < red; r++) {
      const src = base + <usize>r * rowBytes;
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const q = <usize>(i << 2);
        v128.store(dst + q, combine(isF32, isMax, v128.load(dst + q), v128.load(src + q)));
      }
      for (; i < inner; i++) {
        const q = <usize>(i << 2);
        v128.store32_lane(dst + q, combine(isF32, isMax, v128.load32_splat(dst + q), v128.load32_splat(src + q)), 0);
      }
    }
  }
}

/** Sum over the middle axis of [outer, red, inner] for outer rows [start, end) (f32). */
export function sum_f32(x: usize, out: usize, red: i32, inner: i32, start: i32, end: i32): void {
  reduceLoop(true, false, x, out, red, inner, start, end);
}
/** Sum (wrapping) over the middle axis (i32). */
export function sum_i32(x: usize, out: usize, red: i32, inner: i32, start: i32, end: i32): void {
  reduceLoop(false, false, x, out, red, inner, start, end);
}
/** Maximum over the middle axis, NaN propagating (f32; red >= 1). */
export function max_f32(x: usize, out: usize, red: i32, inner: i32, start: i32, end: i32): void {
  reduceLoop(true, true, x, out, red, inner, start, end);
}
/** Maximum over the middle axis (i32; red >= 1). */
export function max_i32(x: usize, out: usize, red: i32, inner: i32, start: i32, end: i32): void {
  reduceLoop(false, true, x, out, red, inner, start, end);
}

// @ts-ignore: decorator
@inline function argmaxLoop(isF32: bool, x: usize, out: usize, len: i32, inner: i32, start: i32, end: i32): void {
  // outputs [start, end) of [outer, inner]; the first maximum, a NaN counting as the maximum
  for (let q = start; q < end; q++) {
    const o = q / inner;
    const i = q - o * inner;
    const base = x + ((<usize>o * <usize>len) * <usize>inner + <usize>i) * 4;
    const step = <usize>inner << 2;
    let bi = 0;
    if (isF32) {
      let best = load<f32>(base);
      if (best == best) {
        for (let k = 1; k < len; k++) {
          const v = load<f32>(base + <usize>k * step);
          if (v != v) {
            bi = k;
            break;
          }
          if (v > best) {
            best = v;
            bi = k;
          }
        }
      }
    } else {
      let best = load<i32>(base);
      for (let k = 1; k < len; k++) {
        const v = load<i32>(base + <usize>k * step);
        if (v > best) {
          best = v;
          bi = k;
        }
      }
    }
    store<i32>(out + <usize>(q << 2), bi);
  }
}

/** Index of the first maximum along the middle axis of [outer, len, inner] (f32, NaN counts as maximum) for outputs [start, end). */
export function argmax_f32(x: usize, out: usize, len: i32, inner: i32, start: i32, end: i32): void {
  argmaxLoop(true, x, out, len, inner, start, end);
}
/** Index of the first maximum (i32 input). */
export function argmax_i32(x: usize, out: usize, len: i32, inner: i32, start: i32, end: i32): void {
  argmaxLoop(false, x, out, len, inner, start, end);
}
