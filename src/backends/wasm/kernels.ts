/**
 * The wasm kernel families (elementwise maps, where, cast, strided gathers and
 * scatters, reductions, argmax, matmul). Each built-in primitive record names
 * its kernel in its `wasm` field (src/ops/*), built from these families with an
 * op code. A kernel turns a KernelCall into a list of export calls on the
 * module of src/backends/wasm/assembly (allocating the output and any
 * temporaries through the context) and returns the output storage; the
 * backend then runs the list. Every call that can be split names the
 * argument pair [start, end) of its range (rows, elements or jobs), so a
 * thread pool can run sub-ranges of one call on several threads.
 */
import type { KernelCall, KernelInput, Storage } from '../Backend.js';
import { bytesPerElement, type DType } from '../../tensor/dtype.js';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../tensor/shape.js';
import { collapse } from '../webgpu/layout.js';
import type { WorkKind } from './threads.js';

/** One call of a module export. */
export interface WasmCall {
  /** The export's name. */
  readonly fn: string;
  readonly args: readonly number[];
  /**
   * args[index], args[index + 1] are [start, end) of a range of `count` independent units that may
   * be split (each unit computed the same way whatever range holds it); `work` is the call's cost in
   * elements (flops for matmul) and `kind` picks its threshold (src/backends/wasm/threads.ts);
   * `align`: chunk starts are multiples of it (elements: 16, a cache line).
   */
  readonly split?: {
    readonly index: number;
    readonly count: number;
    readonly work: number;
    readonly kind: WorkKind;
    readonly align?: number;
  };
  /** args[index] is a scratch block of `bytes` that each thread running a sub-range needs for itself. */
  readonly scratch?: { readonly index: number; readonly bytes: number };
}

/** What a wasm kernel may do: address inputs, allocate, and append export calls. */
export interface WasmContext {
  /** The address of an input's data. */
  ptr(storage: Storage): number;
  /** A new output buffer of `bytes` (the kernel's result). */
  output(bytes: number): Storage;
  /** The same buffer again, without copying (reshape, stopGradient). */
  share(storage: Storage): Storage;
  /** The address of a temporary block, freed once the calls have run. */
  temp(bytes: number): number;
  /** A temporary block holding these i32 words (shapes and strides for a kernel); its address. */
  words(values: readonly number[]): number;
  /** The address of an output buffer. */
  ptrOf(storage: Storage): number;
  /** Runs a pure export now (sizes, job counts) and returns its result. */
  query(fn: string, ...args: number[]): number;
  /** Appends a call to the list the backend runs. */
  call(c: WasmCall): void;
}

/** A built-in primitive's wasm kernel: appends export calls for one KernelCall, returns the output storage. */
export type WasmKernel<P = unknown> = (ctx: WasmContext, call: KernelCall<P>) => Storage;

/** Unary op codes (src/backends/wasm/assembly/elementwiseOps.ts), shared by the elementwise and fused kernels. */
export const UNARY_OPS = {
  neg: 0,
  exp: 1,
  log: 2,
  sin: 3,
  cos: 4,
  tanh: 5,
  sigmoid: 6,
  relu: 7,
  sqrt: 8,
  square: 9,
  abs: 10,
  reciprocal: 11,
  sign: 12,
  erf: 13,
  erfc: 14,
  log1p: 15,
  expm1: 16,
  softplus: 17,
} as const;
/** The unary operations of the wasm elementwise kernel. */
export type WasmUnaryOp = keyof typeof UNARY_OPS;
/** The unary operations that have an i32 kernel. */
export const I32_UNARY: ReadonlySet<string> = new Set<WasmUnaryOp>(['neg', 'relu', 'square', 'abs', 'sign']);

/** The unary operations computed by a polynomial or rational approximation (costlier per element). */
export const TRANSCENDENTAL: ReadonlySet<string> = new Set<WasmUnaryOp>([
  'exp',
  'log',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'erf',
  'erfc',
  'log1p',
  'expm1',
  'softplus',
]);

/** Binary op codes; the comparisons by their operator. Shared by the elementwise and fused kernels. */
export const BINARY_OPS = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  '>': 7,
  '>=': 8,
  '<': 9,
  '<=': 10,
  '==': 11,
  '!=': 12,
  logaddexp: 13,
} as const;
/** The binary operations of the wasm elementwise kernel (comparisons by operator). */
export type WasmBinaryOp = keyof typeof BINARY_OPS;
/** The comparison operators. */
export type WasmCompareOp = '>' | '>=' | '<' | '<=' | '==' | '!=';
/** The binary operations without an i32 kernel. */
export const NO_I32_BINARY: ReadonlySet<string> = new Set<WasmBinaryOp>(['div', 'pow', 'logaddexp']);
/** The binary operations computed by a polynomial or rational approximation (costlier per element). */
export const TRANSCENDENTAL_BINARY: ReadonlySet<string> = new Set<WasmBinaryOp>(['pow', 'logaddexp']);

/** Whether `op` names a unary operation of the wasm elementwise kernels. */
export const isWasmUnaryOp = (op: string): op is WasmUnaryOp => Object.hasOwn(UNARY_OPS, op);
/** Whether `op` names a binary operation of the wasm elementwise kernels. */
export const isWasmBinaryOp = (op: string): op is WasmBinaryOp => Object.hasOwn(BINARY_OPS, op);

const elementBytes = (call: KernelCall): number => sizeOf(call.out.shape) * bytesPerElement(call.out.dtype);

/** The module's suffix for a dtype; f64 never reaches a wasm kernel (the backend refuses it). */
function suffix(op: string, dtype: DType): 'f32' | 'i32' {
  if (dtype === 'f32' || dtype === 'i32') return dtype;
  throw new Error(`${op}: the wasm backend has no ${dtype} kernels (f64 lives on the cpu backend)`);
}

/** Rows (all dims but the last) of a collapsed shape. */
const rowsOf = (shape: readonly number[]): number => sizeOf(shape.slice(0, -1));

/** Elements per row when one long row is cut into rows so that threads can share it (a multiple of 16). */
const ROW_CUT = 4096;

/**
 * One piece of a map's iteration space: [rank ≥ 1, shape, each operand's strides] as i32 words,
 * its rows, and where it starts: `at` elements into the contiguous side, `offsets[k]` elements
 * into operand k.
 */
interface MapSegment {
  readonly words: number[];
  readonly rows: number;
  readonly at: number;
  readonly offsets: readonly number[];
}

/**
 * The collapsed iteration space of a map whose contiguous side spans `shape` and whose
 * operands read with `strides`. Kernels split by rows, so a single long row (same-shape or
 * scalar operands) is cut into rows of ROW_CUT elements plus a tail segment; every element is
 * computed the same way either way.
 */
function mapSegments(shape: Shape, strides: readonly (readonly number[])[]): MapSegment[] {
  const c = collapse(shape, [stridesOf(shape), ...strides]);
  let cs = c.shape;
  let cst = c.strides.slice(1);
  if (cs.length === 0) {
    cs = [1];
    cst = strides.map(() => [0]);
  }
  const n = cs[0]!;
  if (cs.length === 1 && n >= 2 * ROW_CUT) {
    const q = Math.floor(n / ROW_CUT);
    const body: MapSegment = {
      words: [2, q, ROW_CUT, ...cst.flatMap((st) => [st[0]! * ROW_CUT, st[0]!])],
      rows: q,
      at: 0,
      offsets: cst.map(() => 0),
    };
    const r = n - q * ROW_CUT;
    if (r === 0) return [body];
    const at = q * ROW_CUT;
    return [body, { words: [1, r, ...cst.map((st) => st[0]!)], rows: 1, at, offsets: cst.map((st) => st[0]! * at) }];
  }
  return [{ words: [cs.length, ...cs, ...cst.flat()], rows: rowsOf(cs), at: 0, offsets: cst.map(() => 0) }];
}

/** Elements of a segment (rows × the last dim). */
const segmentSize = (m: MapSegment): number => m.rows * m.words[m.words[0]!]!;

/** An elementwise unary op on a contiguous input. */
export const unaryKernel =
  <P = unknown>(op: WasmUnaryOp): WasmKernel<P> =>
  (ctx, call) => {
    const x = call.inputs[0]!;
    const out = ctx.output(elementBytes(call));
    const n = sizeOf(call.out.shape);
    const t = suffix(call.name, x.dtype);
    if (t === 'i32' && !I32_UNARY.has(op)) throw new Error(`${call.name}: no i32 kernel for ${op} on the wasm backend`);
    if (n > 0)
      ctx.call({
        fn: `unary_${t}`,
        args: [UNARY_OPS[op], ctx.ptr(x.storage), ctx.ptrOf(out), 0, n],
        split: { index: 3, count: n, work: n, kind: TRANSCENDENTAL.has(op) ? 'transcendental' : 'map', align: 16 },
      });
    return out;
  };

/** An elementwise binary op (arithmetic, maximum/minimum, comparisons) with broadcasting. */
export const binaryKernel =
  <P = unknown>(op: WasmBinaryOp): WasmKernel<P> =>
  (ctx, call) => {
    const [a, b] = call.inputs as [KernelInput, KernelInput];
    const shape = call.out.shape;
    const out = ctx.output(elementBytes(call));
    if (sizeOf(shape) === 0) return out;
    const t = suffix(call.name, a.dtype);
    if (t === 'i32' && NO_I32_BINARY.has(op)) throw new Error(`${call.name}: no i32 kernel for ${op} on the wasm backend`);
    const [pa, pb, po] = [ctx.ptr(a.storage), ctx.ptr(b.storage), ctx.ptrOf(out)];
    for (const m of mapSegments(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)])) {
      ctx.call({
        fn: `binary_${t}`,
        args: [BINARY_OPS[op], pa + 4 * m.offsets[0]!, pb + 4 * m.offsets[1]!, po + 4 * m.at, ctx.words(m.words), 0, m.rows],
        split: { index: 5, count: m.rows, work: segmentSize(m), kind: TRANSCENDENTAL_BINARY.has(op) ? 'transcendental' : 'map' },
      });
    }
    return out;
  };

/** A comparison: 1 where `a op b`, else 0, in the operands' dtype. */
export const compareKernel = <P = unknown>(op: WasmCompareOp): WasmKernel<P> => binaryKernel<P>(op);

/** `where(c, a, b)`: a where c ≠ 0, else b, all broadcast (values copied as bit patterns). */
export const whereKernel: WasmKernel = (ctx, call) => {
  const [c, a, b] = call.inputs as [KernelInput, KernelInput, KernelInput];
  const shape = call.out.shape;
  const out = ctx.output(elementBytes(call));
  if (sizeOf(shape) === 0) return out;
  suffix('where', a.dtype);
  const cF32 = suffix('where', c.dtype) === 'f32' ? 1 : 0;
  const [pc, pa, pb, po] = [ctx.ptr(c.storage), ctx.ptr(a.storage), ctx.ptr(b.storage), ctx.ptrOf(out)];
  const segments = mapSegments(
    shape,
    [c, a, b].map((x) => broadcastStrides(x.shape, shape)),
  );
  for (const m of segments) {
    ctx.call({
      fn: 'where_32',
      args: [cF32, pc + 4 * m.offsets[0]!, pa + 4 * m.offsets[1]!, pb + 4 * m.offsets[2]!, po + 4 * m.at, ctx.words(m.words), 0, m.rows],
      split: { index: 6, count: m.rows, work: segmentSize(m), kind: 'map' },
    });
  }
  return out;
};

/** Conversion between f32 and i32 (f32 → i32 truncates as JavaScript's Int32Array does). */
export const castKernel: WasmKernel = (ctx, call) => {
  const x = call.inputs[0]!;
  const from = suffix('cast', x.dtype);
  const to = suffix('cast', call.out.dtype);
  const n = sizeOf(call.out.shape);
  const out = ctx.output(elementBytes(call));
  if (n === 0) return out;
  if (from === to) {
    ctx.call({ fn: 'gather_32', args: [ctx.ptr(x.storage), 0, ctx.ptrOf(out), ctx.words([1, n, 1]), 0, 1] });
    return out;
  }
  ctx.call({
    fn: `cast_${from}_${to}`,
    args: [ctx.ptr(x.storage), ctx.ptrOf(out), 0, n],
    split: { index: 2, count: n, work: n, kind: 'map', align: 16 },
  });
  return out;
};

/** out (contiguous) = x read at `offset` with `strides` over the output shape (transpose, slice, broadcastTo). */
function gatherInto(ctx: WasmContext, src: number, shape: Shape, offset: number, strides: readonly number[], dst: number): void {
  if (sizeOf(shape) === 0) return;
  for (const m of mapSegments(shape, [strides])) {
    ctx.call({
      fn: 'gather_32',
      args: [src, offset + m.offsets[0]!, dst + 4 * m.at, ctx.words(m.words), 0, m.rows],
      split: { index: 4, count: m.rows, work: segmentSize(m), kind: 'map' },
    });
  }
}

function gatherKernel(ctx: WasmContext, call: KernelCall, offset: number, strides: readonly number[]): Storage {
  suffix(call.name, call.out.dtype);
  const out = ctx.output(elementBytes(call));
  gatherInto(ctx, ctx.ptr(call.inputs[0]!.storage), call.out.shape, offset, strides, ctx.ptrOf(out));
  return out;
}

/** Copies contiguous `x` into `dst` at element `offset` with destination strides `dstStrides` over x's shape (pad, concat). */
function scatterInto(ctx: WasmContext, x: KernelInput, dst: number, offset: number, dstStrides: readonly number[]): void {
  if (sizeOf(x.shape) === 0) return;
  const src = ctx.ptr(x.storage);
  for (const m of mapSegments(x.shape, [dstStrides])) {
    ctx.call({
      fn: 'scatter_32',
      args: [src + 4 * m.at, dst, offset + m.offsets[0]!, ctx.words(m.words), 0, m.rows],
      split: { index: 4, count: m.rows, work: segmentSize(m), kind: 'map' },
    });
  }
}

/** The input's buffer again, without copying (reshape, stopGradient). */
export const shareKernel: WasmKernel = (ctx, call) => ctx.share(call.inputs[0]!.storage);

export const broadcastKernel: WasmKernel = (ctx, call) =>
  gatherKernel(ctx, call, 0, broadcastStrides(call.inputs[0]!.shape, call.out.shape));

export const transposeKernel: WasmKernel<{ readonly perm: readonly number[] }> = (ctx, call) => {
  const st = stridesOf(call.inputs[0]!.shape);
  return gatherKernel(
    ctx,
    call,
    0,
    call.params.perm.map((p) => st[p]!),
  );
};

export const sliceKernel: WasmKernel<{ readonly starts: readonly number[] }> = (ctx, call) => {
  const st = stridesOf(call.inputs[0]!.shape);
  return gatherKernel(
    ctx,
    call,
    call.params.starts.reduce((acc, s, i) => acc + s * st[i]!, 0),
    st,
  );
};

export const padKernel: WasmKernel<{ readonly lo: readonly number[] }> = (ctx, call) => {
  suffix('pad', call.out.dtype);
  const bytes = elementBytes(call);
  const out = ctx.output(bytes);
  if (bytes === 0) return out;
  ctx.call({ fn: 'zero_fill', args: [ctx.ptrOf(out), bytes] });
  const ostr = stridesOf(call.out.shape);
  scatterInto(
    ctx,
    call.inputs[0]!,
    ctx.ptrOf(out),
    call.params.lo.reduce((acc, l, i) => acc + l * ostr[i]!, 0),
    ostr,
  );
  return out;
};

export const concatKernel: WasmKernel<{ readonly axis: number }> = (ctx, call) => {
  suffix('concat', call.out.dtype);
  const out = ctx.output(elementBytes(call));
  const ostr = stridesOf(call.out.shape);
  const axis = call.params.axis;
  let off = 0;
  for (const x of call.inputs) {
    scatterInto(ctx, x, ctx.ptrOf(out), off * ostr[axis]!, ostr);
    off += x.shape[axis]!;
  }
  return out;
};

/**
 * A reduction over sorted `axes` as [outer, reduced, inner]: size-1 dims are
 * dropped and neighbours of the same kind merged; when the reduced dims are
 * not one block (kept, reduced, kept, reduced, ...), the input is first
 * gathered into [kept..., reduced...] order.
 */
function reduceKernel(kind: 'sum' | 'max'): WasmKernel<{ readonly axes: readonly number[] }> {
  return (ctx, call) => {
    const x = call.inputs[0]!;
    const t = suffix(call.name, x.dtype);
    const out = ctx.output(elementBytes(call));
    const nOut = sizeOf(call.out.shape);
    if (nOut === 0) return out;
    const axes = call.params.axes;
    if (sizeOf(x.shape) === 0) {
      // an empty reduced axis: the sum is 0 (max rejects empty axes in its shape rule)
      ctx.call({ fn: 'zero_fill', args: [ctx.ptrOf(out), elementBytes(call)] });
      return out;
    }
    const groups: { size: number; reduced: boolean }[] = [];
    x.shape.forEach((d, i) => {
      if (d === 1) return;
      const reduced = axes.includes(i);
      const last = groups[groups.length - 1];
      if (last && last.reduced === reduced) last.size *= d;
      else groups.push({ size: d, reduced });
    });
    let src = ctx.ptr(x.storage);
    let outer = 1;
    let red = 1;
    let inner = 1;
    const pattern = groups.map((g) => (g.reduced ? 'R' : 'K')).join('');
    if (pattern === '' || pattern === 'K' || pattern === 'R' || pattern === 'KR' || pattern === 'RK' || pattern === 'KRK') {
      let i = 0;
      if (groups[i] && !groups[i]!.reduced) outer = groups[i++]!.size;
      if (groups[i]?.reduced) red = groups[i++]!.size;
      if (groups[i]) inner = groups[i]!.size;
    } else {
      const keptAxes = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
      const perm = [...keptAxes, ...axes];
      const st = stridesOf(x.shape);
      const shape = perm.map((p) => x.shape[p]!);
      const tmp = ctx.temp(sizeOf(x.shape) * 4);
      gatherInto(
        ctx,
        src,
        shape,
        0,
        perm.map((p) => st[p]!),
        tmp,
      );
      src = tmp;
      outer = nOut;
      red = sizeOf(axes.map((a) => x.shape[a]!));
    }
    // split over output rows only: each output's summation order is the same whatever the split
    ctx.call({
      fn: `${kind}_${t}`,
      args: [src, ctx.ptrOf(out), red, inner, 0, outer],
      split: { index: 4, count: outer, work: outer * red * inner, kind: 'map' },
    });
    return out;
  };
}

export const sumKernel: WasmKernel<{ readonly axes: readonly number[] }> = reduceKernel('sum');
/** Maximum over axes; NaN propagates. */
export const maxKernel: WasmKernel<{ readonly axes: readonly number[] }> = reduceKernel('max');

/** Index of the first maximum along one axis (a NaN counts as the maximum). */
export const argmaxKernel: WasmKernel<{ readonly axis: number }> = (ctx, call) => {
  const x = call.inputs[0]!;
  const axis = call.params.axis;
  const out = ctx.output(elementBytes(call));
  const nOut = sizeOf(call.out.shape);
  if (nOut === 0) return out;
  const t = suffix('argmax', x.dtype);
  const len = x.shape[axis]!;
  const inner = sizeOf(x.shape.slice(axis + 1));
  ctx.call({
    fn: `argmax_${t}`,
    args: [ctx.ptr(x.storage), ctx.ptrOf(out), len, inner, 0, nOut],
    split: { index: 4, count: nOut, work: nOut * len, kind: 'map' },
  });
  return out;
};

/** A fused elementwise program run as the epilogue of a matmul (matmul_f32_fused, matmul_i32_fused). */
export interface MatmulEpilogue {
  /** The program's address (its input 0 is the product buffer). */
  readonly prog: number;
  /** Bytes of one thread's registers. */
  readonly regBytes: number;
  /** Op nodes per element (the call's work estimate). */
  readonly ops: number;
}

/**
 * Appends the export calls of out = a·b (matmul.ts) into the buffer at `po`: the batch dims are
 * collapsed; the last collapsed one becomes the kernel's batch (one stride per operand), the
 * others are looped over here, one call each. With `epilogue`, the calls are the `_fused` exports,
 * each passing its element offset into the product, so the program addresses the whole buffer.
 */
export function matmulCalls(
  ctx: Pick<WasmContext, 'query' | 'temp' | 'call'>,
  t: 'f32' | 'i32',
  a: { readonly shape: Shape; readonly ptr: number },
  b: { readonly shape: Shape; readonly ptr: number },
  os: Shape,
  po: number,
  epilogue?: MatmulEpilogue,
): void {
  const m = os[os.length - 2]!;
  const n = os[os.length - 1]!;
  const k = a.shape[a.shape.length - 1]!;
  const batchShape = os.slice(0, -2);
  if (sizeOf(batchShape) * m * n === 0) return;
  const c = collapse(batchShape, [
    broadcastStrides(a.shape.slice(0, -2), batchShape).map((s) => s * m * k),
    broadcastStrides(b.shape.slice(0, -2), batchShape).map((s) => s * k * n),
    stridesOf(batchShape).map((s) => s * m * n),
  ]);
  const shape = c.shape.length === 0 ? [1] : c.shape;
  const [as, bs, cs] = c.shape.length === 0 ? [[0], [0], [0]] : (c.strides as [number[], number[], number[]]);
  const r = shape.length - 1;
  const batch = shape[r]!;
  const jobs = ctx.query(`matmul_${t}_jobs`, batch, m, k, n);
  const packBytes = t === 'f32' ? ctx.query('matmul_f32_scratch_bytes', m, k, n) : 16;
  // with an epilogue, the program's registers follow the packing scratch (from its next multiple of 16)
  const scratchBytes = epilogue ? packBytes + 16 + epilogue.regBytes : packBytes;
  const scratch = ctx.temp(scratchBytes);
  const lead = shape.slice(0, r);
  const idx = lead.map(() => 0);
  for (let q = 0; q < sizeOf(lead); q++) {
    let oa = 0;
    let ob = 0;
    let oc = 0;
    idx.forEach((v, d) => {
      oa += v * as[d]!;
      ob += v * bs[d]!;
      oc += v * cs[d]!;
    });
    const args = [a.ptr + 4 * oa, b.ptr + 4 * ob, po + 4 * oc, batch, m, k, n, as[r]!, bs[r]!, scratch, 0, jobs];
    ctx.call({
      fn: epilogue ? `matmul_${t}_fused` : `matmul_${t}`,
      args: epilogue ? [...args, epilogue.prog, oc] : args,
      split: { index: 10, count: jobs, work: 2 * batch * m * n * k + (epilogue ? batch * m * n * epilogue.ops : 0), kind: 'matmul' },
      scratch: { index: 9, bytes: scratchBytes },
    });
    for (let d = idx.length - 1; d >= 0; d--) {
      idx[d]!++;
      if (idx[d]! < lead[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Batched matrix product with broadcast batch dims (matmul.ts; see matmulCalls). */
export const matmulKernel: WasmKernel = (ctx, call) => {
  const [a, b] = call.inputs as [KernelInput, KernelInput];
  const t = suffix('matmul', a.dtype);
  const out = ctx.output(elementBytes(call));
  matmulCalls(
    ctx,
    t,
    { shape: a.shape, ptr: ctx.ptr(a.storage) },
    { shape: b.shape, ptr: ctx.ptr(b.storage) },
    call.out.shape,
    ctx.ptrOf(out),
  );
  return out;
};
