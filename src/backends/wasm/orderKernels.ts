/**
 * The wasm kernels of the scans and orderings along one axis (src/ops/order.ts):
 * `cumsum` and `argsort` (src/backends/wasm/assembly/order.ts). Both see the
 * input as [outer, len, inner] around the axis and split over its
 * outer·inner lines; argsort's merge sort takes a scratch block of 2·len i32
 * per thread.
 */
import type { DType } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import type { WasmKernel } from './kernels.js';

function suffix(op: string, dtype: DType): 'f32' | 'i32' {
  if (dtype === 'f32' || dtype === 'i32') return dtype;
  throw new Error(`${op}: the wasm backend has no ${dtype} kernels (f64 lives on the cpu backend)`);
}

/** The [outer, len, inner] view of `shape` around `axis`: its lines (outer·inner), len and inner. */
const around = (shape: readonly number[], axis: number): { lines: number; len: number; inner: number } => {
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  return { lines: sizeOf(shape.slice(0, axis)) * inner, len, inner };
};

/** Running sums along one axis (forward or reversed); f32 sums in f32, i32 wraps. */
export const cumsumKernel: WasmKernel<{ readonly axis: number; readonly reverse: boolean }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const n = sizeOf(x.shape);
  const out = ctx.output(n * 4);
  if (n === 0) return out;
  const t = suffix('cumsum', x.dtype);
  const { lines, len, inner } = around(x.shape, call.params.axis);
  ctx.call({
    fn: `cumsum_${t}`,
    args: [ctx.ptr(x.storage), ctx.ptrOf(out), len, inner, call.params.reverse ? 1 : 0, 0, lines],
    split: { index: 5, count: lines, work: n, kind: 'map' },
  });
  return out;
};

/** The stable ascending order (i32 indices) along one axis, NaN last (a merge sort per line). */
export const argsortKernel: WasmKernel<{ readonly axis: number }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const n = sizeOf(x.shape);
  const out = ctx.output(n * 4);
  if (n === 0) return out;
  const t = suffix('argsort', x.dtype);
  const { lines, len, inner } = around(x.shape, call.params.axis);
  const bytes = 8 * len;
  ctx.call({
    fn: `argsort_${t}`,
    args: [ctx.ptr(x.storage), ctx.ptrOf(out), len, inner, ctx.temp(bytes), 0, lines],
    split: { index: 5, count: lines, work: n * Math.max(1, Math.ceil(Math.log2(len))), kind: 'map' },
    scratch: { index: 4, bytes },
  });
  return out;
};
