/**
 * Dataset: an in-memory classification data set kept on the host (features
 * as one Float32Array, labels as an Int32Array), from which mini-batches are
 * gathered and uploaded to the default backend. Splits and shuffles are pure
 * functions of a PRNG key.
 */
import { fmt, sizeOf } from '../tensor/shape.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { fromTypedArray } from '../ops/creation.js';
import { permutationArray, type Key } from './random.js';

/** A labelled classification data set in host memory: row-major features, the shape of one example and i32 class labels. */
export interface Dataset {
  readonly name: string;
  /** n × prod(exampleShape) features, row-major. */
  readonly x: Float32Array;
  /** The shape of one example, e.g. [64] or [28, 28, 1]. */
  readonly exampleShape: readonly number[];
  /** n class indices in [0, numClasses). */
  readonly y: Int32Array;
  readonly numClasses: number;
}

/** The number of examples of a data set. */
export const datasetSize = (d: Dataset): number => d.y.length;

/** The most classes a data set may have: readers refuse labels at or above it. */
export const MAX_CLASSES = 65536;

/** Check a data set's invariants (lengths agree, labels in range); returns it. */
export function checkDataset(d: Dataset): Dataset {
  const per = sizeOf(d.exampleShape);
  if (d.x.length !== d.y.length * per)
    throw new ValueError(`dataset ${d.name}`, `${d.x.length} feature values for ${d.y.length} labels of shape ${fmt(d.exampleShape)}`);
  if (!(Number.isInteger(d.numClasses) && d.numClasses >= 1 && d.numClasses <= MAX_CLASSES))
    throw new ValueError(`dataset ${d.name}`, `${d.numClasses} classes; the limit is ${MAX_CLASSES}`);
  for (let i = 0; i < d.y.length; i++) {
    const v = d.y[i]!;
    if (!(v >= 0 && v < d.numClasses))
      throw new ValueError(`dataset ${d.name}`, `label ${v} at index ${i} is outside [0, ${d.numClasses})`);
  }
  return d;
}

/**
 * Check that `other` (a test or validation set) fits a model trained on
 * `train`: the same example shape and labels below train's class count.
 * Throws naming both data sets and their shapes; returns nothing.
 */
export function checkCompatible(train: Dataset, other: Dataset): void {
  if (
    sizeOf(train.exampleShape) !== sizeOf(other.exampleShape) ||
    train.exampleShape.length !== other.exampleShape.length ||
    train.exampleShape.some((d, i) => d !== other.exampleShape[i])
  ) {
    throw new ValueError(
      'data',
      `examples of ${train.name} are ${fmt(train.exampleShape)} but those of ${other.name} are ${fmt(other.exampleShape)}; a ` +
        'model for one cannot take the other',
    );
  }
  let max = -1;
  for (let i = 0; i < other.y.length; i++) max = Math.max(max, other.y[i]!);
  if (max >= train.numClasses)
    throw new ValueError('data', `${other.name} has labels up to ${max} but ${train.name} has ${train.numClasses} classes`);
}

/** The examples at `indices`, in that order. */
export function take(d: Dataset, indices: ArrayLike<number>, name = d.name): Dataset {
  const per = sizeOf(d.exampleShape);
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    x.set(d.x.subarray(j * per, (j + 1) * per), i * per);
    y[i] = d.y[j]!;
  }
  return { name, x, exampleShape: d.exampleShape, y, numClasses: d.numClasses };
}

/** The same data seen with another example shape of the same size (e.g. [64] -> [8, 8, 1]). */
export function withExampleShape(d: Dataset, shape: readonly number[]): Dataset {
  if (sizeOf(shape) !== sizeOf(d.exampleShape))
    throw new ValueError('withExampleShape', `cannot view examples of shape ${fmt(d.exampleShape)} as ${fmt(shape)}`);
  return { ...d, exampleShape: [...shape] };
}

/** Shuffle with `key`, then put the first `testFraction` in `test` and the rest in `train`. */
export function trainTestSplit(d: Dataset, key: Key, testFraction: number): { train: Dataset; test: Dataset } {
  if (!(testFraction > 0 && testFraction < 1))
    throw new ValueError('trainTestSplit', `testFraction must be in (0, 1), got ${testFraction}`);
  const perm = permutationArray(key, datasetSize(d));
  const nTest = Math.round(perm.length * testFraction);
  return { test: take(d, perm.subarray(0, nTest), `${d.name}-test`), train: take(d, perm.subarray(nTest), `${d.name}-train`) };
}

/** Upload examples [start, start+count) of `order` (or of the data itself) as a batch [x, y]. */
export function batchTensors(d: Dataset, start: number, count: number, order?: Int32Array): [Tensor, Tensor] {
  const per = sizeOf(d.exampleShape);
  const x = new Float32Array(count * per);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const j = order ? order[start + i]! : start + i;
    x.set(d.x.subarray(j * per, (j + 1) * per), i * per);
    y[i] = d.y[j]!;
  }
  return [fromTypedArray(x, [count, ...d.exampleShape], 'f32'), fromTypedArray(y, [count], 'i32')];
}
