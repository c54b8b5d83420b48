/**
 * Symbolic zero tangents and cotangents. A rule that receives only `Zero`s is
 * skipped; `Zero` is never materialised unless a user-facing result needs it.
 */
import type { Tensor } from '../tensor/Tensor.js';

export const Zero: unique symbol = Symbol('Zero');
export type Zero = typeof Zero;
export type MaybeZero = Tensor | Zero;

export const isZero = (t: MaybeZero): t is Zero => t === Zero;
