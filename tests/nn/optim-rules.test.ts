/**
 * Every optimiser against its update rule written out by hand (loops over
 * plain numbers, f64) for several steps: bias correction, Nesterov, centred
 * RMSprop with momentum, Adagrad's initial accumulator, Lion's sign update
 * and decoupled weight decay, schedules. The ε of each rule is set large
 * enough that putting it in the wrong place would show.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';

const P0 = [0.5, -1.2, 2, 0.3]; // w (3) then b (1)
/** The gradient fed at (1-based) step t: fixed, of both signs, different per coordinate. */
const gradAt = (t: number): number[] => P0.map((_, i) => Math.sin(1.3 * t + i) * (i + 1));
const tree = (xs: readonly number[]) => ({
  w: ct.tensor(xs.slice(0, 3), { dtype: 'f64' }),
  layers: [{ b: ct.tensor(xs.slice(3), { dtype: 'f64' }) }],
});
type Tree = ReturnType<typeof tree>;
const flat = (t: Tree): number[] => [...Array.from(t.w.dataSync()), ...Array.from(t.layers[0]!.b.dataSync())];

/** The parameters after each of `steps` updates of `opt`. */
function run(opt: nn.Optimizer, steps: number): number[][] {
  let p = tree(P0);
  let s = opt.init(p);
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    ({ params: p, state: s } = opt.update(tree(gradAt(t)), s, p));
    out.push(flat(p));
  }
  return out;
}

/** The same with a hand-written rule: `step(p, g, t)` changes p in place (t is 1-based). */
function reference(steps: number, step: (p: number[], g: number[], t: number) => void): number[][] {
  const p = [...P0];
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    step(p, gradAt(t), t);
    out.push([...p]);
  }
  return out;
}

const zeros = () => P0.map(() => 0);
const STEPS = 5;

function expectClose(got: number[][], want: number[][]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((row, t) => {
    row.forEach((x, i) => {
      expect(x, `step ${t + 1}, coordinate ${i}`).toBeCloseTo(want[t]![i]!, 12);
    });
  });
}

describe('optimisers follow their update rules', () => {
  it('sgd with a cosine schedule: w ← w − lr_t·g', () => {
    const sched = nn.cosineDecay(0.1, 4);
    expectClose(
      run(nn.sgd(sched), STEPS),
      reference(STEPS, (p, g, t) => {
        p.forEach((_, i) => {
          p[i]! -= sched(t - 1) * g[i]!;
        });
      }),
    );
  });

  for (const nesterov of [false, true]) {
    it(`momentum${nesterov ? ' (Nesterov)' : ''}: v ← μv + g; w ← w − lr·${nesterov ? '(g + μv)' : 'v'}`, () => {
      const v = zeros();
      expectClose(
        run(nn.momentum(0.05, { momentum: 0.8, nesterov }), STEPS),
        reference(STEPS, (p, g) => {
          p.forEach((_, i) => {
            v[i] = 0.8 * v[i]! + g[i]!;
            p[i]! -= 0.05 * (nesterov ? g[i]! + 0.8 * v[i] : v[i]);
          });
        }),
      );
    });
  }

  const adamRef = (lr: number, wd: number, decays: (i: number) => boolean = () => true) => {
    const m = zeros();
    const v = zeros();
    return reference(STEPS, (p, g, t) => {
      p.forEach((_, i) => {
        m[i] = 0.8 * m[i]! + 0.2 * g[i]!;
        v[i] = 0.9 * v[i]! + 0.1 * g[i]! ** 2;
        const mh = m[i] / (1 - 0.8 ** t);
        const vh = v[i] / (1 - 0.9 ** t);
        p[i]! -= lr * (mh / (Math.sqrt(vh) + 0.05) + (decays(i) ? wd * p[i]! : 0));
      });
    });
  };

  it('adam with bias correction: w ← w − lr·m̂/(√v̂ + ε)', () => {
    expectClose(run(nn.adam(0.01, { beta1: 0.8, beta2: 0.9, eps: 0.05 }), STEPS), adamRef(0.01, 0));
  });

  it('adamw: decoupled weight decay w ← w − lr·(m̂/(√v̂ + ε) + wd·w); a mask limits the decay', () => {
    const o = { beta1: 0.8, beta2: 0.9, eps: 0.05, weightDecay: 0.3 };
    expectClose(run(nn.adamw(0.01, o), STEPS), adamRef(0.01, 0.3));
    expectClose(
      run(nn.adamw(0.01, { ...o, mask: { w: true, layers: false } }), STEPS),
      adamRef(0.01, 0.3, (i) => i < 3),
    );
  });

  it('rmsprop: ν ← ρν + (1−ρ)g²; w ← w − lr·g/(√ν + ε)', () => {
    const nu = zeros();
    expectClose(
      run(nn.rmsprop(0.01, { decay: 0.7, eps: 0.05 }), STEPS),
      reference(STEPS, (p, g) => {
        p.forEach((_, i) => {
          nu[i] = 0.7 * nu[i]! + 0.3 * g[i]! ** 2;
          p[i]! -= (0.01 * g[i]!) / (Math.sqrt(nu[i]) + 0.05);
        });
      }),
    );
  });

  it('rmsprop centred with momentum: b ← βb + g/(√(ν − μ²) + ε); w ← w − lr·b', () => {
    const [mu, nu, b] = [zeros(), zeros(), zeros()];
    expectClose(
      run(nn.rmsprop(0.01, { decay: 0.7, eps: 0.05, centered: true, momentum: 0.6 }), STEPS),
      reference(STEPS, (p, g) => {
        p.forEach((_, i) => {
          mu[i] = 0.7 * mu[i]! + 0.3 * g[i]!;
          nu[i] = 0.7 * nu[i]! + 0.3 * g[i]! ** 2;
          b[i] = 0.6 * b[i]! + g[i]! / (Math.sqrt(nu[i] - mu[i] ** 2) + 0.05);
          p[i]! -= 0.01 * b[i];
        });
      }),
    );
  });

  it('adagrad: acc ← acc + g² from the initial accumulator; w ← w − lr·g/(√acc + ε)', () => {
    const acc = P0.map(() => 0.25);
    expectClose(
      run(nn.adagrad(0.1, { initialAccumulator: 0.25, eps: 0.05 }), STEPS),
      reference(STEPS, (p, g) => {
        p.forEach((_, i) => {
          acc[i]! += g[i]! ** 2;
          p[i]! -= (0.1 * g[i]!) / (Math.sqrt(acc[i]!) + 0.05);
        });
      }),
    );
  });

  it('lion: w ← w − lr·(sign(β₁m + (1−β₁)g) + wd·w), then m ← β₂m + (1−β₂)g; each step moves a weight by lr·(±1 + wd·w)', () => {
    const m = zeros();
    const got = run(nn.lion(0.02, { beta1: 0.7, beta2: 0.95, weightDecay: 0.5 }), STEPS);
    const want = reference(STEPS, (p, g) => {
      p.forEach((_, i) => {
        const c = 0.7 * m[i]! + 0.3 * g[i]!;
        p[i]! -= 0.02 * (Math.sign(c) + 0.5 * p[i]!);
        m[i] = 0.95 * m[i]! + 0.05 * g[i]!;
      });
    });
    expectClose(got, want);
    // without decay the steps are exactly ±lr
    const plain = run(nn.lion(0.02, { weightDecay: 0 }), 3);
    [P0, ...plain].slice(1).forEach((row, t) => {
      row.forEach((x, i) => {
        expect(Math.abs(Math.abs(x - [P0, ...plain][t]![i]!) - 0.02)).toBeLessThan(1e-15);
      });
    });
  });

  it('clipNorm clips the gradient by its global norm before the rule', () => {
    expectClose(
      run(nn.sgd(0.1, { clipNorm: 0.5 }), 3),
      reference(3, (p, g) => {
        const n = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
        const s = Math.min(0.5 / (n + 1e-12), 1);
        p.forEach((_, i) => {
          p[i]! -= 0.1 * s * g[i]!;
        });
      }),
    );
  });

  it('every optimiser is the chain its documentation names (same numbers)', () => {
    const pairs: [nn.Optimizer, nn.GradientTransformation[]][] = [
      [nn.adamw(0.01, { weightDecay: 0.2 }), [nn.scaleByAdam(), nn.addDecayedWeights(0.2), nn.scaleByLearningRate(0.01)]],
      [nn.lion(0.01), [nn.scaleByLion(), nn.addDecayedWeights(1e-3), nn.scaleByLearningRate(0.01)]],
      [nn.rmsprop(0.01, { momentum: 0.9 }), [nn.scaleByRms(), nn.traceMomentum({ momentum: 0.9 }), nn.scaleByLearningRate(0.01)]],
      [nn.adagrad(0.1), [nn.scaleByRss(), nn.scaleByLearningRate(0.1)]],
    ];
    for (const [opt, parts] of pairs) expect(run(nn.asOptimizer(nn.chain(...parts)), 3)).toEqual(run(opt, 3));
  });

  it('the named optimisers keep their slot names and configurations (checkpoints stay readable)', () => {
    const p = tree(P0);
    expect(Object.keys(nn.sgd(0.1).init(p).slots)).toEqual([]);
    expect(Object.keys(nn.momentum(0.1).init(p).slots)).toEqual(['v']);
    expect(Object.keys(nn.adam(0.1).init(p).slots)).toEqual(['m', 'v']);
    expect(Object.keys(nn.adamw(0.1).init(p).slots)).toEqual(['m', 'v']);
    expect(Object.keys(nn.rmsprop(0.1, { centered: true, momentum: 0.5 }).init(p).slots)).toEqual(['mu', 'nu', 'v']);
    expect(Object.keys(nn.adagrad(0.1).init(p).slots)).toEqual(['acc']);
    expect(Object.keys(nn.lion(0.1).init(p).slots)).toEqual(['m']);
    expect(nn.adam(nn.cosineDecay(0.01, 10), { clipNorm: 1 }).config).toEqual({
      name: 'adam',
      lr: 'cosineDecay(0.01, 10, 0)',
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      clipNorm: 1,
    });
    expect(nn.momentum(0.1).config).toEqual({ name: 'momentum', lr: 0.1, momentum: 0.9, nesterov: false });
    expect(nn.lion(1e-4).config).toEqual({ name: 'lion', lr: 1e-4, beta1: 0.9, beta2: 0.99, weightDecay: 1e-3 });
  });

  it('bad hyper-parameters are errors naming the optimiser or transformation and the field', () => {
    expect(() => nn.rmsprop(-1)).toThrow(/rmsprop: learning rate must be a finite number ≥ 0/);
    expect(() => nn.adam(0.1, { beta1: 1 })).toThrow(/scaleByAdam: beta1 must be in \[0, 1\), got 1/);
    expect(() => nn.rmsprop(0.1, { decay: -0.1 })).toThrow(/scaleByRms: decay must be in \[0, 1\)/);
    expect(() => nn.adagrad(0.1, { initialAccumulator: -1 })).toThrow(/scaleByRss: initialAccumulator must be/);
    expect(() => nn.lion(0.1, { weightDecay: Number.NaN })).toThrow(/addDecayedWeights: weightDecay must be/);
    expect(() => nn.sgd(0.1, { clipNorm: 0 })).toThrow(/clipByGlobalNorm: maxNorm must be a finite number > 0/);
    const p = tree(P0);
    expect(() => nn.adam(0.1).update(tree(P0), nn.momentum(0.1).init(p), p)).toThrow(
      /the state has slots \[v\] but this transformation uses \[m, v\]/,
    );
  });
});
