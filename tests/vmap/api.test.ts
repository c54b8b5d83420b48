/**
 * vmap's interface: error messages (batched sizes that disagree, an axis out
 * of range, an inAxes count that does not match, outAxes null for a batched
 * output, nothing batched without axisSize, reading values inside vmap),
 * axis specs as trees, axisSize, user primitives without a batching rule (a
 * loop with a one-time notice) and with one (the rule is used), and
 * compositions checked against loops over the examples.
 */
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as ct from '../../src/index.js';
import { assertLaw } from '../../laws/checkers.js';
import {
  checkVmap,
  exampleOf,
  gradOfVmapLaw,
  jacobianVectorizeLaw,
  jitVmapLaw,
  nestedVmapLaw,
  vmapGradLaw,
  vmapLaw,
} from '../../laws/vmap.js';

beforeAll(async () => {
  await ct.init({ backend: 'cpu' });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const t = (values: number[], shape: number[]) => ct.tensor(Float64Array.from(values), { shape, dtype: 'f64', backend: 'cpu' });
const ramp = (shape: number[], offset = 0) =>
  t(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + offset)),
    shape,
  );
const vals = (x: unknown) => Array.from((x as ct.Tensor).dataSync());

describe('vmap: errors', () => {
  const add = (a: ct.Tensor, b: ct.Tensor) => ct.add(a, b);

  it('batched sizes that disagree: names both arguments, their shapes, sizes and axes', () => {
    expect(() => ct.vmap(add, { inAxes: [0, 1] })(ramp([2, 3]), ramp([3, 3, 1]))).toThrow(
      /the batched sizes disagree: argument 0 of shape \[2,3\] has 2 along axis 0, argument 1 of shape \[3,3,1\] has 3 along axis 1/,
    );
    expect(() => ct.vmap(add, { inAxes: [-1, 0] })(ramp([2, 3]), ramp([2, 3]))).toThrow(
      /argument 0 .*3 along axis 1.*argument 1 .*2 along axis 0/,
    );
  });

  it('an axis out of range (positive or negative)', () => {
    expect(() => ct.vmap(ct.neg, { inAxes: 2 })(ramp([2, 3]))).toThrow(
      /inAxes of argument 0 of shape \[2,3\]: axis 2 is out of range for rank 2/,
    );
    expect(() => ct.vmap(ct.neg, { inAxes: -3 })(ramp([2, 3]))).toThrow(/axis -3 is out of range for rank 2/);
    expect(() => ct.vmap(ct.neg, { inAxes: 0 })(ct.scalar(1))).toThrow(/axis 0 is out of range for rank 0/);
    expect(() => ct.vmap(ct.neg, { outAxes: 2 })(ramp([2, 3]))).toThrow(/outAxes of output leaf 0: axis 2 is out of range for rank 2/);
  });

  it('an inAxes array whose length is not the number of arguments', () => {
    expect(() => ct.vmap(add, { inAxes: [0] })(ramp([2]), ramp([2]))).toThrow(/inAxes has 1 entries for 2 argument\(s\)/);
    expect(() => ct.vmap(ct.neg, { inAxes: [0, 0, null] })(ramp([2]))).toThrow(/inAxes has 3 entries for 1 argument\(s\)/);
  });

  it('outAxes null for an output that differs between examples', () => {
    expect(() => ct.vmap(ct.neg, { outAxes: null })(ramp([2, 3]))).toThrow(
      /output leaf 0 differs between examples, but its outAxes is null/,
    );
    // null is fine for an output that is the same for every example
    const [y, shared] = ct.vmap((x: ct.Tensor, w: ct.Tensor) => [ct.mul(x, w), ct.neg(w)], { inAxes: [0, null], outAxes: [0, null] })(
      ramp([2, 3]),
      ramp([3], 5),
    ) as ct.Tensor[];
    expect(y!.shape).toEqual([2, 3]);
    expect(vals(shared)).toEqual(vals(ct.neg(ramp([3], 5))));
  });

  it('no batched argument: axisSize is required, and then the output is broadcast along the batch', () => {
    expect(() => ct.vmap(ct.neg, { inAxes: null })(ramp([3]))).toThrow(/no argument is batched .*give axisSize/);
    const y = ct.vmap(ct.neg, { inAxes: null, axisSize: 4, outAxes: 1 })(ramp([3]));
    expect(y.shape).toEqual([3, 4]);
    expect(vals(y)).toEqual(
      vals(
        ct.stack(
          [0, 1, 2, 3].map(() => ct.neg(ramp([3]))),
          1,
        ),
      ),
    );
    expect(() => ct.vmap(ct.neg, { axisSize: 3 })(ramp([2]))).toThrow(
      /axisSize 3 disagrees with the batched size: argument 0 of shape \[2\] has 2 along axis 0/,
    );
  });

  it('a tree spec that does not match the argument', () => {
    expect(() => ct.vmap((p: { a: ct.Tensor }) => p.a, { inAxes: [{ b: 0 }] })({ a: ramp([2]) })).toThrow(/has no entry for 'a'/);
    expect(() => ct.vmap((p: ct.Tensor[]) => p[0]!, { inAxes: [[0]] })([ramp([2]), ramp([2])])).toThrow(
      /is an array of 2 but its axis spec is \[0\]/,
    );
  });

  it('reading values inside vmap says why it cannot', () => {
    expect(() => ct.vmap((x: ct.Tensor) => ct.scalar(x.dataSync()[0]!))(ramp([2, 3]))).toThrow(
      /inside vmap f64\[3\] is one example of a batch of 2/,
    );
  });
});

describe('vmap: axis specs', () => {
  it('pytrees of arguments with a tree of inAxes, and a tree of outAxes', () => {
    const params = { W: ramp([4, 3]), b: ramp([3], 1) };
    const xs = ramp([4, 5], 2); // batch on axis 1
    const f = (p: { W: ct.Tensor; b: ct.Tensor }, x: ct.Tensor) => ({
      y: ct.tanh(ct.add(ct.matmul(x, p.W), p.b)),
      n: ct.sum(ct.square(x)),
    });
    const out = ct.vmap(f, { inAxes: [{ W: null, b: null }, 1], outAxes: { y: -1, n: 0 } })(params, xs);
    expect(out.y.shape).toEqual([3, 5]);
    expect(out.n.shape).toEqual([5]);
    for (let k = 0; k < 5; k++) {
      const e = f(params, exampleOf(xs, 1, k));
      expect(vals(exampleOf(out.y, 1, k))).toEqual(vals(e.y));
      expect(vals(exampleOf(out.n, 0, k))[0]).toBeCloseTo(vals(e.n)[0]!, 12);
    }
  });

  it('a number leaf argument is passed as it is', () => {
    const y = ct.vmap((x: ct.Tensor, s: number) => ct.mul(x, s), { inAxes: [0, null] })(ramp([3, 2]), 2);
    expect(vals(y)).toEqual(vals(ct.mul(ramp([3, 2]), 2)));
  });
});

describe('vmap: user primitives', () => {
  const def = (name: string, batch?: ct.PrimitiveDefinition['batch']) =>
    ct.definePrimitive({
      name,
      shape: ([x]) => ({ shape: x!.shape.slice(0, -1), dtype: x!.dtype }),
      // the sum of squares along the last axis
      cpu: ([x], _p, out) => {
        const n = x!.shape[x!.shape.length - 1] ?? 1;
        const r = new Float64Array(out.shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < r.length; i++) for (let j = 0; j < n; j++) r[i]! += x!.data[i * n + j]! ** 2;
        return r;
      },
      jvp: ([x], [tx]) => ct.mul(2, ct.sum(ct.mul(x!, tx!), -1)),
      vjp: (c, [x]) => [ct.mul(ct.mul(2, ct.expandDims(c, -1)), x!)],
      ...(batch ? { batch } : {}),
    });

  it('without a batching rule: a loop over the examples, right values and gradients, a notice given once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const op = def('test.vmap.sumsqLoop');
    const x = ramp([3, 2, 4]);
    assertLaw(vmapLaw(op, [x], [1], -1));
    assertLaw(vmapLaw(op, [x], [-1], 0));
    assertLaw(vmapGradLaw((y: ct.Tensor) => ct.sum(op(y)), [x], [0], 2));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/primitive 'test.vmap.sumsqLoop' has no batching rule; it runs once per example/);
  });

  it('with a batching rule (definePrimitive batch): the rule is used, no notice', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    let calls = 0;
    const op = def('test.vmap.sumsqRule', (xs, dims, params, _size, self) => {
      calls++;
      // the batch axis to the front; the reduced (last) axis stays last
      const d = dims[0]!;
      const x = xs[0]!;
      const moved = d === 0 ? x : ct.transpose(x, [d, ...x.shape.map((_, i) => i).filter((i) => i !== d)]);
      return [ct.bind(self, [moved], params), 0];
    });
    const x = ramp([3, 2, 4]);
    assertLaw(vmapLaw(op, [x], [1], -1));
    assertLaw(vmapLaw(op, [x], [0], 0));
    assertLaw(vmapGradLaw((y: ct.Tensor) => ct.sum(op(y)), [x], [-2], 0));
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(warn).not.toHaveBeenCalled();
  });

  it('checkVmap: the kit checks a user batching rule on random cases, and catches a wrong one', () => {
    const toFront = (x: ct.Tensor, d: number) => (d === 0 ? x : ct.transpose(x, [d, ...x.shape.map((_, i) => i).filter((i) => i !== d)]));
    const good = def('test.vmap.sumsqChecked', (xs, dims, params, _size, self) => [ct.bind(self, [toFront(xs[0]!, dims[0]!)], params), 0]);
    fc.assert(checkVmap(good, { domain: { shape: { minRank: 1 } } }), { numRuns: 30 });
    // wrong: the batch axis is not moved, so when it is last the primitive sums over the examples
    const bad = def('test.vmap.sumsqWrong', (xs, _dims, params, _size, self) => [ct.bind(self, xs, params), 0]);
    const r = fc.check(checkVmap(bad, { domain: { shape: { minRank: 1 } } }), { numRuns: 100 });
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/test\.vmap\.sumsqWrong/);
  });

  it('definePrimitive refuses a batch rule that is not a function', () => {
    expect(() =>
      ct.definePrimitive({
        name: 'test.vmap.badBatch',
        shape: ([x]) => x!,
        cpu: ([x]) => x!.data,
        jvp: (_x, [tx]) => tx!,
        vjp: (c) => [c],
        batch: 3 as never,
      }),
    ).toThrow(/field 'batch' must be a function/);
  });
});

describe('vmap: compositions against loops', () => {
  const f = (x: ct.Tensor, w: ct.Tensor) => ct.sum(ct.tanh(ct.matmul(w, ct.sin(x))));
  const g = (x: ct.Tensor, w: ct.Tensor) => ct.tanh(ct.matmul(w, ct.sin(x)));

  it('vmap(grad), grad of Σ vmap, nested vmaps, jit and vmap, vectorized jacobians', () => {
    const xs = ramp([4, 3, 2]);
    const w = ramp([5, 4], 3);
    assertLaw(vmapGradLaw(f, [xs, w], [2, null], [1, 0]));
    assertLaw(gradOfVmapLaw(f, [xs, w], [-1, null]));
    assertLaw(nestedVmapLaw(g, [ramp([2, 4, 3]), ramp([2, 5, 4], 1)], { outerIn: [0, 0], innerIn: [-1, null], outerOut: -1, innerOut: 1 }));
    assertLaw(jitVmapLaw(g, [xs, w], [1, null], -1));
    assertLaw(jacobianVectorizeLaw(g, [ramp([4, 2]), w], 0));
    assertLaw(jacobianVectorizeLaw(g, [ramp([4, 2]), w], 1));
  });

  it('hessian and vjp inside vmap, vmap inside jacfwd and hessian', () => {
    const h = (x: ct.Tensor) => ct.sum(ct.mul(ct.sin(x), ct.exp(x)));
    const xs = ramp([3, 4]);
    assertLaw(vmapLaw((x: ct.Tensor) => ct.hessian(h)(x) as ct.Tensor, [xs], [0], 0));
    assertLaw(vmapLaw((x: ct.Tensor, c: ct.Tensor) => ct.vjp(ct.sin, x)[1](c)[0] as ct.Tensor, [xs, ramp([4, 3], 1)], [0, 1], 1));
    // d/dx of a batched function: the Jacobian of vmap(f) is block-diagonal, each block the example's Jacobian
    const J = ct.jacfwd(ct.vmap((x: ct.Tensor) => ct.mul(ct.sin(x), ct.sum(x))))(xs) as ct.Tensor;
    expect(J.shape).toEqual([3, 4, 3, 4]);
    for (let k = 0; k < 3; k++) {
      const Jk = ct.jacrev((x: ct.Tensor) => ct.mul(ct.sin(x), ct.sum(x)), { vectorize: false })(exampleOf(xs, 0, k)) as ct.Tensor;
      const block = ct.reshape(ct.slice(J, [k, 0, k, 0], [1, 4, 1, 4]), [4, 4]);
      expect(vals(block).map((v) => v.toFixed(10))).toEqual(vals(Jk).map((v) => v.toFixed(10)));
    }
    const H = ct.hessian((x: ct.Tensor) => ct.sum(ct.vmap(h)(x)))(xs) as ct.Tensor;
    const Hk = ct.hessian(h)(exampleOf(xs, 0, 1)) as ct.Tensor;
    expect(vals(ct.reshape(ct.slice(H, [1, 0, 1, 0], [1, 4, 1, 4]), [4, 4])).map((v) => v.toFixed(10))).toEqual(
      vals(Hk).map((v) => v.toFixed(10)),
    );
  });

  it('per-example gradients of a small MLP (parameters shared, examples batched) equal a loop', () => {
    const params = { W1: ramp([4, 6]), b1: ramp([6], 1), W2: ramp([6, 3], 2) };
    const loss = (p: typeof params, x: ct.Tensor, y: ct.Tensor) =>
      ct.sum(ct.square(ct.sub(ct.matmul(ct.tanh(ct.add(ct.matmul(x, p.W1), p.b1)), p.W2), y)));
    const xs = ramp([5, 4], 3);
    const ys = ramp([5, 3], 4);
    const per = ct.vmap(ct.grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys);
    for (let k = 0; k < 5; k++) {
      const e = ct.grad(loss)(params, exampleOf(xs, 0, k), exampleOf(ys, 0, k));
      for (const key of ['W1', 'b1', 'W2'] as const) {
        const got = vals(exampleOf(per[key], 0, k));
        vals(e[key]).forEach((v, i) => {
          expect(got[i]).toBeCloseTo(v, 12);
        });
      }
    }
  });
});
