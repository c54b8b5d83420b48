/**
 * Helpers shared by the primitive records: dtype checks, the elementwise
 * shape rules, number-to-tensor coercion and the inverse permutation.
 */
import type { Aval } from '../tensor/Aval.js';
import { isFloat } from '../tensor/dtype.js';
import { describe } from '../tensor/format.js';
import { broadcastShapes } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, type TensorLike } from './creation.js';

/** Throw a ShapeError naming `op` unless the input is float (f32 or f64). */
export function requireFloat(op: string, x: Aval): void {
  if (!isFloat(x.dtype)) throw new ShapeError(op, `expected a float tensor (f32 or f64), got ${describe(x.dtype, x.shape)}`);
}

/** Throw a ShapeError naming `op` unless every input has the same dtype. */
export function sameDtype(op: string, ...xs: readonly Aval[]): void {
  const d = xs[0]!.dtype;
  if (xs.some((x) => x.dtype !== d))
    throw new ShapeError(op, `dtype mismatch: ${xs.map((x) => describe(x.dtype, x.shape)).join(' and ')} (use cast())`);
}

/** The shape rule of a unary elementwise op: the input's shape and dtype (float only when `floatOnly`). */
export const unaryShape =
  (op: string, floatOnly: boolean) =>
  ([x]: readonly Aval[]): Aval => {
    if (floatOnly) requireFloat(op, x!);
    return { shape: x!.shape, dtype: x!.dtype };
  };

/** The shape rule of a binary elementwise op: the broadcast shape, operands of one dtype (float only when `floatOnly`). */
export const binaryShape =
  (op: string, floatOnly: boolean) =>
  ([a, b]: readonly Aval[]): Aval => {
    sameDtype(op, a!, b!);
    if (floatOnly) requireFloat(op, a!);
    return { shape: broadcastShapes(op, a!.shape, b!.shape), dtype: a!.dtype };
  };

/** Coerce a pair of operands: numbers take the dtype and backend of the tensor operand. */
export function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') return [asTensor(a), asTensor(b)];
  if (typeof a === 'number') return [asTensor(a, b as Tensor), b as Tensor];
  if (typeof b === 'number') return [a, asTensor(b, a)];
  return [a, b];
}

/** The inverse of a permutation: inv[perm[i]] = i. */
export function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}
