/**
 * Functional forms of the layers that have one: `conv2d(x, w, opts)`, `conv1d`, `convTranspose2d`,
 * `maxPool2d(x, opts)`, `avgPool2d(x, opts)` (NHWC), plus `dense(x, W, b)`.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { matrixTranspose } from '../ops/structural.js';
export {
  conv2d,
  conv1d,
  convTranspose2d,
  maxPool2d,
  avgPool2d,
  convAxis,
  type Conv2dOptions,
  type Conv1dOptions,
  type ConvTranspose2dOptions,
  type PoolOptions,
  type Padding,
  type PoolPadding,
  type ExplicitPadding,
} from './conv.js';
export {
  layerNorm,
  batchNorm,
  moments,
  type LayerNormOptions,
  type BatchNormOptions,
} from './normalization.js';
export { dotProductAttention, maskedSoftmax, causalMask, type AttentionOptions } from './attention.js';
export { lookup as embeddingLookup } from './embedding.js';

/** x Wᵀ + b with W: [out, in]. */
export const dense = (x: Tensor, W: Tensor, b: Tensor): Tensor => add(matmul(x, matrixTranspose(W)), b);
