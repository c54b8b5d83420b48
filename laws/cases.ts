/**
 * Test cases for a primitive as plain data (so a shrunk counterexample prints
 * its shapes and values): the input tensors, the parameters, which inputs are
 * differentiated, and whether the primitive's derivative is zero by design.
 */
import * as ct from '../src/index.js';
import type { Tolerance } from './numeric.js';

/** A tensor as plain data (shape, row-major values, dtype): what generators produce and reports print. */
export interface TensorSpec {
  readonly shape: readonly number[];
  /** Row-major values; length = product of shape. */
  readonly values: readonly number[];
  /** Default 'f64'. */
  readonly dtype?: ct.DType;
}

/** One law case of a primitive: its inputs, parameters, which inputs are differentiated and whether its derivative is zero by design. */
export interface PrimCase<P = unknown> {
  readonly inputs: readonly TensorSpec[];
  readonly params: P;
  /** Which inputs are differentiated (default: every float input). Others are held constant. */
  readonly diff?: readonly boolean[];
  /** The derivative is zero by design (comparisons, argmax, sign, stopGradient, casts to integers). */
  readonly zeroDerivative?: boolean;
  /** With zeroDerivative: finite differences are zero too (the function is piecewise constant). */
  readonly fdIsZero?: boolean;
  /** Tolerance override for this case (e.g. an f32 output). */
  readonly tol?: Partial<Tolerance>;
  /** Finite-difference step override. */
  readonly eps?: number;
}

/**
 * The tensor of a spec (f64 unless the spec says otherwise), on the cpu backend whatever the
 * default: the laws are checked on the CPU reference, where f64 lives (an f32 or i32 input that
 * a case casts to f64 must be there too).
 */
export const specTensor = (s: TensorSpec): ct.Tensor =>
  ct.tensor(Float64Array.from(s.values), { shape: [...s.shape], dtype: s.dtype ?? 'f64', backend: 'cpu' });

const fmtNum = (v: number): string => String(Number(v.toPrecision(4)));

/** `f64[2,3] [0.1, …]`: a one-line description of a tensor spec. */
export function describeSpec(s: TensorSpec, limit = 8): string {
  const vs = s.values.slice(0, limit).map(fmtNum).join(', ');
  return `${s.dtype ?? 'f64'}[${s.shape.join(',')}] [${vs}${s.values.length > limit ? ', …' : ''}]`;
}

/** A one-line description of a case: its inputs and parameters. */
export function describeCase(c: PrimCase): string {
  const params = JSON.stringify(c.params);
  return `${c.inputs.map((s) => describeSpec(s)).join('; ')}${params && params !== '{}' ? `; params ${params}` : ''}`;
}
