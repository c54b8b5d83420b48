// The WebGPU elementwise, data-movement and reduction kernels on one adapter (default: the software adapter Mesa
// llvmpipe), through the public API: the single kernels of the benchmark MLP's training step (784-256-128-10,
// batch 128), eager and jitted (fused), then the jitted step itself. Each figure is the best round of `reps`
// back-to-back calls then one wait, in milliseconds per call: wall clock, and CPU time of the whole process
// (llvmpipe's worker threads included), which other work on the machine disturbs far less.
//   npx tsx scripts/webgpu-map-bench.ts [rounds=5] [adapter=llvmpipe] [filter]
import * as ct from '../src/index.js';
import { mlpData, MLP } from '../bench/data.js';
import { initWebGpu, mlpLoss, uniform } from './bench-util.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const ADAPTER = (process.argv[3] ?? 'llvmpipe') as ct.AdapterChoice;
const FILTER = process.argv[4] ?? '';

await initWebGpu(ADAPTER);

const t = (shape: number[], seed: number): ct.Tensor =>
  ct.keep(
    ct.tensor(
      uniform(
        shape.reduce((a, b) => a * b, 1),
        seed,
        -0.5,
        0.5,
      ),
      { shape },
    ),
  );
const x = t([128, 784], 1);
const w1 = t([784, 256], 2);
const g1 = t([784, 256], 3);
const h = t([128, 256], 4);
const b = t([256], 5);
const h10 = t([128, 10], 6);
const c = t([256, 128], 7);
const lr = MLP.lr;

const fusedUpdate = ct.jit((w: ct.Tensor, g: ct.Tensor) => ct.sub(w, ct.mul(g, lr)));
const fusedReluGrad = ct.jit((a: ct.Tensor, g: ct.Tensor) => ct.sum(ct.mul(g, ct.greater(a, 0)), 0));
const fusedBias = ct.jit((a: ct.Tensor, bb: ct.Tensor) => ct.relu(ct.add(a, bb)));

/** name, one call (returns what to dispose), calls per round. */
const CASES: [string, () => ct.Tensor | ct.Tensor[], number][] = [
  ['transpose 128×784', () => ct.transpose(x), 10],
  ['transpose 256×128', () => ct.transpose(c), 10],
  ['transpose 128×10', () => ct.transpose(h10), 10],
  ['sum axis 0 of 128×256', () => ct.sum(h, 0), 10],
  ['sum axis 1 of 128×256', () => ct.sum(h, 1), 10],
  ['sum axis 1 of 128×10', () => ct.sum(h10, 1), 10],
  ['sum of 128×10 (all)', () => ct.sum(h10), 10],
  ['sum of 128×256 (all)', () => ct.sum(h), 10],
  ['add 784×256 + 784×256', () => ct.add(w1, g1), 10],
  ['add 128×256 + [256]', () => ct.add(h, b), 10],
  ['relu 128×256', () => ct.relu(h), 10],
  ['W1 update (eager, 2 kernels)', () => ct.sub(w1, ct.mul(g1, lr)), 10],
  ['W1 update (jit, fused)', () => fusedUpdate(w1, g1), 10],
  ['relu grad + bias sum (jit)', () => fusedReluGrad(h, h), 10],
  ['bias + relu 128×256 (jit)', () => fusedBias(h, b), 10],
];

// the jitted MLP training step of the benchmark (parameters donated)
const d = mlpData();
let params = ct.keep(d.params.map((p) => ct.tensor(p.data, { shape: p.shape })));
const mx = ct.keep(ct.tensor(d.x, { shape: [MLP.batch, MLP.sizes[0]!] }));
const my = ct.keep(ct.tensor(d.labels, { dtype: 'i32' }));
const loss = mlpLoss(mx, my);
const sgdStep = ct.jit(
  (p: ct.Tensor[]) => {
    const [l, g] = ct.valueAndGrad(loss)(p);
    return { l, p: p.map((w, i) => ct.sub(w, ct.mul((g as ct.Tensor[])[i]!, lr))) };
  },
  { donateArgnums: 0 },
);
CASES.push([
  'MLP step (jit)',
  () => {
    const out = sgdStep(params);
    params = ct.keep(out.p);
    return out.l;
  },
  3,
]);

const cases = CASES.filter(([name]) => name.includes(FILTER));
const wall = cases.map(() => Infinity);
const cpu = cases.map(() => Infinity);
for (let round = -1; round < ROUNDS; round++) {
  for (let i = 0; i < cases.length; i++) {
    const [, fn, reps] = cases[i]!;
    const n = round < 0 ? 1 : reps;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < n; r++) {
      const out = fn();
      for (const o of Array.isArray(out) ? out : [out]) o.dispose();
    }
    await ct.syncBackend();
    const cu = process.cpuUsage(c0);
    if (round < 0) continue;
    wall[i] = Math.min(wall[i]!, (performance.now() - t0) / n);
    cpu[i] = Math.min(cpu[i]!, (cu.user + cu.system) / 1000 / n);
  }
}
console.log(`\nms per call, best of ${ROUNDS} rounds: wall / CPU (process)`);
cases.forEach(([name], i) => {
  console.log(`${name.padEnd(34)}${wall[i]!.toFixed(3).padStart(10)}${cpu[i]!.toFixed(3).padStart(10)}`);
});
await ct.shutdown();
