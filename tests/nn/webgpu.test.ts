/**
 * The nn layer on the WebGPU backend (software adapter in CI): PRNG keys give
 * bit-identical numbers on WebGPU and CPU; conv2d / pooling (composites of
 * primitives, no new kernels) and their gradients match the CPU; a training
 * run on WebGPU reaches the CPU run's weights within f32 tolerance. Skips
 * loudly without an adapter (fails under CI=true), like the WebGPU suites.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { digitsSplit } from '../../src/io/digits.js';
import { acquireGpu, closeMessage, onCpu } from '../webgpu/gpu.js';

const ok = await acquireGpu();
const tol = { rtol: 1e-4, atol: 1e-5 };

describe.skipIf(!ok)('nn on WebGPU', () => {
  afterAll(async () => {
    await ct.init({ backend: 'cpu' });
    await ct.shutdown();
  });

  it('the same key gives the same numbers on WebGPU and on the CPU', async () => {
    const k = nn.random.key(123);
    const gpu = [nn.random.uniform(k, [257]), nn.random.normal(k, [33, 3]), nn.random.bernoulli(k, 0.3, [40])];
    expect(gpu[0]!.backendName).toBe('webgpu');
    const cpu = await onCpu(() => [nn.random.uniform(k, [257]), nn.random.normal(k, [33, 3]), nn.random.bernoulli(k, 0.3, [40])]);
    for (let i = 0; i < gpu.length; i++) expect(Array.from(await gpu[i]!.data())).toEqual(Array.from(await cpu[i]!.data()));
  });

  it('conv2d and max-pooling and their gradients match the CPU', async () => {
    const f = (x: ct.Tensor, w: ct.Tensor) =>
      ct.sum(ct.square(nn.functional.maxPool2d(nn.functional.conv2d(x, w, { padding: 'same', stride: [1, 2] }), { window: 2 })));
    const k = nn.random.split(nn.random.key(5));
    const run = () => {
      const x = nn.random.normal(k[0]!, [2, 6, 8, 3]);
      const w = nn.random.normal(k[1]!, [3, 3, 3, 4]);
      const [v, [gx, gw]] = ct.valueAndGrad(f, { argnums: [0, 1] })(x, w) as [ct.Tensor, ct.Tensor[]];
      return [v, gx!, gw!];
    };
    const gpu = run();
    const cpu = await onCpu(run);
    for (let i = 0; i < 3; i++) {
      const msg = closeMessage(`output ${i}`, await gpu[i]!.data(), await cpu[i]!.data(), tol);
      expect(msg).toBeNull();
    }
  });

  it('fit on WebGPU gives the CPU run’s weights (same seed) within f32 tolerance', async () => {
    const { train } = digitsSplit();
    const data = nn.take(
      train,
      Array.from({ length: 128 }, (_, i) => i),
    );
    const model = nn.serial(nn.dense(16), nn.relu, nn.dropout(0.1), nn.dense(10));
    const go = async () => {
      const { params } = model.init(nn.random.key(1), [-1, 64]);
      const r = await nn.fit(model, params, data, {
        loss: nn.softmaxCrossEntropy,
        optimizer: nn.sgd(0.1),
        epochs: 2,
        batchSize: 32,
        key: nn.random.key(2),
      });
      return r.params[3].W.data();
    };
    const gpu = await go();
    await ct.init({ backend: 'cpu' });
    const cpu = await go();
    await ct.init({ backend: 'webgpu' });
    expect(closeMessage('trained W', gpu, cpu, { rtol: 1e-3, atol: 1e-4 })).toBeNull();
  });
});
