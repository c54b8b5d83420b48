/**
 * jax-js peer: its wasm device (single-threaded in Node) and its webgpu
 * device on Dawn; the MLP step is compiled whole with `jit`, as its users run it.
 * jax-js arrays are reference-counted: every use consumes a reference (`.ref` adds one).
 */
import { installDawnNavigator } from './dawn.js';
import { gflops, MATMUL_SIZES, MM_BATCH, mlpData, MLP, time, uniform, type PeerResult } from './data.js';

type Arr = import('@jax-js/jax').numpy.Array;
export async function runJax(device: 'wasm' | 'webgpu', adapterKind: string): Promise<PeerResult> {
  if (device === 'webgpu') await installDawnNavigator(adapterKind);
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
  return {
    peer: `jax-js (${device})`,
    device: device === 'webgpu' ? `jax-js webgpu on ${adapterKind}` : 'jax-js wasm',
    matmul,
    mlp: { msPerStep: t.ms, stepsPerSec: 1000 / t.ms, firstLoss, reps: t.reps },
  };
}
