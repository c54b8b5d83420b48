/**
 * fit stops on a non-finite training loss with an error naming the epoch and
 * the step whose loss was non-finite (losses are read one step late), and it
 * frees what it made: the caller's parameters stay alive, nothing else leaks.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { digitsSplit } from '../../src/io/digits.js';

const { train } = digitsSplit();

describe('fit on a non-finite loss', () => {
  it('an all-NaN data set through a dense layer stops at epoch 0, step 0 with a clear error', async () => {
    const n = 40;
    const data: nn.Dataset = {
      name: 'all-nan',
      x: new Float32Array(n * 8).fill(NaN),
      exampleShape: [8],
      y: Int32Array.from({ length: n }, (_, i) => i % 3),
      numClasses: 3,
    };
    const model = nn.serial(nn.dense(3)); // no activation: NaN inputs give NaN logits whatever relu does with NaN
    const { params } = model.init(nn.random.key(0), [-1, 8]);
    const before = ct.memoryStats().liveTensors;
    const steps: number[] = [];
    await expect(
      nn.fit(model, params, data, {
        loss: nn.softmaxCrossEntropy,
        optimizer: nn.adam(0.01),
        epochs: 3,
        batchSize: 10,
        key: nn.random.key(1),
        onStep: (s) => steps.push(s.step),
      }),
    ).rejects.toThrow(
      /fit: the training loss is NaN at epoch 0, step 0 of 4 \(0-based, as in onStep; batch of 10 examples\); training stopped/,
    );
    expect(steps).toEqual([]);
    expect(ct.memoryStats().liveTensors).toBe(before); // fit's own tensors were freed
    expect(params[0].W.dataSync()).toHaveLength(24); // the caller's parameters are alive
  });

  it('a diverging run names the first step whose loss was non-finite, after finite ones were reported', async () => {
    const model = nn.serial(nn.dense(10));
    const { params } = model.init(nn.random.key(2), [-1, 64]);
    const data = nn.take(
      train,
      Array.from({ length: 320 }, (_, i) => i),
      'digits-320',
    );
    const losses: { epoch: number; step: number; loss: number }[] = [];
    let error: Error | null = null;
    try {
      await nn.fit(model, params, data, {
        loss: nn.softmaxCrossEntropy,
        optimizer: nn.sgd(3e38),
        epochs: 5,
        batchSize: 32,
        key: nn.random.key(3),
        onStep: (s) => losses.push({ epoch: s.epoch, step: s.step, loss: s.loss }),
      });
    } catch (e) {
      error = e as Error;
    }
    expect(error).not.toBeNull();
    expect(losses.length).toBeGreaterThan(0); // the first step's loss (at the initial weights) is finite
    expect(losses.every((l) => Number.isFinite(l.loss))).toBe(true);
    const last = losses[losses.length - 1]!;
    const next = last.step + 1 < 10 ? { epoch: last.epoch, step: last.step + 1 } : { epoch: last.epoch + 1, step: 0 };
    expect(error!.message).toMatch(
      new RegExp(`fit: the training loss is (NaN|Infinity|-Infinity) at epoch ${next.epoch}, step ${next.step} of 10 `),
    );
  });
});

describe('fit checks its validation set before the first step', () => {
  it('a validation set of another example shape is an error naming both, before any step runs', async () => {
    const model = nn.serial(nn.dense(3));
    const { params } = model.init(nn.random.key(0), [-1, 4]);
    const train: nn.Dataset = { name: 'tr', x: new Float32Array(8 * 4), y: new Int32Array(8), exampleShape: [4], numClasses: 3 };
    const validation: nn.Dataset = { name: 'va', x: new Float32Array(2 * 5), y: new Int32Array(2), exampleShape: [5], numClasses: 3 };
    let steps = 0;
    await expect(
      nn.fit(model, params, train, {
        loss: nn.softmaxCrossEntropy,
        optimizer: nn.sgd(0.1),
        epochs: 1,
        batchSize: 4,
        key: nn.random.key(1),
        validation,
        onStep: () => void steps++,
      }),
    ).rejects.toThrow(/examples of tr are \[4\] but those of va are \[5\]/);
    expect(steps).toBe(0);
  });
});
