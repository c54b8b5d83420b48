/**
 * cond, foriLoop and whileLoop: values against JavaScript control flow, derivatives against the
 * branch / loop written out, errors (mismatched branches, grad through whileLoop), their equations in
 * makeGraph and jit (a cond under jit reads its predicate when the program runs; both predicates are
 * checked), and the wasm backend.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const f64 = (v: number | number[]) => (typeof v === 'number' ? ct.scalar(v, { dtype: 'f64' }) : ct.tensor(v, { dtype: 'f64' }));
const arr = (t: ct.Tensor) => Array.from(t.dataSync());
const close = (a: ct.Tensor, b: ct.Tensor, tol = 1e-12) => {
  expect(a.shape).toEqual(b.shape);
  const y = arr(b);
  arr(a).forEach((v, i) => {
    expect(Math.abs(v - y[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]!)));
  });
};

// the branches: a log where x > 0 (NaN elsewhere), a polynomial otherwise
const pos = (x: ct.Tensor, k: ct.Tensor) => ct.mul(ct.log(x), k);
const neg = (x: ct.Tensor, k: ct.Tensor) => ct.add(ct.mul(x, x), k);
const piecewise = (x: ct.Tensor, k: ct.Tensor) => ct.cond(ct.greater(ct.sum(x), 0), pos, neg, x, k);

describe('cond', () => {
  const xp = f64([0.5, 2]);
  const xn = f64([-0.5, -2]);
  const k = f64(3);

  it('takes the right branch and differentiates through it', () => {
    close(piecewise(xp, k), pos(xp, k), 0);
    close(piecewise(xn, k), neg(xn, k), 0);
    for (const x of [xp, xn]) {
      const branch = x === xp ? pos : neg;
      const g = ct.grad((a: ct.Tensor, b: ct.Tensor) => ct.sum(piecewise(a, b)), { argnums: [0, 1] })(x, k);
      const gr = ct.grad((a: ct.Tensor, b: ct.Tensor) => ct.sum(branch(a, b)), { argnums: [0, 1] })(x, k);
      close(g[0], gr[0]);
      close(g[1], gr[1]);
      const t = f64([1, -0.5]);
      close(ct.jvp((a: ct.Tensor) => piecewise(a, k), [x], [t])[1], ct.jvp((a: ct.Tensor) => branch(a, k), [x], [t])[1]);
    }
  });

  it('pytree operands and outputs, captured values, a boolean or number predicate', () => {
    const w = f64(10);
    const r = ct.cond(
      true,
      (o: { a: ct.Tensor; b: ct.Tensor }) => ({ s: ct.add(o.a, w), d: [ct.sub(o.a, o.b)] }),
      (o: { a: ct.Tensor; b: ct.Tensor }) => ({ s: o.b, d: [o.a] }),
      { a: f64(1), b: f64(2) },
    );
    expect(arr(r.s)).toEqual([11]);
    expect(arr(r.d[0]!)).toEqual([-1]);
    expect(
      arr(
        ct.cond(
          0,
          () => f64(1),
          () => f64(2),
        ),
      ),
    ).toEqual([2]);
  });

  it('mismatched branches are errors naming the mismatch', () => {
    const x = f64([1, 2]);
    expect(() =>
      ct.cond(
        true,
        (a: ct.Tensor) => a,
        (a: ct.Tensor) => ct.sum(a),
        x,
      ),
    ).toThrow(/cond.*output leaf 0: f64\[2\] \(true\) vs f64\[\] \(false\)/);
    expect(() =>
      ct.cond(
        true,
        (a: ct.Tensor) => a,
        (a: ct.Tensor) => ct.cast(a, 'f32'),
        x,
      ),
    ).toThrow(/f64\[2\] \(true\) vs f32\[2\]/);
    expect(() =>
      ct.cond(
        true,
        (a: ct.Tensor) => [a, a],
        (a: ct.Tensor) => [a] as never,
        x,
      ),
    ).toThrow(/different structures: \[\*, \*\] \(true\) vs \[\*\] \(false\)/);
    expect(() =>
      ct.cond(
        f64([1, 0]),
        (a: ct.Tensor) => a,
        (a: ct.Tensor) => a,
        x,
      ),
    ).toThrow(/predicate must be a scalar/);
  });

  it('is one equation in makeGraph with both branches; evalGraph and jit run the taken branch', () => {
    const g = ct.makeGraph(piecewise, xp, k);
    expect(g.eqns.filter((e) => e.prim === 'cond')).toHaveLength(1);
    expect(g.eqns.filter((e) => e.prim === 'log')).toHaveLength(0);
    const text = ct.graphToText(g);
    expect(text).toMatch(/trueBranch = \{ lambda/);
    expect(text).toMatch(/falseBranch = \{ lambda/);
    expect(ct.graphToDot(g)).toMatch(/subgraph cluster_\w+_trueBranch[\s\S]*subgraph cluster_\w+_falseBranch/);
    close(ct.evalGraph(g, xp, k)[0]!, pos(xp, k), 0);
    close(ct.evalGraph(g, xn, k)[0]!, neg(xn, k), 0);
    const jp = ct.jit(piecewise);
    close(jp(xp, k), pos(xp, k), 0);
    close(jp(xn, k), neg(xn, k), 0); // same program, the other branch
    expect(jp.cacheSize).toBe(1);
    // derivatives of the jitted cond: only the taken branch runs, so the log of a negative number never reaches the gradient
    const gj = ct.grad((a: ct.Tensor) => ct.sum(jp(a, k)))(xn);
    close(gj, ct.grad((a: ct.Tensor) => ct.sum(neg(a, k)))(xn));
    close(ct.jit(ct.grad((a: ct.Tensor) => ct.sum(piecewise(a, k))))(xp), ct.grad((a: ct.Tensor) => ct.sum(pos(a, k)))(xp));
    const t = f64([0.3, 1]);
    close(ct.jvp((a: ct.Tensor) => jp(a, k), [xn], [t])[1], ct.jvp((a: ct.Tensor) => neg(a, k), [xn], [t])[1]);
  });

  it('inside a scan body, per step', () => {
    // a sawtooth: add x, subtract 10 once past 10
    const [c, ys] = ct.scan(
      (c: ct.Tensor, x: ct.Tensor) => {
        const s = ct.add(c, x);
        const r = ct.cond(
          ct.greater(s, 10),
          (v: ct.Tensor) => ct.sub(v, 10),
          (v: ct.Tensor) => v,
          s,
        );
        return [r, r] as const;
      },
      f64(0),
      f64([4, 4, 4, 4, 4]),
    );
    expect(arr(ys)).toEqual([4, 8, 2, 6, 10]);
    expect(arr(c)).toEqual([10]);
    // d/dx0 of the final value through the per-step conds is 1 (every branch passes v through)
    const g = ct.grad(
      (xs: ct.Tensor) =>
        ct.scan(
          (c: ct.Tensor, x: ct.Tensor) => {
            const s = ct.mul(ct.add(c, x), 1.5);
            return [
              ct.cond(
                ct.greater(s, 10),
                (v: ct.Tensor) => ct.mul(v, 0.5),
                (v: ct.Tensor) => v,
                s,
              ),
              null,
            ] as const;
          },
          f64(0),
          xs,
        )[0],
    )(f64([4, 4, 4]));
    // s1 = 6 (no), s2 = 15 → 7.5 (halved), s3 = 17.25 → 8.625 (halved): d/dx3 = 1.5·0.5, d/dx2 = 1.5·0.5·1.5·0.5, d/dx1 = that·1.5
    close(g, f64([1.5 * 0.75 * 0.75, 0.75 * 0.75, 0.75]));
  });
});

describe('foriLoop', () => {
  const x = f64([0.5, -1.5, 2]);
  const powLoop = (v: ct.Tensor) => ct.foriLoop(0, 5, (_i, acc: ct.Tensor) => ct.mul(acc, v), ct.onesLike(v));

  it('equals a JavaScript loop, with i the step index as a scalar i32', () => {
    close(powLoop(x), ct.pow(x, 5));
    const seen: string[] = [];
    const s = ct.foriLoop(
      2,
      6,
      (i: ct.Tensor, acc: ct.Tensor) => {
        seen.push(`${i.dtype}[${i.shape.join(',')}]`);
        return ct.add(acc, ct.cast(ct.mul(i, i), 'f64'));
      },
      f64(0),
    );
    expect(arr(s)).toEqual([4 + 9 + 16 + 25]);
    expect(seen).toEqual(['i32[]']); // traced once
    expect(arr(ct.foriLoop(3, 3, (_i, a: ct.Tensor) => ct.mul(a, 2), f64(7)))).toEqual([7]);
  });

  it('is differentiable in both modes (a scan over the trip count)', () => {
    close(ct.grad((v: ct.Tensor) => ct.sum(powLoop(v)))(x), ct.mul(ct.pow(x, 4), 5));
    close(ct.jvp(powLoop, [x], [f64([1, 1, 1])])[1], ct.mul(ct.pow(x, 4), 5));
    const g = ct.makeGraph(powLoop, x);
    expect(g.eqns.filter((e) => e.prim === 'scan')).toHaveLength(1);
  });

  it('with tensor bounds it is a while loop', () => {
    const hi = ct.scalar(4, { dtype: 'i32', backend: 'cpu' });
    const r = ct.foriLoop(
      ct.scalar(1, { dtype: 'i32', backend: 'cpu' }),
      hi,
      (i, acc: ct.Tensor) => ct.mul(acc, ct.cast(i, 'f64')),
      f64(1),
    );
    expect(arr(r)).toEqual([6]);
  });
});

describe('whileLoop', () => {
  const doubleUntil = (x: ct.Tensor) =>
    ct.whileLoop(
      (c: { v: ct.Tensor; n: ct.Tensor }) => ct.less(ct.sum(c.v), 100),
      (c: { v: ct.Tensor; n: ct.Tensor }) => ({ v: ct.mul(c.v, 2), n: ct.add(c.n, 1) }),
      { v: x, n: f64(0) },
    );

  it('runs until the condition fails (like a JavaScript while)', () => {
    const r = doubleUntil(f64([1, 2]));
    let v = [1, 2];
    let n = 0;
    while (v[0]! + v[1]! < 100) {
      v = v.map((e) => e * 2);
      n++;
    }
    expect(arr(r.v)).toEqual(v);
    expect(arr(r.n)).toEqual([n]);
    const none = doubleUntil(f64([60, 60]));
    expect(arr(none.v)).toEqual([60, 60]);
  });

  it('forward mode works; grad is a clear error', () => {
    const [y, dy] = ct.jvp((x: ct.Tensor) => doubleUntil(x).v, [f64([1, 2])], [f64([1, 0])]);
    expect(arr(y)).toEqual([64, 128]);
    expect(arr(dy)).toEqual([64, 0]);
    expect(() => ct.grad((x: ct.Tensor) => ct.sum(doubleUntil(x).v))(f64([1, 2]))).toThrow(
      /whileLoop.*trip count depends on the values.*use scan, or foriLoop/,
    );
  });

  it('is one equation in makeGraph and runs under jit', () => {
    const g = ct.makeGraph((x: ct.Tensor) => doubleUntil(x).v, f64([1, 2]));
    expect(g.eqns.filter((e) => e.prim === 'while')).toHaveLength(1);
    expect(ct.graphToText(g)).toMatch(/cond = \{ lambda[\s\S]*body = \{ lambda/);
    expect(arr(ct.jit((x: ct.Tensor) => doubleUntil(x).v)(f64([3, 4])))).toEqual([48, 64]);
    const [, dy] = ct.jvp(
      ct.jit((x: ct.Tensor) => doubleUntil(x).v),
      [f64([1, 2])],
      [f64([0, 1])],
    );
    expect(arr(dy)).toEqual([0, 64]);
  });
});

describe('on the wasm backend', () => {
  it('scan, cond, foriLoop, whileLoop give the cpu results (f32)', async () => {
    await ct.init({ backend: 'wasm' });
    const on = (b: 'cpu' | 'wasm', v: number[]) => ct.tensor(v, { backend: b });
    const run = (b: 'cpu' | 'wasm') => {
      const w = on(b, [0.7, -1.1]);
      const xs = ct.reshape(on(b, [0.5, -0.2, 1.0, 0.4, -0.6, 0.9]), [3, 2]);
      const L = (w: ct.Tensor) => {
        const [c, ys] = ct.scan(
          (c: ct.Tensor, x: ct.Tensor) => [ct.tanh(ct.add(ct.mul(w, c), x)), ct.sin(c)] as const,
          ct.zerosLike(w),
          xs,
        );
        const d = ct.cond(
          ct.greater(ct.sum(c), 0),
          (v: ct.Tensor) => ct.mul(v, 2),
          (v: ct.Tensor) => ct.neg(v),
          c,
        );
        const p = ct.foriLoop(0, 3, (_i, a: ct.Tensor) => ct.mul(a, w), ct.onesLike(w));
        const q = ct.whileLoop(
          (a: ct.Tensor) => ct.less(ct.sum(a), 10),
          (a: ct.Tensor) => ct.add(a, 3),
          ct.zerosLike(w),
        );
        return ct.add(ct.add(ct.sum(d), ct.sum(ys)), ct.add(ct.sum(p), ct.sum(q)));
      };
      return [L(w), ct.grad(L)(w), ct.jit(L)(w)].map((t) => {
        expect(t.backendName).toBe(b);
        return arr(t);
      });
    };
    const cpu = run('cpu');
    const wasm = run('wasm');
    wasm.forEach((a, k) => {
      a.forEach((v, i) => {
        expect(Math.abs(v - cpu[k]![i]!)).toBeLessThan(1e-5);
      });
    });
  });
});
