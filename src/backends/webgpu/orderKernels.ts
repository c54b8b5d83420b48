/**
 * The WebGPU kernels of the scans and orderings along one axis (src/ops/order.ts):
 * `cumsum` (shaders/cumsum.wgsl, one thread per line) and `argsort`
 * (shaders/argsort.wgsl, one thread per element computing its stable rank).
 * Both see the input as [outer, len, inner] around the axis.
 */
import { sizeOf } from '../../tensor/shape.js';
import { threadsGrid, wgslType } from './context.js';
import type { WebGpuKernel } from './kernels.js';
import { instantiate } from './shaderTemplate.js';

/** The [outer, len, inner] view of `shape` around `axis`. */
const around = (shape: readonly number[], axis: number): { lines: number; len: number; inner: number } => {
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  return { lines: sizeOf(shape.slice(0, axis)) * inner, len, inner };
};

/** Running sums along one axis (forward or reversed), one thread per line; f32 or i32 (wrapping). */
export const cumsumKernel: WebGpuKernel<{ readonly axis: number; readonly reverse: boolean }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const n = sizeOf(x.shape);
  const out = ctx.alloc(n * 4);
  if (n === 0) return out;
  const t = wgslType('cumsum', x.dtype);
  const pipeline = ctx.pipeline(`cumsum|${t}`, () => instantiate('cumsum', { T: t }), 'main', 1, 'cumsum');
  const { lines, len, inner } = around(x.shape, call.params.axis);
  ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, [lines, len, inner, call.params.reverse ? 1 : 0], threadsGrid(lines));
  return out;
};

/** The stable ascending order (i32 indices) along one axis, NaN last; one thread per element. */
export const argsortKernel: WebGpuKernel<{ readonly axis: number }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const n = sizeOf(x.shape);
  const out = ctx.alloc(n * 4);
  if (n === 0) return out;
  const t = wgslType('argsort', x.dtype);
  const pipeline = ctx.pipeline(
    `argsort|${t}`,
    () => instantiate('argsort', { T: t, NAN_CHECK: t === 'f32' ? 'is_nan(v)' : 'false' }),
    'main',
    1,
    'argsort',
  );
  const { len, inner } = around(x.shape, call.params.axis);
  ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, [n, len, inner], threadsGrid(n));
  return out;
};
