/**
 * Symbolic zero tangents and cotangents. A rule that receives only `Zero`s is
 * skipped; `Zero` is never materialised unless a user-facing result needs it.
 */
import type { Tensor } from '../tensor/Tensor.js';

/** The symbolic zero tangent/cotangent: a rule whose inputs are all `Zero` is skipped. */
export const Zero: unique symbol = Symbol('Zero');
/** The type of the symbolic zero {@link Zero}. */
export type Zero = typeof Zero;
/** A tangent or cotangent: a tensor or the symbolic {@link Zero}. */
export type MaybeZero = Tensor | Zero;

/** Whether a tangent or cotangent is the symbolic {@link Zero}. */
export const isZero = (t: MaybeZero): t is Zero => t === Zero;
