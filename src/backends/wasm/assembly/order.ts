// Scans and ordering along one axis of the wasm backend (AssemblyScript). The input is seen as
// [outer, len, inner]; line q = o·inner + i (q in [start, end)) is x[(o·len + k)·inner + i], k < len.
// - cumsum: the running sum along each line, from its first element (reverse: from its last); f32 sums
//   in f32, one addition per element in line order (as the CPU reference does); i32 wraps.
// - argsort: the indices that sort each line ascending, stable (equal values keep their index order),
//   NaN after every number (NaNs among themselves in index order), by a bottom-up merge sort of the
//   indices in a per-thread scratch block of 2·len i32.

// @ts-ignore: decorator
@inline function cumsumLoop(isF32: bool, x: usize, out: usize, len: i32, inner: i32, reverse: i32, start: i32, end: i32): void {
  const step = <usize>inner << 2;
  for (let q = start; q < end; q++) {
    const o = q / inner;
    const i = q - o * inner;
    const base = ((<usize>o * <usize>len) * <usize>inner + <usize>i) << 2;
    const first: usize = reverse ? base + <usize>(len - 1) * step : base;
    if (isF32) {
      let acc = load<f32>(x + first);
      store<f32>(out + first, acc);
      for (let k = 1; k < len; k++) {
        const p: usize = reverse ? first - <usize>k * step : first + <usize>k * step;
        acc += load<f32>(x + p);
        store<f32>(out + p, acc);
      }
    } else {
      let acc = load<i32>(x + first);
      store<i32>(out + first, acc);
      for (let k = 1; k < len; k++) {
        const p: usize = reverse ? first - <usize>k * step : first + <usize>k * step;
        acc += load<i32>(x + p);
        store<i32>(out + p, acc);
      }
    }
  }
}

/** Running sums along the middle axis of [outer, len ≥ 1, inner] (f32) for lines [start, end); reverse ≠ 0 sums from the end. */
export function cumsum_f32(x: usize, out: usize, len: i32, inner: i32, reverse: i32, start: i32, end: i32): void {
  cumsumLoop(true, x, out, len, inner, reverse, start, end);
}
/** Running sums (wrapping) along the middle axis (i32). */
export function cumsum_i32(x: usize, out: usize, len: i32, inner: i32, reverse: i32, start: i32, end: i32): void {
  cumsumLoop(false, x, out, len, inner, reverse, start, end);
}

// Whether the element at index u of a line comes strictly before the one at v (values, not indices):
// a number before a NaN, numbers by <, NaNs never before each other.
// @ts-ignore: decorator
@inline function before(isF32: bool, p: usize, q: usize): bool {
  if (isF32) {
    const u = load<f32>(p);
    const v = load<f32>(q);
    return v != v ? u == u : u < v;
  }
  return load<i32>(p) < load<i32>(q);
}

// @ts-ignore: decorator
@inline function argsortLoop(isF32: bool, x: usize, out: usize, len: i32, inner: i32, scratch: usize, start: i32, end: i32): void {
  const step = <usize>inner << 2;
  for (let q = start; q < end; q++) {
    const o = q / inner;
    const i = q - o * inner;
    const base = ((<usize>o * <usize>len) * <usize>inner + <usize>i) << 2;
    const line = x + base;
    let a = scratch;
    let b = scratch + (<usize>len << 2);
    for (let k = 0; k < len; k++) store<i32>(a + (<usize>k << 2), k);
    for (let width = 1; width < len; width <<= 1) {
      for (let lo = 0; lo < len; lo += width << 1) {
        const mid = min(lo + width, len);
        const hi = min(lo + (width << 1), len);
        let l = lo;
        let r = mid;
        let w = lo;
        while (l < mid && r < hi) {
          const il = load<i32>(a + (<usize>l << 2));
          const ir = load<i32>(a + (<usize>r << 2));
          // the right element goes first only when strictly before: equal values keep their order
          if (before(isF32, line + <usize>ir * step, line + <usize>il * step)) {
            store<i32>(b + (<usize>w << 2), ir);
            r++;
          } else {
            store<i32>(b + (<usize>w << 2), il);
            l++;
          }
          w++;
        }
        for (; l < mid; l++, w++) store<i32>(b + (<usize>w << 2), load<i32>(a + (<usize>l << 2)));
        for (; r < hi; r++, w++) store<i32>(b + (<usize>w << 2), load<i32>(a + (<usize>r << 2)));
      }
      const t = a;
      a = b;
      b = t;
    }
    for (let k = 0; k < len; k++) store<i32>(out + base + <usize>k * step, load<i32>(a + (<usize>k << 2)));
  }
}

/** The stable ascending order (indices, i32) along the middle axis of [outer, len, inner] (f32, NaN last) for lines [start, end). */
export function argsort_f32(x: usize, out: usize, len: i32, inner: i32, scratch: usize, start: i32, end: i32): void {
  argsortLoop(true, x, out, len, inner, scratch, start, end);
}
/** The stable ascending order along the middle axis (i32 input). */
export function argsort_i32(x: usize, out: usize, len: i32, inner: i32, scratch: usize, start: i32, end: i32): void {
  argsortLoop(false, x, out, len, inner, scratch, start, end);
}
