/**
 * An abstract value: the shape and dtype of a tensor without its data. Shape
 * rules map input avals to the output aval; traces and backends speak of
 * avals.
 */
import type { DType } from './dtype.js';
import type { Shape } from './shape.js';

/** The shape and dtype of a tensor, without data. */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}
