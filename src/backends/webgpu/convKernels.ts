/**
 * WebGPU kernels of the convolution family (src/ops/conv.ts): shaders/conv.wgsl, one thread per output element,
 * an entry point per map (conv_forward, conv_input_grad, conv_filter_grad), the geometry in the parameter block.
 */
import type { KernelCall, KernelInput } from '../Backend.js';
import { sizeOf } from '../../tensor/shape.js';
import { threadsGrid, wgslType, type SharedBuffer, type KernelContext } from './context.js';
import { instantiate } from './shaderTemplate.js';
import type { WebGpuKernel } from './kernels.js';
import { convGeometryWords, type ConvCallParams } from '../convGeometry.js';

type Entry = 'conv_forward' | 'conv_input_grad' | 'conv_filter_grad';

/**
 * Records one dispatch of `entry` over the output: x shape [N, H, W, Cin], y shape [N, Ho, Wo, Cout] and kernel
 * [kh, kw] describe the convolution whichever map is computed.
 */
function runConv(
  ctx: KernelContext,
  call: KernelCall<ConvCallParams>,
  entry: Entry,
  xs: readonly number[],
  ys: readonly number[],
  kernel: readonly [number, number],
): SharedBuffer {
  const [a, b] = call.inputs as [KernelInput, KernelInput];
  const total = sizeOf(call.out.shape);
  const out = ctx.alloc(total * 4);
  if (total === 0) return out;
  const t = wgslType(call.name, a.dtype);
  const p = call.params;
  const meta = [total, ...convGeometryWords(xs, ys, kernel, p)];
  const pipeline = ctx.pipeline(`conv|${t}|${entry}`, () => instantiate('conv', { T: t }), entry, 2, call.name);
  ctx.dispatch(pipeline, [ctx.bufferOf(a.storage), ctx.bufferOf(b.storage)], out.buffer, meta, threadsGrid(total));
  return out;
}

/** conv2d on WebGPU (conv_forward). */
export const webgpuConvForward: WebGpuKernel<ConvCallParams> = (ctx, call) => {
  const [x, w] = call.inputs as [KernelInput, KernelInput];
  return runConv(ctx, call, 'conv_forward', x.shape, call.out.shape, [w.shape[0]!, w.shape[1]!]);
};

/** conv2dInputGrad on WebGPU (conv_input_grad). */
export const webgpuConvInputGrad: WebGpuKernel<ConvCallParams> = (ctx, call) => {
  const [g, w] = call.inputs as [KernelInput, KernelInput];
  return runConv(ctx, call, 'conv_input_grad', call.out.shape, g.shape, [w.shape[0]!, w.shape[1]!]);
};

/** conv2dFilterGrad on WebGPU (conv_filter_grad). */
export const webgpuConvFilterGrad: WebGpuKernel<ConvCallParams> = (ctx, call) => {
  const [x, g] = call.inputs as [KernelInput, KernelInput];
  return runConv(ctx, call, 'conv_filter_grad', x.shape, g.shape, [call.out.shape[0]!, call.out.shape[1]!]);
};
