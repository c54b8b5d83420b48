/**
 * Numeric helpers for the laws: reading tensors as f64 arrays, inner
 * products, tolerant comparison that finds the largest error, and a small
 * seeded PRNG for tangents and cotangents (so a failure replays from a seed).
 */
import * as ct from '../src/index.js';
import { mulberry32 } from '../src/core/seededRandom.js';
import type { Worst } from './result.js';

/** Tolerances: |a - e| ≤ atol + rtol · max(|a|, |e|, scale). */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/** The default tolerance of f64 comparisons. */
export const F64_TOL: Tolerance = { rtol: 1e-6, atol: 1e-8 };
/** The default tolerance of f32 comparisons. */
export const F32_TOL: Tolerance = { rtol: 2e-4, atol: 1e-5 };

/** A tensor's values as a plain array (CPU backend). */
export const valuesOf = (t: ct.Tensor): number[] => Array.from(t.dataSync());

/** Σᵢ aᵢ bᵢ. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The Euclidean norm √(Σᵢ aᵢ²). */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** maxᵢ |aᵢ| (0 for an empty array). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The multi-index of flat (row-major) position `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  let r = i;
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = r % shape[k]!;
    r = Math.floor(r / shape[k]!);
  }
  return idx;
}

/**
 * Compare `actual` to `expected` elementwise. The scale is the largest
 * magnitude of either array, so tiny entries next to large ones are judged
 * against the array's size, not their own. Returns the worst violation, or
 * undefined when all entries are within tolerance.
 */
export function compare(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  shape: readonly number[],
  tol: Tolerance,
): Worst | undefined {
  if (expected.length !== actual.length) {
    return { index: [], expected: expected.length, actual: actual.length, error: Infinity, tolerance: 0 };
  }
  const scale = Math.max(maxAbs(expected), maxAbs(actual));
  let worst: Worst | undefined;
  let worstRatio = 1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    const err = Math.abs(a - e);
    const bound = tol.atol + tol.rtol * Math.max(Math.abs(a), Math.abs(e), scale);
    const ratio = Number.isNaN(err) ? Infinity : err / bound;
    if (ratio > worstRatio || (Number.isNaN(err) && !worst)) {
      worstRatio = ratio;
      worst = { index: unravel(i, shape), expected: e, actual: a, error: err, tolerance: bound };
    }
  }
  return worst;
}

/** mulberry32: a tiny deterministic PRNG (the library's, so that data drawn here and in the library agree). */
export const prng: (seed: number) => () => number = mulberry32;

/**
 * The backend of a law's new tensor made like `like`: the backend `like` lives on when it is a
 * concrete tensor, else cpu (the laws' reference, where f64 lives; not the default backend, which
 * is wasm in Node and holds no f64, so an f32 tangent of a cpu case would land beside it).
 */
export function lawBackend(like: { readonly backendName?: string | undefined }): ct.BackendName {
  return (like.backendName as ct.BackendName | undefined) ?? 'cpu';
}

/** A tensor of uniform values in [-1, 1) shaped and typed like `like` (on its backend: {@link lawBackend}), from `rand`. */
export function randomLike(
  like: { shape: readonly number[]; dtype: ct.DType; readonly backendName?: string | undefined },
  rand: () => number,
): ct.Tensor {
  const n = like.shape.reduce((a, b) => a * b, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 2 * rand() - 1;
  return ct.tensor(v, { shape: [...like.shape], dtype: like.dtype, backend: lawBackend(like) });
}

/** Whether a dtype is a float type (f32 or f64). */
export const isFloatDtype = (d: ct.DType): boolean => d === 'f32' || d === 'f64';

/** The default tolerance for a dtype. */
export const tolFor = (d: ct.DType): Tolerance => (d === 'f64' ? F64_TOL : F32_TOL);

/** The looser of two tolerances. */
export const looser = (a: Tolerance, b: Tolerance): Tolerance => ({ rtol: Math.max(a.rtol, b.rtol), atol: Math.max(a.atol, b.atol) });
