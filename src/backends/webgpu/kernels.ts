/**
 * The WebGPU kernel table: one entry per built-in primitive (the mapped type
 * makes a primitive without a WebGPU kernel a compile error). Each entry turns
 * a KernelCall into recorded dispatches of a WGSL kernel family and returns
 * the output buffer without waiting.
 */
import type { KernelCall, KernelInput } from '../Backend.js';
import type { PrimName, PrimParams } from '../../ops/primitives.js';
import { bytesPerElement } from '../../tensor/dtype.js';
import { sizeOf, type Shape } from '../../tensor/shape.js';
import { grid, threadsGrid, wgslType, type KernelContext, type SharedBuffer } from './context.js';
import { MAX_GROUPS_PER_DIM } from './gpuConstants.js';
import { broadcastStrides, checkRank, collapse, stridesOf } from './layout.js';
import { runMap, type MapOperand } from './mapKernel.js';
import { instantiate } from './shaderTemplate.js';

/** Matmul workgroup: WG×WG/2 threads, each computing 8×4 outputs, a (4·WG)² tile per workgroup. */
const MATMUL_WG = 16;
/** The tile (rows × columns of C per workgroup) of matmul_registers.wgsl. */
const REGISTERS_TILE = [64, 128] as const;

/**
 * The two matmul kernels: 'tiled' (matmul.wgsl, tiles staged in workgroup
 * memory) on hardware adapters, where workgroup memory is fast and the kernel
 * is tuned (bench/RESULTS.md), and on SwiftShader (where it measured faster
 * too: 0.27-0.41 against 0.21-0.23 GFLOP/s at N = 256-512); 'registers'
 * (matmul_registers.wgsl, no workgroup memory, large per-thread register
 * blocks) on Mesa llvmpipe, where workgroup memory and barriers are emulated
 * by the CPU and cost more than they save (the tiled kernel is about 4× slower
 * there).
 */
export type MatmulVariant = 'tiled' | 'registers';
let forcedMatmul: MatmulVariant | null = null;

/** Pins the matmul kernel whatever the adapter (null: choose by adapter); for tests that check both kernels on one adapter. */
export function forceMatmulVariant(v: MatmulVariant | null): void {
  forcedMatmul = v;
}

export type WebGpuKernel<P> = (ctx: KernelContext, call: Omit<KernelCall, 'params'> & { readonly params: P }) => SharedBuffer;

const outBytes = (call: KernelCall): number => sizeOf(call.out.shape) * bytesPerElement(call.out.dtype);

const contiguous = (ctx: KernelContext, x: KernelInput): MapOperand => ({ buffer: ctx.bufferOf(x.storage), dtype: x.dtype, offset: 0, strides: stridesOf(x.shape) });
const broadcast = (ctx: KernelContext, x: KernelInput, target: Shape): MapOperand => ({
  buffer: ctx.bufferOf(x.storage),
  dtype: x.dtype,
  offset: 0,
  strides: broadcastStrides(x.shape, target),
});

/** out = expr(x0, x1, ...) with every input broadcast to the output shape. */
export function elementwise(ctx: KernelContext, call: KernelCall, expr: string, prelude?: string): SharedBuffer {
  const out = ctx.alloc(outBytes(call));
  runMap(ctx, {
    label: call.name,
    shape: call.out.shape,
    out: { buffer: out.buffer, dtype: call.out.dtype, offset: 0, strides: stridesOf(call.out.shape) },
    inputs: call.inputs.map((x) => broadcast(ctx, x, call.out.shape)),
    expr,
    ...(prelude ? { prelude } : {}),
  });
  return out;
}

/** Type-generic WGSL snippets: `T` is the operands' WGSL type. */
const T = (call: KernelCall): string => wgslType(call.name, call.inputs[0]!.dtype);

const unary = (expr: (t: string) => string, prelude?: string): WebGpuKernel<Record<string, never>> => (ctx, call) => elementwise(ctx, call, expr(T(call)), prelude);
const binary = unary;

const SIGMOID = `
fn sigmoid_f(x: f32) -> f32 {
  if (x >= 0.0) {
    return 1.0 / (1.0 + exp(-x));
  }
  let e = exp(x);
  return e / (1.0 + e);
}`;

// a^b with JavaScript's Math.pow conventions for a ≤ 0 (WGSL's pow is undefined there).
const POW = `
fn pow_f(a: f32, b: f32) -> f32 {
  if (b == 0.0) {
    return 1.0;
  }
  if (a == 0.0) {
    return select(f32_inf(), 0.0, b > 0.0);
  }
  let r = exp2(b * log2(abs(a)));
  if (a > 0.0) {
    return r;
  }
  if (floor(b) != b) {
    return f32_nan();
  }
  let half = b * 0.5;
  return select(r, -r, floor(half) != half);
}`;

const cmp = (op: string) => (t: string) => `select(${t}(0), ${t}(1), x0 ${op} x1)`;

/** Reductions (sum, max) over sorted axes. */
function reduceKernel(ctx: KernelContext, call: KernelCall, axes: readonly number[], init: string, combine: string): SharedBuffer {
  const x = call.inputs[0]!;
  const out = ctx.alloc(outBytes(call));
  const nOut = sizeOf(call.out.shape);
  if (nOut === 0) return out;
  const st = stridesOf(x.shape);
  const keptDims = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const kept = collapse(
    keptDims.map((i) => x.shape[i]!),
    [keptDims.map((i) => st[i]!)],
  );
  const red = collapse(
    axes.map((i) => x.shape[i]!),
    [axes.map((i) => st[i]!)],
  );
  const nRed = sizeOf(red.shape);
  if (nRed === 0) {
    // sum over an empty axis: the identity (max rejects empty axes in its shape rule)
    ctx.clear(out.buffer, outBytes(call));
    return out;
  }
  checkRank(call.name, kept.shape.length);
  checkRank(call.name, red.shape.length);
  const t = T(call);
  const KR = kept.shape.length;
  const RR = red.shape.length;
  const serial = nRed <= 64 || nOut >= 4096;
  const entry = serial ? 'serial' : 'rows';
  const key = `reduce|${t}|${KR}|${RR}|${init}|${combine}`;
  const pipeline = ctx.pipeline(key, () => instantiate('reduce', { T: t, INIT: init, COMBINE: combine, KR, RR }), entry, 1, call.name);
  const meta = [nOut, nRed, ...kept.shape, ...kept.strides[0]!, ...red.shape, ...red.strides[0]!];
  ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, meta, serial ? threadsGrid(nOut) : grid(nOut));
  return out;
}

const MAX_F32 = (t: string) => (t === 'f32' ? ['-f32_inf()', 'select(a, b, b > a || is_nan(b))'] : ['i32(-2147483647 - 1)', 'max(a, b)']);

function matmulKernel(ctx: KernelContext, call: KernelCall): SharedBuffer {
  const [a, b] = call.inputs as [KernelInput, KernelInput];
  const out = ctx.alloc(outBytes(call));
  const os = call.out.shape;
  const M = os[os.length - 2]!;
  const N = os[os.length - 1]!;
  const K = a.shape[a.shape.length - 1]!;
  const batchShape = os.slice(0, -2);
  const batch = sizeOf(batchShape);
  if (batch * M * N === 0) return out;
  if (K === 0) {
    ctx.clear(out.buffer, outBytes(call));
    return out;
  }
  const bs = collapse(batchShape, [broadcastStrides(a.shape.slice(0, -2), batchShape), broadcastStrides(b.shape.slice(0, -2), batchShape)]);
  checkRank('matmul', bs.shape.length);
  const BR = bs.shape.length;
  const t = T(call);
  const variant = forcedMatmul ?? (ctx.adapterKind === 'llvmpipe' ? 'registers' : 'tiled');
  const [tileM, tileN] = variant === 'registers' ? REGISTERS_TILE : [4 * MATMUL_WG, 4 * MATMUL_WG];
  const pipeline =
    variant === 'registers'
      ? ctx.pipeline(`matmul_registers|${t}|${BR}`, () => instantiate('matmul_registers', { BR, T: t }), 'main', 2, 'matmul')
      : ctx.pipeline(`matmul|${t}|${BR}|${MATMUL_WG}`, () => instantiate('matmul', { BR, T: t, WG: MATMUL_WG }), 'main', 2, 'matmul');
  const colTiles = Math.ceil(N / tileN);
  const rowTiles = Math.ceil(M / tileM);
  if (colTiles > MAX_GROUPS_PER_DIM) throw new Error(`matmul: ${N} output columns exceed one WebGPU dispatch (at most ${MAX_GROUPS_PER_DIM * tileN})`);
  const inputs = [ctx.bufferOf(a.storage), ctx.bufferOf(b.storage)];
  for (let b0 = 0; b0 < batch; b0 += MAX_GROUPS_PER_DIM) {
    for (let r0 = 0; r0 < rowTiles; r0 += MAX_GROUPS_PER_DIM) {
      const meta = [M, N, K, b0, r0, ...bs.shape, ...bs.strides[0]!, ...bs.strides[1]!];
      ctx.dispatch(pipeline, inputs, out.buffer, meta, [colTiles, Math.min(MAX_GROUPS_PER_DIM, rowTiles - r0), Math.min(MAX_GROUPS_PER_DIM, batch - b0)]);
    }
  }
  return out;
}

/** Copy `x` into `out` at element offset `offset` with output strides `ostr` (pad, concat). */
function scatterInto(ctx: KernelContext, call: KernelCall, x: KernelInput, out: SharedBuffer, offset: number, ostr: readonly number[]): void {
  runMap(ctx, {
    label: call.name,
    shape: x.shape,
    out: { buffer: out.buffer, dtype: call.out.dtype, offset, strides: ostr },
    inputs: [contiguous(ctx, x)],
    expr: 'x0',
  });
}

/** out = x read at `offset` with `strides` over the output shape (transpose, slice, broadcastTo). */
function gatherFrom(ctx: KernelContext, call: KernelCall, offset: number, strides: readonly number[]): SharedBuffer {
  const x = call.inputs[0]!;
  const out = ctx.alloc(outBytes(call));
  runMap(ctx, {
    label: call.name,
    shape: call.out.shape,
    out: { buffer: out.buffer, dtype: call.out.dtype, offset: 0, strides: stridesOf(call.out.shape) },
    inputs: [{ buffer: ctx.bufferOf(x.storage), dtype: x.dtype, offset, strides }],
    expr: 'x0',
  });
  return out;
}

export const webgpuKernels = {
  neg: unary(() => '-x0'),
  exp: unary(() => 'exp(x0)'),
  log: unary(() => 'log(x0)'),
  sin: unary(() => 'sin(x0)'),
  cos: unary(() => 'cos(x0)'),
  // clamped: tanh(±15) is ±1 in f32, and some implementations overflow past it
  tanh: unary(() => 'tanh(clamp(x0, -15.0, 15.0))'),
  sigmoid: unary(() => 'sigmoid_f(x0)', SIGMOID),
  relu: unary((t) => `select(${t}(0), x0, x0 > ${t}(0))`),
  sqrt: unary(() => 'sqrt(x0)'),
  square: unary(() => 'x0 * x0'),
  abs: unary(() => 'abs(x0)'),
  reciprocal: unary(() => '1.0 / x0'),
  sign: unary((t) => `select(select(x0, ${t}(-1), x0 < ${t}(0)), ${t}(1), x0 > ${t}(0))`),

  add: binary(() => 'x0 + x1'),
  sub: binary(() => 'x0 - x1'),
  mul: binary(() => 'x0 * x1'),
  div: binary(() => 'x0 / x1'),
  pow: binary(() => 'pow_f(x0, x1)', POW),
  maximum: binary((t) => (t === 'f32' ? 'select(x1, x0, x0 >= x1 || is_nan(x0))' : 'max(x0, x1)')),
  minimum: binary((t) => (t === 'f32' ? 'select(x1, x0, x0 <= x1 || is_nan(x0))' : 'min(x0, x1)')),
  greater: binary(cmp('>')),
  greaterEqual: binary(cmp('>=')),
  less: binary(cmp('<')),
  lessEqual: binary(cmp('<=')),
  equal: binary(cmp('==')),
  notEqual: binary(cmp('!=')),

  where: (ctx, call) => elementwise(ctx, call, `select(x2, x1, x0 != ${wgslType('where', call.inputs[0]!.dtype)}(0))`),
  cast: (ctx, call) => elementwise(ctx, call, 'x0'),
  matmul: matmulKernel,
  stopGradient: (ctx, call) => ctx.share(call.inputs[0]!.storage),
  reshape: (ctx, call) => ctx.share(call.inputs[0]!.storage),
  broadcastTo: (ctx, call) => gatherFrom(ctx, call, 0, broadcastStrides(call.inputs[0]!.shape, call.out.shape)),
  transpose: (ctx, call) => {
    const st = stridesOf(call.inputs[0]!.shape);
    return gatherFrom(
      ctx,
      call,
      0,
      call.params.perm.map((p) => st[p]!),
    );
  },
  slice: (ctx, call) => {
    const st = stridesOf(call.inputs[0]!.shape);
    return gatherFrom(
      ctx,
      call,
      call.params.starts.reduce((acc, s, i) => acc + s * st[i]!, 0),
      st,
    );
  },
  pad: (ctx, call) => {
    const out = ctx.alloc(outBytes(call));
    ctx.clear(out.buffer, outBytes(call));
    const ostr = stridesOf(call.out.shape);
    scatterInto(
      ctx,
      call,
      call.inputs[0]!,
      out,
      call.params.lo.reduce((acc, l, i) => acc + l * ostr[i]!, 0),
      ostr,
    );
    return out;
  },
  concat: (ctx, call) => {
    const out = ctx.alloc(outBytes(call));
    const ostr = stridesOf(call.out.shape);
    const axis = call.params.axis;
    let off = 0;
    for (const x of call.inputs) {
      scatterInto(ctx, call, x, out, off * ostr[axis]!, ostr);
      off += x.shape[axis]!;
    }
    return out;
  },
  sum: (ctx, call) => {
    const t = T(call);
    return reduceKernel(ctx, call, call.params.axes, `${t}(0)`, 'a + b');
  },
  max: (ctx, call) => {
    const [init, combine] = MAX_F32(T(call));
    return reduceKernel(ctx, call, call.params.axes, init!, combine!);
  },
  argmax: (ctx, call) => {
    const x = call.inputs[0]!;
    const axis = call.params.axis;
    const out = ctx.alloc(outBytes(call));
    const nOut = sizeOf(call.out.shape);
    if (nOut === 0) return out;
    const t = T(call);
    const pipeline = ctx.pipeline(`argmax|${t}`, () => instantiate('argmax', { T: t, NAN_CHECK: t === 'f32' ? 'is_nan(v)' : 'false' }), 'main', 1, 'argmax');
    const meta = [nOut, x.shape[axis]!, sizeOf(x.shape.slice(axis + 1))];
    ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, meta, grid(nOut));
    return out;
  },
} satisfies { [P in PrimName]: WebGpuKernel<PrimParams[P]> } as { [P in PrimName]: WebGpuKernel<PrimParams[P]> };

