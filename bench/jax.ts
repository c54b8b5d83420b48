/**
 * jax-js peer: its wasm device and its webgpu device on Dawn; the MLP step is
 * compiled whole with `jit`, as its users run it. jax-js arrays are
 * reference-counted: every use consumes a reference (`.ref` adds one).
 *
 * wasm threads: jax-js runs its wasm kernels on a pool of Web Workers sharing
 * the memory when `SharedArrayBuffer` and a global `Worker` exist (browsers
 * that are cross-origin isolated); Node 20 has no global `Worker`, so there
 * it runs on the calling thread (`threads` = 1, as its Node users get it).
 * With `threads` > 1 a Web Worker shim on worker_threads
 * (bench/web-worker-shim.ts) is installed first, and jax-js starts that many workers.
 */
import { installDawnNavigator } from './dawn.js';
import { gflops, MATMUL_SIZES, MM_BATCH, mlpData, MLP, time, uniform, type PeerResult } from './data.js';
import { installWebWorkerShim } from './web-worker-shim.js';

type Arr = import('@jax-js/jax').numpy.Array;
export async function runJax(device: 'wasm' | 'webgpu', adapterKind: string, threads = 1): Promise<PeerResult> {
  if (device === 'webgpu') await installDawnNavigator(adapterKind);
  if (device === 'wasm' && threads > 1) installWebWorkerShim(threads);
  const jax = await import('@jax-js/jax');
  const ok: string[] = await jax.init(device);
  if (!ok.includes(device)) throw new Error(`jax-js device ${device} is not available (got ${ok.join(', ')})`);
  jax.defaultDevice(device);
  const np = jax.numpy;
  const matmul: PeerResult['matmul'] = [];
  for (const n of MATMUL_SIZES) {
    const a = np.array(uniform(n * n, 1)).reshape([n, n]);
    const b = np.array(uniform(n * n, 2)).reshape([n, n]);
    const t = await time(
      async () => {
        // jax-js arrays are lazy: each product must be realised, or it is never computed
        for (let i = 0; i < MM_BATCH; i++) (await np.matmul(a.ref, b.ref).blockUntilReady()).dispose();
      },
      { maxReps: n >= 1024 ? 3 : 20 },
    );
    matmul.push({ n, ms: t.ms / MM_BATCH, gflops: gflops(n, t.ms / MM_BATCH) });
    a.dispose();
    b.dispose();
  }
  const d = mlpData();
  let params: Arr[] = d.params.map((p) => np.array(p.data).reshape(p.shape));
  const x = np.array(d.x).reshape([MLP.batch, MLP.sizes[0]]);
  const y = jax.nn.oneHot(np.array(d.labels, { dtype: np.int32 }), 10);
  const loss = (p: Arr[], xb: Arr, yb: Arr) => {
    let h = xb;
    for (let i = 0; i < p.length; i += 2) {
      h = np.matmul(h, p[i]!).add(p[i + 1]!);
      if (i + 2 < p.length) h = jax.nn.relu(h);
    }
    return yb.mul(jax.nn.logSoftmax(h, -1)).sum(-1).mean().neg();
  };
  const step = jax.jit((p: Arr[], xb: Arr, yb: Arr): [Arr, Arr[]] => {
    const [l, g] = jax.valueAndGrad(loss)(jax.tree.ref(p), xb, yb);
    const next = p.map((w: Arr, i: number) => w.sub(g[i]!.mul(MLP.lr)));
    return [l, next];
  });
  let firstLoss = NaN;
  const t = await time(
    async () => {
      const [l, next] = step(params, x.ref, y.ref);
      params = next;
      const v = (await l.data())[0];
      if (Number.isNaN(firstLoss)) firstLoss = v;
    },
    { warmup: 2, minReps: 5, maxReps: 50, minMs: 3000 },
  );
  if (device === 'wasm' && threads > 1) {
    const { shimWorkersStarted } = await import('./web-worker-shim.js');
    if (shimWorkersStarted !== threads)
      throw new Error(`jax-js started ${shimWorkersStarted} worker threads, not ${threads}: its pool did not run (a single-thread figure)`);
  }
  const wasmLabel = threads > 1 ? `${threads} worker threads` : '1 thread';
  return {
    peer: device === 'wasm' ? `jax-js (wasm, ${wasmLabel})` : `jax-js (${device})`,
    device: device === 'webgpu' ? `jax-js webgpu on ${adapterKind}` : `jax-js wasm, ${wasmLabel}`,
    matmul,
    mlp: { msPerStep: t.ms, stepsPerSec: 1000 / t.ms, firstLoss, reps: t.reps },
  };
}
