/**
 * matmul: 2-D and batched N-D matrix products with numpy semantics (batch
 * dims broadcast; a 1-D operand is treated as a row or column vector and the
 * added axis is removed from the result).
 */
import { matmulKernel as cpuMatmul } from '../backends/cpu/kernels.js';
import { matmulKernel as wasmMatmul } from '../backends/wasm/kernels.js';
import { matmulKernel as webgpuMatmul } from '../backends/webgpu/kernels.js';
import { bind } from '../core/trace.js';
import { broadcastShapes, fmt } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { add, mul, neg } from './elementwise.js';
import { bilinear, type Arithmetic, type Builtin } from './rules.js';
import { batchOps, broadcastTo, expandDims, matrixTranspose, squeeze, unbroadcast } from './structural.js';
import { matmulBatch } from './batching.js';
import { sameDtype } from './util.js';

type NoParams = Record<string, never>;
const arithmetic: Arithmetic = { add, mul, neg, broadcastTo, unbroadcast };

/** The primitive record of `matmul` (bilinear: d(A B) = dA B + A dB; Ā = C̄ Bᵀ, B̄ = Aᵀ C̄, batch axes unbroadcast). */
export const matmulPrim: Builtin<NoParams> = {
  name: 'matmul',
  shape: ([a, b]) => {
    const sa = a!.shape;
    const sb = b!.shape;
    if (sa.length < 2 || sb.length < 2) throw new ShapeError('matmul', `operands must have rank ≥ 2: ${fmt(sa)} x ${fmt(sb)}`);
    if (sa[sa.length - 1] !== sb[sb.length - 2]) throw new ShapeError('matmul', `inner dimensions differ: ${fmt(sa)} x ${fmt(sb)}`);
    sameDtype('matmul', a!, b!);
    const batch = broadcastShapes('matmul', sa.slice(0, -2), sb.slice(0, -2));
    return { shape: [...batch, sa[sa.length - 2]!, sb[sb.length - 1]!], dtype: a!.dtype };
  },
  cpu: ([a, b], _p, out) => cpuMatmul(a!, b!, out),
  // vmap: batched operands to the front, padded so the examples line up as one more batch dim
  batch: matmulBatch<NoParams>(batchOps),
  webgpu: webgpuMatmul,
  wasm: wasmMatmul,
  // d(A B) = dA B + A dB; Ā = C̄ Bᵀ, B̄ = Aᵀ C̄ (summed over broadcast batch dims)
  ...bilinear<NoParams>(
    arithmetic,
    (a, b) => matmul(a, b),
    (ct, a, b) => unbroadcast(matmul(ct, matrixTranspose(b)), a.shape),
    (ct, a, b) => unbroadcast(matmul(matrixTranspose(a), ct), b.shape),
  ),
};

/** Matrix product with numpy semantics for 1-D operands (batch dims broadcast). d(AB) = dA·B + A·dB. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError('matmul', `operands must have rank ≥ 1: ${fmt(a.shape)} x ${fmt(b.shape)}`);
  const aMatrix = a.ndim === 1 ? expandDims(a, 0) : a;
  const bMatrix = b.ndim === 1 ? expandDims(b, 1) : b;
  let y = bind(matmulPrim, [aMatrix, bMatrix], {});
  if (b.ndim === 1) y = squeeze(y, -1);
  if (a.ndim === 1) y = squeeze(y, a.ndim === 1 && b.ndim === 1 ? 0 : -2);
  return y;
}
