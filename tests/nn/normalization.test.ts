/**
 * layerNorm and batchNorm: the functions equal the mean/variance formulas
 * written out with loops; the layers pass the layer laws (shapes, input and
 * parameter derivatives against finite differences, no leaks) in inference
 * and training mode; batchNorm's running statistics follow the documented
 * update through applyWithState (also under jit) and inference uses them;
 * bad shapes are ShapeErrors naming the op.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { checkLayer, type LayerLike } from '../../laws/layers.js';
import { prng } from '../../laws/numeric.js';

const f64 = (values: number[], shape: number[]) => ct.tensor(values, { shape, dtype: 'f64', backend: 'cpu' });
const rand = (shape: number[], seed: number, scale = 1) => {
  const r = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};
/** A parameter as f64 on the cpu backend. */
const toF64 = (l: unknown) => {
  const t = l as ct.Tensor;
  return ct.tensor(t.dataSync(), { shape: [...t.shape], dtype: 'f64', backend: 'cpu' });
};
const values = (t: ct.Tensor) => Array.from(t.dataSync());
const expectClose = (a: readonly number[], b: readonly number[], tol = 1e-9) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]!)));
  });
};

/** Row-major index of `idx` in `shape`. */
const at = (shape: readonly number[], idx: readonly number[]) => idx.reduce((o, v, i) => o * shape[i]! + v, 0);
/** Every index of `shape`. */
const indices = (shape: readonly number[]): number[][] =>
  shape.reduce<number[][]>((acc, d) => acc.flatMap((p) => Array.from({ length: d }, (_, i) => [...p, i])), [[]]);

/** The normalisation over `axes` written out: for each position of the other axes, mean and biased variance by loops. */
function normalizeRef(x: number[], shape: number[], axes: number[], eps: number, gamma?: number[], beta?: number[]): number[] {
  const out = new Array<number>(x.length).fill(0);
  const other = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const inner = axes.map((a) => shape[a]!);
  for (const o of indices(other.map((i) => shape[i]!))) {
    const full = (k: number[]) => {
      const idx = new Array<number>(shape.length);
      other.forEach((a, j) => {
        idx[a] = o[j]!;
      });
      axes.forEach((a, j) => {
        idx[a] = k[j]!;
      });
      return at(shape, idx);
    };
    const ks = indices(inner);
    let s = 0;
    for (const k of ks) s += x[full(k)]!;
    const m = s / ks.length;
    let v = 0;
    for (const k of ks) v += (x[full(k)]! - m) ** 2;
    v /= ks.length;
    for (const k of ks) {
      const p = at(inner, k);
      out[full(k)] = ((x[full(k)]! - m) / Math.sqrt(v + eps)) * (gamma ? gamma[p]! : 1) + (beta ? beta[p]! : 0);
    }
  }
  return out;
}

describe('functional layerNorm', () => {
  it('equals the formula over the last axis, several axes and negative axes', () => {
    const shape = [2, 3, 4];
    const xv = rand(shape, 1, 3);
    const x = f64(xv, shape);
    const g = rand([4], 2);
    const b = rand([4], 3);
    expectClose(values(nn.functional.layerNorm(x, f64(g, [4]), f64(b, [4]))), normalizeRef(xv, shape, [2], 1e-5, g, b));
    const g2 = rand([3, 4], 4);
    const b2 = rand([3, 4], 5);
    const y2 = nn.functional.layerNorm(x, f64(g2, [3, 4]), f64(b2, [3, 4]), { axis: [-2, -1], eps: 1e-3 });
    expectClose(values(y2), normalizeRef(xv, shape, [1, 2], 1e-3, g2, b2));
    const g3 = rand([2, 4], 6);
    const y3 = nn.functional.layerNorm(x, f64(g3, [2, 4]), undefined, { axis: [2, 0] });
    expectClose(values(y3), normalizeRef(xv, shape, [0, 2], 1e-5, g3));
    expectClose(values(nn.functional.layerNorm(x, undefined, undefined, { axis: 1 })), normalizeRef(xv, shape, [1], 1e-5));
  });

  it('is a ShapeError naming layerNorm for a wrong gamma, a bad axis or no axis', () => {
    const x = f64(rand([2, 3], 1), [2, 3]);
    expect(() => nn.functional.layerNorm(x, f64([1, 1], [2]), undefined)).toThrow(/layerNorm: gamma \[2\] must have the shape/);
    expect(() => nn.functional.layerNorm(x, undefined, undefined, { axis: 2 })).toThrow(/layerNorm: axis 2 is out of bounds/);
    expect(() => nn.functional.layerNorm(x, undefined, undefined, { axis: [] })).toThrow(/layerNorm: at least one axis/);
    expect(() => nn.functional.layerNorm(x, undefined, undefined, { eps: -1 })).toThrow(ct.ShapeError);
  });
});

describe('functional batchNorm', () => {
  it('equals the formula with batch statistics (features last and features on axis 1)', () => {
    const shape = [5, 3];
    const xv = rand(shape, 7, 2);
    const g = rand([3], 8);
    const b = rand([3], 9);
    const y = nn.functional.batchNorm(f64(xv, shape), f64(g, [3]), f64(b, [3]));
    // features last: normalise over the batch axis for each feature, i.e. over axis 0
    const ref = normalizeRef(xv, shape, [0], 1e-5);
    expectClose(
      values(y),
      ref.map((v, i) => v * g[i % 3]! + b[i % 3]!),
    );
    const s2 = [2, 3, 4];
    const x2 = rand(s2, 10);
    const y2 = nn.functional.batchNorm(f64(x2, s2), undefined, undefined, { axis: 1 });
    expectClose(values(y2), normalizeRef(x2, s2, [0, 2], 1e-5));
  });

  it('normalises with the given mean and variance', () => {
    const xv = rand([4, 2], 11);
    const mean = [0.5, -1];
    const variance = [2, 0.25];
    const y = nn.functional.batchNorm(f64(xv, [4, 2]), f64([3, 4], [2]), f64([1, 0], [2]), {
      mean: f64(mean, [2]),
      variance: f64(variance, [2]),
      eps: 0,
    });
    expectClose(
      values(y),
      xv.map((v, i) => ((v - mean[i % 2]!) / Math.sqrt(variance[i % 2]!)) * [3, 4][i % 2]! + [1, 0][i % 2]!),
    );
    expect(() => nn.functional.batchNorm(f64(xv, [4, 2]), undefined, undefined, { mean: f64(mean, [2]) })).toThrow(
      /batchNorm: give both mean and variance/,
    );
    expect(() => nn.functional.batchNorm(f64(xv, [8]), undefined, undefined)).toThrow(/batchNorm: x must have a batch axis/);
  });
});

/** A layer applied in training mode (the laws call apply without a context). */
const training = (l: nn.AnyLayer): LayerLike => ({
  name: `${l.name} (training)`,
  init: (k, s) => l.init(k as nn.Key, s),
  apply: (p, x) => l.apply(p, x as never, { training: true }),
});

describe('normalisation layers pass the layer laws', () => {
  const combinators = { serial: nn.serial, identity: nn.identity };
  it('layerNorm over the last axis and over two axes', () => {
    fc.assert(checkLayer(nn.layerNorm(), [2, 5], { combinators }), { numRuns: 3 });
    fc.assert(checkLayer(nn.layerNorm({ axis: [1, 2] }), [2, 2, 3]), { numRuns: 2 });
  });
  it('batchNorm in inference and in training mode', () => {
    fc.assert(checkLayer(nn.batchNorm(), [4, 3], { combinators }), { numRuns: 3 });
    fc.assert(checkLayer(training(nn.batchNorm()), [4, 3]), { numRuns: 3 });
    fc.assert(checkLayer(training(nn.batchNorm({ axis: 1 })), [2, 3, 2]), { numRuns: 2 });
  });
});

describe('batchNorm layer state', () => {
  const n = 6;
  const c = 3;
  const xv = rand([n, c], 21, 4).map((v, i) => v + (i % c));
  const x = f64(xv, [n, c]);
  const col = (j: number) => xv.filter((_, i) => i % c === j);
  const meanOf = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const varOf = (a: number[], unbiased: boolean) => {
    const m = meanOf(a);
    return a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - (unbiased ? 1 : 0));
  };

  it('training mode normalises with the batch and reports (1 − m)·running + m·batch (unbiased variance)', () => {
    const layer = nn.batchNorm({ momentum: 0.25 });
    const p0 = ct.treeMap(layer.init(nn.random.key(0), [-1, c]).params, toF64);
    const { output, params: p1 } = nn.applyWithState(layer, p0, x);
    expectClose(values(output as ct.Tensor), normalizeRef(xv, [n, c], [0], 1e-5));
    const m1 = [0, 1, 2].map((j) => 0.75 * 0 + 0.25 * meanOf(col(j)));
    const v1 = [0, 1, 2].map((j) => 0.75 * 1 + 0.25 * varOf(col(j), true));
    expectClose(values(p1.runningMean), m1);
    expectClose(values(p1.runningVar), v1);
    expect(p1.gamma).toBe(p0.gamma);
    expect(values(p0.runningMean)).toEqual([0, 0, 0]); // the tree passed in is unchanged
    // a second step starts from the first one's statistics
    const { params: p2 } = nn.applyWithState(layer, p1, x);
    expectClose(
      values(p2.runningMean),
      m1.map((m, j) => 0.75 * m + 0.25 * meanOf(col(j))),
    );
    // inference normalises with the running statistics
    const yEval = layer.apply(p2, x, { training: false });
    const rm = values(p2.runningMean);
    const rv = values(p2.runningVar);
    expectClose(
      values(yEval),
      xv.map((v, i) => (v - rm[i % c]!) / Math.sqrt(rv[i % c]! + 1e-5)),
    );
    // plain apply in training mode (outside applyWithState) computes the same output
    expectClose(values(layer.apply(p0, x, { training: true })), values(output as ct.Tensor));
  });

  it('state inside serial is replaced in place in the tree; other leaves are the same tensors; jit agrees', () => {
    const model = nn.serial(nn.dense(4), nn.batchNorm(), nn.relu, nn.dense(2));
    const params = ct.treeMap(model.init(nn.random.key(3), [-1, c]).params, toF64);
    const { params: next } = nn.applyWithState(model, params, x);
    expect(next[0]).toBe(params[0]);
    expect(next[3]).toBe(params[3]);
    expect(next[1].gamma).toBe(params[1].gamma);
    expect(next[1].runningMean).not.toBe(params[1].runningMean);
    const h = values(nn.dense(4).apply(params[0], x));
    const ref = [0, 1, 2, 3].map((j) => 0.1 * meanOf(h.filter((_, i) => i % 4 === j)));
    expectClose(values(next[1].runningMean), ref);
    const jitted = ct.jit((p: typeof params, xi: ct.Tensor) => nn.applyWithState(model, p, xi).params[1]);
    const j = jitted(params, x);
    expectClose(values(j.runningMean), ref);
    expectClose(values(j.runningVar), values(next[1].runningVar));
  });

  it('bad options and inputs are ShapeErrors naming batchNorm', () => {
    expect(() => nn.batchNorm({ momentum: 2 })).toThrow(/batchNorm: momentum must be in \[0, 1\]/);
    expect(() => nn.batchNorm().init(nn.random.key(0), [-1])).toThrow(/batchNorm\(0.1\): expects a batch axis and a feature axis/);
    expect(() => nn.batchNorm({ axis: 0 }).init(nn.random.key(0), [-1, 3])).toThrow(/must not be the batch axis/);
    const layer = nn.batchNorm();
    const p = layer.init(nn.random.key(0), [-1, 3]).params;
    expect(() => layer.apply(p, ct.ones([1, 3]), { training: true })).toThrow(/at least 2 values per feature/);
  });
});

describe('batchNorm under trainStep and fit', () => {
  it('each step carries the running statistics (jitted and op by op); the optimiser does not move them', () => {
    const xv = rand([8, 2], 61, 3).map((v, i) => v + 2 * (i % 2));
    const labels = ct.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'i32' });
    const x = ct.tensor(xv, { shape: [8, 2] });
    const col = (j: number) => xv.filter((_, i) => i % 2 === j);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const uvar = (a: number[]) => a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1);
    for (const jit of [true, false]) {
      const model = nn.serial(nn.batchNorm(), nn.dense(3));
      const params = model.init(nn.random.key(1), [-1, 2]).params;
      const opt = nn.adamw(0.1, { weightDecay: 0.5 });
      const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt, { jit, donate: false });
      const r = step(params, opt.init(params), x, labels);
      const bn = r.params[0];
      expect(
        Array.from(bn.runningMean.dataSync())
          .map((v, j) => v - 0.1 * mean(col(j)))
          .every((d) => Math.abs(d) < 1e-5),
      ).toBe(true);
      expect(
        Array.from(bn.runningVar.dataSync())
          .map((v, j) => v - (0.9 + 0.1 * uvar(col(j))))
          .every((d) => Math.abs(d) < 1e-4),
      ).toBe(true);
      // gamma is trained (it moved), the dense layer too
      expect(Array.from(bn.gamma.dataSync()).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);
      step.release();
    }
  });

  it('fit trains a batch-normalised model whose inference uses the running statistics it learned', async () => {
    // two classes: points around (10, 10) and around (14, 6) (far from 0 mean / 1 variance: the statistics matter)
    const r = prng(71);
    const n = 64;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 2;
      xs.push(c ? 14 + r() : 10 + r(), c ? 6 + r() : 10 + r());
      ys.push(c);
    }
    const data: nn.Dataset = { name: 'blobs', x: new Float32Array(xs), y: new Int32Array(ys), exampleShape: [2], numClasses: 2 };
    const model = nn.serial(nn.dense(8), nn.batchNorm(), nn.relu, nn.dense(2));
    const params = model.init(nn.random.key(2), [-1, 2]).params;
    const result = await nn.fit(model, params, data, {
      loss: nn.softmaxCrossEntropy,
      optimizer: nn.adam(0.05),
      epochs: 8,
      batchSize: 16,
      key: nn.random.key(3),
    });
    const bn = result.params[1];
    expect(Array.from(bn.runningMean.dataSync()).some((v) => Math.abs(v) > 0.5)).toBe(true); // moved from 0
    const ev = await nn.evaluate(model, result.params, data, { loss: nn.softmaxCrossEntropy });
    expect(ev.accuracy).toBe(1);
  });
});
