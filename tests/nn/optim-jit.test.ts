/**
 * The new optimisers and hand-built chains inside a jitted training step:
 * the jitted step equals the op-by-op step (cpu backend, f64), traces once
 * even with a learning-rate schedule (the rate and the step's scalars are
 * passed in as scalar tensors), and the same on wasm (f32) to rounding.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { digitsSplit } from '../../src/io/digits.js';

const { train } = digitsSplit();
const small = nn.take(
  train,
  Array.from({ length: 64 }, (_, i) => i),
  'digits-64',
);

const leaves = (t: unknown): number[][] =>
  ct.treeLeaves(t).map((l) => (typeof l === 'number' ? [l] : Array.from(l.dataSync() as Float32Array | Float64Array)));

/** `steps` training steps on batches of 32; the parameters' and slots' values after them and the losses. */
function run(opt: nn.Optimizer, jit: boolean, steps: number, dtype: 'f32' | 'f64') {
  const model = nn.serial(nn.dense(8), nn.tanh, nn.dense(10));
  const { params } = model.init(nn.random.key(5), [-1, 64]);
  const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt, { jit });
  let p = ct.treeMap(params, (l) => ct.cast(l as ct.Tensor, dtype));
  let s = opt.init(p);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const [x0, y] = nn.batchTensors(small, (i * 32) % 64, 32);
    const r = step(p, s, ct.cast(x0, dtype), y);
    losses.push(r.loss.dataSync()[0]!);
    p = r.params;
    s = r.state;
  }
  return { params: leaves(p), slots: leaves(s.slots), losses, step: s.step };
}

const runningMean = () =>
  nn.transformation({
    name: 'runningMean',
    slots: ['s'],
    hyper: (step) => [1 / (step + 1)],
    apply: (updates, slots, _params, [k]) => {
      const u = ct.treeLeaves(updates);
      const s = ct.treeMap(slots.s, (x, i) => ct.add(x as ct.Tensor, u[i] as ct.Tensor));
      return { updates: ct.treeMap(s, (x) => ct.mul(x as ct.Tensor, k!)), slots: { s } };
    },
  });

const weightsOnly = (p: unknown) => ct.treeMap(p, (w) => (w as ct.Tensor).ndim > 1);

const cases: [string, () => nn.Optimizer][] = [
  ['rmsprop (centred, momentum, warm-up schedule)', () => nn.rmsprop(nn.warmup(2, 0.01), { centered: true, momentum: 0.5 })],
  ['adagrad', () => nn.adagrad(0.1)],
  ['lion with a masked decay and clipping', () => nn.lion(nn.cosineDecay(1e-3, 5), { weightDecay: 0.1, mask: weightsOnly, clipNorm: 1 })],
  [
    'a chain with a hand-written transformation and a masked Adam',
    () =>
      nn.asOptimizer(nn.chain(nn.masked(nn.scaleByAdam(), weightsOnly), runningMean(), nn.scaleByLearningRate(nn.stepDecay(0.05, 2, 0.5)))),
  ],
];

describe('jitted steps of the composed optimisers', () => {
  describe('on the cpu backend (f64)', () => {
    beforeAll(async () => {
      await ct.init({ backend: 'cpu' });
    });
    afterAll(async () => {
      await ct.init({ backend: 'wasm' });
    });

    for (const [name, make] of cases) {
      it(`${name}: the jitted step equals the op-by-op step, with one trace for all steps`, () => {
        const before = ct.debugCounters().traces;
        const jitted = run(make(), true, 5, 'f64');
        expect(ct.debugCounters().traces - before).toBe(1);
        const eager = run(make(), false, 5, 'f64');
        expect(jitted.step).toBe(5);
        jitted.losses.forEach((l, i) => {
          expect(l).toBeCloseTo(eager.losses[i]!, 12);
        });
        for (const [a, b] of [
          [jitted.params, eager.params],
          [jitted.slots, eager.slots],
        ] as const) {
          expect(a.length).toBe(b.length);
          a.forEach((leaf, i) => {
            leaf.forEach((v, j) => {
              expect(v).toBeCloseTo(b[i]![j]!, 12);
            });
          });
        }
        expect(eager.losses[4]).toBeLessThan(eager.losses[0]!);
      });
    }
  });

  it('asOptimizer of a transformation written by hand (not by a constructor) runs op by op, like sgd', () => {
    const inner = nn.scaleByLearningRate(0.1);
    const byHand: nn.GradientTransformation = {
      name: 'byHand',
      config: {},
      slotNames: [],
      init: (p) => inner.init(p),
      update: (u, s, p) => inner.update(u, s, p),
    };
    const before = ct.debugCounters().traces;
    const a = run(nn.asOptimizer(byHand), true, 3, 'f32');
    expect(ct.debugCounters().traces - before).toBe(0);
    expect(a.losses).toEqual(run(nn.sgd(0.1), false, 3, 'f32').losses);
  });

  it('a state made by another optimiser is an error naming the optimiser and the slots, jitted or not', () => {
    const model = nn.serial(nn.dense(4), nn.dense(10));
    const { params } = model.init(nn.random.key(1), [-1, 64]);
    const [x, y] = nn.batchTensors(small, 0, 8);
    for (const jit of [true, false]) {
      const step = nn.trainStep(model, nn.softmaxCrossEntropy, nn.lion(1e-3), { jit, donate: false });
      expect(() => step(params, nn.adam(0.1).init(params), x, y)).toThrow(
        /lion: the state has slots \[m, v\] but this transformation uses \[m\]/,
      );
    }
  });

  it('on wasm (f32): rmsprop jitted equals op by op to f32 rounding', () => {
    const jitted = run(nn.rmsprop(0.01), true, 4, 'f32');
    const eager = run(nn.rmsprop(0.01), false, 4, 'f32');
    jitted.params.forEach((p, i) => {
      p.forEach((v, j) => {
        expect(Math.abs(v - eager.params[i]![j]!)).toBeLessThan(1e-5);
      });
    });
  });
});
