/**
 * The wasm kernels of the convolution family (src/ops/conv.ts; AssemblyScript in assembly/conv.ts): conv_f32 and
 * conv_input_grad_f32 split over the rows of their output, conv_filter_grad_f32 over its (tap row, tap column,
 * input channel) units. The geometry travels as 16 i32 words.
 */
import type { KernelCall, KernelInput } from '../Backend.js';
import { sizeOf } from '../../tensor/shape.js';
import type { WasmContext, WasmKernel } from './kernels.js';

/** The convolution parameters as the kernels read them. */
interface ConvCallParams {
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly pads: readonly [readonly [number, number], readonly [number, number]];
  readonly groups: number;
}

/** [n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups] of x shape, y shape and kernel. */
function geometryWords(xs: readonly number[], ys: readonly number[], kernel: readonly [number, number], p: ConvCallParams): number[] {
  return [
    xs[0]!,
    xs[1]!,
    xs[2]!,
    xs[3]!,
    ys[1]!,
    ys[2]!,
    ys[3]!,
    kernel[0],
    kernel[1],
    p.stride[0],
    p.stride[1],
    p.dilation[0],
    p.dilation[1],
    p.pads[0][0],
    p.pads[1][0],
    p.groups,
  ];
}

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

/** conv2dInputGrad on wasm (conv_input_grad_f32, rows of x̄ split across threads). */
export const wasmConvInputGrad: WasmKernel<ConvCallParams> = (ctx, call) => {
  const [g, w] = call.inputs as [KernelInput, KernelInput];
  const kernel: [number, number] = [w.shape[0]!, w.shape[1]!];
  const xs = call.out.shape;
  const words = geometryWords(xs, g.shape, kernel, call.params);
  return convCall(ctx, call, 'conv_input_grad_f32', words, xs[0]! * xs[1]!, macsOf(g.shape, kernel, w.shape[2]!));
};

/** conv2dFilterGrad on wasm (conv_filter_grad_f32, (tap, input channel) units split across threads). */
export const wasmConvFilterGrad: WasmKernel<ConvCallParams> = (ctx, call) => {
  const [x, g] = call.inputs as [KernelInput, KernelInput];
  const ws = call.out.shape;
  const kernel: [number, number] = [ws[0]!, ws[1]!];
  const words = geometryWords(x.shape, g.shape, kernel, call.params);
  return convCall(ctx, call, 'conv_filter_grad_f32', words, ws[0]! * ws[1]! * ws[2]!, macsOf(g.shape, kernel, ws[2]!));
};
