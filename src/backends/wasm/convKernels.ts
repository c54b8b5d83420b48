/**
 * The wasm kernels of the convolution family (src/ops/conv.ts; AssemblyScript in assembly/conv.ts): conv_f32 and
 * conv_input_grad_f32 split over the rows of their output, conv_filter_grad_f32 over its (tap row, tap column,
 * input channel) units. The geometry travels as 16 i32 words.
 */
import type { KernelCall, KernelInput } from '../Backend.js';
import { sizeOf } from '../../tensor/shape.js';
import type { WasmContext, WasmKernel } from './kernels.js';
import { convGeometryWords as geometryWords, type ConvCallParams } from '../convGeometry.js';

function f32Only(op: string, x: KernelInput): void {
  if (x.dtype !== 'f32') throw new Error(`${op}: the wasm backend has no ${x.dtype} kernels (f64 lives on the cpu backend)`);
}

/** Appends one call of `fn` over `units` units (multiply-adds `macs`), inputs a and b, the output allocated here. */
function convCall(
  ctx: WasmContext,
  call: KernelCall<ConvCallParams>,
  fn: string,
  words: readonly number[],
  units: number,
  macs: number,
): ReturnType<WasmContext['output']> {
  const [a, b] = call.inputs as [KernelInput, KernelInput];
  f32Only(call.name, a);
  const total = sizeOf(call.out.shape);
  const out = ctx.output(total * 4);
  if (total === 0) return out;
  if (macs === 0) {
    ctx.call({ fn: 'zero_fill', args: [ctx.ptrOf(out), total * 4] });
    return out;
  }
  ctx.call({
    fn,
    args: [ctx.ptr(a.storage), ctx.ptr(b.storage), ctx.ptrOf(out), ctx.words(words), 0, units],
    split: { index: 4, count: units, work: 2 * macs, kind: 'matmul' },
  });
  return out;
}

/** Multiply-adds of a convolution (each output element's taps, an upper bound where padding cuts taps). */
const macsOf = (ys: readonly number[], kernel: readonly [number, number], cg: number): number => sizeOf(ys) * kernel[0] * kernel[1] * cg;

/** conv2d on wasm (conv_f32, rows of y split across threads). */
export const wasmConvForward: WasmKernel<ConvCallParams> = (ctx, call) => {
  const [x, w] = call.inputs as [KernelInput, KernelInput];
  const kernel: [number, number] = [w.shape[0]!, w.shape[1]!];
  const ys = call.out.shape;
  const words = geometryWords(x.shape, ys, kernel, call.params);
  return convCall(ctx, call, 'conv_f32', words, ys[0]! * ys[1]!, macsOf(ys, kernel, w.shape[2]!));
};

/**
 * conv2dInputGrad on wasm. With unit strides (and the padding that allows it) it is a convolution of the output
 * gradient by the filters flipped in space with their channel axes swapped within each group (conv_flip_f32 then
 * conv_f32, padded by dilation·(k − 1) minus the original padding) when there are at least 4 input channels per group;
 * otherwise conv_input_grad_f32, rows of x̄ split across threads.
 */
export const wasmConvInputGrad: WasmKernel<ConvCallParams> = (ctx, call) => {
  const [g, w] = call.inputs as [KernelInput, KernelInput];
  const kernel: [number, number] = [w.shape[0]!, w.shape[1]!];
  const xs = call.out.shape;
  const p = call.params;
  const macs = macsOf(g.shape, kernel, w.shape[2]!);
  const lo = [p.dilation[0] * (kernel[0] - 1) - p.pads[0][0], p.dilation[1] * (kernel[1] - 1) - p.pads[1][0]];
  const hi = [xs[1]! - g.shape[1]! + p.pads[0][0], xs[2]! - g.shape[2]! + p.pads[1][0]];
  // the convolution's output channels are the input's, cg per group: fewer than 4 leave its vector lanes empty
  const flip = p.stride[0] === 1 && p.stride[1] === 1 && [...lo, ...hi].every((v) => v >= 0) && w.shape[2]! >= 4;
  if (!flip || macs === 0) {
    const words = geometryWords(xs, g.shape, kernel, p);
    return convCall(ctx, call, 'conv_input_grad_f32', words, xs[0]! * xs[1]!, macs);
  }
  f32Only(call.name, g);
  const out = ctx.output(sizeOf(xs) * 4);
  const cg = w.shape[2]!;
  const cout = w.shape[3]!;
  const flipped = ctx.temp(sizeOf(w.shape) * 4);
  ctx.call({ fn: 'conv_flip_f32', args: [ctx.ptr(w.storage), flipped, kernel[0], kernel[1], cg, cout, p.groups] });
  const geo = {
    stride: [1, 1] as const,
    dilation: p.dilation,
    pads: [
      [lo[0]!, 0],
      [lo[1]!, 0],
    ] as const,
    groups: p.groups,
  };
  const words = geometryWords(g.shape, xs, kernel, geo);
  ctx.call({
    fn: 'conv_f32',
    args: [ctx.ptr(g.storage), flipped, ctx.ptrOf(out), ctx.words(words), 0, xs[0]! * xs[1]!],
    split: { index: 4, count: xs[0]! * xs[1]!, work: 2 * macs, kind: 'matmul' },
  });
  return out;
};

/** Appends a gather_32 of `shape` read from `src` with `strides` (elements) into contiguous `dst`, split by rows. */
function gather(ctx: WasmContext, src: number, shape: readonly number[], strides: readonly number[], dst: number): void {
  const rows = sizeOf(shape.slice(0, -1));
  ctx.call({
    fn: 'gather_32',
    args: [src, 0, dst, ctx.words([shape.length, ...shape, ...strides]), 0, rows],
    split: { index: 4, count: rows, work: sizeOf(shape), kind: 'map' },
  });
}

/**
 * conv2dFilterGrad on wasm. With one group it is a convolution (conv_f32) of x with its batch as channels and its
 * channels as batch ([cin, h, w, n]) by the output gradient as filters ([ho, wo, n, cout]), the roles of stride and
 * dilation swapped, the result [cin, kh, kw, cout] gathered back to [kh, kw, cin, cout]; with groups (or too few
 * input channels to share among threads), conv_filter_grad_f32 over (tap, input channel) units.
 */
export const wasmConvFilterGrad: WasmKernel<ConvCallParams> = (ctx, call) => {
  const [x, g] = call.inputs as [KernelInput, KernelInput];
  const ws = call.out.shape;
  const kernel: [number, number] = [ws[0]!, ws[1]!];
  const p = call.params;
  const macs = macsOf(g.shape, kernel, ws[2]!);
  // the convolution has cin·kh rows to share among threads: too few for one or two input channels
  if (p.groups !== 1 || macs === 0 || x.shape[3]! * kernel[0] < 8) {
    const words = geometryWords(x.shape, g.shape, kernel, p);
    return convCall(ctx, call, 'conv_filter_grad_f32', words, ws[0]! * ws[1]! * ws[2]!, macs);
  }
  f32Only(call.name, x);
  const [n, h, wd, cin] = x.shape as [number, number, number, number];
  const [, ho, wo, cout] = g.shape as [number, number, number, number];
  const out = ctx.output(sizeOf(ws) * 4);
  const xt = ctx.temp(sizeOf(x.shape) * 4);
  const gt = ctx.temp(sizeOf(g.shape) * 4);
  const yt = ctx.temp(sizeOf(ws) * 4);
  // xt [cin, h, w, n] = x [n, h, w, cin]; gt [ho, wo, n, cout] = g [n, ho, wo, cout]
  gather(ctx, ctx.ptr(x.storage), [cin, h, wd, n], [1, wd * cin, cin, h * wd * cin], xt);
  gather(ctx, ctx.ptr(g.storage), [ho, wo, n, cout], [wo * cout, cout, ho * wo * cout, 1], gt);
  const geo = { stride: p.dilation, dilation: p.stride, pads: p.pads, groups: 1 };
  const words = geometryWords([cin, h, wd, n], [cin, kernel[0], kernel[1], cout], [ho, wo], geo);
  ctx.call({
    fn: 'conv_f32',
    args: [xt, gt, yt, ctx.words(words), 0, cin * kernel[0]],
    split: { index: 4, count: cin * kernel[0], work: 2 * macs, kind: 'matmul' },
  });
  // out [kh, kw, cin, cout] = yt [cin, kh, kw, cout]
  gather(ctx, yt, ws, [kernel[1] * cout, cout, kernel[0] * kernel[1] * cout, 1], ctx.ptrOf(out));
  return out;
};
