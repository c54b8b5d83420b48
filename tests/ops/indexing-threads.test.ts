/**
 * The wasm indexing kernels split over threads: take splits its output rows and
 * scatterAdd its outer blocks (each written by one thread, so duplicates still
 * accumulate in index order) over the pool; with every call forced to split (2
 * threads with the caller, and 3 workers without it) they equal the cpu f32
 * kernels bit for bit, as on one thread; the workers are checked to have run
 * chunks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { prng } from '../../laws/numeric.js';
import { forcedSplitPools } from './forcedSplit.js';

describe('take and scatterAdd split over wasm threads equal the cpu kernels', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'cpu' });
  });
  const eachPool = forcedSplitPools();

  it('every call split, odd sizes, negative and duplicate indices', () => {
    eachPool(() => {
      for (const [outer, n, inner, m] of [
        [37, 5, 3, 11],
        [9, 13, 17, 40],
        [101, 2, 1, 7],
      ] as const) {
        const r = prng(outer * n + inner * m);
        const x = Float32Array.from({ length: outer * n * inner }, () => r() - 0.5);
        const u = Float32Array.from({ length: outer * m * inner }, () => r() - 0.5);
        const idx = Int32Array.from({ length: m }, () => Math.floor(r() * 2 * n) - n);
        const run = (backend: ct.BackendName) =>
          ct.scope(() => {
            const xt = ct.tensor(x, { shape: [outer, n, inner], backend });
            const ix = ct.tensor(idx, { dtype: 'i32', backend });
            const ut = ct.tensor(u, { shape: [outer, m, inner], backend });
            return [Array.from(ct.take(xt, ix, 1).dataSync()), Array.from(ct.scatterAdd(xt, ix, ut, 1).dataSync())];
          });
        expect(run('wasm')).toEqual(run('cpu'));
      }
    });
  });
});
