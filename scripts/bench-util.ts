// Shared pieces of the benchmark scripts: deterministic data, the WebGPU start-up line, and the loss of the
// benchmark MLP (dense layers with ReLU between them, softmax cross-entropy).
import { loadavg } from 'node:os';
import * as ct from '../src/index.js';

/** `n` deterministic f32 values in [lo, hi) (an LCG seeded by `seed`). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (hi - lo) * (s / 2 ** 32);
  });
}

/** Starts the WebGPU backend on `adapter` and prints the adapter and the load average. */
export async function initWebGpu(adapter: ct.AdapterChoice): Promise<void> {
  await ct.init({ backend: 'webgpu', webgpu: { adapter } });
  console.log(`adapter: ${ct.backendInfo('webgpu')}; load average ${loadavg()[0]!.toFixed(2)}`);
}

/** The MLP's loss on inputs `x` and labels `y`: parameters [W1, b1, W2, b2, …], ReLU between layers, softmax cross-entropy. */
export const mlpLoss =
  (x: ct.Tensor, y: ct.Tensor) =>
  (p: ct.Tensor[]): ct.Tensor => {
    let h = x;
    for (let i = 0; i < p.length; i += 2) {
      h = ct.add(ct.matmul(h, p[i]!), p[i + 1]!);
      if (i + 2 < p.length) h = ct.relu(h);
    }
    return ct.softmaxCrossEntropy(h, y);
  };
