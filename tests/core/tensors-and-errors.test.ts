/**
 * Tensor creation, reading and printing, and the errors users see.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { MAX_TENSOR_BYTES } from '../../src/tensor/shape.js';

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
    expect(
      ct
        .tensor(
          [
            [1, 2],
            [3, 4.5],
          ],
          { backend: 'cpu' },
        )
        .toString(),
    ).toBe('Tensor([[1., 2.],\n [3., 4.5]], f32[2,2])');
    // a tensor off the cpu backend says where it lives (the default in Node is wasm)
    expect(ct.tensor([1, 2]).toString()).toBe(`Tensor([1., 2.], f32[2]${ct.getBackend() === 'cpu' ? '' : `, ${ct.getBackend()}`})`);
    const big = ct.arange(1000).toString();
    expect(big).toContain('...');
    expect(big.length).toBeLessThan(200);
    expect(ct.tensor([1, 2], { dtype: 'i32', backend: 'cpu' }).toString()).toBe('Tensor([1, 2], i32[2])');
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
    // f64 lives on cpu: the f32 operand is put there too, so the dtype rule is what is checked
    expect(() => ct.add(ct.zeros([2], { backend: 'cpu' }), ct.zeros([2], { dtype: 'f64' }))).toThrow(
      'add: dtype mismatch: f32[2] and f64[2] (use cast())',
    );
    expect(() => ct.exp(ct.zeros([2], { dtype: 'i32' }))).toThrow('exp: expected a float tensor (f32 or f64), got i32[2]');
  });
  it('data whose length does not match the shape', () => {
    expect(() => ct.tensor([1, 2, 3], { shape: [2, 2] })).toThrow('tensor: data has 3 elements but shape [2,2] needs 4');
    expect(() => ct.tensor([[1, 2], [3]])).toThrow(/tensor: ragged nested array/);
    expect(() => ct.reshape(ct.zeros([2, 3]), [4, 2])).toThrow('reshape: cannot reshape [2,3] (6 elements) to [4,2] (8 elements)');
  });
  it('enormous sizes: an error naming the op, the shape and the per-tensor limit, before anything is allocated', () => {
    expect(MAX_TENSOR_BYTES).toBe(2 ** 31);
    const limit = /past the per-tensor limit of 2 GiB \(536,870,912 elements of f32\)/;
    const cases: [string, () => unknown, RegExp][] = [
      ['zeros', () => ct.zeros([1e6, 1e6]), /^zeros: shape \[1000000,1000000\] has 1,000,000,000,000 elements/],
      ['eye', () => ct.eye(1e6), /^eye: shape \[1000000,1000000\] has 1,000,000,000,000 elements/],
      ['arange', () => ct.arange(1e10), /^arange: shape \[10000000000\] has 10,000,000,000 elements/],
      ['zeros 10 GB', () => ct.zeros([50000, 50000]), /^zeros: shape \[50000,50000\] has 2,500,000,000 elements \(9.31 GiB as f32\)/],
      ['ones', () => ct.ones([1 << 15, 1 << 15]), /^ones: shape \[32768,32768\]/],
      ['full', () => ct.full([2 ** 29 + 1], 3), /^full: shape \[536870913\] has 536,870,913 elements \(2,147,483,652 bytes as f32\)/],
      ['linspace', () => ct.linspace(0, 1, 2 ** 30), /^linspace: shape \[1073741824\]/],
      ['tensor', () => ct.tensor(new Float32Array(4), { shape: [1e5, 1e5] }), /^tensor: shape \[100000,100000\]/],
      ['broadcastTo', () => ct.broadcastTo(ct.scalar(1), [1e5, 1e5]), /^broadcastTo: shape \[100000,100000\]/],
    ];
    for (const [name, f, message] of cases) {
      const t0 = Date.now();
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(ct.ShapeError);
      expect((err as Error).message, name).toMatch(message);
      if (name !== 'full' && name !== 'linspace') expect((err as Error).message, name).toMatch(name === 'broadcastTo' ? /f32\/i32/ : limit);
      expect(Date.now() - t0, `${name} failed fast`).toBeLessThan(1000);
    }
    // the limit is in bytes: f64 holds half as many elements
    expect(() => ct.zeros([2 ** 28 + 1], { dtype: 'f64' })).toThrow(
      new RegExp(
        String.raw`^zeros: shape \[268435457\] has 268,435,457 elements \(2,147,483,656 bytes as f64\), ` +
          String.raw`past the per-tensor limit of 2 GiB \(268,435,456 elements of f64\)`,
      ),
    );
    expect(ct.zeros([2 ** 20, 4]).size).toBe(2 ** 22);
  });

  it('malformed creation arguments: one clear error naming the op', () => {
    expect(() => ct.zeros(5 as never)).toThrow(
      /^zeros: a shape must be an array of non-negative integers, got the number 5 \(write \[5\] for a 1-D shape\)$/,
    );
    expect(() => ct.ones('3' as never)).toThrow(/^ones: a shape must be an array of non-negative integers, got the string '3'$/);
    expect(() => ct.full(undefined as never, 1)).toThrow(/^full: a shape must be an array of non-negative integers, got undefined$/);
    expect(() => ct.zeros([2, -1])).toThrow(/^zeros: invalid shape \[2,-1\]: dimensions must be non-negative integers$/);
    expect(() => ct.zeros([2, '3'] as never)).toThrow(/^zeros: invalid shape \[2,3\]: dimensions must be non-negative integers$/);
    expect(() => ct.tensor([1, 2], { shape: 2 as never })).toThrow(/^tensor: a shape must be an array/);
    expect(() => ct.full([2], 'x' as never)).toThrow(/^full: the fill value must be a number, got the string 'x'$/);
    expect(() => ct.fullLike(ct.zeros([2]), {} as never)).toThrow(/^fullLike: the fill value must be a number, got object$/);
    expect(() => ct.eye(2.5)).toThrow(/^eye: the number of rows must be a non-negative integer, got 2.5$/);
    expect(() => ct.eye(2, -1)).toThrow(/^eye: the number of columns must be a non-negative integer, got -1$/);
    expect(() => ct.linspace(0, 1, 1.5)).toThrow(/^linspace: num must be a non-negative integer, got 1.5$/);
    expect(() => ct.arange(Number.NaN)).toThrow(/^arange: stop must be a finite number, got NaN$/);
    expect(() => ct.arange('4' as never)).toThrow(/^arange: stop must be a finite number, got string$/);
    expect(() => ct.arange(0, 4, 0)).toThrow(/^arange: step must be a non-zero finite number, got 0$/);
    // the well-formed calls are unchanged
    expect(ct.full([2], 2.5).arraySync()).toEqual([2.5, 2.5]);
    expect(ct.arange(1, 3, 0.5).arraySync()).toEqual([1, 1.5, 2, 2.5]);
    expect(ct.arange(4, undefined, 1, { dtype: 'i32' }).arraySync()).toEqual([0, 1, 2, 3]);
    expect(ct.eye(2, 3, { dtype: 'f64' }).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(ct.eye(0).shape).toEqual([0, 0]);
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
    expect(
      ct
        .pad(ct.ones([1, 1]), [
          [1, 0],
          [0, 1],
        ])
        .arraySync(),
    ).toEqual([
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
    const g2 = ct.grad((v: ct.Tensor) => ct.sum(ct.max(v, 0)))(
      ct.tensor([
        [1, 4],
        [1, 2],
      ]),
    );
    expect(g2.arraySync()).toEqual([
      [1, 1],
      [0, 0],
    ]);
  });

  it('relu and abs have derivative 0 at 0', () => {
    expect(
      ct
        .grad((v: ct.Tensor) => ct.sum(ct.relu(v)))(ct.tensor([-1, 0, 2]))
        .arraySync(),
    ).toEqual([0, 0, 1]);
    expect(
      ct
        .grad((v: ct.Tensor) => ct.sum(ct.abs(v)))(ct.tensor([-1, 0, 2]))
        .arraySync(),
    ).toEqual([-1, 0, 1]);
  });

  it('softmax, logsumexp and cross-entropy are stable for huge logits', () => {
    const logits = ct.tensor([
      [1e4, 0, -1e4],
      [1, 2, 3],
    ]);
    const p = ct.softmax(logits, -1).arraySync() as number[][];
    expect(p[0]).toEqual([1, 0, 0]);
    expect(p[1]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(ct.logsumexp(ct.tensor([1e4, 1e4])).arraySync()).toBeCloseTo(1e4 + Math.log(2), 1);
    const loss = ct.softmaxCrossEntropy(logits, ct.tensor([1, 2], { dtype: 'i32' }));
    // row 0: logsumexp = 1e4, minus the label's logit 0; row 1: log(e + e² + e³) − 3 = log(1 + e⁻¹ + e⁻²)
    const expected = (1e4 + Math.log(1 + Math.exp(-1) + Math.exp(-2))) / 2;
    // f32 spacing near 1e4 is 2⁻¹⁰ ≈ 0.001: within 0.005, so a wrong term (say log(2 + ...)) fails
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 2);
    const oneHotLoss = ct.softmaxCrossEntropy(
      logits,
      ct.tensor([
        [0, 1, 0],
        [0, 0, 1],
      ]),
    );
    expect(oneHotLoss.dataSync()[0]).toBeCloseTo(loss.dataSync()[0]!, 3);
    // d/dlogits of the batch mean = (softmax(logits) − onehot(labels)) / 2, worked out by hand:
    // row 0: softmax = [1, 0, 0] (e^−1e4 underflows), label 1; row 1: softmax([1, 2, 3]), label 2
    const g = ct.grad((l: ct.Tensor) => ct.softmaxCrossEntropy(l, ct.tensor([1, 2], { dtype: 'i32' })))(logits);
    const s1 = [1, 2, 3].map((z) => Math.exp(z) / (Math.E + Math.E ** 2 + Math.E ** 3));
    const want = [0.5, -0.5, 0, s1[0]! / 2, s1[1]! / 2, (s1[2]! - 1) / 2];
    const got = Array.from(g.dataSync() as Float32Array);
    expect(got).toHaveLength(6);
    got.forEach((v, i) => {
      expect(Math.abs(v - want[i]!), `gradient element ${i}: ${v} vs ${want[i]}`).toBeLessThan(1e-6);
    });
  });
});
