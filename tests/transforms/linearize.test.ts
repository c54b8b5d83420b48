/**
 * linearize: the output equals f(primals) and jvpFn(t) equals
 * jvp(f, primals, t)[1] exactly (f64 on cpu: the same tangent operations on
 * the same residuals), jvpFn is linear in the tangents, and it runs only
 * tangent operations: fewer kernels than a jvp call, and f's body is not
 * called again.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { close, kernels, rand, same, sameTree } from './helpers.js';

type P = { W1: ct.Tensor; b1: ct.Tensor; W2: ct.Tensor };
const params: P = { W1: rand([4, 6], 'f64', 1, 0.6), b1: rand([6], 'f64', 2, 0.3), W2: rand([6, 3], 'f64', 3, 0.6) };
const x = rand([5, 4], 'f64', 4);
const mlp = (p: P, h: ct.Tensor) => ct.softmax(ct.matmul(ct.tanh(ct.add(ct.matmul(h, p.W1), p.b1)), p.W2), -1);

/** Functions and their primal arguments (tangents are drawn like the primals). */
const cases: { name: string; f: ct.Fn; primals: unknown[] }[] = [
  { name: 'sin · x²', f: (a: ct.Tensor) => ct.mul(ct.sin(a), ct.square(a)), primals: [rand([7], 'f64', 5)] },
  { name: 'matmul / tanh / softmax MLP over a record', f: mlp, primals: [params, x] },
  {
    name: 'a chain of matmul and tanh',
    f: (ws: ct.Tensor[], h: ct.Tensor) => ws.reduce((a, w) => ct.tanh(ct.matmul(a, w)), h),
    primals: [[rand([4, 4], 'f64', 6, 0.5), rand([4, 4], 'f64', 7, 0.5), rand([4, 4], 'f64', 8, 0.5)], x],
  },
  {
    name: 'pytree output with a constant leaf and a static leaf',
    f: (a: ct.Tensor, b: ct.Tensor) => ({ s: ct.sum(ct.mul(a, b)), d: [ct.div(a, ct.add(ct.exp(b), 1)), ct.ones([2])], tag: 'x' }),
    primals: [rand([3], 'f64', 9), rand([3], 'f64', 10)],
  },
  {
    name: 'log-sum-exp and reductions',
    f: (a: ct.Tensor) => ct.sub(ct.logsumexp(a, 1), ct.mean(ct.square(a), 1)),
    primals: [rand([3, 5], 'f64', 11, 2)],
  },
];

const tangentLike = (primals: unknown[], seed: number): unknown[] =>
  ct.treeMap(primals, (l, i) => rand([...(l as ct.Tensor).shape], 'f64', seed + 17 * i)) as unknown[];

describe('linearize', () => {
  for (const c of cases) {
    it(`${c.name}: output = f(primals), jvpFn(t) = jvp(f, primals, t) bit for bit`, () => {
      const [y, jvpFn] = ct.linearize(c.f, ...c.primals);
      sameTree(y, c.f(...c.primals));
      for (const seed of [100, 200]) {
        const t = tangentLike(c.primals, seed);
        const [yj, dyj] = ct.jvp(c.f, c.primals, t as never);
        sameTree(y, yj);
        sameTree(jvpFn(...(t as never[])), dyj);
      }
    });

    it(`${c.name}: jvpFn is linear`, () => {
      const [, jvpFn] = ct.linearize(c.f, ...c.primals);
      const t1 = tangentLike(c.primals, 300);
      const t2 = tangentLike(c.primals, 400);
      const [a, b] = [0.75, -1.5];
      const mix = ct.treeMap(t1, (l, i) => ct.add(ct.mul(l as ct.Tensor, a), ct.mul(ct.treeLeaves(t2)[i] as ct.Tensor, b)));
      const lhs = ct.treeLeaves(jvpFn(...(mix as never[])));
      const r1 = ct.treeLeaves(jvpFn(...(t1 as never[])));
      const r2 = ct.treeLeaves(jvpFn(...(t2 as never[])));
      lhs.forEach((l, i) => {
        close(l as ct.Tensor, ct.add(ct.mul(r1[i] as ct.Tensor, a), ct.mul(r2[i] as ct.Tensor, b)), 1e-12);
      });
      // zero tangents give zero
      const z = ct.treeLeaves(jvpFn(...(ct.treeMap(t1, (l) => ct.zerosLike(l as ct.Tensor)) as never[])));
      for (const l of z) expect(Array.from((l as ct.Tensor).dataSync()).every((v) => v === 0)).toBe(true);
    });
  }

  it('jvpFn runs no primal operation: fewer kernels than jvp, and f is not called again', () => {
    let calls = 0;
    const f = (p: P, h: ct.Tensor) => {
      calls++;
      return mlp(p, h);
    };
    const [, jvpFn] = ct.linearize(f, params, x);
    expect(calls).toBe(1);
    const t = tangentLike([params, x], 500) as [P, ct.Tensor];
    const linKernels = kernels(() => jvpFn(...t));
    expect(calls).toBe(1);
    const jvpKernels = kernels(() => ct.jvp(f, [params, x], t));
    expect(calls).toBe(2);
    expect(linKernels).toBeGreaterThan(0);
    expect(linKernels).toBeLessThan(jvpKernels);
    // the primal computation alone: what jvpFn saves
    const primalKernels = kernels(() => mlp(params, x));
    expect(linKernels).toBeLessThanOrEqual(jvpKernels - primalKernels);
  });

  it('f32 matches jvp, and linearize composes with checkpoint and jit', () => {
    const p32: P = { W1: rand([4, 6], 'f32', 1, 0.6), b1: rand([6], 'f32', 2, 0.3), W2: rand([6, 3], 'f32', 3, 0.6) };
    const x32 = rand([5, 4], 'f32', 4);
    const t = [{ W1: rand([4, 6], 'f32', 21), b1: rand([6], 'f32', 22), W2: rand([6, 3], 'f32', 23) }, rand([5, 4], 'f32', 24)] as const;
    const want = ct.jvp(mlp, [p32, x32], t as never)[1] as ct.Tensor;
    same(ct.linearize(mlp, p32, x32)[1](...(t as never as [P, ct.Tensor])) as ct.Tensor, want);
    const ck = ct.checkpoint(mlp);
    same(ct.linearize(ck, p32, x32)[1](...(t as never as [P, ct.Tensor])) as ct.Tensor, want);
    const jf = ct.jit(mlp);
    close(ct.linearize(jf, p32, x32)[1](...(t as never as [P, ct.Tensor])) as ct.Tensor, want, 1e-5);
  });

  it('linearize inside grad: the derivative of a linearised map', () => {
    // d/dx Σ J(x)·v with J the Jacobian of sin at x: Σ cos(x) v → -sin(x) v
    const v = rand([4], 'f64', 600);
    const g = ct.grad((a: ct.Tensor) => ct.sum(ct.linearize(ct.sin, a)[1](v)))(rand([4], 'f64', 601));
    close(g, ct.mul(ct.neg(ct.sin(rand([4], 'f64', 601))), v), 1e-12);
  });

  it('errors: tangents of the wrong structure or shape', () => {
    const [, jvpFn] = ct.linearize(mlp, params, x);
    expect(() => (jvpFn as (...a: unknown[]) => unknown)(x)).toThrow(/same structure/);
    const t = tangentLike([params, x], 700) as [P, ct.Tensor];
    expect(() => jvpFn(t[0], rand([5, 3], 'f64', 1))).toThrow(/does not match primal/);
  });
});
