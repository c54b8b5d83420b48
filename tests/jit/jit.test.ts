/**
 * The behaviour of `ct.jit` as a user sees it: pytrees in and out, static and
 * donated arguments, the errors (reading a value while tracing, mixed
 * backends), nesting, composition with every transformation (each compared
 * with values computed by hand in plain JavaScript), memory, `lower`, and what
 * fusion saves. The laws (jit ≡ eager on every primitive and random programs)
 * are in laws.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { formatFailure, jitEquivalenceLaw } from '../../laws/index.js';

beforeAll(async () => {
  await ct.init({ backend: 'wasm' });
  await ct.init({ backend: 'cpu' });
});

const traces = () => ct.debugCounters().traces;
/** Traces (and the result) of running `fn`. */
function tracesOf<T>(fn: () => T): { result: T; traced: number } {
  const before = traces();
  const result = fn();
  return { result, traced: traces() - before };
}

const cpu = (v: number[] | number[][], dtype: ct.DType = 'f64') => ct.tensor(v, { dtype, backend: 'cpu' });
const vals = (t: unknown) => Array.from((t as ct.Tensor).dataSync());

/** Elementwise closeness to a plain-JavaScript reference. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) expect.fail(`element ${i}: got ${a}, expected ${e}`);
  }
}

describe('arguments and results', () => {
  it('takes and returns pytrees; number leaves are static', () => {
    const f = (p: { w: ct.Tensor; b: [ct.Tensor, number] }, scale: number) => ({
      y: ct.mul(ct.add(p.w, p.b[0]), scale),
      parts: [ct.sum(p.w), p.b[1] * 2] as const,
    });
    const jf = ct.jit(f);
    const w = cpu([1, 2, 3]);
    const b = cpu([10, 20, 30]);
    const first = tracesOf(() => jf({ w, b: [b, 4] }, 2));
    expect(first.traced).toBe(1);
    expect(vals(first.result.y)).toEqual([22, 44, 66]);
    expect(vals(first.result.parts[0])).toEqual([6]);
    expect(first.result.parts[1]).toBe(8); // a number output stays a number
    expect(tracesOf(() => jf({ b: [b, 4], w }, 2)).traced).toBe(0); // the same tree (record keys in any order)
    const other = tracesOf(() => jf({ w, b: [b, 4] }, 3)); // a new number leaf: a new program
    expect(other.traced).toBe(1);
    expect(vals(other.result.y)).toEqual([33, 66, 99]);
    expect(tracesOf(() => jf({ w: cpu([1, 2]), b: [cpu([1, 1]), 4] }, 2)).traced).toBe(1); // a new shape
    expect(tracesOf(() => jf({ w: cpu([1, 2], 'f32'), b: [cpu([1, 1], 'f32'), 4] }, 2)).traced).toBe(1); // a new dtype
    expect(tracesOf(() => jf({ w, b: [b, 4] }, 2)).traced).toBe(0);
  });

  it('staticArgnums: retraces on a new static value and not on an equal one (plain data by value, functions by identity)', () => {
    const act = { tanh: ct.tanh, relu: ct.relu };
    const f = (x: ct.Tensor, opts: { act: 'tanh' | 'relu'; k: number }, post: (t: ct.Tensor) => ct.Tensor) =>
      post(ct.mul(act[opts.act](x), opts.k));
    const jf = ct.jit(f, { staticArgnums: [1, 2] });
    const x = cpu([-1, 0.5, 2]);
    const neg = (t: ct.Tensor) => ct.neg(t);
    const a = tracesOf(() => jf(x, { act: 'tanh', k: 2 }, neg));
    expect(a.traced).toBe(1);
    expectClose(
      vals(a.result),
      [-1, 0.5, 2].map((v) => -2 * Math.tanh(v)),
    );
    expect(tracesOf(() => jf(x, { k: 2, act: 'tanh' }, neg)).traced).toBe(0); // an equal object
    const b = tracesOf(() => jf(x, { act: 'relu', k: 2 }, neg));
    expect(b.traced).toBe(1);
    expect(vals(b.result)).toEqual([-0, -1, -4]);
    expect(tracesOf(() => jf(x, { act: 'relu', k: 2 }, (t) => ct.neg(t))).traced).toBe(1); // another function object
    expect(tracesOf(() => jf(cpu([3, 4, 5]), { act: 'relu', k: 2 }, neg)).traced).toBe(0); // new values, same signature
  });

  it('rejects bad static and donated argument indices', () => {
    const f = (x: ct.Tensor) => x;
    expect(() => ct.jit(f, { staticArgnums: 0, donateArgnums: 0 })).toThrow(/both static and donated/);
    expect(() => ct.jit(f, { staticArgnums: -1 })).toThrow(/non-negative integers/);
    expect(() => ct.jit(f, { staticArgnums: 3 })(cpu([1]))).toThrow(/out of range/);
    expect(() => ct.jit(f, { donateArgnums: 2 })(cpu([1]))).toThrow(/out of range/);
  });

  it('cacheSize counts the programs and clearCache forgets them', () => {
    const jf = ct.jit((x: ct.Tensor) => ct.exp(x));
    expect(jf.cacheSize).toBe(0);
    jf(cpu([1]));
    jf(cpu([2]));
    expect(jf.cacheSize).toBe(1);
    jf(cpu([1, 2]));
    expect(jf.cacheSize).toBe(2);
    jf.clearCache();
    expect(jf.cacheSize).toBe(0);
    expect(tracesOf(() => jf(cpu([1]))).traced).toBe(1);
  });
});

describe('donated arguments', () => {
  it('frees a donated tensor; using it afterwards is an error naming the donation; the outputs are right', () => {
    const f = (x: ct.Tensor, y: ct.Tensor) => ct.add(ct.mul(x, 2), y);
    const jf = ct.jit(f, { donateArgnums: 0 });
    const x = cpu([1, 2, 3]);
    const y = cpu([10, 20, 30]);
    const out = jf(x, y);
    expect(vals(out)).toEqual([12, 24, 36]);
    expect(() => x.dataSync()).toThrow(/donated/);
    expect(() => ct.add(x, 1)).toThrow(/donated/);
    expect(() => jf(x, y)).toThrow(/donated/); // calling again with the donated tensor
    expect(vals(y)).toEqual([10, 20, 30]); // not donated: untouched
  });

  it('a donated tensor also passed in a non-donated position is not freed', () => {
    const jf = ct.jit((x: ct.Tensor, y: ct.Tensor) => ct.sub(ct.exp(x), y), { donateArgnums: 0 });
    const x = cpu([0, 1]);
    const out = jf(x, x);
    expectClose(vals(out), [1 - 0, Math.E - 1]);
    expect(vals(x)).toEqual([0, 1]);
  });

  it('a donated tensor returned as an output stays valid (it is the output)', () => {
    const jf = ct.jit((x: ct.Tensor, y: ct.Tensor) => [x, ct.add(x, y)] as const, { donateArgnums: 0 });
    const x = cpu([1, 2]);
    const [a, b] = jf(x, cpu([1, 1]));
    expect(vals(a)).toEqual([1, 2]);
    expect(vals(b)).toEqual([2, 3]);
  });
});

describe('errors', () => {
  it('reading a value inside jit explains tracing and names ct.cond, ct.whileLoop and ct.where', () => {
    const f = (x: ct.Tensor) => (x.dataSync()[0]! > 0 ? x : ct.neg(x));
    const jf = ct.jit(f);
    let message = '';
    try {
      jf(cpu([1, -2]));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/jit/);
    expect(message).toMatch(/ct\.where/);
    expect(message).toMatch(/ct\.cond\(pred/);
    expect(message).toMatch(/ct\.whileLoop/);
    expect(message).toMatch(/dataSync/);
    // the same function written with where runs
    const g = ct.jit((x: ct.Tensor) => ct.where(ct.greater(x, 0), x, ct.neg(x)));
    expect(vals(g(cpu([1, -2])))).toEqual([1, 2]);
  });

  it('checkNumerics: a fused kernel producing NaN from finite inputs names its ops; nothing is left allocated', () => {
    const f = ct.jit((x: ct.Tensor) => ct.mul(ct.log(ct.sub(x, 2)), 3));
    const x = cpu([1, 3]);
    f(x).dispose(); // traced and run without the check
    const before = ct.memoryStats().liveTensors;
    ct.setDebug({ checkNumerics: true });
    try {
      expect(() => f(x)).toThrow(/jit fused kernel \(sub, log, mul\): produced a non-finite value from finite inputs/);
    } finally {
      ct.setDebug({ checkNumerics: false });
    }
    expect(ct.memoryStats().liveTensors).toBe(before);
  });

  it('arguments on different backends are an error naming both', () => {
    const jf = ct.jit((a: ct.Tensor, b: ct.Tensor) => ct.add(a, b));
    const a = ct.tensor([1, 2], { dtype: 'f32', backend: 'cpu' });
    const b = ct.tensor([1, 2], { dtype: 'f32', backend: 'wasm' });
    expect(() => jf(a, b)).toThrow(/different backends \(cpu and wasm\)/);
  });

  it('a captured tensor on another backend is copied to the arguments’ backend', () => {
    const c = ct.tensor([1, 2, 3], { dtype: 'f32', backend: 'cpu' });
    const jf = ct.jit((x: ct.Tensor) => ct.mul(x, c));
    const y = jf(ct.tensor([2, 2, 2], { dtype: 'f32', backend: 'wasm' }));
    expect(y.backendName).toBe('wasm');
    expect(vals(y)).toEqual([2, 4, 6]);
  });
});

describe('composition', () => {
  // f(x) = Σ sin(x)·x: ∂f/∂x = cos(x)·x + sin(x); ∂²f/∂x² = 2cos(x) − x·sin(x) (diagonal)
  const f = (x: ct.Tensor) => ct.sum(ct.mul(ct.sin(x), x));
  const xs = [0.3, -1.2, 2];
  const grad = xs.map((v) => Math.cos(v) * v + Math.sin(v));
  const hess = xs.map((v) => 2 * Math.cos(v) - v * Math.sin(v));
  const x = () => cpu(xs);

  it('grad(jit f), jit(grad f) and grad f agree with the derivative by hand', () => {
    expectClose(vals(ct.grad(ct.jit(f))(x())), grad);
    expectClose(vals(ct.jit(ct.grad(f))(x())), grad);
    expectClose(vals(ct.grad(f)(x())), grad);
  });

  it('jvp(jit f) and vjp(jit f)', () => {
    const g = (v: ct.Tensor) => ct.mul(ct.sin(v), v); // elementwise: J = diag(grad)
    const t = [1, -2, 0.5];
    const [y, jt] = ct.jvp(ct.jit(g), [x()], [cpu(t)]);
    expectClose(
      vals(y),
      xs.map((v) => Math.sin(v) * v),
    );
    expectClose(
      vals(jt),
      grad.map((d, i) => d * t[i]!),
    );
    const [, pb] = ct.vjp(ct.jit(g), x());
    expectClose(
      vals((pb(cpu(t)) as ct.Tensor[])[0]),
      grad.map((d, i) => d * t[i]!),
    );
  });

  it('jacrev(jit f), jacfwd(jit f) and hessian(jit f)', () => {
    const g = (v: ct.Tensor) => ct.mul(ct.sin(v), v);
    const diag = (d: number[]) => d.flatMap((v, i) => d.map((_, j) => (i === j ? v : 0)));
    expectClose(vals(ct.jacrev(ct.jit(g))(x())), diag(grad));
    expectClose(vals(ct.jacfwd(ct.jit(g))(x())), diag(grad));
    expectClose(vals(ct.hessian(ct.jit(f))(x())), diag(hess));
    expectClose(vals(ct.jit(ct.hessian(f))(x())), diag(hess));
  });

  it('grad through a jitted call traces the derivative program once', () => {
    const jf = ct.jit(f);
    const gf = ct.grad(jf);
    const first = tracesOf(() => gf(x()));
    expect(first.traced).toBeGreaterThanOrEqual(2); // the function and its VJP program
    expect(tracesOf(() => gf(cpu([1, 2, 3]))).traced).toBe(0);
    expectClose(vals(first.result), grad);
  });

  it('a jitted function with integer label inputs, differentiated with respect to its float input', () => {
    // loss(w, labels) = mean over i of −log softmax(w[i])[labels[i]]; ∂/∂w = (softmax(w) − onehot(labels)) / batch
    const loss = (w: ct.Tensor, labels: ct.Tensor) => ct.sum(ct.softmaxCrossEntropy(w, labels));
    const w = [
      [0.1, -0.4, 2],
      [1, 0.5, -1],
    ];
    const labels = ct.tensor([2, 0], { dtype: 'i32', backend: 'cpu' });
    const expected = w.flatMap((row, i) => {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v, j) => (v / s - (j === [2, 0][i] ? 1 : 0)) / 2);
    });
    const jl = ct.jit(loss);
    expectClose(vals(ct.grad(jl, { argnums: 0 })(cpu(w), labels)), expected);
    expectClose(vals(ct.jit(ct.grad(loss, { argnums: 0 }))(cpu(w), labels)), expected);
    expect(vals(labels)).toEqual([2, 0]);
  });

  it('a jitted function closing over an outer transformation’s tracer gives the right derivative', () => {
    const c = cpu([1, 2, 3]);
    // d/dx Σ (x·y) at y = c is Σ c = 6
    expectClose(
      vals(ct.grad((v: ct.Tensor) => ct.sum(ct.jit((y: ct.Tensor) => ct.mul(v, y))(c)))(ct.scalar(0.7, { dtype: 'f64', backend: 'cpu' }))),
      [6],
    );
    // d/dx Σ sin(x)·y at y = c is cos(x)·Σ c
    const g = ct.grad((v: ct.Tensor) => ct.sum(ct.jit((y: ct.Tensor) => ct.mul(ct.sin(v), y))(c)));
    expectClose(vals(g(ct.scalar(0.4, { dtype: 'f64', backend: 'cpu' }))), [Math.cos(0.4) * 6]);
  });

  it('jit(grad f) of a function capturing a tensor on a backend other than the default one', async () => {
    await ct.init({ backend: 'cpu' });
    const w = ct.tensor([3, 4], { dtype: 'f32', backend: 'wasm' });
    const g = ct.grad((a: ct.Tensor) => ct.sum(ct.mul(a, w)));
    expect(vals(ct.jit(g)(ct.tensor([1, 2], { dtype: 'f32', backend: 'wasm' })))).toEqual([3, 4]);
  });
});

describe('nesting', () => {
  it('an inner jit is inlined: the outer traces once per signature, the inner never on its own', () => {
    const inner = ct.jit((x: ct.Tensor) => ct.exp(ct.neg(x)));
    const outer = ct.jit((x: ct.Tensor) => ct.add(inner(x), inner(ct.mul(x, 2))));
    const x = cpu([0, 1]);
    const first = tracesOf(() => outer(x));
    expect(first.traced).toBe(1);
    expectClose(vals(first.result), [2, Math.exp(-1) + Math.exp(-2)]);
    expect(tracesOf(() => outer(cpu([3, 4]))).traced).toBe(0);
    expect(outer.lower(x)).not.toMatch(/jit_call/);
    expect(tracesOf(() => inner(x)).traced).toBe(1); // called on its own it compiles its own program
  });
});

describe('memory', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: a call leaves no live tensors beyond its outputs; 1000 calls keep memory flat`, () => {
      const f = (a: ct.Tensor, b: ct.Tensor) => {
        const h = ct.tanh(ct.add(ct.matmul(a, b), 1));
        return { y: ct.sum(ct.square(h)), h: ct.mul(h, 0.5) };
      };
      const jf = ct.jit(f);
      const a = ct.tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { dtype: 'f32', backend },
      );
      const b = ct.tensor([[0.1], [0.2], [0.3]], { dtype: 'f32', backend });
      const warm = jf(a, b); // the first call traces (and keeps the program's constants)
      warm.y.dispose();
      warm.h.dispose();
      const before = ct.memoryStats();
      const out = jf(a, b);
      expect(ct.memoryStats().liveTensors - before.liveTensors).toBe(2);
      out.y.dispose();
      out.h.dispose();
      const mid = ct.memoryStats();
      expect(mid.liveTensors).toBe(before.liveTensors);
      expect(mid.liveBytes).toBe(before.liveBytes);
      for (let i = 0; i < 1000; i++) {
        const o = jf(a, b);
        o.y.dispose();
        o.h.dispose();
      }
      const after = ct.memoryStats();
      expect(after.liveTensors).toBe(before.liveTensors);
      expect(after.liveBytes).toBe(before.liveBytes);
      expect(after.backendBuffers[backend]!.bytes).toBeLessThanOrEqual(mid.backendBuffers[backend]!.bytes);
    });
  }
});

describe('lower and fusion', () => {
  const chain = (x: ct.Tensor, y: ct.Tensor) => ct.sqrt(ct.add(ct.square(ct.tanh(ct.exp(ct.mul(x, y)))), 1));

  it('lower shows the equations, a fused group and the generated code', () => {
    const x = cpu([0.1, 0.2, 0.3], 'f32');
    const text = ct.jit(chain).lower(x, x);
    for (const op of ['exp', 'mul', 'tanh', 'square', 'add', 'sqrt']) expect(text).toContain(op);
    expect(text).toMatch(/fused#\d+/);
    expect(text).toMatch(/fused\[3\]/);
    expect(text).toMatch(/generated JavaScript/);
    expect(text).toMatch(/function fusedKernel/);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: fuse: false gives the same values as fused, and fusion launches fewer kernels`, () => {
      const x = ct.tensor([0.1, -0.2, 0.3, 2], { dtype: 'f32', backend });
      const y = ct.tensor([[1], [2], [-3]], { dtype: 'f32', backend });
      const fused = ct.jit(chain);
      const unfused = ct.jit(chain, { fuse: false });
      fused(x, y);
      unfused(x, y); // trace both first
      const d0 = ct.debugCounters().dispatches;
      const a = fused(x, y);
      const d1 = ct.debugCounters().dispatches;
      const b = unfused(x, y);
      const d2 = ct.debugCounters().dispatches;
      expect(vals(a)).toEqual(vals(b));
      expect(vals(a)).toEqual(vals(chain(x, y)));
      expect(d2 - d1).toBe(6); // one kernel per op
      expect(d1 - d0).toBeLessThan(d2 - d1);
      expect(d1 - d0).toBe(1); // the whole chain in one fused kernel
      expect(unfused.lower(x, y)).not.toMatch(/fused#/);
    });
  }

  it('the passes keep special values bit for bit: −0, NaN and infinities through x + 0, x − 0, x · 1, −(−x)', () => {
    const x = ct.tensor([-0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1.5], { dtype: 'f64', backend: 'cpu' });
    const zero = ct.zerosLike(x);
    const negZero = ct.neg(zero);
    const one = ct.onesLike(x);
    const fs: [string, (t: ct.Tensor) => ct.Tensor][] = [
      ['x + (+0)', (t) => ct.add(t, zero)],
      ['(+0) + x', (t) => ct.add(zero, t)],
      ['x + (−0)', (t) => ct.add(t, negZero)],
      ['x − (+0)', (t) => ct.sub(t, zero)],
      ['x − (−0)', (t) => ct.sub(t, negZero)],
      ['x · 1', (t) => ct.mul(t, one)],
      ['−(−x)', (t) => ct.neg(ct.neg(t))],
    ];
    for (const [what, f] of fs) {
      const r = jitEquivalenceLaw(f, [x], { exact: true, derivatives: false });
      expect(r.ok ? '' : `${what}: ${formatFailure(r)}`).toBe('');
    }
  });

  it('optimize: false gives the same values', () => {
    const f = (x: ct.Tensor) => ct.add(ct.mul(ct.reshape(ct.reshape(x, [2, 2]), [4]), 1), ct.mul(x, 1));
    const x = cpu([1, -2, 3, 0.5]);
    expect(vals(ct.jit(f, { optimize: false })(x))).toEqual(vals(f(x)));
    expect(vals(ct.jit(f)(x))).toEqual(vals(f(x)));
  });
});
