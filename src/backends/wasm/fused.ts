/**
 * Fused elementwise kernels on the wasm backend: a {@link FusedKernel} is
 * compiled here into a program for the interpreter export `fused_32`
 * (src/backends/wasm/assembly/fused.ts), which evaluates the kernel's nodes
 * over blocks of {@link FUSED_BLOCK} elements with SIMD operations, each node
 * into a register block of per-thread scratch memory. No code is generated at
 * run time: the program is data for one fixed, reproducibly built export.
 *
 * Inputs are read in one of three ways: a contiguous input of the full shape
 * directly from its buffer, a one-element input as a splat (filled once per
 * call, like literals), any other broadcast by a gather over the collapsed
 * iteration shape. An op node that is an output is computed straight into
 * its output buffer. The last block, when partial, runs on registers only
 * (its inputs copied in, its outputs copied out), so no vector reads or
 * writes past a buffer's end.
 *
 * Reductions (`kernel.reductions`) are instructions that accumulate a node's
 * block into the reduction's output, which is addressed like a broadcast read
 * (stride 0 on the reduced axes): a reduced last axis folds each row's run
 * into one element with SIMD partial sums, a kept last axis combines element
 * by element (the axis-0 sum of a [batch, features] value). The reduced node
 * is not written anywhere unless it is also an output. The output buffers
 * hold the reduction's identity beforehand (runFused fills them). Threads:
 * every output element is accumulated by exactly one call: a call's element
 * range is rounded to whole units of the product of the dims from the first
 * reduced axis on (the rows of the softmax pattern), so a call split by
 * blocks splits by rows; when one unit is the whole iteration (a reduction
 * over the leading axis, or over all axes) the call is not split. Blocks
 * stay on the grid of multiples of FUSED_BLOCK (cut at a call's ends, which
 * are row ends), so every sum is accumulated in the same order whatever the
 * split: results are bitwise those of the unsplit call.
 *
 * Matmul epilogues (`kernel.matmul`): the same program, its input 0 (the
 * product) always read directly from the product's buffer, is run by
 * matmul_f32_fused / matmul_i32_fused (assembly/matmul.ts) over each block of
 * rows of the product once the block is final, on the thread that computed it
 * (the split is the matmul's, by jobs). The product is written to the output
 * that is the product itself when there is one (that output's copy is then
 * left out), else to a scratch buffer of the call.
 */
import type { FusedKernel, FusedNode, FusedReduction, FusionSpec } from '../fused.js';
import type { DType } from '../../tensor/dtype.js';
import { broadcastShapes, broadcastStrides, shapesEqual, sizeOf, stridesOf } from '../../tensor/shape.js';
import { collapse } from '../webgpu/layout.js';
import {
  BINARY_OPS,
  I32_UNARY,
  isWasmBinaryOp,
  isWasmUnaryOp,
  NO_I32_BINARY,
  TRANSCENDENTAL,
  TRANSCENDENTAL_BINARY,
  UNARY_OPS,
  type WasmBinaryOp,
  type WasmUnaryOp,
} from './kernels.js';

/** Elements per block (a multiple of 4): a register block is FUSED_BLOCK × 4 bytes of scratch. */
export const FUSED_BLOCK = 512;

/** Operations computed by polynomial approximations (costlier per element: the thread split starts sooner). */
const isTranscendental = (op: string): boolean => TRANSCENDENTAL.has(op) || TRANSCENDENTAL_BINARY.has(op);

/** The wasm operation of each built-in fusible primitive, by name (the `wasm` of its fusion description). */
const BUILTIN_WASM: Readonly<Record<string, FusionSpec['wasm']>> = {
  ...Object.fromEntries(Object.keys(UNARY_OPS).map((op) => [op, { kind: 'unary', op }])),
  ...Object.fromEntries(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'logaddexp'].map((op) => [op, { kind: 'binary', op }])),
  greater: { kind: 'binary', op: '>' },
  greaterEqual: { kind: 'binary', op: '>=' },
  less: { kind: 'binary', op: '<' },
  lessEqual: { kind: 'binary', op: '<=' },
  equal: { kind: 'binary', op: '==' },
  notEqual: { kind: 'binary', op: '!=' },
  where: { kind: 'where' },
};

/** Why the wasm fused kernel cannot compute `w` in `dtype` (null when it can). */
function unsupported(w: FusionSpec['wasm'], dtype: DType): string | null {
  if (dtype !== 'f32' && dtype !== 'i32') return `the wasm backend has no ${dtype} kernels (f64 lives on the cpu backend)`;
  if (w.kind === 'where') return null;
  if (w.kind === 'unary') {
    if (!isWasmUnaryOp(w.op)) return `the wasm backend has no unary operation '${w.op}'`;
    return dtype === 'i32' && !I32_UNARY.has(w.op) ? `the wasm backend has no i32 kernel for ${w.op}` : null;
  }
  if (!isWasmBinaryOp(w.op)) return `the wasm backend has no binary operation '${w.op}'`;
  return dtype === 'i32' && NO_I32_BINARY.has(w.op) ? `the wasm backend has no i32 kernel for ${w.op}` : null;
}

/**
 * Whether the wasm fused kernel computes the elementwise primitive `op` (a built-in primitive's name,
 * or a fusion description) on operands of `dtype` (for `where`: its values; its condition may be f32 or i32).
 */
export function wasmFusible(op: string | FusionSpec, dtype: DType): boolean {
  const w = typeof op === 'string' ? BUILTIN_WASM[op] : op.wasm;
  return w !== undefined && unsupported(w, dtype) === null;
}

// Instruction codes of assembly/fused.ts.
const I = {
  unaryF32: 0,
  unaryI32: 1,
  binaryF32: 2,
  binaryI32: 3,
  whereF32c: 4,
  whereI32c: 5,
  load: 6,
  gather: 7,
  store: 8,
  copy: 9,
  splat: 10,
  splatLoad: 11,
  reduce: 12,
} as const;
/** Reduction kinds of the REDUCE instruction. */
const REDUCE_KIND = { sumf32: 0, sumi32: 1, maxf32: 2, maxi32: 3 } as const;
const CODE_NAMES = Object.fromEntries(Object.entries(I).map(([k, v]) => [v, k])) as Record<number, string>;
const INSTR_WORDS = 8;
const HEADER_WORDS = 10;

/** One instruction: [code, op, dst, a, b, c, p, q] (node indices; p, q: a value, an address, or a word offset). */
interface Instr {
  readonly code: number;
  readonly op: number;
  readonly dst: number;
  readonly args: readonly number[];
  p: number;
  q: number;
  /** For text: the op's name, and which input or output `p` addresses. */
  readonly name?: string;
  readonly ptr?: { readonly input: number } | { readonly output: number };
}

/** A compiled kernel: the program's words with its buffer addresses left to patch, and how to run it. */
export interface FusedProgram {
  /** The program (i32 words); addresses at `patches` are filled per run. */
  readonly words: readonly number[];
  /** Words that hold input or output addresses. */
  readonly patches: readonly { readonly word: number; readonly input?: number; readonly output?: number }[];
  /** Elements of the iteration shape, and blocks of FUSED_BLOCK. */
  readonly size: number;
  readonly blocks: number;
  /**
   * Elements of the iteration each call rounds its range to (1 without reductions); a call may be
   * split across threads only when unit < size.
   */
  readonly unit: number;
  /** Per reduction: its output's elements and the 32-bit pattern of its identity (the buffer's initial value). */
  readonly reductions: readonly { readonly size: number; readonly identity: number }[];
  /** Scratch bytes one thread needs (its registers). */
  readonly scratchBytes: number;
  /** Whether some node is a transcendental function (the split threshold of such maps). */
  readonly transcendental: boolean;
  /** Op nodes computed per element (the call's work estimate). */
  readonly ops: number;
  /**
   * With a matmul (kernel.matmul): the output that is the product itself (an input node of input 0),
   * which the matmul writes in place of a scratch buffer; null when the product is no output.
   */
  readonly productOutput: number | null;
  /** The program as text, one line per instruction. */
  readonly text: string;
}

/** The wasm operation of an op node, checked for its operands' dtypes; throws naming the op and dtype. */
function checkedOp(k: FusedKernel, n: FusedNode & { kind: 'op' }, i: number): FusionSpec['wasm'] {
  const w = n.spec.wasm;
  const fail = (why: string): never => {
    throw new Error(`runFused (wasm): node v${i} (${n.op}, ${n.dtype}): ${why}`);
  };
  const arity = w.kind === 'unary' ? 1 : w.kind === 'binary' ? 2 : 3;
  if (n.args.length !== arity) fail(`${arity} operands expected, got ${n.args.length}`);
  n.args.forEach((a) => {
    if (!(a >= 0 && a < i)) fail(`operand v${a} is not an earlier node`);
  });
  const dt = (a: number): DType => k.nodes[a]!.dtype;
  const values = w.kind === 'where' ? n.args.slice(1) : n.args;
  for (const a of values) if (dt(a) !== n.dtype) fail(`operand v${a} is ${dt(a)}, not ${n.dtype}`);
  if (w.kind === 'where') {
    const c = dt(n.args[0]!);
    if (c !== 'f32' && c !== 'i32') fail(`the condition is ${c}: the wasm backend has no ${c} kernels`);
  }
  const why = unsupported(w, n.dtype);
  if (why) fail(why);
  return w;
}

/** The 32-bit pattern of `value` stored in `dtype` (as a typed array stores it). */
function literalBits(value: number, dtype: DType): number {
  if (dtype === 'i32') return Int32Array.of(value)[0]!;
  return new Int32Array(Float32Array.of(value).buffer)[0]!;
}

/** Checks one reduction of `k` (its node, op and axes); throws naming it. */
function checkReduction(k: FusedKernel): (r: FusedReduction, j: number) => void {
  return (r, j) => {
    const fail = (why: string): never => {
      throw new Error(`runFused (wasm): reduction ${j} (${String(r.op)} of v${r.node}): ${why}`);
    };
    if (!(Number.isInteger(r.node) && r.node >= 0 && r.node < k.nodes.length)) fail('its node is not a node of the kernel');
    if (r.op !== 'sum' && r.op !== 'max') fail('the wasm backend fuses sum and max only');
    r.axes.forEach((a, i) => {
      if (!(Number.isInteger(a) && a >= 0 && a < k.shape.length)) fail(`axis ${a} is not an axis of [${k.shape.join(',')}]`);
      if (i > 0 && !(a > r.axes[i - 1]!)) fail(`axes [${r.axes.join(',')}] are not sorted and distinct`);
    });
    if (r.op === 'max' && r.axes.some((a) => k.shape[a] === 0)) fail('max over an empty axis');
  };
}

/** The 32-bit pattern of a reduction's identity in `dtype`: 0 (sum), -inf (f32 max), the least i32 (i32 max). */
function reductionIdentity(r: FusedReduction, dtype: DType): number {
  if (r.op === 'sum') return 0;
  return dtype === 'i32' ? -2147483648 : literalBits(Number.NEGATIVE_INFINITY, 'f32');
}

/** Checks a kernel's matmul: operands of rank ≥ 2 that multiply, their product input 0 of the kernel's shape. */
function checkMatmul(k: FusedKernel): void {
  const mm = k.matmul;
  if (!mm) return;
  const fmt = (s: readonly number[]): string => `[${s.join(',')}]`;
  const fail = (why: string): never => {
    throw new Error(`runFused (wasm): matmul ${mm.a.dtype}${fmt(mm.a.shape)} @ ${mm.b.dtype}${fmt(mm.b.shape)}: ${why}`);
  };
  if ((k.reductions ?? []).length > 0) fail('a kernel with a matmul has no reductions');
  if (mm.a.shape.length < 2 || mm.b.shape.length < 2)
    fail('the fused matmul takes operands of rank 2 or more (1-D operands are not fused)');
  if (mm.a.dtype !== mm.b.dtype) fail('the operands have different dtypes');
  if (mm.a.dtype !== 'f32' && mm.a.dtype !== 'i32') fail(`the wasm backend has no ${mm.a.dtype} kernels (f64 lives on the cpu backend)`);
  const [m, ka] = mm.a.shape.slice(-2) as [number, number];
  const [kb, n] = mm.b.shape.slice(-2) as [number, number];
  if (ka !== kb) fail(`the inner dims ${ka} and ${kb} differ`);
  let batch: readonly number[] = [];
  try {
    batch = broadcastShapes('matmul', mm.a.shape.slice(0, -2), mm.b.shape.slice(0, -2));
  } catch {
    fail('the batch dims do not broadcast');
  }
  const product = [...batch, m, n];
  if (!shapesEqual(product, k.shape)) fail(`the product ${fmt(product)} is not the kernel's shape ${fmt(k.shape)}`);
  const in0 = k.inputs[0];
  if (!in0 || !shapesEqual(in0.shape, product) || in0.dtype !== mm.a.dtype)
    fail(`input 0 must be the product ${mm.a.dtype}${fmt(product)}, got ${in0 ? `${in0.dtype}${fmt(in0.shape)}` : 'none'}`);
}

/** Compiles a fused kernel into a program for `fused_32`; throws (naming the op and dtype) for what wasm lacks. */
export function compileFused(k: FusedKernel): FusedProgram {
  const size = sizeOf(k.shape);
  const nodes = k.nodes;
  const reductions = k.reductions ?? [];
  checkMatmul(k);
  if (k.outputs.length === 0 && reductions.length === 0) throw new Error('runFused (wasm): a fused kernel needs at least one output');
  nodes.forEach((n, i) => {
    if (n.dtype !== 'f32' && n.dtype !== 'i32')
      throw new Error(
        `runFused (wasm): node v${i} is ${n.dtype}: the wasm backend has no ${n.dtype} kernels (f64 lives on the cpu backend)`,
      );
    if (n.kind === 'input') {
      const a = k.inputs[n.input];
      if (!a) throw new Error(`runFused (wasm): node v${i} reads input ${n.input} of ${k.inputs.length}`);
      if (a.dtype !== n.dtype) throw new Error(`runFused (wasm): node v${i} is ${n.dtype} but input ${n.input} is ${a.dtype}`);
      const off = k.shape.length - a.shape.length;
      if (off < 0 || a.shape.some((d, j) => d !== 1 && d !== k.shape[off + j]))
        throw new Error(`runFused (wasm): input ${n.input} of shape [${a.shape.join(',')}] does not broadcast to [${k.shape.join(',')}]`);
    } else if (n.kind === 'op') checkedOp(k, n, i);
  });
  for (const o of k.outputs) if (!(o >= 0 && o < nodes.length)) throw new Error(`runFused (wasm): output v${o} is not a node`);
  reductions.forEach(checkReduction(k));

  // the nodes the outputs need
  const needed = new Array<boolean>(nodes.length).fill(false);
  for (const o of k.outputs) needed[o] = true;
  for (const r of reductions) needed[r.node] = true;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (needed[i] && n.kind === 'op') for (const a of n.args) needed[a] = true;
  }

  // how each input is read: directly (full contiguous), as a splat (one element), or gathered
  const inputStrides = k.inputs.map((a) => broadcastStrides(a.shape, k.shape));
  // with a matmul, input 0 is its product, written block by block as the program runs: always read directly
  const mode = k.inputs.map((a, i) =>
    k.matmul && i === 0 ? 'direct' : sizeOf(a.shape) === 1 ? 'splat' : sizeOf(a.shape) === size ? 'direct' : 'gather',
  );
  const gathered = k.inputs.map((_, i) => i).filter((i) => mode[i] === 'gather');
  // each reduction's output read like a broadcast input: stride 0 on the reduced axes
  const reducedStrides = reductions.map((r) => {
    const kept = k.shape.filter((_, a) => !r.axes.includes(a));
    const os = stridesOf(kept);
    let j = 0;
    return k.shape.map((_, a) => (r.axes.includes(a) ? 0 : os[j++]!));
  });
  const strideSets = [...gathered.map((i) => inputStrides[i]!), ...reducedStrides];
  const c = collapse(k.shape, [stridesOf(k.shape), ...strideSets]);
  const cshape = c.shape.length === 0 ? [1] : c.shape;
  const cstrides = strideSets.map((_, g) => (c.shape.length === 0 ? [0] : c.strides[g + 1]!));

  // output k written directly by its node's instruction (first occurrence of an op node), else copied
  const directOut = new Map<number, number>();
  k.outputs.forEach((o, j) => {
    if (nodes[o]!.kind === 'op' && !directOut.has(o)) directOut.set(o, j);
  });

  // with a matmul, the first output that is the product itself holds it (the matmul writes it there)
  const pj = k.matmul ? k.outputs.findIndex((o) => nodes[o]!.kind === 'input' && (nodes[o] as { input: number }).input === 0) : -1;
  const productOutput = pj >= 0 ? pj : null;

  const consts: Instr[] = [];
  const body: Instr[] = [];
  const base: ({ input: number } | { output: number } | null)[] = nodes.map(() => null);
  nodes.forEach((n, i) => {
    if (!needed[i]) return;
    if (n.kind === 'literal') consts.push({ code: I.splat, op: 0, dst: i, args: [], p: literalBits(n.value, n.dtype), q: 0 });
    else if (n.kind === 'input') {
      const m = mode[n.input];
      if (m === 'splat') consts.push({ code: I.splatLoad, op: 0, dst: i, args: [], p: 0, q: 0, ptr: { input: n.input } });
      else if (m === 'direct') {
        base[i] = { input: n.input };
        body.push({ code: I.load, op: 0, dst: i, args: [], p: 0, q: 0 });
      } else body.push({ code: I.gather, op: 0, dst: i, args: [], p: 0, q: gathered.indexOf(n.input), ptr: { input: n.input } });
    } else {
      const w = n.spec.wasm;
      const f32 = n.dtype === 'f32';
      if (w.kind === 'unary')
        body.push({
          code: f32 ? I.unaryF32 : I.unaryI32,
          op: UNARY_OPS[w.op as WasmUnaryOp],
          dst: i,
          args: n.args,
          p: 0,
          q: 0,
          name: n.op,
        });
      else if (w.kind === 'binary')
        body.push({
          code: f32 ? I.binaryF32 : I.binaryI32,
          op: BINARY_OPS[w.op as WasmBinaryOp],
          dst: i,
          args: n.args,
          p: 0,
          q: 0,
          name: n.op,
        });
      else {
        const cF32 = nodes[n.args[0]!]!.dtype === 'f32';
        body.push({ code: cF32 ? I.whereF32c : I.whereI32c, op: 0, dst: i, args: n.args, p: 0, q: 0, name: n.op });
      }
      const j = directOut.get(i);
      if (j !== undefined) {
        base[i] = { output: j };
        body.push({ code: I.store, op: 0, dst: -1, args: [i], p: 0, q: 0 });
      }
    }
    // outputs that are this node again (an input, a literal, or a repeated node): copied
    k.outputs.forEach((o, j) => {
      if (o === i && directOut.get(i) !== j && j !== productOutput)
        body.push({ code: I.copy, op: 0, dst: -1, args: [i], p: 0, q: 0, ptr: { output: j } });
    });
    // reductions of this node: accumulated into their outputs
    reductions.forEach((r, j) => {
      if (r.node !== i) return;
      const kind = REDUCE_KIND[`${r.op}${n.dtype as 'f32' | 'i32'}`];
      const text = `${r.op}[axes=${r.axes.join(',')}]`;
      body.push({
        code: I.reduce,
        op: kind,
        dst: -1,
        args: [i],
        p: 0,
        q: gathered.length + j,
        name: text,
        ptr: { output: k.outputs.length + j },
      });
    });
  });

  // registers: literals and splat inputs keep theirs; the others are freed after their last use
  const reg = new Array<number>(nodes.length).fill(-1);
  const free: number[] = [];
  let nRegs = 0;
  const take = (): number => (free.length > 0 ? free.pop()! : nRegs++);
  for (const ins of consts) reg[ins.dst] = take();
  const lastUse = new Map<number, number>();
  body.forEach((ins, t) => {
    for (const a of ins.args) lastUse.set(a, t);
  });
  const isConst = new Set(consts.map((ins) => ins.dst));
  body.forEach((ins, t) => {
    for (const a of new Set(ins.args)) if (lastUse.get(a) === t && !isConst.has(a)) free.push(reg[a]!);
    if (ins.dst >= 0) reg[ins.dst] = take();
  });

  // layout: header, slots, shape, gather strides, const instructions, body instructions
  const words: number[] = [];
  const patches: { word: number; input?: number; output?: number }[] = [];
  const slotsAt = HEADER_WORDS;
  const shapeAt = slotsAt + 2 * nodes.length;
  const stridesAt = shapeAt + cshape.length;
  const constAt = stridesAt + cstrides.length * cshape.length;
  const instrAt = constAt + consts.length * INSTR_WORDS;
  const blocks = Math.ceil(size / FUSED_BLOCK);
  // every output element of a reduction lies in one unit: the dims from the first reduced axis on
  const firstReduced = Math.min(k.shape.length, ...reductions.map((r) => r.axes[0] ?? k.shape.length));
  const unit = reductions.length === 0 ? 1 : Math.max(1, sizeOf(k.shape.slice(firstReduced)));
  words.push(size, FUSED_BLOCK, body.length, instrAt, consts.length, constAt, slotsAt, cshape.length, shapeAt, unit);
  nodes.forEach((_, i) => {
    const b = base[i];
    if (b) patches.push({ word: words.length + 1, ...b });
    words.push(Math.max(reg[i]!, 0), 0);
  });
  words.push(...cshape);
  for (const st of cstrides) words.push(...st);
  for (const ins of [...consts, ...body]) {
    const q = ins.code === I.gather || ins.code === I.reduce ? stridesAt + ins.q * cshape.length : ins.q;
    if (ins.ptr) patches.push({ word: words.length + 6, ...ins.ptr });
    const [a = 0, b = 0, cc = 0] = ins.args;
    words.push(ins.code, ins.op, Math.max(ins.dst, 0), a, b, cc, ins.p, q);
  }

  const opNodes = nodes.filter((n, i) => needed[i] && n.kind === 'op') as (FusedNode & { kind: 'op' })[];
  const transcendental = opNodes.some((n) => {
    const w = n.spec.wasm;
    return w.kind !== 'where' && isTranscendental(w.op);
  });

  const where = (i: number): string => {
    const b = base[i];
    const r = `r${reg[i]}`;
    return b ? `${'input' in b ? `in${b.input}` : `out${b.output}`}|${r}` : r;
  };
  const line = (ins: Instr): string => {
    const name = CODE_NAMES[ins.code]!;
    const dst = ins.dst >= 0 ? `v${ins.dst}:${nodes[ins.dst]!.dtype} @${where(ins.dst)} = ` : '';
    const args = ins.args.map((a) => `v${a}`).join(' ');
    const ptr = ins.ptr ? ('input' in ins.ptr ? `in${ins.ptr.input}` : `out${ins.ptr.output}`) : '';
    switch (ins.code) {
      case I.splat:
        return `${dst}splat ${nodes[ins.dst]!.kind === 'literal' ? String((nodes[ins.dst] as { value: number }).value) : ins.p}`;
      case I.splatLoad:
        return `${dst}splat ${ptr}[0]`;
      case I.load:
        return `${dst}load ${where(ins.dst).split('|')[0]}`;
      case I.gather:
        return `${dst}gather ${ptr} strides [${cstrides[ins.q]!.join(',')}]`;
      case I.store:
        return `store ${args} -> ${where(ins.args[0]!).split('|')[0]}`;
      case I.copy:
        return `copy ${args} -> ${ptr}`;
      case I.reduce:
        return `reduce ${ins.name} ${args} -> ${ptr} strides [${cstrides[ins.q]!.join(',')}]`;
      default:
        return `${dst}${name} ${ins.name ?? ''} ${args}`;
    }
  };
  const ins = k.inputs.map((a, i) => `in${i}:${a.dtype}[${a.shape.join(',')}] ${mode[i]}`).join(', ');
  const mm = k.matmul
    ? `; epilogue of matmul_${k.matmul.a.dtype}_fused: in0 = matmul ${k.matmul.a.dtype}[${k.matmul.a.shape.join(',')}] ` +
      `${k.matmul.b.dtype}[${k.matmul.b.shape.join(',')}] -> ${productOutput === null ? 'scratch' : `out${productOutput}`}, ` +
      'the program run on each block of rows of the product as it is computed'
    : '';
  const text = [
    `wasm fused_32 [${k.shape.join(',')}] ${size} elements, ${blocks} block${blocks === 1 ? '' : 's'} of ${FUSED_BLOCK}, ` +
      `${nRegs} register${nRegs === 1 ? '' : 's'}; iteration [${cshape.join(',')}]; inputs: ${ins || 'none'}` +
      (reductions.length > 0 ? `; calls split by units of ${unit} element${unit === 1 ? '' : 's'}` : '') +
      mm,
    ...consts.map((x) => `  const ${line(x)}`),
    ...body.map((x) => `  ${line(x)}`),
  ].join('\n');

  return {
    words,
    patches,
    size,
    blocks,
    unit,
    reductions: reductions.map((r) => ({
      size: sizeOf(k.shape.filter((_, a) => !r.axes.includes(a))),
      identity: reductionIdentity(r, nodes[r.node]!.dtype),
    })),
    scratchBytes: Math.max(1, nRegs) * FUSED_BLOCK * 4,
    transcendental,
    ops: opNodes.length + reductions.length,
    productOutput,
    text,
  };
}

const cache = new WeakMap<FusedKernel, FusedProgram>();

/** compileFused, once per kernel object. */
export function fusedProgram(k: FusedKernel): FusedProgram {
  let p = cache.get(k);
  if (!p) {
    p = compileFused(k);
    cache.set(k, p);
  }
  return p;
}

/** The program's words with the buffer addresses filled in. */
export function programWords(p: FusedProgram, inputs: readonly number[], outputs: readonly number[]): number[] {
  const w = p.words.slice();
  for (const x of p.patches) w[x.word] = x.input !== undefined ? inputs[x.input]! : outputs[x.output!]!;
  return w;
}
