/**
 * User-defined primitives and custom derivative rules: definePrimitive works
 * in every transformation, in graphs, and passes the law kit; customJvp and
 * customVjp nest; the law kit catches broken user rules with a useful report.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { arb, checkGrads, checkPrimitive, type PrimDomain } from '../../laws/index.js';

const f64 = (v: number | number[], shape?: number[]) =>
  ct.tensor(typeof v === 'number' ? [v] : v, { dtype: 'f64', shape: shape ?? (typeof v === 'number' ? [] : [v.length]) });
const vals = (t: unknown) => Array.from((t as ct.Tensor).dataSync(), (v) => v + 0);

// cube(x) = x³;  d cube = 3x² · dx
const cube = ct.definePrimitive({
  name: 'test.cube',
  shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  cpu: ([x]) => x!.data.map((v) => v * v * v),
  jvp: ([x], [t]) => ct.mul(t!, ct.mul(3, ct.square(x!))),
  vjp: (c, [x]) => [ct.mul(c, ct.mul(3, ct.square(x!)))],
  domain: { values: 'real' } satisfies PrimDomain,
});

// hypot(a, b) = √(a² + b²), broadcasting;  d hypot = (a·da + b·db) / hypot
const hypot = ct.definePrimitive({
  name: 'test.hypot',
  shape: ([a, b]) => ({ shape: arb.broadcastShapes(a!.shape, b!.shape), dtype: a!.dtype }),
  cpu: ([a, b], _p, out) => {
    const n = out.shape.reduce((x, y) => x * y, 1);
    const A = ct.broadcastTo(ct.tensor(a!.data, { shape: [...a!.shape], dtype: a!.dtype }), out.shape).dataSync();
    const B = ct.broadcastTo(ct.tensor(b!.data, { shape: [...b!.shape], dtype: b!.dtype }), out.shape).dataSync();
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) r[i] = Math.hypot(A[i]!, B[i]!);
    return out.dtype === 'f64' ? r : Float32Array.from(r);
  },
  jvp: ([a, b], [ta, tb], _p, y) => ct.div(ct.add(ct.mul(a!, ta!), ct.mul(b!, tb!)), y),
  vjp: (c, [a, b], _p, y) => [ct.unbroadcast(ct.div(ct.mul(c, a!), y), a!.shape), ct.unbroadcast(ct.div(ct.mul(c, b!), y), b!.shape)],
  domain: { arity: 2, shapes: 'broadcast', values: ['awayFromZero', 'awayFromZero'] } satisfies PrimDomain,
});

describe('definePrimitive', () => {
  it('works in grad, jvp, jacfwd, jacrev, hessian and grad∘grad', () => {
    const x = f64([1, -2, 0.5]);
    expect(vals(ct.grad((x: ct.Tensor) => ct.sum(cube(x)))(x))).toEqual([3, 12, 0.75]);
    expect(vals(ct.jvp(cube, [x], [f64([1, 1, 1])])[1])).toEqual([3, 12, 0.75]);
    expect(vals(ct.jacfwd(cube)(x))).toEqual(vals(ct.jacrev(cube)(x)));
    expect(vals(ct.hessian((x: ct.Tensor) => ct.sum(cube(x)))(x))).toEqual([6, 0, 0, 0, -12, 0, 0, 0, 3]);
    const g2 = ct.grad((s: ct.Tensor) => ct.grad((u: ct.Tensor) => cube(u))(s))(f64(2));
    expect(vals(g2)).toEqual([12]);
  });

  it('appears in graphs and evaluates with evalGraph', () => {
    const g = ct.makeGraph((x: ct.Tensor) => ct.sin(cube(x)), f64([1, 2]));
    expect(ct.graphToText(g)).toContain('test.cube');
    expect(vals(ct.evalGraph(g, f64([1, 2]))[0])).toEqual([Math.sin(1), Math.sin(8)]);
  });

  it('passes every law of the law kit (its declared domain)', () => {
    fc.assert(checkPrimitive(cube), { numRuns: 25 });
    fc.assert(checkPrimitive(hypot), { numRuns: 25 });
  });

  it('rejects bad definitions with an error naming the field, and a built-in name', () => {
    expect(() =>
      ct.definePrimitive({ name: 'test.bad', shape: ([x]) => x!, cpu: undefined as never, jvp: () => ct.Zero, vjp: () => [] }),
    ).toThrow(/cpu/);
    expect(() =>
      ct.definePrimitive({ name: 'sin', shape: ([x]) => x!, cpu: ([x]) => x!.data, jvp: () => ct.Zero, vjp: () => [null] }),
    ).toThrow(/built-in/);
  });

  it('a broken user rule is caught, with the suspect rule, the case and the seed in the report', () => {
    const broken = ct.definePrimitive({
      name: 'test.brokenCube',
      shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      cpu: ([x]) => x!.data.map((v) => v * v * v),
      jvp: ([x], [t]) => ct.mul(t!, ct.mul(3, ct.square(x!))),
      vjp: (c, [x]) => [ct.mul(c, ct.mul(2, ct.square(x!)))], // wrong factor
    });
    const r = fc.check(checkPrimitive(broken, { laws: ['transpose'] }), { numRuns: 50 });
    expect(r.failed).toBe(true);
    const msg = String((r.errorInstance as Error).message);
    expect(msg).toMatch(/suspect: vjp/);
    expect(msg).toMatch(/primitive 'test.brokenCube'/);
    expect(msg).toMatch(/inputs: f64\[/);
    expect(r.seed).toBeTypeOf('number');
  });

  it('a missing unbroadcast in a user VJP is reported by the shape law', () => {
    const bad = ct.definePrimitive({
      name: 'test.badAdd',
      shape: ([a, b]) => ({ shape: arb.broadcastShapes(a!.shape, b!.shape), dtype: a!.dtype }),
      cpu: ([a, b]) =>
        ct
          .add(ct.tensor(a!.data, { shape: [...a!.shape], dtype: 'f64' }), ct.tensor(b!.data, { shape: [...b!.shape], dtype: 'f64' }))
          .dataSync() as Float64Array,
      jvp: (_x, [ta, tb]) => ct.add(ta!, tb!),
      vjp: (c) => [c, c], // forgot unbroadcast
      domain: { arity: 2, shapes: 'broadcast' } satisfies PrimDomain,
    });
    const r = fc.check(checkPrimitive(bad, { laws: ['shape'] }), { numRuns: 60 });
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/missing unbroadcast/);
  });
});

describe('customJvp', () => {
  // softplus(x) = log(1 + exp(x)), with the stable derivative σ(x)
  const softplus = ct.customJvp(
    (x) => ct.log(ct.add(1, ct.exp(x))),
    ([x], [t]) => ct.mul(t!, ct.sigmoid(x!)),
  );

  it('gives a stable gradient where the naive one is NaN', () => {
    const naive = vals(ct.grad((x: ct.Tensor) => ct.sum(ct.log(ct.add(1, ct.exp(x)))))(f64([1000])));
    expect(Number.isNaN(naive[0])).toBe(true);
    expect(vals(ct.grad((x: ct.Tensor) => ct.sum(softplus(x)))(f64([1000, 0])))).toEqual([1, 0.5]);
  });

  it('passes checkGrads (forward, reverse, second order) and nests', () => {
    fc.assert(
      checkGrads(
        (x) => softplus(x),
        arb.concreteTensor().map((x) => [ct.cast(x, 'f64')]),
      ),
      { numRuns: 20 },
    );
    const h = vals(ct.hessian((x: ct.Tensor) => ct.sum(softplus(x)))(f64([0.3])));
    const s = 1 / (1 + Math.exp(-0.3));
    expect(h[0]).toBeCloseTo(s * (1 - s), 12);
  });

  it('a wrong rule is caught by checkGrads', () => {
    const wrong = ct.customJvp(
      (x) => ct.sin(x),
      ([x], [t]) => ct.mul(t!, ct.sin(x!)),
    );
    const r = fc.check(
      checkGrads((x) => wrong(x), [f64([0.4, 1.2])], { order: 1 }),
      { numRuns: 5 },
    );
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/suspect: jvp/);
  });

  it('is inlined into graphs', () => {
    const g = ct.makeGraph((x: ct.Tensor) => softplus(x), f64([1]));
    expect(g.eqns.map((e) => e.prim)).toEqual(['exp', 'add', 'log']);
  });
});

describe('customVjp', () => {
  // gradient clipping in the backward pass: identity forward, cotangent clipped to [-1, 1]
  const clipGrad = ct.customVjp(
    (x) => x,
    (x) => [x, null] as const,
    (_r, c) => [ct.minimum(ct.maximum(c, -1), 1)],
  );
  // straight-through estimator: round forward, identity backward
  const roundSte = ct.customVjp(
    (x) => ct.sub(x, ct.sub(x, ct.stopGradient(x))),
    (x) => {
      const v = Array.from(x.dataSync()).map(Math.round);
      return [ct.tensor(v, { dtype: x.dtype, shape: [...x.shape] }), null] as const;
    },
    (_r, c) => [c],
  );

  it('clips the cotangent in the backward pass', () => {
    const g = ct.grad((x: ct.Tensor) => ct.sum(ct.mul(clipGrad(x), f64([3, -0.5]))))(f64([1, 2]));
    expect(vals(g)).toEqual([1, -0.5]);
  });

  it('straight-through: rounds forward, passes the gradient through', () => {
    const [v, g] = ct.valueAndGrad((x: ct.Tensor) => ct.sum(roundSte(x)))(f64([0.4, 1.6]));
    expect(vals(v)).toEqual([2]);
    expect(vals(g)).toEqual([1, 1]);
  });

  it('keeps residuals from the forward pass, and forward mode differentiates f', () => {
    let forwards = 0;
    const sq = ct.customVjp(
      (x) => ct.square(x),
      (x) => {
        forwards++;
        return [ct.square(x), ct.mul(x, 2)] as const;
      },
      (twoX, c) => [ct.mul(c, twoX)],
    );
    expect(vals(ct.grad((x: ct.Tensor) => ct.sum(sq(x)))(f64([3])))).toEqual([6]);
    expect(forwards).toBe(1);
    expect(vals(ct.jvp(sq, [f64([3])], [f64([1])])[1])).toEqual([6]);
    expect(vals(ct.hessian((x: ct.Tensor) => ct.sum(sq(x)))(f64([3])))).toEqual([2]);
    fc.assert(
      checkGrads((x) => sq(x), [f64([0.5, -1.5])]),
      { numRuns: 5 },
    );
  });

  it('reports a backward that returns the wrong number of cotangents', () => {
    const bad = ct.customVjp(
      (x) => x,
      (x) => [x, null] as const,
      () => [],
    );
    expect(() => ct.grad((x: ct.Tensor) => ct.sum(bad(x)))(f64([1]))).toThrow(/one cotangent per argument/);
  });
});
