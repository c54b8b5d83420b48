// Indexing along one axis of the wasm backend (AssemblyScript): take and scatter-add. x is seen as
// [outer, n, inner] and the indices as a flat list of m i32 positions (negative ones count from the
// end; the host has checked them all with index_first_bad before any call runs).
// - take_32: out[o, j, :] = x[o, idx[j], :] for rows q = o·m + j in [start, end) (32-bit elements,
//   bit patterns copied).
// - scatter_add_f32 / _i32: out[o, :, :] = x[o, :, :], then out[o, idx[j], :] += upd[o, j, :] for
//   j = 0 … m-1 in order (duplicates accumulate in index order, as the CPU reference does), for outer
//   blocks o in [start, end): a block is written by one thread only.

// @ts-ignore: decorator
@inline function position(idx: usize, j: i32, n: i32): i32 {
  const k = load<i32>(idx + (<usize>j << 2));
  return k < 0 ? k + n : k;
}

/** The flat position of the first index outside [-n, n) among `count`, or -1 when all are in range. */
export function index_first_bad(idx: usize, count: i32, n: i32): i32 {
  for (let j = 0; j < count; j++) {
    const k = load<i32>(idx + (<usize>j << 2));
    if (k < -n || k >= n) return j;
  }
  return -1;
}

/** The i32 at position `j` of `idx` (the host reads a bad index through it for its error message). */
export function index_at(idx: usize, j: i32): i32 {
  return load<i32>(idx + (<usize>j << 2));
}

/** out[o, j, :] = x[o, idx[j], :] for rows q = o·m + j in [start, end). */
export function take_32(x: usize, idx: usize, out: usize, n: i32, m: i32, inner: i32, start: i32, end: i32): void {
  const rowBytes = <usize>inner << 2;
  for (let q = start; q < end; q++) {
    const o = q / m;
    const j = q - o * m;
    const k = position(idx, j, n);
    memory.copy(out + <usize>q * rowBytes, x + (<usize>o * <usize>n + <usize>k) * rowBytes, rowBytes);
  }
}

// @ts-ignore: decorator
@inline function scatterAddLoop(
  isF32: bool, x: usize, idx: usize, upd: usize, out: usize, n: i32, m: i32, inner: i32, start: i32, end: i32,
): void {
  const rowBytes = <usize>inner << 2;
  for (let o = start; o < end; o++) {
    const block = <usize>o * <usize>n * rowBytes;
    memory.copy(out + block, x + block, <usize>n * rowBytes);
    for (let j = 0; j < m; j++) {
      const k = position(idx, j, n);
      const dst = out + block + <usize>k * rowBytes;
      const src = upd + (<usize>o * <usize>m + <usize>j) * rowBytes;
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const p = <usize>i << 2;
        const a = v128.load(dst + p);
        const b = v128.load(src + p);
        v128.store(dst + p, isF32 ? f32x4.add(a, b) : i32x4.add(a, b));
      }
      for (; i < inner; i++) {
        const p = <usize>i << 2;
        if (isF32) store<f32>(dst + p, load<f32>(dst + p) + load<f32>(src + p));
        else store<i32>(dst + p, load<i32>(dst + p) + load<i32>(src + p));
      }
    }
  }
}

/** out = x with upd[o, j, :] added at out[o, idx[j], :] (f32), outer blocks [start, end). */
export function scatter_add_f32(x: usize, idx: usize, upd: usize, out: usize, n: i32, m: i32, inner: i32, start: i32, end: i32): void {
  scatterAddLoop(true, x, idx, upd, out, n, m, inner, start, end);
}

/** out = x with upd[o, j, :] added at out[o, idx[j], :] (i32, wrapping), outer blocks [start, end). */
export function scatter_add_i32(x: usize, idx: usize, upd: usize, out: usize, n: i32, m: i32, inner: i32, start: i32, end: i32): void {
  scatterAddLoop(false, x, idx, upd, out, n, m, inner, start, end);
}
