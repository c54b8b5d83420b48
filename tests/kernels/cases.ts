/**
 * Random kernel cases for the reference checks: small shapes (so the naive
 * references stay fast) drawn by fast-check with the suite's fixed seed, and
 * deterministic data from a per-case seed. Values are f32-representable, so
 * the same inputs serve f32, f64 and i32 kernels.
 */
import fc from 'fast-check';
import { prng } from '../../laws/numeric.js';
import { sizeOf, type NdArray } from './reference.js';

export type Values = 'real' | 'ints' | 'small' | 'nan';

/** n values: real [-3, 3], small [-1, 1], ints {-2, ..., 2} (ties), nan: ints with some NaNs. */
export function valuesOf(n: number, seed: number, kind: Values): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => {
    const u = r();
    switch (kind) {
      case 'real':
        return Math.fround(u * 6 - 3);
      case 'small':
        return Math.fround(u * 2 - 1);
      case 'ints':
        return Math.floor(u * 5) - 2;
      case 'nan':
        return r() < 0.15 ? NaN : Math.floor(u * 5) - 2;
      default:
        throw new Error(`valuesOf: unknown kind '${kind satisfies never}'`);
    }
  });
}

export const array = (shape: readonly number[], seed: number, kind: Values = 'real'): NdArray => ({
  shape: [...shape],
  data: valuesOf(sizeOf(shape), seed, kind),
});

export const seedArb = fc.integer({ min: 1, max: 2 ** 30 });
export const dimArb = fc.integer({ min: 1, max: 5 });
/** Rank minRank..maxRank, dims 1-5 (at most 5⁴ = 625 elements). */
export const shapeArb = (maxRank = 4, minRank = 0): fc.Arbitrary<number[]> => fc.array(dimArb, { minLength: minRank, maxLength: maxRank });
/** Like shapeArb, with some dims 0 (empty tensors). */
export const shapeWithZerosArb = (maxRank = 3, minRank = 0): fc.Arbitrary<number[]> =>
  fc.array(fc.oneof({ arbitrary: dimArb, weight: 4 }, { arbitrary: fc.constant(0), weight: 1 }), {
    minLength: minRank,
    maxLength: maxRank,
  });

/** n shapes that broadcast together: each drops some leading dims of a common shape and sets some dims to 1. */
export const broadcastShapesArb = (n: number): fc.Arbitrary<number[][]> =>
  fc
    .tuple(
      shapeArb(4),
      fc.array(fc.tuple(fc.nat(4), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })), { minLength: n, maxLength: n }),
    )
    .map(([out, specs]) => specs.map(([drop, ones]) => out.slice(Math.min(drop, out.length)).map((d, i) => (ones[i] ? 1 : d))));

/** A permutation of 0..rank-1. */
export const permArb = (rank: number): fc.Arbitrary<number[]> =>
  fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank });

/** A shape with a permutation of its axes. */
export const transposeArb = shapeArb(4, 1).chain((shape) =>
  fc.record({ shape: fc.constant(shape), perm: permArb(shape.length), seed: seedArb }),
);

/** A shape with a window (begin, size) inside it; empty windows included. */
export const sliceArb = shapeArb(4, 1).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    window: fc.tuple(
      ...shape.map((d) => fc.integer({ min: 0, max: d }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 0, max: d - b })))),
    ),
    seed: seedArb,
  }),
);

/** A shape with [before, after] widths 0-2 per axis. */
export const padArb = shapeArb(3, 1).chain((shape) =>
  fc.record({ shape: fc.constant(shape), widths: fc.tuple(...shape.map(() => fc.tuple(fc.nat(2), fc.nat(2)))), seed: seedArb }),
);

/** 1-3 shapes equal but along `axis`, where they have sizes 0-4. */
export const concatArb = shapeArb(3, 1).chain((shape) =>
  fc.integer({ min: 0, max: shape.length - 1 }).chain((axis) =>
    fc.record({
      shapes: fc
        .array(fc.nat(4), { minLength: 1, maxLength: 3 })
        .map((sizes) => sizes.map((s) => shape.map((d, k) => (k === axis ? s : d)))),
      axis: fc.constant(axis),
      seed: seedArb,
    }),
  ),
);

/** A shape with a subset of its axes (sorted; possibly none or all). */
export const reduceArb = (kind: Values = 'real') =>
  shapeArb(4).chain((shape) =>
    fc.record({ shape: fc.constant(shape), axes: fc.subarray([...shape.keys()]), seed: seedArb, kind: fc.constant(kind) }),
  );

/** A shape of rank ≥ 1 with one axis, and values with ties (and NaNs with `nan`). */
export const argmaxArb = (kind: Values = 'ints') =>
  shapeArb(4, 1).chain((shape) =>
    fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }), seed: seedArb, kind: fc.constant(kind) }),
  );

/** Strides 0-3 (0: a broadcast read) and an offset 0-3 over a shape, and the source length they need. */
export const stridedArb = shapeWithZerosArb(4).chain((shape) =>
  fc
    .record({ shape: fc.constant(shape), strides: fc.tuple(...shape.map(() => fc.nat(3))), offset: fc.nat(3), seed: seedArb })
    .map((c) => ({ ...c, span: c.offset + shape.reduce((s, d, k) => s + Math.max(0, d - 1) * c.strides[k]!, 0) + 1 })),
);

/**
 * Matmul operands a [..., m, k] × b [..., k, n] with batch dims broadcast
 * (either side may drop leading batch dims or have 1s). `sizes` are the m and
 * n to draw from (chosen to fall on both sides of a kernel's blocking).
 */
export const matmulArb = (sizes: readonly number[], ks: readonly number[]) =>
  fc
    .record({
      m: fc.constantFrom(...sizes),
      k: fc.constantFrom(...ks),
      n: fc.constantFrom(...sizes),
      batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      drop: fc.tuple(fc.nat(2), fc.nat(2)),
      ones: fc.tuple(fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), fc.array(fc.boolean(), { minLength: 2, maxLength: 2 })),
      sa: seedArb,
      sb: seedArb,
    })
    .map(({ m, k, n, batch, drop, ones, sa, sb }) => {
      const side = (q: 0 | 1) => batch.slice(Math.min(drop[q], batch.length)).map((d, i) => (ones[q][i] ? 1 : d));
      return { aShape: [...side(0), m, k], bShape: [...side(1), k, n], sa, sb };
    });

/** First index where actual and expected differ by more than atol + rtol·|expected| (NaN equals NaN), or -1. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 0, atol = 0): number {
  if (actual.length !== expected.length) return 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (Number.isNaN(a) && Number.isNaN(e)) continue;
      return i;
    }
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) return i;
  }
  return -1;
}

/** Fails (with the first differing element and the case) unless `actual` matches the reference `expected`. */
export function expectMatches(
  label: string,
  actual: { shape: readonly number[]; data: ArrayLike<number> },
  expected: NdArray,
  rtol = 0,
  atol = 0,
): void {
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    throw new Error(`${label}: shape [${actual.shape}] but the reference has [${expected.shape}]`);
  }
  const i = firstMismatch(actual.data, expected.data, rtol, atol);
  if (i >= 0) {
    throw new Error(
      actual.data.length !== expected.data.length
        ? `${label}: ${actual.data.length} elements but the reference has ${expected.data.length}`
        : `${label}: element ${i} of [${expected.shape}] is ${actual.data[i]} but the reference says ${expected.data[i]} (rtol ` +
            `${rtol}, atol ${atol})`,
    );
  }
}
