/**
 * scan: values against the same loop written in JavaScript (unrolled ops), derivatives (grad, jvp)
 * against the unrolled loop and against central finite differences, reverse scans, pytree carries
 * and outputs, `length` with xs null, captured values (weights) differentiated, one equation in
 * makeGraph with its body printed, jit equal to eager with the body traced once.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const f64 = (v: number | number[]) => (typeof v === 'number' ? ct.scalar(v, { dtype: 'f64' }) : ct.tensor(v, { dtype: 'f64' }));
const arr = (t: ct.Tensor) => Array.from(t.dataSync());
const close = (a: ct.Tensor, b: ct.Tensor, tol = 1e-10) => {
  expect(a.shape).toEqual(b.shape);
  const x = arr(a);
  const y = arr(b);
  x.forEach((v, i) => {
    expect(Math.abs(v - y[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]!)));
  });
};

// a nonlinear recurrence with a captured weight w: c' = tanh(w·c + x), y = c'·sin(x)
const step = (w: ct.Tensor) => (c: ct.Tensor, x: ct.Tensor) => {
  const c2 = ct.tanh(ct.add(ct.mul(w, c), x));
  return [c2, ct.mul(c2, ct.sin(x))] as const;
};
/** The same loop unrolled in JavaScript: [carry, ys]. */
function unrolled(w: ct.Tensor, c0: ct.Tensor, xs: ct.Tensor, reverse = false): [ct.Tensor, ct.Tensor] {
  const n = xs.shape[0]!;
  let c = c0;
  const ys: ct.Tensor[] = new Array(n);
  for (let t = 0; t < n; t++) {
    const i = reverse ? n - 1 - t : t;
    const x = ct.reshape(ct.slice(xs, [i], [1]), xs.shape.slice(1));
    const [c2, y] = step(w)(c, x);
    c = c2;
    ys[i] = y;
  }
  return [c, ct.stack(ys)];
}
const lossScan = (w: ct.Tensor, c0: ct.Tensor, xs: ct.Tensor, reverse = false) => {
  const [c, ys] = ct.scan(step(w), c0, xs, { reverse });
  return ct.add(ct.sum(ct.square(c)), ct.sum(ct.mul(ys, ct.cos(xs))));
};
const lossLoop = (w: ct.Tensor, c0: ct.Tensor, xs: ct.Tensor, reverse = false) => {
  const [c, ys] = unrolled(w, c0, xs, reverse);
  return ct.add(ct.sum(ct.square(c)), ct.sum(ct.mul(ys, ct.cos(xs))));
};

const w = f64([0.7, -1.1, 0.4]);
const c0 = f64([0.1, 0.2, -0.3]);
const xs = ct.tensor(
  [
    [0.5, -0.2, 0.3],
    [1.0, 0.4, -0.7],
    [-0.6, 0.9, 0.2],
    [0.3, -0.8, 1.1],
    [0.2, 0.1, -0.4],
  ],
  { dtype: 'f64' },
);

/** Central finite difference of a scalar function along a direction, per argument. */
function fd(f: (...a: ct.Tensor[]) => ct.Tensor, args: ct.Tensor[], k: number, dir: ct.Tensor, h = 1e-6): number {
  const at = (s: number) => f(...args.map((a, i) => (i === k ? ct.add(a, ct.mul(dir, s)) : a))).dataSync()[0]!;
  return (at(h) - at(-h)) / (2 * h);
}

describe('scan values', () => {
  for (const reverse of [false, true]) {
    it(`equals the JavaScript loop (reverse=${reverse})`, () => {
      const [c, ys] = ct.scan(step(w), c0, xs, { reverse });
      const [cr, ysr] = unrolled(w, c0, xs, reverse);
      close(c, cr, 0);
      close(ys, ysr, 0);
    });
  }

  it('cumulative sum, forwards and reversed', () => {
    const add = (c: ct.Tensor, x: ct.Tensor) => {
      const s = ct.add(c, x);
      return [s, s] as const;
    };
    const [tot, part] = ct.scan(add, f64(0), f64([1, 2, 3, 4]));
    expect(arr(tot)).toEqual([10]);
    expect(arr(part)).toEqual([1, 3, 6, 10]);
    const [, rpart] = ct.scan(add, f64(0), f64([1, 2, 3, 4]), { reverse: true });
    expect(arr(rpart)).toEqual([10, 9, 7, 4]);
  });

  it('pytree carry, pytree xs and ys, i32 leaves', () => {
    type C = { a: ct.Tensor; n: ct.Tensor; pair: [ct.Tensor, ct.Tensor] };
    const init: C = { a: f64(1), n: ct.scalar(0, { dtype: 'i32', backend: 'cpu' }), pair: [f64([1, 2]), f64(0)] };
    const seq = {
      u: f64([1, 2, 3]),
      v: ct.tensor(
        [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        { dtype: 'f64' },
      ),
    };
    const [c, ys] = ct.scan(
      (c: C, x: { u: ct.Tensor; v: ct.Tensor }): [C, { prod: ct.Tensor; count: ct.Tensor }] => {
        const a = ct.mul(c.a, x.u);
        const p0 = ct.add(c.pair[0], x.v);
        return [
          { a, n: ct.add(c.n, 1), pair: [p0, ct.add(c.pair[1], ct.sum(p0))] },
          { prod: a, count: c.n },
        ];
      },
      init,
      seq,
    );
    expect(arr(c.a)).toEqual([6]);
    expect(c.n.dtype).toBe('i32');
    expect(arr(c.n)).toEqual([3]);
    expect(arr(c.pair[0])).toEqual([3, 4]);
    expect(arr(c.pair[1])).toEqual([4 + 5 + 7]); // p0 = [2,2], [2,3], [3,4]
    expect(arr(ys.prod)).toEqual([1, 2, 6]);
    expect(ys.count.dtype).toBe('i32');
    expect(arr(ys.count)).toEqual([0, 1, 2]);
  });

  it('length with xs null, and the errors', () => {
    const [c, ys] = ct.scan((c: ct.Tensor) => [ct.mul(c, 2), c] as const, f64(1), null, { length: 4 });
    expect(arr(c)).toEqual([16]);
    expect(arr(ys)).toEqual([1, 2, 4, 8]);
    expect(() => ct.scan((c: ct.Tensor) => [c, c] as const, f64(1), null)).toThrow(/length is required/);
    expect(() => ct.scan((c: ct.Tensor, x: ct.Tensor) => [c, x] as const, f64(1), f64([1, 2]), { length: 3 })).toThrow(/disagrees/);
    expect(() => ct.scan((c: ct.Tensor) => [ct.stack([c, c]), c] as const, f64(1), null, { length: 2 })).toThrow(
      /carry leaf 0 is f64\[\] on entry but the body returned f64\[2\]/,
    );
    expect(() => ct.scan((c: ct.Tensor) => [[c] as never, c] as const, f64(1), null, { length: 2 })).toThrow(/structure \[\*\].*has \*/);
  });

  it('the body may not read values (it is traced once)', () => {
    expect(() => ct.scan((c: ct.Tensor) => [c.dataSync()[0]! > 0 ? c : ct.neg(c), c] as const, f64(1), null, { length: 2 })).toThrow(
      /abstract.*cond, where or whileLoop/,
    );
  });
});

describe('scan derivatives', () => {
  for (const reverse of [false, true]) {
    it(`grad equals the unrolled loop's and finite differences (reverse=${reverse})`, () => {
      const g = ct.grad((a: ct.Tensor, b: ct.Tensor, c: ct.Tensor) => lossScan(a, b, c, reverse), { argnums: [0, 1, 2] })(w, c0, xs);
      const gr = ct.grad((a: ct.Tensor, b: ct.Tensor, c: ct.Tensor) => lossLoop(a, b, c, reverse), { argnums: [0, 1, 2] })(w, c0, xs);
      for (let k = 0; k < 3; k++) close(g[k]!, gr[k]!, 1e-12);
      const args = [w, c0, xs];
      const L = (a: ct.Tensor, b: ct.Tensor, c: ct.Tensor) => lossScan(a, b, c, reverse);
      for (let k = 0; k < 3; k++) {
        const dir = ct.cos(ct.mul(ct.add(args[k]!, 0.3), 5)); // a fixed, generic direction
        const want = fd(L, args, k, dir);
        const got = ct.sum(ct.mul(g[k]!, dir)).dataSync()[0]!;
        expect(Math.abs(got - want)).toBeLessThan(1e-7);
      }
    });

    it(`jvp equals the unrolled loop's (reverse=${reverse})`, () => {
      const tans: [ct.Tensor, ct.Tensor, ct.Tensor] = [f64([1, 0.5, -1]), f64([0.2, -0.1, 0.3]), ct.mul(xs, 0.1)];
      const [y, dy] = ct.jvp((a: ct.Tensor, b: ct.Tensor, c: ct.Tensor) => lossScan(a, b, c, reverse), [w, c0, xs], tans);
      const [yr, dyr] = ct.jvp((a: ct.Tensor, b: ct.Tensor, c: ct.Tensor) => lossLoop(a, b, c, reverse), [w, c0, xs], tans);
      close(y, yr, 1e-14);
      close(dy, dyr, 1e-12);
    });
  }

  it('second order: jvp of grad equals that of the unrolled loop', () => {
    const gs = (a: ct.Tensor) => ct.grad((v: ct.Tensor) => lossScan(v, c0, xs))(a);
    const gl = (a: ct.Tensor) => ct.grad((v: ct.Tensor) => lossLoop(v, c0, xs))(a);
    const t = f64([1, -1, 0.5]);
    close(ct.jvp(gs, [w], [t])[1], ct.jvp(gl, [w], [t])[1], 1e-10);
    close(ct.grad((a: ct.Tensor) => ct.sum(ct.square(gs(a))))(w), ct.grad((a: ct.Tensor) => ct.sum(ct.square(gl(a))))(w), 1e-10);
  });

  it('gradients through a pytree carry with an integer leaf and xs null', () => {
    const L = (a: ct.Tensor) => {
      const [c] = ct.scan(
        (c: { v: ct.Tensor; k: ct.Tensor }) => [{ v: ct.mul(ct.sin(c.v), a), k: ct.add(c.k, 1) }, null] as const,
        { v: a, k: ct.scalar(0, { dtype: 'i32', backend: 'cpu' }) },
        null,
        { length: 3 },
      );
      return ct.sum(c.v);
    };
    const Lr = (a: ct.Tensor) => {
      let v = a;
      for (let i = 0; i < 3; i++) v = ct.mul(ct.sin(v), a);
      return ct.sum(v);
    };
    close(ct.grad(L)(f64([0.3, 1.2])), ct.grad(Lr)(f64([0.3, 1.2])), 1e-13);
  });
});

describe('scan in graphs and jit', () => {
  it('is one equation in makeGraph, with its body printed and drawn as a cluster', () => {
    const g = ct.makeGraph((a: ct.Tensor, b: ct.Tensor, c: ct.Tensor) => lossScan(a, b, c), w, c0, xs);
    expect(g.eqns.filter((e) => e.prim === 'scan')).toHaveLength(1);
    expect(g.eqns.filter((e) => e.prim === 'tanh')).toHaveLength(0); // not unrolled
    const text = ct.graphToText(g);
    expect(text).toMatch(/= scan\[length=5 reverse=false numConsts=1 numCarry=1/);
    expect(text).toMatch(/\n {6}body = \{ lambda ; /);
    expect(text).toMatch(/\n {10}\w+:f64\[3\] = tanh \w+/);
    const dot = ct.graphToDot(g);
    expect(dot).toMatch(/subgraph cluster_\w+_body \{/);
    expect(dot).toMatch(/label="scan body"/);
    // evalGraph runs the scan equation
    close(ct.evalGraph(g, w, c0, xs)[0]!, lossLoop(w, c0, xs), 1e-14);
  });

  it('jit(scan) equals eager, traces the body once, and differentiates', () => {
    let bodyTraces = 0;
    const body = (c: ct.Tensor, x: ct.Tensor) => {
      bodyTraces++;
      return step(w)(c, x);
    };
    const L = (b: ct.Tensor, c: ct.Tensor) => {
      const [cf, ys] = ct.scan(body, b, c);
      return ct.add(ct.sum(ct.square(cf)), ct.sum(ct.mul(ys, ct.cos(c))));
    };
    const jl = ct.jit(L);
    const before = ct.debugCounters().traces;
    close(jl(c0, xs), lossLoop(w, c0, xs), 1e-14);
    expect(bodyTraces).toBe(1);
    close(jl(ct.mul(c0, 2), xs), lossLoop(w, ct.mul(c0, 2), xs), 1e-14);
    expect(bodyTraces).toBe(1); // cached program: the body is not traced again
    expect(ct.debugCounters().traces - before).toBe(1);
    expect(jl.lower(c0, xs)).toMatch(/: \w+ = scan /);
    const g = ct.grad(jl, { argnums: [0, 1] })(c0, xs);
    const gr = ct.grad((b: ct.Tensor, c: ct.Tensor) => lossLoop(w, b, c), { argnums: [0, 1] })(c0, xs);
    close(g[0], gr[0], 1e-12);
    close(g[1], gr[1], 1e-12);
    close(ct.jit(ct.grad(L))(c0, xs), gr[0], 1e-12);
  });
});
