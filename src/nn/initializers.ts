/**
 * Initialisers: functions `(key, shape, fanIn, fanOut) -> Tensor` giving fresh
 * weights. Glorot/Xavier scales by 2 / (fanIn + fanOut), He by 2 / fanIn;
 * each comes in a normal and a uniform flavour (the uniform one has the same
 * variance). All are pure functions of the key.
 */
import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/Tensor.js';
import { zeros as zerosOp } from '../ops/creation.js';
import { normal, uniform, type Key } from './random.js';

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
/** All zeros (the default bias initialiser). */
export const zeros: Initializer = (_k, s, _fi, _fo, dt) => zerosOp(s, { dtype: dt ?? 'f32' });

/** Another name for {@link glorotNormal}. */
export const xavierNormal = glorotNormal;
/** Another name for {@link glorotUniform}. */
export const xavierUniform = glorotUniform;

/** The initialisers by name (the names layer options and specs accept). */
export const initializers = { glorotNormal, glorotUniform, heNormal, heUniform, zeros } as const;
/** The name of an initialiser: 'glorotNormal', 'glorotUniform', 'heNormal', 'heUniform' or 'zeros'. */
export type InitializerName = keyof typeof initializers;
