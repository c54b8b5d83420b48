/**
 * take, scatterAdd and takeAlongAxis on WebGPU against the CPU (small shapes:
 * the software adapter is slow), duplicates and negative indices, and the
 * documented out-of-range behaviour: the indices stay on the GPU and are not
 * checked, so an out-of-range index reads 0 in take (and takeAlongAxis) and its
 * update is dropped in scatterAdd. Also the gradient of an embedding lookup.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { scatterSorts } from '../../src/backends/webgpu/indexingKernels.js';
import { acquireGpu, onCpu, rng } from './gpu.js';

const ok = await acquireGpu();

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Run `f` on WebGPU f32 tensors and on CPU f64 ones made from the same values; return both results' values. */
async function both(
  f: (xs: ct.Tensor[]) => ct.Tensor,
  inputs: readonly { values: number[]; shape: number[]; dtype?: 'i32' }[],
): Promise<[number[], number[], number[]]> {
  const g = f(inputs.map((s) => ct.tensor(s.values, { shape: s.shape, dtype: s.dtype ?? 'f32', backend: 'webgpu' })));
  expect(g.backendName).toBe('webgpu');
  const got = Array.from(await g.data());
  const [want, shape] = await onCpu(() => {
    const y = f(inputs.map((s) => ct.tensor(s.values, { shape: s.shape, dtype: s.dtype ?? 'f64', backend: 'cpu' })));
    return [Array.from(y.dataSync()), y.shape] as const;
  });
  expect(g.shape).toEqual(shape);
  return [got, want, [...shape]];
}

const close = (got: readonly number[], want: readonly number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  for (const [k, v] of got.entries()) expect(Math.abs(v - want[k]!), `element ${k}: ${v} vs ${want[k]}`).toBeLessThanOrEqual(tol);
};

describe.skipIf(!ok)('indexing on WebGPU', () => {
  afterAll(() => ct.shutdown());

  it('take and scatterAdd equal the CPU on every axis, with negative and duplicate indices (f32 and i32)', async () => {
    const r = rng(17);
    const xs = [3, 4, 5];
    const x = Array.from({ length: sizeOf(xs) }, () => Math.round(r() * 20 - 10));
    for (let axis = 0; axis < 3; axis++) {
      const n = xs[axis]!;
      const idx = [0, n - 1, -1, -n, 1 % n, 0];
      const is = [2, 3];
      const us = [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)];
      const u = Array.from({ length: sizeOf(us) }, () => Math.round(r() * 20 - 10));
      for (const dtype of [undefined, 'i32' as const]) {
        const [g1, w1] = await both(
          ([a, i]) => ct.take(a!, i!, axis),
          [
            { values: x, shape: xs, ...(dtype ? { dtype } : {}) },
            { values: idx, shape: is, dtype: 'i32' },
          ],
        );
        expect(g1).toEqual(w1);
        const [g2, w2] = await both(
          ([a, i, b]) => ct.scatterAdd(a!, i!, b!, axis),
          [
            { values: x, shape: xs, ...(dtype ? { dtype } : {}) },
            { values: idx, shape: is, dtype: 'i32' },
            { values: u, shape: us, ...(dtype ? { dtype } : {}) },
          ],
        );
        expect(g2).toEqual(w2);
      }
    }
  });

  it('scatterAdd of many duplicates (f32 sums in index order) and a rank-0 index', async () => {
    const r = rng(3);
    const m = 300;
    const idx = Array.from({ length: m }, (_, j) => (j * 7) % 4);
    const u = Array.from({ length: m * 3 }, () => r() - 0.5);
    const [got, want] = await both(
      ([a, i, b]) => ct.scatterAdd(a!, i!, b!, 0),
      [
        { values: new Array(12).fill(0), shape: [4, 3] },
        { values: idx, shape: [m], dtype: 'i32' },
        { values: u, shape: [m, 3] },
      ],
    );
    close(got, want, 1e-4);
    const [g0, w0] = await both(
      ([a, i]) => ct.take(a!, i!, 1),
      [
        { values: [1, 2, 3, 4, 5, 6], shape: [2, 3] },
        { values: [-2], shape: [], dtype: 'i32' },
      ],
    );
    expect(g0).toEqual(w0);
    expect(g0).toEqual([2, 5]);
  });

  it('scatterAdd with many indices into a larger output (the sorted kernel): equals the CPU, duplicates in index order', async () => {
    const r = rng(23);
    // 24 indices into [40, 8] take the sorted kernel; the 300 above and the examples below take the direct one
    expect(scatterSorts(40 * 8, 24)).toBe(true);
    expect(scatterSorts(12, 300)).toBe(false);
    const idx = [3, -1, 3, 0, 39, -40, 7, 3, 3, 12, -28, 39, 0, 5, 5, 5, 3, -37, 20, 21, 22, -1, 0, 3];
    for (const dtype of [undefined, 'i32' as const]) {
      const u = Array.from({ length: 24 * 8 }, () => (dtype ? Math.round(r() * 100 - 50) : r() - 0.5));
      const x = Array.from({ length: 40 * 8 }, () => (dtype ? Math.round(r() * 100 - 50) : r() - 0.5));
      const [got, want] = await both(
        ([a, i, b]) => ct.scatterAdd(a!, i!, b!, 0),
        [
          { values: x, shape: [40, 8], ...(dtype ? { dtype } : {}) },
          { values: idx, shape: [24], dtype: 'i32' },
          { values: u, shape: [24, 8], ...(dtype ? { dtype } : {}) },
        ],
      );
      if (dtype) expect(got).toEqual(want);
      else close(got, want, 1e-5);
    }
    // out of range in the sorted kernel: dropped (index 40 and -41 along an axis of 40)
    const bad = ct.scatterAdd(
      ct.zeros([40, 2], { backend: 'webgpu' }),
      ct.tensor([40, 1, -41, 1, 2, 2, 2, 2, 2, 2, 2, 2], { dtype: 'i32', backend: 'webgpu' }),
      ct.ones([12, 2], { backend: 'webgpu' }),
      0,
    );
    expect(scatterSorts(80, 12)).toBe(true);
    const v = Array.from(await bad.data());
    expect(v.slice(0, 6)).toEqual([0, 0, 2, 2, 8, 8]);
    expect(v.slice(6).every((e) => e === 0)).toBe(true);
  });

  it('out of range: take reads 0, scatterAdd drops the update, takeAlongAxis reads 0 (no error on WebGPU)', async () => {
    const x = ct.tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3], backend: 'webgpu' });
    const idx = ct.tensor([0, 3, -4, 2, 100], { dtype: 'i32', backend: 'webgpu' });
    expect(Array.from(await ct.take(x, idx, 1).data())).toEqual([1, 0, 0, 3, 0, 4, 0, 0, 6, 0]);
    const u = ct.tensor([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], { shape: [2, 5], backend: 'webgpu' });
    expect(Array.from(await ct.scatterAdd(x, idx, u, 1).data())).toEqual([11, 2, 43, 64, 5, 96]);
    const along = ct.takeAlongAxis(
      x,
      ct.tensor(
        [
          [2, 5, -1],
          [-7, 0, 1],
        ],
        { dtype: 'i32', backend: 'webgpu' },
      ),
      1,
    );
    expect(Array.from(await along.data())).toEqual([3, 0, 3, 0, 4, 5]);
  });

  it('takeAlongAxis with broadcasting equals the CPU', async () => {
    const [got, want, shape] = await both(
      ([a, i]) => ct.takeAlongAxis(a!, i!, 1),
      [
        { values: [5, 1, 4, 2, 8, 3, 7, 6], shape: [2, 4, 1] },
        { values: [3, -1, 0, 1, 2, 2], shape: [1, 3, 2], dtype: 'i32' },
      ],
    );
    expect(shape).toEqual([2, 3, 2]);
    expect(got).toEqual(want);
  });

  it('the gradient of an embedding lookup (scatterAdd of the cotangent) equals the CPU', async () => {
    const r = rng(9);
    const E = Array.from({ length: 6 * 4 }, () => r() - 0.5);
    const ids = [1, 4, 1, 5, -1, 0];
    const w = Array.from({ length: 6 * 4 }, () => r() - 0.5);
    const [got, want] = await both(
      ([e, i, v]) => ct.grad((a: ct.Tensor) => ct.sum(ct.mul(ct.tanh(ct.take(a, i!, 0)), v!)))(e!),
      [
        { values: E, shape: [6, 4] },
        { values: ids, shape: [6], dtype: 'i32' },
        { values: w, shape: [6, 4] },
      ],
    );
    close(got, want, 1e-5);
  });
});
