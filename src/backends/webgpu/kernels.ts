/**
 * The WebGPU kernel families (elementwise maps, reductions, argmax, matmul,
 * strided gathers and scatters). Each primitive record names its kernel in its
 * `webgpu` field (src/ops/*), built from these families; a kernel turns a
 * KernelCall into recorded dispatches and returns the output buffer without
 * waiting.
 */
import type { KernelCall, KernelInput } from '../Backend.js';
import { bytesPerElement } from '../../tensor/dtype.js';
import { sizeOf, type Shape } from '../../tensor/shape.js';
import { grid, threadsGrid, wgslType, type KernelContext, type SharedBuffer } from './context.js';
import { MAX_GROUPS_PER_DIM } from './gpuConstants.js';
import { broadcastStrides, checkRank, collapse, stridesOf } from './layout.js';
import { divmodWgsl, FAST_DIVISION_BOUND, reductionEntry, runMap, type MapOperand } from './mapKernel.js';
import { instantiate } from './shaderTemplate.js';

/** Matmul workgroup: WG×WG/2 threads, each computing 8×4 outputs, a (4·WG)² tile per workgroup. */
const MATMUL_WG = 16;
/** The tile (rows × columns of C per workgroup) of matmul_registers.wgsl. */
const REGISTERS_TILE = [64, 128] as const;
/** Threads per workgroup of matmul_vec4.wgsl (one SIMD vector of llvmpipe), side by side along the columns. */
const VEC4_WX = 8;

/**
 * matmul_vec4.wgsl's block per thread: RM rows × CN column quads, as large as
 * the shape fills (measured on llvmpipe: 32 rows × 8 quads is the fastest of
 * the blocks its compiler keeps in registers; a smaller block where C is
 * narrow or short, so that no thread only repeats clamped edge work).
 */
function vec4Block(M: number, N: number): { RM: number; CN: number } {
  const quads = N / 4;
  const CN = quads >= 8 * VEC4_WX ? 8 : quads >= 4 * VEC4_WX ? 4 : quads >= 2 * VEC4_WX ? 2 : 1;
  return { RM: vec4Rows(M), CN };
}
const vec4Rows = (M: number): number => (M >= 32 ? 32 : M >= 8 ? 8 : M >= 2 ? 2 : 1);

/**
 * matmul_avec4.wgsl's block per thread: RM rows × CN columns, CN the smallest
 * power of two whose WX·CN columns cover C's width, at most 16 (measured on
 * llvmpipe: 16 is the fastest for wide products, 2 for the 10 classes of the
 * benchmark MLP).
 */
function avec4Block(M: number, N: number): { RM: number; CN: number } {
  let CN = 1;
  while (CN < 16 && VEC4_WX * CN < N) CN *= 2;
  return { RM: vec4Rows(M), CN };
}

/**
 * The matmul kernels: 'tiled' (matmul.wgsl, tiles staged in workgroup
 * memory) on hardware adapters, where workgroup memory is fast and the kernel
 * is tuned, and on SwiftShader (where it measured faster too; figures in
 * bench/RESULTS.md); on Mesa llvmpipe, where workgroup memory and barriers are
 * emulated by the CPU and cost more than they save, 'vec4' when K is a
 * multiple of 4 (matmul_vec4.wgsl: A, B and C read and written as vec4, large
 * per-thread register blocks, when N is a multiple of 4 too; else
 * matmul_avec4.wgsl: A read as vec4, B and C as scalars), else 'registers'
 * (matmul_registers.wgsl: scalar loads, no workgroup memory). Forcing 'vec4'
 * runs 'registers' on shapes it cannot take.
 */
export type MatmulVariant = 'tiled' | 'registers' | 'vec4';
let forcedMatmul: MatmulVariant | null = null;

/** Pins the matmul kernel whatever the adapter (null: choose by adapter); for tests that check both kernels on one adapter. */
export function forceMatmulVariant(v: MatmulVariant | null): void {
  forcedMatmul = v;
}

/** A built-in primitive's WebGPU kernel: records dispatches for one call, returns the output buffer. */
export type WebGpuKernel<P = unknown> = (ctx: KernelContext, call: KernelCall<P>) => SharedBuffer;

const outBytes = (call: KernelCall): number => sizeOf(call.out.shape) * bytesPerElement(call.out.dtype);

const contiguous = (ctx: KernelContext, x: KernelInput): MapOperand => ({
  buffer: ctx.bufferOf(x.storage),
  dtype: x.dtype,
  offset: 0,
  strides: stridesOf(x.shape),
});
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
const operandType = (call: KernelCall): string => wgslType(call.name, call.inputs[0]!.dtype);

/**
 * An elementwise kernel: `expr` over the inputs x0, x1, … broadcast to the output; `t` is the WGSL type; `prelude` holds helper
 * functions.
 */
export const mapKernel =
  <P = unknown>(expr: (t: string) => string, prelude?: string): WebGpuKernel<P> =>
  (ctx, call) =>
    elementwise(ctx, call, expr(operandType(call)), prelude);

/** A comparison: 1 where `x0 op x1`, else 0, in the operands' type. */
export const compareKernel = <P = unknown>(op: string): WebGpuKernel<P> => mapKernel(compareExpr(op));

/** The WGSL expression of a comparison over x0, x1 of type `t`: 1 where `x0 op x1`, else 0. */
export const compareExpr =
  (op: string) =>
  (t: string): string =>
    `select(${t}(0), ${t}(1), x0 ${op} x1)`;

/** Reductions (sum, max) over sorted axes. */
function reduceOver(ctx: KernelContext, call: KernelCall, axes: readonly number[], init: string, combine: string): SharedBuffer {
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
  const t = operandType(call);
  const KR = kept.shape.length;
  const RR = red.shape.length;
  const { entry, groups } = reductionEntry(ctx, nOut, nRed);
  const fast = Math.max(nOut, nRed) < FAST_DIVISION_BOUND;
  const key = `reduce|${fast}|${t}|${KR}|${RR}|${init}|${combine}`;
  const pipeline = ctx.pipeline(
    key,
    () => instantiate('reduce', { T: t, INIT: init, COMBINE: combine, KR, RR, DIVMOD: divmodWgsl(fast) }),
    entry,
    1,
    call.name,
  );
  const meta = [nOut, nRed, ...kept.shape, ...kept.strides[0]!, ...red.shape, ...red.strides[0]!];
  ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, meta, groups);
  return out;
}

const MAX_INIT_COMBINE = (t: string) =>
  t === 'f32' ? ['-f32_inf()', 'select(a, b, b > a || is_nan(b))'] : ['i32(-2147483647 - 1)', 'max(a, b)'];

/** The kernel for a product with inner size K (see MatmulVariant). */
function matmulVariant(ctx: KernelContext, K: number): MatmulVariant {
  const v = forcedMatmul ?? (ctx.adapterKind === 'llvmpipe' ? 'vec4' : 'tiled');
  return v === 'vec4' && K % 4 !== 0 ? 'registers' : v;
}

/**
 * An elementwise epilogue applied where a matmul kernel stores C (src/backends/webgpu/fused.ts): `source` fills the
 * kernel's {{EPILOGUE}} (the epilogue's input bindings from 3 on, its output bindings after them, `epilogue_setup`,
 * `store_c` and `epilogue_finish`, for C stored by element or, with `vec4`, by quad); its inputs are read with `strides` (each input's
 * broadcast strides over C's shape), passed in the parameter block after B's batch strides: each input's strides over
 * the collapsed batch dims, then each input's row and column strides.
 */
export interface MatmulEpilogue {
  /** `vec4`: C is stored by quads. */
  readonly source: (vec4: boolean) => string;
  readonly inputs: readonly GPUBuffer[];
  readonly strides: readonly (readonly number[])[];
  readonly outputs: readonly GPUBuffer[];
}

/** The {{EPILOGUE}} of the plain matmul: C at binding 3, stored as computed. */
function plainStore(t: string, vec4: boolean): string {
  const ct = vec4 ? `vec4<${t}>` : t;
  return [
    `@group(0) @binding(3) var<storage, read_write> c: array<${ct}>;`,
    'fn epilogue_setup(batch: u32) {}',
    'fn epilogue_finish(c_base: u32, row0: u32, rows: u32, col0: u32, cols: u32, step: u32) {}',
    `fn store_c(i: u32, row: u32, col: u32, v: ${ct}) {`,
    '  c[i] = v;',
    '}',
  ].join('\n');
}

/** The operands of a matmul: shapes (rank ≥ 2, batch dims broadcast) and the WGSL type of their elements. */
export interface MatmulShapes {
  readonly a: Shape;
  readonly b: Shape;
  /** The product's shape: [...batch, M, N]. */
  readonly out: Shape;
  readonly t: string;
}

/** The kernel a matmul of these shapes runs (with an epilogue's strides, if any): its pipeline key and source, tile, parameters. */
function matmulLaunch(
  ctx: KernelContext,
  s: MatmulShapes,
  epilogue?: Pick<MatmulEpilogue, 'source' | 'strides'>,
): { key: string; source: () => string; tileM: number; tileN: number; meta: number[]; batch: number } {
  const os = s.out;
  const M = os[os.length - 2]!;
  const N = os[os.length - 1]!;
  const K = s.a[s.a.length - 1]!;
  const batchShape = os.slice(0, -2);
  const epiStrides = epilogue?.strides ?? [];
  const bs = collapse(batchShape, [
    broadcastStrides(s.a.slice(0, -2), batchShape),
    broadcastStrides(s.b.slice(0, -2), batchShape),
    ...epiStrides.map((st) => st.slice(0, -2)),
  ]);
  checkRank('matmul', bs.shape.length);
  const BR = bs.shape.length;
  const t = s.t;
  let variant = matmulVariant(ctx, K);
  // an empty K reads nothing: a scalar kernel (A and B may be smaller than one vec4)
  if (K === 0 && variant === 'vec4') variant = 'registers';
  const epi = (vec4: boolean) => (epilogue ? epilogue.source(vec4) : plainStore(t, vec4));
  const tag = (vec4: boolean) => (epilogue ? `|${epi(vec4)}` : '');
  let r: { key: string; source: () => string; tileM: number; tileN: number };
  if (variant === 'vec4' && N % 4 === 0) {
    const { RM, CN } = vec4Block(M, N);
    r = {
      key: `matmul_vec4|${t}|${BR}|${RM}|${CN}${tag(true)}`,
      source: () => instantiate('matmul_vec4', { BR, T: t, RM, CN, EPILOGUE: epi(true) }),
      tileM: RM,
      tileN: 4 * VEC4_WX * CN,
    };
  } else if (variant === 'vec4') {
    const { RM, CN } = avec4Block(M, N);
    r = {
      key: `matmul_avec4|${t}|${BR}|${RM}|${CN}${tag(false)}`,
      source: () => instantiate('matmul_avec4', { BR, T: t, RM, CN, EPILOGUE: epi(false) }),
      tileM: RM,
      tileN: VEC4_WX * CN,
    };
  } else if (variant === 'registers') {
    r = {
      key: `matmul_registers|${t}|${BR}${tag(false)}`,
      source: () => instantiate('matmul_registers', { BR, T: t, EPILOGUE: epi(false) }),
      tileM: REGISTERS_TILE[0],
      tileN: REGISTERS_TILE[1],
    };
  } else {
    r = {
      key: `matmul|${t}|${BR}|${MATMUL_WG}${tag(false)}`,
      source: () => instantiate('matmul', { BR, T: t, WG: MATMUL_WG, EPILOGUE: epi(false) }),
      tileM: 4 * MATMUL_WG,
      tileN: 4 * MATMUL_WG,
    };
  }
  const meta = [M, N, K, 0, 0, ...bs.shape, ...bs.strides.flat()];
  for (const st of epiStrides) meta.push(st[st.length - 2]!, st[st.length - 1]!);
  return { ...r, meta, batch: sizeOf(batchShape) };
}

/** The source of the kernel a matmul of these shapes runs (with `epilogue`, if any). */
export function matmulSource(ctx: KernelContext, s: MatmulShapes, epilogue?: Pick<MatmulEpilogue, 'source' | 'strides'>): string {
  return matmulLaunch(ctx, s, epilogue).source();
}

/** The parameter words of a matmul with an epilogue of `inputs` inputs at batch rank ≤ `batchRank` (to check the slot's size). */
export const matmulMetaWords = (batchRank: number, inputs: number): number => 5 + batchRank * (3 + inputs) + 2 * inputs;

/**
 * Records a batched matrix product of A and B (buffers holding `s.a`, `s.b`), either into `out` (C) or, with an
 * epilogue, into the epilogue's outputs. The product is the same kernel and arithmetic either way. Nothing is
 * recorded for an empty product; a plain product with K = 0 is cleared.
 */
export function runMatmul(ctx: KernelContext, s: MatmulShapes, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer | MatmulEpilogue): void {
  const os = s.out;
  const M = os[os.length - 2]!;
  const N = os[os.length - 1]!;
  const K = s.a[s.a.length - 1]!;
  const batch = sizeOf(os.slice(0, -2));
  if (batch * M * N === 0) return;
  const epilogue = 'outputs' in out ? out : undefined;
  if (!epilogue && K === 0) {
    ctx.clear(out as GPUBuffer, sizeOf(os) * 4);
    return;
  }
  const l = matmulLaunch(ctx, s, epilogue);
  const pipeline = ctx.pipeline(l.key, l.source, 'main', 2 + (epilogue?.inputs.length ?? 0), 'matmul', epilogue?.outputs.length ?? 1);
  const colTiles = Math.ceil(N / l.tileN);
  const rowTiles = Math.ceil(M / l.tileM);
  if (colTiles > MAX_GROUPS_PER_DIM)
    throw new Error(`matmul: ${N} output columns exceed one WebGPU dispatch (at most ${MAX_GROUPS_PER_DIM * l.tileN})`);
  const inputs = [a, b, ...(epilogue?.inputs ?? [])];
  const outputs = epilogue ? epilogue.outputs : (out as GPUBuffer);
  for (let b0 = 0; b0 < batch; b0 += MAX_GROUPS_PER_DIM) {
    for (let r0 = 0; r0 < rowTiles; r0 += MAX_GROUPS_PER_DIM) {
      const meta = [...l.meta];
      meta[3] = b0;
      meta[4] = r0;
      ctx.dispatch(pipeline, inputs, outputs, meta, [
        colTiles,
        Math.min(MAX_GROUPS_PER_DIM, rowTiles - r0),
        Math.min(MAX_GROUPS_PER_DIM, batch - b0),
      ]);
    }
  }
}

/** Batched matrix product (batch dims broadcast); the variant is chosen by adapter and shape (see MatmulVariant). */
export function matmulKernel(ctx: KernelContext, call: KernelCall): SharedBuffer {
  const [a, b] = call.inputs as [KernelInput, KernelInput];
  const out = ctx.alloc(outBytes(call));
  runMatmul(
    ctx,
    { a: a.shape, b: b.shape, out: call.out.shape, t: operandType(call) },
    ctx.bufferOf(a.storage),
    ctx.bufferOf(b.storage),
    out.buffer,
  );
  return out;
}

/** Copy `x` into `out` at element offset `offset` with output strides `ostr` (pad, concat). */
function scatterInto(
  ctx: KernelContext,
  call: KernelCall,
  x: KernelInput,
  out: SharedBuffer,
  offset: number,
  ostr: readonly number[],
): void {
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

/** The input's buffer again, without copying (reshape, stopGradient). */
export const shareKernel: WebGpuKernel = (ctx, call) => ctx.share(call.inputs[0]!.storage);

/** `where(c, a, b)`: a where c ≠ 0, else b, all broadcast. */
export const whereKernel: WebGpuKernel = (ctx, call) =>
  elementwise(ctx, call, `select(x2, x1, x0 != ${wgslType('where', call.inputs[0]!.dtype)}(0))`);

/** Conversion between dtypes (the map's store converts). */
export const castKernel: WebGpuKernel = (ctx, call) => elementwise(ctx, call, 'x0');

export const broadcastKernel: WebGpuKernel = (ctx, call) =>
  gatherFrom(ctx, call, 0, broadcastStrides(call.inputs[0]!.shape, call.out.shape));

/**
 * Transposes: on software adapters a 2-D transpose whose sides are multiples of 4 (after collapsing) runs by 4×4
 * tiles with vec4 loads and stores (shaders/transpose.wgsl); every other permutation is a strided gather.
 */
export const transposeKernel: WebGpuKernel<{ readonly perm: readonly number[] }> = (ctx, call) => {
  const st = stridesOf(call.inputs[0]!.shape);
  const strides = call.params.perm.map((p) => st[p]!);
  const c = collapse(call.out.shape, [stridesOf(call.out.shape), strides]);
  if (ctx.adapterKind !== 'hardware' && c.shape.length === 2) {
    const [R, C] = c.shape as [number, number];
    const [os, xs] = c.strides as [number[], number[]];
    if (R % 4 === 0 && C % 4 === 0 && os[0] === C && os[1] === 1 && xs[0] === 1 && xs[1] === R) {
      const out = ctx.alloc(outBytes(call));
      const t = operandType(call);
      const tiles = (R * C) / 16;
      const fast = tiles < FAST_DIVISION_BOUND;
      const pipeline = ctx.pipeline(
        `transpose|${t}|${fast}`,
        () => instantiate('transpose', { T: t, DIVMOD: divmodWgsl(fast) }),
        'main',
        1,
        call.name,
      );
      ctx.dispatch(pipeline, [ctx.bufferOf(call.inputs[0]!.storage)], out.buffer, [tiles, C / 4, R / 4], threadsGrid(tiles));
      return out;
    }
  }
  return gatherFrom(ctx, call, 0, strides);
};

export const sliceKernel: WebGpuKernel<{ readonly starts: readonly number[] }> = (ctx, call) => {
  const st = stridesOf(call.inputs[0]!.shape);
  return gatherFrom(
    ctx,
    call,
    call.params.starts.reduce((acc, s, i) => acc + s * st[i]!, 0),
    st,
  );
};

export const padKernel: WebGpuKernel<{ readonly lo: readonly number[] }> = (ctx, call) => {
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
};

export const concatKernel: WebGpuKernel<{ readonly axis: number }> = (ctx, call) => {
  const out = ctx.alloc(outBytes(call));
  const ostr = stridesOf(call.out.shape);
  const axis = call.params.axis;
  let off = 0;
  for (const x of call.inputs) {
    scatterInto(ctx, call, x, out, off * ostr[axis]!, ostr);
    off += x.shape[axis]!;
  }
  return out;
};

export const sumKernel: WebGpuKernel<{ readonly axes: readonly number[] }> = (ctx, call) => {
  const t = operandType(call);
  return reduceOver(ctx, call, call.params.axes, `${t}(0)`, 'a + b');
};

/** Maximum over axes; NaN propagates. */
export const maxKernel: WebGpuKernel<{ readonly axes: readonly number[] }> = (ctx, call) => {
  const [init, combine] = MAX_INIT_COMBINE(operandType(call));
  return reduceOver(ctx, call, call.params.axes, init!, combine!);
};

/** Index of the first maximum along one axis (a NaN counts as the maximum). */
export const argmaxKernel: WebGpuKernel<{ readonly axis: number }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const axis = call.params.axis;
  const out = ctx.alloc(outBytes(call));
  const nOut = sizeOf(call.out.shape);
  if (nOut === 0) return out;
  const t = operandType(call);
  const pipeline = ctx.pipeline(
    `argmax|${t}`,
    () => instantiate('argmax', { T: t, NAN_CHECK: t === 'f32' ? 'is_nan(v)' : 'false' }),
    'main',
    1,
    'argmax',
  );
  const meta = [nOut, x.shape[axis]!, sizeOf(x.shape.slice(axis + 1))];
  ctx.dispatch(pipeline, [ctx.bufferOf(x.storage)], out.buffer, meta, grid(nOut));
  return out;
};
