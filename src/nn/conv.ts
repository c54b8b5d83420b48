/**
 * Convolution and pooling on NHWC tensors, built as composites of existing
 * primitives (pad, slice, reshape, concat, matmul, max, sum), so their
 * derivatives come from primitives that already pass the laws and they run on
 * every backend with no new kernels.
 *
 * - `conv2d(x, w, { stride, padding })`: x [N, H, W, Cin], w [kh, kw, Cin, Cout]
 *   (HWIO), padding 'valid' (default) or 'same' (TensorFlow's rule: output
 *   ceil(H / stride), the extra pad goes after); im2col then one matmul.
 * - `maxPool2d(x, { window, stride })`, `avgPool2d(...)`: 'valid' windows,
 *   stride defaults to the window.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { fmt } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import { add } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { max, sum } from '../ops/reduce.js';
import { concat, pad, reshape, slice, stack } from '../ops/structural.js';
import { div } from '../ops/elementwise.js';
import { isMultiShape, makeLayer, noParams, type Layer, type NoParams } from './layer.js';
import { fmtShape } from './combinators.js';
import { initializers, type InitializerName } from './initializers.js';
import { split } from './random.js';

/** Convolution padding: 'valid' (no padding) or 'same' (output `ceil(size / stride)`, the odd pad after, as in TensorFlow). */
export type Padding = 'valid' | 'same';
/** A window, kernel or stride size: one number for both spatial axes or `[height, width]`. */
export type Pair = number | readonly [number, number];
const pair = (op: string, name: string, v: Pair): [number, number] => {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1))
    throw new ShapeError(op, `${name} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
};

/** Output size and (lo, hi) padding of one spatial axis. */
export function convAxis(op: string, size: number, k: number, s: number, padding: Padding): { out: number; lo: number; hi: number } {
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + k - size, 0);
    return { out, lo: Math.floor(total / 2), hi: total - Math.floor(total / 2) };
  }
  if (padding !== 'valid') throw new ShapeError(op, `padding must be 'valid' or 'same', got '${String(padding)}'`);
  if (size < k) throw new ShapeError(op, `window ${k} is larger than the input size ${size} ('valid' padding)`);
  return { out: Math.floor((size - k) / s) + 1, lo: 0, hi: 0 };
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

/** Options of the functional `conv2d`: stride (default 1) and padding (default 'valid'). */
export interface Conv2dOptions {
  readonly stride?: Pair;
  readonly padding?: Padding;
}

/** 2-D convolution (cross-correlation), NHWC input, HWIO weights. */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  if (x.ndim !== 4) throw new ShapeError(op, `input must be NHWC (rank 4), got ${fmt(x.shape)}`);
  if (w.ndim !== 4) throw new ShapeError(op, `weights must be [kh, kw, cin, cout], got ${fmt(w.shape)}`);
  const [n, h, wd, cin] = x.shape as [number, number, number, number];
  const [kh, kw, wcin, cout] = w.shape as [number, number, number, number];
  if (wcin !== cin)
    throw new ShapeError(op, `input channels differ: input ${fmt(x.shape)} has ${cin}, weights ${fmt(w.shape)} expect ${wcin}`);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? 1);
  const padding = opts.padding ?? 'valid';
  const ah = convAxis(op, h, kh, sh, padding);
  const aw = convAxis(op, wd, kw, sw, padding);
  const xp =
    ah.lo + ah.hi + aw.lo + aw.hi > 0
      ? pad(x, [
          [0, 0],
          [ah.lo, ah.hi],
          [aw.lo, aw.hi],
          [0, 0],
        ])
      : x;
  const cols: Tensor[] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) cols.push(strided(xp, i, j, ah.out, aw.out, sh, sw));
  const patches = concat(cols, -1); // [n, oh, ow, kh·kw·cin], ordered (i, j, c) like w
  const y = matmul(reshape(patches, [n * ah.out * aw.out, kh * kw * cin]), reshape(w, [kh * kw * cin, cout]));
  return reshape(y, [n, ah.out, aw.out, cout]);
}

/** Options of the functional pooling ops: the window and the stride (default: the window). */
export interface PoolOptions {
  readonly window: Pair;
  readonly stride?: Pair;
}

function pool(op: string, x: Tensor, opts: PoolOptions, reduceWindows: (t: Tensor, axes: number[]) => Tensor): Tensor {
  if (x.ndim !== 4) throw new ShapeError(op, `input must be NHWC (rank 4), got ${fmt(x.shape)}`);
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [kh, kw] = pair(op, 'window', opts.window);
  const [sh, sw] = pair(op, 'stride', opts.stride ?? opts.window);
  const ah = convAxis(op, h, kh, sh, 'valid');
  const aw = convAxis(op, wd, kw, sw, 'valid');
  if (sh === kh && sw === kw) {
    // non-overlapping windows: crop, split each spatial axis in two, reduce the window axes
    const cropped = slice(x, [0, 0, 0, 0], [n, ah.out * kh, aw.out * kw, c]);
    return reduceWindows(reshape(cropped, [n, ah.out, kh, aw.out, kw, c]), [2, 4]);
  }
  const wins: Tensor[] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) wins.push(strided(x, i, j, ah.out, aw.out, sh, sw));
  return reduceWindows(stack(wins, -1), [4]);
}

/** Max over each window ('valid'); the derivative goes to the first maximal element. */
export const maxPool2d = (x: Tensor, opts: PoolOptions): Tensor => pool('maxPool2d', x, opts, (t, axes) => max(t, axes));
/** Mean over each window ('valid'). */
export const avgPool2d = (x: Tensor, opts: PoolOptions): Tensor => {
  const [kh, kw] = pair('avgPool2d', 'window', opts.window);
  return pool('avgPool2d', x, opts, (t, axes) => div(sum(t, axes), kh * kw));
};

// ---- layers ----

/** Parameters of a `conv2d` layer: HWIO weights and a bias per output channel. */
export interface Conv2dParams {
  /** [kh, kw, cin, cout] */
  readonly W: Tensor;
  /** [cout] */
  readonly b: Tensor;
}

/** Options of the `conv2d` layer: stride, padding, the declared input channels and the weight initialiser (default 'heNormal'). */
export interface Conv2dLayerOptions<C extends number> extends Conv2dOptions {
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
  const name = `conv2d(${filters}, ${kh}x${kw}${sh * sw > 1 ? `, stride ${sh}x${sw}` : ''}, ${padding})`;
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
      ...(opts.inputs !== undefined ? { inputs: opts.inputs } : {}),
      ...(opts.kernelInit ? { kernelInit: opts.kernelInit } : {}),
    },
    init: (key, s) => {
      if (isMultiShape(s) || s.length !== 4) throw new ShapeError(name, `expects an NHWC input [N, H, W, C], got ${fmtShape(s)}`);
      const [nb, h, w, c] = s as readonly number[] as [number, number, number, number];
      if (opts.inputs !== undefined && c !== opts.inputs)
        throw new ShapeError(name, `expects ${opts.inputs} input channels, got ${fmtShape(s)}`);
      const ah = convAxis(name, h, kh, sh, padding);
      const aw = convAxis(name, w, kw, sw, padding);
      const [k1, k2] = split(key, 2);
      const fanIn = kh * kw * c;
      return {
        params: {
          W: initializers[kinit](k1!, [kh, kw, c, filters], fanIn, kh * kw * filters),
          b: initializers.zeros(k2!, [filters], fanIn, filters),
        },
        outputShape: [nb, ah.out, aw.out, filters],
      };
    },
    apply: (p, x) => add(conv2d(x as Tensor, p.W, { stride: [sh, sw], padding }), p.b),
  });
}

function poolLayer(kind: 'maxPool2d' | 'avgPool2d', window: Pair, stride?: Pair): Layer<NHWC, NHWC, NoParams> {
  const [kh, kw] = pair(kind, 'window', window);
  const [sh, sw] = pair(kind, 'stride', stride ?? window);
  const name = `${kind}(${kh}x${kw}${sh !== kh || sw !== kw ? `, stride ${sh}x${sw}` : ''})`;
  const f = kind === 'maxPool2d' ? maxPool2d : avgPool2d;
  return makeLayer<NHWC, NHWC, NoParams>({
    name,
    spec: { type: kind, window: [kh, kw], stride: [sh, sw] },
    init: (_k, s) => {
      if (isMultiShape(s) || s.length !== 4) throw new ShapeError(name, `expects an NHWC input [N, H, W, C], got ${fmtShape(s)}`);
      const [nb, h, w, c] = s as readonly number[] as [number, number, number, number];
      return { params: noParams, outputShape: [nb, convAxis(name, h, kh, sh, 'valid').out, convAxis(name, w, kw, sw, 'valid').out, c] };
    },
    apply: (_p, x) => f(x as Tensor, { window: [kh, kw], stride: [sh, sw] }),
  });
}

/** Max-pooling layer on NHWC inputs ('valid' windows, stride defaults to the window); exported from `cotangent/nn` as `maxPool2d`. */
export const maxPool2dLayer = (window: Pair, stride?: Pair): Layer<NHWC, NHWC, NoParams> => poolLayer('maxPool2d', window, stride);
/** Average-pooling layer on NHWC inputs ('valid' windows, stride defaults to the window); exported from `cotangent/nn` as `avgPool2d`. */
export const avgPool2dLayer = (window: Pair, stride?: Pair): Layer<NHWC, NHWC, NoParams> => poolLayer('avgPool2d', window, stride);
