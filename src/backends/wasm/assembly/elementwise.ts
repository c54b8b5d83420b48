// Elementwise kernels of the wasm backend (AssemblyScript): unary maps, broadcasting binary maps
// (arithmetic, maximum/minimum, comparisons), `where` and `cast`, for f32 and i32.
//
// Semantics are the CPU backend's (src/ops/elementwise.ts, src/backends/cpu/kernels.ts):
// relu(NaN) = NaN and relu(-0) = 0; sign keeps 0, -0 and NaN; maximum(a, b) = a >= b || isNaN(a) ? a : b,
// minimum likewise with <=; comparisons give 1 or 0 in the operands' dtype (NaN != x holds);
// + - * / sqrt and reciprocal are correctly rounded f32 operations, which equal the CPU's f64 operation
// rounded to f32; exp log sin cos tanh sigmoid pow come from math.ts (accuracy table there).
// i32 arithmetic wraps (the CPU's ToInt32 of an exact f64 result; the CPU's mul/square round products
// past 2^53 first).
//
// Every scalar (tail / strided) element is computed as lane 0 of the vector operation on splats, so an
// element gets bitwise the same value whichever path computes it.
//
// Broadcast maps take a `meta` block of i32 in memory: [rank, shape[rank], strides of each operand
// [rank] ...] (strides in elements, 0 for a broadcast axis; the output is contiguous). The host
// collapses dimensions first. The iteration is cut into rows (the last axis); an entry computes rows
// [rowStart, rowEnd), so threads can split a call by rows. A row with unit strides runs SIMD; a row
// with a 0 stride broadcasts a splat; any other stride runs the scalar loop.

import {
  ABS, ADD, binaryV, COS, DIV, EQ, EXP, GE, GT, LE, LOG, LT, MAXIMUM, MINIMUM, MUL, NE, NEG, POW, RECIPROCAL, RELU, SIGMOID, SIGN,
  SIN, SQRT, SQUARE, SUB, TANH, unaryV, whereV, ERF, ERFC, LOG1P, EXPM1, SOFTPLUS, LOGADDEXP,
} from './elementwiseOps';

// ---------------------------------------------------------------------------------------------
// Unary maps over contiguous arrays: elements [start, end)

// @ts-ignore: decorator
@inline function unaryLoop(isF32: bool, op: i32, x: usize, out: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, unaryV(isF32, op, v128.load(x + o)));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    v128.store32_lane(out + o, unaryV(isF32, op, v128.load32_splat(x + o)), 0);
  }
}

/** out[i] = op(x[i]) for i in [start, end) (f32; op: a unary op code). */
export function unary_f32(op: i32, x: usize, out: usize, start: i32, end: i32): void {
  switch (op) {
    case NEG: unaryLoop(true, NEG, x, out, start, end); break;
    case EXP: unaryLoop(true, EXP, x, out, start, end); break;
    case LOG: unaryLoop(true, LOG, x, out, start, end); break;
    case SIN: unaryLoop(true, SIN, x, out, start, end); break;
    case COS: unaryLoop(true, COS, x, out, start, end); break;
    case TANH: unaryLoop(true, TANH, x, out, start, end); break;
    case SIGMOID: unaryLoop(true, SIGMOID, x, out, start, end); break;
    case RELU: unaryLoop(true, RELU, x, out, start, end); break;
    case SQRT: unaryLoop(true, SQRT, x, out, start, end); break;
    case SQUARE: unaryLoop(true, SQUARE, x, out, start, end); break;
    case ABS: unaryLoop(true, ABS, x, out, start, end); break;
    case RECIPROCAL: unaryLoop(true, RECIPROCAL, x, out, start, end); break;
    case SIGN: unaryLoop(true, SIGN, x, out, start, end); break;
    case ERF: unaryLoop(true, ERF, x, out, start, end); break;
    case ERFC: unaryLoop(true, ERFC, x, out, start, end); break;
    case LOG1P: unaryLoop(true, LOG1P, x, out, start, end); break;
    case EXPM1: unaryLoop(true, EXPM1, x, out, start, end); break;
    case SOFTPLUS: unaryLoop(true, SOFTPLUS, x, out, start, end); break;
    default: unreachable();
  }
}

/** out[i] = op(x[i]) for i in [start, end) (i32: neg relu square abs sign). */
export function unary_i32(op: i32, x: usize, out: usize, start: i32, end: i32): void {
  switch (op) {
    case NEG: unaryLoop(false, NEG, x, out, start, end); break;
    case RELU: unaryLoop(false, RELU, x, out, start, end); break;
    case SQUARE: unaryLoop(false, SQUARE, x, out, start, end); break;
    case ABS: unaryLoop(false, ABS, x, out, start, end); break;
    case SIGN: unaryLoop(false, SIGN, x, out, start, end); break;
    default: unreachable();
  }
}

// ---------------------------------------------------------------------------------------------
// Rows and N-D iteration

/** Element offset of operand `k` (0-based, after the shape) at the start of row `row`. */
// @ts-ignore: decorator
@inline function rowOffset(meta: usize, rank: i32, k: i32, row: i32): i32 {
  let off = 0;
  let r = row;
  const strides = meta + <usize>((1 + rank + k * rank) << 2);
  for (let d = rank - 2; d >= 0; d--) {
    const dim = load<i32>(meta + <usize>((1 + d) << 2));
    const q = r / dim;
    off += (r - q * dim) * load<i32>(strides + <usize>(d << 2));
    r = q;
  }
  return off;
}

/** Number of rows (the product of all dims but the last) of a meta block. */
export function meta_rows(meta: usize): i32 {
  const rank = load<i32>(meta);
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= load<i32>(meta + <usize>((1 + d) << 2));
  return rows;
}

// @ts-ignore: decorator
@inline function binaryRow(isF32: bool, op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, n: i32): void {
  let i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(out + o, binaryV(isF32, op, v128.load(a + o), v128.load(b + o)));
    }
  } else if (sa == 1 && sb == 0) {
    const bv = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(out + o, binaryV(isF32, op, v128.load(a + o), bv));
    }
  } else if (sa == 0 && sb == 1) {
    const av = v128.load32_splat(a);
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(out + o, binaryV(isF32, op, av, v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    const av = v128.load32_splat(a + <usize>((i * sa) << 2));
    const bv = v128.load32_splat(b + <usize>((i * sb) << 2));
    v128.store32_lane(out + <usize>(i << 2), binaryV(isF32, op, av, bv), 0);
  }
}

// @ts-ignore: decorator
@inline function binaryNd(isF32: bool, op: i32, a: usize, b: usize, out: usize, meta: usize, rowStart: i32, rowEnd: i32): void {
  const rank = load<i32>(meta);
  const len = load<i32>(meta + <usize>(rank << 2));
  const sa = load<i32>(meta + <usize>((rank + rank) << 2));
  const sb = load<i32>(meta + <usize>((rank + 2 * rank) << 2));
  for (let row = rowStart; row < rowEnd; row++) {
    const oa = rowOffset(meta, rank, 0, row);
    const ob = rowOffset(meta, rank, 1, row);
    binaryRow(
      isF32,
      op,
      a + <usize>(oa << 2),
      sa,
      b + <usize>(ob << 2),
      sb,
      out + (<usize>row * <usize>len) * 4,
      len,
    );
  }
}

/** out = op(a, b) broadcast (f32): rows [rowStart, rowEnd) of meta = [rank, shape, strides a, strides b]. */
export function binary_f32(op: i32, a: usize, b: usize, out: usize, meta: usize, rowStart: i32, rowEnd: i32): void {
  switch (op) {
    case ADD: binaryNd(true, ADD, a, b, out, meta, rowStart, rowEnd); break;
    case SUB: binaryNd(true, SUB, a, b, out, meta, rowStart, rowEnd); break;
    case MUL: binaryNd(true, MUL, a, b, out, meta, rowStart, rowEnd); break;
    case DIV: binaryNd(true, DIV, a, b, out, meta, rowStart, rowEnd); break;
    case POW: binaryNd(true, POW, a, b, out, meta, rowStart, rowEnd); break;
    case MAXIMUM: binaryNd(true, MAXIMUM, a, b, out, meta, rowStart, rowEnd); break;
    case MINIMUM: binaryNd(true, MINIMUM, a, b, out, meta, rowStart, rowEnd); break;
    case GT: binaryNd(true, GT, a, b, out, meta, rowStart, rowEnd); break;
    case GE: binaryNd(true, GE, a, b, out, meta, rowStart, rowEnd); break;
    case LT: binaryNd(true, LT, a, b, out, meta, rowStart, rowEnd); break;
    case LE: binaryNd(true, LE, a, b, out, meta, rowStart, rowEnd); break;
    case EQ: binaryNd(true, EQ, a, b, out, meta, rowStart, rowEnd); break;
    case NE: binaryNd(true, NE, a, b, out, meta, rowStart, rowEnd); break;
    case LOGADDEXP: binaryNd(true, LOGADDEXP, a, b, out, meta, rowStart, rowEnd); break;
    default: unreachable();
  }
}

/** out = op(a, b) broadcast (i32, wrapping; no div or pow): rows [rowStart, rowEnd) of meta. */
export function binary_i32(op: i32, a: usize, b: usize, out: usize, meta: usize, rowStart: i32, rowEnd: i32): void {
  switch (op) {
    case ADD: binaryNd(false, ADD, a, b, out, meta, rowStart, rowEnd); break;
    case SUB: binaryNd(false, SUB, a, b, out, meta, rowStart, rowEnd); break;
    case MUL: binaryNd(false, MUL, a, b, out, meta, rowStart, rowEnd); break;
    case MAXIMUM: binaryNd(false, MAXIMUM, a, b, out, meta, rowStart, rowEnd); break;
    case MINIMUM: binaryNd(false, MINIMUM, a, b, out, meta, rowStart, rowEnd); break;
    case GT: binaryNd(false, GT, a, b, out, meta, rowStart, rowEnd); break;
    case GE: binaryNd(false, GE, a, b, out, meta, rowStart, rowEnd); break;
    case LT: binaryNd(false, LT, a, b, out, meta, rowStart, rowEnd); break;
    case LE: binaryNd(false, LE, a, b, out, meta, rowStart, rowEnd); break;
    case EQ: binaryNd(false, EQ, a, b, out, meta, rowStart, rowEnd); break;
    case NE: binaryNd(false, NE, a, b, out, meta, rowStart, rowEnd); break;
    default: unreachable();
  }
}

// ---------------------------------------------------------------------------------------------
// where(c, a, b): a where c != 0, else b (values are moved as 32-bit patterns; c is f32 or i32)

// @ts-ignore: decorator
@inline function whereRow(cF32: bool, c: usize, sc: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, n: i32): void {
  let i = 0;
  if (sc == 1 && sa == 1 && sb == 1) {
    for (; i + 4 <= n; i += 4) {
      const o = (<usize>i) << 2;
      v128.store(out + o, whereV(cF32, v128.load(c + o), v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    const cp = c + <usize>((i * sc) << 2);
    const take = cF32 ? load<f32>(cp) != 0 : load<i32>(cp) != 0;
    store<u32>(out + <usize>(i << 2), load<u32>(take ? a + <usize>((i * sa) << 2) : b + <usize>((i * sb) << 2)));
  }
}

/** where over rows [rowStart, rowEnd) of meta = [rank, shape, strides c, strides a, strides b]; cF32: c is f32 (else i32). */
export function where_32(cF32: i32, c: usize, a: usize, b: usize, out: usize, meta: usize, rowStart: i32, rowEnd: i32): void {
  const rank = load<i32>(meta);
  const len = load<i32>(meta + <usize>(rank << 2));
  const sc = load<i32>(meta + <usize>((2 * rank) << 2));
  const sa = load<i32>(meta + <usize>((3 * rank) << 2));
  const sb = load<i32>(meta + <usize>((4 * rank) << 2));
  for (let row = rowStart; row < rowEnd; row++) {
    const pc = c + <usize>(rowOffset(meta, rank, 0, row) << 2);
    const pa = a + <usize>(rowOffset(meta, rank, 1, row) << 2);
    const pb = b + <usize>(rowOffset(meta, rank, 2, row) << 2);
    const po = out + (<usize>row * <usize>len) * 4;
    if (cF32) whereRow(true, pc, sc, pa, sa, pb, sb, po, len);
    else whereRow(false, pc, sc, pa, sa, pb, sb, po, len);
  }
}

// ---------------------------------------------------------------------------------------------
// cast

/** JavaScript's ToInt32 of an f32: truncation, modulo 2^32; NaN and infinities give 0. */
// @ts-ignore: decorator
@inline function toInt32(v: f32): i32 {
  if (!(Mathf.abs(v) < 9.223372036854775808e18)) return 0; // NaN, inf, and |v| >= 2^63 (a multiple of 2^40)
  return <i32><i64><f64>v;
}

/** out[i] = ToInt32(x[i]) (f32 -> i32, as a JavaScript Int32Array store) for i in [start, end). */
export function cast_f32_i32(x: usize, out: usize, start: i32, end: i32): void {
  let i = start;
  const lim = f32x4.splat(2147483648.0);
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    const v = v128.load(x + o);
    if (v128.all_true<i32>(f32x4.lt(f32x4.abs(v), lim))) {
      v128.store(out + o, i32x4.trunc_sat_f32x4_s(v));
    } else {
      for (let j = 0; j < 4; j++) store<i32>(out + o + <usize>(j << 2), toInt32(load<f32>(x + o + <usize>(j << 2))));
    }
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    store<i32>(out + o, toInt32(load<f32>(x + o)));
  }
}

/** out[i] = x[i] rounded to the nearest f32 (i32 -> f32) for i in [start, end). */
export function cast_i32_f32(x: usize, out: usize, start: i32, end: i32): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, f32x4.convert_i32x4_s(v128.load(x + o)));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, <f32>load<i32>(x + o));
  }
}
