/**
 * Special functions for the elementwise primitives erf, erfc, log1p, expm1,
 * softplus and logaddexp: the double-precision scalar kernels of the CPU
 * backend and the single-precision WGSL helpers of the WebGPU backend (the
 * wasm backend has its own copy in src/backends/wasm/assembly/math.ts).
 *
 * erf / erfc in double precision (about 1e-16 relative, measured against a
 * BigInt reference in tests/ops/erf-accuracy.test.ts):
 *  - |x| < 0.5: erf(x) = x · P(x²) with P the Taylor series
 *    2/√π · Σ (−1)ⁿ x²ⁿ / (n! (2n+1)) to n = 12 (truncation below 1e-17);
 *    erfc = 1 − erf (erfc ≥ 0.47 there, so no cancellation).
 *  - |x| ≥ 0.5: erfc(a) = t · e^(−a²) · R(t) with t = 2 / (2 + a) ∈ (0, 0.8]
 *    and R(t) = erfc(a) e^(a²) / t, a smooth function on [0, 0.8] (R(0) = 1/(2√π)),
 *    given by its Chebyshev series in u = 2.5t − 1 (25 terms, truncation below
 *    4e-17 relative; coefficients computed by Chebyshev interpolation at 48
 *    points in 50-digit arithmetic). e^(−a²) is computed from the exact
 *    product a² = hi + lo (Dekker's split), so the large exponent loses nothing;
 *    erf = ±(1 − erfc); erfc(−a) = 2 − erfc(a).
 * The f32 paths (WGSL here, wasm) use the leading 8 Taylor and 13 Chebyshev
 * terms (truncation about 2e-11 and 3e-10 relative).
 */

/** 2/√π · (−1)ⁿ / (n! (2n+1)), n = 0..12: erf(x) = x · Σ cₙ x²ⁿ. */
export const ERF_TAYLOR: readonly number[] = [
  1.1283791670955126, -0.37612638903183754, 0.11283791670955126, -0.026866170645131252, 0.005223977625442188, -0.0008548327023450853,
  0.00012055332981789664, -1.492565035840625e-5, 1.6462114365889246e-6, -1.6365844691234924e-7, 1.4807192815879218e-8,
  -1.2290555301717926e-9, 9.422759064650411e-11,
];

/** Chebyshev coefficients of R(t) = erfc(a) e^(a²) / t, t = 2/(2+a), in u = 2.5t − 1 ∈ [−1, 1] (a ≥ 0.5). */
export const ERFC_CHEBYSHEV: readonly number[] = [
  0.4869974896593381, 0.24101444861760662, 0.03917158019801934, 0.0028202013162589696, -0.0003190025880142985, -7.762458294633769e-5,
  3.904758903066749e-6, 2.10650100538356e-6, -1.1719156145292982e-7, -6.458612977687303e-8, 6.547928118976531e-9, 2.017647062307822e-9,
  -3.982401175873017e-10, -4.9761436210290495e-11, 2.213944839159887e-11, -1.7358623528113927e-13, -1.026209787629388e-12,
  1.4448991184132368e-13, 3.158980053643002e-14, -1.2428959971894012e-14, 3.0295830930074995e-16, 6.422214347909852e-16,
  -1.3294242674635553e-16, -1.2796905792827282e-17, 1.0532288760211047e-17,
];

/** The Taylor and Chebyshev terms the single-precision kernels use. */
export const F32_TAYLOR_TERMS = 8;
/** The Chebyshev terms of R the single-precision kernels use. */
export const F32_CHEBYSHEV_TERMS = 13;

/** Beyond this |x| erfc(x) underflows to 0 in double precision (erfc(27.3) ≈ 1e-325). */
const ERFC_UNDERFLOW = 27.3;
/** Beyond this |x| erf(x) rounds to ±1 in double precision (1 − erf(6) ≈ 2e-17). */
const ERF_ONE = 6;

/** Σ cₙ zⁿ by Horner's rule. */
function horner(c: readonly number[], z: number): number {
  let p = c[c.length - 1]!;
  for (let i = c.length - 2; i >= 0; i--) p = p * z + c[i]!;
  return p;
}

/** Σ cₖ Tₖ(u) by Clenshaw's recurrence. */
function clenshaw(c: readonly number[], u: number): number {
  let b1 = 0;
  let b2 = 0;
  for (let k = c.length - 1; k >= 1; k--) {
    const b = 2 * u * b1 - b2 + c[k]!;
    b2 = b1;
    b1 = b;
  }
  return u * b1 - b2 + c[0]!;
}

/** 2^27 + 1: Veltkamp's constant that splits a double into two halves of 26 bits. */
const SPLIT = 134217729;

/** e^(−a²) for 0 ≤ a ≤ 27.3 to about 1 ulp: a² = hi + lo exactly (Dekker), e^(−a²) = e^(−hi) · (1 − lo). */
function expNegSquare(a: number): number {
  const hi = a * a;
  const c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  const lo = ah * ah - hi + 2 * ah * al + al * al;
  return Math.exp(-hi) * (1 - lo);
}

/** erfc(a) for a ≥ 0.5 (0 past the underflow bound, NaN for NaN). */
function erfcLarge(a: number): number {
  if (a > ERFC_UNDERFLOW) return 0;
  const t = 2 / (2 + a);
  return t * expNegSquare(a) * clenshaw(ERFC_CHEBYSHEV, 2.5 * t - 1);
}

/** The error function erf(x) = 2/√π ∫₀ˣ e^(−s²) ds in double precision (erf(−0) = −0, erf(±∞) = ±1). */
export function erf64(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < 0.5) return x * horner(ERF_TAYLOR, x * x);
  if (a >= ERF_ONE) return x > 0 ? 1 : -1;
  const r = 1 - erfcLarge(a);
  return x > 0 ? r : -r;
}

/** The complementary error function erfc(x) = 1 − erf(x) without cancellation (erfc(∞) = 0, erfc(−∞) = 2). */
export function erfc64(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < 0.5) return 1 - x * horner(ERF_TAYLOR, x * x);
  return x > 0 ? erfcLarge(a) : 2 - erfcLarge(a);
}

/** softplus(x) = log(1 + eˣ) without overflow: x + log1p(e^−x) for x > 0, else log1p(eˣ). */
export function softplus64(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * logaddexp(a, b) = log(eᵃ + eᵇ) = max + log1p(e^−|a−b|); a + ln 2 at a tie (so
 * logaddexp(−∞, −∞) = −∞ and logaddexp(∞, ∞) = ∞); NaN when either is NaN.
 */
export function logaddexp64(a: number, b: number): number {
  if (a === b) return a + Math.LN2;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
}

const lit = (v: number): string => {
  const s = String(Math.fround(v));
  return /[.e]/.test(s) ? s : `${s}.0`;
};

/** Horner's rule over `z` as a WGSL expression. */
const hornerWgsl = (c: readonly number[], z: string): string =>
  c.slice(0, -1).reduceRight((acc, ci) => `${lit(ci)} + ${z} * (${acc})`, lit(c[c.length - 1]!));

/** Clenshaw's recurrence over `u` as WGSL statements, leaving the sum in `r`. */
const clenshawWgsl = (c: readonly number[]): string => {
  const lines = ['  var b1 = 0.0;', '  var b2 = 0.0;', '  var b = 0.0;'];
  for (let k = c.length - 1; k >= 1; k--) lines.push(`  b = 2.0 * u * b1 - b2 + ${lit(c[k]!)};`, '  b2 = b1;', '  b1 = b;');
  lines.push(`  let r = u * b1 - b2 + ${lit(c[0]!)};`);
  return lines.join('\n');
};

/** log1p(s) for s = x / (2 + x) given: 2 atanh(s) = 2 Σ s^(2k+1) / (2k+1), k ≤ 8 (|s| ≤ 1/3: below 2e-9 relative). */
const ATANH_TERMS = Array.from({ length: 9 }, (_, k) => 2 / (2 * k + 1));

/**
 * The WGSL helpers of the special-function primitives (one prelude shared by all of
 * them, so a fused kernel includes it once): erf_f, erfc_f, log1p_f, expm1_f,
 * softplus_f, logaddexp_f, in f32.
 *  - erf/erfc: the Taylor and Chebyshev forms above with e^(−a²) = e^(−h²) · e^((h−a)(h+a)),
 *    h = a with 12 mantissa bits (h² exact);
 *  - every e^y through exp_acc_f: 2^k · e^r with y = k ln 2 + r (Cody-Waite: ln 2 as a 9-bit and a small part),
 *    since WGSL allows exp an error of 3 + 2|y| ulp;
 *  - log1p: 2 atanh(x / (2 + x)) by its series on [−0.5, 1] (WGSL's log has only an absolute error bound
 *    near 1), log(1 + x) elsewhere;
 *  - expm1: the Taylor series to x⁹/9! on |x| < 0.5, eˣ − 1 elsewhere;
 *  - softplus and logaddexp: max + log1p(e^−|d|), with the series (e^−|d| ≤ 1); logaddexp: a + ln 2 at ties.
 */
export const SPECIAL_WGSL = `
fn exp_acc_f(x: f32) -> f32 {
  let xc = clamp(x, -104.0, 89.0);
  let k = round(xc * 1.4426950408889634);
  let r = (xc - k * 0.693359375) - k * -2.12194440054690583e-4;
  let ki = i32(k);
  let k1 = ki / 2;
  let v = ldexp(ldexp(exp(r), k1), ki - k1);
  let ranged = select(select(v, f32_inf(), x >= 88.72284), 0.0, x < -103.98);
  return select(ranged, x, is_nan(x));
}
fn erfc_large_f(a0: f32) -> f32 {
  let a = min(a0, 10.5);
  let t = 2.0 / (2.0 + a);
  let u = 2.5 * t - 1.0;
${clenshawWgsl(ERFC_CHEBYSHEV.slice(0, F32_CHEBYSHEV_TERMS))}
  let h = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  let e = exp_acc_f(-(h * h)) * exp((h - a) * (h + a));
  return select(t * e * r, 0.0, a0 > 10.5);
}
fn erf_small_f(x: f32) -> f32 {
  let z = x * x;
  return x * (${hornerWgsl(ERF_TAYLOR.slice(0, F32_TAYLOR_TERMS), 'z')});
}
fn erf_f(x: f32) -> f32 {
  let a = abs(x);
  if (is_nan(x) || a < 0.5) {
    return erf_small_f(x);
  }
  let r = 1.0 - erfc_large_f(a);
  return select(-r, r, x > 0.0);
}
fn erfc_f(x: f32) -> f32 {
  let a = abs(x);
  if (is_nan(x) || a < 0.5) {
    return 1.0 - erf_small_f(x);
  }
  let r = erfc_large_f(a);
  return select(2.0 - r, r, x > 0.0);
}
fn log1p_series_f(x: f32) -> f32 {
  let s = x / (2.0 + x);
  let z = s * s;
  return s * (${hornerWgsl(ATANH_TERMS, 'z')});
}
fn log1p_f(x: f32) -> f32 {
  if (x >= -0.5 && x <= 1.0) {
    return log1p_series_f(x);
  }
  if (x <= -1.0) {
    return select(f32_nan(), -f32_inf(), x == -1.0);
  }
  return log(1.0 + x);
}
fn expm1_f(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    return x * (${hornerWgsl(
      Array.from({ length: 9 }, (_, n) => 1 / factorial(n + 1)),
      'x',
    )});
  }
  return exp_acc_f(x) - 1.0;
}
fn softplus_f(x: f32) -> f32 {
  let l = log1p_series_f(exp_acc_f(-abs(x)));
  return select(l, x + l, x > 0.0);
}
fn logaddexp_f(a: f32, b: f32) -> f32 {
  if (a == b) {
    return a + 0.6931471805599453;
  }
  if (is_nan(a) || is_nan(b)) {
    return f32_nan();
  }
  return max(a, b) + log1p_series_f(exp_acc_f(-abs(a - b)));
}`;

function factorial(n: number): number {
  let f = 1;
  for (let k = 2; k <= n; k++) f *= k;
  return f;
}
