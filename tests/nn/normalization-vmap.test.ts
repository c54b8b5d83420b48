/**
 * batchNorm and layerNorm under vmap equal a loop over the examples (each
 * example a batch of its own): batch statistics, inference with given
 * statistics, and vmap of the gradient, on cpu f64.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { prng } from '../../laws/numeric.js';

const f64 = (values: number[], shape: number[]) => ct.tensor(values, { shape, dtype: 'f64', backend: 'cpu' });
const rand = (shape: number[], seed: number) => {
  const r = prng(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 4 - 2);
};
const B = 3;
const x = f64(rand([B, 5, 4], 1), [B, 5, 4]);
const gamma = f64([1, 2, 0.5, -1], [4]);
const beta = f64([0, 1, -1, 2], [4]);
const example = (i: number) => ct.squeeze(ct.slice(x, [i, 0, 0], [1, 5, 4]), 0);

/** vmap(f)(x) against stacking f over the examples, to rounding. */
function expectVmapIsLoop(f: (xi: ct.Tensor) => ct.Tensor): void {
  const batched = Array.from(ct.vmap(f)(x).dataSync());
  const loop = Array.from(
    ct
      .stack(
        Array.from({ length: B }, (_, i) => f(example(i))),
        0,
      )
      .dataSync(),
  );
  expect(batched.length).toBe(loop.length);
  for (let i = 0; i < loop.length; i++) expect(Math.abs(batched[i]! - loop[i]!)).toBeLessThan(1e-12 * (1 + Math.abs(loop[i]!)));
}

describe('normalisation under vmap', () => {
  it('batchNorm with batch statistics: each example normalised over its own batch', () => {
    expectVmapIsLoop((xi) => nn.functional.batchNorm(xi, gamma, beta));
  });
  it('batchNorm with given statistics (inference)', () => {
    const mean = f64([0.1, 0.2, 0.3, 0.4], [4]);
    const variance = f64([1, 2, 3, 4], [4]);
    expectVmapIsLoop((xi) => nn.functional.batchNorm(xi, gamma, beta, { mean, variance }));
  });
  it('vmap of the gradient of batchNorm and layerNorm', () => {
    expectVmapIsLoop(ct.grad((xi: ct.Tensor) => ct.sum(ct.square(nn.functional.batchNorm(xi, gamma, beta)))));
    expectVmapIsLoop(ct.grad((xi: ct.Tensor) => ct.sum(ct.sin(nn.functional.layerNorm(xi, gamma, beta)))));
  });
  it('the per-example statistics differ from the pooled ones (the law can fail)', () => {
    const pooled = Array.from(nn.functional.batchNorm(ct.reshape(x, [B * 5, 4]), gamma, beta).dataSync());
    const batched = Array.from(
      ct
        .vmap((xi: ct.Tensor) => nn.functional.batchNorm(xi, gamma, beta))(x)
        .dataSync(),
    );
    expect(Math.max(...batched.map((v, i) => Math.abs(v - pooled[i]!)))).toBeGreaterThan(1e-3);
  });
});
