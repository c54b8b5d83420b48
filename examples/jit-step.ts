/**
 * A hand-written training loop compiled with `jit`: the loss, its gradient and
 * the SGD update are one program, traced once; the old parameters are donated
 * so each step's outputs reuse their memory. Prints what the program became
 * (`lower`), the counters, and the time per step eagerly and jitted.
 * Run: npx tsx examples/jit-step.ts
 */
import * as ct from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { digitsSplit } from '../src/io/index.js';

const { train } = digitsSplit();
const model = nn.serial(nn.dense(64), nn.relu, nn.dense(10));
const { params: init } = model.init(nn.random.key(0), [-1, 64]);
type P = typeof init;

const loss = (p: P, x: ct.Tensor, y: ct.Tensor) => nn.softmaxCrossEntropy(model.apply(p, x), y);
const sgd = (p: P, x: ct.Tensor, y: ct.Tensor) => {
  const [l, g] = ct.valueAndGrad(loss)(p, x, y);
  const grads = ct.treeLeaves(g);
  return { loss: l, params: ct.treeMap(p, (w, i) => ct.sub(w as ct.Tensor, ct.mul(grads[i]!, 0.1))) };
};
const step = ct.jit(sgd, { donateArgnums: 0 });

const [x, y] = nn.batchTensors(train, 0, 128);
const start = ct.debugCounters();
console.log(step.lower(init, x, y).split('\n# fused#')[0]); // the program and its steps (the kernels follow in the full text)

const time = (f: () => void, n = 200): number => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t0) / n;
};
const free = (tree: P) => {
  for (const w of ct.treeLeaves(tree)) (w as ct.Tensor).dispose();
};
let p = ct.keep(ct.treeMap(init, (w) => ct.mul(w, 1)));
const eagerMs = time(() => {
  const r = ct.scope(() => sgd(p, x, y));
  free(p);
  p = ct.keep(r.params);
  r.loss.dispose();
});
const before = ct.debugCounters();
let last = 0;
const jitMs = time(() => {
  const r = step(p, x, y); // p is donated: its buffers are reused for r.params
  p = ct.keep(r.params);
  last = r.loss.dataSync()[0]!;
  r.loss.dispose();
});
const after = ct.debugCounters();
console.log(`eager ${eagerMs.toFixed(2)} ms/step, jit ${jitMs.toFixed(2)} ms/step; loss ${last.toFixed(4)}`);
console.log(
  `jit: ${after.traces - start.traces} trace (by lower; the 200 calls traced ${after.traces - before.traces} more), ` +
    `${((after.dispatches - before.dispatches) / 200).toFixed(0)} kernels per step`,
);
