// The wasm backend with threads 1 vs 2 through the public API: square f32 matmul GFLOP/s at
// N = 512 and 1024 (ct.matmul on wasm tensors, then dataSync), and one SGD step of the
// MLP 784-256-128-10 (batch 128, ReLU, softmax cross-entropy, lr 0.1, the workload of bench/).
// Rounds alternate the thread counts so that drifting load hits both; the median of each.
//   npx tsx scripts/wasm-threads-bench.ts [rounds=3]
import { availableParallelism, loadavg } from 'node:os';
import * as ct from '../src/index.js';
import { mlpLoss, uniform } from './bench-util.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const SIZES = [512, 1024];
const MLP = { sizes: [784, 256, 128, 10], batch: 128, lr: 0.1 } as const;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeIt(f: () => void, reps: number): number {
  f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

async function measure(threads: number): Promise<{ gflops: number[]; mlpMs: number }> {
  await ct.init({ backend: 'wasm', threads });
  const gflops = SIZES.map((n) => {
    const a = ct.keep(ct.tensor(uniform(n * n, 1), { shape: [n, n] }));
    const b = ct.keep(ct.tensor(uniform(n * n, 2), { shape: [n, n] }));
    const ms = timeIt(() => ct.scope(() => void ct.matmul(a, b).dataSync()), n >= 1024 ? 5 : 15);
    a.dispose();
    b.dispose();
    return (2 * n ** 3) / ms / 1e6;
  });
  const s = MLP.sizes;
  let params = ct.keep(
    s.slice(0, -1).flatMap((m, i) => {
      const lim = Math.sqrt(6 / (m + s[i + 1]!));
      return [ct.tensor(uniform(m * s[i + 1]!, 100 + i, -lim, lim), { shape: [m, s[i + 1]!] }), ct.zeros([s[i + 1]!])];
    }),
  );
  const x = ct.keep(ct.tensor(uniform(MLP.batch * s[0], 9, 0, 1), { shape: [MLP.batch, s[0]] }));
  const y = ct.keep(
    ct.tensor(
      Int32Array.from({ length: MLP.batch }, (_, i) => (i * 7) % 10),
      { dtype: 'i32' },
    ),
  );
  const loss = mlpLoss(x, y);
  const step = () => {
    const out = ct.scope(() => {
      const [l, g] = ct.valueAndGrad(loss)(params);
      return { l, p: params.map((w, i) => ct.sub(w, ct.mul((g as ct.Tensor[])[i]!, MLP.lr))) };
    });
    for (const w of params) w.dispose();
    params = ct.keep(out.p);
    out.l.dataSync();
    out.l.dispose();
  };
  for (let i = 0; i < 3; i++) step();
  const mlpMs = timeIt(step, 30);
  await ct.shutdown('wasm');
  return { gflops, mlpMs };
}

console.log(
  `cores ${availableParallelism()}, load average at start ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const results: Record<number, { gflops: number[][]; mlp: number[] }> = { 1: { gflops: [], mlp: [] }, 2: { gflops: [], mlp: [] } };
for (let r = 0; r < ROUNDS; r++) {
  for (const t of [1, 2]) {
    const m = await measure(t);
    results[t]!.gflops.push(m.gflops);
    results[t]!.mlp.push(m.mlpMs);
    console.log(
      `round ${r + 1} threads ${t}: ${SIZES.map((n, i) => `N=${n} ${m.gflops[i]!.toFixed(1)} GFLOP/s`).join(', ')}, MLP step ` +
        `${m.mlpMs.toFixed(2)} ms (load ${loadavg()[0]!.toFixed(2)})`,
    );
  }
}
for (const t of [1, 2]) {
  const g = SIZES.map((n, i) => `N=${n} ${median(results[t]!.gflops.map((x) => x[i]!)).toFixed(1)} GFLOP/s`);
  console.log(`median threads ${t}: ${g.join(', ')}, MLP step ${median(results[t]!.mlp).toFixed(2)} ms`);
}
console.log(
  `load average at end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
