/**
 * The domain table: for every built-in primitive, an arbitrary of law cases
 * whose inputs lie inside the primitive's declared domain and whose
 * parameters are valid. log/sqrt/reciprocal/pow base: positive, away from 0;
 * relu/abs/sign: away from the kink at 0; maximum/minimum/comparisons: no
 * ties (grid vs offset grid); max/argmax: distinct values; where: the
 * condition is held fixed; comparisons/argmax/sign/stopGradient/cast to i32:
 * the derivative is zero by design (checked).
 */
import fc from 'fast-check';
import type { PrimName } from '../src/index.js';
import {
  axesOf,
  broadcastPair,
  broadcastTriple,
  distinctTensorOf,
  permutation,
  shape,
  tensorOf,
  type ShapeOptions,
  type ValueDomain,
} from './arbitraries.js';
import type { PrimCase, TensorSpec } from './cases.js';
import { conv2dCase, conv2dFilterGradCase, conv2dInputGradCase } from './convDomain.js';

const NONE = {} as Record<string, never>;

const unaryCase = (domain: ValueDomain, extra: Partial<PrimCase> = {}, opts: ShapeOptions = {}): fc.Arbitrary<PrimCase> =>
  shape(opts).chain((s) => tensorOf(s, domain).map((x) => ({ inputs: [x], params: NONE, ...extra })));

const binaryCase = (da: ValueDomain, db: ValueDomain, extra: Partial<PrimCase> = {}): fc.Arbitrary<PrimCase> =>
  broadcastPair().chain(({ a, b }) =>
    fc.tuple(tensorOf(a, da), tensorOf(b, db)).map(([x, y]) => ({ inputs: [x, y], params: NONE, ...extra })),
  );

const zero = { zeroDerivative: true, fdIsZero: true } as const;

/** A shape with the same number of elements, regrouped. */
const regroup = (s: readonly number[], seed: number): number[] => {
  const factors: number[] = [];
  for (const d of s) {
    let v = d;
    for (const p of [2, 3, 5, 7])
      while (v % p === 0 && v > 1) {
        factors.push(p);
        v /= p;
      }
    if (v > 1) factors.push(v);
  }
  let r = seed >>> 0;
  const next = () => {
    r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    return r >>> 8;
  };
  const rank = Math.min(4, (next() % 4) + (factors.length ? 1 : 0));
  const out = new Array<number>(rank).fill(1);
  for (const f of factors) if (rank > 0) out[next() % rank]! *= f;
  return rank === 0 ? [] : out;
};

const sliceCase = shape({ minRank: 1 }).chain((s) =>
  fc
    .tuple(
      tensorOf(s),
      fc.tuple(
        ...s.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((a) => fc.integer({ min: 1, max: d - a }).map((n) => [a, n] as const))),
      ),
    )
    .map(([x, sn]) => ({ inputs: [x], params: { starts: sn.map((p) => p[0]), sizes: sn.map((p) => p[1]) } })),
);

const padCase = shape({ maxSize: 12 }).chain((s) =>
  fc
    .tuple(
      tensorOf(s),
      fc.array(fc.nat({ max: 2 }), { minLength: s.length, maxLength: s.length }),
      fc.array(fc.nat({ max: 2 }), { minLength: s.length, maxLength: s.length }),
    )
    .map(([x, lo, hi]) => ({ inputs: [x], params: { lo, hi } })),
);

const concatCase = fc
  .record({
    s: shape({ minRank: 1, maxSize: 12 }),
    axisSeed: fc.nat(),
    extra: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }),
  })
  .chain(({ s, axisSeed, extra }) => {
    const axis = axisSeed % s.length;
    const shapes = [s, ...extra.map((d) => s.map((v, i) => (i === axis ? d : v)))];
    return fc.tuple(...shapes.map((sh) => tensorOf(sh))).map((xs) => ({ inputs: xs as TensorSpec[], params: { axis } }));
  });

const matmulCase = fc
  .record({
    batch: broadcastPair({ maxRank: 2, maxSize: 4 }),
    m: fc.integer({ min: 1, max: 3 }),
    k: fc.integer({ min: 1, max: 3 }),
    n: fc.integer({ min: 1, max: 3 }),
  })
  .chain(({ batch, m, k, n }) =>
    fc.tuple(tensorOf([...batch.a, m, k]), tensorOf([...batch.b, k, n])).map(([a, b]) => ({ inputs: [a, b], params: NONE })),
  );

const reduceCase = (distinct: boolean) =>
  shape().chain((s) =>
    fc.tuple(distinct ? distinctTensorOf(s) : tensorOf(s), axesOf(s.length)).map(([x, axes]) => ({ inputs: [x], params: { axes } })),
  );

const castCase = fc.oneof(
  // f64 -> f32: the output is f32, so finite differences use a larger step and f32 tolerances
  unaryCase('real', { params: { dtype: 'f32' } as never, eps: 1e-2 }),
  shape().chain((s) => tensorOf(s, 'real', 'f32').map((x) => ({ inputs: [x], params: { dtype: 'f64' }, eps: 1e-2 }))),
  unaryCase('awayFromZero', { params: { dtype: 'i32' } as never, zeroDerivative: true }),
);

/**
 * take / scatterAdd: x of rank 1-3, an axis, i32 indices of rank 0-2 within [-n, n) (negatives and duplicates
 * included); scatterAdd's updates are x.shape[:axis] + indices.shape + x.shape[axis+1:]. The indices carry no derivative.
 */
const indexCase = (withUpdates: boolean): fc.Arbitrary<PrimCase> =>
  fc
    .record({ s: shape({ minRank: 1, maxRank: 3, maxSize: 12 }), axisSeed: fc.nat(), is: shape({ maxRank: 2, maxSize: 6 }) })
    .chain(({ s, axisSeed, is }) => {
      const axis = axisSeed % s.length;
      const n = s[axis]!;
      const m = is.reduce((a, b) => a * b, 1);
      const us = [...s.slice(0, axis), ...is, ...s.slice(axis + 1)];
      return fc
        .tuple(tensorOf(s), fc.array(fc.integer({ min: -n, max: n - 1 }), { minLength: m, maxLength: m }), tensorOf(us))
        .map(([x, idx, u]) => ({
          inputs: [x, { shape: is, values: idx, dtype: 'i32' as const }, ...(withUpdates ? [u] : [])],
          params: { axis },
        }));
    });

/** Cases for every built-in primitive. */
export const builtinCases: { readonly [P in PrimName]: fc.Arbitrary<PrimCase> } = {
  neg: unaryCase('real'),
  exp: unaryCase('real'),
  log: unaryCase('positive'),
  sin: unaryCase('real'),
  cos: unaryCase('real'),
  tanh: unaryCase('real'),
  sigmoid: unaryCase('real'),
  relu: unaryCase('awayFromZero'),
  sqrt: unaryCase('positive'),
  square: unaryCase('real'),
  abs: unaryCase('awayFromZero'),
  reciprocal: unaryCase('positive'),
  sign: unaryCase('awayFromZero', zero),
  erf: unaryCase('real'),
  erfc: unaryCase('real'),
  log1p: unaryCase({ min: -0.25, max: 2 }),
  expm1: unaryCase('real'),
  softplus: unaryCase('real'),
  add: binaryCase('real', 'real'),
  sub: binaryCase('real', 'real'),
  mul: binaryCase('real', 'real'),
  div: binaryCase('real', 'awayFromZero'),
  pow: binaryCase({ min: 0.5, max: 2 }, { min: -2, max: 2 }),
  logaddexp: binaryCase('real', 'real'),
  maximum: binaryCase('grid', 'gridOffset'),
  minimum: binaryCase('grid', 'gridOffset'),
  greater: binaryCase('grid', 'gridOffset', zero),
  greaterEqual: binaryCase('grid', 'gridOffset', zero),
  less: binaryCase('grid', 'gridOffset', zero),
  lessEqual: binaryCase('grid', 'gridOffset', zero),
  equal: binaryCase('grid', 'gridOffset', zero),
  notEqual: binaryCase('grid', 'gridOffset', zero),
  where: broadcastTriple().chain(([c, a, b]) =>
    fc.tuple(tensorOf(c!, { min: 0, max: 1 }), tensorOf(a!), tensorOf(b!)).map(([cs, x, y]) => ({
      inputs: [{ ...cs, values: cs.values.map((v) => (v < 0.5 ? 0 : 1)) }, x, y],
      params: NONE,
      diff: [false, true, true],
    })),
  ),
  matmul: matmulCase,
  conv2d: conv2dCase,
  conv2dInputGrad: conv2dInputGradCase,
  conv2dFilterGrad: conv2dFilterGradCase,
  stopGradient: unaryCase('real', { zeroDerivative: true, fdIsZero: false }),
  reshape: fc.tuple(shape(), fc.nat()).chain(([s, seed]) => tensorOf(s).map((x) => ({ inputs: [x], params: { shape: regroup(s, seed) } }))),
  broadcastTo: broadcastPair().chain(({ a, out }) => tensorOf(a).map((x) => ({ inputs: [x], params: { shape: out } }))),
  transpose: shape().chain((s) => fc.tuple(tensorOf(s), permutation(s.length)).map(([x, perm]) => ({ inputs: [x], params: { perm } }))),
  slice: sliceCase,
  pad: padCase,
  concat: concatCase,
  cast: castCase,
  sum: reduceCase(false),
  max: reduceCase(true),
  argmax: shape({ minRank: 1 }).chain((s) =>
    fc
      .tuple(distinctTensorOf(s), fc.nat({ max: s.length - 1 }))
      .map(([x, axis]) => ({ inputs: [x], params: { axis }, zeroDerivative: true, fdIsZero: false })),
  ),
  take: indexCase(false),
  scatterAdd: indexCase(true),
  cumsum: shape({ minRank: 1 }).chain((s) =>
    fc
      .tuple(tensorOf(s), fc.nat({ max: s.length - 1 }), fc.boolean())
      .map(([x, axis, reverse]) => ({ inputs: [x], params: { axis, reverse } })),
  ),
  // distinct values: no ties, so the order (and its zero derivative) holds near the case
  argsort: shape({ minRank: 1 }).chain((s) =>
    fc
      .tuple(distinctTensorOf(s), fc.nat({ max: s.length - 1 }))
      .map(([x, axis]) => ({ inputs: [x], params: { axis }, zeroDerivative: true, fdIsZero: false })),
  ),
};
