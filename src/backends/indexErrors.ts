/**
 * The error of an index outside [-n, n) along an axis, shared by the cpu and wasm kernels of the indexing
 * primitives (src/ops/indexing.ts), which both see the indices on the host.
 */
import { ValueError } from '../tensor/ShapeError.js';

/** The error for index `value` (at flat position `at` of the indices) outside [-n, n) along `axis` of `op`'s input. */
export function indexOutOfRange(op: string, axis: number, value: number, n: number, at: number): ValueError {
  return new ValueError(
    op,
    `index ${value} (at position ${at} of the indices) is out of range for axis ${axis} of size ${n} (valid: ${-n} to ${n - 1})`,
  );
}
