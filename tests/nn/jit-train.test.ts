/**
 * trainStep and fit compile each step with jit by default: the jitted step
 * equals the op-by-op step (bit for bit on the cpu backend in f64; to f32
 * rounding on wasm), traces once per batch shape, falls back to op by op for
 * a model that reads its key in training (dropout) and for an optimiser not
 * built by the library, and `jit: false` turns it off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { digitsSplit } from '../../src/io/digits.js';
import type { Optimizer } from '../../src/nn/optim.js';

const { train } = digitsSplit();
const small = nn.take(
  train,
  Array.from({ length: 96 }, (_, i) => i),
  'digits-96',
);

const leaves = (t: unknown): number[][] =>
  ct.treeLeaves(t).map((l) => (typeof l === 'number' ? [l] : Array.from(l.dataSync() as Float32Array | Float64Array)));

/** Run `steps` steps of trainStep on the first batches of `small`; returns the parameters' values and the losses. */
function run(model: nn.Model<unknown>, opt: Optimizer, jit: boolean, steps: number, dtype: 'f32' | 'f64' = 'f32') {
  const { params } = model.init(nn.random.key(3), [-1, 64]);
  const cast = (p: unknown) => ct.treeMap(p, (l) => ct.cast(l as ct.Tensor, dtype));
  const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt, { jit });
  let p = cast(params);
  let s = opt.init(p);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const [x0, y] = nn.batchTensors(small, (i * 32) % 96, 32);
    const x = ct.cast(x0, dtype);
    const r = step(p, s, x, y, nn.random.key(i));
    losses.push(r.loss.dataSync()[0]!);
    p = r.params;
    s = r.state;
  }
  return { params: leaves(p), losses };
}

describe('jitted training steps', () => {
  describe('on the cpu backend (f64)', () => {
    beforeAll(async () => {
      await ct.init({ backend: 'cpu' });
    });
    afterAll(async () => {
      await ct.init({ backend: 'wasm' });
    });

    for (const [name, opt] of [
      ['sgd', () => nn.sgd(0.1)],
      ['momentum', () => nn.momentum(0.05, { nesterov: true })],
      ['adam with a schedule', () => nn.adam(nn.cosineDecay(0.01, 6))],
      ['adamw with clipping', () => nn.adamw(0.01, { clipNorm: 0.5 })],
    ] as const) {
      it(`${name}: the jitted step equals the op-by-op step, with one trace`, () => {
        const model = nn.serial(nn.dense(16), nn.tanh, nn.dense(10));
        const before = ct.debugCounters().traces;
        const jitted = run(model, opt(), true, 6, 'f64');
        const traces = ct.debugCounters().traces - before;
        const eager = run(model, opt(), false, 6, 'f64');
        expect(traces).toBe(1);
        expect(jitted.losses).toHaveLength(6);
        jitted.losses.forEach((l, i) => {
          expect(l).toBeCloseTo(eager.losses[i]!, 12);
        });
        jitted.params.forEach((p, i) => {
          p.forEach((v, j) => {
            expect(v).toBeCloseTo(eager.params[i]![j]!, 12);
          });
        });
      });
    }
  });

  it('on wasm (f32): equal to f32 rounding', () => {
    const model = nn.serial(nn.dense(16), nn.relu, nn.dense(10));
    const jitted = run(model, nn.adam(0.01), true, 5);
    const eager = run(model, nn.adam(0.01), false, 5);
    jitted.losses.forEach((l, i) => {
      expect(Math.abs(l - eager.losses[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(l)));
    });
    jitted.params.forEach((p, i) => {
      p.forEach((v, j) => {
        expect(Math.abs(v - eager.params[i]![j]!)).toBeLessThan(1e-5);
      });
    });
  });

  it('a model that reads its key in training (dropout) runs op by op, with the same result as jit: false', () => {
    const model = nn.serial(nn.dense(16), nn.relu, nn.dropout(0.2), nn.dense(10));
    const before = ct.debugCounters().traces;
    const a = run(model, nn.sgd(0.1), true, 3);
    expect(ct.debugCounters().traces - before).toBe(1); // one trace, stopped when dropout drew bits: op by op from then on
    const b = run(model, nn.sgd(0.1), false, 3);
    expect(a.losses).toEqual(b.losses);
    expect(a.params).toEqual(b.params);
  });

  it('an optimiser not built by the library runs op by op', () => {
    const plain = nn.sgd(0.1);
    const custom: Optimizer = { name: 'custom', config: {}, init: plain.init, update: plain.update };
    const model = nn.serial(nn.dense(8), nn.relu, nn.dense(10));
    const before = ct.debugCounters().traces;
    const a = run(model, custom, true, 3);
    expect(ct.debugCounters().traces - before).toBe(0);
    const b = run(model, nn.sgd(0.1), false, 3);
    expect(a.losses).toEqual(b.losses);
  });

  it('fit traces one program per batch shape and learns like fit with jit: false', async () => {
    const model = nn.serial(nn.dense(16), nn.relu, nn.dense(10));
    const [ki, kf] = nn.random.split(nn.random.key(1));
    const { params } = model.init(ki!, [-1, 64]);
    const opts = { loss: nn.softmaxCrossEntropy, optimizer: nn.adam(0.01), epochs: 2, batchSize: 40, key: kf! };
    const before = ct.debugCounters().traces;
    const jitted = await nn.fit(model, params, small, opts); // 96 = 40 + 40 + 16: two batch shapes
    expect(ct.debugCounters().traces - before).toBe(2);
    const eager = await nn.fit(model, params, small, { ...opts, jit: false });
    jitted.history.forEach((h, i) => {
      expect(h.train.loss).toBeCloseTo(eager.history[i]!.train.loss, 4);
    });
  });
});
