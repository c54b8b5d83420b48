/**
 * Law: the wasm matmul kernels (src/backends/wasm/assembly/matmul.ts, compiled
 * here with the backend's asc flags) equal the naive reference matmul
 * (tests/kernels/reference.ts) on random shapes, with broadcast batch strides;
 * their jobs partition the output (each element is written by exactly one
 * job), so any split of the jobs between callers, run in any order, gives
 * bitwise the result of one call over all jobs; they write nothing outside
 * the output and the declared scratch.
 *
 * f32 tolerance (Higham, any summation order): |got − Σ a·b| ≤ γ_{k+1} Σ |a|·|b|,
 * γ_j = j·u / (1 − j·u), u = 2⁻²⁴; the inputs are f32 values, the reference
 * sums in f64. k = 0 must give exact zeros.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ref from '../kernels/reference.js';
import { instantiateMatmulKernel, type MatmulExports } from './matmul-kernel.js';
import { mulberry32 as rng } from '../../src/core/seededRandom.js';

let memory: WebAssembly.Memory;
let wasm: MatmulExports;

beforeAll(async () => {
  ({ exports: wasm, memory } = await instantiateMatmulKernel());
});

type DType = 'f32' | 'i32';
interface Case {
  readonly dtype: DType;
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** Whether A (resp. B) is broadcast over the batch (batch stride 0). */
  readonly aBroadcast: boolean;
  readonly bBroadcast: boolean;
  readonly seed: number;
}

const describeCase = (c: Case) =>
  `${c.dtype} batch ${c.batch} m ${c.m} k ${c.k} n ${c.n} A${c.aBroadcast ? ' broadcast' : ''} ` +
  `B${c.bBroadcast ? ' broadcast' : ''} seed ${c.seed}`;

/** Operand values: f32 in [-1, 1), or small integers in [-8, 8] (no overflow). */
function values(dtype: DType, count: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => (dtype === 'f32' ? Math.fround(2 * r() - 1) : Math.floor(17 * r()) - 8));
}

const operands = (c: Case) => {
  const aBatch = c.aBroadcast ? 1 : c.batch;
  const bBatch = c.bBroadcast ? 1 : c.batch;
  return {
    a: { shape: [aBatch, c.m, c.k], data: values(c.dtype, aBatch * c.m * c.k, c.seed) },
    b: { shape: [bBatch, c.k, c.n], data: values(c.dtype, bBatch * c.k * c.n, c.seed + 1) },
  };
};

/** A guard pattern around every region: a kernel writing outside its output or scratch changes it. */
const GUARD = 64;
const GUARD_WORD = 0x7fc0dead;

interface Run {
  /** The output, as raw 32-bit words (bitwise comparisons). */
  readonly out: Uint32Array;
  readonly jobs: number;
}

/**
 * Lays out A, B, out (filled with a NaN sentinel) and one scratch buffer per
 * range in the shared memory, runs the job ranges in the order given, checks
 * the guards and the inputs, and returns the output words.
 */
function run(c: Case, ranges: (jobs: number) => [number, number][]): Run {
  const { a, b } = operands(c);
  const jobs = wasm.matmul_f32_jobs(c.batch, c.m, c.k, c.n);
  const rs = ranges(jobs);
  const scratchBytes = wasm.matmul_f32_scratch_bytes(c.m, c.k, c.n);
  const regions = [a.data.length * 4, b.data.length * 4, c.batch * c.m * c.n * 4, ...rs.map(() => scratchBytes)];
  const starts: number[] = [];
  let top = 1024;
  for (const bytes of regions) {
    top += GUARD;
    starts.push(top);
    top = (top + bytes + 15) & ~15;
  }
  top += GUARD;
  const pages = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  const words = new Uint32Array(memory.buffer);
  words.fill(GUARD_WORD, 0, top / 4);
  const [pa, pb, pout] = starts as [number, number, number];
  if (c.dtype === 'f32') {
    new Float32Array(memory.buffer, pa, a.data.length).set(a.data);
    new Float32Array(memory.buffer, pb, b.data.length).set(b.data);
  } else {
    new Int32Array(memory.buffer, pa, a.data.length).set(a.data);
    new Int32Array(memory.buffer, pb, b.data.length).set(b.data);
  }
  const expectedWords = words.slice(0, top / 4);
  const kernel = c.dtype === 'f32' ? wasm.matmul_f32 : wasm.matmul_i32;
  rs.forEach(([start, end], i) => {
    kernel(pa, pb, pout, c.batch, c.m, c.k, c.n, c.aBroadcast ? 0 : c.m * c.k, c.bBroadcast ? 0 : c.k * c.n, starts[3 + i]!, start, end);
  });
  // Everything outside the output and the scratch buffers (inputs, guards) is unchanged.
  const after = new Uint32Array(memory.buffer, 0, top / 4);
  const outWords = c.batch * c.m * c.n;
  const writable: [number, number][] = [
    [pout, pout + 4 * outWords],
    ...rs.map((_, i): [number, number] => [starts[3 + i]!, starts[3 + i]! + scratchBytes]),
  ];
  let from = 0;
  for (const [start, end] of [...writable, [top, top] as [number, number]]) {
    const before = Buffer.from(expectedWords.buffer, from, start - from);
    const now = Buffer.from(after.buffer, from, start - from);
    if (Buffer.compare(before, now) !== 0) throw new Error(`${describeCase(c)}: bytes [${from}, ${start}) outside out and scratch written`);
    from = end;
  }
  return { out: after.slice(pout / 4, pout / 4 + outWords), jobs };
}

const all = (jobs: number): [number, number][] => [[0, jobs]];

/** The reference product, and for f32 the Higham bound γ_{k+1} Σ|a||b| per element. */
function expected(c: Case): { value: readonly number[]; tol: readonly number[] } {
  const { a: a1, b } = operands(c);
  // When both operands are broadcast the reference's batch would be 1: broadcast A explicitly.
  const a = a1.shape[0] === b.shape[0] ? ref.broadcastTo(a1, [c.batch, c.m, c.k]) : a1;
  const value = ref.matmul(a, b).data;
  if (c.dtype === 'i32') return { value, tol: value.map(() => 0) };
  const abs = (x: ref.NdArray) => ({ shape: x.shape, data: x.data.map(Math.abs) });
  const u = 2 ** -24;
  const gamma = ((c.k + 1) * u) / (1 - (c.k + 1) * u);
  return { value, tol: ref.matmul(abs(a), abs(b)).data.map((s) => gamma * s) };
}

function expectReference(c: Case, got: Run): void {
  const { value, tol } = expected(c);
  const data = c.dtype === 'f32' ? new Float32Array(got.out.buffer) : new Int32Array(got.out.buffer);
  expect(data.length, describeCase(c)).toBe(value.length);
  for (let i = 0; i < value.length; i++) {
    const err = Math.abs(data[i]! - value[i]!);
    if (!(err <= tol[i]!)) {
      const [t, row, col] = [Math.floor(i / (c.m * c.n)), Math.floor(i / c.n) % c.m, i % c.n];
      expect.fail(`${describeCase(c)}: out[${t}, ${row}, ${col}] = ${data[i]}, reference ${value[i]} (|err| ${err} > tol ${tol[i]})`);
    }
  }
}

const DIMS = [0, 1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 64, 65, 100];
const dimArb = fc.constantFrom(...DIMS);
const caseArb = (dtype: DType, dims: fc.Arbitrary<number> = dimArb): fc.Arbitrary<Case> =>
  fc.record({
    dtype: fc.constant(dtype),
    batch: fc.integer({ min: 1, max: 3 }),
    m: dims,
    k: dims,
    n: dims,
    aBroadcast: fc.boolean(),
    bBroadcast: fc.boolean(),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  });
/** Shapes over several row blocks of jobs (64 rows), column blocks (512) and k blocks (256). */
const bigDimArb = fc.constantFrom(1, 3, 64, 65, 129, 200, 257, 520, 1030);
const bigCaseArb = fc
  .record({ m: bigDimArb, k: fc.constantFrom(0, 1, 5, 255, 256, 300, 530), n: bigDimArb, batch: fc.integer({ min: 1, max: 2 }) })
  .filter(({ m, k, n, batch }) => batch * m * k * n <= 60e6 && batch * m * n <= 300_000)
  .chain((s) =>
    fc.record({
      dtype: fc.constant<DType>('f32'),
      batch: fc.constant(s.batch),
      m: fc.constant(s.m),
      k: fc.constant(s.k),
      n: fc.constant(s.n),
      aBroadcast: fc.boolean(),
      bBroadcast: fc.boolean(),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    }),
  );

describe('wasm matmul kernels (src/backends/wasm/assembly/matmul.ts) = naive reference', () => {
  it('matmul_f32 over all its jobs equals the reference within γ_{k+1}·Σ|a||b| (broadcast batches, empty, odd, prime sizes)', () => {
    fc.assert(
      fc.property(caseArb('f32'), (c) => {
        expectReference(c, run(c, all));
      }),
      { numRuns: 150 },
    );
  });

  it('matmul_f32 on larger shapes (several k, row and column blocks; the few-rows path) equals the reference', () => {
    const cases: Case[] = [
      { dtype: 'f32', batch: 1, m: 5, k: 300, n: 1030, aBroadcast: false, bBroadcast: false, seed: 3 },
      { dtype: 'f32', batch: 2, m: 2, k: 300, n: 1030, aBroadcast: false, bBroadcast: true, seed: 6 },
      { dtype: 'f32', batch: 2, m: 67, k: 257, n: 9, aBroadcast: true, bBroadcast: false, seed: 4 },
      { dtype: 'f32', batch: 3, m: 130, k: 3, n: 600, aBroadcast: false, bBroadcast: true, seed: 5 },
    ];
    for (const c of cases) expectReference(c, run(c, all));
  });

  it('matmul_i32 over all its jobs equals the reference exactly', () => {
    fc.assert(
      fc.property(caseArb('i32'), (c) => {
        expectReference(c, run(c, all));
      }),
      { numRuns: 60 },
    );
  });

  it('jobs: none when batch, m or n is 0; k = 0 gives exact zeros', () => {
    expect(wasm.matmul_f32_jobs(0, 5, 5, 5)).toBe(0);
    expect(wasm.matmul_f32_jobs(2, 0, 5, 5)).toBe(0);
    expect(wasm.matmul_f32_jobs(2, 5, 5, 0)).toBe(0);
    expect(wasm.matmul_f32_jobs(2, 5, 0, 5)).toBeGreaterThan(0);
    for (const dtype of ['f32', 'i32'] as const) {
      const got = run({ dtype, batch: 2, m: 70, k: 0, n: 600, aBroadcast: false, bBroadcast: true, seed: 1 }, all);
      expect(got.out.every((w) => w === 0)).toBe(true);
    }
  });
});

describe('wasm matmul jobs (threads split them)', () => {
  it('a split [0, j) + [j, J) (either order, own scratch each) is bitwise one call [0, J)', () => {
    fc.assert(
      fc.property(fc.oneof(bigCaseArb, caseArb('f32')), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (c, at, swap) => {
        const whole = run(c, all);
        const split = run(c, (jobs) => {
          const j = Math.round(at * jobs);
          return swap
            ? [
                [j, jobs],
                [0, j],
              ]
            : [
                [0, j],
                [j, jobs],
              ];
        });
        expect(split.jobs).toBe(whole.jobs);
        expect(Buffer.compare(Buffer.from(split.out.buffer), Buffer.from(whole.out.buffer)), describeCase(c)).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('jobs partition the output: each element is written by exactly one job; random ranges in random order equal one call', () => {
    fc.assert(
      fc.property(
        fc.oneof(bigCaseArb, caseArb('f32'), caseArb('i32')),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 }),
        (c, cutsAt, orderKeys) => {
          const whole = run(c, all);
          // Every job alone, on an output full of the sentinel: count the writers of each element.
          const writers = new Uint8Array(whole.out.length);
          for (let j = 0; j < whole.jobs; j++) {
            const alone = run(c, () => [[j, j + 1]]);
            alone.out.forEach((w, i) => {
              if (w !== GUARD_WORD) writers[i]! += 1;
            });
          }
          const uncovered = writers.findIndex((count) => count !== 1);
          expect(uncovered, `${describeCase(c)}: element ${uncovered} written by ${writers[uncovered]} jobs`).toBe(-1);
          // Random ranges, run in a random order.
          const split = run(c, (jobs) => {
            const cuts = [0, ...cutsAt.map((x) => Math.round(x * jobs)).sort((x, y) => x - y), jobs];
            const ranges = cuts.slice(1).map((end, i): [number, number] => [cuts[i]!, end]);
            return ranges
              .map((r, i) => ({ r, key: orderKeys[i % orderKeys.length]! + i * 1e-9 }))
              .sort((x, y) => x.key - y.key)
              .map(({ r }) => r);
          });
          expect(Buffer.compare(Buffer.from(split.out.buffer), Buffer.from(whole.out.buffer)), describeCase(c)).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
