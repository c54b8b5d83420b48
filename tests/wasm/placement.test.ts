/**
 * Constants that ops create inside their rules (the one-hot mask of max's
 * derivative, oneHot's class range) live on the backend of their input, not
 * on the default backend: gradients of max, softmaxCrossEntropy and oneHot
 * work on a backend that is not the default one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

beforeAll(async () => {
  await ct.init({ backend: 'wasm' });
  await ct.init({ backend: 'cpu' }); // wasm initialised, the CPU the default
});
afterAll(() => ct.init({ backend: 'cpu' }));

describe('ops place their constants on their input backend', () => {
  it('grad of max on wasm tensors while the CPU is the default', () => {
    const x = ct.tensor([1, 5, 2], { backend: 'wasm' });
    const g = ct.grad((v: ct.Tensor) => ct.max(v))(x);
    expect(g.backendName).toBe('wasm');
    expect(Array.from(g.dataSync())).toEqual([0, 1, 0]);
  });

  it('oneHot and softmaxCrossEntropy with labels on wasm', () => {
    const labels = ct.tensor([2, 0], { dtype: 'i32', backend: 'wasm' });
    expect(ct.oneHot(labels, 3).backendName).toBe('wasm');
    const logits = ct.tensor(
      [
        [1, 2, 3],
        [0, 0, 0],
      ],
      { backend: 'wasm' },
    );
    const g = ct.grad((l: ct.Tensor) => ct.softmaxCrossEntropy(l, labels))(logits);
    expect(g.backendName).toBe('wasm');
    const sm = (v: number[]) => v.map((a) => Math.exp(a) / v.reduce((s, b) => s + Math.exp(b), 0));
    const want = [...sm([1, 2, 3]).map((p, i) => (p - (i === 2 ? 1 : 0)) / 2), ...sm([0, 0, 0]).map((p, i) => (p - (i === 0 ? 1 : 0)) / 2)];
    Array.from(g.dataSync()).forEach((v, i) => {
      expect(v).toBeCloseTo(want[i]!, 6);
    });
  });
});
