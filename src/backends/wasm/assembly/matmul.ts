/**
 * Matrix product kernels of the wasm backend (AssemblyScript, compiled with
 * `--enable simd --enable threads --importMemory --sharedMemory`).
 *
 * out[t] (m×n) = A[t] (m×k) · B[t] (k×n), row-major contiguous, for every
 * batch index t. A[t] starts at `a + 4·t·aBatchStride` and B[t] at
 * `b + 4·t·bBatchStride` (strides in elements; 0 broadcasts the operand);
 * out is contiguous [batch, m, n].
 *
 * Jobs. The output is cut into jobs ordered (t, column block, row block):
 * job j covers, in batch t, rows [r·JOB_ROWS, (r+1)·JOB_ROWS) ∩ [0, m) and
 * columns [c·NC, (c+1)·NC) ∩ [0, n) where
 *   rowBlocks = ceil(m / JOB_ROWS), colBlocks = ceil(n / NC),
 *   j = (t·colBlocks + c)·rowBlocks + r.
 * Jobs partition the output, so threads sharing the memory may each run any
 * range of jobs (each with its own scratch). Each output element is computed
 * by the same sequence of operations whatever range it is computed in (the
 * path and the k blocking depend on m, k, n only), so any split of the jobs
 * gives bitwise the same result.
 *
 * Scratch: matmul_f32_scratch_bytes(m, k, n) bytes (at most 589,968), any
 * alignment; unused when m ≤ SMALL_M and by matmul_i32 (0 may be passed).
 *
 * Algorithm (GotoBLAS loop order). For the jobs of one (t, column block) in
 * the range: for each KC-long slice of k, pack B[pc:pc+kc, jc:jc+nc] into
 * NR-wide strips (k-major inside a strip) and, for each MC-row block, pack
 * A[ic:ic+mc, pc:pc+kc] into MR-row strips (MR values per k); then a
 * register-blocked MR×NR micro-kernel accumulates a strip of A times a strip
 * of B in v128 registers (A values broadcast with load32_splat, B rows loaded
 * as two f32x4), and adds the tile into C (stores it on the first k slice).
 * Edge tiles are computed on zero-padded packs into a scratch tile and only
 * their valid part is copied out. Products of at most SMALL_M rows (vector ×
 * matrix) skip the packing and stream B row by row (smallRowsF32).
 * The micro-kernel's multiply-adds go through madd: f32x4.relaxed_madd in
 * the build with relaxed SIMD (`--enable relaxed-simd`, the second module of
 * kernelsBinary.ts; a fused multiply-add where the hardware has one), and
 * f32x4.mul + f32x4.add otherwise (relaxed SIMD is off by default in Node 20).
 * Either way one module's results do not depend on how the jobs are split.
 *
 * Epilogues (matmul_f32_fused, matmul_i32_fused): the same jobs, computed the
 * same way, then a fused elementwise program (assembly/fused.ts) whose input 0
 * is the product runs over each block of rows (MC rows of the job's column
 * block, or a job's rows for i32) as soon as its last k slice is stored, on
 * the same thread while the block is in cache: bias, activation, scaling in
 * the same pass over C.
 */

import { fusedConsts, fusedRange } from './fused';

/** Rows and columns of the register tile. */
const MR: i32 = 4;
const NR: i32 = 8;
/** Cache blocks: the packed B panel is KC × NC, the packed A block MC × KC. */
const KC: i32 = 256;
const MC: i32 = 64;
const NC: i32 = 512;
/** Products with at most this many rows read B in place (smallRowsF32) instead of packing it. */
const SMALL_M: i32 = 2;
/** Rows of C per job (a multiple of MR). */
const JOB_ROWS: i32 = 64;

@inline function ceilDiv(x: i32, y: i32): i32 {
  return (x + y - 1) / y;
}

@inline function minI(x: i32, y: i32): i32 {
  return x < y ? x : y;
}

@inline function align16(p: usize): usize {
  return (p + 15) & ~(<usize>15);
}

/** Number of jobs of a product (0 when there is nothing to write: batch, m or n is 0). */
export function matmul_f32_jobs(batch: i32, m: i32, k: i32, n: i32): i32 {
  if (batch <= 0 || m <= 0 || n <= 0) return 0;
  return batch * ceilDiv(n, NC) * ceilDiv(m, JOB_ROWS);
}

/** Bytes of packing scratch one caller of matmul_f32 needs (16-byte alignment slack included). */
export function matmul_f32_scratch_bytes(m: i32, k: i32, n: i32): i32 {
  const kc = minI(k, KC);
  const nc = ceilDiv(minI(n, NC), NR) * NR;
  const mc = ceilDiv(minI(m, MC), MR) * MR;
  return (kc * nc + mc * kc + MR * NR) * 4 + 16;
}

/** Packs B[pc:pc+kc, jc:jc+nc] (row stride ldb bytes) into NR-wide strips, each kc rows of NR floats, zero-padded. */
function packB(src: usize, ldb: usize, kc: i32, nc: i32, dst: usize): void {
  const full = nc / NR;
  for (let s = 0; s < full; s++) {
    let p = src + <usize>(s * NR * 4);
    let d = dst + <usize>(s * kc * NR * 4);
    for (let q = 0; q < kc; q++) {
      v128.store(d, v128.load(p));
      v128.store(d, v128.load(p, 16), 16);
      p += ldb;
      d += <usize>(NR * 4);
    }
  }
  const rest = nc - full * NR;
  if (rest > 0) {
    let p = src + <usize>(full * NR * 4);
    let d = dst + <usize>(full * kc * NR * 4);
    for (let q = 0; q < kc; q++) {
      v128.store(d, f32x4.splat(0));
      v128.store(d, f32x4.splat(0), 16);
      for (let j = 0; j < rest; j++) store<f32>(d + <usize>(j * 4), load<f32>(p + <usize>(j * 4)));
      p += ldb;
      d += <usize>(NR * 4);
    }
  }
}

/** Packs A[ic:ic+mc, pc:pc+kc] (row stride lda bytes) into MR-row strips, MR floats per k, zero-padded. */
function packA(src: usize, lda: usize, mc: i32, kc: i32, dst: usize): void {
  for (let i = 0; i < mc; i += MR) {
    const mr = minI(MR, mc - i);
    const r0 = src + <usize>i * lda;
    if (mr == MR) {
      const r1 = r0 + lda;
      const r2 = r1 + lda;
      const r3 = r2 + lda;
      let q = 0;
      // 4×4 blocks transposed in registers.
      for (; q + 4 <= kc; q += 4) {
        const o = <usize>(q * 4);
        const x0 = v128.load(r0 + o);
        const x1 = v128.load(r1 + o);
        const x2 = v128.load(r2 + o);
        const x3 = v128.load(r3 + o);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
        const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
        dst += 64;
      }
      for (; q < kc; q++) {
        const o = <usize>(q * 4);
        store<f32>(dst, load<f32>(r0 + o));
        store<f32>(dst, load<f32>(r1 + o), 4);
        store<f32>(dst, load<f32>(r2 + o), 8);
        store<f32>(dst, load<f32>(r3 + o), 12);
        dst += 16;
      }
    } else {
      for (let q = 0; q < kc; q++) {
        v128.store(dst, f32x4.splat(0));
        for (let r = 0; r < mr; r++) store<f32>(dst + <usize>(r * 4), load<f32>(r0 + <usize>r * lda + <usize>(q * 4)));
        dst += 16;
      }
    }
  }
}

/** acc + a·b: one relaxed (possibly fused) multiply-add with relaxed SIMD, else f32x4.mul then f32x4.add. */
@inline function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/**
 * C[0:4, 0:8] (row stride ldc bytes) = (first ? 0 : C) + Σ_q pa[q] ⊗ pb[q] over kc steps,
 * pa: kc × 4 floats, pb: kc × 8 floats.
 */
@inline function micro4x8(pa: usize, pb: usize, kc: i32, c: usize, ldc: usize, first: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  // One k step per iteration: V8 unrolls this loop itself; unrolling it here makes
  // its scheduler hoist the loads and spill accumulators.
  for (let q = 0; q < kc; q++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(pa, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(pa, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(pa, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    pa += 16;
    pb += 32;
  }
  const c1 = c + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  if (first) {
    v128.store(c, c00);
    v128.store(c, c01, 16);
    v128.store(c1, c10);
    v128.store(c1, c11, 16);
    v128.store(c2, c20);
    v128.store(c2, c21, 16);
    v128.store(c3, c30);
    v128.store(c3, c31, 16);
  } else {
    v128.store(c, f32x4.add(v128.load(c), c00));
    v128.store(c, f32x4.add(v128.load(c, 16), c01), 16);
    v128.store(c1, f32x4.add(v128.load(c1), c10));
    v128.store(c1, f32x4.add(v128.load(c1, 16), c11), 16);
    v128.store(c2, f32x4.add(v128.load(c2), c20));
    v128.store(c2, f32x4.add(v128.load(c2, 16), c21), 16);
    v128.store(c3, f32x4.add(v128.load(c3), c30));
    v128.store(c3, f32x4.add(v128.load(c3, 16), c31), 16);
  }
}

/**
 * Few rows (m ≤ SMALL_M): packing B would cost as much as the product, so B is streamed in
 * place, row by row: for each q, C[i, jc:jc+nc] += A[i, q] · B[q, jc:jc+nc] for the mr ≤ MR
 * rows, whose nc ≤ NC values stay in L1. Each element is the sum over k in order from 0
 * (edge columns: the same sum in scalar code).
 */
function smallRowsF32(a: usize, b: usize, c: usize, mr: i32, k: i32, n: i32, jc: i32, nc: i32): void {
  const ldb = <usize>n * 4;
  const lda = <usize>k * 4;
  const c0 = c + <usize>jc * 4;
  for (let i = 0; i < mr; i++) memory.fill(c0 + <usize>i * ldb, 0, <usize>nc * 4);
  const vecBytes = <usize>((nc / 4) * 4 * 4);
  const endBytes = <usize>(nc * 4);
  let brow = b + <usize>jc * 4;
  for (let q = 0; q < k; q++) {
    for (let i = 0; i < mr; i++) {
      const aq = load<f32>(a + <usize>i * lda + <usize>q * 4);
      const av = f32x4.splat(aq);
      const crow = c0 + <usize>i * ldb;
      let o: usize = 0;
      for (; o < vecBytes; o += 16) v128.store(crow + o, f32x4.add(v128.load(crow + o), f32x4.mul(av, v128.load(brow + o))));
      for (; o < endBytes; o += 4) store<f32>(crow + o, load<f32>(crow + o) + aq * load<f32>(brow + o));
    }
    brow += ldb;
  }
}

/**
 * The epilogue of a fused matmul (prog != 0): the fused program at `prog` (assembly/fused.ts, its input 0
 * being C) run over C[r0:r1, jc:jc+nc] of the batch whose C starts at element `at` of the iteration, once
 * those elements are final; `regs` holds this thread's registers (fusedConsts already run). Full-width
 * tiles are one range of elements, narrower ones one range per row.
 */
function epilogue(prog: usize, regs: usize, at: i32, n: i32, r0: i32, r1: i32, jc: i32, nc: i32): void {
  if (prog == 0 || r0 >= r1) return;
  if (nc == n) {
    fusedRange(prog, at + r0 * n, at + r1 * n, at + r0 * n, regs);
    return;
  }
  for (let i = r0; i < r1; i++) {
    const lo = at + i * n + jc;
    fusedRange(prog, lo, lo + nc, lo, regs);
  }
}

/**
 * C[r0:r1, jc:jc+nc] of one batch: the rows of consecutive jobs sharing one column block; with an
 * epilogue (prog != 0, see `epilogue`), each block of rows goes through it as soon as the last k
 * slice has written it.
 */
function blockF32(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  k: i32,
  n: i32,
  r0: i32,
  r1: i32,
  jc: i32,
  nc: i32,
  scratch: usize,
  prog: usize,
  regs: usize,
  at: i32,
): void {
  const ldb = <usize>n * 4;
  const lda = <usize>k * 4;
  const ldc = <usize>n * 4;
  if (k == 0) {
    for (let i = r0; i < r1; i++) memory.fill(c + <usize>i * ldc + <usize>jc * 4, 0, <usize>nc * 4);
    epilogue(prog, regs, at, n, r0, r1, jc, nc);
    return;
  }
  if (m <= SMALL_M) {
    for (let i = r0; i < r1; i += MR) smallRowsF32(a + <usize>i * lda, b, c + <usize>i * ldc, minI(MR, r1 - i), k, n, jc, nc);
    epilogue(prog, regs, at, n, r0, r1, jc, nc);
    return;
  }
  // k in ceil(k / KC) slices of equal length (up to 1): no short last slice.
  const kcMax = ceilDiv(k, ceilDiv(k, KC));
  const ncPad = ceilDiv(nc, NR) * NR;
  const packedB = align16(scratch);
  const mcPad = ceilDiv(minI(m, MC), MR) * MR;
  const packedA = packedB + <usize>(kcMax * ncPad * 4);
  const tile = packedA + <usize>(mcPad * kcMax * 4);
  for (let pc = 0; pc < k; pc += kcMax) {
    const kc = minI(kcMax, k - pc);
    const first = pc == 0;
    packB(b + <usize>pc * ldb + <usize>jc * 4, ldb, kc, nc, packedB);
    for (let ic = r0; ic < r1; ic += MC) {
      const mc = minI(MC, r1 - ic);
      packA(a + <usize>ic * lda + <usize>pc * 4, lda, mc, kc, packedA);
      for (let jr = 0; jr < nc; jr += NR) {
        const nr = minI(NR, nc - jr);
        const pb = packedB + <usize>(jr * kc * 4);
        for (let ir = 0; ir < mc; ir += MR) {
          const mr = minI(MR, mc - ir);
          const pa = packedA + <usize>(ir * kc * 4);
          const cp = c + <usize>(ic + ir) * ldc + <usize>(jc + jr) * 4;
          if (mr == MR && nr == NR) {
            micro4x8(pa, pb, kc, cp, ldc, first);
          } else {
            micro4x8(pa, pb, kc, tile, <usize>(NR * 4), true);
            for (let i = 0; i < mr; i++) {
              const crow = cp + <usize>i * ldc;
              const trow = tile + <usize>(i * NR * 4);
              for (let j = 0; j < nr; j++) {
                const o = <usize>(j * 4);
                const v = load<f32>(trow + o);
                store<f32>(crow + o, first ? v : load<f32>(crow + o) + v);
              }
            }
          }
        }
      }
      if (pc + kc >= k) epilogue(prog, regs, at, n, ic, ic + mc, jc, nc);
    }
  }
}

/**
 * Computes jobs [jobStart, jobEnd) of out[t] = A[t] · B[t] for t in [0, batch) (f32).
 * scratch: at least matmul_f32_scratch_bytes(m, k, n) bytes owned by the caller.
 */
export function matmul_f32(
  a: usize,
  b: usize,
  out: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  aBatchStride: i32,
  bBatchStride: i32,
  scratch: usize,
  jobStart: i32,
  jobEnd: i32,
): void {
  jobsF32(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, scratch, jobStart, jobEnd, 0, 0, 0);
}

/**
 * matmul_f32 with an elementwise epilogue: the fused program at `prog` (assembly/fused.ts), whose input 0
 * is the product (its slot's address is `out`, which holds the whole iteration: `out` is element `at` of
 * it), runs over each block of rows of the jobs [jobStart, jobEnd) right after the block's last k slice,
 * while those rows are in cache. The product is computed exactly as by matmul_f32, and each element of the
 * epilogue as by fused_32. scratch: matmul_f32_scratch_bytes(m, k, n) bytes, then (from the next multiple
 * of 16) the program's registers.
 */
export function matmul_f32_fused(
  a: usize,
  b: usize,
  out: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  aBatchStride: i32,
  bBatchStride: i32,
  scratch: usize,
  jobStart: i32,
  jobEnd: i32,
  prog: usize,
  at: i32,
): void {
  const regs = align16(scratch + <usize>matmul_f32_scratch_bytes(m, k, n));
  fusedConsts(prog, regs);
  jobsF32(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, scratch, jobStart, jobEnd, prog, regs, at);
}

/** The jobs of matmul_f32 (an epilogue when prog != 0). */
function jobsF32(
  a: usize,
  b: usize,
  out: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  aBatchStride: i32,
  bBatchStride: i32,
  scratch: usize,
  jobStart: i32,
  jobEnd: i32,
  prog: usize,
  regs: usize,
  at: i32,
): void {
  const total = matmul_f32_jobs(batch, m, k, n);
  if (jobStart < 0) jobStart = 0;
  if (jobEnd > total) jobEnd = total;
  const rowBlocks = ceilDiv(m, JOB_ROWS);
  const colBlocks = ceilDiv(n, NC);
  let j = jobStart;
  while (j < jobEnd) {
    // The jobs from j up to the end of its (t, column block) group, within the range.
    const group = j / rowBlocks;
    const rFirst = j - group * rowBlocks;
    const rEnd = minI(rowBlocks, rFirst + (jobEnd - j));
    const t = group / colBlocks;
    const cb = group - t * colBlocks;
    const jc = cb * NC;
    blockF32(
      a + <usize>t * <usize>aBatchStride * 4,
      b + <usize>t * <usize>bBatchStride * 4,
      out + <usize>t * <usize>m * <usize>n * 4,
      m,
      k,
      n,
      rFirst * JOB_ROWS,
      minI(m, rEnd * JOB_ROWS),
      jc,
      minI(NC, n - jc),
      scratch,
      prog,
      regs,
      at + t * m * n,
    );
    j += rEnd - rFirst;
  }
}

/** Number of jobs of an i32 product (same job definition as matmul_f32_jobs). */
export function matmul_i32_jobs(batch: i32, m: i32, k: i32, n: i32): i32 {
  return matmul_f32_jobs(batch, m, k, n);
}

/**
 * Computes jobs [jobStart, jobEnd) of out[t] = A[t] · B[t] (i32, wrapping arithmetic), same
 * arguments and job definition as matmul_f32; a plain loop (integer products are rare); scratch is unused.
 */
export function matmul_i32(
  a: usize,
  b: usize,
  out: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  aBatchStride: i32,
  bBatchStride: i32,
  scratch: usize,
  jobStart: i32,
  jobEnd: i32,
): void {
  jobsI32(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, jobStart, jobEnd, 0, 0, 0);
}

/** matmul_i32 with an epilogue, as matmul_f32_fused (scratch: the program's registers only, from its next multiple of 16). */
export function matmul_i32_fused(
  a: usize,
  b: usize,
  out: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  aBatchStride: i32,
  bBatchStride: i32,
  scratch: usize,
  jobStart: i32,
  jobEnd: i32,
  prog: usize,
  at: i32,
): void {
  const regs = align16(scratch);
  fusedConsts(prog, regs);
  jobsI32(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, jobStart, jobEnd, prog, regs, at);
}

/** The jobs of matmul_i32, each job's rows through the epilogue when prog != 0. */
function jobsI32(
  a: usize,
  b: usize,
  out: usize,
  batch: i32,
  m: i32,
  k: i32,
  n: i32,
  aBatchStride: i32,
  bBatchStride: i32,
  jobStart: i32,
  jobEnd: i32,
  prog: usize,
  regs: usize,
  at: i32,
): void {
  const total = matmul_f32_jobs(batch, m, k, n);
  if (jobStart < 0) jobStart = 0;
  if (jobEnd > total) jobEnd = total;
  const rowBlocks = ceilDiv(m, JOB_ROWS);
  const colBlocks = ceilDiv(n, NC);
  for (let j = jobStart; j < jobEnd; j++) {
    const group = j / rowBlocks;
    const rb = j - group * rowBlocks;
    const t = group / colBlocks;
    const jc = (group - t * colBlocks) * NC;
    const jEnd = minI(n, jc + NC);
    const pa = a + <usize>t * <usize>aBatchStride * 4;
    const bt = b + <usize>t * <usize>bBatchStride * 4;
    const ct = out + <usize>t * <usize>m * <usize>n * 4;
    const iEnd = minI(m, (rb + 1) * JOB_ROWS);
    for (let i = rb * JOB_ROWS; i < iEnd; i++) {
      const crow = ct + <usize>i * <usize>n * 4;
      for (let jj = jc; jj < jEnd; jj++) store<i32>(crow + <usize>jj * 4, 0);
      const arow = pa + <usize>i * <usize>k * 4;
      for (let p = 0; p < k; p++) {
        const av = load<i32>(arow + <usize>p * 4);
        const brow = bt + <usize>p * <usize>n * 4;
        for (let jj = jc; jj < jEnd; jj++) {
          const o = <usize>jj * 4;
          store<i32>(crow + o, load<i32>(crow + o) + av * load<i32>(brow + o));
        }
      }
    }
    epilogue(prog, regs, at + t * m * n, n, rb * JOB_ROWS, iEnd, jc, jEnd - jc);
  }
}
