/**
 * Known values: the seed function, a two-layer sigmoid network against
 * hand-derived backprop, and nested derivatives with closed forms.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const f64 = (v: number | number[] | number[][]) => ct.tensor(v, { dtype: 'f64' });
const num = (t: ct.Tensor) => t.dataSync()[0]!;
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-10) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
};

// f(x1, x2) = ln(x1) + x1·x2 − sin(x2)
const seed = (x1: ct.Tensor, x2: ct.Tensor) => ct.sub(ct.add(ct.log(x1), ct.mul(x1, x2)), ct.sin(x2));

describe('seed function f(x1, x2) = ln(x1) + x1·x2 − sin(x2)', () => {
  it('has value ln 2 + 10 − sin 5 at (2, 5)', () => {
    expect(num(seed(f64(2), f64(5)))).toBeCloseTo(Math.log(2) + 10 - Math.sin(5), 12);
  });

  it('has gradient [1/2 + 5, 2 − cos 5] at (2, 5) in reverse mode', () => {
    const [g1, g2] = ct.grad(seed, { argnums: [0, 1] })(f64(2), f64(5)) as ct.Tensor[];
    close([num(g1!), num(g2!)], [0.5 + 5, 2 - Math.cos(5)]);
  });

  it('has the same gradient in forward mode', () => {
    const [, t1] = ct.jvp(seed, [f64(2), f64(5)], [f64(1), f64(0)]);
    const [, t2] = ct.jvp(seed, [f64(2), f64(5)], [f64(0), f64(1)]);
    close([num(t1), num(t2)], [0.5 + 5, 2 - Math.cos(5)]);
  });

  it('vjp returns one cotangent per primal, always an array', () => {
    const [y, pb] = ct.vjp(seed, f64(2), f64(5));
    expect(num(y)).toBeCloseTo(Math.log(2) + 10 - Math.sin(5), 12);
    const cts = pb(f64(2)) as ct.Tensor[];
    expect(Array.isArray(cts)).toBe(true);
    close(cts.map(num), [2 * 5.5, 2 * (2 - Math.cos(5))]);
    const [, pb1] = ct.vjp((x: ct.Tensor) => ct.exp(x), f64(0));
    const one = pb1(f64(1));
    expect(Array.isArray(one)).toBe(true);
    expect(one).toHaveLength(1);
  });

  it('prints as the familiar five-node graph', () => {
    const g = ct.makeGraph(seed, f64(2), f64(5));
    expect(g.eqns.map((e) => e.prim)).toEqual(['log', 'mul', 'add', 'sin', 'sub']);
    expect(ct.graphToText(g)).toBe(
      [
        '{ lambda ; a:f64[] b:f64[]. let',
        '    c:f64[] = log a',
        '    d:f64[] = mul a b',
        '    e:f64[] = add c d',
        '    f:f64[] = sin b',
        '    g:f64[] = sub e f',
        '  in (g) }',
      ].join('\n'),
    );
    const dot = ct.graphToDot(g);
    expect(dot).toMatch(/^digraph/);
    for (const edge of ['a -> c', 'a -> d', 'b -> d', 'c -> e', 'd -> e', 'b -> f', 'e -> g', 'f -> g']) expect(dot).toContain(edge);
    const [y] = ct.evalGraph(g, f64(2), f64(5));
    expect(num(y!)).toBeCloseTo(num(seed(f64(2), f64(5))), 12);
  });
});

describe('two-layer sigmoid network vs hand-derived backprop', () => {
  // h = σ(W1 x + b1), y = σ(W2 h + b2), L = ½‖y − t‖²
  const W1 = [
    [0.1, -0.2, 0.3],
    [0.4, 0.5, -0.6],
  ];
  const b1 = [0.01, -0.02];
  const W2 = [[0.7, -0.8]];
  const b2 = [0.05];
  const x = [1, 2, -1];
  const t = [0.25];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));

  function handBackprop() {
    const z1 = W1.map((row, i) => row.reduce((s, w, j) => s + w * x[j]!, b1[i]!));
    const h = z1.map(sig);
    const z2 = W2.map((row, i) => row.reduce((s, w, j) => s + w * h[j]!, b2[i]!));
    const y = z2.map(sig);
    const L = 0.5 * y.reduce((s, v, i) => s + (v - t[i]!) ** 2, 0);
    const d2 = y.map((v, i) => (v - t[i]!) * v * (1 - v)); // δ2 = (y − t) σ'(z2)
    const gW2 = d2.map((d) => h.map((hv) => d * hv));
    const gb2 = d2;
    const d1 = h.map((hv, j) => W2.reduce((s, row, i) => s + row[j]! * d2[i]!, 0) * hv * (1 - hv)); // δ1 = W2ᵀ δ2 ⊙ σ'(z1)
    const gW1 = d1.map((d) => x.map((xv) => d * xv));
    const gb1 = d1;
    return { L, gW1, gb1, gW2, gb2 };
  }

  it('matches on every parameter, with the parameters as one record', () => {
    const params = { W1: f64(W1), b1: f64(b1), W2: f64(W2), b2: f64(b2) };
    const loss = (p: typeof params) => {
      const h = ct.sigmoid(ct.add(ct.matmul(p.W1, f64(x)), p.b1));
      const y = ct.sigmoid(ct.add(ct.matmul(p.W2, h), p.b2));
      return ct.mul(0.5, ct.sum(ct.square(ct.sub(y, f64(t)))));
    };
    const [L, g] = ct.valueAndGrad(loss)(params) as [ct.Tensor, typeof params];
    const hand = handBackprop();
    close([num(L)], [hand.L]);
    close(g.W1.dataSync(), hand.gW1.flat());
    close(g.b1.dataSync(), hand.gb1);
    close(g.W2.dataSync(), hand.gW2.flat());
    close(g.b2.dataSync(), hand.gb2);
    expect(Object.keys(g).sort()).toEqual(['W1', 'W2', 'b1', 'b2']);
  });
});

describe('nesting without perturbation confusion', () => {
  it('d/dx [x · d/dy (x + y)] = 1', () => {
    const inner = (x: ct.Tensor) => ct.grad((y: ct.Tensor) => ct.add(x, y))(f64(1));
    expect(num(ct.grad((x: ct.Tensor) => ct.mul(x, inner(x)))(f64(3)))).toBe(1);
  });

  it('d/dx [x · d/dy (x · y)] at x = 3 is 2x = 6 (the inner derivative does depend on x)', () => {
    const inner = (x: ct.Tensor) => ct.grad((y: ct.Tensor) => ct.mul(x, y))(f64(7));
    expect(num(ct.grad((x: ct.Tensor) => ct.mul(x, inner(x)))(f64(3)))).toBeCloseTo(6, 12);
  });

  it('the same with forward mode outside and reverse inside, and the other way round', () => {
    const innerRev = (x: ct.Tensor) => ct.grad((y: ct.Tensor) => ct.add(x, y))(f64(1));
    const [, t] = ct.jvp((x: ct.Tensor) => ct.mul(x, innerRev(x)), [f64(3)], [f64(1)]);
    expect(num(t)).toBe(1);
    const innerFwd = (x: ct.Tensor) => ct.jvp((y: ct.Tensor) => ct.add(x, y), [f64(1)], [f64(1)])[1];
    expect(num(ct.grad((x: ct.Tensor) => ct.mul(x, innerFwd(x)))(f64(3)))).toBe(1);
  });

  it('grad(grad(grad(sin))) = −cos', () => {
    const d3 = ct.grad(ct.grad(ct.grad(ct.sin)));
    expect(num(d3(f64(0.3)))).toBeCloseTo(-Math.cos(0.3), 12);
  });

  it('jvp of vjp and vjp of jvp give the second derivative', () => {
    const f = (x: ct.Tensor) => ct.mul(ct.exp(x), ct.sin(x)); // f'' = 2 eˣ cos x
    const x0 = 0.4;
    const expected = 2 * Math.exp(x0) * Math.cos(x0);
    const fprime = (x: ct.Tensor) => ct.vjp(f, x)[1](f64(1))[0] as ct.Tensor;
    expect(num(ct.jvp(fprime, [f64(x0)], [f64(1)])[1])).toBeCloseTo(expected, 10);
    const fprimeFwd = (x: ct.Tensor) => ct.jvp(f, [x], [f64(1)])[1];
    const [, pb] = ct.vjp(fprimeFwd, f64(x0));
    expect(num(pb(f64(1))[0] as ct.Tensor)).toBeCloseTo(expected, 10);
  });

  it('hessian of a cubic and jacfwd(jacrev) agree and are symmetric', () => {
    const f = (v: ct.Tensor) => ct.sum(ct.mul(ct.pow(v, 3), ct.tensor([1, 2, 3], { dtype: 'f64' })));
    const H = ct.hessian(f)(f64([1, -1, 2]));
    expect(H.shape).toEqual([3, 3]);
    close(H.dataSync(), [6, 0, 0, 0, -12, 0, 0, 0, 36]);
    const g = (v: ct.Tensor) => ct.mul(ct.sum(ct.square(v)), ct.sum(v));
    const H2 = ct.hessian(g)(f64([0.5, 1, -2]));
    const a = H2.arraySync() as number[][];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(a[i]![j]).toBeCloseTo(a[j]![i]!, 12);
  });

  it('Jacobians of any shape have shape output ++ input', () => {
    const A = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const f = (X: ct.Tensor) => ct.tanh(ct.matmul(A, X)); // [2,3] x [3,2] -> [2,2]
    const X = f64([
      [0.1, 0.2],
      [0.3, -0.1],
      [0.0, 0.2],
    ]);
    const Jf = ct.jacfwd(f)(X);
    const Jr = ct.jacrev(f)(X);
    expect(Jf.shape).toEqual([2, 2, 3, 2]);
    expect(Jr.shape).toEqual([2, 2, 3, 2]);
    close(Jf.dataSync(), Jr.dataSync(), 1e-12);
  });
});

describe('pytrees and symbolic zeros', () => {
  it('gradients mirror nested arrays and records', () => {
    const tree = { a: [f64(1), f64(2)], b: { c: f64([1, 2, 3]) } };
    const f = (p: typeof tree) => ct.add(ct.mul(p.a[0]!, p.a[1]!), ct.sum(ct.square(p.b.c)));
    const g = ct.grad(f)(tree) as typeof tree;
    expect(num(g.a[0]!)).toBe(2);
    expect(num(g.a[1]!)).toBe(1);
    expect(Array.from(g.b.c.dataSync())).toEqual([2, 4, 6]);
  });

  it('inputs that do not influence the output get exact zeros', () => {
    const f = (x: ct.Tensor, _y: ct.Tensor) => ct.sin(x);
    const [gx, gy] = ct.grad(f, { argnums: [0, 1] })(f64(0), f64([5, 6])) as ct.Tensor[];
    expect(num(gx!)).toBe(1);
    expect(Array.from(gy!.dataSync())).toEqual([0, 0]);
    const [, t] = ct.jvp((_x: ct.Tensor, y: ct.Tensor) => ct.mul(y, 3), [f64(1), f64(2)], [f64(1), f64(0)]);
    expect(num(t)).toBe(0);
  });

  it('runs no rule for branches that no cotangent reaches', () => {
    const counted = (f: (x: ct.Tensor, y: ct.Tensor) => ct.Tensor) => {
      const before = ct.debugCounters().kernelCalls;
      ct.grad(f, { argnums: [0, 1] })(f64([1, 2]), f64([3, 4]));
      return ct.debugCounters().kernelCalls - before;
    };
    const base = counted((x) => ct.sum(ct.sin(x)));
    // y's branch is cut by stopGradient: its forward ops run (exp, sum, stopGradient, add), its VJP rules never do
    const withDeadBranch = counted((x, y) => ct.add(ct.sum(ct.sin(x)), ct.stopGradient(ct.sum(ct.exp(y)))));
    expect(withDeadBranch - base).toBe(4);
  });
});
