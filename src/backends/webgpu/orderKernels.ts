/**
 * The WebGPU kernels of the scans and orderings along one axis (src/ops/order.ts):
 * `cumsum` (shaders/cumsum.wgsl, one thread per line, or cumsum_lines.wgsl, one
 * workgroup per line for few long lines on hardware adapters) and `argsort`
 * (shaders/argsort.wgsl: entry `rank`, one thread per element computing its stable
 * rank, or entry `merge`, a stable merge sort of ⌈log₂ len⌉ passes, for long lines).
 * Both see the input as [outer, len, inner] around the axis.
 */
import { sizeOf } from '../../tensor/shape.js';
import { grid, threadsGrid, wgslType } from './context.js';
import type { WebGpuKernel } from './kernels.js';
import { instantiate } from './shaderTemplate.js';

/** The [outer, len, inner] view of `shape` around `axis`. */
const around = (shape: readonly number[], axis: number): { lines: number; len: number; inner: number } => {
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  return { lines: sizeOf(shape.slice(0, axis)) * inner, len, inner };
};

/** Lines at least this long, fewer than CUMSUM_FEW_LINES of them, are scanned by a workgroup each on hardware adapters. */
export const CUMSUM_LONG_LINE = 256;
/** Below this many lines, one thread per line leaves a hardware GPU mostly idle. */
export const CUMSUM_FEW_LINES = 1024;

/**
 * The cumsum kernels: 'threads' (cumsum.wgsl, one thread per line, in the sequential order of the CPU) and 'lines'
 * (cumsum_lines.wgsl, one workgroup per line: 256 chunk sums in parallel, then scanned). 'lines' is chosen on hardware
 * adapters for few long lines (fewer than CUMSUM_FEW_LINES lines of at least CUMSUM_LONG_LINE elements); on the
 * software adapters, whose workgroup barriers are emulated on the CPU, 'threads' measured faster on every shape
 * (llvmpipe, 2 cores: [4, 100000] 4.7 vs 6.0 ms, [1000, 1000] 25 vs 171 ms).
 */
export type CumsumVariant = 'threads' | 'lines';
let forcedCumsum: CumsumVariant | null = null;

/** Pins the cumsum kernel whatever the adapter and shape (null: choose); for tests that check both kernels on one adapter. */
export function forceCumsumVariant(v: CumsumVariant | null): void {
  forcedCumsum = v;
}

/** Running sums along one axis (forward or reversed), f32 or i32 (wrapping), by the kernel CumsumVariant describes. */
export const cumsumKernel: WebGpuKernel<{ readonly axis: number; readonly reverse: boolean }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const n = sizeOf(x.shape);
  const out = ctx.alloc(n * 4);
  if (n === 0) return out;
  const t = wgslType('cumsum', x.dtype);
  const { lines, len, inner } = around(x.shape, call.params.axis);
  const long =
    forcedCumsum === null
      ? ctx.adapterKind === 'hardware' && len >= CUMSUM_LONG_LINE && lines < CUMSUM_FEW_LINES
      : forcedCumsum === 'lines';
  const family = long ? 'cumsum_lines' : 'cumsum';
  const pipeline = ctx.pipeline(`${family}|${t}`, () => instantiate(family, { T: t }), 'main', 1, 'cumsum');
  const meta = [lines, len, inner, call.params.reverse ? 1 : 0];
  ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, meta, long ? grid(lines) : threadsGrid(lines));
  return out;
};

/** Lines up to this long are ranked by counting (argsort.wgsl `rank`); longer ones are merge-sorted (`merge`). */
export const ARGSORT_RANK_MAX = 64;

/**
 * The argsort kernels (entry points of argsort.wgsl): 'rank' (one thread per element counts the elements before it,
 * O(len) each, one dispatch) and 'merge' (⌈log₂ len⌉ merge passes, each element placed by a binary search of
 * the sibling run, O(log² len) per element in all). Both are stable, NaN last.
 */
export type ArgsortVariant = 'rank' | 'merge';
let forcedArgsort: ArgsortVariant | null = null;

/** Pins the argsort kernel whatever the line length (null: choose); for tests that check both kernels. */
export function forceArgsortVariant(v: ArgsortVariant | null): void {
  forcedArgsort = v;
}

/** The stable ascending order (i32 indices) along one axis, NaN last, by the kernel ArgsortVariant describes. */
export const argsortKernel: WebGpuKernel<{ readonly axis: number }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const n = sizeOf(x.shape);
  const { len, inner } = around(x.shape, call.params.axis);
  const merge = forcedArgsort === null ? len > ARGSORT_RANK_MAX : forcedArgsort === 'merge';
  // the merge passes ping-pong between the output and a second half of the same buffer
  const out = ctx.alloc(n * 4 * (merge ? 2 : 1));
  if (n === 0) return out;
  const t = wgslType('argsort', x.dtype);
  const nan = t === 'f32' ? 'is_nan(v)' : 'false';
  if (!merge) {
    const pipeline = ctx.pipeline(`argsort|${t}`, () => instantiate('argsort', { T: t, NAN_CHECK: nan }), 'rank', 1, 'argsort');
    ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, [n, len, inner], threadsGrid(n));
    return out;
  }
  const pipeline = ctx.pipeline(`argsort|${t}`, () => instantiate('argsort', { T: t, NAN_CHECK: nan }), 'merge', 1, 'argsort');
  const passes = Math.max(1, Math.ceil(Math.log2(len)));
  for (let p = 0; p < passes; p++) {
    // the last pass writes the first half (the output)
    const dst = (passes - 1 - p) % 2;
    const meta = [n, len, inner, 2 ** p, (1 - dst) * n, dst * n];
    ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, meta, threadsGrid(n));
  }
  return out;
};
