/**
 * The attention and normalisation layers on the WebGPU backend (software
 * adapter in CI): masked and causal attention with a fully masked row (zeros,
 * finite zero gradients; −∞ constants inside fused kernels), op by op and
 * jitted, and a small decoder transformer with batchNorm (loss and gradients)
 * match the CPU within f32 tolerance. Skips loudly without an adapter (fails
 * under CI=true), like the WebGPU suites.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { acquireGpu, closeMessage, onCpu } from '../webgpu/gpu.js';

const ok = await acquireGpu();
const tol = { rtol: 1e-3, atol: 1e-4 };

describe.skipIf(!ok)('attention and normalisation on WebGPU', () => {
  afterAll(async () => {
    await ct.init({ backend: 'cpu' });
    await ct.shutdown();
  });

  it('masked causal attention with a fully masked row and its gradients match the CPU (op by op and jitted)', async () => {
    const keys = nn.random.split(nn.random.key(7), 3);
    const f = (q: ct.Tensor, k: ct.Tensor, v: ct.Tensor) => {
      const mask = ct.tensor([0, 1, 1, 1], { shape: [1, 1, 1, 4] }); // query 0 sees only key 0, which is masked
      return ct.sum(ct.square(nn.functional.dotProductAttention(q, k, v, { mask, causal: true })));
    };
    const run = (jit: boolean) => {
      const [q, k, v] = keys.map((kk) => nn.random.normal(kk, [2, 4, 2, 3]));
      const g = ct.valueAndGrad(f, { argnums: [0, 1, 2] });
      const [val, grads] = (jit ? ct.jit(g) : g)(q!, k!, v!) as [ct.Tensor, ct.Tensor[]];
      return [val, ...grads];
    };
    for (const jit of [false, true]) {
      const gpu = run(jit);
      expect(gpu[0]!.backendName).toBe('webgpu');
      const cpu = await onCpu(() => run(jit));
      for (let i = 0; i < gpu.length; i++) {
        const g = await gpu[i]!.data();
        expect(Array.from(g).every(Number.isFinite)).toBe(true);
        expect(closeMessage(`${jit ? 'jit ' : ''}output ${i}`, g, await cpu[i]!.data(), tol)).toBeNull();
      }
      // the fully masked query (position 0 of each example) has zero gradient
      const gq = await gpu[1]!.data();
      for (const b of [0, 1]) expect(Array.from(gq.slice(b * 24, b * 24 + 6)).every((x) => x === 0)).toBe(true);
    }
  });

  it('a small decoder transformer with batchNorm: loss and gradients match the CPU', async () => {
    const model = nn.serial(nn.decoderTransformer({ vocab: 7, maxLength: 5, dim: 8, heads: 2, layers: 1 }), nn.batchNorm({ axis: -1 }));
    const run = () => {
      const { params } = model.init(nn.random.key(3), [-1, 5]);
      const ids = ct.tensor([1, 2, 3, 4, 5, 6, 0, 1, 2, 3], { shape: [2, 5], dtype: 'i32' });
      const labels = ct.tensor([2, 3, 4, 5, 6, 0, 1, 2, 3, 4], { shape: [2, 5], dtype: 'i32' });
      const loss = (p: typeof params) => nn.softmaxCrossEntropy(model.apply(p, ids as never, { training: true }) as ct.Tensor, labels);
      const [v, g] = ct.valueAndGrad(loss)(params);
      return [v, ...(ct.treeLeaves(g) as ct.Tensor[])];
    };
    const gpu = run();
    const cpu = await onCpu(run);
    expect(gpu.length).toBe(cpu.length);
    for (let i = 0; i < gpu.length; i++) expect(closeMessage(`leaf ${i}`, await gpu[i]!.data(), await cpu[i]!.data(), tol)).toBeNull();
  });
});
