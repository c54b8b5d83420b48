// The per-element operations of the wasm elementwise kernels (AssemblyScript), on f32x4 / i32x4
// vectors: shared by the unfused maps (elementwise.ts) and the fused-kernel interpreter (fused.ts), so
// a fused node computes bitwise what the unfused op computes. Semantics: see elementwise.ts.

import { cos4, erf4, erfc4, exp4, expm14, log1p4, log4, logaddexp4, pow4, sigmoid4, sin4, softplus4, tanh4 } from './math';

// Unary op codes (src/backends/wasm/kernels.ts mirrors them).
export const NEG: i32 = 0;
export const EXP: i32 = 1;
export const LOG: i32 = 2;
export const SIN: i32 = 3;
export const COS: i32 = 4;
export const TANH: i32 = 5;
export const SIGMOID: i32 = 6;
export const RELU: i32 = 7;
export const SQRT: i32 = 8;
export const SQUARE: i32 = 9;
export const ABS: i32 = 10;
export const RECIPROCAL: i32 = 11;
export const SIGN: i32 = 12;
export const ERF: i32 = 13;
export const ERFC: i32 = 14;
export const LOG1P: i32 = 15;
export const EXPM1: i32 = 16;
export const SOFTPLUS: i32 = 17;

// Binary op codes.
export const ADD: i32 = 0;
export const SUB: i32 = 1;
export const MUL: i32 = 2;
export const DIV: i32 = 3;
export const POW: i32 = 4;
export const MAXIMUM: i32 = 5;
export const MINIMUM: i32 = 6;
export const GT: i32 = 7;
export const GE: i32 = 8;
export const LT: i32 = 9;
export const LE: i32 = 10;
export const EQ: i32 = 11;
export const NE: i32 = 12;
export const LOGADDEXP: i32 = 13;

// ---------------------------------------------------------------------------------------------
// Vector operations

// @ts-ignore: decorator
@inline export function unaryF32(op: i32, x: v128): v128 {
  if (op == NEG) return f32x4.neg(x);
  if (op == EXP) return exp4(x);
  if (op == LOG) return log4(x);
  if (op == SIN) return sin4(x);
  if (op == COS) return cos4(x);
  if (op == TANH) return tanh4(x);
  if (op == SIGMOID) return sigmoid4(x);
  if (op == RELU) {
    const keep = v128.or(f32x4.gt(x, f32x4.splat(0)), f32x4.ne(x, x));
    return v128.and(x, keep);
  }
  if (op == SQRT) return f32x4.sqrt(x);
  if (op == SQUARE) return f32x4.mul(x, x);
  if (op == ABS) return f32x4.abs(x);
  if (op == RECIPROCAL) return f32x4.div(f32x4.splat(1), x);
  if (op == ERF) return erf4(x);
  if (op == ERFC) return erfc4(x);
  if (op == LOG1P) return log1p4(x);
  if (op == EXPM1) return expm14(x);
  if (op == SOFTPLUS) return softplus4(x);
  // SIGN: 1 where x > 0, -1 where x < 0, else x (0, -0, NaN)
  const pos = f32x4.gt(x, f32x4.splat(0));
  const neg = f32x4.lt(x, f32x4.splat(0));
  return v128.bitselect(f32x4.splat(1), v128.bitselect(f32x4.splat(-1), x, neg), pos);
}

// @ts-ignore: decorator
@inline export function unaryI32(op: i32, x: v128): v128 {
  if (op == NEG) return i32x4.neg(x);
  if (op == RELU) return i32x4.max_s(x, i32x4.splat(0));
  if (op == SQUARE) return i32x4.mul(x, x);
  if (op == ABS) return i32x4.abs(x);
  // SIGN: (x > 0) - (x < 0); comparison masks are -1 where true
  return i32x4.sub(i32x4.lt_s(x, i32x4.splat(0)), i32x4.gt_s(x, i32x4.splat(0)));
}

// @ts-ignore: decorator
@inline export function binaryF32(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  if (op == DIV) return f32x4.div(a, b);
  if (op == POW) return pow4(a, b);
  if (op == MAXIMUM) return v128.bitselect(a, b, v128.or(f32x4.ge(a, b), f32x4.ne(a, a)));
  if (op == MINIMUM) return v128.bitselect(a, b, v128.or(f32x4.le(a, b), f32x4.ne(a, a)));
  if (op == LOGADDEXP) return logaddexp4(a, b);
  let m: v128;
  if (op == GT) m = f32x4.gt(a, b);
  else if (op == GE) m = f32x4.ge(a, b);
  else if (op == LT) m = f32x4.lt(a, b);
  else if (op == LE) m = f32x4.le(a, b);
  else if (op == EQ) m = f32x4.eq(a, b);
  else m = f32x4.ne(a, b);
  return v128.and(m, f32x4.splat(1));
}

// @ts-ignore: decorator
@inline export function binaryI32(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return i32x4.add(a, b);
  if (op == SUB) return i32x4.sub(a, b);
  if (op == MUL) return i32x4.mul(a, b);
  if (op == MAXIMUM) return i32x4.max_s(a, b);
  if (op == MINIMUM) return i32x4.min_s(a, b);
  let m: v128;
  if (op == GT) m = i32x4.gt_s(a, b);
  else if (op == GE) m = i32x4.ge_s(a, b);
  else if (op == LT) m = i32x4.lt_s(a, b);
  else if (op == LE) m = i32x4.le_s(a, b);
  else if (op == EQ) m = i32x4.eq(a, b);
  else m = i32x4.ne(a, b);
  return v128.and(m, i32x4.splat(1));
}

// @ts-ignore: decorator
@inline export function unaryV(isF32: bool, op: i32, x: v128): v128 {
  return isF32 ? unaryF32(op, x) : unaryI32(op, x);
}

// @ts-ignore: decorator
@inline export function binaryV(isF32: bool, op: i32, a: v128, b: v128): v128 {
  return isF32 ? binaryF32(op, a, b) : binaryI32(op, a, b);
}

/** where(c, a, b) per lane: a where c != 0 (c f32, NaN included, or i32), else b (32-bit patterns). */
// @ts-ignore: decorator
@inline export function whereV(cF32: bool, c: v128, a: v128, b: v128): v128 {
  const m = cF32 ? f32x4.ne(c, f32x4.splat(0)) : i32x4.ne(c, i32x4.splat(0));
  return v128.bitselect(a, b, m);
}
