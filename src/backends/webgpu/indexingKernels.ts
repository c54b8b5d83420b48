/**
 * The WebGPU kernels of the indexing primitives (take, scatterAdd; src/ops/indexing.ts): shaders/take.wgsl (one
 * thread per output element) and, for scatterAdd, shaders/scatter_add.wgsl (one thread per output element scanning
 * the indices) or, with many indices, shaders/scatter_add_sorted.wgsl (the indices ranked by position first, then one
 * thread per output element adding its run of them): either way duplicates accumulate without atomics,
 * deterministically, in index order. The indices stay on the GPU, so they
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

/**
 * Whether scatterAdd sorts its indices first: the direct kernel costs count·m steps (every output element scans every
 * index); the sorted one m² (ranking by counting) plus about count·log₂ m (a binary search per element) and the updates
 * themselves. Many indices into a large output (an embedding's gradient) take the sorted kernel.
 */
export function scatterSorts(count: number, m: number): boolean {
  return m > 1 && m * m + count * Math.ceil(Math.log2(m) + 1) + m < count * m;
}

/** scatterAdd: out = x with updates[o, j, i] added at out[o, idx[j], i] (an out-of-range index's update dropped). */
export const scatterAddKernel: WebGpuKernel<{ readonly axis: number }> = (ctx, call: AxisCall): SharedBuffer => {
  const [x, idx, upd] = call.inputs as [KernelInput, KernelInput, KernelInput];
  const t = wgslType('scatterAdd', x.dtype);
  const count = sizeOf(call.out.shape);
  const [n, m, inner] = dims(x, idx, call.params.axis);
  const sorted = count > 0 && scatterSorts(count, m);
  // the sorted kernel keeps its sorted indices and keys (2·m words) in the output buffer, past the output
  const out = ctx.alloc((count + (sorted ? 2 * m : 0)) * 4);
  if (count === 0) return out;
  const xb = ctx.bufferOf(x.storage);
  const meta = [count, n, m, inner];
  if (sorted) {
    const ub = ctx.bufferOf(upd.storage);
    const ib = ctx.bufferOf(idx.storage);
    const src = () => instantiate('scatter_add_sorted', { T: t });
    const rank = ctx.pipeline(`scatter_add_sorted|${t}|rank`, src, 'rank', 3, 'scatterAdd');
    const gather = ctx.pipeline(`scatter_add_sorted|${t}|gather`, src, 'gather', 3, 'scatterAdd');
    ctx.dispatch(rank, [xb, ub, ib], out.buffer, meta, threadsGrid(m));
    ctx.dispatch(gather, [xb, ub, ib], out.buffer, meta, threadsGrid(count));
    return out;
  }
  // no indices: nothing is added (x's buffer stands in for the empty index and update buffers)
  const ib = m === 0 ? xb : ctx.bufferOf(idx.storage);
  const ub = m === 0 || inner === 0 ? xb : ctx.bufferOf(upd.storage);
  const pipeline = ctx.pipeline(`scatter_add|${t}`, () => instantiate('scatter_add', { T: t }), 'main', 3, 'scatterAdd');
  ctx.dispatch(pipeline, [xb, ib, ub], out.buffer, meta, threadsGrid(count));
  return out;
};
