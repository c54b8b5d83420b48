/**
 * Declared domains for user primitives: how many inputs, which values
 * (positive, away from kinks, bounded, ...), how the input shapes relate
 * (equal, broadcasting, or an arbitrary of shape lists) and the parameters.
 * `casesFromDomain` turns a declaration into an arbitrary of law cases.
 */
import fc from 'fast-check';
import { broadcastPair, broadcastTriple, shape, tensorOf, type ShapeOptions, type ValueDomain } from './arbitraries.js';
import type { PrimCase } from './cases.js';
import type { Tolerance } from './numeric.js';

/** The declared input domain of a primitive: arity, values per input, how input shapes relate and the parameters. */
export interface PrimDomain<P = unknown> {
  /** Number of inputs (default 1). */
  readonly arity?: number;
  /** Value domain of every input, or one per input (default 'real': [-2, 2]). */
  readonly values?: ValueDomain | readonly ValueDomain[];
  /** 'same' shapes (default), numpy 'broadcast' pairs/triples, or an arbitrary of shape lists. */
  readonly shapes?: 'same' | 'broadcast' | fc.Arbitrary<readonly (readonly number[])[]>;
  /** Limits for generated shapes (rank 0-4, dims 1-3, at most 24 elements by default). */
  readonly shape?: ShapeOptions;
  /** Parameters: a fixed value or an arbitrary (default {}). */
  readonly params?: P | fc.Arbitrary<P>;
  /** Which inputs are differentiated (default all). */
  readonly diff?: readonly boolean[];
  /** The derivative is zero by design. */
  readonly zeroDerivative?: boolean;
  readonly tol?: Partial<Tolerance>;
  readonly eps?: number;
}

const isArbitrary = (x: unknown): x is fc.Arbitrary<unknown> => x instanceof fc.Arbitrary;

function shapesFor(d: PrimDomain): fc.Arbitrary<readonly (readonly number[])[]> {
  const n = d.arity ?? 1;
  if (isArbitrary(d.shapes)) return d.shapes;
  if (d.shapes === 'broadcast' && n === 2) return broadcastPair(d.shape).map(({ a, b }) => [a, b]);
  if (d.shapes === 'broadcast' && n === 3) return broadcastTriple(d.shape);
  return shape(d.shape).map((s) => Array.from({ length: n }, () => s));
}

/** An arbitrary of law cases for a primitive with the declared domain. */
export function casesFromDomain<P>(d: PrimDomain<P>): fc.Arbitrary<PrimCase<P>> {
  const params: fc.Arbitrary<P> = isArbitrary(d.params) ? (d.params as fc.Arbitrary<P>) : fc.constant((d.params ?? {}) as P);
  const domainOf = (i: number): ValueDomain =>
    Array.isArray(d.values) ? (d.values[i] ?? 'real') : ((d.values as ValueDomain | undefined) ?? 'real');
  return fc.tuple(shapesFor(d), params).chain(([shapes, p]) =>
    fc.tuple(...shapes.map((s, i) => tensorOf(s, domainOf(i)))).map((inputs) => ({
      inputs,
      params: p,
      ...(d.diff ? { diff: d.diff } : {}),
      ...(d.zeroDerivative ? { zeroDerivative: true } : {}),
      ...(d.tol ? { tol: d.tol } : {}),
      ...(d.eps ? { eps: d.eps } : {}),
    })),
  );
}
