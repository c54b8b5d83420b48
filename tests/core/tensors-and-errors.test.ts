/**
 * Tensor creation, reading and printing, and the errors users see.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

describe('creation and reading', () => {
  it('infers shapes from nested arrays and accepts flat data plus a shape', async () => {
    const a = ct.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('f32');
    expect(a.size).toBe(6);
    expect(a.ndim).toBe(2);
    expect(await a.array()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = ct.tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'i32' });
    expect(b.arraySync()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const c = ct.tensor(new Float64Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
    expect(c.dtype).toBe('f64');
    expect(Array.from(await c.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ct.scalar(3).shape).toEqual([]);
    expect(ct.scalar(3).arraySync()).toBe(3);
  });

  it('has the usual constants', () => {
    expect(ct.zeros([2, 2]).arraySync()).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(ct.ones([2]).arraySync()).toEqual([1, 1]);
    expect(ct.full([2], 7, { dtype: 'i32' }).arraySync()).toEqual([7, 7]);
    expect(ct.arange(4).arraySync()).toEqual([0, 1, 2, 3]);
    expect(ct.arange(1, 7, 2).arraySync()).toEqual([1, 3, 5]);
    expect(ct.linspace(0, 1, 5).arraySync()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(ct.eye(2, 3).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const t = ct.tensor([[1, 2]], { dtype: 'f64' });
    expect(ct.zerosLike(t).dtype).toBe('f64');
    expect(ct.onesLike(t).arraySync()).toEqual([[1, 1]]);
  });

  it('does not let a read mutate the tensor', () => {
    const t = ct.tensor([1, 2, 3]);
    const d = t.dataSync();
    d[0] = 100;
    expect(t.dataSync()[0]).toBe(1);
  });

  it('prints like numpy and truncates big tensors', () => {
    expect(ct.tensor([[1, 2], [3, 4.5]]).toString()).toBe('Tensor([[1., 2.],\n [3., 4.5]], f32[2,2])');
    const big = ct.arange(1000).toString();
    expect(big).toContain('...');
    expect(big.length).toBeLessThan(200);
    expect(ct.tensor([1, 2], { dtype: 'i32' }).toString()).toBe('Tensor([1, 2], i32[2])');
  });

  it('broadcasts numbers and tensors like numpy', () => {
    const x = ct.tensor([[1], [2]]);
    const y = ct.tensor([10, 20, 30]);
    expect(ct.add(x, y).arraySync()).toEqual([
      [11, 21, 31],
      [12, 22, 32],
    ]);
    expect(ct.mul(2, y).arraySync()).toEqual([20, 40, 60]);
  });
});

describe('errors name the op and the shapes', () => {
  it('matmul with mismatched inner dimensions', () => {
    expect(() => ct.matmul(ct.zeros([2, 3]), ct.zeros([4, 5]))).toThrow('matmul: inner dimensions differ: [2,3] x [4,5]');
    expect(() => ct.matmul(ct.zeros([2, 3]), ct.zeros([4, 5]))).toThrow(ct.ShapeError);
  });
  it('shapes that do not broadcast', () => {
    expect(() => ct.add(ct.zeros([2, 3]), ct.zeros([4]))).toThrow('add: shapes cannot be broadcast together: [2,3] and [4]');
  });
  it('bad axes', () => {
    expect(() => ct.sum(ct.zeros([2, 3]), 2)).toThrow('sum: axis 2 is out of bounds for a tensor of rank 2');
    expect(() => ct.softmax(ct.zeros([2, 3]), -3)).toThrow(/softmax: axis -3 is out of bounds/);
    expect(() => ct.transpose(ct.zeros([2, 3]), [0, 0])).toThrow(/transpose: perm \[0,0\] is not a permutation/);
  });
  it('dtype mismatches', () => {
    expect(() => ct.add(ct.zeros([2]), ct.zeros([2], { dtype: 'f64' }))).toThrow('add: dtype mismatch: f32[2] and f64[2] (use cast())');
    expect(() => ct.exp(ct.zeros([2], { dtype: 'i32' }))).toThrow('exp: expected a float tensor (f32 or f64), got i32[2]');
  });
  it('data whose length does not match the shape', () => {
    expect(() => ct.tensor([1, 2, 3], { shape: [2, 2] })).toThrow('tensor: data has 3 elements but shape [2,2] needs 4');
    expect(() => ct.tensor([[1, 2], [3]])).toThrow(/tensor: ragged nested array/);
    expect(() => ct.reshape(ct.zeros([2, 3]), [4, 2])).toThrow('reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)');
  });
  it('grad of a non-scalar function', () => {
    expect(() => ct.grad((x: ct.Tensor) => ct.exp(x))(ct.zeros([3]))).toThrow(
      'grad: the function must return a scalar, got f32[3] (use jacrev or vjp for non-scalar outputs)',
    );
  });
  it('tracers that escape their transformation', () => {
    let leaked: ct.Tensor | undefined;
    ct.grad((x: ct.Tensor) => {
      leaked = ct.mul(x, 2);
      return ct.sum(leaked);
    })(ct.ones([2]));
    expect(() => ct.exp(leaked!)).toThrow(/exp: a vjp tracer escaped its transformation/);
  });
  it('NaN is a value; checkNumerics names the first op that produced one', () => {
    const x = ct.tensor([-1, 4]);
    expect(Number.isNaN(ct.sqrt(x).dataSync()[0]!)).toBe(true);
    ct.setDebug({ checkNumerics: true });
    try {
      expect(() => ct.exp(ct.sqrt(ct.mul(x, 2)))).toThrow(/^sqrt: produced a non-finite value from finite inputs f32\[2\]/);
      expect(() => ct.log(ct.sub(x, x))).toThrow(ct.NumericsError);
    } finally {
      ct.setDebug({ checkNumerics: false });
    }
  });
});

describe('ops', () => {
  it('reduce, index and reshape as documented', () => {
    const x = ct.tensor([
      [1, 5, 5],
      [7, 2, 7],
    ]);
    expect(ct.sum(x, 1).arraySync()).toEqual([11, 16]);
    expect(ct.sum(x, [0, 1]).arraySync()).toBe(27);
    expect(ct.sum(x, 0, { keepdims: true }).shape).toEqual([1, 3]);
    expect(ct.mean(x).arraySync()).toBe(4.5);
    expect(ct.max(x, 1).arraySync()).toEqual([5, 7]);
    expect(ct.min(x).arraySync()).toBe(1);
    expect(ct.argmax(x, 1).arraySync()).toEqual([1, 0]);
    expect(ct.argmax(x).arraySync()).toBe(3);
    expect(ct.argmin(x, 0).arraySync()).toEqual([0, 1, 0]);
    expect(ct.reshape(x, [3, -1]).shape).toEqual([3, 2]);
    expect(ct.transpose(x).arraySync()).toEqual([
      [1, 7],
      [5, 2],
      [5, 7],
    ]);
    expect(ct.slice(x, [0, 1], [-1, 2]).arraySync()).toEqual([
      [5, 5],
      [2, 7],
    ]);
    expect(ct.concat([x, x], 1).shape).toEqual([2, 6]);
    expect(ct.stack([x, x], 0).shape).toEqual([2, 2, 3]);
    expect(ct.expandDims(x, 1).shape).toEqual([2, 1, 3]);
    expect(ct.squeeze(ct.zeros([1, 2, 1])).shape).toEqual([2]);
    expect(ct.pad(ct.ones([1, 1]), [[1, 0], [0, 1]]).arraySync()).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(ct.where(ct.greater(x, 4), x, 0).arraySync()).toEqual([
      [0, 5, 5],
      [7, 0, 7],
    ]);
    expect(ct.oneHot(ct.tensor([2, 0], { dtype: 'i32' }), 3).arraySync()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
  });

  it('max sends the gradient to the first maximal element', () => {
    const g = ct.grad((v: ct.Tensor) => ct.max(v))(ct.tensor([1, 3, 3, 2]));
    expect(g.arraySync()).toEqual([0, 1, 0, 0]);
    const g2 = ct.grad((v: ct.Tensor) => ct.sum(ct.max(v, 0)))(ct.tensor([[1, 4], [1, 2]]));
    expect(g2.arraySync()).toEqual([
      [1, 1],
      [0, 0],
    ]);
  });

  it('relu and abs have derivative 0 at 0', () => {
    expect(ct.grad((v: ct.Tensor) => ct.sum(ct.relu(v)))(ct.tensor([-1, 0, 2])).arraySync()).toEqual([0, 0, 1]);
    expect(ct.grad((v: ct.Tensor) => ct.sum(ct.abs(v)))(ct.tensor([-1, 0, 2])).arraySync()).toEqual([-1, 0, 1]);
  });

  it('softmax, logsumexp and cross-entropy are stable for huge logits', () => {
    const logits = ct.tensor([[1e4, 0, -1e4], [1, 2, 3]]);
    const p = ct.softmax(logits, -1).arraySync() as number[][];
    expect(p[0]).toEqual([1, 0, 0]);
    expect(p[1]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(ct.logsumexp(ct.tensor([1e4, 1e4])).arraySync()).toBeCloseTo(1e4 + Math.log(2), 1);
    const loss = ct.softmaxCrossEntropy(logits, ct.tensor([1, 2], { dtype: 'i32' }));
    const expected = (1e4 + (Math.log(Math.exp(-1) + Math.exp(-2) + 1) - 0)) / 2;
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 0);
    const oneHotLoss = ct.softmaxCrossEntropy(logits, ct.tensor([[0, 1, 0], [0, 0, 1]]));
    expect(oneHotLoss.dataSync()[0]).toBeCloseTo(loss.dataSync()[0]!, 3);
    const g = ct.grad((l: ct.Tensor) => ct.softmaxCrossEntropy(l, ct.tensor([1, 2], { dtype: 'i32' })))(logits);
    expect((g.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
  });
});
