/**
 * Per-example gradients with vmap(grad(loss)), and a differentially private
 * style SGD step built on them: each example's gradient is clipped to norm C,
 * the clipped gradients are averaged, Gaussian noise of scale σ·C/B is added
 * and the parameters take the step. An MLP 64-64-10 on the embedded 8×8
 * digits; prints the per-example gradient norms and the test accuracy as it
 * learns. Run: npx tsx examples/per-example-grads.ts
 */
import * as ct from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { digitsSplit } from '../src/io/index.js';

type Params = { W1: ct.Tensor; b1: ct.Tensor; W2: ct.Tensor; b2: ct.Tensor };

const { train, test } = digitsSplit(); // 1,438 / 359 images of 64 pixels
const tensorOf = (d: typeof train) => ({
  x: ct.keep(ct.tensor(d.x, { shape: [d.y.length, 64] })),
  y: ct.keep(ct.oneHot(ct.tensor(d.y, { dtype: 'i32' }), 10)), // one-hot rows: probability labels
  labels: d.y,
});
const tr = tensorOf(train);
const te = tensorOf(test);

const [k1, k2, noiseKey, batchKey] = nn.random.split(nn.random.key(0), 4);
let params: Params = ct.keep({
  W1: ct.mul(nn.random.normal(k1!, [64, 64]), Math.sqrt(2 / 64)),
  b1: ct.zeros([64]),
  W2: ct.mul(nn.random.normal(k2!, [64, 10]), Math.sqrt(1 / 64)),
  b2: ct.zeros([10]),
});

const logits = (p: Params, x: ct.Tensor) => ct.add(ct.matmul(ct.relu(ct.add(ct.matmul(x, p.W1), p.b1)), p.W2), p.b2);
/** The loss of ONE example: x [64], y [10] (one-hot). */
const loss = (p: Params, x: ct.Tensor, y: ct.Tensor) => ct.softmaxCrossEntropy(logits(p, x), y);

/** One gradient per example: the parameters shared (null), the examples batched along axis 0. */
const perExampleGrads = ct.vmap(ct.grad(loss), { inAxes: [null, 0, 0] });

/** Each example's gradient norm over all parameters: [B]. */
const norms = (g: Params): ct.Tensor =>
  ct.sqrt(
    Object.values(g).reduce(
      (acc: ct.Tensor, t: ct.Tensor) => ct.add(acc, ct.sum(ct.reshape(ct.square(t), [t.shape[0]!, -1]), 1)),
      ct.scalar(0),
    ),
  );

const C = 1; // clipping norm
const sigma = 0.5; // noise multiplier
const lr = 0.5;
const B = 128;

/** The private step: clip each example's gradient to norm C, average, add N(0, (σC/B)²) noise, update. */
function dpStep(p: Params, x: ct.Tensor, y: ct.Tensor, key: nn.random.Key): { params: Params; norms: ct.Tensor } {
  const g = perExampleGrads(p, x, y);
  const n = norms(g);
  const scale = ct.minimum(1, ct.div(C, ct.add(n, 1e-12))); // [B]
  const keys = nn.random.split(key, 4);
  const next = {} as Params;
  (Object.keys(p) as (keyof Params)[]).forEach((name, i) => {
    const gi = g[name];
    const s = ct.reshape(scale, [B, ...gi.shape.slice(1).map(() => 1)]);
    const mean = ct.div(ct.sum(ct.mul(gi, s), 0), B);
    const noise = ct.mul(nn.random.normal(keys[i]!, p[name].shape), (sigma * C) / B);
    next[name] = ct.sub(p[name], ct.mul(ct.add(mean, noise), lr));
  });
  return { params: next, norms: n };
}

const accuracy = (p: Params): number => {
  const pred = ct.argmax(logits(p, te.x), 1).dataSync();
  let ok = 0;
  for (let i = 0; i < te.labels.length; i++) if (pred[i] === te.labels[i]) ok++;
  return ok / te.labels.length;
};

const stats = (v: ArrayLike<number>) => {
  const a = Array.from(v).sort((x, y) => x - y);
  const q = (f: number) => a[Math.min(a.length - 1, Math.floor(f * a.length))]!;
  return `min ${a[0]!.toFixed(3)}, median ${q(0.5).toFixed(3)}, 90% ${q(0.9).toFixed(3)}, max ${a[a.length - 1]!.toFixed(3)}`;
};

// per-example gradients agree with a loop over the examples (the first 3)
ct.scope(() => {
  const g = perExampleGrads(params, ct.slice(tr.x, [0, 0], [3, 64]), ct.slice(tr.y, [0, 0], [3, 10]));
  let worst = 0;
  for (let k = 0; k < 3; k++) {
    const e = ct.grad(loss)(params, ct.reshape(ct.slice(tr.x, [k, 0], [1, 64]), [64]), ct.reshape(ct.slice(tr.y, [k, 0], [1, 10]), [10]));
    for (const name of Object.keys(e) as (keyof Params)[]) {
      const a = ct.reshape(ct.slice(g[name], [k], [1]), e[name].shape).dataSync();
      const b = e[name].dataSync();
      for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
  }
  console.log(`vmap(grad) vs a loop over 3 examples: largest difference ${worst.toExponential(2)}`);
});

console.log(`test accuracy before training: ${(100 * accuracy(params)).toFixed(1)}%`);
const t0 = performance.now();
const steps = 300;
const perm = nn.random.permutation(batchKey!, train.y.length).dataSync();
let keys = noiseKey!;
for (let step = 1; step <= steps; step++) {
  const start = ((step - 1) * B) % (train.y.length - B);
  const idx = perm.slice(start, start + B);
  const [k, rest] = nn.random.split(keys);
  keys = rest!;
  const out = ct.scope(() => {
    const xb = new Float32Array(B * 64);
    idx.forEach((e, i) => {
      xb.set(train.x.subarray(e * 64, e * 64 + 64), i * 64);
    });
    const x = ct.tensor(xb, { shape: [B, 64] });
    const y = ct.oneHot(
      ct.tensor(
        Int32Array.from(idx, (e) => train.y[e]!),
        { dtype: 'i32' },
      ),
      10,
    );
    return dpStep(params, x, y, k!);
  });
  for (const t of Object.values(params)) t.dispose();
  params = ct.keep(out.params);
  if (step === 1 || step % 100 === 0)
    console.log(
      `step ${step}: per-example gradient norms ${stats(out.norms.dataSync())}; clipped to ${C}; ` +
        `test accuracy ${(100 * accuracy(params)).toFixed(1)}%`,
    );
  out.norms.dispose();
}
console.log(`${steps} private steps (batch ${B}, C = ${C}, σ = ${sigma}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
