/**
 * Shared helpers of the transformation tests: deterministic inputs, bitwise
 * and tolerance comparisons of tensors and pytrees, and kernel counts.
 */
import { expect } from 'vitest';
import { getBackendByName } from '../../src/backends/registry.js';
import * as ct from '../../src/index.js';

const cpu = getBackendByName('cpu');

/** Deterministic pseudo-random cpu tensor (an LCG seeded by `seed`), values in [-scale, scale). */
export function rand(shape: number[], dtype: 'f32' | 'f64', seed: number, scale = 1): ct.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return ct.fromTypedArray(a, shape, dtype, cpu);
}

/** Bit-for-bit equality of two tensors (same shape, dtype and every element, −0 and NaN included). */
export function same(a: ct.Tensor, b: ct.Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) expect([i, x[i]]).toEqual([i, y[i]]);
}

/** Equality of the shapes and of every element within `tol` relative to max(1, |b|). */
export function close(a: ct.Tensor, b: ct.Tensor, tol: number): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(y[i]!)));
}

/** Bit-for-bit equality of two pytrees: the same leaves, numbers equal and tensors {@link same}. */
export function sameTree(a: unknown, b: unknown): void {
  const fa = ct.treeFlatten(a);
  const fb = ct.treeFlatten(b);
  expect(fa.leaves.length).toBe(fb.leaves.length);
  fa.leaves.forEach((l, i) => {
    const r = fb.leaves[i]!;
    if (typeof l === 'number' || typeof r === 'number') expect(l).toBe(r);
    else same(l, r);
  });
}

/** How many kernels `fn` runs (its results freed by a scope). */
export const kernels = (fn: () => unknown): number => {
  const before = ct.debugCounters().kernelCalls;
  ct.scope(() => {
    fn();
  });
  return ct.debugCounters().kernelCalls - before;
};
