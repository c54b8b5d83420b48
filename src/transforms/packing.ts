/**
 * Several outputs as the one output of a record. The engine's records have a
 * single output, so a record standing for a whole program (a jitted call, a
 * scan, cond or while equation) packs its outputs into
 * one 1-D tensor — each output flattened and cast to the packing dtype where
 * it differs, then concatenated — and its callers slice them back out.
 */
import type { Backend } from '../backends/Backend.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/Tensor.js';
import { backendOf, zeros } from '../ops/creation.js';
import { cast, concat, reshape, slice } from '../ops/structural.js';

const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The packing dtype of outputs of these dtypes: theirs when they agree, else f64 if any is f64, else f32. */
export function packDtypeOf(dtypes: readonly DType[]): DType {
  if (dtypes.length === 0) return 'f32';
  if (dtypes.every((d) => d === dtypes[0])) return dtypes[0]!;
  return dtypes.includes('f64') ? 'f64' : 'f32';
}

/** The packed output's shape: [total elements]. */
export const packedShape = (avals: readonly { readonly shape: readonly number[] }[]): number[] => [
  avals.reduce((n, a) => n + elements(a.shape), 0),
];

/** `ts` packed into one 1-D tensor of `dtype` (empty outputs contribute nothing; all empty: a [0] tensor on `backend`). */
export function packOutputs(ts: readonly Tensor[], dtype: DType, backend?: Backend): Tensor {
  const parts = ts.filter((t) => t.size > 0).map((t) => reshape(t.dtype === dtype ? t : cast(t, dtype), [t.size]));
  if (parts.length === 0) return zeros([0], { dtype, ...(backend ? { backend: backend.name } : {}) });
  return parts.length === 1 ? parts[0]! : concat(parts, 0);
}

/** The outputs of the given shapes and dtypes sliced back out of a packed tensor. */
export function unpackOutputs(packed: Tensor, avals: readonly { readonly shape: readonly number[]; readonly dtype: string }[]): Tensor[] {
  let at = 0;
  return avals.map((a) => {
    const n = elements(a.shape);
    const dtype = a.dtype as DType;
    if (n === 0) return zeros(a.shape, { dtype, backend: backendOf(packed).name });
    const part = reshape(slice(packed, [at], [n]), a.shape);
    at += n;
    return part.dtype === dtype ? part : cast(part, dtype);
  });
}
