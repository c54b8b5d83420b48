/**
 * The composed optimisers on the WebGPU backend (software adapter in CI): a
 * few jitted training steps with rmsprop (centred, momentum, schedule) and
 * adagrad give the CPU's weights and slots within f32 tolerance, and Lion's
 * sign update with masked decay gives the CPU's numbers. Skips loudly
 * without an adapter (fails under CI=true), like the WebGPU suites.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { digitsSplit } from '../../src/io/digits.js';
import { acquireGpu, closeMessage, onCpu } from '../webgpu/gpu.js';

const ok = await acquireGpu();
const { train } = digitsSplit();
const small = nn.take(
  train,
  Array.from({ length: 32 }, (_, i) => i),
  'digits-32',
);
const values = async (t: unknown): Promise<number[]> => {
  const out: number[] = [];
  for (const l of ct.treeLeaves(t)) out.push(...Array.from(await (l as ct.Tensor).data()));
  return out;
};

describe.skipIf(!ok)('composed optimisers on WebGPU', () => {
  afterAll(async () => {
    await ct.init({ backend: 'cpu' });
    await ct.shutdown();
  });

  for (const [name, make] of [
    ['rmsprop (centred, momentum, schedule)', () => nn.rmsprop(nn.cosineDecay(0.01, 3), { centered: true, momentum: 0.5 })],
    ['adagrad', () => nn.adagrad(0.05)],
  ] as const) {
    it(`${name}: three jitted steps give the CPU's weights and slots`, async () => {
      const go = async () => {
        const model = nn.serial(nn.dense(8), nn.tanh, nn.dense(10));
        const opt = make();
        const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt);
        let p = model.init(nn.random.key(4), [-1, 64]).params;
        let s = opt.init(p);
        const [x, y] = nn.batchTensors(small, 0, 32);
        for (let i = 0; i < 3; i++) ({ params: p, state: s } = step(p, s, x, y));
        return [await values(p), await values(s.slots)] as const;
      };
      const gpu = await go();
      await ct.init({ backend: 'cpu' });
      const cpu = await go();
      await ct.init({ backend: 'webgpu' });
      expect(closeMessage('params', gpu[0], cpu[0], { rtol: 1e-3, atol: 1e-5 })).toBeNull();
      expect(closeMessage('slots', gpu[1], cpu[1], { rtol: 1e-3, atol: 1e-5 })).toBeNull();
    });
  }

  it("lion's sign update and masked decay give the CPU's numbers", async () => {
    const run = () => {
      const opt = nn.lion(0.01, { weightDecay: 0.5, mask: { w: true, b: false } });
      let p = {
        w: ct.tensor([
          [0.5, -1],
          [2, 0.25],
        ]),
        b: ct.tensor([0.1, -0.3]),
      };
      let s = opt.init(p);
      for (const k of [1, -2, 3]) {
        const g = {
          w: ct.tensor([
            [k, -0.5 * k],
            [0.25, -k],
          ]),
          b: ct.tensor([2 * k, -1]),
        };
        ({ params: p, state: s } = opt.update(g, s, p));
      }
      return [p, s.slots] as const;
    };
    const [gp, gs] = run();
    expect(gp.w.backendName).toBe('webgpu');
    const [cp, cs] = await onCpu(run);
    expect(closeMessage('params', await values(gp), await values(cp), { rtol: 1e-6, atol: 1e-7 })).toBeNull();
    expect(closeMessage('slots', await values(gs), await values(cs), { rtol: 1e-6, atol: 1e-7 })).toBeNull();
  });
});
