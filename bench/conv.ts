/**
 * The convolution layers of the Fashion-MNIST CNN (batch 64, 3×3 'same': 28×28×1 → 16 and 14×14×16 → 32): the
 * forward pass and both gradients through `nn.functional.conv2d`, then the gradient of the whole CNN (jitted), on
 * one backend. Reports CPU time (process.cpuUsage: every thread of the process, so it is not inflated by waiting
 * for a core on a shared machine) and wall time, per call. Usage:
 *   npx tsx bench/conv.ts [cpu|wasm] [repeats]
 */
import * as ct from '../src/index.js';
import { cnn } from '../src/cli/models.js';
import * as nn from '../src/nn/index.js';

const backend = (process.argv[2] ?? 'cpu') as ct.BackendName;
const repeats = Number(process.argv[3] ?? 5);
await ct.init({ backend });

/** Deterministic values in [-0.5, 0.5). */
function values(shape: readonly number[], seed: number): ct.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  return ct.tensor(data, { shape: [...shape], dtype: 'f32', backend });
}

/** CPU and wall milliseconds per call of `f` (after one warm-up call). */
function time(f: () => void): { cpu: number; wall: number } {
  ct.scope(f);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) ct.scope(f);
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000 / repeats, wall: (performance.now() - t0) / repeats };
}

const layers = [
  [
    [64, 28, 28, 1],
    [3, 3, 1, 16],
  ],
  [
    [64, 14, 14, 16],
    [3, 3, 16, 32],
  ],
] as const;
for (const [xs, ws] of layers) {
  const x = values(xs, 1);
  const w = values(ws, 2);
  const g = values([xs[0], xs[1], xs[2], ws[3]], 3);
  const f = ct.grad((a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.mul(nn.functional.conv2d(a, b, { padding: 'same' }), g)), {
    argnums: [0, 1],
  });
  const t = time(() => {
    for (const r of f(x, w)) r.dataSync();
  });
  const macs = 3 * xs[0] * xs[1] * xs[2] * ws[0] * ws[1] * ws[2] * ws[3];
  console.log(
    `${backend} conv2d 'same' x [${xs}] w [${ws}], forward + both gradients: ${t.cpu.toFixed(1)} ms cpu, ` +
      `${t.wall.toFixed(1)} ms wall (${(macs / t.cpu / 1e6).toFixed(2)} GMAC per cpu second)`,
  );
}

const model = cnn([28, 28, 1], 10);
const { params } = model.init(nn.random.key(0), [-1, 784]);
const images = values([64, 784], 4);
const weights = values([64, 10], 5);
const step = ct.jit(ct.grad((p: typeof params) => ct.sum(ct.mul(model.apply(p, images) as ct.Tensor, weights))));
const t = time(() => {
  for (const leaf of ct.treeLeaves(step(params))) (leaf as ct.Tensor).dataSync();
});
console.log(`${backend} gradient of the CNN (jit, batch 64): ${t.cpu.toFixed(1)} ms cpu, ${t.wall.toFixed(1)} ms wall per step`);
