/**
 * Optimiser laws (every optimiser, and a chain with clipping and a mask):
 * lr = 0 is the identity; on a convex quadratic every optimiser lowers the
 * loss; sgd descends by exactly lr·∇; clipping bounds the global norm;
 * schedules give the documented rates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';

const vals = (t: ct.Tensor) => Array.from(t.dataSync());
const tree = (a: number[], b: number[]) => ({ w: ct.tensor(a, { dtype: 'f64' }), layers: [{ b: ct.tensor(b, { dtype: 'f64' }) }] });
type Tree = ReturnType<typeof tree>;
const leaves = (t: Tree) => [...vals(t.w), ...vals(t.layers[0]!.b)];

// a convex quadratic: ½ Σ c_i (p_i − t_i)²
const quad = (p: Tree) =>
  ct.add(ct.sum(ct.mul(ct.square(ct.sub(p.w, 1)), 2)), ct.sum(ct.mul(ct.square(ct.sub(p.layers[0]!.b, -0.5)), 0.5)));

const optimisers = (lr: number): [string, nn.Optimizer][] => [
  ['sgd', nn.sgd(lr)],
  ['momentum', nn.momentum(lr)],
  ['nesterov', nn.momentum(lr, { nesterov: true })],
  ['adam', nn.adam(lr)],
  ['adamw', nn.adamw(lr, { weightDecay: 0.01 })],
  ['sgd+clip', nn.sgd(lr, { clipNorm: 0.5 })],
  ['rmsprop', nn.rmsprop(lr)],
  ['rmsprop centred with momentum', nn.rmsprop(lr, { centered: true, momentum: 0.5 })],
  ['adagrad', nn.adagrad(lr)],
  ['lion', nn.lion(lr / 5)], // steps of ±lr per coordinate: a smaller rate, as recommended
  [
    'chain',
    nn.asOptimizer(nn.chain(nn.clipByGlobalNorm(2), nn.masked(nn.scaleByAdam(), { w: true, layers: false }), nn.scaleByLearningRate(lr))),
  ],
];

const small = fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 3, maxLength: 3 });

describe('optimisers', () => {
  it('law: lr = 0 leaves the parameters unchanged (for several steps)', () => {
    fc.assert(
      fc.property(small, small, (a, b) => {
        for (const [, opt] of optimisers(0)) {
          let p = tree(a, [b[0]!]);
          let s = opt.init(p);
          for (let i = 0; i < 3; i++) {
            const g = ct.grad(quad)(p) as Tree;
            ({ params: p, state: s } = opt.update(g, s, p));
          }
          expect(leaves(p)).toEqual([...a, b[0]!]);
        }
        return true;
      }),
      { numRuns: 10 },
    );
  });

  it('law: on a convex quadratic each optimiser lowers the loss', () => {
    fc.assert(
      fc.property(small, small, (a, b) => {
        for (const [name, opt] of optimisers(0.05)) {
          let p = tree(a, [b[0]!]);
          const l0 = quad(p).dataSync()[0]!;
          let s = opt.init(p);
          for (let i = 0; i < 20; i++) {
            const g = ct.grad(quad)(p) as Tree;
            ({ params: p, state: s } = opt.update(g, s, p));
          }
          const l1 = quad(p).dataSync()[0]!;
          if (l0 > 1e-9 && !(l1 < l0)) throw new Error(`${name}: loss ${l0} -> ${l1}`);
        }
        return true;
      }),
      { numRuns: 10 },
    );
  });

  it('sgd descends: w ← w − lr·∇; the step count advances; the trees keep their structure', () => {
    const p = tree([1, 2, 3], [4]);
    const g = tree([0.5, -1, 0], [2]);
    const opt = nn.sgd(0.1);
    const r = opt.update(g, opt.init(p), p);
    expect(leaves(r.params)).toEqual([1 - 0.1 * 0.5, 2 - 0.1 * -1, 3 - 0.1 * 0, 4 - 0.1 * 2]); // w − lr·g, leaf by leaf
    expect(r.state.step).toBe(1);
    expect(Object.keys(r.params).sort()).toEqual(['layers', 'w']);
    expect(r.params.layers[0]!.b.shape).toEqual([1]);
  });

  it('adam matches the textbook update on its first two steps', () => {
    const p = { w: ct.tensor([1, -2], { dtype: 'f64' }) };
    const g = { w: ct.tensor([0.3, -4], { dtype: 'f64' }) };
    const opt = nn.adam(0.01);
    let s = opt.init(p);
    let q = p;
    const ref = [1, -2];
    let m = [0, 0];
    let v = [0, 0];
    for (let t = 1; t <= 2; t++) {
      ({ params: q, state: s } = opt.update(g, s, q));
      const gs = [0.3, -4];
      m = m.map((mi, i) => 0.9 * mi + 0.1 * gs[i]!);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * gs[i]! ** 2);
      ref.forEach((_, i) => {
        ref[i] = ref[i]! - (0.01 * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8);
      });
      vals(q.w).forEach((x, i) => {
        expect(x).toBeCloseTo(ref[i]!, 10);
      });
    }
  });

  it('clipByGlobalNorm rescales to the bound and leaves small gradients alone', () => {
    const g = { a: ct.tensor([3, 0], { dtype: 'f64' }), b: ct.tensor([4], { dtype: 'f64' }) };
    const c = nn.clipByGlobalNorm(g, 1);
    expect(nn.globalNorm(c).dataSync()[0]).toBeCloseTo(1, 10);
    expect(vals(c.a)[0]).toBeCloseTo(0.6, 10);
    const d = nn.clipByGlobalNorm(g, 10);
    expect(vals(d.b)).toEqual([4]);
  });

  it('schedules: constant, step decay, cosine, warm-up', () => {
    expect(nn.constant(0.1)(1000)).toBe(0.1);
    expect(nn.stepDecay(1, 10, 0.5)(25)).toBe(0.25);
    const c = nn.cosineDecay(1, 100);
    expect(c(0)).toBe(1);
    expect(c(50)).toBeCloseTo(0.5, 12);
    expect(c(100)).toBeCloseTo(0, 12);
    expect(c(200)).toBeCloseTo(0, 12);
    const w = nn.warmup(4, 0.8);
    expect([0, 1, 2, 3, 4, 10].map(w)).toEqual([0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.8]);
  });

  it('rejects a negative learning rate and mismatched trees', () => {
    expect(() => nn.sgd(-1)).toThrow(/learning rate/);
    const p = { w: ct.tensor([1]) };
    const opt = nn.sgd(0.1);
    expect(() => opt.update({ v: ct.tensor([1]) } as never, opt.init(p), p)).toThrow(/different structures/);
  });
});
