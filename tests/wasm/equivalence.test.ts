/**
 * Law: backend equivalence on wasm. Every built-in primitive computed on the
 * wasm backend in f32 equals the CPU reference in f64 on the same
 * (f32-rounded) inputs, within a per-op tolerance, on random shapes (odd and
 * prime sizes, empty and scalar tensors, size-1 and broadcast dims) drawn by
 * fast-check with the suite's fixed seed; i32 ops exactly; NaN propagates as
 * on the CPU. Tolerances: exact for data movement, comparisons, maximum /
 * minimum, max, argmax and integer ops; + − × ÷ √ and reciprocal are correctly
 * rounded f32 operations (≤ ½ ulp from the f64 result: rtol 2⁻²⁴); the
 * transcendental functions within the bounds of math.ts (≤ 2 ulp, plus the
 * rounding of the f64 reference: rtol 4e-7, atol 1e-7 near zeros); sums and
 * matmul: atol grows with the number of terms.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import {
  binaryDomains,
  concatInstances,
  convInstances,
  EXACT,
  entries,
  expectMatchesCpu,
  indexingInstances,
  type Instance,
  type InputSpec,
  inputsOn,
  intUnaryInstances,
  type OtherPrim,
  reshapeStopGradientInstances,
  seedArb,
  slicePadInstances,
  shapeArbitraries,
  transposeInstances,
  unaryDomains,
  values32,
} from '../backends/equivalence.js';
import type { Domain, Tol } from '../webgpu/gpu.js';

const ROUNDED: Tol = { rtol: 2 ** -24, atol: 0 };
const TRANS: Tol = { rtol: 4e-7, atol: 1e-7 };

const { shapeArb, shapeNoEmpty, broadcastShapes } = shapeArbitraries([1, 2, 3, 4, 5, 7, 8, 9, 13], 1);

function check(inst: Instance): boolean {
  const data = inst.inputs.map(values32);
  return ct.scope(() => {
    const out = inst.run(inputsOn(inst, data, 'wasm'));
    expect(out.backendName).toBe('wasm');
    const got = out.dataSync();
    const y = inst.run(inputsOn(inst, data, 'cpu'));
    return expectMatchesCpu(inst, out, got, { shape: y.shape, dtype: y.dtype, data: y.dataSync() });
  });
}

const RUNS = 25;
const prop = (arb: fc.Arbitrary<Instance>, runs = RUNS) => fc.assert(fc.property(arb, check), { numRuns: runs });

/** Tolerance of the unary ops: typed over every unary primitive, so a new one without its wasm check does not compile. */
const unaryTol: { readonly [K in ct.UnaryName]: Tol } = {
  neg: EXACT,
  exp: TRANS,
  log: TRANS,
  sin: TRANS,
  cos: TRANS,
  tanh: TRANS,
  sigmoid: TRANS,
  relu: EXACT,
  sqrt: ROUNDED,
  square: ROUNDED,
  abs: EXACT,
  reciprocal: ROUNDED,
  sign: EXACT,
  erf: TRANS,
  erfc: TRANS,
  log1p: TRANS,
  expm1: TRANS,
  softplus: TRANS,
};

/** Tolerance of the binary ops, typed over every binary primitive. */
const binaryTol: { readonly [K in ct.BinaryName]: Tol } = {
  add: ROUNDED,
  sub: ROUNDED,
  mul: ROUNDED,
  div: ROUNDED,
  pow: TRANS,
  logaddexp: TRANS,
  maximum: EXACT,
  minimum: EXACT,
  greater: EXACT,
  greaterEqual: EXACT,
  less: EXACT,
  lessEqual: EXACT,
  equal: EXACT,
  notEqual: EXACT,
};
const intBinary: ct.BinaryName[] = [
  'add',
  'sub',
  'mul',
  'maximum',
  'minimum',
  'greater',
  'greaterEqual',
  'less',
  'lessEqual',
  'equal',
  'notEqual',
];

/** Where each of the other primitives is checked below (typed: a new primitive without a wasm check does not compile). */
const OTHER_CHECKS: { readonly [P in OtherPrim]: string } = {
  where: 'where (3-way broadcasting, f32 and i32 conditions)',
  matmul: 'matmul: batched, broadcast batch dims, odd / prime / block-crossing sizes, i32',
  stopGradient: 'reshape and stopGradient (shared blocks)',
  reshape: 'reshape and stopGradient (shared blocks)',
  broadcastTo: 'broadcastTo',
  transpose: 'transpose (random permutations)',
  slice: 'slice and pad',
  pad: 'slice and pad',
  concat: 'concat (2 to 4 inputs, any axis)',
  cast: 'cast f32 <-> i32',
  sum: 'sum and max over any set of axes (NaN through max)',
  max: 'sum and max over any set of axes (NaN through max)',
  argmax: 'argmax along any axis (first maximum, NaN counts as maximum)',
  conv2d: 'conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)',
  conv2dInputGrad: 'conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)',
  conv2dFilterGrad: 'conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)',
  take: 'take and scatterAdd (any axis, index ranks 0-2, negatives and duplicates)',
  scatterAdd: 'take and scatterAdd (any axis, index ranks 0-2, negatives and duplicates)',
  cumsum: 'cumsum and argsort along any axis (both directions; stable on ties, NaN last)',
  argsort: 'cumsum and argsort along any axis (both directions; stable on ties, NaN last)',
};
const covered = new Set<string>();

describe('wasm f32 = CPU f64 for every primitive', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'wasm' });
    await ct.init({ backend: 'cpu' });
  });

  for (const [name, domain] of entries(unaryDomains)) {
    const tol = unaryTol[name];
    covered.add(name);
    it(`${name} (f32; sizes around the SIMD width, NaN)`, () => {
      prop(
        fc
          .record({
            shape: fc.oneof(
              shapeArb(4),
              fc.integer({ min: 0, max: 41 }).map((n) => [n]),
            ),
            seed: seedArb,
            nan: fc.boolean(),
          })
          .map(({ shape, seed, nan }) => ({ inputs: [{ shape, domain, seed, nan }], run: ([x]) => ct.unaryOps[name](x!), tol })),
      );
    });
  }
  it('integer unary ops (i32): neg relu square abs sign, exactly', () => {
    prop(intUnaryInstances(shapeArb));
  });
  for (const [name, [da, db]] of entries(binaryDomains)) {
    const tol = binaryTol[name];
    covered.add(name);
    it(`${name} (broadcasting, NaN)`, () => {
      prop(
        fc.record({ shapes: broadcastShapes(2), sa: seedArb, sb: seedArb, nan: fc.boolean() }).map(({ shapes, sa, sb, nan }) => ({
          inputs: [
            { shape: shapes[0]!, domain: da, seed: sa, nan },
            { shape: shapes[1]!, domain: db, seed: sb, nan },
          ],
          run: ([a, b]) => ct.binaryOps[name](a!, b!),
          tol,
        })),
      );
    });
  }
  it('binary ops on i32 (broadcasting), exactly', () => {
    prop(
      fc
        .record({ shapes: broadcastShapes(2), sa: seedArb, sb: seedArb, k: fc.constantFrom(...intBinary) })
        .map(({ shapes, sa, sb, k }) => ({
          inputs: [
            { shape: shapes[0]!, domain: 'any' as Domain, dtype: 'i32' as const, seed: sa },
            { shape: shapes[1]!, domain: 'ints' as Domain, dtype: 'i32' as const, seed: sb },
          ],
          run: ([a, b]) => ct.binaryOps[k](a!, b!),
          tol: EXACT,
          note: k,
        })),
      60,
    );
  });
  it('special values as on the CPU: relu/maximum/minimum/max propagate NaN, sign(±0), pow conventions, ±0 and infinities', () => {
    const xs = [NaN, 0, -0, 1, -1, Infinity, -Infinity, 2.5, -2.5];
    const all = xs.flatMap((a) => xs.map((b) => [a, b] as const));
    const a = all.map((p) => p[0]);
    const b = all.map((p) => p[1]);
    const spec = (v: readonly number[]): InputSpec => ({ shape: [v.length], domain: 'any', seed: 1, values: v });
    for (const [name, tol] of entries(binaryTol)) {
      check({ inputs: [spec(a), spec(b)], run: ([x, y]) => ct.binaryOps[name](x!, y!), tol, note: name });
    }
    for (const [name, tol] of entries(unaryTol)) {
      check({ inputs: [spec(xs)], run: ([x]) => ct.unaryOps[name](x!), tol, note: name });
    }
    // signs of zero are kept exactly where the CPU keeps them
    const w = ct.sign(ct.tensor([-0, 0], { backend: 'wasm' })).dataSync();
    expect(Object.is(w[0], -0) && Object.is(w[1], 0)).toBe(true);
    expect(Object.is(ct.relu(ct.tensor([-0], { backend: 'wasm' })).dataSync()[0], 0)).toBe(true);
    expect(Array.from(ct.max(ct.tensor([1, NaN, 3], { backend: 'wasm' })).dataSync())).toEqual([NaN]);
    expect(Array.from(ct.argmax(ct.tensor([1, 3, NaN, NaN, 3], { backend: 'wasm' })).dataSync())).toEqual([2]);
  });
  covered.add('where');
  it('where (3-way broadcasting, f32 and i32 conditions)', () => {
    prop(
      fc.record({ shapes: broadcastShapes(3), s: fc.tuple(seedArb, seedArb, seedArb), int: fc.boolean() }).map(({ shapes, s, int }) => ({
        inputs: [
          { shape: shapes[0]!, domain: 'bits' as Domain, seed: s[0], dtype: int ? ('i32' as const) : ('f32' as const) },
          { shape: shapes[1]!, domain: 'any' as Domain, seed: s[1], nan: true },
          { shape: shapes[2]!, domain: 'any' as Domain, seed: s[2] },
        ],
        run: ([c, a, b]) => ct.where(c!, a!, b!),
        tol: EXACT,
      })),
    );
  });
  covered.add('matmul');
  it('matmul: batched, broadcast batch dims, odd / prime / block-crossing sizes, i32', () => {
    const size = fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 31, 63, 64, 65, 67, 130);
    prop(
      fc
        .record({
          m: size,
          k: size,
          n: size,
          batch: shapeNoEmpty(3),
          bcast: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
          sa: seedArb,
          sb: seedArb,
          int: fc.boolean(),
        })
        .map(({ m, k, n, batch, bcast, sa, sb, int }) => ({
          inputs: [
            {
              shape: [...(bcast[0] ? batch.map((d, i) => (i % 2 === 0 ? 1 : d)) : batch), m, k],
              domain: (int ? 'ints' : 'small') as Domain,
              seed: sa,
              dtype: int ? ('i32' as const) : ('f32' as const),
            },
            {
              shape: [...(bcast[1] ? batch.slice(1) : bcast[2] ? batch.map((d, i) => (i % 2 === 1 ? 1 : d)) : batch), k, n],
              domain: (int ? 'ints' : 'small') as Domain,
              seed: sb,
              dtype: int ? ('i32' as const) : ('f32' as const),
            },
          ],
          run: ([a, b]) => ct.matmul(a!, b!),
          tol: int ? EXACT : { rtol: 1e-6, atol: 2e-7 * k },
        })),
      40,
    );
  });
  covered.add('reshape');
  covered.add('stopGradient');
  it('reshape and stopGradient (shared blocks)', () => {
    prop(reshapeStopGradientInstances(shapeArb, ROUNDED));
  });
  covered.add('transpose');
  it('transpose (random permutations)', () => {
    prop(transposeInstances(shapeArb));
  });
  covered.add('broadcastTo');
  it('broadcastTo', () => {
    prop(
      fc.record({ shapes: broadcastShapes(2), seed: seedArb }).map(({ shapes, seed }) => {
        const target = shapes[0]!.length >= shapes[1]!.length ? shapes[0]! : shapes[1]!;
        const other = target === shapes[0] ? shapes[1]! : shapes[0]!;
        const full = target.map((d, i) => Math.max(d, other[i - (target.length - other.length)] ?? 1));
        return {
          inputs: [{ shape: other, domain: 'any' as Domain, seed }],
          run: ([x]) => ct.broadcastTo(x!, full),
          tol: EXACT,
          note: `to [${full}]`,
        };
      }),
    );
  });
  covered.add('slice');
  covered.add('pad');
  it('slice and pad', () => {
    prop(slicePadInstances(shapeNoEmpty, true));
  });
  covered.add('concat');
  it('concat (2 to 4 inputs, any axis)', () => {
    prop(concatInstances(shapeArb, [0, 1, 2, 3, 5]));
  });
  covered.add('cast');
  it('cast f32 <-> i32', () => {
    prop(
      fc.record({ shape: shapeArb(3), seed: seedArb }).map(({ shape, seed }) => ({
        inputs: [{ shape, domain: 'any' as Domain, seed, nan: true }],
        run: ([x]) => ct.cast(ct.add(ct.cast(x!, 'i32'), ct.cast(ct.cast(x!, 'i32'), 'i32')), 'f32'),
        tol: EXACT,
      })),
    );
    // JavaScript's ToInt32: NaN and infinities give 0, large values wrap modulo 2^32
    const big = [NaN, Infinity, -Infinity, 3e9, -3e9, 2 ** 31, -(2 ** 31), 1e20, 2 ** 40 + 5 * 2 ** 20, -7.9, 7.9, 1.5e10];
    const got = ct.cast(ct.tensor(big, { backend: 'wasm' }), 'i32').dataSync();
    expect(Array.from(got)).toEqual(Array.from(Int32Array.from(Float32Array.from(big))));
    const ints = [2147483647, -2147483648, 16777217, -16777217, 123456789];
    expect(Array.from(ct.cast(ct.tensor(ints, { dtype: 'i32', backend: 'wasm' }), 'f32').dataSync())).toEqual(
      Array.from(Float32Array.from(ints)),
    );
  });
  covered.add('sum');
  covered.add('max');
  it('sum and max over any set of axes (NaN through max)', () => {
    prop(
      fc
        .record({
          shape: shapeArb(4),
          seed: seedArb,
          pick: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
          nan: fc.boolean(),
          int: fc.boolean(),
        })
        .map(({ shape, seed, pick, nan, int }) => {
          const axes = shape.map((_, i) => i).filter((i) => pick[i]);
          const terms = axes.reduce((n, a) => n * shape[a]!, 1);
          const nonEmpty = axes.every((a) => shape[a]! > 0);
          return {
            inputs: [{ shape, domain: 'any' as Domain, seed, nan: nan && !int, dtype: int ? ('i32' as const) : ('f32' as const) }],
            run: ([x]) => (nan || !nonEmpty ? ct.sum(x!, axes) : ct.max(x!, axes)),
            tol: int ? EXACT : { rtol: 1e-6, atol: 3e-7 * terms },
            note: `axes [${axes}] ${nan || !nonEmpty ? 'sum' : 'max'}`,
          };
        }),
      60,
    );
    prop(
      fc
        .record({ shape: shapeNoEmpty(4, 1), seed: seedArb, pick: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }) })
        .map(({ shape, seed, pick }) => {
          const axes = shape.map((_, i) => i).filter((i) => pick[i]);
          return {
            inputs: [{ shape, domain: 'ints' as Domain, seed, nan: true }],
            run: ([x]) => ct.max(x!, axes),
            tol: EXACT,
            note: `max axes [${axes}]`,
          };
        }),
      40,
    );
  });
  covered.add('conv2d');
  covered.add('conv2dInputGrad');
  covered.add('conv2dFilterGrad');
  it('conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)', () => {
    prop(convInstances(9, 20), 30);
  });
  covered.add('argmax');
  it('argmax along any axis (first maximum, NaN counts as maximum)', () => {
    prop(
      fc
        .record({ shape: shapeNoEmpty(4, 1), seed: seedArb, axisU: fc.nat(10), nan: fc.boolean(), int: fc.boolean() })
        .map(({ shape, seed, axisU, nan, int }) => ({
          inputs: [{ shape, domain: 'ints' as Domain, seed, nan: nan && !int, dtype: int ? ('i32' as const) : ('f32' as const) }],
          run: ([x]) => ct.argmax(x!, axisU % shape.length),
          tol: EXACT,
        })),
      40,
    );
  });

  covered.add('cumsum');
  covered.add('argsort');
  it('cumsum and argsort along any axis (both directions; stable on ties, NaN last)', () => {
    prop(
      fc
        .record({ shape: shapeArb(4, 1), seed: seedArb, axisU: fc.nat(10), reverse: fc.boolean(), nan: fc.boolean(), int: fc.boolean() })
        .map(({ shape, seed, axisU, reverse, nan, int }) => {
          const axis = axisU % shape.length;
          const len = shape[axis]!;
          return {
            inputs: [{ shape, domain: 'ints' as Domain, seed, nan: nan && !int, dtype: int ? ('i32' as const) : ('f32' as const) }],
            run: ([x]) =>
              ct.concat([ct.reshape(ct.cumsum(x!, axis, { reverse }), [-1]), ct.reshape(ct.cast(ct.argsort(x!, axis), x!.dtype), [-1])]),
            // the 'ints' domain holds ties (stability) and sums of small integers (exact in f32)
            tol: int ? EXACT : { rtol: 1e-6, atol: 3e-7 * len },
            note: `axis ${axis}${reverse ? ' reversed' : ''}`,
          };
        }),
      40,
    );
    prop(
      fc
        .record({ shape: shapeArb(3, 1), seed: seedArb, axisU: fc.nat(10), reverse: fc.boolean() })
        .map(({ shape, seed, axisU, reverse }) => {
          const axis = axisU % shape.length;
          return {
            inputs: [{ shape, domain: 'any' as Domain, seed }],
            run: ([x]) => ct.cumsum(x!, axis, { reverse }),
            tol: { rtol: 1e-6, atol: 3e-7 * shape[axis]! },
            note: `axis ${axis}${reverse ? ' reversed' : ''}`,
          };
        }),
      25,
    );
  });

  covered.add('take');
  covered.add('scatterAdd');
  it('take and scatterAdd (any axis, index ranks 0-2, negatives and duplicates)', () => {
    prop(indexingInstances(shapeArb), 40);
  });

  it('covers every primitive', () => {
    for (const p of ct.primNames) expect(covered.has(p) || p in OTHER_CHECKS, p).toBe(true);
  });
});
