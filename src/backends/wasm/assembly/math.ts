// Vectorised transcendental functions (f32x4) for the wasm backend, with stated accuracy.
//
// ACCURACY (max error in f32 ulp vs the correctly rounded f64 reference, Math.fround(Math.f(x)),
// measured by tests/wasm/math.test.ts: dense sweeps + fast-check random f32 bit patterns + special values):
//
// ACCURACY-TABLE-BEGIN
// | function | domain                                           | max ulp measured | bound tested |
// |----------|--------------------------------------------------|------------------|--------------|
// | exp      | all f32 (inf above 88.7228, 0 below -103.973)    | 1                | 1            |
// | log      | all f32 >= 0, subnormals included                | 1                | 1            |
// | sin      | |x| <= 2^20 (beyond: in [-1, 1], not accurate)   | 1                | 1            |
// | cos      | |x| <= 2^20 (beyond: in [-1, 1], not accurate)   | 1                | 1            |
// | tanh     | all f32                                          | 0                | 1            |
// | sigmoid  | all f32                                          | 2                | 2            |
// | pow      | all f32 pairs (a, b)                             | 0                | 1            |
// (about 1.4e6 to 1.9e6 values per function per test run; an offline check of every 61st f32 bit
// pattern, 7e7 values, gave the same maxima for exp, log and sigmoid.)
// ACCURACY-TABLE-END
//
// Every function: NaN in -> NaN out; infinities as in JavaScript's Math.* (see each function).
// Each scalar function `xxxf1` is, by construction, lane 0 of the vector function applied to a splat,
// so an element gets bitwise the same value whether it is computed in a SIMD block or in the scalar
// tail of an array.
//
// Methods (all classical, coefficients derived here from Taylor series, no copied code):
//  - exp4  (f32 arithmetic): x = k*ln2 + r, Cody-Waite split ln2 = LN2_HI + LN2_LO (LN2_HI has 9
//    significant bits so k*LN2_HI and x - k*LN2_HI are exact), |r| <= ln2/2, exp(r) by its Taylor
//    polynomial of degree 7 (truncation <= 5.3e-9 relative), 2^k applied as two exact power-of-two
//    factors built from exponent bits (handles overflow to inf, gradual underflow to subnormals and 0).
//  - log4  (f32 arithmetic): x = 2^e * m, m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact),
//    s = f/(2+f), log(m) = f - (f^2/2 - s*(f^2/2 + R(s^2))) with R the atanh series
//    R(z) = 2z/3 + 2z^2/5 + 2z^3/7 + 2z^4/9; e*ln2 added with the same Cody-Waite split.
//    Subnormal inputs are scaled by 2^23 first.
//  - sigmoid4 (f32): e = exp(-|x|), sigmoid = (x >= 0 ? 1 : e) / (1 + e): never overflows, exact
//    limits 1 (x -> +inf) and 0 (x -> -inf, and for x below about -103.97 where the true value
//    rounds to 0).
//  - tanh4, sin4, cos4, pow4: computed in f64 (two f64x2 halves), then rounded once to f32, which makes
//    them (nearly) correctly rounded:
//      tanh: |x| < 2^-12: x - x^3/3 + 2x^5/15; else 1 - 2/(exp(2|x|)+1) (|x| clamped to 20, which
//            saturates to exactly +-1), sign copied from x (tanh(-0) = -0).
//      sin/cos: k = nearest(x*2/pi), r = x - k*PIO2_1 - k*PIO2_1T (PIO2_1 has 33 bits: k*PIO2_1 and
//            x - k*PIO2_1 are exact for |k| < 2^20, i.e. 86 bits of pi/2), Taylor polynomials
//            of degree 11 (sin) and 12 (cos) on |r| <= pi/4, quadrant from k mod 4.
//            Accurate for |x| <= 2^20 = 1048576. Beyond that r = (x*2/pi - k)*pi/2 in f64: the result
//            is always in [-1, 1] but its absolute error grows like |x|*2^-53 (about 1e-9 at 1e7),
//            and it is meaningless for |x| >= 2^50. sin(+-inf) = cos(+-inf) = NaN; sin(-0) = -0.
//      pow(a, b) = exp(b*log|a|) in f64 (log: atanh series to s^15, exp: Taylor degree 11; the
//            product b*log|a| keeps about 1e-13 relative error, so the result is within 1 ulp over
//            the whole f32 range), with JavaScript's Math.pow conventions: b = +-0 -> 1 (even for
//            a = NaN); b NaN -> NaN; a NaN -> NaN; |a| = 1 with b = +-inf -> NaN; a < 0 finite with
//            b not an integer -> NaN; a < 0 (also -0, -inf) with b an odd integer -> negative result;
//            a = +-0 and a = +-inf follow from log|a| = -inf/+inf.
//  - sqrt: use f32x4.sqrt (correctly rounded).

// ---------------------------------------------------------------------------------------------
// Small helpers (all inlined)

// @ts-ignore: decorator
@inline function F(c: f32): v128 {
  return f32x4.splat(c);
}
// @ts-ignore: decorator
@inline function D(c: f64): v128 {
  return f64x2.splat(c);
}
// @ts-ignore: decorator
@inline function I(c: i32): v128 {
  return i32x4.splat(c);
}
// @ts-ignore: decorator
@inline function L(c: i64): v128 {
  return i64x2.splat(c);
}

/** Lanes 0,1 of `x` as f64x2. */
// @ts-ignore: decorator
@inline function lo64(x: v128): v128 {
  return f64x2.promote_low_f32x4(x);
}
/** Lanes 2,3 of `x` as f64x2. */
// @ts-ignore: decorator
@inline function hi64(x: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.shuffle(x, x, 2, 3, 2, 3));
}
/** Two f64x2 rounded to f32 and packed into one f32x4 (lo in lanes 0,1; hi in lanes 2,3). */
// @ts-ignore: decorator
@inline function pack32(lo: v128, hi: v128): v128 {
  return f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

const SIGN32: i32 = 0x80000000;
const F_NAN: f32 = NaN;
const F_INF: f32 = Infinity;

// ---------------------------------------------------------------------------------------------
// exp (f32 arithmetic)

const LOG2E_F: f32 = 1.44269504088896340736;
const LN2_HI_F: f32 = 0.693359375; // 355/512: 9 significant bits
const LN2_LO_F: f32 = -2.12194440054690583e-4; // ln2 - LN2_HI_F
// Taylor coefficients 1/n!
const E2: f32 = 0.5;
const E3: f32 = 0.16666666666666666;
const E4: f32 = 0.041666666666666664;
const E5: f32 = 0.008333333333333333;
const E6: f32 = 0.001388888888888889;
const E7: f32 = 0.0001984126984126984;

/** exp of each lane (f32). exp(-inf) = 0, exp(inf) = inf, exp(x > 88.7228) = inf, exp(x < -103.98) = 0. */
// @ts-ignore: decorator
@inline export function exp4(x0: v128): v128 {
  // Clamp (NaN propagates through min/max): beyond these bounds the result is inf / 0 anyway.
  const x = f32x4.min(f32x4.max(x0, F(-104.0)), F(89.0));
  // k = nearest(x*log2e) by the 1.5*2^23 trick: t holds k in its low mantissa bits.
  const t = f32x4.add(f32x4.mul(x, F(LOG2E_F)), F(12582912.0));
  const kf = f32x4.sub(t, F(12582912.0));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(kf, F(LN2_HI_F))), f32x4.mul(kf, F(LN2_LO_F)));
  const r2 = f32x4.mul(r, r);
  let q = f32x4.add(F(E6), f32x4.mul(r, F(E7)));
  q = f32x4.add(F(E5), f32x4.mul(r, q));
  q = f32x4.add(F(E4), f32x4.mul(r, q));
  q = f32x4.add(F(E3), f32x4.mul(r, q));
  q = f32x4.add(F(E2), f32x4.mul(r, q));
  const p = f32x4.add(F(1.0), f32x4.add(r, f32x4.mul(r2, q)));
  // 2^k = 2^k1 * 2^k2 with k1 = k >> 1, k2 = k - k1, both normal exponents for k in [-150, 128].
  const k = i32x4.sub(t, I(0x4b400000)); // bits of 1.5*2^23 (for NaN: any k, p is NaN anyway)
  const k1 = i32x4.shr_s(k, 1);
  const k2 = i32x4.sub(k, k1);
  const s1 = i32x4.shl(i32x4.add(k1, I(127)), 23);
  const s2 = i32x4.shl(i32x4.add(k2, I(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

// ---------------------------------------------------------------------------------------------
// log (f32 arithmetic)

const SQRT_HALF_BITS: i32 = 0x3f3504f3; // sqrt(1/2) as f32 bits
// atanh-series coefficients 2/(2k+1)
const LG1: f32 = 0.6666666666666666;
const LG2: f32 = 0.4;
const LG3: f32 = 0.2857142857142857;
const LG4: f32 = 0.2222222222222222;

/** Natural log of each lane (f32). log(0) = -inf, log(x < 0) = NaN, log(inf) = inf. */
// @ts-ignore: decorator
@inline export function log4(x: v128): v128 {
  // Subnormals (and everything below the smallest normal, handled below anyway): scale by 2^23.
  const tiny = f32x4.lt(x, F(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, F(8388608.0)), x, tiny);
  const eadj = v128.and(tiny, I(-23));
  // x = 2^e * m with m in [sqrt(1/2), sqrt(2))
  const ix = i32x4.sub(xs, I(SQRT_HALF_BITS));
  const e = i32x4.add(i32x4.shr_s(ix, 23), eadj);
  const m = i32x4.add(v128.and(ix, I(0x007fffff)), I(SQRT_HALF_BITS));
  const f = f32x4.sub(m, F(1.0)); // exact
  const s = f32x4.div(f, f32x4.add(F(2.0), f));
  const z = f32x4.mul(s, s);
  let R = f32x4.add(F(LG3), f32x4.mul(z, F(LG4)));
  R = f32x4.add(F(LG2), f32x4.mul(z, R));
  R = f32x4.add(F(LG1), f32x4.mul(z, R));
  R = f32x4.mul(z, R);
  const hfsq = f32x4.mul(F(0.5), f32x4.mul(f, f));
  const ef = f32x4.convert_i32x4_s(e);
  const inner = f32x4.add(f32x4.mul(s, f32x4.add(hfsq, R)), f32x4.mul(ef, F(LN2_LO_F)));
  let res = f32x4.add(f32x4.mul(ef, F(LN2_HI_F)), f32x4.sub(f, f32x4.sub(hfsq, inner)));
  res = v128.bitselect(F(-F_INF), res, f32x4.eq(x, F(0.0)));
  res = v128.bitselect(F(F_INF), res, f32x4.eq(x, F(F_INF)));
  res = v128.bitselect(F(F_NAN), res, v128.not(f32x4.ge(x, F(0.0)))); // x < 0 or NaN
  return res;
}

// ---------------------------------------------------------------------------------------------
// sigmoid (f32 arithmetic, from exp4)

/** 1 / (1 + exp(-x)) of each lane, without overflow; sigmoid(inf) = 1, sigmoid(-inf) = 0. */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const e = exp4(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(F(1.0), e, f32x4.ge(x, F(0.0))); // NaN: e is NaN
  return f32x4.div(num, f32x4.add(F(1.0), e));
}

// ---------------------------------------------------------------------------------------------
// f64x2 building blocks (used by tanh, sin, cos, pow)

const LOG2E_D: f64 = 1.4426950408889634;
const LN2_HI_D: f64 = 6.93147180369123816490e-1; // 32 significant bits
const LN2_LO_D: f64 = 1.90821492927058770002e-10; // ln2 - LN2_HI_D
const MAGIC_D: f64 = 6755399441055744.0; // 2^52 + 2^51: round-to-integer / int<->f64 trick
const MAGIC_BITS: i64 = 0x4338000000000000;

/** exp of each f64 lane, for arguments already clamped to [-120, 100] (or NaN). ~1e-15 relative. */
// @ts-ignore: decorator
@inline function expd(y: v128): v128 {
  const kd = f64x2.nearest(f64x2.mul(y, D(LOG2E_D)));
  const r = f64x2.sub(f64x2.sub(y, f64x2.mul(kd, D(LN2_HI_D))), f64x2.mul(kd, D(LN2_LO_D)));
  // Taylor polynomial of degree 11 (truncation < 1e-14 for |r| <= ln2/2)
  let p = f64x2.add(D(1.0 / 3628800.0), f64x2.mul(r, D(1.0 / 39916800.0)));
  p = f64x2.add(D(1.0 / 362880.0), f64x2.mul(r, p));
  p = f64x2.add(D(1.0 / 40320.0), f64x2.mul(r, p));
  p = f64x2.add(D(1.0 / 5040.0), f64x2.mul(r, p));
  p = f64x2.add(D(1.0 / 720.0), f64x2.mul(r, p));
  p = f64x2.add(D(1.0 / 120.0), f64x2.mul(r, p));
  p = f64x2.add(D(1.0 / 24.0), f64x2.mul(r, p));
  p = f64x2.add(D(1.0 / 6.0), f64x2.mul(r, p));
  p = f64x2.add(D(0.5), f64x2.mul(r, p));
  p = f64x2.add(D(1.0), f64x2.mul(r, p));
  p = f64x2.add(D(1.0), f64x2.mul(r, p));
  const kb = i64x2.sub(f64x2.add(kd, D(MAGIC_D)), L(MAGIC_BITS)); // k as i64 (|k| <= 174)
  const scale = i64x2.shl(i64x2.add(kb, L(1023)), 52);
  return f64x2.mul(p, scale);
}

/** Natural log of each f64 lane, for positive finite normal arguments. ~1e-15 relative. */
// @ts-ignore: decorator
@inline function logd(x: v128): v128 {
  const SQRT_HALF_BITS_D: i64 = 0x3fe6a09e667f3bcd;
  const ix = i64x2.sub(x, L(SQRT_HALF_BITS_D));
  const e = i64x2.shr_s(ix, 52);
  const m = i64x2.add(v128.and(ix, L(0x000fffffffffffff)), L(SQRT_HALF_BITS_D));
  const ef = f64x2.sub(i64x2.add(e, L(MAGIC_BITS)), D(MAGIC_D)); // i64 -> f64 (small ints)
  const f = f64x2.sub(m, D(1.0));
  const s = f64x2.div(f, f64x2.add(D(2.0), f));
  const z = f64x2.mul(s, s);
  // R(z) = sum_{k=1..7} 2 z^k / (2k+1)
  let R = f64x2.add(D(2.0 / 13.0), f64x2.mul(z, D(2.0 / 15.0)));
  R = f64x2.add(D(2.0 / 11.0), f64x2.mul(z, R));
  R = f64x2.add(D(2.0 / 9.0), f64x2.mul(z, R));
  R = f64x2.add(D(2.0 / 7.0), f64x2.mul(z, R));
  R = f64x2.add(D(2.0 / 5.0), f64x2.mul(z, R));
  R = f64x2.add(D(2.0 / 3.0), f64x2.mul(z, R));
  R = f64x2.mul(z, R);
  const hfsq = f64x2.mul(D(0.5), f64x2.mul(f, f));
  const inner = f64x2.add(f64x2.mul(s, f64x2.add(hfsq, R)), f64x2.mul(ef, D(LN2_LO_D)));
  return f64x2.add(f64x2.mul(ef, D(LN2_HI_D)), f64x2.sub(f, f64x2.sub(hfsq, inner)));
}

// ---------------------------------------------------------------------------------------------
// tanh (f64 inside)

// @ts-ignore: decorator
@inline function tanhAbsD(xd: v128): v128 {
  const ax = f64x2.abs(xd);
  const ax2 = f64x2.mul(ax, ax);
  const small = f64x2.add(ax, f64x2.mul(f64x2.mul(ax, ax2), f64x2.add(D(-1.0 / 3.0), f64x2.mul(ax2, D(2.0 / 15.0)))));
  const E = expd(f64x2.mul(D(2.0), f64x2.min(ax, D(20.0))));
  const big = f64x2.sub(D(1.0), f64x2.div(D(2.0), f64x2.add(E, D(1.0))));
  return v128.bitselect(small, big, f64x2.lt(ax, D(0.000244140625)));
}

/** tanh of each lane; tanh(+-inf) = +-1, tanh(-0) = -0. */
// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  const t = pack32(tanhAbsD(lo64(x)), tanhAbsD(hi64(x)));
  return v128.or(t, v128.and(x, I(SIGN32)));
}

// ---------------------------------------------------------------------------------------------
// sin, cos (f64 inside)

const TWO_OVER_PI_D: f64 = 6.36619772367581382433e-1;
const PIO2_1: f64 = 1.57079632673412561417e0; // first 33 bits of pi/2
const PIO2_1T: f64 = 6.07710050650619224932e-11; // pi/2 - PIO2_1
const PIO2_D: f64 = 1.5707963267948966;
const REDUCE_LIMIT: f64 = 1048576.0; // 2^20

/** sin (cos = false) or cos (cos = true) of each f64 lane. */
// @ts-ignore: decorator
@inline function sincosd(xd: v128, cos: bool): v128 {
  const t = f64x2.mul(xd, D(TWO_OVER_PI_D));
  const kd = f64x2.nearest(t);
  const rcw = f64x2.sub(f64x2.sub(xd, f64x2.mul(kd, D(PIO2_1))), f64x2.mul(kd, D(PIO2_1T)));
  const rbig = f64x2.mul(f64x2.sub(t, kd), D(PIO2_D));
  const r = v128.bitselect(rbig, rcw, f64x2.gt(f64x2.abs(xd), D(REDUCE_LIMIT)));
  const r2 = f64x2.mul(r, r);
  // sin(r) = r + r^3 * S(r^2), Taylor to r^11
  let S = f64x2.add(D(1.0 / 362880.0), f64x2.mul(r2, D(-1.0 / 39916800.0)));
  S = f64x2.add(D(-1.0 / 5040.0), f64x2.mul(r2, S));
  S = f64x2.add(D(1.0 / 120.0), f64x2.mul(r2, S));
  S = f64x2.add(D(-1.0 / 6.0), f64x2.mul(r2, S));
  const sr = f64x2.add(r, f64x2.mul(f64x2.mul(r, r2), S));
  // cos(r) = 1 - r^2/2 + r^4 * C(r^2), Taylor to r^12
  let C = f64x2.add(D(-1.0 / 3628800.0), f64x2.mul(r2, D(1.0 / 479001600.0)));
  C = f64x2.add(D(1.0 / 40320.0), f64x2.mul(r2, C));
  C = f64x2.add(D(-1.0 / 720.0), f64x2.mul(r2, C));
  C = f64x2.add(D(1.0 / 24.0), f64x2.mul(r2, C));
  const cr = f64x2.add(f64x2.sub(D(1.0), f64x2.mul(D(0.5), r2)), f64x2.mul(f64x2.mul(r2, r2), C));
  // quadrant q = k mod 4 (cos(x) = sin(x + pi/2): q + 1)
  let kb = i64x2.sub(f64x2.add(kd, D(MAGIC_D)), L(MAGIC_BITS));
  if (cos) kb = i64x2.add(kb, L(1));
  const swap = i64x2.shr_s(i64x2.shl(kb, 63), 63);
  const neg = i64x2.shr_s(i64x2.shl(kb, 62), 63);
  const v = v128.bitselect(cr, sr, swap);
  return v128.xor(v, v128.and(neg, L(0x8000000000000000)));
}

/** sin of each lane; accurate for |x| <= 2^20 (see the header); sin(+-inf) = NaN, sin(-0) = -0. */
// @ts-ignore: decorator
@inline export function sin4(x: v128): v128 {
  const s = pack32(sincosd(lo64(x), false), sincosd(hi64(x), false));
  return v128.bitselect(x, s, f32x4.eq(x, F(0.0))); // keep the sign of zero
}

/** cos of each lane; accurate for |x| <= 2^20 (see the header); cos(+-inf) = NaN. */
// @ts-ignore: decorator
@inline export function cos4(x: v128): v128 {
  return pack32(sincosd(lo64(x), true), sincosd(hi64(x), true));
}

// ---------------------------------------------------------------------------------------------
// pow (f64 inside)

/** exp(b * log|a|) for f64 lanes a (already |a|) and b, with log|a| = -inf at 0, +inf at inf, NaN at NaN. */
// @ts-ignore: decorator
@inline function powAbsD(ad: v128, bd: v128): v128 {
  let lg = logd(ad);
  lg = v128.bitselect(D(-Infinity), lg, f64x2.eq(ad, D(0.0)));
  lg = v128.bitselect(D(Infinity), lg, f64x2.eq(ad, D(Infinity)));
  lg = v128.bitselect(D(NaN), lg, f64x2.ne(ad, ad));
  const y = f64x2.min(f64x2.max(f64x2.mul(bd, lg), D(-120.0)), D(100.0));
  return expd(y);
}

/** a^b per lane with JavaScript Math.pow conventions (see the header). */
// @ts-ignore: decorator
@inline export function pow4(a: v128, b: v128): v128 {
  const aa = f32x4.abs(a);
  let res = pack32(powAbsD(lo64(aa), lo64(b)), powAbsD(hi64(aa), hi64(b)));
  const isInt = f32x4.eq(f32x4.floor(b), b); // true for +-inf, false for NaN
  const half = f32x4.mul(b, F(0.5));
  const isOdd = v128.and(isInt, f32x4.ne(f32x4.floor(half), half));
  const aNeg = i32x4.shr_s(a, 31); // sign bit of a (-0 and -inf included)
  res = v128.xor(res, v128.and(v128.and(aNeg, isOdd), I(SIGN32)));
  const negFinite = v128.and(f32x4.lt(a, F(0.0)), f32x4.ne(a, F(-F_INF)));
  res = v128.bitselect(F(F_NAN), res, v128.andnot(negFinite, isInt));
  res = v128.bitselect(F(1.0), res, f32x4.eq(b, F(0.0)));
  return res;
}

// ---------------------------------------------------------------------------------------------
// erf, erfc, log1p, expm1, softplus, logaddexp (f64 inside, rounded once to f32)
//
// The method of src/ops/special.ts (the cpu backend's double-precision kernels), with fewer terms:
//  - erf(x) = x * P(x^2) for |x| < 0.5, P the Taylor series of erf(x)/x to x^14 (truncation ~2e-11);
//  - erfc(a) = t * e^(-a^2) * R(t) for a >= 0.5, t = 2/(2+a), R by 13 Chebyshev terms in u = 2.5t - 1
//    (truncation ~3e-10 relative); a^2 of an f32 a is exact in f64; erf = +-(1 - erfc), erfc(-a) = 2 - erfc(a);
//  - log1p(x) = log(u) - ((u - 1) - x) / u with u = 1 + x rounded (the correction makes it exact to
//    rounding, also where u = 1); log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(-0) = -0;
//  - expm1(x): Taylor series to x^11/11! for |x| < 0.5 (truncation ~1e-11), e^x - 1 elsewhere;
//  - softplus(x) = max(x, 0) + log1p(e^-|x|); logaddexp(a, b) = max(a, b) + log1p(e^-|a-b|), a + ln2 at a tie
//    (so (-inf, -inf) -> -inf and (inf, inf) -> inf), NaN when either is NaN.

const ERF_T0: f64 = 1.1283791670955126;
const ERF_T1: f64 = -0.37612638903183754;
const ERF_T2: f64 = 0.11283791670955126;
const ERF_T3: f64 = -0.026866170645131252;
const ERF_T4: f64 = 0.005223977625442188;
const ERF_T5: f64 = -0.0008548327023450853;
const ERF_T6: f64 = 0.00012055332981789664;
const ERF_T7: f64 = -1.492565035840625e-5;
const ERFC_C0: f64 = 0.4869974896593381;
const ERFC_C1: f64 = 0.24101444861760662;
const ERFC_C2: f64 = 0.03917158019801934;
const ERFC_C3: f64 = 0.0028202013162589696;
const ERFC_C4: f64 = -0.0003190025880142985;
const ERFC_C5: f64 = -7.762458294633769e-5;
const ERFC_C6: f64 = 3.904758903066749e-6;
const ERFC_C7: f64 = 2.10650100538356e-6;
const ERFC_C8: f64 = -1.1719156145292982e-7;
const ERFC_C9: f64 = -6.458612977687303e-8;
const ERFC_C10: f64 = 6.547928118976531e-9;
const ERFC_C11: f64 = 2.017647062307822e-9;
const ERFC_C12: f64 = -3.982401175873017e-10;

/** One step of Clenshaw's recurrence: 2u*b1 - b2 + c (u2 = 2u). */
// @ts-ignore: decorator
@inline function clenshawStep(u2: v128, b1: v128, b2: v128, c: f64): v128 {
  return f64x2.add(f64x2.sub(f64x2.mul(u2, b1), b2), D(c));
}

/** erfc(a) for f64 lanes a >= 0.5 holding f32 values (NaN -> NaN, inf -> 0). */
// @ts-ignore: decorator
@inline function erfcLargeD(a: v128): v128 {
  const t = f64x2.div(D(2.0), f64x2.add(D(2.0), a));
  const u = f64x2.sub(f64x2.mul(D(2.5), t), D(1.0));
  const u2 = f64x2.add(u, u);
  let b2 = D(0.0);
  let b1 = D(ERFC_C12);
  let b = clenshawStep(u2, b1, b2, ERFC_C11);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C10);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C9);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C8);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C7);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C6);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C5);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C4);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C3);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C2);
  b2 = b1;
  b1 = b;
  b = clenshawStep(u2, b1, b2, ERFC_C1);
  const r = f64x2.add(f64x2.sub(f64x2.mul(u, b), b1), D(ERFC_C0));
  const e = expd(f64x2.max(f64x2.neg(f64x2.mul(a, a)), D(-120.0)));
  return f64x2.mul(f64x2.mul(t, e), r);
}

/** x * P(x^2): erf for |x| < 0.5. */
// @ts-ignore: decorator
@inline function erfSmallD(x: v128): v128 {
  const z = f64x2.mul(x, x);
  let p = f64x2.add(D(ERF_T6), f64x2.mul(z, D(ERF_T7)));
  p = f64x2.add(D(ERF_T5), f64x2.mul(z, p));
  p = f64x2.add(D(ERF_T4), f64x2.mul(z, p));
  p = f64x2.add(D(ERF_T3), f64x2.mul(z, p));
  p = f64x2.add(D(ERF_T2), f64x2.mul(z, p));
  p = f64x2.add(D(ERF_T1), f64x2.mul(z, p));
  p = f64x2.add(D(ERF_T0), f64x2.mul(z, p));
  return f64x2.mul(x, p);
}

// @ts-ignore: decorator
@inline function erfD(x: v128): v128 {
  const a = f64x2.abs(x);
  const big = f64x2.sub(D(1.0), erfcLargeD(f64x2.max(a, D(0.5))));
  const signed = v128.or(big, v128.and(x, L(0x8000000000000000)));
  return v128.bitselect(erfSmallD(x), signed, f64x2.lt(a, D(0.5)));
}

// @ts-ignore: decorator
@inline function erfcD(x: v128): v128 {
  const a = f64x2.abs(x);
  const big = erfcLargeD(f64x2.max(a, D(0.5)));
  const side = v128.bitselect(big, f64x2.sub(D(2.0), big), f64x2.gt(x, D(0.0)));
  return v128.bitselect(f64x2.sub(D(1.0), erfSmallD(x)), side, f64x2.lt(a, D(0.5)));
}

/** erf of each lane (f32 result, f64 inside); erf(-0) = -0, erf(+-inf) = +-1. */
// @ts-ignore: decorator
@inline export function erf4(x: v128): v128 {
  return pack32(erfD(lo64(x)), erfD(hi64(x)));
}

/** erfc of each lane (f32 result, f64 inside); erfc(inf) = 0, erfc(-inf) = 2. */
// @ts-ignore: decorator
@inline export function erfc4(x: v128): v128 {
  return pack32(erfcD(lo64(x)), erfcD(hi64(x)));
}

/** log(1 + e) for f64 lanes e in [0, 1] (or NaN). */
// @ts-ignore: decorator
@inline function log1pUnitD(e: v128): v128 {
  const u = f64x2.add(D(1.0), e);
  return f64x2.sub(logd(u), f64x2.div(f64x2.sub(f64x2.sub(u, D(1.0)), e), u));
}

// @ts-ignore: decorator
@inline function log1pD(x: v128): v128 {
  const u = f64x2.add(D(1.0), x);
  let r = f64x2.sub(logd(u), f64x2.div(f64x2.sub(f64x2.sub(u, D(1.0)), x), u));
  r = v128.bitselect(D(-Infinity), r, f64x2.eq(u, D(0.0)));
  r = v128.bitselect(D(Infinity), r, f64x2.eq(x, D(Infinity)));
  r = v128.bitselect(D(NaN), r, v128.not(f64x2.ge(u, D(0.0)))); // x < -1 or NaN
  return v128.bitselect(x, r, f64x2.eq(x, D(0.0))); // keep the sign of zero
}

/** log(1 + x) of each lane; log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(-0) = -0. */
// @ts-ignore: decorator
@inline export function log1p4(x: v128): v128 {
  return pack32(log1pD(lo64(x)), log1pD(hi64(x)));
}

// @ts-ignore: decorator
@inline function expm1D(x: v128): v128 {
  // x * sum_{n=0..10} x^n / (n+1)!
  let p = f64x2.add(D(1.0 / 3628800.0), f64x2.mul(x, D(1.0 / 39916800.0)));
  p = f64x2.add(D(1.0 / 362880.0), f64x2.mul(x, p));
  p = f64x2.add(D(1.0 / 40320.0), f64x2.mul(x, p));
  p = f64x2.add(D(1.0 / 5040.0), f64x2.mul(x, p));
  p = f64x2.add(D(1.0 / 720.0), f64x2.mul(x, p));
  p = f64x2.add(D(1.0 / 120.0), f64x2.mul(x, p));
  p = f64x2.add(D(1.0 / 24.0), f64x2.mul(x, p));
  p = f64x2.add(D(1.0 / 6.0), f64x2.mul(x, p));
  p = f64x2.add(D(0.5), f64x2.mul(x, p));
  p = f64x2.add(D(1.0), f64x2.mul(x, p));
  const small = f64x2.mul(x, p);
  const big = f64x2.sub(expd(f64x2.min(f64x2.max(x, D(-120.0)), D(100.0))), D(1.0));
  return v128.bitselect(small, big, f64x2.lt(f64x2.abs(x), D(0.5)));
}

/** e^x - 1 of each lane; expm1(-inf) = -1, expm1(-0) = -0. */
// @ts-ignore: decorator
@inline export function expm14(x: v128): v128 {
  return pack32(expm1D(lo64(x)), expm1D(hi64(x)));
}

// @ts-ignore: decorator
@inline function softplusD(x: v128): v128 {
  const e = expd(f64x2.max(f64x2.neg(f64x2.abs(x)), D(-120.0)));
  return f64x2.add(f64x2.max(x, D(0.0)), log1pUnitD(e));
}

/** log(1 + e^x) of each lane, without overflow; softplus(inf) = inf, softplus(-inf) = 0. */
// @ts-ignore: decorator
@inline export function softplus4(x: v128): v128 {
  return pack32(softplusD(lo64(x)), softplusD(hi64(x)));
}

// @ts-ignore: decorator
@inline function logaddexpD(a: v128, b: v128): v128 {
  const d = f64x2.neg(f64x2.abs(f64x2.sub(a, b)));
  const e = expd(f64x2.max(d, D(-120.0)));
  const r = f64x2.add(f64x2.max(a, b), log1pUnitD(e));
  return v128.bitselect(f64x2.add(a, D(0.6931471805599453)), r, f64x2.eq(a, b));
}

/** log(e^a + e^b) of each lane pair (see the section header for infinities and NaN). */
// @ts-ignore: decorator
@inline export function logaddexp4(a: v128, b: v128): v128 {
  return pack32(logaddexpD(lo64(a), lo64(b)), logaddexpD(hi64(a), hi64(b)));
}

// ---------------------------------------------------------------------------------------------
// Scalar versions: lane 0 of the vector function (bitwise identical to the SIMD lanes).

// @ts-ignore: decorator
@inline export function expf1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}
// @ts-ignore: decorator
@inline export function logf1(x: f32): f32 {
  return f32x4.extract_lane(log4(f32x4.splat(x)), 0);
}
// @ts-ignore: decorator
@inline export function sinf1(x: f32): f32 {
  return f32x4.extract_lane(sin4(f32x4.splat(x)), 0);
}
// @ts-ignore: decorator
@inline export function cosf1(x: f32): f32 {
  return f32x4.extract_lane(cos4(f32x4.splat(x)), 0);
}
// @ts-ignore: decorator
@inline export function tanhf1(x: f32): f32 {
  return f32x4.extract_lane(tanh4(f32x4.splat(x)), 0);
}
// @ts-ignore: decorator
@inline export function sigmoidf1(x: f32): f32 {
  return f32x4.extract_lane(sigmoid4(f32x4.splat(x)), 0);
}
// @ts-ignore: decorator
@inline export function powf1(a: f32, b: f32): f32 {
  return f32x4.extract_lane(pow4(f32x4.splat(a), f32x4.splat(b)), 0);
}

// ---------------------------------------------------------------------------------------------
// Map kernels over contiguous f32 arrays: SIMD body + scalar tail. `out` may equal the input.

export function map_exp_f32(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, exp4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, expf1(load<f32>(x + o)));
  }
}

export function map_log_f32(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, log4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, logf1(load<f32>(x + o)));
  }
}

export function map_sin_f32(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, sin4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, sinf1(load<f32>(x + o)));
  }
}

export function map_cos_f32(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, cos4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, cosf1(load<f32>(x + o)));
  }
}

export function map_tanh_f32(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, tanh4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, tanhf1(load<f32>(x + o)));
  }
}

export function map_sigmoid_f32(x: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, sigmoid4(v128.load(x + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, sigmoidf1(load<f32>(x + o)));
  }
}

export function map_pow_f32(a: usize, b: usize, out: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, pow4(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, powf1(load<f32>(a + o), load<f32>(b + o)));
  }
}

export function map_pow_scalar_b_f32(a: usize, b: f32, out: usize, n: i32): void {
  const n4 = n & ~3;
  const bv = f32x4.splat(b);
  let i = 0;
  for (; i < n4; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(out + o, pow4(v128.load(a + o), bv));
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    store<f32>(out + o, powf1(load<f32>(a + o), b));
  }
}
