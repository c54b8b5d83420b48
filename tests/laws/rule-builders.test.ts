/**
 * The rule builders (elementwiseRules, linearRules, zeroDerivativeRules) used
 * by a user primitive: one declared derivative gives both rules, and the
 * result passes every law of the kit — and a wrong declared partial is caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { arb, checkPrimitive, type PrimDomain } from '../../laws/index.js';

const same = (xs: readonly { shape: readonly number[]; dtype: ct.DType }[]) => ({ shape: xs[0]!.shape, dtype: xs[0]!.dtype });

// softsign(x) = x / (1 + |x|);  d softsign x = 1 / (1 + |x|)² · dx
const softsignPartial: ct.PartialDerivative = ([x]) => ct.reciprocal(ct.square(ct.add(1, ct.abs(x!))));
const softsign = ct.definePrimitive({
  name: 'test.rules.softsign',
  shape: same,
  cpu: ([x]) => x!.data.map((v) => v / (1 + Math.abs(v))),
  ...ct.elementwiseRules(softsignPartial),
  domain: { values: 'awayFromZero' } satisfies PrimDomain,
});

// a·b + a, broadcasting: ∂/∂a = b + 1, ∂/∂b = a
const mulAdd = ct.definePrimitive({
  name: 'test.rules.mulAdd',
  shape: ([a, b]) => ({ shape: arb.broadcastShapes(a!.shape, b!.shape), dtype: a!.dtype }),
  cpu: ([a, b], _p, out) =>
    ct
      .add(
        ct.mul(ct.tensor(a!.data, { shape: [...a!.shape], dtype: 'f64' }), ct.tensor(b!.data, { shape: [...b!.shape], dtype: 'f64' })),
        ct.tensor(a!.data, { shape: [...a!.shape], dtype: 'f64' }),
      )
      .dataSync()
      .slice(
        0,
        out.shape.reduce((x, y) => x * y, 1),
      ) as Float64Array,
  ...ct.elementwiseRules(
    ([, b]) => ct.add(b!, 1),
    ([a]) => a!,
  ),
  domain: { arity: 2, shapes: 'broadcast', values: ['real', 'real'] } satisfies PrimDomain,
});

// reverse the last axis: linear, its own transpose
const reverse: ct.DefinedPrimitive<Record<string, never>, PrimDomain> = ct.definePrimitive({
  name: 'test.rules.reverse',
  shape: same,
  cpu: ([x]) => {
    const n = x!.shape[x!.shape.length - 1] ?? 1;
    const out = x!.data.slice();
    for (let i = 0; i < out.length; i++) out[i] = x!.data[i - (i % n) + (n - 1 - (i % n))]!;
    return out;
  },
  ...ct.linearRules<Record<string, never>>(
    ([t]) => reverse(t!),
    (c) => [reverse(c)],
  ),
  domain: { values: 'real' } satisfies PrimDomain,
});

describe('rule builders in user primitives', () => {
  it('elementwise (unary, binary with broadcasting) and linear rules pass every law', () => {
    fc.assert(checkPrimitive(softsign), { numRuns: 25 });
    fc.assert(checkPrimitive(mulAdd), { numRuns: 25 });
    fc.assert(checkPrimitive(reverse), { numRuns: 25 });
  });

  it('both rules come from the one declaration', () => {
    const x = ct.tensor([0.5, -2], { dtype: 'f64' });
    const expected = [1 / 1.5 ** 2, 1 / 9];
    expect(
      Array.from(
        ct
          .grad((v: ct.Tensor) => ct.sum(softsign(v)))(x)
          .dataSync(),
      ),
    ).toEqual(expected);
    expect(Array.from(ct.jvp(softsign, [x], [ct.onesLike(x)])[1].dataSync())).toEqual(expected);
  });

  it('a wrong declared partial is caught by the laws', () => {
    const wrong = ct.definePrimitive({
      name: 'test.rules.softsignWrong',
      shape: same,
      cpu: ([x]) => x!.data.map((v) => v / (1 + Math.abs(v))),
      ...ct.elementwiseRules(([x]) => ct.reciprocal(ct.add(1, ct.abs(x!)))), // forgot the square
      domain: { values: 'awayFromZero' } satisfies PrimDomain,
    });
    expect(fc.check(checkPrimitive(wrong), { numRuns: 25 }).failed).toBe(true);
  });
});
