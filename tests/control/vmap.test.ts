/**
 * Control flow under vmap, against loops over the examples: a cond whose
 * predicate differs per example selects per example (both branches run), and
 * differentiates through the selected branch; scan with batched xs or carry;
 * foriLoop; a whileLoop whose condition differs per example is a clear error.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const f64 = (v: number[] | number[][]) => ct.tensor(v, { dtype: 'f64', backend: 'cpu' });
const vals = (t: ct.Tensor) => Array.from(t.dataSync());
const row = (t: ct.Tensor, i: number) => ct.reshape(ct.slice(t, [i, 0], [1, t.shape[1]!]), [t.shape[1]!]);

describe('control flow under vmap', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'cpu' });
  });

  const f = (x: ct.Tensor) =>
    ct.cond(
      ct.greater(ct.sum(x), 0),
      (v: ct.Tensor) => ct.mul(v, v),
      (v: ct.Tensor) => ct.sin(v),
      x,
    );

  it('cond with a per-example predicate equals the loop, values and gradients', () => {
    const xs = f64([
      [1, 2],
      [-3, 1],
      [0.5, -0.25],
    ]);
    const batched = ct.vmap(f)(xs);
    const grads = ct.vmap(ct.grad((x: ct.Tensor) => ct.sum(f(x))))(xs);
    for (let i = 0; i < 3; i++) {
      expect(vals(row(batched, i))).toEqual(vals(f(row(xs, i))));
      expect(vals(row(grads, i))).toEqual(vals(ct.grad((x: ct.Tensor) => ct.sum(f(x)))(row(xs, i))));
    }
  });

  it('scan over batched xs and a batched carry equals the loop', () => {
    const step = (c: ct.Tensor, x: ct.Tensor) => {
      const c2 = ct.add(ct.mul(c, 0.5), x);
      return [c2, ct.tanh(c2)] as const;
    };
    const xs = f64([
      [1, 2, 3],
      [4, -5, 6],
    ]);
    const c0 = f64([0.1, -0.2]);
    const [cs, ys] = ct.vmap((c: ct.Tensor, x: ct.Tensor) => ct.scan(step, c, x))(c0, xs);
    for (let i = 0; i < 2; i++) {
      const [c, y] = ct.scan(step, ct.reshape(ct.slice(c0, [i], [1]), []), row(xs, i));
      expect(vals(ct.reshape(ct.slice(cs, [i], [1]), []))).toEqual(vals(c));
      expect(vals(row(ys, i))).toEqual(vals(y));
    }
  });

  it('foriLoop under vmap equals the loop', () => {
    const pow3 = (x: ct.Tensor) => ct.foriLoop(0, 3, (_i, acc: ct.Tensor) => ct.mul(acc, x), ct.onesLike(x));
    expect(vals(ct.vmap(pow3)(f64([1, 2, -3])))).toEqual([1, 8, -27]);
  });

  it('a whileLoop whose condition differs per example is a clear error', () => {
    const g = (x: ct.Tensor) =>
      ct.whileLoop(
        (v: ct.Tensor) => ct.less(v, 10),
        (v: ct.Tensor) => ct.mul(v, 2),
        x,
      );
    expect(vals(g(f64([3]) as ct.Tensor))).toEqual([12]);
    expect(() => ct.vmap(g)(f64([1, 3]))).toThrow(/whileLoop: the condition differs between the examples of a vmap/);
  });
});
