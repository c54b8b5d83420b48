/**
 * Initialisers: functions `(key, shape, fanIn, fanOut) -> Tensor` giving fresh
 * weights. Glorot/Xavier scales by 2 / (fanIn + fanOut), He by 2 / fanIn,
 * LeCun by 1 / fanIn; each comes in a normal and a uniform flavour (the uniform
 * one has the same variance), and {@link varianceScaling} builds any of them
 * with a truncated normal too (as JAX and Flax do). All are pure functions of
 * the key.
 */
import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { zeros as zerosOp } from '../ops/creation.js';
import { normal, truncatedNormal as truncatedNormalSample, uniform, type Key } from './random.js';

/** An initialiser: fresh weights of `shape` from a key, scaled by the fan-in and fan-out. */
export type Initializer = (key: Key, shape: Shape, fanIn: number, fanOut: number, dtype?: DType) => Tensor;

const fromStd = (std: number, key: Key, shape: Shape, dtype: DType | undefined, flavour: 'normal' | 'uniform'): Tensor => {
  if (flavour === 'normal') return normal(key, shape, { std, dtype: dtype ?? 'f32' });
  const a = Math.sqrt(3) * std; // U(-a, a) has variance a²/3
  return uniform(key, shape, { minval: -a, maxval: a, dtype: dtype ?? 'f32' });
};

/** Glorot (Xavier) normal: N(0, σ²) with σ² = 2 / (fanIn + fanOut). */
export const glorotNormal: Initializer = (k, s, fi, fo, dt) => fromStd(Math.sqrt(2 / (fi + fo)), k, s, dt, 'normal');
/** Glorot (Xavier) uniform: U(−a, a) with a = √(6 / (fanIn + fanOut)) (variance 2 / (fanIn + fanOut)). */
export const glorotUniform: Initializer = (k, s, fi, fo, dt) => fromStd(Math.sqrt(2 / (fi + fo)), k, s, dt, 'uniform');
/** He normal: N(0, σ²) with σ² = 2 / fanIn. */
export const heNormal: Initializer = (k, s, fi, _fo, dt) => fromStd(Math.sqrt(2 / fi), k, s, dt, 'normal');
/** He uniform: U(−a, a) with a = √(6 / fanIn) (variance 2 / fanIn). */
export const heUniform: Initializer = (k, s, fi, _fo, dt) => fromStd(Math.sqrt(2 / fi), k, s, dt, 'uniform');
/** The standard deviation of a standard normal truncated to [−2, 2] (a truncated-normal initialiser divides by it). */
export const TRUNCATED_NORMAL_STD = 0.87962566103423978;

/** Which fan a {@link varianceScaling} initialiser divides by: fanIn, fanOut or their mean ('fanAvg'). */
export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';
/** The distribution of a {@link varianceScaling} initialiser. */
export type ScalingDistribution = 'truncatedNormal' | 'normal' | 'uniform';

/**
 * Variance scaling (JAX's `variance_scaling`): weights of variance scale / n, with n = fanIn, fanOut or (fanIn + fanOut) / 2.
 * 'truncatedNormal' draws a standard normal truncated to [−2, 2] times √(scale / n) / 0.87962566103423978 (the
 * truncation's standard deviation, so the variance is still scale / n); 'normal' draws N(0, scale / n); 'uniform' draws
 * U(−a, a) with a = √(3·scale / n).
 */
export function varianceScaling(scale: number, mode: FanMode, distribution: ScalingDistribution): Initializer {
  if (!(scale > 0)) throw new ValueError('varianceScaling', `scale must be positive, got ${scale}`);
  return (k, s, fi, fo, dt) => {
    const n = mode === 'fanIn' ? fi : mode === 'fanOut' ? fo : (fi + fo) / 2;
    if (!(n > 0)) throw new ValueError('varianceScaling', `${mode} must be positive, got ${n} for shape [${s.join(',')}]`);
    const std = Math.sqrt(scale / n);
    if (distribution !== 'truncatedNormal') return fromStd(std, k, s, dt, distribution);
    return truncatedNormalSample(k, s, { std: std / TRUNCATED_NORMAL_STD, dtype: dt ?? 'f32' });
  };
}

/**
 * A normal of standard deviation `std` (default 0.01, as Flax) truncated at two standard deviations: std · z with z a
 * standard normal truncated to [−2, 2] (no variance correction: its standard deviation is 0.88·std). Ignores the fans.
 */
export function truncatedNormal(std = 0.01): Initializer {
  if (!(std >= 0) || !Number.isFinite(std)) throw new ValueError('truncatedNormal', `std must be finite and ≥ 0, got ${std}`);
  return (k, s, _fi, _fo, dt) => truncatedNormalSample(k, s, { std, dtype: dt ?? 'f32' });
}

/** LeCun normal as in JAX and Flax: variance 1 / fanIn from a truncated normal (varianceScaling(1, 'fanIn', 'truncatedNormal')). */
export const lecunNormal: Initializer = varianceScaling(1, 'fanIn', 'truncatedNormal');
/** LeCun uniform: U(−a, a) with a = √(3 / fanIn) (variance 1 / fanIn). */
export const lecunUniform: Initializer = varianceScaling(1, 'fanIn', 'uniform');
/** He normal from a truncated normal, as JAX's he_normal: variance 2 / fanIn (varianceScaling(2, 'fanIn', 'truncatedNormal')). */
export const heTruncatedNormal: Initializer = varianceScaling(2, 'fanIn', 'truncatedNormal');
/** Glorot normal from a truncated normal: variance 2 / (fanIn + fanOut) (varianceScaling(1, 'fanAvg', 'truncatedNormal')). */
export const glorotTruncatedNormal: Initializer = varianceScaling(1, 'fanAvg', 'truncatedNormal');

/** All zeros (the default bias initialiser). */
export const zeros: Initializer = (_k, s, _fi, _fo, dt) => zerosOp(s, { dtype: dt ?? 'f32' });

/** Another name for {@link glorotNormal}. */
export const xavierNormal = glorotNormal;
/** Another name for {@link glorotUniform}. */
export const xavierUniform = glorotUniform;

/**
 * The initialisers by name (the names layer options and specs accept); 'truncatedNormal' is {@link truncatedNormal} with its
 * default standard deviation 0.01.
 */
export const initializers = {
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  lecunNormal,
  lecunUniform,
  heTruncatedNormal,
  glorotTruncatedNormal,
  truncatedNormal: truncatedNormal(),
  zeros,
} as const;
/** The name of an initialiser: a key of {@link initializers} ('glorotNormal', 'heNormal', 'lecunNormal', 'zeros', ...). */
export type InitializerName = keyof typeof initializers;
