// Fused elementwise kernels of the wasm backend (AssemblyScript): an interpreter of a small program,
// built on the host by src/backends/wasm/fused.ts, that evaluates a group of elementwise nodes over
// blocks of elements. For each block of `block` elements (a multiple of 4) every instruction runs over
// the whole block with f32x4 / i32x4 operations, from register blocks to a register block; registers
// are `block`-element arrays in the calling thread's scratch memory, so a block's values stay in L1.
//
// The per-element operations are those of the unfused kernels (elementwiseOps.ts), so a fused node
// gives bitwise the value of the unfused op: every lane is computed by the same vector operation (the
// unfused scalar tails compute lane 0 of it on splats).
//
// Program (i32 words):
//   header  [n, block, nInstr, instrAt, nConst, constAt, slotsAt, rank, shapeAt, unit]
//           unit (>= 1): a call's element range [start·block, end·block) is rounded up to multiples of
//           unit at both ends, so every reduction output is accumulated by one call only (1: blocks as is)
//   slots   per node: [reg, base]: the node's value lives in register `reg`; when base != 0 (a
//           contiguous input, or an op node that is an output) it is read from / written to
//           base + 4·first element directly in full blocks, and lives in `reg` in a partial one (the
//           last, or one cut by a call's range when `unit` rounds it)
//   shape   the collapsed iteration shape (rank dims), for strided inputs
//   const   instructions run once per call (registers that hold a value for every block)
//   instr   instructions run for every block
// Each instruction is 8 words [code, op, dst, a, b, c, p, q] (dst, a, b, c: node indices):
//   UNARY_F32 / UNARY_I32     dst = op(a)                   (unary op codes of elementwiseOps.ts)
//   BINARY_F32 / BINARY_I32   dst = op(a, b)                (binary op codes)
//   WHERE_F32C / WHERE_I32C   dst = where(a, b, c), a f32 or i32
//   LOAD                      partial blocks only: register of dst = n elements at its base
//   GATHER                    dst = input at address p read with the strides at word q (general broadcast)
//   STORE                     partial blocks only: n elements of a's register to its base
//   COPY                      n elements of a to address p (an output that is an input, a literal or repeated)
//   SPLAT (const)             register of dst = the 32-bit pattern p
//   SPLAT_LOAD (const)        register of dst = the 32-bit value at address p
//   REDUCE                    op (SUM_F32, SUM_I32, MAX_F32, MAX_I32) of a's values accumulated into the
//                             output at address p, whose index is read like a broadcast input with the
//                             strides at word q (0 on the reduced axes): along a reduced last axis a run
//                             folds into one output element (SIMD partial sums; f32 sums in f64), along a
//                             kept one each element combines with its own (the output holds the identity
//                             beforehand: 0, -inf or i32 min). max: v > acc || isNaN(v) ? v : acc, as the
//                             unfused max kernels (NaN propagates).
//
// The call evaluates blocks [start, end) (its element range rounded to multiples of `unit`, the blocks
// cut there), so threads can split it by blocks; each thread passes its own scratch (registers).

import {
  ABS, ADD, binaryV, COS, DIV, EQ, EXP, GE, GT, LE, LOG, LT, MAXIMUM, MINIMUM, MUL, NE, NEG, POW, RECIPROCAL, RELU, SIGMOID, SIGN,
  SIN, SQRT, SQUARE, SUB, TANH, unaryV, whereV, ERF, ERFC, LOG1P, EXPM1, SOFTPLUS, LOGADDEXP,
} from './elementwiseOps';

// Header words.
const H_N: i32 = 0;
const H_BLOCK: i32 = 1;
const H_NINSTR: i32 = 2;
const H_INSTR: i32 = 3;
const H_NCONST: i32 = 4;
const H_CONST: i32 = 5;
const H_SLOTS: i32 = 6;
const H_RANK: i32 = 7;
const H_SHAPE: i32 = 8;
const H_UNIT: i32 = 9;

// Instruction codes (src/backends/wasm/fused.ts mirrors them).
const UNARY_F32: i32 = 0;
const UNARY_I32: i32 = 1;
const BINARY_F32: i32 = 2;
const BINARY_I32: i32 = 3;
const WHERE_F32C: i32 = 4;
const WHERE_I32C: i32 = 5;
const LOAD: i32 = 6;
const GATHER: i32 = 7;
const STORE: i32 = 8;
const COPY: i32 = 9;
const SPLAT: i32 = 10;
const SPLAT_LOAD: i32 = 11;
const REDUCE: i32 = 12;

// Reduction kinds (the op word of REDUCE).
const SUM_F32: i32 = 0;
const SUM_I32: i32 = 1;
const MAX_F32: i32 = 2;
const MAX_I32: i32 = 3;

/** Words of one instruction. */
const INSTR_WORDS: i32 = 8;

// @ts-ignore: decorator
@inline function word(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function addr(p: usize, i: i32): usize {
  return <usize>load<u32>(p + (<usize>i << 2));
}

// ---------------------------------------------------------------------------------------------
// Block loops: `bytes` is a multiple of 16 (the last block's lanes past its elements are computed on
// whatever its registers hold and never stored)

// @ts-ignore: decorator
@inline function unaryBlock(isF32: bool, op: i32, x: usize, out: usize, bytes: usize): void {
  for (let o: usize = 0; o < bytes; o += 16) v128.store(out + o, unaryV(isF32, op, v128.load(x + o)));
}

// @ts-ignore: decorator
@inline function binaryBlock(isF32: bool, op: i32, a: usize, b: usize, out: usize, bytes: usize): void {
  for (let o: usize = 0; o < bytes; o += 16) v128.store(out + o, binaryV(isF32, op, v128.load(a + o), v128.load(b + o)));
}

// @ts-ignore: decorator
@inline function whereBlock(cF32: bool, c: usize, a: usize, b: usize, out: usize, bytes: usize): void {
  for (let o: usize = 0; o < bytes; o += 16) {
    v128.store(out + o, whereV(cF32, v128.load(c + o), v128.load(a + o), v128.load(b + o)));
  }
}

function unaryF32Block(op: i32, x: usize, out: usize, bytes: usize): void {
  switch (op) {
    case NEG: unaryBlock(true, NEG, x, out, bytes); break;
    case EXP: unaryBlock(true, EXP, x, out, bytes); break;
    case LOG: unaryBlock(true, LOG, x, out, bytes); break;
    case SIN: unaryBlock(true, SIN, x, out, bytes); break;
    case COS: unaryBlock(true, COS, x, out, bytes); break;
    case TANH: unaryBlock(true, TANH, x, out, bytes); break;
    case SIGMOID: unaryBlock(true, SIGMOID, x, out, bytes); break;
    case RELU: unaryBlock(true, RELU, x, out, bytes); break;
    case SQRT: unaryBlock(true, SQRT, x, out, bytes); break;
    case SQUARE: unaryBlock(true, SQUARE, x, out, bytes); break;
    case ABS: unaryBlock(true, ABS, x, out, bytes); break;
    case RECIPROCAL: unaryBlock(true, RECIPROCAL, x, out, bytes); break;
    case SIGN: unaryBlock(true, SIGN, x, out, bytes); break;
    case ERF: unaryBlock(true, ERF, x, out, bytes); break;
    case ERFC: unaryBlock(true, ERFC, x, out, bytes); break;
    case LOG1P: unaryBlock(true, LOG1P, x, out, bytes); break;
    case EXPM1: unaryBlock(true, EXPM1, x, out, bytes); break;
    case SOFTPLUS: unaryBlock(true, SOFTPLUS, x, out, bytes); break;
    default: unreachable();
  }
}

function unaryI32Block(op: i32, x: usize, out: usize, bytes: usize): void {
  switch (op) {
    case NEG: unaryBlock(false, NEG, x, out, bytes); break;
    case RELU: unaryBlock(false, RELU, x, out, bytes); break;
    case SQUARE: unaryBlock(false, SQUARE, x, out, bytes); break;
    case ABS: unaryBlock(false, ABS, x, out, bytes); break;
    case SIGN: unaryBlock(false, SIGN, x, out, bytes); break;
    default: unreachable();
  }
}

function binaryF32Block(op: i32, a: usize, b: usize, out: usize, bytes: usize): void {
  switch (op) {
    case ADD: binaryBlock(true, ADD, a, b, out, bytes); break;
    case SUB: binaryBlock(true, SUB, a, b, out, bytes); break;
    case MUL: binaryBlock(true, MUL, a, b, out, bytes); break;
    case DIV: binaryBlock(true, DIV, a, b, out, bytes); break;
    case POW: binaryBlock(true, POW, a, b, out, bytes); break;
    case MAXIMUM: binaryBlock(true, MAXIMUM, a, b, out, bytes); break;
    case MINIMUM: binaryBlock(true, MINIMUM, a, b, out, bytes); break;
    case GT: binaryBlock(true, GT, a, b, out, bytes); break;
    case GE: binaryBlock(true, GE, a, b, out, bytes); break;
    case LT: binaryBlock(true, LT, a, b, out, bytes); break;
    case LE: binaryBlock(true, LE, a, b, out, bytes); break;
    case EQ: binaryBlock(true, EQ, a, b, out, bytes); break;
    case NE: binaryBlock(true, NE, a, b, out, bytes); break;
    case LOGADDEXP: binaryBlock(true, LOGADDEXP, a, b, out, bytes); break;
    default: unreachable();
  }
}

function binaryI32Block(op: i32, a: usize, b: usize, out: usize, bytes: usize): void {
  switch (op) {
    case ADD: binaryBlock(false, ADD, a, b, out, bytes); break;
    case SUB: binaryBlock(false, SUB, a, b, out, bytes); break;
    case MUL: binaryBlock(false, MUL, a, b, out, bytes); break;
    case MAXIMUM: binaryBlock(false, MAXIMUM, a, b, out, bytes); break;
    case MINIMUM: binaryBlock(false, MINIMUM, a, b, out, bytes); break;
    case GT: binaryBlock(false, GT, a, b, out, bytes); break;
    case GE: binaryBlock(false, GE, a, b, out, bytes); break;
    case LT: binaryBlock(false, LT, a, b, out, bytes); break;
    case LE: binaryBlock(false, LE, a, b, out, bytes); break;
    case EQ: binaryBlock(false, EQ, a, b, out, bytes); break;
    case NE: binaryBlock(false, NE, a, b, out, bytes); break;
    default: unreachable();
  }
}

// ---------------------------------------------------------------------------------------------
// Data movement

/** `n` 32-bit values from `src` to `dst` (distinct blocks). */
// @ts-ignore: decorator
@inline function copy32(dst: usize, src: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

/** `n` copies of the 32-bit value at `src` from `dst` on. */
function fill32(dst: usize, src: usize, n: i32): void {
  const v = v128.load32_splat(src);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(dst + (<usize>j << 2), v);
  for (; j < n; j++) store<u32>(dst + (<usize>j << 2), load<u32>(src));
}

/**
 * dst[0..n) = the input at `src` read with `strides` (words) over the collapsed iteration shape, for the
 * elements [first, first + n) of the iteration: row by row (the last axis), as copies, fills or strided reads.
 */
function gather(prog: usize, src: usize, strides: usize, dst: usize, first: i32, n: i32): void {
  const rank = word(prog, H_RANK);
  const shape = prog + (<usize>word(prog, H_SHAPE) << 2);
  const len = load<i32>(shape + (<usize>(rank - 1) << 2));
  const sl = load<i32>(strides + (<usize>(rank - 1) << 2));
  let row = first / len;
  let j = first - row * len;
  let done = 0;
  while (done < n) {
    const run = min(len - j, n - done);
    const p = src + (<usize>rowOffset(shape, strides, rank, row, j, sl) << 2);
    const o = dst + (<usize>done << 2);
    if (sl == 1) copy32(o, p, run);
    else if (sl == 0) fill32(o, p, run);
    else for (let k = 0; k < run; k++) store<u32>(o + (<usize>k << 2), load<u32>(p + (<usize>(k * sl) << 2)));
    done += run;
    row++;
    j = 0;
  }
}

/**
 * The offset (elements) of the element at (row, j) of the collapsed iteration shape read with
 * `strides`, where `row` counts the rows (the last axis) and j is the position in the row.
 */
// @ts-ignore: decorator
@inline function rowOffset(shape: usize, strides: usize, rank: i32, row: i32, j: i32, sl: i32): i32 {
  let off = j * sl;
  let r = row;
  for (let d = rank - 2; d >= 0; d--) {
    const dim = load<i32>(shape + (<usize>d << 2));
    const q = r / dim;
    off += (r - q * dim) * load<i32>(strides + (<usize>d << 2));
    r = q;
  }
  return off;
}

// ---------------------------------------------------------------------------------------------
// Reductions

// @ts-ignore: decorator
@inline function maxF32(acc: v128, v: v128): v128 {
  return v128.bitselect(v, acc, v128.or(f32x4.gt(v, acc), f32x4.ne(v, v)));
}

// @ts-ignore: decorator
@inline function combine(isF32: bool, isMax: bool, acc: v128, v: v128): v128 {
  if (isMax) return isF32 ? maxF32(acc, v) : i32x4.max_s(acc, v);
  return isF32 ? f32x4.add(acc, v) : i32x4.add(acc, v);
}

/** out[0] = out[0] op src[0..run) (run >= 1): SIMD partial results, then the lanes in order, then the tail. */
// @ts-ignore: decorator
@inline function foldRun(isF32: bool, isMax: bool, src: usize, out: usize, run: i32): void {
  let j = 0;
  if (!isMax && isF32) {
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (; j + 4 <= run; j += 4) {
      const v = v128.load(src + (<usize>j << 2));
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
    }
    let s = f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1) + f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1);
    for (; j < run; j++) s += <f64>load<f32>(src + (<usize>j << 2));
    store<f32>(out, <f32>(<f64>load<f32>(out) + s));
    return;
  }
  let r = v128.load32_splat(out);
  if (run >= 4) {
    let acc = v128.load(src);
    for (j = 4; j + 4 <= run; j += 4) acc = combine(isF32, isMax, acc, v128.load(src + (<usize>j << 2)));
    r = combine(isF32, isMax, r, i32x4.shuffle(acc, acc, 0, 0, 0, 0));
    r = combine(isF32, isMax, r, i32x4.shuffle(acc, acc, 1, 1, 1, 1));
    r = combine(isF32, isMax, r, i32x4.shuffle(acc, acc, 2, 2, 2, 2));
    r = combine(isF32, isMax, r, i32x4.shuffle(acc, acc, 3, 3, 3, 3));
  }
  for (; j < run; j++) r = combine(isF32, isMax, r, v128.load32_splat(src + (<usize>j << 2)));
  v128.store32_lane(out, r, 0);
}

/** out[k·s] = out[k·s] op src[k] for k < run. */
// @ts-ignore: decorator
@inline function combineRun(isF32: bool, isMax: bool, src: usize, out: usize, run: i32, s: i32): void {
  let k = 0;
  if (s == 1) {
    for (; k + 4 <= run; k += 4) {
      const q = <usize>k << 2;
      v128.store(out + q, combine(isF32, isMax, v128.load(out + q), v128.load(src + q)));
    }
  }
  for (; k < run; k++) {
    const o = out + (<usize>(k * s) << 2);
    v128.store32_lane(o, combine(isF32, isMax, v128.load32_splat(o), v128.load32_splat(src + (<usize>k << 2))), 0);
  }
}

/**
 * Accumulates src[0..n), the iteration's elements [first, first + n), into the output at `out` read
 * with `strides` over the collapsed iteration shape, row by row like `gather`.
 */
// @ts-ignore: decorator
@inline function reduceInto(isF32: bool, isMax: bool, prog: usize, src: usize, strides: usize, out: usize, first: i32, n: i32): void {
  const rank = word(prog, H_RANK);
  const shape = prog + (<usize>word(prog, H_SHAPE) << 2);
  const len = load<i32>(shape + (<usize>(rank - 1) << 2));
  const sl = load<i32>(strides + (<usize>(rank - 1) << 2));
  let row = first / len;
  let j = first - row * len;
  let done = 0;
  while (done < n) {
    const run = min(len - j, n - done);
    const o = out + (<usize>rowOffset(shape, strides, rank, row, j, sl) << 2);
    const x = src + (<usize>done << 2);
    if (sl == 0) foldRun(isF32, isMax, x, o, run);
    else combineRun(isF32, isMax, x, o, run, sl);
    done += run;
    row++;
    j = 0;
  }
}

function reduceBlock(kind: i32, prog: usize, src: usize, strides: usize, out: usize, first: i32, n: i32): void {
  switch (kind) {
    case SUM_F32: reduceInto(true, false, prog, src, strides, out, first, n); break;
    case SUM_I32: reduceInto(false, false, prog, src, strides, out, first, n); break;
    case MAX_F32: reduceInto(true, true, prog, src, strides, out, first, n); break;
    case MAX_I32: reduceInto(false, true, prog, src, strides, out, first, n); break;
    default: unreachable();
  }
}

// ---------------------------------------------------------------------------------------------
// The interpreter

/** Runs blocks [start, end) of the fused program at `prog`; `scratch` holds this thread's registers. */
export function fused_32(prog: usize, start: i32, end: i32, scratch: usize): void {
  const n = word(prog, H_N);
  const block = word(prog, H_BLOCK);
  fusedConsts(prog, scratch);
  // this call's elements, rounded to whole units
  const unit = word(prog, H_UNIT);
  let lo = min(start * block, n);
  let hi = min(end * block, n);
  if (unit > 1) {
    lo = min((lo + unit - 1) / unit * unit, n);
    hi = min((hi + unit - 1) / unit * unit, n);
  }
  // blocks of the grid of multiples of `block`, cut at the range's ends: every element falls in the same
  // block whatever the split, so a split never changes a result (not even a sum's rounding)
  fusedRange(prog, lo, hi, 0, scratch);
}

/** Fills the registers that hold one value for every block (literals, splat inputs): once per call, before fusedRange. */
export function fusedConsts(prog: usize, scratch: usize): void {
  const regBytes = <usize>word(prog, H_BLOCK) << 2;
  const slots = prog + (<usize>word(prog, H_SLOTS) << 2);
  const nConst = word(prog, H_NCONST);
  let ins = prog + (<usize>word(prog, H_CONST) << 2);
  for (let k = 0; k < nConst; k++, ins += <usize>(INSTR_WORDS << 2)) {
    const reg = scratch + <usize>load<i32>(slots + (<usize>word(ins, 2) << 3)) * regBytes;
    const v = word(ins, 0) == SPLAT ? i32x4.splat(word(ins, 6)) : v128.load32_splat(addr(ins, 6));
    for (let o: usize = 0; o < regBytes; o += 16) v128.store(reg + o, v);
  }
}

/**
 * Runs the program's body over elements [lo, hi) of the iteration, in blocks of the grid of multiples of
 * `block` shifted to start at `origin` (cut at lo and hi); the registers of fusedConsts are in `scratch`.
 * Without reductions the values do not depend on where the blocks are cut (the epilogue of a matmul runs
 * its blocks from each tile row's start).
 */
export function fusedRange(prog: usize, lo: i32, hi: i32, origin: i32, scratch: usize): void {
  const block = word(prog, H_BLOCK);
  const regBytes = <usize>block << 2;
  const slots = prog + (<usize>word(prog, H_SLOTS) << 2);
  const nInstr = word(prog, H_NINSTR);
  const instrs = prog + (<usize>word(prog, H_INSTR) << 2);
  let first = lo;
  while (first < hi) {
    const count = min(block - (first - origin) % block, hi - first);
    const full = count == block;
    const bytes = (<usize>(count + 3) & ~(<usize>3)) << 2;
    const at = <usize>first << 2;
    let ins = instrs;
    for (let k = 0; k < nInstr; k++, ins += <usize>(INSTR_WORDS << 2)) {
      const code = word(ins, 0);
      const op = word(ins, 1);
      // where the dst and a nodes live in this block (unused operands name node 0)
      const ad = slotAddr(slots, word(ins, 2), scratch, regBytes, full, at);
      const aa = slotAddr(slots, word(ins, 3), scratch, regBytes, full, at);
      if (code == UNARY_F32) unaryF32Block(op, aa, ad, bytes);
      else if (code == UNARY_I32) unaryI32Block(op, aa, ad, bytes);
      else if (code == BINARY_F32) binaryF32Block(op, aa, slotAddr(slots, word(ins, 4), scratch, regBytes, full, at), ad, bytes);
      else if (code == BINARY_I32) binaryI32Block(op, aa, slotAddr(slots, word(ins, 4), scratch, regBytes, full, at), ad, bytes);
      else if (code == WHERE_F32C || code == WHERE_I32C) {
        const ab = slotAddr(slots, word(ins, 4), scratch, regBytes, full, at);
        const ac = slotAddr(slots, word(ins, 5), scratch, regBytes, full, at);
        if (code == WHERE_F32C) whereBlock(true, aa, ab, ac, ad, bytes);
        else whereBlock(false, aa, ab, ac, ad, bytes);
      } else if (code == LOAD) {
        if (!full) copy32(ad, slotBase(slots, word(ins, 2)) + at, count);
      } else if (code == GATHER) gather(prog, addr(ins, 6), prog + (<usize>word(ins, 7) << 2), ad, first, count);
      else if (code == STORE) {
        if (!full) copy32(slotBase(slots, word(ins, 3)) + at, aa, count);
      } else if (code == COPY) copy32(addr(ins, 6) + at, aa, count);
      else if (code == REDUCE) reduceBlock(op, prog, aa, prog + (<usize>word(ins, 7) << 2), addr(ins, 6), first, count);
      else unreachable();
    }
    first += count;
  }
}

/** The base address of a node's slot (0: registers only). */
// @ts-ignore: decorator
@inline function slotBase(slots: usize, node: i32): usize {
  return <usize>load<u32>(slots + (<usize>node << 3) + 4);
}

/** Where node `node` lives in this block: its base (full blocks of a direct slot) or its register. */
// @ts-ignore: decorator
@inline function slotAddr(slots: usize, node: i32, scratch: usize, regBytes: usize, full: bool, at: usize): usize {
  const base = slotBase(slots, node);
  if (full && base != 0) return base + at;
  return scratch + <usize>load<i32>(slots + (<usize>node << 3)) * regBytes;
}
