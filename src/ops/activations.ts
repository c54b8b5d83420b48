/**
 * Activation functions built from primitives (their derivatives come from the
 * primitives' rules): silu (swish) and gelu, exact (through erfc, accurate in
 * the left tail) or PyTorch's tanh approximation.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, type TensorLike } from './creation.js';
import { add, erfc, mul, sigmoid, tanh } from './elementwise.js';
import { requireFloat } from './util.js';

/**
 * silu(x) = x · σ(x) (also called swish; silu(−∞) is NaN, −∞ · 0, as in PyTorch).
 * d silu x = σ(x) · (1 + x · (1 − σ(x))) · dx
 */
export function silu(x: TensorLike): Tensor {
  const t = asTensor(x);
  requireFloat('silu', t);
  return mul(t, sigmoid(t));
}

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** PyTorch's tanh approximation 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) instead of the exact x·Φ(x) (default false). */
  readonly approximate?: boolean;
}

/** −1/√2: Φ(x) = erfc(−x/√2) / 2. */
const MINUS_SQRT1_2 = -Math.SQRT1_2;
/** √(2/π), the scale of the tanh approximation. */
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * The Gaussian error linear unit gelu(x) = x · Φ(x) = 0.5 · x · (1 + erf(x/√2)), Φ the standard normal
 * distribution function, computed as 0.5 · x · erfc(−x/√2) so that the left tail keeps its relative
 * accuracy (gelu(−∞) is NaN, −∞ · 0, as in PyTorch); with `{ approximate: true }`, PyTorch's tanh form
 * 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
 * d gelu x = (Φ(x) + x · φ(x)) · dx (exact form), φ the standard normal density.
 */
export function gelu(x: TensorLike, opts: GeluOptions = {}): Tensor {
  const t = asTensor(x);
  requireFloat('gelu', t);
  if (opts.approximate) {
    const inner = mul(add(t, mul(0.044715, mul(t, mul(t, t)))), SQRT_2_OVER_PI);
    return mul(mul(t, 0.5), add(tanh(inner), 1));
  }
  return mul(mul(t, 0.5), erfc(mul(t, MINUS_SQRT1_2)));
}
