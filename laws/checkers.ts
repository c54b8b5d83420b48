/**
 * Checkers: the laws packaged as fast-check properties, so they compose with
 * `fc.assert` and `@fast-check/vitest`. A failing law throws a
 * `LawViolation` whose message is the report (law, subject, inputs, expected
 * vs actual, largest error, suspect rule); fast-check adds the shrunk
 * counterexample and the seed to replay it.
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import { describeCase, type PrimCase } from './cases.js';
import { casesFromDomain, type PrimDomain } from './userDomain.js';
import { isFloatDtype, prng, randomLike, type Tolerance } from './numeric.js';
import { PRIMITIVE_LAWS, primitiveLaw, type PrimitiveLaw } from './primitive.js';
import {
  hessianIsSymmetric,
  jvpMatchesFiniteDifferences,
  randomTangents,
  secondOrder,
  mixedSecondOrder,
  transposeLaw,
  vjpMatchesFiniteDifferences,
  type TensorFn,
} from './predicates.js';
import { LawViolation, firstFailure, type LawResult } from './result.js';

/** Throw the report of a failed result (for use inside a property). */
export function assertLaw(r: LawResult, subject?: string, inputs?: string): true {
  if (!r.ok) throw new LawViolation(r, subject, inputs);
  return true;
}

/** Something `checkPrimitive` accepts: a primitive record or an op from `definePrimitive`. */
export type PrimitiveLike = ct.Primitive | { readonly primitive: ct.Primitive; readonly domain?: PrimDomain | unknown };

/** Options of `checkPrimitive`: the cases (or a domain to generate them from) and which laws to check. */
export interface CheckPrimitiveOptions {
  /** Cases to check (default: generated from `domain`, or from the op's declared domain). */
  readonly cases?: fc.Arbitrary<PrimCase>;
  readonly domain?: PrimDomain;
  /** Which laws (default: all of shape, jvp, transpose, linearity, jacobians, second-order). */
  readonly laws?: readonly PrimitiveLaw[];
}

const recordOf = (p: PrimitiveLike): ct.Primitive => ('primitive' in p ? (p.primitive as ct.Primitive) : p);

/**
 * A property checking the laws of a primitive on random cases inside its
 * domain: `fc.assert(checkPrimitive(myOp, { laws: ['jvp', 'transpose'] }))`.
 */
export function checkPrimitive(prim: PrimitiveLike, opts: CheckPrimitiveOptions = {}): fc.IPropertyWithHooks<[PrimCase, number]> {
  const record = recordOf(prim);
  const domain = opts.domain ?? ('primitive' in prim ? (prim.domain as PrimDomain | undefined) : undefined);
  const cases = opts.cases ?? casesFromDomain(domain ?? {});
  const laws = opts.laws ?? PRIMITIVE_LAWS;
  return fc.property(cases, fc.integer(), (c, seed) => {
    for (const law of laws) assertLaw(primitiveLaw(record, c, law, seed), `primitive '${record.name}'`, describeCase(c));
    return true;
  });
}

/** Which mode of differentiation a gradient check uses: forward ('fwd') or reverse ('rev'). */
export type GradMode = 'fwd' | 'rev';

/** Options of `checkGrads`: derivative order, modes, tolerance and finite-difference step. */
export interface CheckGradsOptions {
  /** 1: first derivatives; 2: also second derivatives (default 2). */
  readonly order?: 1 | 2;
  /** Which modes to check (default both). */
  readonly modes?: readonly GradMode[];
  readonly tol?: Partial<Tolerance>;
  readonly eps?: number;
}

/**
 * Like JAX's check_grads: a property over random tangents/cotangents that the
 * derivatives of `f` at `args` (or at arguments drawn from an arbitrary) match
 * finite differences: forward mode (JVP), reverse mode (VJP), the transpose
 * law between them, and with order 2, Hessian-vector products and a symmetric
 * Hessian of <w, f>. Arguments must be f64 for tight tolerances.
 */
export function checkGrads(
  f: TensorFn,
  args: readonly ct.Tensor[] | fc.Arbitrary<readonly ct.Tensor[]>,
  opts: CheckGradsOptions = {},
): fc.IPropertyWithHooks<[readonly ct.Tensor[], number]> {
  const order = opts.order ?? 2;
  const modes = opts.modes ?? ['fwd', 'rev'];
  const lawOpts = { ...(opts.tol ? { tol: opts.tol } : {}), ...(opts.eps ? { eps: opts.eps } : {}) };
  const argsArb = Array.isArray(args) ? fc.constant(args as readonly ct.Tensor[]) : (args as fc.Arbitrary<readonly ct.Tensor[]>);
  return fc.property(argsArb, fc.integer(), (xs, seed) => {
    const rand = prng(seed);
    const inputs = xs.map((x) => `${x.dtype}[${x.shape.join(',')}] ${JSON.stringify(Array.from(x.dataSync()).slice(0, 8))}`).join('; ');
    const r = ct.scope(() => {
      const y = f(...xs);
      const t = randomTangents(xs, rand);
      const c = isFloatDtype(y.dtype) ? randomLike(y, rand) : ct.zerosLike(y);
      const results: LawResult[] = [];
      if (modes.includes('fwd')) results.push(jvpMatchesFiniteDifferences(f, xs, t, lawOpts));
      if (modes.includes('rev')) results.push(vjpMatchesFiniteDifferences(f, xs, t, c, lawOpts));
      if (modes.includes('fwd') && modes.includes('rev')) results.push(transposeLaw(f, xs, t, c, lawOpts));
      if (order === 2 && isFloatDtype(y.dtype)) {
        const w = randomLike(y, rand);
        const s: TensorFn = (...a) => ct.sum(ct.mul(f(...a), w));
        xs.forEach((x, k) => {
          if (x.dtype !== 'f64') return;
          results.push(secondOrder(s, xs, k, randomLike(x, rand), lawOpts));
          results.push(hessianIsSymmetric(s, xs, k, lawOpts));
        });
        results.push(
          mixedSecondOrder(
            s,
            xs,
            xs.map((x) => randomLike(x, rand)),
            lawOpts,
          ),
        );
      }
      return firstFailure(results, 'checkGrads');
    });
    return assertLaw(r, f.name ? `function '${f.name}'` : 'the function', inputs);
  });
}
