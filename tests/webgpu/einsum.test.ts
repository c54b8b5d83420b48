/**
 * einsum on WebGPU: a composite of transpose, reshape, pad, slice, sum, mul and
 * matmul, so it runs unchanged on the GPU. A few specs (diagonal, trace,
 * batched contraction, three operands, ellipsis broadcasting) and a gradient,
 * each against the CPU in f64 (f32 tolerance).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { acquireGpu, onCpu } from './gpu.js';

const ok = await acquireGpu();

const values = (shape: number[], seed: number) =>
  Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + 1.3 * i));

const cases: [string, number[][]][] = [
  ['ii->i', [[3, 3]]],
  ['ii->', [[4, 4]]],
  [
    'bij,bjk->bik',
    [
      [2, 3, 4],
      [2, 4, 2],
    ],
  ],
  [
    'ij,jk,kl->il',
    [
      [2, 5],
      [5, 3],
      [3, 2],
    ],
  ],
  [
    '...ij,...jk',
    [
      [2, 1, 2, 3],
      [3, 3, 2],
    ],
  ],
  ['iij,j->i', [[3, 3, 2], [2]]],
];

describe.skipIf(!ok)('einsum on WebGPU (f32)', () => {
  afterAll(() => ct.shutdown());

  for (const [spec, shapes] of cases) {
    it(`${spec} equals the CPU, and so does its gradient`, async () => {
      const data = shapes.map((s, k) => values(s, k));
      const loss = (xs: ct.Tensor[]) => ct.sum(ct.square(ct.einsum(spec, ...xs)));
      const gpuXs = data.map((d, k) => ct.tensor(d, { shape: shapes[k] }));
      expect(gpuXs[0]!.backendName).toBe('webgpu');
      const out = ct.einsum(spec, ...gpuXs);
      expect(out.backendName).toBe('webgpu');
      const y = await out.data();
      const gs = await Promise.all(
        ct
          .grad(loss)(gpuXs)
          .map((g) => g.data()),
      );
      const [wantY, wantGs] = await onCpu(() => {
        const xs = data.map((d, k) => ct.tensor(d, { shape: shapes[k], dtype: 'f64' }));
        return [
          ct.einsum(spec, ...xs).dataSync(),
          ct
            .grad(loss)(xs)
            .map((g) => g.dataSync()),
        ] as const;
      });
      const close = (got: ArrayLike<number>, want: ArrayLike<number>) => {
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!)));
      };
      close(y, wantY);
      gs.forEach((g, k) => {
        close(g, wantGs[k]!);
      });
    });
  }
});
