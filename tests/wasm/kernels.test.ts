/**
 * Law: every wasm kernel equals the naive reference (tests/kernels/reference.ts)
 * on random shapes: matmul (batched, broadcast batch dims, sizes across its
 * blocks), sum and max over any axes (contiguous, strided and transposed
 * reductions), argmax, the strided gather and scatter behind transpose, slice,
 * broadcastTo, pad and concat, and the elementwise maps with broadcasting
 * (same shape, scalar operand, general strided rows). Sizes 0..9 and 4k ± 1
 * put elements in the SIMD body and in the scalar tail. Data movement,
 * comparisons, max and argmax exact; arithmetic within f32 rounding; sums and
 * products within an accumulation bound that grows with the number of terms.
 * Also: the committed module (src/backends/wasm/kernelsBinary.ts) is what
 * `npm run wasm` builds from the sources, byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { buildKernels, renderKernelsModule } from '../../scripts/build-wasm.mjs';
import { argmaxChecks, concatBroadcastChecks, expectChecks, matmulChecks, stridedChecks } from '../kernels/checks.js';
import * as ref from '../kernels/reference.js';
import {
  argmaxArb,
  array,
  broadcastShapesArb,
  concatArb,
  expectMatches,
  matmulArb,
  padArb,
  reduceArb,
  seedArb,
  shapeArb,
  sliceArb,
  transposeArb,
} from '../kernels/cases.js';

const RUNS = 40;
const w = (x: ref.NdArray, dtype: 'f32' | 'i32' = 'f32') => ct.tensor(x.data as number[], { shape: [...x.shape], dtype, backend: 'wasm' });
const read = (t: ct.Tensor) => ({ shape: t.shape, data: t.dataSync() });
const prop = <T>(arb: fc.Arbitrary<T>, check: (v: T) => void, runs = RUNS) =>
  fc.assert(
    fc.property(arb, (v) => {
      ct.scope(() => check(v));
      return true;
    }),
    { numRuns: runs },
  );
/** Lengths 0..9 and 4k ± 1 (the SIMD body, the scalar tail and both). */
const simdLength = fc.oneof(
  fc.integer({ min: 0, max: 9 }),
  fc.integer({ min: 3, max: 40 }).chain((k) => fc.constantFrom(4 * k - 1, 4 * k, 4 * k + 1)),
);

describe('wasm kernels = naive references', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'wasm' });
    await ct.init({ backend: 'cpu' });
  });

  it('the committed module is the build of the sources (npm run wasm), byte for byte', () => {
    const committed = readFileSync(join(resolve(import.meta.dirname, '../..'), 'src/backends/wasm/kernelsBinary.ts'), 'utf8');
    expect(renderKernelsModule(buildKernels()) === committed, 'kernelsBinary.ts is stale: run npm run wasm').toBe(true);
  }, 120_000);

  it('matmul (batched, broadcast batch dims, sizes across the 4×8 register tile and 64-row jobs, f32 and i32)', () => {
    prop(
      fc.tuple(matmulArb([0, 1, 3, 4, 5, 8, 9, 31, 33, 65, 129], [0, 1, 2, 5, 17, 260]), fc.boolean()),
      ([c, int]) => expectChecks(matmulChecks(w, c, int, 'matmul'), read),
      30,
    );
  });

  it('sum and max over any axes (contiguous, strided, and non-adjacent axes gathered first), NaN through max, i32', () => {
    const long = fc
      .record({ rows: fc.constantFrom(1, 3), len: simdLength, seed: seedArb, nan: fc.boolean(), first: fc.boolean() })
      .map(({ rows, len, seed, nan, first }) => ({
        shape: first ? [Math.max(len, 1), rows] : [rows, Math.max(len, 1)],
        axes: [first ? 0 : 1],
        seed,
        kind: nan ? ('nan' as const) : ('real' as const),
      }));
    prop(
      fc.tuple(fc.oneof(reduceArb('real'), reduceArb('nan'), reduceArb('ints'), long), fc.boolean()),
      ([{ shape, axes, seed, kind }, int]) => {
        const x = array(shape, seed, kind);
        const terms = axes.reduce((n, a) => n * shape[a]!, 1);
        if (kind !== 'nan') {
          if (int && kind === 'ints') expectMatches(`sum i32 [${shape}] axes [${axes}]`, read(ct.sum(w(x, 'i32'), axes)), ref.sum(x, axes));
          else expectMatches(`sum [${shape}] axes [${axes}]`, read(ct.sum(w(x), axes)), ref.sum(x, axes), 1e-6, 3 * 2 ** -24 * terms);
        }
        if (axes.length > 0) {
          expectMatches(`max [${shape}] axes [${axes}] (${kind})`, read(ct.max(w(x), axes)), ref.max(x, axes));
          if (kind === 'ints') expectMatches(`max i32 [${shape}] axes [${axes}]`, read(ct.max(w(x, 'i32'), axes)), ref.max(x, axes));
        }
      },
    );
  });

  it('argmax: the first maximum along any axis (ties), f32 with NaN and i32', () => {
    prop(fc.tuple(argmaxArb('ints'), fc.constantFrom('ints', 'nan', 'i32')), ([c, kind]) => expectChecks(argmaxChecks(w, c, kind), read));
  });

  it('transpose, slice, pad (strided gather and scatter)', () => {
    prop(fc.tuple(transposeArb, sliceArb, padArb, fc.boolean()), ([t, s, p, int]) => expectChecks(stridedChecks(w, t, s, p, int), read));
  });

  it('concat and broadcastTo (strided scatter and gather, 0 strides)', () => {
    prop(fc.tuple(concatArb, broadcastShapesArb(2), seedArb), ([c, [from, to], seed]) =>
      expectChecks(concatBroadcastChecks(w, c, from!, to!, seed), read),
    );
  });

  it('elementwise maps: same shape, scalar operand and strided broadcasting; where; unary maths; cast', () => {
    const binary: [ct.BinaryName, (a: number, b: number) => number, number][] = [
      ['add', (a, b) => a + b, 0],
      ['sub', (a, b) => a - b, 0],
      ['mul', (a, b) => a * b, 0],
      ['div', (a, b) => a / b, 0],
      ['maximum', (a, b) => (a >= b || Number.isNaN(a) ? a : b), 0],
      ['minimum', (a, b) => (a <= b || Number.isNaN(a) ? a : b), 0],
      ['greater', (a, b) => (a > b ? 1 : 0), 0],
      ['lessEqual', (a, b) => (a <= b ? 1 : 0), 0],
      ['equal', (a, b) => (a === b ? 1 : 0), 0],
      ['notEqual', (a, b) => (a !== b ? 1 : 0), 0],
      ['pow', Math.pow, 3e-7],
    ];
    const unary: [ct.UnaryName, (v: number) => number, number][] = [
      ['neg', (v) => -v, 0],
      ['abs', Math.abs, 0],
      ['relu', (v) => (v > 0 || Number.isNaN(v) ? v : 0), 0],
      ['sign', (v) => (v > 0 ? 1 : v < 0 ? -1 : v), 0],
      ['square', (v) => v * v, 0],
      ['sqrt', Math.sqrt, 0],
      ['exp', Math.exp, 3e-7],
      ['tanh', Math.tanh, 3e-7],
      ['sigmoid', (v) => 1 / (1 + Math.exp(-v)), 3e-7],
    ];
    const shapes = fc.oneof(
      broadcastShapesArb(3),
      simdLength.map((n) => [[n], [n], [n]]),
      simdLength.map((n) => [[n], [], [1]]),
      simdLength.map((n) => [[], [n], [n, 1]]),
    );
    prop(
      fc.tuple(
        shapes,
        seedArb,
        fc.nat(binary.length - 1),
        fc.nat(unary.length - 1),
        fc.oneof(
          shapeArb(4),
          simdLength.map((n) => [n]),
        ),
        fc.boolean(),
      ),
      ([[sa, sb, sc], seed, bi, ui, su, nan]) => {
        const [bname, bf, btol] = binary[bi]!;
        const a = array(sa!, seed, nan ? 'nan' : bname === 'pow' ? 'small' : 'ints');
        const b = array(sb!, seed + 1, 'real');
        const a2 = bname === 'pow' ? { ...a, data: a.data.map((v) => Math.abs(v) + 0.1) } : a;
        expectMatches(
          `${bname} [${sa}] [${sb}]`,
          read(ct.binaryOps[bname](w(a2), w(b))),
          ref.map((u, v) => Math.fround(bf(u, v)), a2, b),
          btol,
          btol,
        );
        const c = array(sc!, seed + 2, 'ints');
        expectMatches(`where [${sc}] [${sa}] [${sb}]`, read(ct.where(w(c), w(a), w(b))), ref.where(c, a, b));
        const [uname, uf, utol] = unary[ui]!;
        const x = array(su, seed + 3, nan ? 'nan' : 'real');
        const xin = uname === 'sqrt' ? { ...x, data: x.data.map(Math.abs) } : x;
        expectMatches(
          `${uname} [${su}]`,
          read(ct.unaryOps[uname](w(xin))),
          ref.map((v) => Math.fround(uf(v)), xin),
          utol,
          utol,
        );
        expectMatches(
          `cast i32 [${su}]`,
          read(ct.cast(w(x), 'i32')),
          ref.map((v) => (Number.isNaN(v) ? 0 : Math.trunc(v)), x),
        );
        const xi = array(su, seed + 4, 'ints');
        expectMatches(
          `i32 ${uname === 'sqrt' ? 'abs' : uname} [${su}]`,
          read(ct.unaryOps[intOp(uname)](w(xi, 'i32'))),
          ref.map(intRef(intOp(uname)), xi),
        );
      },
      120,
    );
  });
});

const INT_OPS = {
  neg: (v: number) => -v,
  abs: Math.abs,
  relu: (v: number) => Math.max(v, 0),
  sign: Math.sign,
  square: (v: number) => v * v,
} as const;
/** The i32 op to check beside a float unary op (the same one where i32 has it). */
const intOp = (name: ct.UnaryName): keyof typeof INT_OPS => (name in INT_OPS ? (name as keyof typeof INT_OPS) : 'abs');
const intRef = (name: keyof typeof INT_OPS) => (v: number) => INT_OPS[name](v) + 0;
