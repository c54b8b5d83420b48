/**
 * Silent wrong answers that are now correct: NaN propagates through relu,
 * maximum, minimum, max and clip (as in JAX and PyTorch); d/dx x^0 = 0 also
 * at x = 0; concatenating scalars is a clear error.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const values = (t: ct.Tensor): number[] => Array.from(t.dataSync());

describe('NaN propagates (CPU, f32 and f64)', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    it(`relu, maximum, minimum, max, clip (${dtype})`, () => {
      const x = ct.tensor([NaN, -1, 2], { dtype });
      expect(values(ct.relu(x))).toEqual([NaN, 0, 2]);
      expect(values(ct.maximum(x, 0))).toEqual([NaN, 0, 2]);
      expect(values(ct.maximum(0, x))).toEqual([NaN, 0, 2]);
      expect(values(ct.minimum(x, 0))).toEqual([NaN, -1, 0]);
      expect(values(ct.minimum(0, x))).toEqual([NaN, -1, 0]);
      expect(values(ct.max(x))).toEqual([NaN]);
      expect(values(ct.max(ct.tensor([1, 2, NaN], { dtype })))).toEqual([NaN]);
      expect(values(ct.clip(x, -0.5, 1))).toEqual([NaN, -0.5, 1]);
    });
  }

  it('a NaN input makes the loss of a relu network NaN (not a finite number)', () => {
    const w = ct.tensor([
      [1, -1],
      [0.5, 2],
    ]);
    const x = ct.tensor([[NaN, NaN]]);
    const loss = ct.sum(ct.relu(ct.matmul(x, w)));
    expect(Number.isNaN(loss.dataSync()[0])).toBe(true);
  });
});

describe('pow at 0', () => {
  it('d/dx x^0 = 0 at x = 0 (was NaN), and elsewhere', () => {
    const g = ct.grad((x: ct.Tensor) => ct.sum(ct.pow(x, 0)));
    expect(values(g(ct.tensor([0, 2, -3], { dtype: 'f64' }))).map(Math.abs)).toEqual([0, 0, 0]);
  });
  it('d/dx x^b keeps its value b·x^(b-1) away from the special point', () => {
    const g = ct.grad((x: ct.Tensor) => ct.sum(ct.pow(x, 3)));
    expect(values(g(ct.tensor([0, 2], { dtype: 'f64' })))).toEqual([0, 12]);
  });
  it('d/db a^b = a^b ln a, also at b = 0', () => {
    const g = ct.grad((b: ct.Tensor) => ct.sum(ct.pow(ct.tensor([2], { dtype: 'f64' }), b)));
    expect(values(g(ct.tensor([0], { dtype: 'f64' })))[0]).toBeCloseTo(Math.log(2), 12);
  });
});

describe('concat', () => {
  it('of scalars is an error naming the op and the shapes', () => {
    expect(() => ct.concat([ct.scalar(1), ct.scalar(2)])).toThrow(
      /concat: cannot concatenate rank-0 tensors \(scalars\): f32\[\], f32\[\]; use stack\(\)/,
    );
  });
  it('stack of scalars works', () => {
    expect(values(ct.stack([ct.scalar(1), ct.scalar(2)]))).toEqual([1, 2]);
  });
});

describe('the per-tensor limit also holds for op outputs', () => {
  it('an outer product past 2 GiB is refused before allocating, naming the op', () => {
    const a = ct.zeros([100000, 1]);
    const b = ct.zeros([1, 100000]);
    expect(() => ct.matmul(a, b)).toThrow(/matmul: shape \[100000,100000\] has 10,000,000,000 elements/);
  });
});
