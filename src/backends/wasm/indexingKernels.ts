/**
 * The wasm kernels of the indexing primitives (take, scatterAdd; src/ops/indexing.ts) over the exports of
 * src/backends/wasm/assembly/indexing.ts. The indices live in wasm memory, which is host memory, so the kernel
 * checks them (`index_first_bad`, run at once through the context's `query`) before it appends any call: an index
 * outside [-n, n) is the same error as on the cpu backend.
 */
import type { KernelCall, KernelInput } from '../Backend.js';
import { sizeOf } from '../../tensor/shape.js';
import { indexOutOfRange } from '../indexErrors.js';
import type { WasmContext, WasmKernel } from './kernels.js';

/** The 32-bit suffix of a dtype (f64 never reaches a wasm kernel). */
function suffix(op: string, dtype: string): 'f32' | 'i32' {
  if (dtype === 'f32' || dtype === 'i32') return dtype;
  throw new Error(`${op}: the wasm backend has no ${dtype} kernels (f64 lives on the cpu backend)`);
}

/** [outer, n, inner] of x around the axis and m, the number of indices. */
function dims(x: KernelInput, idx: KernelInput, axis: number): [number, number, number, number] {
  return [sizeOf(x.shape.slice(0, axis)), x.shape[axis]!, sizeOf(x.shape.slice(axis + 1)), sizeOf(idx.shape)];
}

/** Throws the op's out-of-range error when some index lies outside [-n, n). */
function checkIndices(ctx: WasmContext, op: string, idx: KernelInput, m: number, n: number, axis: number): void {
  if (m === 0) return;
  const p = ctx.ptr(idx.storage);
  const bad = ctx.query('index_first_bad', p, m, n);
  if (bad >= 0) throw indexOutOfRange(op, axis, ctx.query('index_at', p, bad), n, bad);
}

/** take: out[o, j, :] = x[o, idx[j], :], split by output rows. */
export const takeKernel: WasmKernel<{ readonly axis: number }> = (ctx, call: KernelCall<{ readonly axis: number }>) => {
  const [x, idx] = call.inputs as [KernelInput, KernelInput];
  suffix('take', x.dtype);
  const [outer, n, inner, m] = dims(x, idx, call.params.axis);
  const rows = outer * m;
  checkIndices(ctx, 'take', idx, m, n, call.params.axis);
  const out = ctx.output(rows * inner * 4);
  if (rows === 0 || inner === 0) return out;
  ctx.call({
    fn: 'take_32',
    args: [ctx.ptr(x.storage), ctx.ptr(idx.storage), ctx.ptrOf(out), n, m, inner, 0, rows],
    split: { index: 6, count: rows, work: rows * inner, kind: 'map' },
  });
  return out;
};

/** scatterAdd: out = x, then out[o, idx[j], :] += updates[o, j, :] in index order, split by outer blocks. */
export const scatterAddKernel: WasmKernel<{ readonly axis: number }> = (ctx, call: KernelCall<{ readonly axis: number }>) => {
  const [x, idx, upd] = call.inputs as [KernelInput, KernelInput, KernelInput];
  const t = suffix('scatterAdd', x.dtype);
  const [outer, n, inner, m] = dims(x, idx, call.params.axis);
  checkIndices(ctx, 'scatterAdd', idx, m, n, call.params.axis);
  const size = outer * n * inner;
  const out = ctx.output(size * 4);
  if (size === 0) return out;
  ctx.call({
    fn: `scatter_add_${t}`,
    args: [ctx.ptr(x.storage), ctx.ptr(idx.storage), ctx.ptr(upd.storage), ctx.ptrOf(out), n, m, inner, 0, outer],
    split: { index: 7, count: outer, work: size + outer * m * inner, kind: 'map' },
  });
  return out;
};
