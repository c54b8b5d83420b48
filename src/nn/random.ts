/**
 * Randomness: splittable, counter-based PRNG keys (Threefry-2x32, 20 rounds).
 *
 * A key is an immutable value `{ k0, k1 }` (two unsigned 32-bit words,
 * frozen). Every random number is a pure function of a key and a counter,
 * computed on the host with Uint32 arithmetic and then uploaded to the current
 * default backend, so the same key gives the same numbers on every backend and
 * every run. Counter domains keep the uses of one key apart: random bits use
 * counters (0, i), `split` uses (1, i) and `foldIn` uses (2, data).
 */
import type { DType } from '../tensor/dtype.js';
import { fmt, sizeOf, type Shape } from '../tensor/shape.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { backendFor, fromTypedArray } from '../ops/creation.js';
import { add } from '../ops/elementwise.js';
import { argmax } from '../ops/reduce.js';

/** An immutable PRNG key: two unsigned 32-bit words. */
export interface Key {
  readonly kind: 'prng-key';
  readonly k0: number;
  readonly k1: number;
}

const makeKey = (k0: number, k1: number): Key => Object.freeze({ kind: 'prng-key' as const, k0: k0 >>> 0, k1: k1 >>> 0 });

/** Whether a value is a PRNG key. */
export const isKey = (x: unknown): x is Key => typeof x === 'object' && x !== null && (x as Key).kind === 'prng-key';

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
const ROT = [13, 15, 26, 6, 17, 29, 16, 24] as const;

/** Threefry-2x32 with 20 rounds: encrypts the counter (c0, c1) under the key (k0, k1). */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]!) >>> 0;
  let x1 = (c1 + ks[1]!) >>> 0;
  for (let block = 0; block < 5; block++) {
    for (let r = 0; r < 4; r++) {
      x0 = (x0 + x1) >>> 0;
      x1 = rotl(x1, ROT[(block % 2) * 4 + r]!) ^ x0;
    }
    const s = block + 1;
    x0 = (x0 + ks[s % 3]!) >>> 0;
    x1 = (x1 + ks[(s + 1) % 3]! + s) >>> 0;
  }
  return [x0, x1];
}

/** A key from an integer seed (any safe integer; the high and low 32-bit words both count). */
export function key(seed: number): Key {
  if (!Number.isSafeInteger(seed)) throw new ValueError('random.key', `seed must be a safe integer, got ${seed}`);
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  return makeKey(hi, seed >>> 0);
}

/** Thrown when random bits are drawn from a {@link probeKey}: the function being traced is random. */
export class KeyDrawn extends Error {
  constructor() {
    super('random bits were drawn from a probe key (the traced function is random)');
    this.name = 'KeyDrawn';
  }
}

/** A key without bits: splitting or folding it gives probe keys; drawing from it (or reading its words) throws KeyDrawn. */
class ProbeKey {
  readonly kind = 'prng-key' as const;
  get k0(): number {
    throw new KeyDrawn();
  }
  get k1(): number {
    throw new KeyDrawn();
  }
}

/**
 * A key that stands for "any key" while a training step is traced by jit: a
 * model that only passes keys around (serial splits its key among its layers)
 * traces fine, one that draws random bits (dropout) throws KeyDrawn, and is
 * then run op by op with real keys.
 */
export const probeKey = (): Key => Object.freeze(new ProbeKey());

const isProbe = (k: Key): boolean => k instanceof ProbeKey;

function checkKey(op: string, k: unknown): asserts k is Key {
  if (!isKey(k)) throw new ValueError(op, `expected a PRNG key (from random.key(seed)), got ${typeof k}`);
}

/** `n` new independent keys derived from `k` (default 2). */
export function split(k: Key, n = 2): Key[] {
  checkKey('random.split', k);
  if (!Number.isInteger(n) || n < 0) throw new ValueError('random.split', `n must be a non-negative integer, got ${n}`);
  if (isProbe(k)) return Array.from({ length: n }, probeKey);
  return Array.from({ length: n }, (_, i) => {
    const [a, b] = threefry2x32(k.k0, k.k1, 1, i);
    return makeKey(a, b);
  });
}

/** A new key mixing `data` (a non-negative 32-bit integer, e.g. a step number) into `k`. */
export function foldIn(k: Key, data: number): Key {
  checkKey('random.foldIn', k);
  if (!Number.isInteger(data) || data < 0 || data > 0xffffffff)
    throw new ValueError('random.foldIn', `data must be an integer in [0, 2^32), got ${data}`);
  if (isProbe(k)) return probeKey();
  const [a, b] = threefry2x32(k.k0, k.k1, 2, data);
  return makeKey(a, b);
}

/** `n` random 32-bit words (host-side). */
export function randomBits(k: Key, n: number): Uint32Array {
  checkKey('random.bits', k);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i += 2) {
    const [a, b] = threefry2x32(k.k0, k.k1, 0, i >>> 1);
    out[i] = a;
    if (i + 1 < n) out[i + 1] = b;
  }
  return out;
}

/** `n` uniform doubles in [0, 1) with 32 random bits each (host-side). */
export function uniformArray(k: Key, n: number): Float64Array {
  const bits = randomBits(k, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = bits[i]! / 4294967296;
  return out;
}

/** `n` standard normal doubles by Box–Muller (host-side). */
export function normalArray(k: Key, n: number): Float64Array {
  const u = uniformArray(k, n + (n % 2));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u[i]!)); // 1 - u in (0, 1]
    const th = 2 * Math.PI * u[i + 1]!;
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** erfc(t) in double precision: 1 − erf by its positive series below 3, the continued fraction of erfc above. */
function erfc(t: number): number {
  if (Number.isNaN(t)) return Number.NaN;
  if (t < 0) return 2 - erfc(-t);
  if (t < 3) {
    // erf(t) = 2/√π · e^(−t²) · Σ (2t²)ⁿ t / (1·3·…·(2n+1)): all terms positive
    let term = t;
    let total = t;
    for (let n = 1; term > 1e-17 * total; n++) {
      term *= (2 * t * t) / (2 * n + 1);
      total += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-t * t) * total;
  }
  if (t > 27) return 0; // below the smallest double
  // erfc(t) = e^(−t²)/√π · 1/(t + (1/2)/(t + (2/2)/(t + (3/2)/(t + …)))), evaluated from the back
  let f = t;
  for (let k = 80; k >= 1; k--) f = t + k / 2 / f;
  return Math.exp(-t * t) / Math.sqrt(Math.PI) / f;
}

/** The standard normal CDF Φ(x) = erfc(−x/√2)/2, with full relative precision in the lower tail. */
export const normalCdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);

/**
 * The standard normal quantile Φ⁻¹(p) for p in [0, 1]: Acklam's rational approximation refined by two Halley steps on
 * {@link normalCdf} (full double precision; ±∞ at 0 and 1).
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.928510446969, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  let x: number;
  if (p < 0.02425) x = tail(Math.sqrt(-2 * Math.log(p)));
  else if (p > 1 - 0.02425) x = -tail(Math.sqrt(-2 * Math.log1p(-p)));
  else {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  }
  for (let i = 0; i < 2; i++) {
    // Halley's step on Φ(x) − p (upper half through the complement, which keeps its precision)
    const e = p > 0.5 ? 1 - p - normalCdf(-x) : normalCdf(x) - p;
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
    if (!Number.isFinite(u)) break;
    x -= u / (1 + (x * u) / 2);
  }
  return x;
}

/**
 * `n` standard normal doubles truncated to [lower, upper] (host-side), by the inverse CDF: one uniform u per number,
 * z = Φ⁻¹(Φ(lower) + u·(Φ(upper) − Φ(lower))), the upper half computed through the complement so that both tails keep
 * their precision; clamped to [lower, upper] against the last rounding. Where the interval's probability underflows
 * (beyond about 37 standard deviations) the tail is sampled as its exponential limit, lower + Exp(lower).
 */
export function truncatedNormalArray(k: Key, n: number, lower = -2, upper = 2): Float64Array {
  if (!(lower < upper)) throw new ValueError('random.truncatedNormal', `lower must be below upper, got lower ${lower} and upper ${upper}`);
  const u = uniformArray(k, n);
  const out = new Float64Array(n);
  const pl = normalCdf(lower);
  const qu = normalCdf(-upper);
  // the interval's probability, without cancellation in either tail
  const mass = lower >= 0 ? normalCdf(-lower) - qu : upper <= 0 ? normalCdf(upper) - pl : 1 - pl - qu;
  for (let i = 0; i < n; i++) {
    const v = u[i]! + 2 ** -33; // the midpoint of the 32-bit cell: strictly inside (0, 1)
    let z: number;
    if (mass > 1e-300) {
      const p = pl + v * mass;
      z = p <= 0.5 ? normalQuantile(p) : -normalQuantile(qu + (1 - v) * mass);
    } else if (lower >= 0) z = lower - Math.log1p(-v * -Math.expm1(-lower * (upper - lower))) / lower;
    else z = upper - Math.log1p(-v * -Math.expm1(upper * (upper - lower))) / upper;
    out[i] = Math.min(upper, Math.max(lower, z));
  }
  return out;
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates, host-side). */
export function permutationArray(k: Key, n: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new ValueError('random.permutation', `n must be a non-negative integer, got ${n}`);
  const u = uniformArray(k, n);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Options of the random tensor samplers: the float dtype (default f32). */
export interface RandomOptions {
  dtype?: DType;
}

function floatDtype(op: string, d: DType | undefined): 'f32' | 'f64' {
  const dt = d ?? 'f32';
  if (dt !== 'f32' && dt !== 'f64') throw new ValueError(op, `dtype must be f32 or f64, got ${dt}`);
  return dt;
}

const upload = (vals: Float64Array, shape: Shape, dtype: 'f32' | 'f64'): Tensor =>
  fromTypedArray(dtype === 'f32' ? Float32Array.from(vals) : vals, shape, dtype, backendFor(undefined, dtype));

/** Uniform numbers in [minval, maxval) of the given shape. */
export function uniform(k: Key, shape: Shape, opts: RandomOptions & { minval?: number; maxval?: number } = {}): Tensor {
  checkKey('random.uniform', k);
  const dt = floatDtype('random.uniform', opts.dtype);
  const lo = opts.minval ?? 0;
  const hi = opts.maxval ?? 1;
  const u = uniformArray(k, sizeOf(shape));
  for (let i = 0; i < u.length; i++) u[i] = lo + (hi - lo) * u[i]!;
  if (dt === 'f32') for (let i = 0; i < u.length; i++) if (Math.fround(u[i]!) >= hi && hi > lo) u[i] = lo; // keep [lo, hi) after rounding
  return upload(u, shape, dt);
}

/** Normal numbers with the given mean and standard deviation (default 0, 1). */
export function normal(k: Key, shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkKey('random.normal', k);
  const dt = floatDtype('random.normal', opts.dtype);
  const m = opts.mean ?? 0;
  const s = opts.std ?? 1;
  const z = normalArray(k, sizeOf(shape));
  for (let i = 0; i < z.length; i++) z[i] = m + s * z[i]!;
  return upload(z, shape, dt);
}

/** Options of {@link truncatedNormal}: the bounds in standard deviations (default ±2), the mean and the standard deviation. */
export interface TruncatedNormalOptions extends RandomOptions {
  lower?: number;
  upper?: number;
  mean?: number;
  std?: number;
}

/**
 * Normal numbers truncated to [mean + std·lower, mean + std·upper]: a standard normal truncated to [lower, upper]
 * (default [−2, 2]), then scaled by `std` (default 1) and shifted by `mean` (default 0). Sampled by the inverse CDF, one
 * uniform per number, so the result is a pure function of the key. The standard deviation of the default truncation is
 * 0.87962566103423978 (the variance-scaling initialisers divide by it).
 */
export function truncatedNormal(k: Key, shape: Shape, opts: TruncatedNormalOptions = {}): Tensor {
  checkKey('random.truncatedNormal', k);
  const dt = floatDtype('random.truncatedNormal', opts.dtype);
  const m = opts.mean ?? 0;
  const s = opts.std ?? 1;
  if (!(s >= 0) || !Number.isFinite(s)) throw new ValueError('random.truncatedNormal', `std must be finite and ≥ 0, got ${s}`);
  const z = truncatedNormalArray(k, sizeOf(shape), opts.lower ?? -2, opts.upper ?? 2);
  for (let i = 0; i < z.length; i++) z[i] = m + s * z[i]!;
  return upload(z, shape, dt);
}

/** 1 with probability p, else 0, as a float tensor (f32 default). */
export function bernoulli(k: Key, p: number, shape: Shape, opts: RandomOptions = {}): Tensor {
  checkKey('random.bernoulli', k);
  if (!(p >= 0 && p <= 1)) throw new ValueError('random.bernoulli', `p must be in [0, 1], got ${p}`);
  const dt = floatDtype('random.bernoulli', opts.dtype);
  const u = uniformArray(k, sizeOf(shape));
  for (let i = 0; i < u.length; i++) u[i] = u[i]! < p ? 1 : 0;
  return upload(u, shape, dt);
}

/** A random permutation of 0..n-1 as an i32 tensor. */
export function permutation(k: Key, n: number): Tensor {
  checkKey('random.permutation', k);
  return fromTypedArray(permutationArray(k, n), [n], 'i32');
}

/**
 * Samples class indices (i32) from unnormalised log-probabilities `logits`
 * [..., C] by the Gumbel-max trick: argmax(logits + Gumbel noise). The noise
 * is made on the host, the argmax runs on the logits' backend.
 */
export function categorical(k: Key, logits: Tensor): Tensor {
  checkKey('random.categorical', k);
  if (logits.ndim < 1) throw new ValueError('random.categorical', `logits need a class axis, got ${fmt(logits.shape)}`);
  if (logits.dtype !== 'f32' && logits.dtype !== 'f64')
    throw new ValueError('random.categorical', `logits must be float, got ${logits.dtype}`);
  const u = uniformArray(k, logits.size);
  const g = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) g[i] = -Math.log(-Math.log(u[i]! * (1 - 2 ** -32) + 2 ** -33));
  return argmax(add(logits, upload(g, logits.shape, logits.dtype)), -1);
}

/** The two words of a key as an i32-free plain array (for printing and checkpoints). */
export const keyData = (k: Key): [number, number] => [k.k0, k.k1];
/** A key from its two words (the inverse of {@link keyData}). */
export const keyFromData = (d: readonly [number, number]): Key => makeKey(d[0], d[1]);
