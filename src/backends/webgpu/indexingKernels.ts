/**
 * The WebGPU kernels of the indexing primitives (take, scatterAdd; src/ops/indexing.ts): shaders/take.wgsl (one
 * thread per output element) and shaders/scatter_add.wgsl (one thread per output element scanning the indices, so
 * duplicates accumulate without atomics, deterministically, in index order). The indices stay on the GPU, so they
 * are not checked: an index outside [-n, n) reads 0 in take, and its update is dropped in scatterAdd.
 */
import type { KernelCall, KernelInput } from '../Backend.js';
import { sizeOf } from '../../tensor/shape.js';
import { threadsGrid, wgslType, type SharedBuffer } from './context.js';
import type { WebGpuKernel } from './kernels.js';
import { instantiate } from './shaderTemplate.js';

type AxisCall = KernelCall<{ readonly axis: number }>;

/** [n, m, inner] of a call: the indexed axis's size, the number of indices, the elements after the axis. */
const dims = (x: KernelInput, idx: KernelInput, axis: number): [number, number, number] => [
  x.shape[axis]!,
  sizeOf(idx.shape),
  sizeOf(x.shape.slice(axis + 1)),
];

/** take: out[o, j, i] = x[o, idx[j], i] (0 for an out-of-range index). */
export const takeKernel: WebGpuKernel<{ readonly axis: number }> = (ctx, call: AxisCall): SharedBuffer => {
  const [x, idx] = call.inputs as [KernelInput, KernelInput];
  const t = wgslType('take', x.dtype);
  const count = sizeOf(call.out.shape);
  const out = ctx.alloc(count * 4);
  if (count === 0) return out;
  const [n, m, inner] = dims(x, idx, call.params.axis);
  const pipeline = ctx.pipeline(`take|${t}`, () => instantiate('take', { T: t }), 'main', 2, 'take');
  ctx.dispatch(pipeline, [ctx.bufferOf(x.storage), ctx.bufferOf(idx.storage)], out.buffer, [count, n, m, inner], threadsGrid(count));
  return out;
};

/** scatterAdd: out = x with updates[o, j, i] added at out[o, idx[j], i] (an out-of-range index's update dropped). */
export const scatterAddKernel: WebGpuKernel<{ readonly axis: number }> = (ctx, call: AxisCall): SharedBuffer => {
  const [x, idx, upd] = call.inputs as [KernelInput, KernelInput, KernelInput];
  const t = wgslType('scatterAdd', x.dtype);
  const count = sizeOf(call.out.shape);
  const out = ctx.alloc(count * 4);
  if (count === 0) return out;
  const [n, m, inner] = dims(x, idx, call.params.axis);
  const xb = ctx.bufferOf(x.storage);
  // no indices: nothing is added (x's buffer stands in for the empty index and update buffers)
  const ib = m === 0 ? xb : ctx.bufferOf(idx.storage);
  const ub = m === 0 || inner === 0 ? xb : ctx.bufferOf(upd.storage);
  const pipeline = ctx.pipeline(`scatter_add|${t}`, () => instantiate('scatter_add', { T: t }), 'main', 3, 'scatterAdd');
  ctx.dispatch(pipeline, [xb, ib, ub], out.buffer, [count, n, m, inner], threadsGrid(count));
  return out;
};
