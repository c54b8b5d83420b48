/**
 * Memory in the loop people write: `({ params, state } = step(params, state, x, y))`
 * 10,000 times, with no scope, no dispose and no await, holds the live-tensor
 * count and the bytes flat on the CPU (trainStep takes ownership of the
 * parameters and state it replaces). Using a replaced (donated) tensor is a
 * clear error; `{ donate: false }` keeps the old ones; optimiser updates donate too.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { expectFlat, plainLoopSetup as setup, runPlainLoop } from './plain-loop.js';

const STEPS = 10_000;
const SAMPLE_EVERY = 1_000;

interface Sample {
  readonly tensors: number;
  readonly bytes: number;
  readonly backendBuffers: number;
  readonly backendBytes: number;
}

function sample(backend: string): Sample {
  const m = ct.memoryStats();
  const b = m.backendBuffers[backend]!;
  return { tensors: m.liveTensors, bytes: m.liveBytes, backendBuffers: b.buffers, backendBytes: b.bytes };
}

describe('a plain synchronous training loop (no scope, dispose or await)', () => {
  it(`holds live tensors and backend bytes flat over ${STEPS.toLocaleString('en')} steps on the CPU`, () => {
    let first = NaN;
    let last = NaN;
    const { before, samples, released } = runPlainLoop({
      steps: STEPS,
      every: SAMPLE_EVERY,
      sample: () => sample('cpu'),
      onFirst: (r) => {
        first = r.loss.dataSync()[0]!;
      },
      onLast: (r) => {
        last = r.loss.dataSync()[0]!;
      },
    });
    expectFlat(samples, STEPS, SAMPLE_EVERY);
    // the old parameters and slots are freed as the new ones are made: beyond them, only the last step's two metrics and
    // the compiled step's constants are live, and releasing the step frees those constants
    expect(released.tensors - before.tensors).toBe(2);
    expect(samples[0]!.tensors).toBeGreaterThanOrEqual(released.tensors);
    expect(last).toBeLessThan(first * 0.5);
  });

  it('using a donated parameter or state tensor is a clear error naming trainStep', () => {
    const { model, params, x, y } = setup();
    const opt = nn.momentum(0.1);
    const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt);
    const s0 = opt.init(params);
    const r = step(params, s0, x, y);
    expect(() => ct.add(params[0].W, 1)).toThrow(
      /add: input f32\[16,4\] was donated to trainStep and freed; use the returned params and state/,
    );
    expect(() => params[2].b.dataSync()).toThrow(/dataSync: .*was donated to trainStep/);
    expect(() => step(params, r.state, x, y)).toThrow(/was donated to trainStep and freed/);
    expect(() => (s0.slots.v as typeof params)[0].W.dataSync()).toThrow(/was donated to trainStep/);
    // the data and the new values stay usable
    expect(x.dataSync()).toHaveLength(32);
    expect(y.dataSync()).toHaveLength(8);
    expect(r.params[0].W.dataSync()).toHaveLength(64);
    expect(r.loss.dataSync()[0]).toBeGreaterThan(0);
    // the metrics live until the state returned with them is passed on
    const r2 = step(r.params, r.state, x, y);
    expect(() => r.loss.dataSync()).toThrow(/was freed by the next trainStep/);
    expect(r2.correct.dataSync()[0]).toBeGreaterThanOrEqual(0);
    // keep() holds a metric across steps
    const kept = ct.keep(r2.loss);
    const r3 = step(r2.params, r2.state, x, y);
    expect(kept.dataSync()[0]).toBeGreaterThan(0);
    expect(r3.loss.dataSync()[0]).toBeGreaterThan(0);
  });

  it('{ donate: false } keeps the old parameters and state alive (the caller owns them)', () => {
    const { model, params, x, y } = setup();
    const opt = nn.adam(0.01);
    const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt, { donate: false });
    const s0 = opt.init(params);
    const before = Array.from(params[0].W.dataSync());
    const r = step(params, s0, x, y);
    expect(Array.from(params[0].W.dataSync())).toEqual(before);
    expect(Array.from(r.params[0].W.dataSync())).not.toEqual(before);
    expect((s0.slots.m as typeof params)[0].W.dataSync().every((v) => v === 0)).toBe(true);
  });

  it('optimiser updates donate the parameters and state they replace ({ donate: false } keeps them)', () => {
    const opt = nn.adam(0.1);
    const p = { w: ct.tensor([1, 2, 3]) };
    const g = { w: ct.tensor([0.5, -0.5, 1]) };
    const s = opt.init(p);
    const u = opt.update(g, s, p);
    expect(() => ct.neg(p.w)).toThrow(/neg: input f32\[3\] was donated to adam\.update and freed; use the returned params and state/);
    expect(() => (s.slots.m as typeof p).w.dataSync()).toThrow(/donated to adam\.update/);
    expect(Array.from(g.w.dataSync())).toEqual([0.5, -0.5, 1]); // gradients are not donated
    const q = { w: ct.tensor([1, 2, 3]) };
    const kept = opt.update(g, opt.init(q), q, { donate: false });
    expect(Array.from(q.w.dataSync())).toEqual([1, 2, 3]);
    expect(kept.params.w.dataSync()).toHaveLength(3);
    // a plain loop of updates holds memory flat
    let params = u.params;
    let state = u.state;
    const counts: number[] = [];
    for (let i = 0; i < 200; i++) {
      ({ params, state } = opt.update(g, state, params));
      if (i % 50 === 49) counts.push(ct.memoryStats().liveTensors);
    }
    expect(new Set(counts).size).toBe(1);
  });
});
