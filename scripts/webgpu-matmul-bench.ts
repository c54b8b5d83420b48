// The WebGPU matmul kernels on one adapter (default: the software adapter Mesa llvmpipe), through the public API:
// the eight products of one training step of the benchmark MLP 784-256-128-10 (batch 128: forward, input gradients,
// weight gradients) and square products, each kernel variant pinned in turn (forceMatmulVariant).
// Rounds alternate the variants so that drifting load hits all of them; each figure is the best round of
// `reps` back-to-back products then one wait, in milliseconds per product: wall clock, and CPU time of the whole
// process (llvmpipe's worker threads included), which other work on the machine disturbs far less.
//   npx tsx scripts/webgpu-matmul-bench.ts [rounds=5] [variants=registers,vec4] [adapter=llvmpipe]
import { loadavg } from 'node:os';
import * as ct from '../src/index.js';

/** GFLOP/s of variant `vi` on the square shapes (N = 256, 512, 1024), wall time. */
const squareRates = (vi: number): string => [8, 9, 10].map((i) => ((2 * SHAPES[i]![1] ** 3) / wall[vi]![i]! / 1e6).toFixed(1)).join(' / ');
import { forceMatmulVariant, type MatmulVariant } from '../src/backends/webgpu/kernels.js';
import { initWebGpu, uniform } from './bench-util.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const VARIANTS = (process.argv[3] ?? 'registers,vec4').split(',') as MatmulVariant[];
const ADAPTER = (process.argv[4] ?? 'llvmpipe') as ct.AdapterChoice;

/** [M, K, N]: the MLP step's products, then squares. */
const SHAPES: [string, number, number, number][] = [
  ['fwd x·W1', 128, 784, 256],
  ['fwd h1·W2', 128, 256, 128],
  ['fwd h2·W3', 128, 128, 10],
  ['dX g3·W3ᵀ', 128, 10, 128],
  ['dX g2·W2ᵀ', 128, 128, 256],
  ['dW h2ᵀ·g3', 128, 128, 10],
  ['dW h1ᵀ·g2', 256, 128, 128],
  ['dW xᵀ·g1', 784, 128, 256],
  ['square 256', 256, 256, 256],
  ['square 512', 512, 512, 512],
  ['square 1024', 1024, 1024, 1024],
];
const MLP_SHAPES = 8;

await initWebGpu(ADAPTER);
const operands = SHAPES.map(([, M, K, N], i) => ({
  a: ct.keep(ct.tensor(uniform(M * K, 2 * i + 1, -0.5, 0.5), { shape: [M, K] })),
  b: ct.keep(ct.tensor(uniform(K * N, 2 * i + 2, -0.5, 0.5), { shape: [K, N] })),
}));
const wall = VARIANTS.map(() => SHAPES.map(() => Infinity));
const cpu = VARIANTS.map(() => SHAPES.map(() => Infinity));

async function once(i: number, reps: number): Promise<{ wall: number; cpu: number }> {
  const { a, b } = operands[i]!;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) ct.matmul(a, b).dispose();
  await ct.syncBackend();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / reps, cpu: (c.user + c.system) / 1000 / reps };
}

for (let round = -1; round < ROUNDS; round++) {
  for (let v = 0; v < VARIANTS.length; v++) {
    forceMatmulVariant(VARIANTS[v]!);
    for (let i = 0; i < SHAPES.length; i++) {
      const [, M, K, N] = SHAPES[i]!;
      const reps = Math.max(1, Math.min(10, Math.round(2e8 / (M * K * N))));
      const t = await once(i, round < 0 ? 1 : reps); // round −1: compile and warm up
      if (round < 0) continue;
      wall[v]![i] = Math.min(wall[v]![i]!, t.wall);
      cpu[v]![i] = Math.min(cpu[v]![i]!, t.cpu);
    }
  }
}
forceMatmulVariant(null);

const cell = (x: number) => x.toFixed(3).padStart(10);
console.log(`\nms per product, best of ${ROUNDS} rounds: wall / CPU (process)`);
console.log(`${'shape'.padEnd(26)}${VARIANTS.map((v) => `${v} wall`.padStart(16) + `${v} cpu`.padStart(16)).join('')}`);
SHAPES.forEach(([name, M, K, N], i) => {
  const label = `${name} ${M}×${K}×${N}`;
  console.log(`${label.padEnd(26)}${VARIANTS.map((_, v) => `${cell(wall[v]![i]!)}      ${cell(cpu[v]![i]!)}      `).join('')}`);
});
const sum = (xs: number[]) => xs.slice(0, MLP_SHAPES).reduce((s, x) => s + x, 0);
console.log(
  `${'MLP step (8 products)'.padEnd(26)}${VARIANTS.map((_, v) => `${cell(sum(wall[v]!))}      ${cell(sum(cpu[v]!))}      `).join('')}`,
);
console.log(`GFLOP/s (wall) at 256 / 512 / 1024: ${VARIANTS.map((v, vi) => `${v} ${squareRates(vi)}`).join('; ')}`);
console.log(`load average ${loadavg()[0]!.toFixed(2)}`);
for (const { a, b } of operands) {
  a.dispose();
  b.dispose();
}
await ct.shutdown();
