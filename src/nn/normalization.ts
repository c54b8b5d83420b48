/**
 * Normalisation: layer normalisation (statistics over the feature axes of
 * each example) and batch normalisation (statistics over the batch, per
 * feature, with running statistics for inference), as functions on tensors
 * and as layers. Variances are biased (divided by n), as in PyTorch.
 *
 * batchNorm's running statistics are layer state kept in its parameters
 * (`runningMean`, `runningVar`): in training mode (`ctx.training`) the layer
 * normalises with the batch's statistics and reports updated running ones,
 * which `applyWithState` returns in a new parameter tree; otherwise it
 * normalises with the running statistics.
 */
import type { Tensor } from '../tensor/Tensor.js';
import type { DType } from '../tensor/dtype.js';
import { fmt, normalizeAxes, normalizeAxis, shapesEqual } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import { add, div, mul, sqrt, sub } from '../ops/elementwise.js';
import { ones, zeros } from '../ops/creation.js';
import { mean } from '../ops/composite.js';
import { reshape, squeeze, stopGradient } from '../ops/structural.js';
import { isMultiShape, makeLayer, type Layer, type RShape, type Same } from './layer.js';
import { fmtShape } from './combinators.js';
import { reportState } from './state.js';

/** Options of `layerNorm`: the normalised axes (default the last) and ε added to the variance (default 1e-5). */
export interface LayerNormOptions {
  /** The axis or axes normalised over (negative counts from the end; default -1). */
  readonly axis?: number | readonly number[];
  /** Added to the variance before the square root (default 1e-5). */
  readonly eps?: number;
}

/** The mean and biased variance of `x` over `axes` (kept as size-1 axes). */
export function moments(x: Tensor, axes: number | readonly number[]): { mean: Tensor; variance: Tensor } {
  const m = mean(x, axes, { keepdims: true });
  const d = sub(x, m);
  return { mean: m, variance: mean(mul(d, d), axes, { keepdims: true }) };
}

/** `t` (of shape x.shape at `axes`) reshaped to broadcast against x: size-1 axes elsewhere. */
function alongAxes(op: string, what: string, t: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  const want = axes.map((a) => x.shape[a]!);
  if (!shapesEqual(t.shape, want))
    throw new ShapeError(op, `${what} ${fmt(t.shape)} must have the shape of the normalised axes ${fmt(want)} of x ${fmt(x.shape)}`);
  return reshape(
    t,
    x.shape.map((d, i) => (axes.includes(i) ? d : 1)),
  );
}

function checkEps(op: string, eps: number): void {
  if (!(eps >= 0 && Number.isFinite(eps))) throw new ShapeError(op, `eps must be a finite number ≥ 0, got ${eps}`);
}

/**
 * Layer normalisation: y = (x − mean) / √(var + ε) · γ + β, with the mean and the biased variance taken over `axis`
 * (one axis or several; default the last) for every position of the other axes. γ and β have the shape of the
 * normalised axes (pass `undefined` for either to leave it out).
 *
 * @example
 * ```ts
 * const y = nn.functional.layerNorm(x, gamma, beta); // x [batch, seq, dim], gamma and beta [dim]
 * ```
 */
export function layerNorm(x: Tensor, gamma: Tensor | undefined, beta: Tensor | undefined, opts: LayerNormOptions = {}): Tensor {
  const op = 'layerNorm';
  const eps = opts.eps ?? 1e-5;
  checkEps(op, eps);
  if (x.ndim < 1) throw new ShapeError(op, `x must have rank ≥ 1, got ${fmt(x.shape)}`);
  const axes = normalizeAxes(op, opts.axis ?? -1, x.ndim);
  if (axes.length === 0) throw new ShapeError(op, 'at least one axis must be normalised');
  const { mean: m, variance: v } = moments(x, axes);
  let y = div(sub(x, m), sqrt(add(v, eps)));
  if (gamma) y = mul(y, alongAxes(op, 'gamma', gamma, x, axes));
  if (beta) y = add(y, alongAxes(op, 'beta', beta, x, axes));
  return y;
}

/** Options of the functional `batchNorm`. */
export interface BatchNormOptions {
  /** The feature axis (default -1): statistics are taken over every other axis. */
  readonly axis?: number;
  /** Added to the variance before the square root (default 1e-5). */
  readonly eps?: number;
  /** Normalise with this mean [features] instead of the batch's (inference). Give `variance` with it. */
  readonly mean?: Tensor;
  /** Normalise with this (biased) variance [features] instead of the batch's (inference). Give `mean` with it. */
  readonly variance?: Tensor;
}

/**
 * Batch normalisation: y = (x − μ) / √(σ² + ε) · γ + β per feature (the `axis` of x, default the last), where μ and
 * σ² are the mean and biased variance over every other axis (the batch), or the given `mean` and `variance`.
 * γ and β are [features] (pass `undefined` to leave either out).
 */
export function batchNorm(x: Tensor, gamma: Tensor | undefined, beta: Tensor | undefined, opts: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  const eps = opts.eps ?? 1e-5;
  checkEps(op, eps);
  if (x.ndim < 2) throw new ShapeError(op, `x must have a batch axis and a feature axis, got ${fmt(x.shape)}`);
  const ax = normalizeAxis(op, opts.axis ?? -1, x.ndim);
  const others = x.shape.map((_, i) => i).filter((i) => i !== ax);
  if ((opts.mean === undefined) !== (opts.variance === undefined))
    throw new ShapeError(op, 'give both mean and variance (inference) or neither (batch statistics)');
  let m: Tensor;
  let v: Tensor;
  if (opts.mean && opts.variance) {
    m = alongAxes(op, 'mean', opts.mean, x, [ax]);
    v = alongAxes(op, 'variance', opts.variance, x, [ax]);
  } else ({ mean: m, variance: v } = moments(x, others));
  let y = div(sub(x, m), sqrt(add(v, eps)));
  if (gamma) y = mul(y, alongAxes(op, 'gamma', gamma, x, [ax]));
  if (beta) y = add(y, alongAxes(op, 'beta', beta, x, [ax]));
  return y;
}

/** Parameters of a `layerNorm` layer: scale and offset of the normalised axes' shape. */
export interface LayerNormParams {
  readonly gamma: Tensor;
  readonly beta: Tensor;
}

/** Options of the `layerNorm` layer. */
export interface LayerNormLayerOptions extends LayerNormOptions {
  /** The parameters' dtype (default f32). */
  readonly dtype?: DType;
}

function one(name: string, s: RShape): readonly number[] {
  if (isMultiShape(s)) throw new ShapeError(name, `expects one input, got ${fmtShape(s)}`);
  return s as readonly number[];
}

/**
 * Layer normalisation layer over the last axis (or `axis`): γ starts at 1 and β at 0, both of the normalised axes'
 * shape (which must be known at init).
 *
 * @example
 * ```ts
 * const block = nn.serial(nn.layerNorm(), nn.dense(64)); // input [batch, seq, 64]
 * ```
 */
export function layerNormLayer(opts: LayerNormLayerOptions = {}): Layer<Same, Same, LayerNormParams> {
  const eps = opts.eps ?? 1e-5;
  checkEps('layerNorm', eps);
  const spec: Record<string, unknown> = { type: 'layerNorm' };
  if (opts.axis !== undefined) spec.axis = typeof opts.axis === 'number' ? opts.axis : [...opts.axis];
  if (opts.eps !== undefined) spec.eps = opts.eps;
  if (opts.dtype) spec.dtype = opts.dtype;
  const name = 'layerNorm';
  return makeLayer<Same, Same, LayerNormParams>({
    name,
    spec: spec as { type: string },
    init: (_k, s) => {
      const shape = one(name, s);
      if (shape.length < 1) throw new ShapeError(name, `expects an input of rank ≥ 1, got ${fmt(shape)}`);
      const axes = normalizeAxes(name, opts.axis ?? -1, shape.length);
      if (axes.length === 0) throw new ShapeError(name, 'at least one axis must be normalised');
      const pshape = axes.map((a) => shape[a]!);
      if (pshape.some((d) => !(d > 0)))
        throw new ShapeError(name, `the normalised axes must have known sizes, got ${fmt(pshape)} in input ${fmt(shape)}`);
      const dtype = { dtype: opts.dtype ?? 'f32' } as const;
      return { params: { gamma: ones(pshape, dtype), beta: zeros(pshape, dtype) }, outputShape: shape };
    },
    apply: (p, x) => layerNorm(x, p.gamma, p.beta, { ...(opts.axis !== undefined ? { axis: opts.axis } : {}), eps }),
  });
}

/**
 * Parameters of a `batchNorm` layer: scale γ and offset β (trained) and the running statistics (state, updated
 * through `applyWithState`), all [features].
 */
export interface BatchNormParams {
  readonly gamma: Tensor;
  readonly beta: Tensor;
  /** Running mean of the features (state; starts at 0). */
  readonly runningMean: Tensor;
  /** Running (unbiased) variance of the features (state; starts at 1). */
  readonly runningVar: Tensor;
}

/** Options of the `batchNorm` layer. */
export interface BatchNormLayerOptions {
  /**
   * Weight of the batch statistics in the running update (PyTorch's convention, default 0.1):
   * running ← (1 − momentum)·running + momentum·batch.
   */
  readonly momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  readonly eps?: number;
  /** The feature axis (default -1, e.g. channels last); statistics are taken over every other axis. */
  readonly axis?: number;
  /** The parameters' dtype (default f32). */
  readonly dtype?: DType;
}

/**
 * Batch normalisation layer. Training mode (`ctx.training`): normalises with the batch's mean and biased variance
 * over every axis but `axis`, and reports the new running statistics — running ← (1 − momentum)·running +
 * momentum·batch, the variance unbiased (n / (n − 1)) as in PyTorch — which `applyWithState` returns in a new
 * parameter tree (plain `apply` drops them). Inference (no ctx or `training: false`): normalises with the running
 * statistics. γ starts at 1, β at 0, the running mean at 0 and the running variance at 1.
 *
 * @example
 * ```ts
 * const model = nn.serial(nn.dense(32), nn.batchNorm(), nn.relu, nn.dense(10));
 * const { output, params: next } = nn.applyWithState(model, params, x); // training mode, new running statistics
 * ```
 */
export function batchNormLayer(opts: BatchNormLayerOptions = {}): Layer<Same, Same, BatchNormParams> {
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  const axis = opts.axis ?? -1;
  const name = `batchNorm(${momentum})`;
  if (!(momentum >= 0 && momentum <= 1)) throw new ShapeError('batchNorm', `momentum must be in [0, 1], got ${momentum}`);
  checkEps('batchNorm', eps);
  const spec: Record<string, unknown> = { type: 'batchNorm' };
  if (opts.momentum !== undefined) spec.momentum = opts.momentum;
  if (opts.eps !== undefined) spec.eps = opts.eps;
  if (opts.axis !== undefined) spec.axis = opts.axis;
  if (opts.dtype) spec.dtype = opts.dtype;
  return makeLayer<Same, Same, BatchNormParams>({
    name,
    spec: spec as { type: string },
    init: (_k, s) => {
      const shape = one(name, s);
      if (shape.length < 2) throw new ShapeError(name, `expects a batch axis and a feature axis, got ${fmt(shape)}`);
      const ax = normalizeAxis(name, axis, shape.length);
      if (ax === 0) throw new ShapeError(name, `the feature axis must not be the batch axis (axis ${axis} of ${fmt(shape)})`);
      const c = shape[ax]!;
      if (!(c > 0)) throw new ShapeError(name, `the feature axis must have a known size, got ${fmt(shape)}`);
      const dtype = { dtype: opts.dtype ?? 'f32' } as const;
      return {
        params: { gamma: ones([c], dtype), beta: zeros([c], dtype), runningMean: zeros([c], dtype), runningVar: ones([c], dtype) },
        outputShape: shape,
      };
    },
    apply: (p, x, ctx) => {
      if (!ctx?.training) return batchNorm(x, p.gamma, p.beta, { axis, eps, mean: p.runningMean, variance: p.runningVar });
      const ax = normalizeAxis(name, axis, x.ndim);
      const others = x.shape.map((_, i) => i).filter((i) => i !== ax);
      const n = others.reduce((a, i) => a * x.shape[i]!, 1);
      if (n < 2) throw new ShapeError(name, `training mode needs at least 2 values per feature, got input ${fmt(x.shape)}`);
      const { mean: m, variance: v } = moments(x, others);
      const y = batchNorm(x, p.gamma, p.beta, { axis, eps, mean: squeeze(m, others), variance: squeeze(v, others) });
      // the running statistics are state: updated from the batch, no derivative flows into them
      const bm = stopGradient(squeeze(m, others));
      const bv = mul(stopGradient(squeeze(v, others)), n / (n - 1));
      reportState(p, {
        runningMean: add(mul(p.runningMean, 1 - momentum), mul(bm, momentum)),
        runningVar: add(mul(p.runningVar, 1 - momentum), mul(bv, momentum)),
      });
      return y;
    },
  });
}
