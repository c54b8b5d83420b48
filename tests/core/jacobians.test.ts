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
    const jr = ct.jacrev(layer)(params);
    const jf = ct.jacfwd(layer)(params);
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
    const jr = ct.jacrev(f)(f64([1, 2]));
    const jf = ct.jacfwd(f)(f64([1, 2]));
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
    const H = ct.hessian(loss)(params);
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
    // argnums 2 is also a compile error for a one-parameter function; a rest-parameter function only fails at run time
    expect(() => ct.jacfwd((...vs: ct.Tensor[]) => vs[0]!, { argnums: 2 })(f64([1]))).toThrow(
      'jacfwd: argnums 2 is out of range for 1 argument(s)',
    );
  });
});

const mulSum = (a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.mul(a, ct.mul(a, b)));
const a = f64([1, 2]);
const b = f64([3, -1]);
// integer arguments beside the f64 ones, on cpu where f64 lives (cast(k, 'f64') runs there)
const i32 = ct.tensor([1, 2], { dtype: 'i32', backend: 'cpu' });
// runtime argnums, as a caller computing them would pass (not checked by the compiler)
const dynamic = (x: unknown): number[] => x as number[];

describe('argnums: one behaviour in every transformation', () => {
  const transformations: [string, (argnums: unknown) => () => unknown][] = [
    ['grad', (n) => () => ct.grad(mulSum, { argnums: dynamic(n) })(a, b)],
    ['valueAndGrad', (n) => () => ct.valueAndGrad(mulSum, { argnums: dynamic(n) })(a, b)],
    ['jacfwd', (n) => () => ct.jacfwd(mulSum, { argnums: dynamic(n) })(a, b)],
    ['jacrev', (n) => () => ct.jacrev(mulSum, { argnums: dynamic(n) })(a, b)],
    ['hessian', (n) => () => ct.hessian(mulSum, { argnums: dynamic(n) })(a, b)],
  ];
  it.each(transformations)('%s: a repeated argnum is an error naming the transformation and the argument', (name, run) => {
    expect(() => run([0, 0])()).toThrow(`${name}: argnums [0, 0] repeats argument 0; each argument can be differentiated once`);
    expect(() => run([1, 0, 1])()).toThrow(`${name}: argnums [1, 0, 1] repeats argument 1`);
  });
  it.each(transformations)('%s: out of range, negative and non-integer argnums say which', (name, run) => {
    expect(() => run([0, 2])()).toThrow(`${name}: argnums 2 is out of range for 2 argument(s)`);
    expect(() => run(-1)()).toThrow(`${name}: argnums -1 is negative; argument indices start at 0`);
    expect(() => run(0.5)()).toThrow(`${name}: argnums must be an integer or an array of integers, got 0.5`);
    expect(() => run(['0'])()).toThrow(`${name}: argnums must be an integer or an array of integers, got ["0"]`);
  });

  it('an array of distinct argnums gives every entry, in the order given, in grad and the Jacobians', () => {
    // f = Σ a² b: ∂f/∂a = 2ab, ∂f/∂b = a²
    const [gb, ga] = ct.grad(mulSum, { argnums: [1, 0] })(a, b);
    expect(ga.arraySync()).toEqual([6, -4]);
    expect(gb.arraySync()).toEqual([1, 4]);
    const [v, [va, vb]] = ct.valueAndGrad(mulSum, { argnums: [0, 1] })(a, b);
    expect(v.arraySync()).toBe(3 - 4);
    expect(va.arraySync()).toEqual([6, -4]);
    expect(vb.arraySync()).toEqual([1, 4]);
    for (const jac of [ct.jacfwd, ct.jacrev]) {
      const [ja, jb] = jac(mulSum, { argnums: [0, 1] })(a, b);
      expect(ja.arraySync()).toEqual([6, -4]);
      expect(jb.arraySync()).toEqual([1, 4]);
    }
    // the Hessian's blocks: H_aa = diag(2b), H_ab = diag(2a), H_bb = 0
    const [[haa, hab], [hba, hbb]] = ct.hessian(mulSum, { argnums: [0, 1] })(a, b);
    expect(haa.arraySync()).toEqual([
      [6, 0],
      [0, -2],
    ]);
    expect(hab.arraySync()).toEqual([
      [2, 0],
      [0, 4],
    ]);
    close(hba, hab);
    expect(hbb.arraySync()).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });
});

describe('integer arguments cannot be differentiated', () => {
  const sumF = (x: ct.Tensor) => ct.sum(ct.cast(x, 'f64'));
  it.each([
    ['grad', () => ct.grad(sumF)(i32)],
    ['valueAndGrad', () => ct.valueAndGrad(sumF)(i32)],
    ['jacfwd', () => ct.jacfwd(sumF)(i32)],
    ['jacrev', () => ct.jacrev(sumF)(i32)],
    ['hessian', () => ct.hessian(sumF)(i32)],
    ['vjp', () => ct.vjp(sumF, i32)],
    ['jvp', () => ct.jvp(sumF, [i32], [i32])],
  ] as const)('%s names the transformation, the argument and its dtype', (name, run) => {
    expect(run).toThrow(`${name}: argument 0 has dtype i32; only float (f32, f64) arguments can be differentiated`);
  });

  it('names the argument index and the leaf inside a tree argument', () => {
    const f = (x: ct.Tensor, p: { w: ct.Tensor; n: ct.Tensor }) => ct.sum(ct.mul(x, ct.mul(p.w, ct.cast(p.n, 'f64'))));
    expect(() => ct.grad(f, { argnums: 1 })(a, { w: b, n: i32 })).toThrow('grad: argument 1 (leaf 0 of its tree) has dtype i32');
    expect(() => ct.jvp(f, [a, { w: b, n: i32 }], [a, { w: b, n: i32 }])).toThrow('jvp: argument 1 (leaf 0 of its tree) has dtype i32');
  });

  it('integer arguments outside argnums are fine, in every transformation', () => {
    const f = (x: ct.Tensor, k: ct.Tensor) => ct.sum(ct.mul(ct.mul(x, x), ct.cast(k, 'f64')));
    expect(ct.grad(f)(a, i32).arraySync()).toEqual([2, 8]);
    expect(ct.jacrev(f)(a, i32).arraySync()).toEqual([2, 8]);
    expect(ct.jacfwd(f)(a, i32).arraySync()).toEqual([2, 8]);
    expect(ct.hessian(f)(a, i32).arraySync()).toEqual([
      [2, 0],
      [0, 4],
    ]);
    const [, dk] = ct.jvp((x: ct.Tensor) => f(x, i32), [a], [f64([1, 0])]);
    expect(dk.arraySync()).toBe(2);
  });

  it('custom rules still see integer arguments, which are held fixed in both modes', () => {
    // scale(x, k) = x · k with a hand-written JVP rule, k an i32 tensor
    const scale = ct.customJvp(
      (x, k) => ct.mul(x, ct.cast(k, x.dtype)),
      ([, k], [tx], out) => ct.mul(tx!, ct.cast(k!, out.dtype)),
    );
    const k = ct.tensor([3, 5], { dtype: 'i32', backend: 'cpu' });
    expect(
      ct
        .grad((x: ct.Tensor) => ct.sum(scale(x, k)))(a)
        .arraySync(),
    ).toEqual([3, 5]);
    const clip = ct.customVjp(
      (x, k) => ct.mul(x, ct.cast(k, x.dtype)),
      (x, k) => [ct.mul(x, ct.cast(k, x.dtype)), k] as const,
      (kk, c) => [ct.mul(c, ct.cast(kk, c.dtype)), null],
    );
    expect(ct.jvp((x: ct.Tensor) => clip(x, k), [a], [f64([1, 1])])[1].arraySync()).toEqual([3, 5]);
    expect(
      ct
        .grad((x: ct.Tensor) => ct.sum(clip(x, k)))(a)
        .arraySync(),
    ).toEqual([3, 5]);
  });
});
