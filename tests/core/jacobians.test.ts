/**
 * Jacobians and Hessians over pytrees: the result is the output's tree of the
 * input's tree of blocks, each of shape output-leaf.shape ++ input-leaf.shape;
 * jacfwd = jacrev on every block; Hessians of records are symmetric.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const f64 = (v: number | number[] | number[][]) => ct.tensor(v, { dtype: 'f64' });
const close = (a: ct.Tensor, b: ct.Tensor, tol = 1e-12) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(y[i]!)));
};

type P = { W: ct.Tensor; b: ct.Tensor };
const params: P = {
  W: f64([
    [0.1, -0.2, 0.3],
    [0.4, 0.5, -0.6],
  ]),
  b: f64([0.05, -0.1]),
};
const x = f64([1, 2, -1]);
// y = tanh(W x + b): [2]
const layer = (p: P) => ct.tanh(ct.add(ct.matmul(p.W, x), p.b));

describe('Jacobians over pytrees', () => {
  it('jacrev and jacfwd of a record argument give a record of blocks output ++ leaf shape', () => {
    const jr = ct.jacrev<P>(layer)(params);
    const jf = ct.jacfwd<P>(layer)(params);
    expect(jr.W.shape).toEqual([2, 2, 3]);
    expect(jr.b.shape).toEqual([2, 2]);
    close(jf.W, jr.W);
    close(jf.b, jr.b);
    // dy_i/db_j = δ_ij (1 − y_i²)
    const y = layer(params).dataSync();
    const jb = jr.b.arraySync() as number[][];
    expect(jb[0]![0]).toBeCloseTo(1 - y[0]! ** 2, 12);
    expect(jb[0]![1]).toBe(0);
    // dy_i/dW_jk = δ_ij (1 − y_i²) x_k
    const jw = jr.W.arraySync() as number[][][];
    expect(jw[1]![1]![2]).toBeCloseTo((1 - y[1]! ** 2) * -1, 12);
    expect(jw[1]![0]![2]).toBe(0);
  });

  it('tree-valued outputs give the output tree of input trees', () => {
    const f = (v: ct.Tensor) => ({ s: ct.sum(ct.square(v)), p: [ct.mul(v, 2)] });
    const jr = ct.jacrev<{ s: ct.Tensor; p: ct.Tensor[] }>(f)(f64([1, 2]));
    const jf = ct.jacfwd<{ s: ct.Tensor; p: ct.Tensor[] }>(f)(f64([1, 2]));
    expect(jr.s.arraySync()).toEqual([2, 4]);
    expect(jr.p[0]!.arraySync()).toEqual([
      [2, 0],
      [0, 2],
    ]);
    close(jf.s, jr.s);
    close(jf.p[0]!, jr.p[0]!);
  });

  it('hessian of a record argument: the blocks of a symmetric matrix', () => {
    const loss = (p: P) => ct.sum(ct.square(layer(p)));
    const H = ct.hessian<{ W: P; b: P }>(loss)(params);
    expect(H.W.W.shape).toEqual([2, 3, 2, 3]);
    expect(H.W.b.shape).toEqual([2, 3, 2]);
    expect(H.b.W.shape).toEqual([2, 2, 3]);
    expect(H.b.b.shape).toEqual([2, 2]);
    // H[b][W] is the transpose of H[W][b]
    close(ct.transpose(H.W.b, [2, 0, 1]), H.b.W, 1e-10);
    // and the tensor-argument Hessian of the flattened problem agrees on the b block
    const Hb = ct.hessian((b: ct.Tensor) => loss({ W: params.W, b }))(params.b);
    close(H.b.b, Hb, 1e-10);
  });

  it('a tensor argument still gives a plain tensor, and argnums picks the argument', () => {
    const J = ct.jacrev((a: ct.Tensor, v: ct.Tensor) => ct.mul(a, v), { argnums: 1 })(f64(3), f64([1, 2]));
    expect(J.arraySync()).toEqual([
      [3, 0],
      [0, 3],
    ]);
    expect(() => ct.jacfwd((v: ct.Tensor) => v, { argnums: 2 })(f64([1]))).toThrow('jacfwd: argnums 2 is out of range for 1 argument(s)');
  });
});
