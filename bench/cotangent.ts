/**
 * cotangent's side of the benchmark: matmul and the MLP SGD step (eager, and
 * compiled with jit) on the CPU, wasm or WebGPU backend. wasm threads: BENCH_WASM_THREADS (default:
 * the backend's own default).
 */
import * as ct from '../src/index.js';
import { runJacobianBench } from './jacobian.js';
import { gflops, MATMUL_SIZES, MM_BATCH, mlpData, MLP, time, uniform, type PeerResult } from './data.js';

export async function runCotangent(backend: 'cpu' | 'wasm' | 'webgpu'): Promise<PeerResult & { adapterKind?: string }> {
  const threads = process.env['BENCH_WASM_THREADS'] ? Number(process.env['BENCH_WASM_THREADS']) : undefined;
  await ct.init(backend === 'wasm' && threads !== undefined ? { backend, threads } : { backend });
  const device = ct.backendInfo();
  const matmul: PeerResult['matmul'] = [];
  for (const n of MATMUL_SIZES) {
    const a = ct.keep(ct.tensor(uniform(n * n, 1), { shape: [n, n] }));
    const b = ct.keep(ct.tensor(uniform(n * n, 2), { shape: [n, n] }));
    const t = await time(
      async () => {
        for (let i = 0; i < MM_BATCH; i++) ct.matmul(a, b).dispose();
        await ct.syncBackend();
      },
      { maxReps: n >= 1024 ? 3 : 20 },
    );
    matmul.push({ n, ms: t.ms / MM_BATCH, gflops: gflops(n, t.ms / MM_BATCH) });
    a.dispose();
    b.dispose();
  }
  const d = mlpData();
  let params = ct.keep(d.params.map((p) => ct.tensor(p.data, { shape: p.shape })));
  const x = ct.keep(ct.tensor(d.x, { shape: [MLP.batch, MLP.sizes[0]] }));
  const y = ct.keep(ct.tensor(d.labels, { dtype: 'i32' }));
  const loss = (p: ct.Tensor[]) => {
    let h = x;
    for (let i = 0; i < p.length; i += 2) {
      h = ct.add(ct.matmul(h, p[i]!), p[i + 1]!);
      if (i + 2 < p.length) h = ct.relu(h);
    }
    return ct.softmaxCrossEntropy(h, y);
  };
  let firstLoss = NaN;
  const step = async () => {
    const out = ct.scope(() => {
      const [l, g] = ct.valueAndGrad(loss)(params);
      return { l, p: params.map((w, i) => ct.sub(w, ct.mul((g as ct.Tensor[])[i]!, MLP.lr))) };
    });
    for (const w of params) w.dispose();
    params = ct.keep(out.p);
    const l = (await out.l.data())[0]!;
    if (Number.isNaN(firstLoss)) firstLoss = l;
    out.l.dispose();
  };
  const t = await time(step, { warmup: 2, minReps: 5, maxReps: 50, minMs: 3000 });
  // the same step as one jitted program: loss, gradient and update (the old parameters donated)
  const sgdStep = ct.jit(
    (p: ct.Tensor[]) => {
      const [l, g] = ct.valueAndGrad(loss)(p);
      return { l, p: p.map((w, i) => ct.sub(w, ct.mul((g as ct.Tensor[])[i]!, MLP.lr))) };
    },
    { donateArgnums: 0 },
  );
  for (const w of params) w.dispose();
  params = ct.keep(d.params.map((p) => ct.tensor(p.data, { shape: p.shape })));
  let firstJitLoss = NaN;
  let submits = 0;
  let steps = 0;
  const jitStep = async () => {
    const before = ct.debugCounters().submits;
    const out = sgdStep(params);
    params = ct.keep(out.p);
    const l = (await out.l.data())[0]!; // the step's dispatches are submitted with this read
    submits += ct.debugCounters().submits - before;
    steps++;
    if (Number.isNaN(firstJitLoss)) firstJitLoss = l;
    out.l.dispose();
  };
  const tj = await time(jitStep, { warmup: 2, minReps: 5, maxReps: 50, minMs: 3000 });
  const kind = backend === 'webgpu' ? (device.match(/; (\w+),/)?.[1] ?? undefined) : undefined;
  const jacobian = backend === 'webgpu' ? undefined : await runJacobianBench();
  await ct.shutdown();
  return {
    peer: `cotangent (${backend})`,
    device,
    matmul,
    mlp: { msPerStep: t.ms, stepsPerSec: 1000 / t.ms, firstLoss, reps: t.reps },
    mlpJit: { msPerStep: tj.ms, stepsPerSec: 1000 / tj.ms, firstLoss: firstJitLoss, reps: tj.reps, submitsPerStep: submits / steps },
    ...(jacobian ? { jacobian } : {}),
    ...(kind ? { adapterKind: kind } : {}),
  };
}
