/**
 * fast-check arbitraries for the laws: shapes (rank 0-4, small dims),
 * broadcast-compatible shape pairs, tensors with a value domain (positive,
 * away from kinks and ties, bounded), and pytrees of tensors. Tensors are
 * generated as plain data (`TensorSpec`), so counterexamples print readably.
 */
import fc from 'fast-check';
import type { DType } from '../src/index.js';
import { specTensor, type TensorSpec } from './cases.js';
import type * as ct from '../src/index.js';

/** Bounds of generated shapes: rank, dimension sizes and number of elements. */
export interface ShapeOptions {
  readonly minRank?: number;
  readonly maxRank?: number;
  readonly minDim?: number;
  readonly maxDim?: number;
  /** Largest number of elements (default 24: keeps Jacobians and Hessians cheap). */
  readonly maxSize?: number;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A shape: rank in [minRank, maxRank] (default 0-4), dims in [minDim, maxDim] (default 1-3). */
export function shape(opts: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 4, minDim = 1, maxDim = 3, maxSize = 24 } = opts;
  return fc
    .array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank })
    .map((s) => {
      // shrink dims (from the front) until the size fits: keeps every rank reachable
      const r = [...s];
      for (let i = 0; i < r.length && size(r) > maxSize; i++) r[i] = Math.max(minDim, 1);
      return r;
    })
    .filter((s) => size(s) <= maxSize);
}

/** Derive a shape that broadcasts to `s`: drop some leading axes, set some axes to 1. */
function shrinkTo(s: readonly number[], drop: number, ones: readonly boolean[]): number[] {
  const d = Math.min(drop, s.length);
  return s.slice(d).map((v, i) => (ones[i] ? 1 : v));
}

/**
 * Two shapes that broadcast together (numpy rules), with the broadcast result.
 * A quarter of the pairs are equal shapes; otherwise a, b or both are reduced.
 */
export function broadcastPair(opts: ShapeOptions = {}): fc.Arbitrary<{ a: number[]; b: number[]; out: number[] }> {
  return fc
    .record({
      s: shape(opts),
      mode: fc.constantFrom('same', 'a', 'b', 'both'),
      dropA: fc.nat({ max: 4 }),
      dropB: fc.nat({ max: 4 }),
      onesA: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      onesB: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    })
    .map(({ s, mode, dropA, dropB, onesA, onesB }) => {
      if (mode === 'same') return { a: [...s], b: [...s], out: [...s] };
      const a = mode === 'b' ? [...s] : shrinkTo(s, dropA, onesA);
      const b = mode === 'a' ? [...s] : shrinkTo(s, dropB, onesB);
      return { a, b, out: broadcastShapes(a, b) };
    });
}

/** Three mutually broadcastable shapes (for where). */
export function broadcastTriple(opts: ShapeOptions = {}): fc.Arbitrary<number[][]> {
  return fc
    .record({
      s: shape(opts),
      drops: fc.array(fc.nat({ max: 4 }), { minLength: 3, maxLength: 3 }),
      ones: fc.array(fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), { minLength: 3, maxLength: 3 }),
    })
    .map(({ s, drops, ones }) => drops.map((d, i) => shrinkTo(s, d, ones[i]!)));
}

/** The numpy broadcast of shapes (no compatibility check: the generators only make compatible ones). */
export function broadcastShapes(...shapes: readonly (readonly number[])[]): number[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - r + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

/**
 * Value domains: `real` [-2, 2]; `unit` [-1, 1]; `positive` [0.5, 3];
 * `awayFromZero` ±[0.2, 2] (kinks of relu/abs/sign at 0); `grid` / `gridOffset`
 * (multiples of 0.5 / plus 0.25, jittered by < 0.05: a grid value and a
 * gridOffset value differ by > 0.15, so maximum/minimum/comparisons see no
 * ties); or explicit bounds.
 */
export type ValueDomain =
  | 'real'
  | 'unit'
  | 'positive'
  | 'awayFromZero'
  | 'grid'
  | 'gridOffset'
  | { readonly min: number; readonly max: number };

/**
 * Values on a 1e-3 grid in [min, max]: counterexamples shrink to short
 * decimals (0.5, -1.25) instead of denormals, which makes reports readable.
 */
const dbl = (min: number, max: number) => fc.integer({ min: Math.ceil(min * 1000), max: Math.floor(max * 1000) }).map((i) => i / 1000);

/** An arbitrary of numbers in a value domain ('real' [-2, 2], 'unit' [-1, 1], 'positive' [0.5, 3], ... or `{ min, max }`). */
export function value(domain: ValueDomain = 'real'): fc.Arbitrary<number> {
  if (typeof domain === 'object') return dbl(domain.min, domain.max);
  switch (domain) {
    case 'real':
      return dbl(-2, 2);
    case 'unit':
      return dbl(-1, 1);
    case 'positive':
      return dbl(0.5, 3);
    case 'awayFromZero':
      return fc.tuple(fc.boolean(), dbl(0.2, 2)).map(([neg, v]) => (neg ? -v : v));
    case 'grid':
      return fc.tuple(fc.integer({ min: -4, max: 4 }), dbl(-0.04, 0.04)).map(([i, j]) => 0.5 * i + j);
    case 'gridOffset':
      return fc.tuple(fc.integer({ min: -4, max: 4 }), dbl(-0.04, 0.04)).map(([i, j]) => 0.5 * i + 0.25 + j);
  }
}

/** A tensor (as data) of the given shape with values in a domain. */
export function tensorOf(s: readonly number[], domain: ValueDomain = 'real', dtype: DType = 'f64'): fc.Arbitrary<TensorSpec> {
  const n = size(s);
  const v = dtype === 'i32' ? fc.integer({ min: -3, max: 3 }) : value(domain);
  return fc.array(v, { minLength: n, maxLength: n }).map((values) => ({ shape: [...s], values, ...(dtype === 'f64' ? {} : { dtype }) }));
}

/** A tensor (as data) whose values are pairwise distinct (gaps ≥ 0.2): no ties for max/argmax. */
export function distinctTensorOf(s: readonly number[]): fc.Arbitrary<TensorSpec> {
  const n = size(s);
  return fc
    .tuple(
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
      fc.array(dbl(-0.05, 0.05), { minLength: n, maxLength: n }),
    )
    .map(([keys, jitter]) => {
      const order = keys.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const values = new Array<number>(n);
      order.forEach(([, i], rank) => {
        values[i] = 0.3 * (rank - n / 2) + jitter[i]!;
      });
      return { shape: [...s], values };
    });
}

/** A tensor (as data) with a random shape and values in a domain. */
export function tensor(opts: ShapeOptions & { domain?: ValueDomain; dtype?: DType } = {}): fc.Arbitrary<TensorSpec> {
  return shape(opts).chain((s) => tensorOf(s, opts.domain, opts.dtype));
}

/** A concrete tensor (created on the default backend) with a random shape and domain. */
export function concreteTensor(opts: ShapeOptions & { domain?: ValueDomain; dtype?: DType } = {}): fc.Arbitrary<ct.Tensor> {
  return tensor(opts).map(specTensor);
}

/** A pytree of tensors (as data): nested arrays and records, up to `depth` levels. */
export type SpecTree = TensorSpec | readonly SpecTree[] | { readonly [k: string]: SpecTree };

/** An arbitrary pytree of tensor specs: leaves, arrays and records nested up to `depth` (default 2). */
export function pytree(opts: ShapeOptions & { domain?: ValueDomain; depth?: number } = {}): fc.Arbitrary<SpecTree> {
  const leaf = tensor(opts);
  const { tree } = fc.letrec<{ tree: SpecTree }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', maxDepth: opts.depth ?? 2, withCrossShrink: true },
      leaf,
      fc.array(tie('tree'), { minLength: 1, maxLength: 3 }),
      fc.dictionary(fc.constantFrom('w', 'b', 'gamma', 'beta'), tie('tree'), { minKeys: 1, maxKeys: 3 }),
    ),
  }));
  return tree;
}

/** Turn a pytree of tensor specs into the same tree of tensors. */
export function treeToTensors(t: SpecTree): unknown {
  if (Array.isArray(t)) return t.map(treeToTensors);
  if ('values' in t && 'shape' in t && Array.isArray((t as TensorSpec).values)) return specTensor(t as TensorSpec);
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, treeToTensors(v as SpecTree)]));
}

/** A permutation of 0..n-1. */
export function permutation(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }).map((keys) =>
    keys
      .map((k, i) => [k, i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map(([, i]) => i),
  );
}

/** A non-empty subset of axes of a rank-r shape, sorted (empty when r = 0). */
export function axesOf(r: number): fc.Arbitrary<number[]> {
  if (r === 0) return fc.constant([]);
  return fc.subarray(
    Array.from({ length: r }, (_, i) => i),
    { minLength: 1 },
  );
}
