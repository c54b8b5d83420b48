/**
 * Losses: values against direct formulas, stability for huge logits, and
 * gradients against finite differences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { checkGrads } from '../../laws/checkers.js';

const f64 = (a: number[] | number[][]) => ct.tensor(a, { dtype: 'f64' });
const v = (t: ct.Tensor) => t.dataSync()[0]!;

describe('losses', () => {
  it('mse is the mean squared difference', () => {
    expect(v(nn.mse(f64([1, 2, 3]), f64([1, 0, 0])))).toBeCloseTo((0 + 4 + 9) / 3, 12);
    expect(() => nn.mse(f64([1, 2]), f64([1, 2, 3]))).toThrow(/mse: prediction \[2\] and target \[3\] differ/);
  });

  it('softmaxCrossEntropy is stable for logits of magnitude 1e4', () => {
    const logits = ct.tensor([
      [1e4, -1e4, 0],
      [-1e4, 1e4, 1e4],
    ]);
    const labels = ct.tensor([0, 2], { dtype: 'i32' });
    const l = v(nn.softmaxCrossEntropy(logits, labels));
    expect(Number.isFinite(l)).toBe(true);
    expect(l).toBeCloseTo(Math.log(2) / 2, 3); // f32: 1e4 + log 2 keeps ~3 decimals
    // gradient = (softmax(logits) − onehot(labels)) / 2: row 0 [1,0,0] − [1,0,0]; row 1 [0,½,½] − [0,0,1]
    const g = ct.grad((z: ct.Tensor) => nn.softmaxCrossEntropy(z, labels))(logits);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 0.25, -0.25]);
  });

  it('sigmoidBinaryCrossEntropy matches the naive formula and stays finite for huge logits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        (z, ys) => {
          const y = z.map((_, i) => (ys[i] ? 1 : 0));
          const naive =
            z.reduce(
              (s, zi, i) => s - (y[i]! * Math.log(1 / (1 + Math.exp(-zi))) + (1 - y[i]!) * Math.log(1 - 1 / (1 + Math.exp(-zi)))),
              0,
            ) / z.length;
          const got = v(nn.sigmoidBinaryCrossEntropy(f64(z), f64(y)));
          expect(got).toBeCloseTo(naive, 6);
          return true;
        },
      ),
      { numRuns: 30 },
    );
    const big = v(nn.sigmoidBinaryCrossEntropy(ct.tensor([1e4, -1e4]), ct.tensor([0, 1])));
    expect(big).toBeCloseTo(1e4, 0);
  });

  it('l2 is (λ/2)·Σw² over the selected leaves', () => {
    const p = { W: f64([1, 2]), b: f64([3]) };
    expect(v(nn.l2(p, 0.5))).toBeCloseTo(0.25 * 14, 12);
    expect(v(nn.l2(p, 0.5, (path) => path === 'W'))).toBeCloseTo(0.25 * 5, 12);
  });

  it('law: loss gradients match finite differences', () => {
    const y = f64([
      [0.2, 0.8, 0],
      [1, 0, 0],
    ]);
    fc.assert(
      checkGrads(
        (z: ct.Tensor) => nn.softmaxCrossEntropy(z, y),
        [
          f64([
            [0.1, -1, 2],
            [0.5, 0.5, -3],
          ]),
        ],
        { order: 1 },
      ),
      { numRuns: 3 },
    );
    fc.assert(
      checkGrads((z: ct.Tensor) => nn.sigmoidBinaryCrossEntropy(z, f64([1, 0, 1])), [f64([0.3, -2, 1.5])], { order: 1 }),
      { numRuns: 3 },
    );
    fc.assert(
      checkGrads((z: ct.Tensor) => nn.mse(z, f64([1, 0, 1])), [f64([0.3, -2, 1.5])], { order: 1 }),
      { numRuns: 3 },
    );
  });
});
