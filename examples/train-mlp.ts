/**
 * Train a small MLP on the embedded 8×8 digits with the library API (the
 * same thing `npm start` does through the command line), save a checkpoint
 * and load it back.  Run: npx tsx examples/train-mlp.ts
 */
import * as E from 'fp-ts/lib/Either.js';
import * as ct from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { digitsSplit, readCheckpoint, restoreModel, saveCheckpoint } from '../src/io/index.js';

const { train, test } = digitsSplit(); // 1,438 / 359 images, examples [64]
const model = nn.serial(nn.dense(128), nn.relu, nn.dense(10));
const [initKey, fitKey] = nn.random.split(nn.random.key(0));
const { params } = model.init(initKey!, [-1, 64]); // typed: readonly [DenseParams, {}, DenseParams]

const epochs = 30;
const optimizer = nn.adam(nn.cosineDecay(4e-3, epochs * Math.ceil(train.y.length / 64)));
const t0 = performance.now();
const result = await nn.fit(model, params, train, {
  loss: nn.softmaxCrossEntropy,
  optimizer,
  epochs,
  batchSize: 64,
  key: fitKey!,
  validation: test,
  onEpoch: (e) => {
    if ((e.epoch + 1) % 10 === 0)
      console.log(
        `epoch ${e.epoch + 1}: train loss ${e.train.loss.toFixed(4)}, test accuracy ${(100 * e.validation!.accuracy).toFixed(2)}%`,
      );
  },
});
console.log(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s; live tensors: ${ct.memoryStats().liveTensors}`);

const file = await saveCheckpoint('out/example-mlp', {
  params: result.params,
  model,
  inputShape: [-1, 64],
  optimizer,
  optState: result.optState,
});
const restored = E.chain(restoreModel)(readCheckpoint(file));
if (E.isLeft(restored)) throw restored.left;
const ev = await nn.evaluate(restored.right.model, restored.right.params, test, { loss: nn.softmaxCrossEntropy });
console.log(`reloaded from ${file}: test accuracy ${(100 * ev.accuracy).toFixed(2)}%`);
