/**
 * A small CNN (NHWC conv2d + max-pooling, built from primitives) on the
 * embedded digits, with dropout driven by the PRNG key, trained with a
 * hand-written loop around `trainStep`.  Run: npx tsx examples/cnn-digits.ts
 */
import * as ct from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { digitsSplit } from '../src/io/index.js';

const { train, test } = digitsSplit();
const model = nn.serial(
  nn.reshape([8, 8, 1]),
  nn.conv2d(16, 3, { padding: 'same' }), // W: [3, 3, 1, 16]
  nn.relu,
  nn.maxPool2d(2), // [N, 4, 4, 16]
  nn.flatten,
  nn.dropout(0.2),
  nn.dense(10),
);
const key = nn.random.key(1);
let { params } = model.init(key, [-1, 64]);
const optimizer = nn.adam(3e-3);
let state = optimizer.init(params);
const step = nn.trainStep(model, nn.softmaxCrossEntropy, optimizer);

for (let epoch = 0; epoch < 10; epoch++) {
  const order = nn.random.permutationArray(nn.random.foldIn(key, epoch), train.y.length);
  for (let s = 0; s * 64 < train.y.length; s++) {
    const n = Math.min(64, train.y.length - s * 64);
    const [x, y] = nn.batchTensors(train, s * 64, n, order);
    const r = step(params, state, x, y, nn.random.foldIn(key, 1000 * epoch + s)); // runs in a scope
    for (const t of ct.treeLeaves([params, state, x, y, r.loss, r.correct])) if (typeof t !== 'number') t.dispose();
    params = r.params;
    state = r.state;
  }
  const ev = await nn.evaluate(model, params, test, { loss: nn.softmaxCrossEntropy });
  console.log(`epoch ${epoch + 1}: test accuracy ${(100 * ev.accuracy).toFixed(2)}%  (live tensors ${ct.memoryStats().liveTensors})`);
}
