/**
 * matmul: 2-D and batched N-D matrix products with numpy semantics (batch
 * dims broadcast; a 1-D operand is treated as a row or column vector and the
 * added axis is removed from the result).
 */
import { matmulKernel } from '../backends/cpu/kernels.js';
import type { Primitive } from '../core/Primitive.js';
import { bind } from '../core/trace.js';
import { lin, Zero } from '../core/Zero.js';
import { broadcastShapes, fmt } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { add } from './elementwise.js';
import { expandDims, matrixTranspose, squeeze, unbroadcast } from './structural.js';
import { addT, sameDtype } from './util.js';

export const matmulPrim: Primitive<Record<string, never>> = {
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
  cpu: ([a, b], _p, out) => matmulKernel(a!, b!, out),
  // d(A B) = dA B + A dB
  jvp: ([a, b], [ta, tb]) => addT(add, lin(ta!, (t) => matmul(t, b!)), lin(tb!, (t) => matmul(a!, t))),
  // Ā = C̄ Bᵀ, B̄ = Aᵀ C̄ (summed over broadcast batch dims)
  vjp: (ct, [a, b], _p, _y, n) => [
    n[0] ? unbroadcast(matmul(ct, matrixTranspose(b!)), a!.shape) : Zero,
    n[1] ? unbroadcast(matmul(matrixTranspose(a!), ct), b!.shape) : Zero,
  ],
};

/** Matrix product with numpy semantics for 1-D operands. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError('matmul', `operands must have rank ≥ 1: ${fmt(a.shape)} x ${fmt(b.shape)}`);
  const a2 = a.ndim === 1 ? expandDims(a, 0) : a;
  const b2 = b.ndim === 1 ? expandDims(b, 1) : b;
  let y = bind(matmulPrim, [a2, b2], {});
  if (b.ndim === 1) y = squeeze(y, -1);
  if (a.ndim === 1) y = squeeze(y, a.ndim === 1 && b.ndim === 1 ? 0 : -2);
  return y;
}
