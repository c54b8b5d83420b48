/**
 * TensorFlow.js peers: the cpu backend, tfjs-backend-wasm and
 * tfjs-backend-webgpu (on Dawn, same adapter kind as cotangent), running the
 * same matmuls and the same MLP SGD step.
 */
import { installDawnNavigator } from './dawn.js';
import { gflops, MATMUL_SIZES, MM_BATCH, mlpData, MLP, time, uniform, type PeerResult } from './data.js';

export async function runTfjs(backend: 'cpu' | 'wasm' | 'webgpu', adapterKind: string): Promise<PeerResult> {
  if (backend === 'webgpu') await installDawnNavigator(adapterKind);
  const tf = await import('@tensorflow/tfjs');
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
  await tf.ready();
  const device = backend === 'webgpu' ? `tfjs-webgpu on ${adapterKind}` : `tfjs ${backend}`;
  const matmul: PeerResult['matmul'] = [];
  for (const n of MATMUL_SIZES) {
    const a = tf.tensor2d(uniform(n * n, 1), [n, n]);
    const b = tf.tensor2d(uniform(n * n, 2), [n, n]);
    const t = await time(
      async () => {
        let c = tf.matMul(a, b);
        for (let i = 1; i < MM_BATCH; i++) {
          c.dispose();
          c = tf.matMul(a, b);
        }
        const corner = tf.slice(c, [0, 0], [1, 1]);
        await corner.data();
        corner.dispose();
        c.dispose();
      },
      { maxReps: n >= 1024 ? 3 : 20 },
    );
    matmul.push({ n, ms: t.ms / MM_BATCH, gflops: gflops(n, t.ms / MM_BATCH) });
    a.dispose();
    b.dispose();
  }
  const d = mlpData();
  const params = d.params.map((p) => tf.variable(tf.tensor(p.data, p.shape)));
  const x = tf.tensor2d(d.x, [MLP.batch, MLP.sizes[0]]);
  const labels = tf.oneHot(tf.tensor1d(d.labels, 'int32'), 10);
  const opt = tf.train.sgd(MLP.lr);
  const loss = () =>
    tf.tidy(() => {
      let h: import('@tensorflow/tfjs').Tensor = x;
      for (let i = 0; i < params.length; i += 2) {
        h = tf.add(tf.matMul(h as import('@tensorflow/tfjs').Tensor2D, params[i]! as import('@tensorflow/tfjs').Tensor2D), params[i + 1]!);
        if (i + 2 < params.length) h = tf.relu(h);
      }
      return tf.losses.softmaxCrossEntropy(labels, h) as import('@tensorflow/tfjs').Scalar;
    });
  let firstLoss = NaN;
  const t = await time(
    async () => {
      const l = opt.minimize(loss, true)!;
      const v = (await l.data())[0]!;
      if (Number.isNaN(firstLoss)) firstLoss = v;
      l.dispose();
    },
    { warmup: 2, minReps: 5, maxReps: 50, minMs: 3000 },
  );
  return { peer: `tfjs (${backend})`, device, matmul, mlp: { msPerStep: t.ms, stepsPerSec: 1000 / t.ms, firstLoss, reps: t.reps } };
}
