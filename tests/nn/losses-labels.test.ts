/**
 * softmaxCrossEntropy on bad and masked inputs: class indices outside
 * [0, classes) are an error naming the op, the index and the class count
 * (labels on the host), and masked logits (−∞) give a finite loss whose
 * gradient is 0 for the masked entries and softmax − one-hot elsewhere.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';

const i32 = (a: number[]) => ct.tensor(a, { dtype: 'i32' });

describe('softmaxCrossEntropy labels', () => {
  it('rejects a class index past the last class, naming the op, the index and the class count', () => {
    expect(() => nn.softmaxCrossEntropy(ct.ones([1, 3]), i32([5]))).toThrow(/softmaxCrossEntropy: .*label 5 .*index 0.*3 classes/);
    expect(() => ct.softmaxCrossEntropy(ct.ones([2, 3]), i32([0, 3]))).toThrow(/softmaxCrossEntropy: .*label 3 .*index 1.*3 classes/);
  });

  it('rejects negative class indices, also inside grad', () => {
    expect(() => nn.softmaxCrossEntropy(ct.ones([2, 4]), i32([1, -1]))).toThrow(/softmaxCrossEntropy: .*label -1 .*index 1.*4 classes/);
    const labels = i32([-2]);
    expect(() => ct.grad((z: ct.Tensor) => nn.softmaxCrossEntropy(z, labels))(ct.ones([1, 3]))).toThrow(/label -2/);
  });

  it('accepts every index in range', () => {
    const l = nn.softmaxCrossEntropy(ct.zeros([3, 3]), i32([0, 1, 2])).dataSync()[0]!;
    expect(l).toBeCloseTo(Math.log(3), 6);
  });
});

describe('softmaxCrossEntropy with masked (−∞) logits', () => {
  it('[[−∞, 0]] with label 1 is 0 with gradient [0, 0]', () => {
    const z = ct.tensor([[-Infinity, 0]]);
    const labels = i32([1]);
    expect(nn.softmaxCrossEntropy(z, labels).dataSync()[0]).toBe(0);
    const g = ct.grad((x: ct.Tensor) => nn.softmaxCrossEntropy(x, labels))(z);
    expect(Array.from(g.dataSync())).toEqual([0, 0]);
  });

  it('a masked entry in a wider row: loss and gradient equal those of the row without it', () => {
    const labels = ct.tensor([2, 0], { dtype: 'i32', backend: 'cpu' }); // beside f64 logits, on cpu where f64 lives
    const masked = ct.tensor(
      [
        [1, -Infinity, 3],
        [0.5, -Infinity, -1],
      ],
      { dtype: 'f64' },
    );
    const loss = nn.softmaxCrossEntropy(masked, labels).dataSync()[0]!;
    // reference: the same rows without the masked column
    const lse = (a: number[]) => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
    const ref = (lse([1, 3]) - 3 + (lse([0.5, -1]) - 0.5)) / 2;
    expect(loss).toBeCloseTo(ref, 12);
    const g = Array.from(
      ct
        .grad((x: ct.Tensor) => nn.softmaxCrossEntropy(x, labels))(masked)
        .dataSync(),
    );
    const sm = (a: number[]) => a.map((v) => Math.exp(v - lse(a)));
    const [p0, p1] = [sm([1, 3]), sm([0.5, -1])];
    const want = [p0[0]! / 2, 0, (p0[1]! - 1) / 2, (p1[0]! - 1) / 2, 0, p1[1]! / 2];
    for (const [i, v] of g.entries()) expect(v).toBeCloseTo(want[i]!, 12);
  });

  it('probability labels with a masked logit stay finite where the probability is 0', () => {
    const l = nn.softmaxCrossEntropy(ct.tensor([[-Infinity, 0, 0]]), ct.tensor([[0, 0.5, 0.5]])).dataSync()[0]!;
    expect(l).toBeCloseTo(Math.log(2), 6);
  });
});
