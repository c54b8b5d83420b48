/**
 * vmap, checkpoint and linearize on WebGPU (skipped with a loud message when no adapter is
 * available, failing under CI=true): batched results equal a loop over the examples on the
 * CPU (f64) within f32 tolerance — per-example gradients of a small MLP, a batched softmax
 * and matmul against shared weights, structural ops along a non-zero batch axis, nested vmap,
 * jit of vmap, jacrev (vmap of the pullback), a checkpointed block's gradient and a
 * linearized function.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { acquireGpuKeepCpuDefault } from '../webgpu/gpu.js';

let gpu = false;
beforeAll(async () => {
  gpu = await acquireGpuKeepCpuDefault();
});
afterAll(async () => {
  if (gpu) await ct.shutdown();
});

const data = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 0.8);

/** The same computation on CPU f64 and on WebGPU f32; returns each output's values from both. */
async function both(run: (b: 'cpu' | 'webgpu', dtype: 'f64' | 'f32') => ct.Tensor[]): Promise<[number[][], number[][]]> {
  const cpu = run('cpu', 'f64').map((t) => Array.from(t.dataSync()));
  const outs = run('webgpu', 'f32');
  for (const t of outs) expect(t.backendName).toBe('webgpu');
  const gpuVals = await Promise.all(outs.map(async (t) => Array.from(await t.data())));
  return [cpu, gpuVals];
}

function expectClose(a: number[][], b: number[][]): void {
  expect(b.length).toBe(a.length);
  a.forEach((xs, i) => {
    expect(b[i]!.length).toBe(xs.length);
    xs.forEach((x, j) => {
      expect(Math.abs(x - b[i]![j]!)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(x)));
    });
  });
}

it('vmap, checkpoint and linearize on WebGPU equal the CPU', async (ctx) => {
  if (!gpu) {
    console.warn('[vmap] SKIPPED vmap on WebGPU: no adapter (see the message above)');
    ctx.skip();
    return;
  }
  const [cpu, gpuVals] = await both((b, dtype) => {
    const t = (v: number[], shape: number[]) => ct.tensor(v, { shape, dtype, backend: b });
    const W1 = t(data(12, 1), [4, 3]);
    const W2 = t(data(6, 2), [3, 2]);
    const xs = t(data(20, 3), [5, 4]);
    const ys = ct.tensor([0, 1, 1, 0, 1], { dtype: 'i32', backend: b });
    const loss = (p: { W1: ct.Tensor; W2: ct.Tensor }, x: ct.Tensor, y: ct.Tensor) =>
      ct.softmaxCrossEntropy(ct.reshape(ct.matmul(ct.tanh(ct.matmul(ct.reshape(x, [1, 4]), p.W1)), p.W2), [1, 2]), ct.reshape(y, [1]));
    const perExample = ct.vmap(ct.grad(loss), { inAxes: [null, 0, 0] })({ W1, W2 }, xs, ys);
    // a non-zero batch axis through structural ops and a reduction
    const zs = t(data(24, 4), [3, 4, 2]); // batched along axis 2
    const structural = ct.vmap(
      (z: ct.Tensor) => ct.sum(ct.concat([ct.transpose(z, [1, 0]), ct.slice(ct.transpose(z, [1, 0]), [0, 1], [4, 2])], 1), 0),
      {
        inAxes: 2,
        outAxes: -1,
      },
    )(zs);
    const soft = ct.vmap((x: ct.Tensor) => ct.softmax(ct.matmul(x, W1), -1))(xs);
    const nested = ct.vmap(
      ct.vmap((a: ct.Tensor, c: ct.Tensor) => ct.mul(ct.sin(a), c)),
      { inAxes: [0, 1] },
    )(xs, ct.transpose(xs, [1, 0]));
    const jitted = ct.jit(ct.vmap((x: ct.Tensor) => ct.sum(ct.square(ct.matmul(x, W1)))))(xs);
    const jac = ct.jacrev((x: ct.Tensor) => ct.tanh(ct.matmul(x, W1)))(t(data(4, 5), [4]));
    const block = ct.checkpoint((x: ct.Tensor) => ct.tanh(ct.matmul(ct.tanh(ct.matmul(x, W1)), W2)));
    const ckGrad = ct.grad((x: ct.Tensor) => ct.sum(block(x)))(xs);
    const [, lin] = ct.linearize((x: ct.Tensor) => ct.tanh(ct.matmul(x, W1)), xs);
    const linOut = lin(t(data(20, 6), [5, 4]));
    return [perExample.W1, perExample.W2, structural, soft, nested, jitted, jac, ckGrad, linOut];
  });
  // the batched results equal a loop over the examples on the CPU for the per-example gradients
  const W1 = ct.tensor(data(12, 1), { shape: [4, 3], dtype: 'f64', backend: 'cpu' });
  const W2 = ct.tensor(data(6, 2), { shape: [3, 2], dtype: 'f64', backend: 'cpu' });
  const xsv = data(20, 3);
  const labels = [0, 1, 1, 0, 1];
  for (let i = 0; i < 5; i++) {
    const x = ct.tensor(xsv.slice(4 * i, 4 * i + 4), { shape: [1, 4], dtype: 'f64', backend: 'cpu' });
    const y = ct.tensor([labels[i]!], { dtype: 'i32', backend: 'cpu' });
    const g = ct.grad((p: { W1: ct.Tensor; W2: ct.Tensor }) => ct.softmaxCrossEntropy(ct.matmul(ct.tanh(ct.matmul(x, p.W1)), p.W2), y))({
      W1,
      W2,
    });
    expectClose([Array.from(g.W1.dataSync())], [gpuVals[0]!.slice(12 * i, 12 * i + 12)]);
    expectClose([Array.from(g.W2.dataSync())], [gpuVals[1]!.slice(6 * i, 6 * i + 6)]);
  }
  expectClose(cpu, gpuVals);
});
