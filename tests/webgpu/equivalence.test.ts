/**
 * Law: backend equivalence. Every built-in primitive computed on WebGPU in f32
 * equals the CPU reference in f64 on the same (f32-rounded) inputs, within a
 * per-op tolerance, on random shapes (odd and prime sizes, scalars, size-1
 * and broadcast dims) drawn by fast-check with the suite's fixed seed.
 * Tolerances: exact for data movement, comparisons and integer ops;
 * rtol 1e-6 for + − × ÷ and max; 2e-5 for transcendental functions (the
 * software GPU's exp/log/...); sin/cos atol 2^-11 (the WGSL spec's bound); sums and matmul: atol grows with the
 * number of terms (f32 accumulation).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { forceMatmulVariant } from '../../src/backends/webgpu/kernels.js';
import {
  binaryDomains,
  concatInstances,
  convInstances,
  EXACT,
  entries,
  expectMatchesCpu,
  indexingInstances,
  type Instance,
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
import { acquireGpu, onCpu, type Domain, type Tol } from './gpu.js';

const ok = await acquireGpu();
const nativeMatmul = ok && /llvmpipe/.test(ct.backendInfo()) ? 'registers' : 'tiled';
const softwareGpu = ok && /llvmpipe|swiftshader/.test(ct.backendInfo());

const ARITH: Tol = { rtol: 1e-6, atol: 1e-6 };
const TRANS: Tol = { rtol: 2e-5, atol: 2e-6 };
// WGSL allows sin/cos an absolute error of 2^-11 on [-π, π] (SwiftShader uses it)
const TRIG: Tol = { rtol: 0, atol: 2 ** -11 };

const { shapeArb, broadcastShapes } = shapeArbitraries([1, 2, 3, 5, 7, 8, 13]);

async function check(inst: Instance): Promise<boolean> {
  const data = inst.inputs.map(values32);
  const gpuOut = inst.run(inputsOn(inst, data, 'webgpu'));
  const got = await gpuOut.data();
  const expected = await onCpu(() => {
    const y = inst.run(inputsOn(inst, data, 'cpu'));
    return { shape: y.shape, dtype: y.dtype, data: y.dataSync() };
  });
  return expectMatchesCpu(inst, gpuOut, got, expected);
}

const RUNS = 10;
const prop = (arb: fc.Arbitrary<Instance>, runs = RUNS) => fc.assert(fc.asyncProperty(arb, check), { numRuns: runs });

const exactUnary = new Set<ct.UnaryName>(['neg', 'relu', 'abs', 'sign']);

/** Tolerance of the binary ops, typed over every binary primitive. */
const binaryTol: { readonly [K in ct.BinaryName]: Tol } = {
  add: ARITH,
  sub: ARITH,
  mul: ARITH,
  div: ARITH,
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

const covered = new Set<string>();
/** Where each of the other primitives is checked below (typed: a new primitive without a WebGPU check does not compile). */
const OTHER_CHECKS: { readonly [P in OtherPrim]: string } = {
  where: 'where (3-way broadcasting)',
  matmul: 'matmul: batched, broadcast batch dims, odd / prime / tile-crossing sizes',
  stopGradient: 'reshape and stopGradient (zero-copy views)',
  reshape: 'reshape and stopGradient (zero-copy views)',
  broadcastTo: 'broadcastTo',
  transpose: 'transpose (random permutations)',
  slice: 'slice and pad',
  pad: 'slice and pad',
  concat: 'concat (2 to 4 inputs, any axis)',
  cast: 'cast f32 -> i32 (truncation) and i32 -> f32',
  sum: 'sum over any set of axes',
  max: 'max over any set of axes',
  argmax: 'argmax along any axis (first maximum on ties)',
  conv2d: 'conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)',
  conv2dInputGrad: 'conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)',
  conv2dFilterGrad: 'conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)',
  take: 'take and scatterAdd (any axis, index ranks 0-2, negatives and duplicates)',
  scatterAdd: 'take and scatterAdd (any axis, index ranks 0-2, negatives and duplicates)',
  cumsum: 'cumsum and argsort along any axis (both directions; stable on ties, NaN last)',
  argsort: 'cumsum and argsort along any axis (both directions; stable on ties, NaN last)',
};

describe.skipIf(!ok)('WebGPU f32 = CPU f64 for every primitive', () => {
  afterAll(() => ct.shutdown());

  for (const [name, domain] of entries(unaryDomains)) {
    covered.add(name);
    it(`${name} (f32)`, async () => {
      await prop(
        fc.record({ shape: shapeArb(4), seed: seedArb }).map(({ shape, seed }) => ({
          inputs: [{ shape, domain, seed }],
          run: ([x]) => ct.unaryOps[name](x!),
          tol: exactUnary.has(name) ? EXACT : name === 'square' ? ARITH : name === 'sin' || name === 'cos' ? TRIG : TRANS,
        })),
      );
    });
  }

  it('integer unary ops (i32): neg relu square abs sign', async () => {
    await prop(intUnaryInstances(shapeArb));
  });

  for (const [name, [da, db]] of entries(binaryDomains)) {
    const tol = binaryTol[name];
    covered.add(name);
    it(`${name} (broadcasting)`, async () => {
      await prop(
        fc.record({ shapes: broadcastShapes(2), sa: seedArb, sb: seedArb }).map(({ shapes, sa, sb }) => ({
          inputs: [
            { shape: shapes[0]!, domain: da, seed: sa },
            { shape: shapes[1]!, domain: db, seed: sb },
          ],
          run: ([a, b]) => ct.binaryOps[name](a!, b!),
          tol,
        })),
      );
    });
  }

  it('pow with negative bases and integer exponents, zero exponents', async () => {
    const a = ct.tensor([-2, -2, -3, 0, 0, 2, -1.5], { backend: 'webgpu' });
    const b = ct.tensor([3, 2, -1, 2, 0, 0, 0.5], { backend: 'webgpu' });
    const got = Array.from(await ct.pow(a, b).data());
    expect(got.slice(0, 6).map((v) => Number(v.toFixed(5)))).toEqual([-8, 4, -0.33333, 0, 1, 1]);
    expect(Number.isNaN(got[6])).toBe(true);
  });

  it('comparisons and equal on i32 (labels)', async () => {
    await prop(
      fc
        .record({
          shapes: broadcastShapes(2),
          sa: seedArb,
          sb: seedArb,
          k: fc.constantFrom<ct.BinaryName>('equal', 'notEqual', 'greater', 'lessEqual', 'add', 'mul', 'maximum'),
        })
        .map(({ shapes, sa, sb, k }) => ({
          inputs: [
            { shape: shapes[0]!, domain: 'ints' as Domain, dtype: 'i32' as const, seed: sa },
            { shape: shapes[1]!, domain: 'ints' as Domain, dtype: 'i32' as const, seed: sb },
          ],
          run: ([a, b]) => ct.binaryOps[k](a!, b!),
          tol: EXACT,
          note: k,
        })),
    );
  });

  covered.add('where');
  it('where (3-way broadcasting)', async () => {
    await prop(
      fc.record({ shapes: broadcastShapes(3), s: fc.tuple(seedArb, seedArb, seedArb) }).map(({ shapes, s }) => ({
        inputs: [
          { shape: shapes[0]!, domain: 'bits' as Domain, seed: s[0] },
          { shape: shapes[1]!, domain: 'any' as Domain, seed: s[1] },
          { shape: shapes[2]!, domain: 'any' as Domain, seed: s[2] },
        ],
        run: ([c, a, b]) => ct.where(c!, a!, b!),
        tol: EXACT,
      })),
    );
  });

  covered.add('matmul');
  it('matmul: batched, broadcast batch dims, odd / prime / tile-crossing sizes', async () => {
    const size = fc.constantFrom(1, 2, 3, 7, 13, 31, 63, 64, 65, 67, 97, 130);
    await prop(
      fc
        .record({ m: size, k: size, n: size, batch: shapeArb(2), bcast: fc.tuple(fc.boolean(), fc.boolean()), sa: seedArb, sb: seedArb })
        .map(({ m, k, n, batch, bcast, sa, sb }) => ({
          inputs: [
            { shape: [...(bcast[0] ? batch.map(() => 1) : batch), m, k], domain: 'small' as Domain, seed: sa },
            { shape: [...(bcast[1] ? batch.slice(1) : batch), k, n], domain: 'small' as Domain, seed: sb },
          ],
          run: ([a, b]) => ct.matmul(a!, b!),
          tol: { rtol: 1e-5, atol: 2e-6 * k },
        })),
      16,
    );
  });

  it('matmul on i32', async () => {
    await prop(
      fc
        .record({
          m: fc.integer({ min: 1, max: 70 }),
          k: fc.integer({ min: 1, max: 20 }),
          n: fc.integer({ min: 1, max: 70 }),
          sa: seedArb,
          sb: seedArb,
        })
        .map(({ m, k, n, sa, sb }) => ({
          inputs: [
            { shape: [m, k], domain: 'ints' as Domain, dtype: 'i32' as const, seed: sa },
            { shape: [k, n], domain: 'ints' as Domain, dtype: 'i32' as const, seed: sb },
          ],
          run: ([a, b]) => ct.matmul(a!, b!),
          tol: EXACT,
        })),
      4,
    );
  });

  // Both matmul kernels on this adapter (the adapter picks one: 'registers' on
  // llvmpipe, 'tiled' elsewhere), on sizes on both sides of each
  // kernel's blocks: the tiled kernel's 64² tile and 8×4 thread block, the
  // register kernel's 64×128 tile, 32-row thread block and 8-column lane stride.
  // (The register kernel is skipped on SwiftShader, which does not use it: it
  // takes about 50 s to run there.)
  for (const variant of ['tiled', 'registers'] as const) {
    it.skipIf(variant === 'registers' && nativeMatmul !== 'registers' && softwareGpu)(
      `matmul kernel '${variant}': sizes across its tile and thread blocks, k = 1, broadcast batch dims, i32`,
      async () => {
        forceMatmulVariant(variant);
        try {
          const size = fc.constantFrom(1, 2, 7, 8, 9, 16, 17, 31, 32, 33, 63, 65, 127, 128, 129, 131);
          await prop(
            fc
              .record({
                m: size,
                k: fc.constantFrom(1, 2, 5, 17),
                n: size,
                batch: shapeArb(2, 1),
                bcast: fc.tuple(fc.boolean(), fc.boolean()),
                sa: seedArb,
                sb: seedArb,
              })
              .map(({ m, k, n, batch, bcast, sa, sb }) => ({
                inputs: [
                  { shape: [...(bcast[0] ? batch.map(() => 1) : batch), m, k], domain: 'small' as Domain, seed: sa },
                  { shape: [...(bcast[1] ? batch.slice(1) : batch), k, n], domain: 'small' as Domain, seed: sb },
                ],
                run: ([a, b]) => ct.matmul(a!, b!),
                tol: { rtol: 1e-5, atol: 2e-6 * k },
                note: variant,
              })),
            12,
          );
          for (const [m, k, n] of [
            [1, 67, 257],
            [257, 67, 1],
            [129, 1, 130],
          ] as const) {
            await check({
              inputs: [
                { shape: [m, k], domain: 'ints' as Domain, dtype: 'i32' as const, seed: m + 1 },
                { shape: [k, n], domain: 'ints' as Domain, dtype: 'i32' as const, seed: n + 2 },
              ],
              run: ([a, b]) => ct.matmul(a!, b!),
              tol: EXACT,
              note: variant,
            });
          }
        } finally {
          forceMatmulVariant(null);
        }
      },
    );

    // only for the kernel this adapter uses, and not for the tiled kernel on a software
    // adapter (15 s on llvmpipe, over 2 minutes on SwiftShader)
    it.skipIf(variant !== nativeMatmul || (variant === 'tiled' && softwareGpu))(
      `matmul kernel '${variant}': grids past 65,535 workgroups (batches and row tiles)`,
      async () => {
        forceMatmulVariant(variant);
        try {
          // 70,000 batches of 1×1 products; 65,535·64 + 3 rows (more row tiles than one grid dimension holds)
          const many = 70_000;
          const a = ct.tensor(
            Array.from({ length: many }, (_, i) => (i % 7) - 3),
            { shape: [many, 1, 1], backend: 'webgpu' },
          );
          const b = ct.tensor([2], { shape: [1, 1], backend: 'webgpu' });
          const y = await ct.matmul(a, b).data();
          expect(Array.from(y).every((v, i) => v === 2 * ((i % 7) - 3))).toBe(true);
          const rows = 65_535 * 64 + 3;
          const x = ct.tensor(
            Float32Array.from({ length: rows }, (_, i) => (i % 5) - 2),
            { shape: [rows, 1], backend: 'webgpu' },
          );
          const w = ct.tensor([1, -3], { shape: [1, 2], backend: 'webgpu' });
          const z = await ct.matmul(x, w).data();
          let bad = 0;
          for (let i = 0; i < rows; i++) if (z[2 * i] !== (i % 5) - 2 || z[2 * i + 1] !== -3 * ((i % 5) - 2)) bad++;
          expect(bad).toBe(0);
        } finally {
          forceMatmulVariant(null);
        }
      },
    );
  }

  covered.add('reshape');
  covered.add('stopGradient');
  it('reshape and stopGradient (zero-copy views)', async () => {
    await prop(reshapeStopGradientInstances(shapeArb, ARITH));
  });

  covered.add('transpose');
  it('transpose (random permutations)', async () => {
    await prop(transposeInstances(shapeArb));
  });

  covered.add('broadcastTo');
  it('broadcastTo', async () => {
    await prop(
      fc.record({ shapes: broadcastShapes(1), target: shapeArb(4), seed: seedArb }).map(({ target, seed, shapes }) => {
        const src =
          shapes[0]!.length <= target.length
            ? target.slice(target.length - shapes[0]!.length).map((d, i) => (shapes[0]![i] === 1 ? 1 : d))
            : [];
        return { inputs: [{ shape: src, domain: 'any' as Domain, seed }], run: ([x]) => ct.broadcastTo(x!, target), tol: EXACT };
      }),
    );
  });

  covered.add('slice');
  covered.add('pad');
  it('slice and pad', async () => {
    await prop(slicePadInstances(shapeArb, false));
  });

  covered.add('concat');
  it('concat (2 to 4 inputs, any axis)', async () => {
    await prop(concatInstances(shapeArb, [1, 2, 3, 5]));
  });

  covered.add('cast');
  it('cast f32 -> i32 (truncation) and i32 -> f32', async () => {
    await prop(
      fc.record({ shape: shapeArb(3), seed: seedArb }).map(({ shape, seed }) => ({
        inputs: [{ shape, domain: 'any' as Domain, seed }],
        run: ([x]) => ct.cast(ct.add(ct.cast(x!, 'i32'), ct.cast(ct.cast(x!, 'i32'), 'i32')), x!.dtype),
        tol: EXACT,
      })),
    );
  });

  covered.add('sum');
  covered.add('max');
  for (const name of ['sum', 'max'] as const) {
    it(`${name} over any set of axes`, async () => {
      await prop(
        fc
          .record({ shape: shapeArb(4, 1), seed: seedArb, mask: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }) })
          .map(({ shape, seed, mask }) => {
            let axes = shape.map((_, i) => i).filter((i) => mask[i]);
            if (axes.length === 0) axes = [shape.length - 1];
            const n = axes.reduce((a, i) => a * shape[i]!, 1);
            return {
              inputs: [{ shape, domain: name === 'max' ? ('ints' as Domain) : ('any' as Domain), seed }],
              run: ([x]) => (name === 'sum' ? ct.sum(x!, axes) : ct.max(x!, axes)),
              tol: name === 'sum' ? { rtol: 1e-5, atol: 1e-6 * n } : EXACT,
              note: `axes [${axes}]`,
            };
          }),
        14,
      );
    });
  }

  it('sum and max over long axes (workgroup tree reduction)', async () => {
    await prop(
      fc
        .record({ rows: fc.constantFrom(1, 3, 17), len: fc.constantFrom(65, 257, 1000, 4099), seed: seedArb, axis: fc.constantFrom(0, 1) })
        .map(({ rows, len, seed, axis }) => ({
          inputs: [{ shape: axis === 1 ? [rows, len] : [len, rows], domain: 'any' as Domain, seed }],
          run: ([x]) => ct.concat([ct.sum(x!, axis), ct.max(x!, axis)], 0),
          tol: { rtol: 1e-5, atol: 3e-6 * len },
        })),
      8,
    );
  });

  covered.add('conv2d');
  covered.add('conv2dInputGrad');
  covered.add('conv2dFilterGrad');
  it('conv2d, conv2dInputGrad and conv2dFilterGrad (strides, dilations, groups, paddings)', async () => {
    await prop(convInstances(6, 4), 9);
  });
  covered.add('argmax');
  it('argmax along any axis (first maximum on ties)', async () => {
    await prop(
      fc
        .record({ shape: shapeArb(4, 1), seed: seedArb, axisU: fc.nat(10), dtype: fc.constantFrom('f32' as const, 'i32' as const) })
        .map(({ shape, seed, axisU, dtype }) => {
          const axis = axisU % shape.length;
          return {
            inputs: [{ shape, domain: 'ints' as Domain, dtype, seed }],
            run: ([x]) => ct.argmax(x!, axis),
            tol: EXACT,
            note: `axis ${axis}`,
          };
        }),
      14,
    );
  });

  covered.add('take');
  covered.add('scatterAdd');
  it('take and scatterAdd (any axis, index ranks 0-2, negatives and duplicates)', async () => {
    await prop(indexingInstances(shapeArb), 12);
  });

  it('argmax over a long axis', async () => {
    await prop(
      fc.record({ len: fc.constantFrom(300, 1031, 5000), seed: seedArb }).map(({ len, seed }) => ({
        inputs: [{ shape: [2, len], domain: 'ints' as Domain, seed }],
        run: ([x]) => ct.argmax(x!, 1),
        tol: EXACT,
      })),
      4,
    );
  });

  covered.add('cumsum');
  covered.add('argsort');
  it('cumsum and argsort along any axis (both directions; stable on ties, NaN last)', async () => {
    await prop(
      fc
        .record({
          shape: shapeArb(3, 1),
          seed: seedArb,
          axisU: fc.nat(10),
          reverse: fc.boolean(),
          nan: fc.boolean(),
          dtype: fc.constantFrom('f32' as const, 'i32' as const),
        })
        .map(({ shape, seed, axisU, reverse, nan, dtype }) => {
          const axis = axisU % shape.length;
          return {
            inputs: [{ shape, domain: 'ints' as Domain, dtype, seed, nan: nan && dtype === 'f32' }],
            run: ([x]) =>
              ct.concat([ct.reshape(ct.cumsum(x!, axis, { reverse }), [-1]), ct.reshape(ct.cast(ct.argsort(x!, axis), x!.dtype), [-1])]),
            // the 'ints' domain holds ties (stability) and sums of small integers (exact in f32)
            tol: EXACT,
            note: `axis ${axis}${reverse ? ' reversed' : ''}`,
          };
        }),
      10,
    );
  });

  it('softmax, logSoftmax and logsumexp (stable for large logits)', async () => {
    await prop(
      fc.record({ shape: shapeArb(3, 1), seed: seedArb, scale: fc.constantFrom(1, 100, 1000) }).map(({ shape, seed, scale }) => ({
        inputs: [{ shape, domain: 'any' as Domain, seed }],
        run: ([x]) => {
          const s = ct.mul(x!, scale);
          return ct.concat(
            [ct.reshape(ct.softmax(s, -1), [-1]), ct.reshape(ct.logSoftmax(s, -1), [-1]), ct.reshape(ct.logsumexp(s, -1), [-1])],
            0,
          );
        },
        tol: { rtol: 2e-5, atol: 2e-5 * scale },
        note: `scale ${scale}`,
      })),
    );
  });

  it('scalars and empty tensors', async () => {
    const s = ct.scalar(2.5, { backend: 'webgpu' });
    expect(Array.from(await ct.mul(ct.exp(s), s).data())[0]).toBeCloseTo(2.5 * Math.exp(2.5), 4);
    const e = ct.zeros([0, 3], { backend: 'webgpu' });
    expect((await ct.add(e, 1).data()).length).toBe(0);
    expect(Array.from(await ct.sum(e, 0).data())).toEqual([0, 0, 0]);
    expect(await ct.matmul(ct.zeros([2, 0], { backend: 'webgpu' }), ct.zeros([0, 3], { backend: 'webgpu' })).array()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(await ct.concat([e, ct.ones([1, 3], { backend: 'webgpu' })], 0).array()).toEqual([[1, 1, 1]]);
  });

  it('NaN propagates through relu, maximum, minimum, max and clip as on the CPU', async () => {
    const x = ct.tensor([NaN, -1, 2], { backend: 'webgpu' });
    expect(Array.from(await ct.relu(x).data())).toEqual([NaN, 0, 2]);
    expect(Array.from(await ct.maximum(x, 0).data())).toEqual([NaN, 0, 2]);
    expect(Array.from(await ct.maximum(0, x).data())).toEqual([NaN, 0, 2]);
    expect(Array.from(await ct.minimum(x, 0).data())).toEqual([NaN, -1, 0]);
    expect(Array.from(await ct.minimum(0, x).data())).toEqual([NaN, -1, 0]);
    expect(Array.from(await ct.max(x).data())).toEqual([NaN]);
    expect(Array.from(await ct.max(ct.tensor([1, 2, NaN], { backend: 'webgpu' })).data())).toEqual([NaN]);
    expect(Array.from(await ct.clip(x, -0.5, 1).data())).toEqual([NaN, -0.5, 1]);
  });

  it('covers every built-in primitive', () => {
    expect(ct.primNames.filter((p) => !covered.has(p))).toEqual([]);
    for (const [prim, test] of entries(OTHER_CHECKS)) expect(covered.has(prim), `${prim} (${test})`).toBe(true);
  });
});
