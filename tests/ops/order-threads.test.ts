/**
 * The wasm scan and sort kernels split over threads: cumsum and argsort split
 * their lines over the pool (argsort with a scratch block of its own per
 * thread), so with every call forced to split (2 threads with the caller, and
 * 3 workers without it) they equal the loop references exactly, as on one
 * thread; the workers are checked to have run chunks.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { prng } from '../../laws/numeric.js';
import { forcedSplitPools } from './forcedSplit.js';

/** The stable ascending order of each row of a [rows, len] array by rank counting (NaN last). */
function refArgsortRows(x: Float32Array, rows: number, len: number): number[] {
  const before = (u: number, v: number) => (Number.isNaN(v) ? !Number.isNaN(u) : u < v);
  const out = new Array<number>(x.length).fill(-1);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < len; k++) {
      const v = x[r * len + k]!;
      let rank = 0;
      for (let j = 0; j < len; j++) {
        const u = x[r * len + j]!;
        if (before(u, v) || (j < k && !before(v, u))) rank++;
      }
      out[r * len + rank] = k;
    }
  return out;
}

/** Running sums of each row in f32, one rounding per step. */
function refCumsumRows(x: Float32Array, rows: number, len: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let acc = x[r * len]!;
    out.push(acc);
    for (let k = 1; k < len; k++) {
      acc = Math.fround(acc + x[r * len + k]!);
      out.push(acc);
    }
  }
  return out;
}

describe('cumsum and argsort split over wasm threads equal the loop references', () => {
  const eachPool = forcedSplitPools();

  it('every call split, odd row counts and lengths, ties and NaN', () => {
    eachPool(() => {
      for (const [rows, len] of [
        [37, 5],
        [9, 131],
        [101, 17],
      ] as const) {
        const r = prng(rows * len);
        const x = Float32Array.from({ length: rows * len }, () => (r() < 0.05 ? NaN : Math.floor(r() * 7) - 3));
        ct.scope(() => {
          const t = ct.tensor(x, { shape: [rows, len], backend: 'wasm' });
          expect(Array.from(ct.argsort(t, 1).dataSync())).toEqual(refArgsortRows(x, rows, len));
          // the same bits as the sequential f32 sums (NaN compared as NaN)
          expect(Array.from(ct.cumsum(t, 1).dataSync())).toEqual(refCumsumRows(x, rows, len));
        });
      }
    });
  });
});
