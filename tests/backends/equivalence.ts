/**
 * Shared machinery of the backend-equivalence laws (an f32 backend against
 * the CPU in f64): instances (inputs and the computation), their inputs,
 * the comparison with the CPU result, shape arbitraries, the input domains of
 * every unary and binary primitive (typed over all of them, so a new one
 * without its domain does not compile), and the instances of the structural
 * primitives that both suites draw the same way.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import * as ct from '../../src/index.js';
import { closeMessage, values, type Domain, type Tol } from '../webgpu/gpu.js';
import { convCases } from '../ops/convReference.js';

export interface InputSpec {
  readonly shape: number[];
  readonly domain: Domain;
  readonly dtype?: 'f32' | 'i32';
  readonly seed: number;
  /** Put NaN at some positions. */
  readonly nan?: boolean;
  /** These values instead of random ones. */
  readonly values?: readonly number[];
}

export interface Instance {
  readonly inputs: InputSpec[];
  readonly run: (xs: ct.Tensor[]) => ct.Tensor;
  readonly tol: Tol;
  readonly note?: string;
}

export const EXACT: Tol = { rtol: 0, atol: 0 };

/**
 * The convolution family (conv2d, conv2dInputGrad, conv2dFilterGrad) on the cases of tests/ops/convReference.ts
 * (strides, dilations, groups, valid / same / asymmetric padding) with spatial sizes up to `maxSize`, values in
 * [-1, 1]; f32 rounding allowed to grow with the terms of each sum.
 */
export const convInstances = (maxSize: number, maxCh: number): fc.Arbitrary<Instance> =>
  fc.tuple(convCases({ maxSize, maxCh }), fc.constantFrom(0, 1, 2)).map(([c, which]) => {
    const g = c.g;
    const p = { stride: g.stride, dilation: g.dilation, pads: g.pads, groups: g.groups };
    const x = [g.n, g.h, g.w, g.cin];
    const w = [g.kh, g.kw, g.cin / g.groups, g.cout];
    const y = [g.n, g.ho, g.wo, g.cout];
    const spec = (shape: number[], k: number): InputSpec => ({ shape, domain: 'small', seed: c.seed + k });
    const terms = [g.kh * g.kw * (g.cin / g.groups), g.kh * g.kw * (g.cout / g.groups), g.n * g.ho * g.wo][which]!;
    const tol = { rtol: 1e-5, atol: 1e-6 * terms };
    const note = `${['conv2d', 'conv2dInputGrad', 'conv2dFilterGrad'][which]} ${JSON.stringify(p)}`;
    if (which === 0) return { inputs: [spec(x, 0), spec(w, 1)], run: ([a, b]) => ct.conv2dGeneral(a!, b!, p), tol, note };
    if (which === 1)
      return { inputs: [spec(y, 0), spec(w, 1)], run: ([a, b]) => ct.conv2dInputGrad(a!, b!, { ...p, inputSize: [g.h, g.w] }), tol, note };
    return {
      inputs: [spec(x, 0), spec(y, 1)],
      run: ([a, b]) => ct.conv2dFilterGrad(a!, b!, { ...p, kernelSize: [g.kh, g.kw] }),
      tol,
      note,
    };
  });

export const seedArb = fc.integer({ min: 1, max: 2 ** 30 });

/**
 * Shape arbitraries over the dims `dims`; with `emptyWeight`, `shapeArb` also
 * draws 0 (weight `emptyWeight` against 8 for the others), `shapeNoEmpty` never.
 */
export function shapeArbitraries(dims: readonly number[], emptyWeight?: number) {
  const dim = fc.constantFrom(...dims);
  const dimOrEmpty =
    emptyWeight === undefined ? dim : fc.oneof({ arbitrary: dim, weight: 8 }, { arbitrary: fc.constant(0), weight: emptyWeight });
  const shapeArb = (maxRank = 4, minRank = 0) => fc.array(dimOrEmpty, { minLength: minRank, maxLength: maxRank });
  const shapeNoEmpty = (maxRank = 4, minRank = 0) => fc.array(dim, { minLength: minRank, maxLength: maxRank });
  /** Shapes of n inputs that broadcast together: each drops some leading dims and sets some dims to 1. */
  const broadcastShapes = (n: number) =>
    fc
      .tuple(
        shapeArb(4),
        fc.array(fc.tuple(fc.nat(4), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })), { minLength: n, maxLength: n }),
      )
      .map(([out, specs]) => specs.map(([drop, ones]) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d))));
  return { shapeArb, shapeNoEmpty, broadcastShapes };
}

/** The input's values: its `values`, or random ones in its domain (NaN at some positions with `nan`), rounded to its dtype. */
export const values32 = (s: InputSpec): number[] => {
  if (s.values) return [...s.values];
  const n = s.shape.reduce((a, b) => a * b, 1);
  const v = values(n, s.seed, s.domain).map((x, i) => (s.nan && (i * 7 + s.seed) % 5 === 0 ? NaN : x));
  return s.dtype === 'i32' ? v.map(Math.trunc) : v.map(Math.fround);
};

/** The inputs on `backend`: f32 (or i32) tensors; on the CPU f64 (or i32) ones. */
export const inputsOn = (inst: Instance, data: number[][], backend: ct.BackendName): ct.Tensor[] =>
  inst.inputs.map((s, i) =>
    ct.tensor(data[i]!, { shape: s.shape, dtype: backend === 'cpu' ? (s.dtype === 'i32' ? 'i32' : 'f64') : (s.dtype ?? 'f32'), backend }),
  );

/** The backend's result equals the CPU's: same shape, f32 for f64, values within the instance's tolerance. */
export function expectMatchesCpu(
  inst: Instance,
  out: { readonly shape: readonly number[]; readonly dtype: ct.DType },
  got: ArrayLike<number>,
  cpu: { readonly shape: readonly number[]; readonly dtype: ct.DType; readonly data: ArrayLike<number> },
): true {
  expect(out.shape).toEqual(cpu.shape);
  expect(out.dtype).toBe(cpu.dtype === 'f64' ? 'f32' : cpu.dtype);
  const msg = closeMessage(`${inst.note ?? ''} shapes ${inst.inputs.map((s) => `[${s.shape}]`).join(' ')}`, got, cpu.data, inst.tol);
  if (msg) throw new Error(msg);
  return true;
}

/** Input domains of the unary ops: typed over every unary primitive. */
export const unaryDomains: { readonly [K in ct.UnaryName]: Domain } = {
  neg: 'any',
  exp: 'any',
  log: 'pos',
  sin: 'any',
  cos: 'any',
  tanh: 'any',
  sigmoid: 'any',
  relu: 'any',
  sqrt: 'pos',
  square: 'any',
  abs: 'any',
  reciprocal: 'nonzero',
  sign: 'ints',
  erf: 'any',
  erfc: 'any',
  log1p: 'small',
  expm1: 'any',
  softplus: 'any',
};
/** The unary ops defined on i32. */
export const intUnary: ct.UnaryName[] = ['neg', 'relu', 'square', 'abs', 'sign'];

/** Input domains of the binary ops, typed over every binary primitive. */
export const binaryDomains: { readonly [K in ct.BinaryName]: readonly [Domain, Domain] } = {
  add: ['any', 'any'],
  sub: ['any', 'any'],
  mul: ['any', 'any'],
  div: ['any', 'nonzero'],
  pow: ['pos', 'small'],
  logaddexp: ['any', 'any'],
  maximum: ['ints', 'any'],
  minimum: ['ints', 'any'],
  greater: ['ints', 'ints'],
  greaterEqual: ['ints', 'ints'],
  less: ['ints', 'ints'],
  lessEqual: ['ints', 'ints'],
  equal: ['ints', 'ints'],
  notEqual: ['ints', 'ints'],
};

/** The primitives that are neither unary nor binary ops (each suite says where it checks each). */
export type OtherPrim = Exclude<ct.PrimName, ct.UnaryName | ct.BinaryName>;

export const entries = <K extends string, V>(r: { readonly [P in K]: V }): [K, V][] => Object.entries(r) as [K, V][];

type ShapeArb = (maxRank?: number, minRank?: number) => fc.Arbitrary<number[]>;

/** reshape to a vector of a stopGradient, plus 1 (within `tol`). */
export const reshapeStopGradientInstances = (shapeArb: ShapeArb, tol: Tol): fc.Arbitrary<Instance> =>
  fc.record({ shape: shapeArb(4), seed: seedArb }).map(({ shape, seed }) => ({
    inputs: [{ shape, domain: 'any' as Domain, seed }],
    run: ([x]) => ct.add(ct.reshape(ct.stopGradient(x!), [-1]), 1),
    tol,
  }));

/** transpose by a random permutation of rank 1 to 5. */
export const transposeInstances = (shapeArb: ShapeArb): fc.Arbitrary<Instance> =>
  fc
    .record({
      shape: shapeArb(5, 1),
      seed: seedArb,
      keys: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
    })
    .map(({ shape, seed, keys }) => {
      const perm = shape.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
      return {
        inputs: [{ shape, domain: 'any' as Domain, seed }],
        run: ([x]) => ct.transpose(x!, perm),
        tol: EXACT,
        note: `perm [${perm}]`,
      };
    });

/** concat of 2 to 4 inputs along any axis, each with a size from `sizes` there. */
export const concatInstances = (shapeArb: ShapeArb, sizes: readonly number[]): fc.Arbitrary<Instance> =>
  fc
    .record({
      shape: shapeArb(4, 1),
      axisU: fc.nat(10),
      extra: fc.array(fc.constantFrom(...sizes), { minLength: 2, maxLength: 4 }),
      seed: seedArb,
    })
    .map(({ shape, axisU, extra, seed }) => {
      const axis = axisU % shape.length;
      const inputs = extra.map((d, i) => ({
        shape: shape.map((s, j) => (j === axis ? d : s)),
        domain: 'any' as Domain,
        seed: seed + i,
      }));
      return { inputs, run: (xs: ct.Tensor[]) => ct.concat(xs, axis), tol: EXACT };
    });

/** The unary ops defined on i32 (intUnary) on i32 inputs of rank up to 3, exactly. */
export const intUnaryInstances = (shapeArb: ShapeArb): fc.Arbitrary<Instance> =>
  fc.record({ shape: shapeArb(3), seed: seedArb, k: fc.constantFrom(...intUnary) }).map(({ shape, seed, k }) => ({
    inputs: [{ shape, domain: 'any' as Domain, dtype: 'i32' as const, seed }],
    run: ([x]) => ct.unaryOps[k](x!),
    tol: EXACT,
    note: k,
  }));

/**
 * slice then pad (widths 0 to 3 each side) of a non-empty input of rank 1 to 4 (from `shapeArb`), exactly;
 * with `emptySlices` a slice may have size 0 along a dim, else at least 1.
 */
export const slicePadInstances = (shapeArb: ShapeArb, emptySlices: boolean): fc.Arbitrary<Instance> =>
  fc
    .record({
      shape: shapeArb(4, 1),
      seed: seedArb,
      u: fc.array(fc.tuple(fc.nat(100), fc.nat(100), fc.nat(3), fc.nat(3)), { minLength: 4, maxLength: 4 }),
    })
    .map(({ shape, seed, u }) => {
      const begin = shape.map((d, i) => u[i]![0] % d);
      const size = shape.map((d, i) => (emptySlices ? u[i]![1] % (d - begin[i]! + 1) : 1 + (u[i]![1] % (d - begin[i]!))));
      const widths = shape.map((_, i) => [u[i]![2], u[i]![3]] as [number, number]);
      return {
        inputs: [{ shape, domain: 'any' as Domain, seed }],
        run: ([x]) => ct.pad(ct.slice(x!, begin, size), widths),
        tol: EXACT,
        note: `begin [${begin}] size [${size}]`,
      };
    });

/**
 * take or scatterAdd along any axis of an input of rank 1 to 3 (from `shapeArb`, non-empty along the axis), f32 or
 * i32, with i32 indices of rank 0 to 2 in [-n, n) (negatives and duplicates): take exactly; scatterAdd exactly on i32,
 * on f32 within the rounding of its accumulation (the updates are added one by one in index order, in f32).
 */
export const indexingInstances = (shapeArb: ShapeArb): fc.Arbitrary<Instance> =>
  fc
    .record({
      shape: shapeArb(3, 1),
      axisU: fc.nat(10),
      ishape: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 2 }),
      picks: fc.array(fc.nat(1000), { minLength: 16, maxLength: 16 }),
      seed: seedArb,
      scatter: fc.boolean(),
      int: fc.boolean(),
    })
    .filter(({ shape, axisU }) => shape[axisU % shape.length]! > 0)
    .map(({ shape, axisU, ishape, picks, seed, scatter, int }) => {
      const axis = axisU % shape.length;
      const n = shape[axis]!;
      const m = ishape.reduce((a, b) => a * b, 1);
      const idx = Array.from({ length: m }, (_, j) => (picks[j]! % (2 * n)) - n);
      const dtype = int ? ('i32' as const) : ('f32' as const);
      const x: InputSpec = { shape, domain: int ? 'ints' : 'any', dtype, seed };
      const i: InputSpec = { shape: ishape, domain: 'ints', dtype: 'i32', seed, values: idx };
      const ushape = [...shape.slice(0, axis), ...ishape, ...shape.slice(axis + 1)];
      const u: InputSpec = { shape: ushape, domain: int ? 'ints' : 'any', dtype, seed: seed + 1 };
      return {
        inputs: scatter ? [x, i, u] : [x, i],
        run: (xs: ct.Tensor[]) => (scatter ? ct.scatterAdd(xs[0]!, xs[1]!, xs[2]!, axis) : ct.take(xs[0]!, xs[1]!, axis)),
        tol: scatter && !int ? { rtol: 1e-6, atol: 1e-6 } : EXACT,
        note: `${scatter ? 'scatterAdd' : 'take'} axis ${axis} indices [${idx}]`,
      };
    });
