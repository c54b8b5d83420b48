/**
 * Composite ops built from primitives (so their derivatives come from the
 * primitives' rules): mean, min, argmin, the numerically stable logsumexp /
 * softmax / logSoftmax / softmaxCrossEntropy, and oneHot.
 */
import { fmt, normalizeAxes, normalizeAxis, sizeOf } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/Tensor.js';
import { arange, asTensor, backendOf, type TensorLike } from './creation.js';
import { abs, add, div, equal, exp, less, log, maximum, minimum, mul, neg, sub, where } from './elementwise.js';
import { argmax, max, sum, type ReduceOptions } from './reduce.js';
import { cast, expandDims, squeeze, stopGradient } from './structural.js';
import { requireFloat } from './util.js';

/** Mean over `axes` (default: all). */
export function mean(x: TensorLike, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const t = asTensor(x);
  const ax = normalizeAxes('mean', axes, t.ndim);
  const n = sizeOf(ax.map((a) => t.shape[a]!));
  return div(sum(t, ax, opts), n);
}

/** Minimum over `axis` (derivative to the first minimal element). */
export function min(x: TensorLike, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  return neg(max(neg(asTensor(x)), axis, opts));
}

/** Index of the minimum along `axis` (default: of the flattened tensor), i32, the first one on ties; no derivative. */
export function argmin(x: TensorLike, axis?: number): Tensor {
  return argmax(neg(asTensor(x)), axis);
}

/** log Σ exp(x) over `axis` (default: all), computed stably by shifting by the max. */
export function logsumexp(x: TensorLike, axis?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const t = asTensor(x);
  requireFloat('logsumexp', t);
  const ax = normalizeAxes('logsumexp', axis, t.ndim);
  const m = stopGradient(max(t, ax, { keepdims: true }));
  const shift = where(less(abs(m), Infinity), m, 0); // all -inf rows (or NaN) shift by 0
  const r = add(log(sum(exp(sub(t, shift)), ax, { keepdims: true })), shift);
  return opts.keepdims ? r : squeeze(r, ax);
}

/** log softmax along `axis` (default -1): x - logsumexp(x). */
export function logSoftmax(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis('logSoftmax', axis, t.ndim);
  return sub(t, logsumexp(t, a, { keepdims: true }));
}

/** softmax along `axis` (default -1), stable for large logits. */
export function softmax(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  normalizeAxis('softmax', axis, t.ndim);
  return exp(logSoftmax(t, axis));
}

/** One-hot rows for i32 class indices (indices outside [0, depth) give a zero row). */
export function oneHot(indices: Tensor, depth: number, opts: { dtype?: DType } = {}): Tensor {
  if (indices.dtype !== 'i32') throw new ShapeError('oneHot', `indices must be i32, got ${indices.dtype}${fmt(indices.shape)}`);
  if (!Number.isInteger(depth) || depth <= 0) throw new ShapeError('oneHot', `depth must be a positive integer, got ${depth}`);
  return cast(
    equal(expandDims(indices, -1), arange(depth, undefined, 1, { dtype: 'i32', backend: backendOf(indices).name })),
    opts.dtype ?? 'f32',
  );
}

/**
 * Class indices must lie in [0, classes). Checked where the labels can be read
 * synchronously (the cpu and wasm backends: host memory); labels held on a GPU
 * are not read back, and an index outside the range there gives a zero one-hot row.
 */
function checkClassIndices(labels: Tensor, classes: number): void {
  if (labels.backendName !== 'cpu' && labels.backendName !== 'wasm') return;
  const y = labels.dataSync();
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (!(v >= 0 && v < classes))
      throw new ValueError('softmaxCrossEntropy', `label ${v} at index ${i} is outside [0, ${classes}) for logits with ${classes} classes`);
  }
}

/**
 * Mean softmax cross-entropy of `logits` [..., C] against `labels`: either i32
 * class indices [...] or a one-hot / probability tensor [..., C].
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  requireFloat('softmaxCrossEntropy', logits);
  if (logits.ndim < 1) throw new ShapeError('softmaxCrossEntropy', `logits need a class axis, got ${fmt(logits.shape)}`);
  const c = logits.shape[logits.ndim - 1]!;
  let target: Tensor;
  if (labels.dtype === 'i32') {
    if (labels.ndim !== logits.ndim - 1 || labels.shape.some((d, i) => d !== logits.shape[i])) {
      throw new ShapeError(
        'softmaxCrossEntropy',
        `class-index labels ${fmt(labels.shape)} must match logits ${fmt(logits.shape)} without the class axis`,
      );
    }
    checkClassIndices(labels, c);
    target = oneHot(labels, c, { dtype: logits.dtype });
  } else {
    if (labels.ndim !== logits.ndim || labels.shape.some((d, i) => d !== logits.shape[i])) {
      throw new ShapeError(
        'softmaxCrossEntropy',
        `probability labels ${fmt(labels.shape)} must have the logits' shape ${fmt(logits.shape)}`,
      );
    }
    target = labels.dtype === logits.dtype ? labels : cast(labels, logits.dtype);
  }
  // where the target is 0 the term is 0 even for a masked (−∞) logit, whose log-probability is −∞
  const logp = logSoftmax(logits, -1);
  const perExample = neg(sum(mul(target, where(equal(target, 0), 0, logp)), -1));
  return perExample.ndim === 0 ? perExample : mean(perExample);
}

/** Clamp `x` to [lo, hi] elementwise: minimum(maximum(x, lo), hi). NaN propagates; the derivative is 1 inside the interval (ties: x). */
export function clip(x: TensorLike, lo: TensorLike, hi: TensorLike): Tensor {
  return minimum(maximum(x, lo), hi);
}
