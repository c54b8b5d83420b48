/**
 * Built-in architectures for `cotangent train --model`: `mlp` (64-128-10 on
 * digits, 784-256-128-10 otherwise), `cnn` (two conv 3×3 'same' + ReLU +
 * 2×2 max-pool blocks, then dense layers), `gru` / `lstm` (an image read row
 * by row by a 64-unit recurrent layer, then a dense layer) and explicit layer sizes such as
 * "784-256-10" (ReLU between dense layers).
 */
import type { AnyLayer } from '../nn/layer.js';
import { serial } from '../nn/combinators.js';
import { conv2dLayer, maxPool2dLayer } from '../nn/conv.js';
import { dense, flatten, relu, reshape } from '../nn/layers.js';
import { gru, lstm } from '../nn/recurrent.js';
import { UsageError } from './args.js';
import type { DataChoice } from './data.js';

const seq = (...ls: AnyLayer[]): AnyLayer => (serial as (...l: AnyLayer[]) => AnyLayer)(...ls);

/** Dense layers of the given sizes (sizes[0] is the input), ReLU between them. */
export function mlp(sizes: readonly number[]): AnyLayer {
  const ls: AnyLayer[] = [];
  sizes.slice(1).forEach((u, i) => {
    if (i > 0) ls.push(relu);
    ls.push(dense(u));
  });
  return seq(...ls);
}

export function cnn(image: readonly [number, number, number], classes: number): AnyLayer {
  return seq(
    reshape(image),
    conv2dLayer(16, 3, { padding: 'same' }),
    relu,
    maxPool2dLayer(2),
    conv2dLayer(32, 3, { padding: 'same' }),
    relu,
    maxPool2dLayer(2),
    flatten,
    dense(image[0] >= 16 ? 128 : 64),
    relu,
    dense(classes),
  );
}

export interface ModelChoice {
  readonly name: string;
  readonly model: AnyLayer;
  readonly inputShape: readonly number[];
}

export function buildModel(spec: string, data: DataChoice): ModelChoice {
  const features = data.train.exampleShape.reduce((a, b) => a * b, 1);
  const classes = data.train.numClasses;
  const inputShape = [-1, features];
  if (spec === 'mlp') {
    const sizes = data.name === 'digits' ? [features, 128, classes] : [features, 256, 128, classes];
    return { name: sizes.join('-'), model: mlp(sizes), inputShape };
  }
  if (spec === 'cnn') {
    if (!data.imageShape)
      throw new UsageError(`--model cnn needs image data; ${data.name} has ${features} features per example, not a square image`);
    return { name: 'cnn', model: cnn(data.imageShape, classes), inputShape };
  }
  if (spec === 'gru' || spec === 'lstm') {
    if (!data.imageShape)
      throw new UsageError(`--model ${spec} needs image data (read row by row); ${data.name} has ${features} features per example`);
    const [h, w, c] = data.imageShape;
    const cell = spec === 'gru' ? gru(64) : lstm(64);
    // each image is a sequence of h rows of w·c values
    return { name: `${spec}-64`, model: seq(reshape([h, w * c]), cell, dense(classes)), inputShape };
  }
  if (/^\d+(-\d+)+$/.test(spec)) {
    const sizes = spec.split('-').map(Number);
    if (sizes.some((s) => s < 1)) throw new UsageError(`--model ${spec}: layer sizes must be positive`);
    if (sizes[0] !== features)
      throw new UsageError(`--model ${spec}: the first size must be the number of input features of ${data.name}, ${features}`);
    if (sizes[sizes.length - 1] !== classes)
      throw new UsageError(`--model ${spec}: the last size must be the number of classes of ${data.name}, ${classes}`);
    return { name: spec, model: mlp(sizes), inputShape };
  }
  throw new UsageError(`--model must be mlp, cnn, gru, lstm, transformer-addition or layer sizes like 784-256-10, got '${spec}'`);
}
