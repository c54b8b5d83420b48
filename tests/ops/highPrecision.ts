/**
 * An independent high-precision reference for the special functions (erf, erfc,
 * log1p, expm1, softplus, logaddexp, gelu): exact rationals and BigInt fixed
 * point with as many bits as the cancellation of each series needs, written
 * from the defining series only (no shared code or coefficient with
 * src/ops/special.ts):
 *  - erf(x) = 2/√π · x · Σ (−1)ⁿ x²ⁿ / (n! (2n+1)), erfc = 1 − erf (the bits cover the cancellation);
 *  - π by Machin's formula, √ by integer Newton iteration;
 *  - eˣ − 1 = x · Σ xⁿ⁻¹ / n!;
 *  - log(1 + y) = e · ln 2 + 2 atanh(s), 1 + y = 2ᵉ v, s = (v − 1)/(v + 1), ln 2 = 2 atanh(1/3);
 *  - softplus(x) = log1p(eˣ), logaddexp(a, b) = max + log1p(e^−|a−b|), gelu(x) = x/2 · (1 + erf(x/√2)).
 * Every result is rounded to the nearest double from the exact rational num/den.
 */

/** An exact rational n/d (d > 0). */
export interface Q {
  readonly n: bigint;
  readonly d: bigint;
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** The double x as an exact rational. */
export function rational(x: number): Q {
  if (!Number.isFinite(x)) throw new Error(`rational: ${x} is not finite`);
  if (x === 0) return { n: 0n, d: 1n };
  F64[0] = x;
  const bits = U64[0]!;
  const sign = bits >> 63n ? -1n : 1n;
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = exp === 0 ? frac : frac | (1n << 52n);
  const e = (exp === 0 ? 1 : exp) - 1075; // x = mant · 2^e
  return e >= 0 ? { n: sign * (mant << BigInt(e)), d: 1n } : { n: sign * mant, d: 1n << BigInt(-e) };
}

const bitLength = (v: bigint): number => (v < 0n ? -v : v).toString(2).length;

/** v · 2^e for v in [1, 2) and a normal result, exactly (the power applied in two steps where one would leave the range). */
const scale2 = (v: number, e: number): number =>
  e < -1000 ? v * 2 ** (e + 200) * 2 ** -200 : e > 1000 ? v * 2 ** (e - 200) * 2 ** 200 : v * 2 ** e;

/** n/d rounded to a double (to within about 2^-64 relative before the final rounding). */
export function toDouble(n: bigint, d: bigint): number {
  if (d < 0n) return toDouble(-n, -d);
  if (n === 0n) return 0;
  const neg = n < 0n;
  const a = neg ? -n : n;
  const shift = 66 - (bitLength(a) - bitLength(d)); // quotient of 65 to 67 bits
  const qt = shift >= 0 ? (a << BigInt(shift)) / d : a / (d << BigInt(-shift));
  const lead = bitLength(qt);
  const e = lead - 1 - shift; // the value is about 2^e
  let v: number;
  if (e < -1022) {
    // subnormal: round once at the subnormal grid
    const drop = lead - (e + 1074 + 1);
    const m = drop > 0 ? Number(qt >> BigInt(drop)) + (((qt >> BigInt(drop - 1)) & 1n) === 1n ? 1 : 0) : Number(qt);
    v = m * 2 ** -1074;
  } else {
    const top = qt >> BigInt(lead - 64); // 64 bits: Number rounds it to 53 once
    v = scale2(Number(top) * 2 ** -63, e);
  }
  return neg ? -v : v;
}

const isqrt = (v: bigint): bigint => {
  if (v < 2n) return v;
  let x = 1n << BigInt(Math.ceil(bitLength(v) / 2));
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
};

/** Σ (−1)ʲ / ((2j+1) k^(2j+1)) · 2^F: atan(1/k) in fixed point. */
function atanInv(k: bigint, F: number): bigint {
  let term = (1n << BigInt(F)) / k;
  const k2 = k * k;
  let sum = 0n;
  for (let j = 0n; term !== 0n; j++) {
    sum += (j % 2n === 0n ? 1n : -1n) * (term / (2n * j + 1n));
    term /= k2;
  }
  return sum;
}

const piCache = new Map<number, bigint>();
/** π · 2^F (Machin: π = 16 atan(1/5) − 4 atan(1/239)), to within a few units. */
function pi(F: number): bigint {
  let p = piCache.get(F);
  if (p === undefined) {
    const G = F + 32;
    p = (16n * atanInv(5n, G) - 4n * atanInv(239n, G)) >> 32n;
    piCache.set(F, p);
  }
  return p;
}

/** 2/√π · 2^F. */
const twoOverSqrtPi = (F: number): bigint => (1n << BigInt(2 * F + 1)) / isqrt(pi(F) << BigInt(F));
/** √(2/π) · 2^F. */
const sqrtTwoOverPi = (F: number): bigint => isqrt((1n << BigInt(3 * F + 1)) / pi(F));

/** Σ (−1)ⁿ zⁿ / (n! (2n+1)) · 2^F for the rational z ≥ 0. */
function erfSeries(z: Q, F: number): bigint {
  let term = 1n << BigInt(F);
  let sum = term;
  for (let n = 1n; term !== 0n; n++) {
    term = (term * z.n) / (z.d * n);
    sum += (n % 2n === 0n ? 1n : -1n) * (term / (2n * n + 1n));
  }
  return sum;
}

/** Fixed-point bits for a series over z = x² that cancels down to e^−z (and an erfc of that size). */
const bitsFor = (z: number): number => Math.ceil(2.9 * z) + 200;

/** erf(x) as an exact rational's rounding: 2/√π · x · Σ …, and erfc(x) = 1 − erf(x). */
export function erfRef(x: number): { erf: number; erfc: number } {
  if (x === 0) return { erf: x, erfc: 1 };
  const q = rational(x);
  const F = bitsFor(x * x);
  const S = erfSeries({ n: q.n * q.n, d: q.d * q.d }, F);
  const E = (S * twoOverSqrtPi(F)) >> BigInt(F); // erf(x)/x · 2^F
  const den = q.d << BigInt(F);
  return { erf: toDouble(E * q.n, den), erfc: toDouble(den - E * q.n, den) };
}

/** gelu(x) = x/2 · (1 + erf(x/√2)) = x/2 · (1 + √(2/π) · x · Σ (−1)ⁿ (x²/2)ⁿ / (n! (2n+1))). */
export function geluRef(x: number): number {
  if (x === 0) return 0;
  const q = rational(x);
  const F = bitsFor((x * x) / 2);
  const S = erfSeries({ n: q.n * q.n, d: 2n * q.d * q.d }, F);
  const C = (S * sqrtTwoOverPi(F)) >> BigInt(F);
  const onePlusErf = ((1n << BigInt(F)) * q.d + C * q.n) * q.n; // (1 + erf) · x · 2^F · d²
  return toDouble(onePlusErf, (2n * q.d * q.d) << BigInt(F));
}

/** eˣ − 1 as a rational (fixed point over 2^F): x · Σ xⁿ⁻¹ / n!. */
function expm1Q(x: number, F: number): Q {
  const q = rational(x);
  let term = 1n << BigInt(F);
  let sum = term;
  for (let n = 2n; term !== 0n; n++) {
    term = (term * q.n) / (q.d * n);
    sum += term;
  }
  return { n: sum * q.n, d: q.d << BigInt(F) };
}

/** Bits for e^x over |x| ≤ 750: the terms grow to about e^|x|, the result shrinks to e^x. */
const expBits = (x: number): number => Math.ceil(2.9 * Math.abs(x)) + 200;

/** eˣ − 1, rounded. */
export function expm1Ref(x: number): number {
  if (x === 0) return x;
  const r = expm1Q(x, expBits(x));
  return toDouble(r.n, r.d);
}

/** eˣ as a rational. */
function expQ(x: number): Q {
  const r = expm1Q(x, expBits(x));
  return { n: r.n + r.d, d: r.d };
}

/** 2 Σ s^(2k) / (2k+1) · 2^F for the rational s: 2 atanh(s) / s. */
function atanhOverS(s: Q, F: number): bigint {
  const s2 = { n: s.n * s.n, d: s.d * s.d };
  let term = 2n << BigInt(F);
  let sum = term;
  for (let k = 1n; term !== 0n; k++) {
    term = (term * s2.n) / s2.d;
    sum += term / (2n * k + 1n);
  }
  return sum;
}

/** log(1 + y) as a rational for a rational y > −1. */
function log1pQ(y: Q, F: number): Q {
  const u = { n: y.d + y.n, d: y.d };
  if (u.n <= 0n) throw new Error('log1pQ: 1 + y must be positive');
  // 1 + y = 2^e · v with v in about [0.7, 1.4]
  let e = bitLength(u.n) - bitLength(u.d);
  const scaled = (k: number): Q => (k >= 0 ? { n: u.n, d: u.d << BigInt(k) } : { n: u.n << BigInt(-k), d: u.d });
  let v = scaled(e);
  while (v.n * 10n > v.d * 14n) v = scaled(++e);
  while (v.n * 10n < v.d * 7n) v = scaled(--e);
  const s = { n: v.n - v.d, d: v.n + v.d };
  const T = atanhOverS(s, F); // 2 atanh(s)/s · 2^F
  const ln2 = atanhOverS({ n: 1n, d: 3n }, F) / 3n; // 2 atanh(1/3) · 2^F
  return { n: BigInt(e) * ln2 * s.d + s.n * T, d: s.d << BigInt(F) };
}

/** log(1 + y), rounded. */
export function log1pRef(y: number): number {
  if (y === 0) return y;
  const r = log1pQ(rational(y), 200);
  return toDouble(r.n, r.d);
}

/** log(1 + eˣ), rounded. */
export function softplusRef(x: number): number {
  const F = expBits(x);
  const r = log1pQ(expQ(x), F);
  return toDouble(r.n, r.d);
}

/** log(eᵃ + eᵇ) = max + log1p(e^−|a−b|), rounded once. */
export function logaddexpRef(a: number, b: number): number {
  const m = rational(Math.max(a, b));
  const d = Math.abs(a - b); // only a check: the exact difference is used below
  const qa = rational(a);
  const qb = rational(b);
  const diff = { n: -(qa.n * qb.d - qb.n * qa.d) * (a > b ? 1n : -1n), d: qa.d * qb.d }; // −|a − b|, exact
  const F = expBits(d);
  const e = expQRational(diff, F);
  const l = log1pQ(e, F);
  return toDouble(m.n * l.d + l.n * m.d, m.d * l.d);
}

/** e^q for a rational q ≤ 0, as a rational over 2^F. */
function expQRational(q: Q, F: number): Q {
  let term = 1n << BigInt(F);
  let sum = term;
  for (let n = 1n; term !== 0n; n++) {
    term = (term * q.n) / (q.d * n);
    sum += term;
  }
  return { n: sum, d: 1n << BigInt(F) };
}
