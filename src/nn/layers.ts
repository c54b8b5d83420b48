/**
 * Basic layers: `dense(units)` computing x Wᵀ + b with W: [out, in], the
 * activations (relu, sigmoid, tanh, softmax, logSoftmax), `flatten` and
 * `dropout(rate)` (pure: driven by ctx.key, active only when ctx.training).
 */
import type { Tensor } from '../tensor/Tensor.js';
import { fmt, sizeOf } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { DType } from '../tensor/dtype.js';
import { add, div, mul, relu as reluOp, sigmoid as sigmoidOp, tanh as tanhOp } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { matrixTranspose, reshape as reshapeOp } from '../ops/structural.js';
import { logSoftmax as logSoftmaxOp, softmax as softmaxOp } from '../ops/composite.js';
import { isMultiShape, makeLayer, noParams, type Layer, type NoParams, type RShape, type Same, type ShapeT } from './layer.js';
import { fmtShape } from './combinators.js';
import { initializers, type InitializerName } from './initializers.js';
import { bernoulli, split } from './random.js';

function single(op: string, s: RShape): readonly number[] {
  if (isMultiShape(s)) throw new ShapeError(op, `expects one input, got ${fmtShape(s)}`);
  return s as readonly number[];
}

/** Parameters of a `dense` layer: `W: [units, in]`, `b: [units]`. */
export interface DenseParams {
  /** [out, in] */
  readonly W: Tensor;
  /** [out] */
  readonly b: Tensor;
}

/** Options of `dense`: the declared input features, the weight and bias initialisers (default Glorot normal and zeros) and the dtype. */
export interface DenseOptions<I extends number> {
  /** Declared input features: checked by `init` and, when a literal, by the type checker. */
  readonly inputs?: I;
  readonly kernelInit?: InitializerName;
  readonly biasInit?: InitializerName;
  readonly dtype?: DType;
}

/**
 * Fully connected layer on the last axis: y = x Wᵀ + b, W: [units, in], b: [units].
 *
 * @example
 * ```ts
 * const layer = nn.dense(10, { inputs: 64 }); // the input width is checked by init and by the type checker
 * const { params } = layer.init(nn.random.key(0), [-1, 64]); // params.W: [10, 64], params.b: [10]
 * ```
 */
export function dense<const U extends number, const I extends number = number>(
  units: U,
  opts: DenseOptions<I> = {},
): Layer<readonly [...number[], I], readonly [...number[], U], DenseParams> {
  if (!Number.isInteger(units) || units <= 0) throw new ShapeError('dense', `units must be a positive integer, got ${units}`);
  const kernelInit = opts.kernelInit ?? 'glorotNormal';
  const biasInit = opts.biasInit ?? 'zeros';
  const name = `dense(${units})`;
  const spec: Record<string, unknown> = { type: 'dense', units };
  if (opts.inputs !== undefined) spec.inputs = opts.inputs;
  if (opts.kernelInit) spec.kernelInit = opts.kernelInit;
  if (opts.biasInit) spec.biasInit = opts.biasInit;
  if (opts.dtype) spec.dtype = opts.dtype;
  // ValueOf of a generic shape type stays unresolved inside the body; the declared return type carries the shapes
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return makeLayer<any, any, DenseParams>({
    name,
    spec: spec as { type: string },
    init: (key, s) => {
      const shape = single(name, s);
      if (shape.length < 1) throw new ShapeError(name, `expects an input of rank ≥ 1 [..., features], got ${fmt(shape)}`);
      const fin = shape[shape.length - 1]!;
      if (opts.inputs !== undefined && fin !== opts.inputs)
        throw new ShapeError(name, `expects input [..., ${opts.inputs}], got ${fmt(shape)}`);
      if (!(fin > 0)) throw new ShapeError(name, `input features must be known and positive, got ${fmt(shape)}`);
      const [kw, kb] = split(key, 2);
      const W = initializers[kernelInit](kw!, [units, fin], fin, units, opts.dtype);
      const b = initializers[biasInit](kb!, [units], fin, units, opts.dtype);
      return { params: { W, b }, outputShape: [...shape.slice(0, -1), units] };
    },
    apply: (p, x) => {
      const t = x as Tensor;
      if (t.ndim === 2) return add(matmul(t, matrixTranspose(p.W)), p.b);
      const lead = t.shape.slice(0, -1);
      const y = add(matmul(reshapeOp(t, [-1, t.shape[t.ndim - 1]!]), matrixTranspose(p.W)), p.b);
      return reshapeOp(y, [...lead, p.W.shape[0]!]);
    },
  });
}

function activation(name: string, f: (x: Tensor) => Tensor): Layer<Same, Same, NoParams> {
  return makeLayer<Same, Same, NoParams>({
    name,
    spec: { type: name },
    init: (_k, s) => ({ params: noParams, outputShape: single(name, s) }),
    apply: (_p, x) => f(x),
  });
}

/** ReLU layer, max(x, 0) elementwise. */
export const relu = activation('relu', reluOp);
/** Sigmoid layer, 1 / (1 + e^−x) elementwise. */
export const sigmoid = activation('sigmoid', sigmoidOp);
/** tanh layer, elementwise. */
export const tanh = activation('tanh', tanhOp);
/** softmax over the last axis. */
export const softmax = activation('softmax', (x) => softmaxOp(x, -1));
/** log-softmax over the last axis. */
export const logSoftmax = activation('logSoftmax', (x) => logSoftmaxOp(x, -1));

/** Flatten every axis after the batch axis: [N, ...] -> [N, prod(...)]. */
export const flatten: Layer<ShapeT, readonly [number, number], NoParams> = makeLayer<ShapeT, readonly [number, number], NoParams>({
  name: 'flatten',
  spec: { type: 'flatten' },
  init: (_k, s) => {
    const shape = single('flatten', s);
    if (shape.length < 1) throw new ShapeError('flatten', `expects a batch axis, got ${fmt(shape)}`);
    return { params: noParams, outputShape: [shape[0]!, sizeOf(shape.slice(1))] };
  },
  apply: (_p, x) => reshapeOp(x as Tensor, [(x as Tensor).shape[0]!, -1]),
});

/**
 * Inverted dropout: while `ctx.training`, zero each element with probability
 * `rate` (mask drawn from ctx.key) and scale the rest by 1/(1-rate); the
 * identity otherwise. Training without a key is an error (randomness is explicit).
 */
export function dropout(rate: number): Layer<Same, Same, NoParams> {
  if (!(rate >= 0 && rate < 1)) throw new ShapeError('dropout', `rate must be in [0, 1), got ${rate}`);
  return makeLayer<Same, Same, NoParams>({
    name: `dropout(${rate})`,
    spec: { type: 'dropout', rate },
    init: (_k, s) => ({ params: noParams, outputShape: single('dropout', s) }),
    apply: (_p, x, ctx) => {
      if (!ctx?.training || rate === 0) return x;
      if (!ctx.key) throw new ShapeError('dropout', 'training mode needs ctx.key (a PRNG key) to draw the mask');
      const mask = bernoulli(ctx.key, 1 - rate, x.shape, { dtype: x.dtype === 'f64' ? 'f64' : 'f32' });
      return div(mul(x, mask), 1 - rate);
    },
  });
}

/** Reshape every example (the batch axis is kept): [N, ...] -> [N, ...shape]. */
export function reshape<const S extends readonly number[]>(shape: S): Layer<ShapeT, readonly [number, ...S], NoParams> {
  const per = sizeOf(shape);
  const name = `reshape([${shape.join(',')}])`;
  // ValueOf of a generic shape type stays unresolved inside the body; the declared return type carries the shapes
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return makeLayer<any, any, NoParams>({
    name,
    spec: { type: 'reshape', shape: [...shape] },
    init: (_k, s) => {
      const sh = single(name, s);
      const n = sizeOf(sh.slice(1));
      if (sh.length < 1 || n !== per)
        throw new ShapeError(name, `cannot reshape examples of ${fmt(sh)} (${n} values each) to [${shape.join(',')}] (${per})`);
      return { params: noParams, outputShape: [sh[0]!, ...shape] };
    },
    apply: (_p, x) => reshapeOp(x as Tensor, [(x as Tensor).shape[0]!, ...shape]),
  });
}
