/**
 * The convolution family: three bilinear primitives on NHWC inputs and HWIO
 * filters that close under differentiation, as in XLA (conv_general_dilated
 * and its two transposes).
 *
 * Parameters shared by all three (`ConvParams`): stride [sh, sw], dilation
 * [dh, dw], zero padding [[top, bottom], [left, right]] and feature groups G.
 * With Cg = Cin / G, Og = Cout / G, g = ⌊o / Og⌋ the group of output channel o,
 * row(i, a) = i·sh + a·dh − top and col(j, b) = j·sw + b·dw − left:
 * - `conv2d(x [N,H,W,Cin], w [kh,kw,Cg,Cout])` → y [N,Ho,Wo,Cout],
 *   y[n,i,j,o] = Σ_{a,b,c} x[n, row(i,a), col(j,b), g·Cg + c] · w[a,b,c,o]
 *   (reads outside x are 0; Ho = ⌊(H + top + bottom − dh·(kh − 1) − 1) / sh⌋ + 1);
 * - `conv2dInputGrad(gr [N,Ho,Wo,Cout], w)` → x̄ [N,H,W,Cin]: the transpose of
 *   conv2d in x (a transposed convolution), H and W given by `inputSize`;
 * - `conv2dFilterGrad(x, gr)` → w̄ [kh,kw,Cg,Cout]: the transpose of conv2d in w,
 *   kh and kw given by `kernelSize`.
 * All three are bilinear, so d op(a, b) = op(da, b) + op(a, db), and their
 * transposes are each other:
 *   conv2d(x, w):            x̄ = inputGrad(ȳ, w),   w̄ = filterGrad(x, ȳ)
 *   inputGrad(gr, w):        ḡr = conv2d(x̄', w),     w̄ = filterGrad(x̄', gr)
 *   filterGrad(x, gr):       x̄ = inputGrad(gr, w̄'), ḡr = conv2d(x, w̄')
 * (x̄', w̄': the incoming cotangents), from ⟨conv2d(x, w), gr⟩ = ⟨x, inputGrad(gr, w)⟩ = ⟨w, filterGrad(x, gr)⟩.
 */
import { convCpu, convFilterGradCpu, convInputGradCpu, type ConvGeometry } from '../backends/cpu/conv.js';
import { wasmConvFilterGrad, wasmConvForward, wasmConvInputGrad } from '../backends/wasm/convKernels.js';
import { webgpuConvFilterGrad, webgpuConvForward, webgpuConvInputGrad } from '../backends/webgpu/convKernels.js';
import type { Rules } from '../core/Primitive.js';
import { bind } from '../core/trace.js';
import type { Aval } from '../tensor/Aval.js';
import { fmt, type Shape } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { add } from './elementwise.js';
import { mapTangent, sumTangents, type Builtin } from './rules.js';
import { batchOps } from './structural.js';
import { toFront } from './batching.js';
import { requireFloat, sameDtype } from './util.js';
import { Zero } from '../core/Zero.js';

/** Stride, dilation, zero padding and feature groups of a 2-D convolution (every primitive of the family). */
export interface ConvParams {
  /** [sh, sw], positive. */
  readonly stride: readonly [number, number];
  /** [dh, dw], positive: kernel taps are dh rows and dw columns apart. */
  readonly dilation: readonly [number, number];
  /** [[top, bottom], [left, right]], non-negative: zeros around the input. */
  readonly pads: readonly [readonly [number, number], readonly [number, number]];
  /** Feature groups G (≥ 1, dividing the input and output channels). */
  readonly groups: number;
}

/** Parameters of `conv2dInputGrad`: those of the convolution and the spatial size [H, W] of its input (not implied by the output). */
export interface ConvInputGradParams extends ConvParams {
  readonly inputSize: readonly [number, number];
}

/** Parameters of `conv2dFilterGrad`: those of the convolution and the kernel's spatial size [kh, kw]. */
export interface ConvFilterGradParams extends ConvParams {
  readonly kernelSize: readonly [number, number];
}

/** Output size of one spatial axis of a convolution (may be ≤ 0 when the dilated kernel does not fit). */
export const convOutSize = (size: number, k: number, s: number, d: number, lo: number, hi: number): number =>
  Math.floor((size + lo + hi - d * (k - 1) - 1) / s) + 1;

const isPosInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1;
const isNat = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

/** A spatial size parameter (stride, dilation, inputSize, kernelSize): two positive integers. */
function checkSizePair(op: string, name: string, v: unknown): void {
  if (!Array.isArray(v) || v.length !== 2 || !v.every(isPosInt))
    throw new ShapeError(op, `${name} must be two positive integers, got ${JSON.stringify(v)}`);
}

/** Throws a ShapeError naming `op` unless the parameters are well formed. */
export function checkConvParams(op: string, p: ConvParams): void {
  const two = (v: unknown): v is readonly unknown[] => Array.isArray(v) && v.length === 2;
  checkSizePair(op, 'stride', p.stride);
  checkSizePair(op, 'dilation', p.dilation);
  if (!two(p.pads) || !p.pads.every((q) => two(q) && q.every(isNat)))
    throw new ShapeError(op, `pads must be [[top, bottom], [left, right]] of non-negative integers, got ${JSON.stringify(p.pads)}`);
  if (!isPosInt(p.groups)) throw new ShapeError(op, `groups must be a positive integer, got ${JSON.stringify(p.groups)}`);
}

const paramText = (p: ConvParams): string =>
  `stride ${fmt(p.stride)}, dilation ${fmt(p.dilation)}, pads ${JSON.stringify(p.pads)}, groups ${p.groups}`;

/** Checks channel counts against the groups; returns [Cg, Og]. */
function groupChannels(op: string, cin: number, cout: number, wShape: Shape, p: ConvParams, what: string): [number, number] {
  const G = p.groups;
  if (cin % G !== 0) throw new ShapeError(op, `${cin} input channels are not divisible by groups ${G} (${what})`);
  if (cout % G !== 0) throw new ShapeError(op, `${cout} output channels are not divisible by groups ${G} (${what})`);
  if (wShape[2] !== cin / G)
    throw new ShapeError(
      op,
      `weights ${fmt(wShape)} must have ${cin / G} input channels per group (${cin} channels, groups ${G}), got ${wShape[2]} (${what})`,
    );
  return [cin / G, cout / G];
}

/** Output spatial sizes of a convolution of an [H, W] input with a [kh, kw] kernel; a ShapeError when the dilated kernel does not fit. */
function outSizes(op: string, h: number, w: number, kh: number, kw: number, p: ConvParams, what: string): [number, number] {
  const ho = convOutSize(h, kh, p.stride[0], p.dilation[0], p.pads[0][0], p.pads[0][1]);
  const wo = convOutSize(w, kw, p.stride[1], p.dilation[1], p.pads[1][0], p.pads[1][1]);
  if (ho < 1 || wo < 1)
    throw new ShapeError(
      op,
      `the dilated kernel [${p.dilation[0] * (kh - 1) + 1},${p.dilation[1] * (kw - 1) + 1}] does not fit the padded input ` +
        `[${h + p.pads[0][0] + p.pads[0][1]},${w + p.pads[1][0] + p.pads[1][1]}] (${what})`,
    );
  return [ho, wo];
}

const rank4 = (op: string, name: string, x: Aval, layout: string): void => {
  if (x.shape.length !== 4) throw new ShapeError(op, `${name} must be ${layout} (rank 4), got ${fmt(x.shape)}`);
};

/** Shape rule of conv2d. */
function convShape([x, w]: readonly Aval[], p: ConvParams): Aval {
  const op = 'conv2d';
  checkConvParams(op, p);
  rank4(op, 'input', x!, 'NHWC');
  rank4(op, 'weights', w!, '[kh, kw, cin/groups, cout]');
  sameDtype(op, x!, w!);
  requireFloat(op, x!);
  const [n, h, wd, cin] = x!.shape as [number, number, number, number];
  const [kh, kw, , cout] = w!.shape as [number, number, number, number];
  const what = `input ${fmt(x!.shape)}, weights ${fmt(w!.shape)}, ${paramText(p)}`;
  groupChannels(op, cin, cout, w!.shape, p, what);
  const [ho, wo] = outSizes(op, h, wd, kh, kw, p, what);
  return { shape: [n, ho, wo, cout], dtype: x!.dtype };
}

/** Shape rule of conv2dInputGrad. */
function inputGradShape([g, w]: readonly Aval[], p: ConvInputGradParams): Aval {
  const op = 'conv2dInputGrad';
  checkConvParams(op, p);
  rank4(op, 'output gradient', g!, 'NHWC');
  rank4(op, 'weights', w!, '[kh, kw, cin/groups, cout]');
  sameDtype(op, g!, w!);
  requireFloat(op, g!);
  checkSizePair(op, 'inputSize', p.inputSize);
  const [n, ho, wo, cout] = g!.shape as [number, number, number, number];
  const [kh, kw, cg, wout] = w!.shape as [number, number, number, number];
  const [h, wd] = p.inputSize;
  const what = `output gradient ${fmt(g!.shape)}, weights ${fmt(w!.shape)}, inputSize ${fmt(p.inputSize)}, ${paramText(p)}`;
  if (wout !== cout) throw new ShapeError(op, `weights have ${wout} output channels, the output gradient ${cout} (${what})`);
  groupChannels(op, cg * p.groups, cout, w!.shape, p, what);
  const [eh, ew] = outSizes(op, h, wd, kh, kw, p, what);
  if (eh !== ho || ew !== wo)
    throw new ShapeError(op, `a convolution of an input of size ${fmt(p.inputSize)} gives [${eh},${ew}], not [${ho},${wo}] (${what})`);
  return { shape: [n, h, wd, cg * p.groups], dtype: g!.dtype };
}

/** Shape rule of conv2dFilterGrad. */
function filterGradShape([x, g]: readonly Aval[], p: ConvFilterGradParams): Aval {
  const op = 'conv2dFilterGrad';
  checkConvParams(op, p);
  rank4(op, 'input', x!, 'NHWC');
  rank4(op, 'output gradient', g!, 'NHWC');
  sameDtype(op, x!, g!);
  requireFloat(op, x!);
  checkSizePair(op, 'kernelSize', p.kernelSize);
  const [n, h, wd, cin] = x!.shape as [number, number, number, number];
  const [gn, ho, wo, cout] = g!.shape as [number, number, number, number];
  const [kh, kw] = p.kernelSize;
  const what = `input ${fmt(x!.shape)}, output gradient ${fmt(g!.shape)}, kernelSize ${fmt(p.kernelSize)}, ${paramText(p)}`;
  if (gn !== n) throw new ShapeError(op, `batch sizes differ (${what})`);
  const cg = cin / p.groups;
  groupChannels(op, cin, cout, [kh, kw, cg, cout], p, what);
  const [eh, ew] = outSizes(op, h, wd, kh, kw, p, what);
  if (eh !== ho || ew !== wo) throw new ShapeError(op, `a convolution of this input gives [${eh},${ew}], not [${ho},${wo}] (${what})`);
  return { shape: [kh, kw, cg, cout], dtype: x!.dtype };
}

/** The geometry of a convolution from its input shape, filter spatial size and output shape. */
export function convGeometry(xShape: Shape, kernel: readonly [number, number], yShape: Shape, p: ConvParams): ConvGeometry {
  return {
    n: xShape[0]!,
    h: xShape[1]!,
    w: xShape[2]!,
    cin: xShape[3]!,
    ho: yShape[1]!,
    wo: yShape[2]!,
    cout: yShape[3]!,
    kh: kernel[0],
    kw: kernel[1],
    sh: p.stride[0],
    sw: p.stride[1],
    dh: p.dilation[0],
    dw: p.dilation[1],
    top: p.pads[0][0],
    left: p.pads[1][0],
    groups: p.groups,
  };
}

const baseParams = (p: ConvParams): ConvParams => ({ stride: p.stride, dilation: p.dilation, pads: p.pads, groups: p.groups });
const spatial = (s: Shape): [number, number] => [s[1]!, s[2]!];
const kernelOf = (s: Shape): [number, number] => [s[0]!, s[1]!];

/** The three maps, each applied with the base parameters of any record of the family. */
const convOp = (x: Tensor, w: Tensor, p: ConvParams): Tensor => bind(conv2dPrim, [x, w], baseParams(p));
const inputGradOp = (g: Tensor, w: Tensor, p: ConvParams, inputSize: readonly [number, number]): Tensor =>
  bind(conv2dInputGradPrim, [g, w], { ...baseParams(p), inputSize });
const filterGradOp = (x: Tensor, g: Tensor, p: ConvParams, kernelSize: readonly [number, number]): Tensor =>
  bind(conv2dFilterGradPrim, [x, g], { ...baseParams(p), kernelSize });

/**
 * Rules of a bilinear primitive whose map and transposes take the record's parameters: d op(a, b) = op(da, b) +
 * op(a, db); ā = transposeA(ct, a, b, p), b̄ = transposeB(ct, a, b, p). (`bilinear` of rules.ts, with parameters.)
 */
function bilinearWithParams<P>(
  op: (a: Tensor, b: Tensor, p: P) => Tensor,
  transposeA: (ct: Tensor, a: Tensor, b: Tensor, p: P) => Tensor,
  transposeB: (ct: Tensor, a: Tensor, b: Tensor, p: P) => Tensor,
): Rules<P> {
  return {
    jvp: ([a, b], [ta, tb], p) =>
      sumTangents(
        add,
        mapTangent(ta!, (t) => op(t, b!, p)),
        mapTangent(tb!, (t) => op(a!, t, p)),
      ),
    vjp: (ct, [a, b], p, _out, needed) => [needed[0] ? transposeA(ct, a!, b!, p) : Zero, needed[1] ? transposeB(ct, a!, b!, p) : Zero],
    declared: { kind: 'bilinear' },
  };
}

// ---- batching (vmap) ----

const { reshape, transpose } = batchOps;
const perm5 = (...p: number[]): number[] => p;

/** [B, N, ...rest] → [B·N, ...rest]. */
const foldFront = (x: Tensor): Tensor => reshape(x, [x.shape[0]! * x.shape[1]!, ...x.shape.slice(2)]);
/** [B·N, ...rest] → [B, N, ...rest]. */
const unfoldFront = (y: Tensor, b: number): Tensor => reshape(y, [b, y.shape[0]! / b, ...y.shape.slice(1)]);

/**
 * A front-batched NHWC-like tensor [B, N, H, W, G·K] → [N, H, W, G·B·K] (each group's channels of every example
 * together: the batch folded into the channels inside each group), or with `outer` → [N, H, W, B·G·K] (the
 * batch outside the groups: B·G groups).
 */
function foldIntoChannels(x: Tensor, groups: number, outer: boolean): Tensor {
  const [b, n, h, w, c] = x.shape as [number, number, number, number, number];
  const k = c / groups;
  if (outer) return reshape(transpose(x, perm5(1, 2, 3, 0, 4)), [n, h, w, b * c]);
  const t = transpose(reshape(x, [b, n, h, w, groups, k]), [1, 2, 3, 4, 0, 5]);
  return reshape(t, [n, h, w, groups * b * k]);
}

/** The inverse of foldIntoChannels for an output [N, H, W, G·B·K] (or [N, H, W, B·G·K] with `outer`): [B, N, H, W, G·K]. */
function unfoldChannels(y: Tensor, b: number, groups: number, outer: boolean): Tensor {
  const [n, h, w, c] = y.shape as [number, number, number, number];
  const k = c / (b * groups);
  if (outer) return transpose(reshape(y, [n, h, w, b, groups * k]), perm5(3, 0, 1, 2, 4));
  const t = transpose(reshape(y, [n, h, w, groups, b, k]), [4, 0, 1, 2, 3, 5]);
  return reshape(t, [b, n, h, w, groups * k]);
}

/** Filters [B, kh, kw, Cg, Cout] → [kh, kw, Cg, G·B·Og] (batch inside each output group) or [kh, kw, Cg, B·Cout] (`outer`). */
const foldFilterOut = (w: Tensor, groups: number, outer: boolean): Tensor => {
  const [b, kh, kw, cg, co] = w.shape as [number, number, number, number, number];
  if (outer) return reshape(transpose(w, perm5(1, 2, 3, 0, 4)), [kh, kw, cg, b * co]);
  const t = transpose(reshape(w, [b, kh, kw, cg, groups, co / groups]), [1, 2, 3, 4, 0, 5]);
  return reshape(t, [kh, kw, cg, groups * b * (co / groups)]);
};

/** Filters [B, kh, kw, Cg, Cout] → [kh, kw, B·Cg, Cout] (the batch folded into the input channels of every group). */
const foldFilterIn = (w: Tensor): Tensor => {
  const [b, kh, kw, cg, co] = w.shape as [number, number, number, number, number];
  return reshape(transpose(w, perm5(1, 2, 0, 3, 4)), [kh, kw, b * cg, co]);
};

/** Filters [kh, kw, G·B·Og] → [B, kh, kw, Cg, Cout] (inverse of foldFilterOut) or, with `outer`, from [kh, kw, Cg, B·Cout]. */
const unfoldFilterOut = (w: Tensor, b: number, groups: number, outer: boolean): Tensor => {
  const [kh, kw, cg, c] = w.shape as [number, number, number, number];
  const co = c / b;
  if (outer) return transpose(reshape(w, [kh, kw, cg, b, co]), perm5(3, 0, 1, 2, 4));
  const t = transpose(reshape(w, [kh, kw, cg, groups, b, co / groups]), [4, 0, 1, 2, 3, 5]);
  return reshape(t, [b, kh, kw, cg, co]);
};

/** Filters [kh, kw, B·Cg, Cout] → [B, kh, kw, Cg, Cout] (inverse of foldFilterIn). */
const unfoldFilterIn = (w: Tensor, b: number): Tensor => {
  const [kh, kw, c, co] = w.shape as [number, number, number, number];
  return transpose(reshape(w, [kh, kw, b, c / b, co]), perm5(2, 0, 1, 3, 4));
};

/**
 * vmap of conv2d: a batched input folds into N; batched filters with a shared input fold into the output
 * channels of each group; both batched fold into B·G groups (as JAX does).
 */
const convBatch: NonNullable<Rules<ConvParams>['batch']> = (xs, dims, p, size) => {
  const [dx, dw] = dims as [number | null, number | null];
  const G = p.groups;
  if (dw === null) {
    const x = toFront(batchOps, xs[0]!, dx!);
    return [unfoldFront(convOp(foldFront(x), xs[1]!, p), size), 0];
  }
  const w = toFront(batchOps, xs[1]!, dw);
  if (dx === null) return [unfoldChannels(convOp(xs[0]!, foldFilterOut(w, G, false), p), size, G, false), 0];
  const x = toFront(batchOps, xs[0]!, dx);
  const y = convOp(foldIntoChannels(x, G, true), foldFilterOut(w, G, true), { ...p, groups: size * G });
  return [unfoldChannels(y, size, G, true), 0];
};

/** vmap of conv2dInputGrad: a batched gradient folds into N; batched filters into each group's input channels; both into B·G groups. */
const inputGradBatch: NonNullable<Rules<ConvInputGradParams>['batch']> = (xs, dims, p, size) => {
  const [dg, dw] = dims as [number | null, number | null];
  const G = p.groups;
  if (dw === null) {
    const g = toFront(batchOps, xs[0]!, dg!);
    return [unfoldFront(inputGradOp(foldFront(g), xs[1]!, p, p.inputSize), size), 0];
  }
  const w = toFront(batchOps, xs[1]!, dw);
  if (dg === null) return [unfoldChannels(inputGradOp(xs[0]!, foldFilterIn(w), p, p.inputSize), size, G, false), 0];
  const g = toFront(batchOps, xs[0]!, dg);
  const y = inputGradOp(foldIntoChannels(g, G, true), foldFilterOut(w, G, true), { ...p, groups: size * G }, p.inputSize);
  return [unfoldChannels(y, size, G, true), 0];
};

/**
 * vmap of conv2dFilterGrad: a batched input folds into each group's input channels, a batched gradient into the output
 * channels; both into B·G groups.
 */
const filterGradBatch: NonNullable<Rules<ConvFilterGradParams>['batch']> = (xs, dims, p, size) => {
  const [dx, dg] = dims as [number | null, number | null];
  const G = p.groups;
  if (dg === null) {
    const x = toFront(batchOps, xs[0]!, dx!);
    return [unfoldFilterIn(filterGradOp(foldIntoChannels(x, G, false), xs[1]!, p, p.kernelSize), size), 0];
  }
  const g = toFront(batchOps, xs[1]!, dg);
  if (dx === null) return [unfoldFilterOut(filterGradOp(xs[0]!, foldIntoChannels(g, G, false), p, p.kernelSize), size, G, false), 0];
  const x = toFront(batchOps, xs[0]!, dx);
  const w = filterGradOp(foldIntoChannels(x, G, true), foldIntoChannels(g, G, true), { ...p, groups: size * G }, p.kernelSize);
  return [unfoldFilterOut(w, size, G, true), 0];
};

// ---- the records ----

/**
 * The primitive record of `conv2d` (bilinear): d conv(x, w) = conv(dx, w) + conv(x, dw);
 * x̄ = conv2dInputGrad(ȳ, w), w̄ = conv2dFilterGrad(x, ȳ).
 */
export const conv2dPrim: Builtin<ConvParams> = {
  name: 'conv2d',
  shape: convShape,
  cpu: ([x, w], p, out) => convCpu(x!, w!, convGeometry(x!.shape, kernelOf(w!.shape), out.shape, p), out),
  wasm: wasmConvForward,
  webgpu: webgpuConvForward,
  batch: convBatch,
  // d conv(x, w) = conv(dx, w) + conv(x, dw); x̄ = inputGrad(ȳ, w), w̄ = filterGrad(x, ȳ)
  ...bilinearWithParams<ConvParams>(
    convOp,
    (ct, x, w, p) => inputGradOp(ct, w, p, spatial(x.shape)),
    (ct, x, w, p) => filterGradOp(x, ct, p, kernelOf(w.shape)),
  ),
};

/**
 * The primitive record of `conv2dInputGrad` (bilinear, the transpose of conv2d in its input):
 * ḡr = conv2d(x̄', w), w̄ = conv2dFilterGrad(x̄', gr).
 */
export const conv2dInputGradPrim: Builtin<ConvInputGradParams> = {
  name: 'conv2dInputGrad',
  shape: inputGradShape,
  cpu: ([g, w], p, out) => convInputGradCpu(g!, w!, convGeometry(out.shape, kernelOf(w!.shape), g!.shape, p), out),
  wasm: wasmConvInputGrad,
  webgpu: webgpuConvInputGrad,
  batch: inputGradBatch,
  // d inputGrad(g, w) = inputGrad(dg, w) + inputGrad(g, dw); ḡ = conv(c, w), w̄ = filterGrad(c, g)
  ...bilinearWithParams<ConvInputGradParams>(
    (g, w, p) => inputGradOp(g, w, p, p.inputSize),
    (ct, _g, w, p) => convOp(ct, w, p),
    (ct, g, w, p) => filterGradOp(ct, g, p, kernelOf(w.shape)),
  ),
};

/**
 * The primitive record of `conv2dFilterGrad` (bilinear, the transpose of conv2d in its filters):
 * x̄ = conv2dInputGrad(gr, w̄'), ḡr = conv2d(x, w̄').
 */
export const conv2dFilterGradPrim: Builtin<ConvFilterGradParams> = {
  name: 'conv2dFilterGrad',
  shape: filterGradShape,
  cpu: ([x, g], p, out) => convFilterGradCpu(x!, g!, convGeometry(x!.shape, p.kernelSize, g!.shape, p), out),
  wasm: wasmConvFilterGrad,
  webgpu: webgpuConvFilterGrad,
  batch: filterGradBatch,
  // d filterGrad(x, g) = filterGrad(dx, g) + filterGrad(x, dg); x̄ = inputGrad(g, c), ḡ = conv(x, c)
  ...bilinearWithParams<ConvFilterGradParams>(
    (x, g, p) => filterGradOp(x, g, p, p.kernelSize),
    (ct, x, g, p) => inputGradOp(g, ct, p, spatial(x.shape)),
    (ct, x, _g, p) => convOp(x, ct, p),
  ),
};

/** Full parameters from partial ones: stride and dilation 1, no padding, one group. */
export function convParams(p: Partial<ConvParams> = {}): ConvParams {
  return {
    stride: p.stride ?? [1, 1],
    dilation: p.dilation ?? [1, 1],
    pads: p.pads ?? [
      [0, 0],
      [0, 0],
    ],
    groups: p.groups ?? 1,
  };
}

/**
 * The convolution primitive: y[n,i,j,o] = Σ_{a,b,c} x[n, i·sh + a·dh − top, j·sw + b·dw − left, g·Cg + c] · w[a,b,c,o]
 * (NHWC input, filters [kh, kw, Cin/G, Cout], zero padding). Bilinear: d y = conv(dx, w) + conv(x, dw);
 * x̄ = conv2dInputGrad(ȳ, w), w̄ = conv2dFilterGrad(x, ȳ). `nn.functional.conv2d` adds 'same' / 'valid' padding.
 */
export const conv2dGeneral = (x: Tensor, w: Tensor, params: Partial<ConvParams> = {}): Tensor => convOp(x, w, convParams(params));

/**
 * The transpose of `conv2dGeneral` in its input (a transposed convolution): x̄[n,h,v,g·Cg+c] = Σ gr[n,i,j,g·Og+o] ·
 * w[a,b,c,g·Og+o] over the taps with i·sh + a·dh − top = h and j·sw + b·dw − left = v; `inputSize` is [H, W].
 * Bilinear: ḡr = conv2dGeneral(x̄', w), w̄ = conv2dFilterGrad(x̄', gr).
 */
export const conv2dInputGrad = (
  gr: Tensor,
  w: Tensor,
  params: Partial<ConvParams> & { readonly inputSize: readonly [number, number] },
): Tensor => inputGradOp(gr, w, convParams(params), params.inputSize);

/**
 * The transpose of `conv2dGeneral` in its filters: w̄[a,b,c,o] = Σ_{n,i,j} x[n, i·sh + a·dh − top, j·sw + b·dw − left,
 * g·Cg + c] · gr[n,i,j,o]; `kernelSize` is [kh, kw]. Bilinear: x̄ = conv2dInputGrad(gr, w̄'), ḡr = conv2dGeneral(x, w̄').
 */
export const conv2dFilterGrad = (
  x: Tensor,
  gr: Tensor,
  params: Partial<ConvParams> & { readonly kernelSize: readonly [number, number] },
): Tensor => filterGradOp(x, gr, convParams(params), params.kernelSize);
