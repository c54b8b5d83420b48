/**
 * Batching-rule builders (vmap), by kind, as the rule builders of rules.ts
 * are for derivatives. A batched value carries its examples along one axis
 * (its batch dim); a rule moves batch dims where the primitive can treat them
 * as one more ordinary axis (usually the front) and re-applies the primitive
 * (`self`) with adjusted parameters. Builders receive the three structural
 * ops they need (`BatchOps`) from structural.ts, so this module depends on no
 * op file.
 */
import type { BatchRule, Primitive } from '../core/Primitive.js';
import { bind } from '../core/trace.js';
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/Tensor.js';

/** The structural ops the builders use (supplied by structural.ts). */
export interface BatchOps {
  readonly transpose: (x: Tensor, perm: readonly number[]) => Tensor;
  readonly reshape: (x: Tensor, shape: Shape) => Tensor;
  readonly broadcastTo: (x: Tensor, shape: Shape) => Tensor;
}

/** `x` with its batch axis `d` moved to the front. */
export function toFront(ops: BatchOps, x: Tensor, d: number): Tensor {
  if (d === 0) return x;
  const perm = [d, ...x.shape.map((_, i) => i).filter((i) => i !== d)];
  return ops.transpose(x, perm);
}

/** `x` with its batch axis at the front, or an unbatched `x` given a front batch axis of `size` (broadcast). */
export function batchedAtFront(ops: BatchOps, x: Tensor, d: number | null, size: number): Tensor {
  if (d !== null) return toFront(ops, x, d);
  return ops.broadcastTo(ops.reshape(x, [1, ...x.shape]), [size, ...x.shape]);
}

/** A front-batched `x` ([B, ...s]) viewed with rank `rank` per example: [B, 1, …, 1, ...s]. */
function padPerExample(ops: BatchOps, x: Tensor, rank: number): Tensor {
  const per = x.shape.length - 1;
  if (per >= rank) return x;
  return ops.reshape(x, [x.shape[0]!, ...Array.from({ length: rank - per }, () => 1), ...x.shape.slice(1)]);
}

/**
 * Elementwise primitives with numpy broadcasting (binary ops, comparisons,
 * where): batched inputs get their batch axis at the front and are padded to
 * the output's per-example rank; unbatched inputs broadcast as they are.
 * A single-input map keeps the batch axis where it is.
 */
export function broadcastingBatch<P>(ops: BatchOps): BatchRule<P> {
  const aligned = alignedBatch<P>(ops);
  return (xs, dims, params, size, self) => (xs.length === 1 ? [bind(self, xs, params), dims[0]!] : aligned(xs, dims, params, size, self));
}

/** A one-input primitive re-applied to the input with its batch axis at the front and parameters `shift` gives. */
export function frontBatchWith<P>(ops: BatchOps, shift: (params: P, size: number, front: Tensor) => P): BatchRule<P> {
  return (xs, dims, params, size, self) => {
    const x = toFront(ops, xs[0]!, dims[0]!);
    return [bind(self as Primitive<P>, [x], shift(params, size, x)), 0];
  };
}

/** Every input batched at the front (unbatched ones broadcast), parameters shifted: concat. */
export function allFrontBatch<P>(ops: BatchOps, shift: (params: P) => P): BatchRule<P> {
  return (xs, dims, params, size, self) => {
    const ins = xs.map((x, i) => batchedAtFront(ops, x, dims[i]!, size));
    return [bind(self, ins, shift(params)), 0];
  };
}

/**
 * Matrix products (rank ≥ 2 per example, batch dims broadcast): as for
 * broadcasting maps, batched operands get their batch axis at the front and
 * are padded to the larger per-example rank, so the examples line up as one
 * more batch dim.
 */
export const matmulBatch = <P>(ops: BatchOps): BatchRule<P> => alignedBatch(ops);

/** Batched inputs to the front, padded to the largest per-example rank; unbatched inputs as they are. */
function alignedBatch<P>(ops: BatchOps): BatchRule<P> {
  return (xs, dims, params, _size, self) => {
    const rank = Math.max(...xs.map((x, i) => x.shape.length - (dims[i] === null ? 0 : 1)));
    const ins = xs.map((x, i) => (dims[i] === null ? x : padPerExample(ops, toFront(ops, x, dims[i]!), rank)));
    return [bind(self, ins, params), 0];
  };
}
