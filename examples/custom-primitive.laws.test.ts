/**
 * Example: checking a user primitive with the law kit in your own vitest
 * suite. In your project: `import { checkPrimitive, checkGrads, arb } from 'cotangent/laws'`.
 * (Run here by tests/laws/examples.test.ts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../src/index.js';
import { arb, checkGrads, checkPrimitive } from '../laws/index.js';
import { logcosh, logcoshLoss } from './custom-primitive.js';

describe('example.logcosh', () => {
  it('passes every primitive law (shape, JVP vs finite differences, transpose, linearity, jacfwd = jacrev, second order)', () => {
    fc.assert(checkPrimitive(logcosh), { numRuns: 30 });
  });

  it('a loss built on it passes checkGrads, on random shapes and values', () => {
    const pairs = arb.shape({ maxSize: 12 }).chain((s) => fc.tuple(arb.tensorOf(s), arb.tensorOf(s)));
    fc.assert(
      checkGrads(
        (p, y) => logcoshLoss(p, y),
        pairs.map(([p, y]) => [
          ct.tensor(Float64Array.from(p.values), { shape: p.shape, dtype: 'f64' }),
          ct.tensor(Float64Array.from(y.values), { shape: y.shape, dtype: 'f64' }),
        ]),
      ),
      { numRuns: 15 },
    );
  });

  it('is stable where the naive formula overflows', () => {
    const g = ct.grad((x: ct.Tensor) => ct.sum(logcosh(x)))(ct.tensor([1000, -1000], { dtype: 'f64' }));
    expect(Array.from(g.dataSync())).toEqual([1, -1]);
  });
});
