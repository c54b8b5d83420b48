/**
 * Convolution and pooling on NHWC tensors with HWIO filters.
 *
 * - `conv2d(x, w, { stride, padding, dilation, groups })`: x [N, H, W, Cin],
 *   w [kh, kw, Cin / groups, Cout]; the `conv2d` primitive (src/ops/conv.ts).
 *   Padding 'valid' (default), 'same' (TensorFlow's and JAX's rule: output
 *   ⌈size / stride⌉, total padding max((out − 1)·stride + dilation·(k − 1) + 1 − size, 0),
 *   the odd one after) or explicit [[top, bottom], [left, right]].
 * - `convTranspose2d(x, w, { stride, padding, dilation })`: w [kh, kw, Cin, Cout]
 *   (Cin: the channels of x), not flipped; y[n, i·s + a, j·s + b, o] += x[n, i, j, c] · w[a, b, c, o]
 *   (PyTorch's and TensorFlow's transposed convolution), built on the
 *   `conv2dInputGrad` primitive with w's channel axes swapped.
 * - `conv1d(x, w, opts)`: x [N, W, Cin], w [k, Cin / groups, Cout], through conv2d with a unit height.
 * - `maxPool2d(x, { window, stride, padding })`, `avgPool2d(...)`: 'valid' or
 *   'same' windows (stride defaults to the window); the padding is ignored by
 *   the max and not counted in the averages. Composites of pad, slice,
 *   reshape, max and sum, so their derivatives come from those primitives.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { fmt } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import { add, div, where } from '../ops/elementwise.js';
import { conv2dGeneral, conv2dInputGrad, type ConvParams } from '../ops/conv.js';
import { onesLike } from '../ops/creation.js';
import { max, sum } from '../ops/reduce.js';
import { pad, reshape, slice, stack, transpose } from '../ops/structural.js';
import { isMultiShape, makeLayer, noParams, type Layer, type NoParams } from './layer.js';
import { fmtShape } from './combinators.js';
import { initializers, type InitializerName } from './initializers.js';
import { split } from './random.js';

/** Explicit zero padding of a 2-D convolution: [[top, bottom], [left, right]]. */
export type ExplicitPadding = readonly [readonly [number, number], readonly [number, number]];
/**
 * Convolution padding: 'valid' (no padding), 'same' (output `ceil(size / stride)`, the odd pad after, as in
 * TensorFlow and JAX) or explicit [[top, bottom], [left, right]].
 */
export type Padding = 'valid' | 'same' | ExplicitPadding;
/** Pooling padding: 'valid' or 'same' (padding ignored by the max, not counted in the mean). */
export type PoolPadding = 'valid' | 'same';
/** A window, kernel, stride or dilation size: one number for both spatial axes or `[height, width]`. */
export type Pair = number | readonly [number, number];
const pair = (op: string, name: string, v: Pair): [number, number] => {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1))
    throw new ShapeError(op, `${name} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
};

/**
 * Output size and (lo, hi) padding of one spatial axis for a kernel (or window) of size `k`, stride `s`,
 * dilation `d` (default 1): 'same' pads max((out − 1)·s + d·(k − 1) + 1 − size, 0) in total, the odd one after.
 */
export function convAxis(
  op: string,
  size: number,
  k: number,
  s: number,
  padding: 'valid' | 'same',
  d = 1,
): { out: number; lo: number; hi: number } {
  const dk = d * (k - 1) + 1;
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + dk - size, 0);
    return { out, lo: Math.floor(total / 2), hi: total - Math.floor(total / 2) };
  }
  if (padding !== 'valid') throw new ShapeError(op, `padding must be 'valid' or 'same', got '${String(padding)}'`);
  if (size < dk) throw new ShapeError(op, `window ${dk} is larger than the input size ${size} ('valid' padding)`);
  return { out: Math.floor((size - dk) / s) + 1, lo: 0, hi: 0 };
}

/** The explicit padding of a spec, checked: non-negative integers. */
function explicitPads(op: string, p: unknown): [[number, number], [number, number]] {
  const ok =
    Array.isArray(p) &&
    p.length === 2 &&
    p.every((q) => Array.isArray(q) && q.length === 2 && q.every((v) => Number.isInteger(v) && (v as number) >= 0));
  if (!ok)
    throw new ShapeError(
      op,
      `padding must be 'valid', 'same' or [[top, bottom], [left, right]] of non-negative integers, got ${JSON.stringify(p)}`,
    );
  const q = p as [[number, number], [number, number]];
  return [
    [q[0][0], q[0][1]],
    [q[1][0], q[1][1]],
  ];
}

/** The pads of a convolution of an [H, W] input by a [kh, kw] kernel (ShapeError naming `op` when it does not fit). */
function convPads(
  op: string,
  size: readonly [number, number],
  k: readonly [number, number],
  s: readonly [number, number],
  d: readonly [number, number],
  padding: Padding,
): ConvParams['pads'] {
  if (typeof padding !== 'string') return explicitPads(op, padding);
  const ah = convAxis(op, size[0], k[0], s[0], padding, d[0]);
  const aw = convAxis(op, size[1], k[1], s[1], padding, d[1]);
  return [
    [ah.lo, ah.hi],
    [aw.lo, aw.hi],
  ];
}

/** x[:, i + sh·a, j + sw·b, :] for a < oh, b < ow: one strided window position of every patch. */
function strided(x: Tensor, i: number, j: number, oh: number, ow: number, sh: number, sw: number): Tensor {
  const [n, , , c] = x.shape as [number, number, number, number];
  let t = slice(x, [0, i, j, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, c]);
  if (sh === 1 && sw === 1) return t;
  t = pad(t, [
    [0, 0],
    [0, sh - 1],
    [0, sw - 1],
    [0, 0],
  ]);
  t = reshape(t, [n, oh, sh, ow, sw, c]);
  return reshape(slice(t, [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]), [n, oh, ow, c]);
}

/** Options of the functional `conv2d`: stride, dilation (default 1), padding (default 'valid') and feature groups (default 1). */
export interface Conv2dOptions {
  readonly stride?: Pair;
  readonly padding?: Padding;
  readonly dilation?: Pair;
  readonly groups?: number;
}

const rank4 = (op: string, x: Tensor, what: string, layout: string): void => {
  if (x.ndim !== 4) throw new ShapeError(op, `${what} must be ${layout} (rank 4), got ${fmt(x.shape)}`);
};

/**
 * 2-D convolution (cross-correlation), NHWC input [N, H, W, Cin], HWIO weights [kh, kw, Cin / groups, Cout]:
 * y[n,i,j,o] = Σ_{a,b,c} x[n, i·sh + a·dh − top, j·sw + b·dw − left, g·Cin/G + c] · w[a,b,c,o] with g the group
 * of o. Bilinear: x̄ = conv2dInputGrad(ȳ, w), w̄ = conv2dFilterGrad(x, ȳ) (src/ops/conv.ts).
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  rank4(op, x, 'input', 'NHWC');
  rank4(op, w, 'weights', '[kh, kw, cin/groups, cout]');
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(op, `groups must be a positive integer, got ${JSON.stringify(groups)}`);
  const cin = x.shape[3]!;
  if (groups === 1 && w.shape[2] !== cin)
    throw new ShapeError(op, `input channels differ: input ${fmt(x.shape)} has ${cin}, weights ${fmt(w.shape)} expect ${w.shape[2]}`);
  const stride = pair(op, 'stride', opts.stride ?? 1);
  const dilation = pair(op, 'dilation', opts.dilation ?? 1);
  const pads = convPads(op, [x.shape[1]!, x.shape[2]!], [w.shape[0]!, w.shape[1]!], stride, dilation, opts.padding ?? 'valid');
  return conv2dGeneral(x, w, { stride, dilation, pads, groups });
}

/** Options of `convTranspose2d`: stride, dilation (default 1) and padding (default 'valid'; explicit pads crop the full output). */
export interface ConvTranspose2dOptions {
  readonly stride?: Pair;
  readonly padding?: Padding;
  readonly dilation?: Pair;
}

/**
 * Transposed 2-D convolution (PyTorch's and TensorFlow's), NHWC input [N, H, W, Cin], weights [kh, kw, Cin, Cout]
 * (not flipped): y[n, i·sh + a·dh, j·sw + b·dw, o] += x[n,i,j,c] · w[a,b,c,o] on the full output of size
 * (in − 1)·stride + dilation·(k − 1) + 1 ('valid'), then cropped: 'same' gives in·stride (crops
 * max(dk − stride, 0) in total, ⌊half⌋ at the start and the rest at the end, which makes it the transpose of a
 * 'same' conv2d with input size in·stride); explicit [[top, bottom], [left, right]] crops those amounts.
 * The `conv2dInputGrad` primitive with w's channel axes swapped, so its derivatives are conv2d and conv2dFilterGrad.
 */
export function convTranspose2d(x: Tensor, w: Tensor, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  rank4(op, x, 'input', 'NHWC');
  rank4(op, w, 'weights', '[kh, kw, cin, cout]');
  if (w.shape[2] !== x.shape[3])
    throw new ShapeError(
      op,
      `input channels differ: input ${fmt(x.shape)} has ${x.shape[3]}, weights ${fmt(w.shape)} expect ${w.shape[2]}`,
    );
  const stride = pair(op, 'stride', opts.stride ?? 1);
  const dilation = pair(op, 'dilation', opts.dilation ?? 1);
  const padding = opts.padding ?? 'valid';
  const k = [w.shape[0]!, w.shape[1]!];
  const ins = [x.shape[1]!, x.shape[2]!];
  const full = ins.map((v, d) => (v - 1) * stride[d]! + dilation[d]! * (k[d]! - 1) + 1);
  let pads: [[number, number], [number, number]];
  let size: [number, number];
  if (padding === 'valid') {
    pads = [
      [0, 0],
      [0, 0],
    ];
    size = [full[0]!, full[1]!];
  } else if (padding === 'same') {
    size = [ins[0]! * stride[0], ins[1]! * stride[1]];
    const crop = full.map((f, d) => Math.max(f - size[d]!, 0));
    pads = [
      [Math.floor(crop[0]! / 2), crop[0]! - Math.floor(crop[0]! / 2)],
      [Math.floor(crop[1]! / 2), crop[1]! - Math.floor(crop[1]! / 2)],
    ];
  } else {
    pads = explicitPads(op, padding);
    size = [full[0]! - pads[0][0] - pads[0][1], full[1]! - pads[1][0] - pads[1][1]];
    if (size[0] < 1 || size[1] < 1)
      throw new ShapeError(
        op,
        `cropping ${JSON.stringify(padding)} leaves nothing of the full output [${full}] (input ${fmt(x.shape)}, weights ${fmt(w.shape)})`,
      );
  }
  return conv2dInputGrad(x, transpose(w, [0, 1, 3, 2]), { stride, dilation, pads, groups: 1, inputSize: size });
}

/** Options of `conv1d`: stride, dilation (default 1), padding ('valid' default, 'same' or [left, right]) and groups. */
export interface Conv1dOptions {
  readonly stride?: number;
  readonly padding?: 'valid' | 'same' | readonly [number, number];
  readonly dilation?: number;
  readonly groups?: number;
}

/** 1-D convolution, NWC input [N, W, Cin], weights [k, Cin / groups, Cout]: conv2d with a unit height. */
export function conv1d(x: Tensor, w: Tensor, opts: Conv1dOptions = {}): Tensor {
  const op = 'conv1d';
  if (x.ndim !== 3) throw new ShapeError(op, `input must be NWC (rank 3), got ${fmt(x.shape)}`);
  if (w.ndim !== 3) throw new ShapeError(op, `weights must be [k, cin/groups, cout], got ${fmt(w.shape)}`);
  const [n, wd, c] = x.shape as [number, number, number];
  const [k, cg, co] = w.shape as [number, number, number];
  const padding: Padding = typeof opts.padding === 'object' ? [[0, 0], opts.padding] : (opts.padding ?? 'valid');
  const y = conv2d(reshape(x, [n, 1, wd, c]), reshape(w, [1, k, cg, co]), {
    stride: [1, opts.stride ?? 1],
    dilation: [1, opts.dilation ?? 1],
    padding,
    ...(opts.groups !== undefined ? { groups: opts.groups } : {}),
  });
  return reshape(y, [n, y.shape[2]!, co]);
}

/** Options of the functional pooling ops: the window, the stride (default: the window) and the padding (default 'valid'). */
export interface PoolOptions {
  readonly window: Pair;
  readonly stride?: Pair;
  readonly padding?: PoolPadding;
}

/** The windows of x ([N, H, W, C]) reduced by `reduceWindows` over the window axes it is given. */
function windows(
  x: Tensor,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  oh: number,
  ow: number,
  reduceWindows: (t: Tensor, axes: number[]) => Tensor,
): Tensor {
  const [n, , , c] = x.shape as [number, number, number, number];
  if (sh === kh && sw === kw && x.shape[1]! >= oh * kh && x.shape[2]! >= ow * kw) {
    // non-overlapping windows: crop, split each spatial axis in two, reduce the window axes
    const whole = x.shape[1] === oh * kh && x.shape[2] === ow * kw;
    const cropped = whole ? x : slice(x, [0, 0, 0, 0], [n, oh * kh, ow * kw, c]);
    return reduceWindows(reshape(cropped, [n, oh, kh, ow, kw, c]), [2, 4]);
  }
  const wins: Tensor[] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) wins.push(strided(x, i, j, oh, ow, sh, sw));
  return reduceWindows(stack(wins, -1), [4]);
}

function pool(op: 'maxPool2d' | 'avgPool2d', x: Tensor, opts: PoolOptions): Tensor {
  rank4(op, x, 'input', 'NHWC');
  const [, h, wd] = x.shape as [number, number, number, number];
  const [kh, kw] = pair(op, 'window', opts.window);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? opts.window);
  const padding = opts.padding ?? 'valid';
  const ah = convAxis(op, h, kh, sh, padding);
  const aw = convAxis(op, wd, kw, sw, padding);
  const widths: [number, number][] = [
    [0, 0],
    [ah.lo, ah.hi],
    [aw.lo, aw.hi],
    [0, 0],
  ];
  const padded = ah.lo + ah.hi + aw.lo + aw.hi > 0;
  if (op === 'maxPool2d') {
    // padding never wins the max: -∞ where the padded input is padding (every window holds an input element)
    const xp = padded ? where(pad(onesLike(x), widths), pad(x, widths), -Infinity) : x;
    return windows(xp, kh, kw, sh, sw, ah.out, aw.out, (t, axes) => max(t, axes));
  }
  const total = windows(padded ? pad(x, widths) : x, kh, kw, sh, sw, ah.out, aw.out, (t, axes) => sum(t, axes));
  if (!padded) return div(total, kh * kw);
  // mean over the input elements of each window: divide by the window sums of a padded mask of ones
  const ones = onesLike(slice(x, [0, 0, 0, 0], [1, h, wd, 1]));
  const counts = windows(pad(ones, widths), kh, kw, sh, sw, ah.out, aw.out, (t, axes) => sum(t, axes));
  return div(total, counts);
}

/** Max over each window ('valid' or 'same'; padding is ignored); the derivative goes to the first maximal element. */
export const maxPool2d = (x: Tensor, opts: PoolOptions): Tensor => pool('maxPool2d', x, opts);
/** Mean over each window ('valid' or 'same'; padding is not counted). */
export const avgPool2d = (x: Tensor, opts: PoolOptions): Tensor => pool('avgPool2d', x, opts);

// ---- layers ----

/** Parameters of a `conv2d` layer: HWIO weights and a bias per output channel. */
export interface Conv2dParams {
  /** [kh, kw, cin / groups, cout] */
  readonly W: Tensor;
  /** [cout] */
  readonly b: Tensor;
}

/**
 * Options of the `conv2d` layer: stride, padding ('valid' or 'same'), dilation, feature groups, the declared input
 * channels and the weight initialiser (default 'heNormal').
 */
export interface Conv2dLayerOptions<C extends number> extends Omit<Conv2dOptions, 'padding'> {
  readonly padding?: 'valid' | 'same';
  /** Declared input channels (checked by init and, when a literal, by the type checker). */
  readonly inputs?: C;
  readonly kernelInit?: InitializerName;
}

type NHWC<C extends number = number> = readonly [number, number, number, C];

/**
 * Convolution layer: `filters` output channels, a `kernel` window, He-normal weights, zero bias.
 *
 * @example
 * ```ts
 * const cnn = nn.serial(nn.conv2d(8, 3, { padding: 'same' }), nn.relu, nn.maxPool2d(2), nn.flatten, nn.dense(10));
 * const { params } = cnn.init(nn.random.key(0), [-1, 28, 28, 1]); // NHWC input
 * ```
 */
export function conv2dLayer<const F extends number, const C extends number = number>(
  filters: F,
  kernel: Pair,
  opts: Conv2dLayerOptions<C> = {},
): Layer<NHWC<C>, NHWC<F>, Conv2dParams> {
  const [kh, kw] = pair('conv2d', 'kernel', kernel);
  const padding = opts.padding ?? 'valid';
  const [sh, sw] = pair('conv2d', 'stride', opts.stride ?? 1);
  const [dh, dw] = pair('conv2d', 'dilation', opts.dilation ?? 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1)
    throw new ShapeError('conv2d', `groups must be a positive integer, got ${JSON.stringify(groups)}`);
  if (filters % groups !== 0) throw new ShapeError('conv2d', `${filters} filters are not divisible by groups ${groups}`);
  const dilated = dh * dw > 1;
  const name =
    `conv2d(${filters}, ${kh}x${kw}${sh * sw > 1 ? `, stride ${sh}x${sw}` : ''}` +
    `${dilated ? `, dilation ${dh}x${dw}` : ''}${groups > 1 ? `, groups ${groups}` : ''}, ${padding})`;
  const kinit = opts.kernelInit ?? 'heNormal';
  // ValueOf of a generic shape type stays unresolved inside the body; the declared return type carries the shapes
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return makeLayer<any, any, Conv2dParams>({
    name,
    spec: {
      type: 'conv2d',
      filters,
      kernel: [kh, kw],
      stride: [sh, sw],
      padding,
      ...(dilated ? { dilation: [dh, dw] } : {}),
      ...(groups > 1 ? { groups } : {}),
      ...(opts.inputs !== undefined ? { inputs: opts.inputs } : {}),
      ...(opts.kernelInit ? { kernelInit: opts.kernelInit } : {}),
    },
    init: (key, s) => {
      if (isMultiShape(s) || s.length !== 4) throw new ShapeError(name, `expects an NHWC input [N, H, W, C], got ${fmtShape(s)}`);
      const [nb, h, w, c] = s as readonly number[] as [number, number, number, number];
      if (opts.inputs !== undefined && c !== opts.inputs)
        throw new ShapeError(name, `expects ${opts.inputs} input channels, got ${fmtShape(s)}`);
      if (c % groups !== 0) throw new ShapeError(name, `${c} input channels are not divisible by groups ${groups}`);
      const ah = convAxis(name, h, kh, sh, padding, dh);
      const aw = convAxis(name, w, kw, sw, padding, dw);
      const [k1, k2] = split(key, 2);
      const fanIn = kh * kw * (c / groups);
      return {
        params: {
          W: initializers[kinit](k1!, [kh, kw, c / groups, filters], fanIn, (kh * kw * filters) / groups),
          b: initializers.zeros(k2!, [filters], fanIn, filters),
        },
        outputShape: [nb, ah.out, aw.out, filters],
      };
    },
    apply: (p, x) => add(conv2d(x as Tensor, p.W, { stride: [sh, sw], padding, dilation: [dh, dw], groups }), p.b),
  });
}

function poolLayer(
  kind: 'maxPool2d' | 'avgPool2d',
  window: Pair,
  stride?: Pair,
  padding: PoolPadding = 'valid',
): Layer<NHWC, NHWC, NoParams> {
  const [kh, kw] = pair(kind, 'window', window);
  const [sh, sw] = pair(kind, 'stride', stride ?? window);
  const name = `${kind}(${kh}x${kw}${sh !== kh || sw !== kw ? `, stride ${sh}x${sw}` : ''}${padding === 'same' ? ', same' : ''})`;
  const f = kind === 'maxPool2d' ? maxPool2d : avgPool2d;
  return makeLayer<NHWC, NHWC, NoParams>({
    name,
    spec: { type: kind, window: [kh, kw], stride: [sh, sw], ...(padding === 'same' ? { padding } : {}) },
    init: (_k, s) => {
      if (isMultiShape(s) || s.length !== 4) throw new ShapeError(name, `expects an NHWC input [N, H, W, C], got ${fmtShape(s)}`);
      const [nb, h, w, c] = s as readonly number[] as [number, number, number, number];
      return { params: noParams, outputShape: [nb, convAxis(name, h, kh, sh, padding).out, convAxis(name, w, kw, sw, padding).out, c] };
    },
    apply: (_p, x) => f(x as Tensor, { window: [kh, kw], stride: [sh, sw], padding }),
  });
}

/**
 * Max-pooling layer on NHWC inputs ('valid' windows by default, or 'same'; stride defaults to the window); exported
 * from `cotangent/nn` as `maxPool2d`.
 */
export const maxPool2dLayer = (window: Pair, stride?: Pair, padding?: PoolPadding): Layer<NHWC, NHWC, NoParams> =>
  poolLayer('maxPool2d', window, stride, padding);
/**
 * Average-pooling layer on NHWC inputs ('valid' windows by default, or 'same', padding not counted; stride defaults
 * to the window); exported from `cotangent/nn` as `avgPool2d`.
 */
export const avgPool2dLayer = (window: Pair, stride?: Pair, padding?: PoolPadding): Layer<NHWC, NHWC, NoParams> =>
  poolLayer('avgPool2d', window, stride, padding);
