/**
 * Host-side index arithmetic for the kernels: row-major strides, broadcast
 * strides, and collapsing an iteration space (dropping size-1 dimensions and
 * merging neighbours that every operand walks contiguously) so kernels see
 * the smallest rank that describes the same walk.
 */
import { broadcastStrides, stridesOf, type Shape } from '../../tensor/shape.js';
import { MAX_RANK } from './gpuConstants.js';

export { broadcastStrides, stridesOf };

export interface Collapsed {
  readonly shape: number[];
  /** One stride list per operand, aligned with `shape`. */
  readonly strides: number[][];
}

/** Collapse an iteration space walked by several operands with the given strides. */
export function collapse(shape: Shape, strides: readonly (readonly number[])[]): Collapsed {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    // merge with the previous (outer) dim when stride_outer = stride_inner · n for every operand
    if (last >= 0 && strides.every((st, k) => outStrides[k]![last] === st[d]! * n)) {
      outShape[last] = outShape[last]! * n;
      strides.forEach((st, k) => {
        outStrides[k]![last] = st[d]!;
      });
    } else {
      outShape.push(n);
      strides.forEach((st, k) => {
        outStrides[k]!.push(st[d]!);
      });
    }
  }
  return { shape: outShape, strides: outStrides };
}

export function checkRank(op: string, rank: number): void {
  if (rank > MAX_RANK)
    throw new Error(`${op}: the WebGPU kernels handle up to ${MAX_RANK} dimensions that cannot be merged; this operation needs ${rank}`);
}
