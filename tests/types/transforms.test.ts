/**
 * The transformations' public types, pinned: results typed from the
 * function's own parameters and the argnums literal, and wrong usage a
 * compile error (`@ts-expect-error` fails the type check when the line
 * compiles). These assertions are checked by tests/types/typecheck.test.ts,
 * which runs the compiler over tests/; at run time each test also calls the
 * transformation, so the types describe what is actually returned.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as ct from '../../src/index.js';

type Tensor = ct.Tensor;
type Params = { W: Tensor; b: Tensor };

const f64 = (v: number | number[] | number[][]) => ct.tensor(v, { dtype: 'f64' });
const x = f64([1, 2]);
const y = f64([3, 4]);
const params: Params = { W: f64([[1, 2]]), b: f64([0.5]) };

const f1 = (a: Tensor) => ct.sum(ct.mul(a, a));
const f2 = (a: Tensor, p: Params) => ct.sum(ct.mul(ct.add(ct.matmul(p.W, a), p.b), 2));
const fAux = (a: Tensor, p: Params): [Tensor, { n: number }] => [f2(a, p), { n: 1 }];
const vec = (a: Tensor, p: Params) => ct.add(ct.matmul(p.W, a), p.b);

describe('grad and valueAndGrad are typed from argnums', () => {
  it('no argnums or one index: that argument’s type', () => {
    const g0 = ct.grad(f1)(x);
    expectTypeOf(g0).toEqualTypeOf<Tensor>();
    expectTypeOf(ct.grad(f1)).parameters.toEqualTypeOf<[a: Tensor]>();
    const g1 = ct.grad(f2, { argnums: 1 })(x, params);
    expectTypeOf(g1).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    expect(g1.W.shape).toEqual([1, 2]);
  });

  it('an array of indices: a tuple of those arguments’ types, in order', () => {
    const g = ct.grad(f2, { argnums: [1, 0] })(x, params);
    expectTypeOf(g).toEqualTypeOf<[{ W: Tensor; b: Tensor }, Tensor]>();
    expect(g[0].b.shape).toEqual([1]);
    expect(g[1].shape).toEqual([2]);
  });

  it('a number argument gets a tensor gradient; a rest parameter list gives an array', () => {
    const g = ct.grad((a: number, b: Tensor) => ct.mul(a, ct.sum(b)))(2, ct.tensor([1, 2]));
    expectTypeOf(g).toEqualTypeOf<Tensor>();
    const gs = ct.grad((...xs: Tensor[]) => ct.sum(ct.stack(xs)), { argnums: [0, 1] })(x, y);
    expectTypeOf(gs).toEqualTypeOf<[Tensor, Tensor]>();
    const dyn: number[] = [0, 1];
    expectTypeOf(ct.grad((...xs: Tensor[]) => ct.sum(ct.stack(xs)), { argnums: dyn })(x, y)).toEqualTypeOf<Tensor[]>();
  });

  it('valueAndGrad returns [value, grads], and [[value, aux], grads] with hasAux', () => {
    const r = ct.valueAndGrad(f2, { argnums: [0, 1] })(x, params);
    expectTypeOf(r).toEqualTypeOf<[Tensor, [Tensor, { W: Tensor; b: Tensor }]]>();
    const ra = ct.valueAndGrad(fAux, { hasAux: true, argnums: 1 })(x, params);
    expectTypeOf(ra).toEqualTypeOf<[[Tensor, { n: number }], { W: Tensor; b: Tensor }]>();
    expect(ra[0][1].n).toBe(1);
    const ga = ct.grad(fAux, { hasAux: true })(x, params);
    expectTypeOf(ga).toEqualTypeOf<[Tensor, { n: number }]>();
  });

  it('wrong usage does not compile', () => {
    const bad = (run: () => unknown) => expect(run).toThrow();
    // @ts-expect-error argnums 2 of a two-parameter function
    bad(() => ct.grad(f2, { argnums: 2 })(x, params));
    // @ts-expect-error argnums [0, 3]: 3 is out of range
    bad(() => ct.grad(f2, { argnums: [0, 3] })(x, params));
    // @ts-expect-error the function returns an array: pass hasAux
    bad(() => ct.grad(fAux)(x, params));
    // @ts-expect-error hasAux, but the function returns a tensor
    bad(() => ct.valueAndGrad(f1, { hasAux: true })(x));
    // @ts-expect-error the function returns a number, not a scalar tensor
    bad(() => ct.grad((a: Tensor) => a.size)(x));
    // @ts-expect-error the arguments must match the function's parameters
    bad(() => ct.grad(f2)(x, x));
    // @ts-expect-error one argument missing
    bad(() => ct.valueAndGrad(f2)(x));
  });
});

describe('jvp and vjp', () => {
  it('jvp: [output, tangent], both shaped like the output', () => {
    const r = ct.jvp(vec, [x, params], [y, { W: params.W, b: ct.zerosLike(params.b) }]);
    // a number tangent is a scalar of the primal's dtype
    expectTypeOf(ct.jvp(f1, [ct.scalar(2, { dtype: 'f64' })], [1])).toEqualTypeOf<[Tensor, Tensor]>();
    expectTypeOf(r).toEqualTypeOf<[Tensor, Tensor]>();
    const t = ct.jvp((a: Tensor) => ({ s: ct.sum(a), l: [a] }), [x], [ct.onesLike(x)])[1];
    expectTypeOf(t).toEqualTypeOf<{ s: Tensor; l: Tensor[] }>();
    expect(t.s.arraySync()).toBe(2);
    // @ts-expect-error tangents must have the primals' structure
    expect(() => ct.jvp(vec, [x, params], [y, y])).toThrow();
    // @ts-expect-error primals must match the parameters
    expect(() => ct.jvp(vec, [x], [y])).toThrow();
  });

  it('vjp: [output, pullback], the pullback giving one cotangent per primal', () => {
    const [out, pullback] = ct.vjp(vec, x, params);
    expectTypeOf(out).toEqualTypeOf<Tensor>();
    expectTypeOf(pullback).parameters.toEqualTypeOf<[cotangent: Tensor | number]>();
    const cts = pullback(ct.onesLike(out));
    expectTypeOf(cts).toEqualTypeOf<[Tensor, { W: Tensor; b: Tensor }]>();
    expect(cts[1].W.shape).toEqual([1, 2]);
    // @ts-expect-error the primals must match the parameters
    expect(() => ct.vjp(vec, x)).toThrow();
  });
});

describe('jacfwd, jacrev and hessian', () => {
  it('a tensor argument and output: a tensor', () => {
    expectTypeOf(ct.jacfwd((a: Tensor) => ct.mul(a, a))(x)).toEqualTypeOf<Tensor>();
    expectTypeOf(ct.jacrev((a: Tensor) => ct.mul(a, a))(x)).toEqualTypeOf<Tensor>();
    expectTypeOf(ct.hessian(f1)(x)).toEqualTypeOf<Tensor>();
  });

  it('trees: the output’s tree of the input’s tree of blocks', () => {
    const J = ct.jacrev(vec, { argnums: 1 })(x, params);
    expectTypeOf(J).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    expect(J.W.shape).toEqual([1, 1, 2]);
    const Jo = ct.jacfwd((a: Tensor) => ({ s: ct.sum(a), l: [a] }))(x);
    expectTypeOf(Jo).toEqualTypeOf<{ s: Tensor; l: Tensor[] }>();
    const Js = ct.jacrev(vec, { argnums: [0, 1] })(x, params);
    expectTypeOf(Js).toEqualTypeOf<[Tensor, { W: Tensor; b: Tensor }]>();
    const H = ct.hessian(f2, { argnums: 1 })(x, params);
    expectTypeOf(H).toEqualTypeOf<{ W: { W: Tensor; b: Tensor }; b: { W: Tensor; b: Tensor } }>();
    expect(H.W.b.shape).toEqual([1, 2, 1]);
  });

  it('wrong usage does not compile', () => {
    // @ts-expect-error argnums 1 of a one-parameter function
    expect(() => ct.jacrev(f1, { argnums: 1 })(x)).toThrow();
    // @ts-expect-error argnums [2] out of range
    expect(() => ct.hessian(f2, { argnums: [2] })(x, params)).toThrow();
    // @ts-expect-error the arguments must match the function's parameters
    expect(() => ct.jacfwd(f1)(params)).toThrow();
  });
});
