/**
 * Losses: mean squared error, softmax cross-entropy (the core op, stable for
 * logits of any magnitude), sigmoid binary cross-entropy from logits (stable:
 * max(z, 0) − z·y + log(1 + e^−|z|)) and an L2 regularisation helper.
 * Every loss returns the mean over the batch as a scalar.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { fmt, shapesEqual } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import { abs, add, exp, log, mul, neg, relu, sub } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { cast } from '../ops/structural.js';
import { mean, softmaxCrossEntropy as sce } from '../ops/composite.js';
import { flatten } from '../core/pytree.js';
import { Tensor as TensorClass } from '../tensor/Tensor.js';

/** A loss maps predictions and targets to a scalar. */
export type Loss = (pred: Tensor, target: Tensor) => Tensor;

/** mean((pred − target)²) */
export const mse: Loss = (pred, target) => {
  if (!shapesEqual(pred.shape, target.shape))
    throw new ShapeError('mse', `prediction ${fmt(pred.shape)} and target ${fmt(target.shape)} differ`);
  const d = sub(pred, target.dtype === pred.dtype ? target : cast(target, pred.dtype));
  return mean(mul(d, d));
};

/**
 * Mean softmax cross-entropy; labels are i32 class indices or probabilities.
 * Class indices outside [0, classes) are an error when the labels are on the
 * host (cpu or wasm backend); masked logits (−∞) where the target is 0 contribute 0 to
 * the loss and to the gradient.
 */
export const softmaxCrossEntropy: Loss = (logits, labels) => sce(logits, labels);

/** Mean binary cross-entropy of sigmoid(logits) against 0/1 (or soft) targets, computed from logits. */
export const sigmoidBinaryCrossEntropy: Loss = (logits, targets) => {
  if (!shapesEqual(logits.shape, targets.shape))
    throw new ShapeError('sigmoidBinaryCrossEntropy', `logits ${fmt(logits.shape)} and targets ${fmt(targets.shape)} differ`);
  const y = targets.dtype === logits.dtype ? targets : cast(targets, logits.dtype);
  // log(1 + e^z) − z·y, rewritten so exp never overflows
  return mean(add(sub(relu(logits), mul(logits, y)), log(add(exp(neg(abs(logits))), 1))));
};

/** (λ/2)·Σ w² over the tensor leaves of a parameter tree (optionally only those `include` accepts). */
export function l2(params: unknown, lambda: number, include: (path: string, leaf: Tensor) => boolean = () => true): Tensor {
  const leaves: Tensor[] = [];
  const walk = (t: unknown, path: string): void => {
    if (t instanceof TensorClass) {
      if (include(path, t)) leaves.push(t);
    } else if (Array.isArray(t))
      t.forEach((c, i) => {
        walk(c, `${path}${path ? '.' : ''}${i}`);
      });
    else if (t && typeof t === 'object')
      for (const k of Object.keys(t).sort()) walk((t as Record<string, unknown>)[k], `${path}${path ? '.' : ''}${k}`);
  };
  walk(params, '');
  if (leaves.length === 0) throw new ShapeError('l2', `no parameters selected (tree has ${flatten(params).leaves.length} leaves)`);
  return mul(
    leaves.map((w) => sum(mul(w, w))).reduce((a, b) => add(a, b)),
    lambda / 2,
  );
}
