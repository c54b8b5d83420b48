/**
 * conv2d / maxPool2d / avgPool2d (composites of primitives): values against
 * a direct reference implementation (valid/same padding, strides), and the
 * derivative laws (finite differences, transpose law, jacfwd = jacrev).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { functional as F, random } from '../../src/nn/index.js';
import { checkGrads } from '../../laws/checkers.js';
import { jacfwdEqualsJacrev } from '../../laws/predicates.js';

type Img = number[][][][]; // [n][h][w][c]

function refConv(x: Img, w: number[][][][], sh: number, sw: number, padding: 'valid' | 'same'): Img {
  const [n, H, W, C] = [x.length, x[0]!.length, x[0]![0]!.length, x[0]![0]![0]!.length];
  const [kh, kw, , co] = [w.length, w[0]!.length, C, w[0]![0]![0]!.length];
  const oh = padding === 'same' ? Math.ceil(H / sh) : Math.floor((H - kh) / sh) + 1;
  const ow = padding === 'same' ? Math.ceil(W / sw) : Math.floor((W - kw) / sw) + 1;
  const ph = padding === 'same' ? Math.floor(Math.max((oh - 1) * sh + kh - H, 0) / 2) : 0;
  const pw = padding === 'same' ? Math.floor(Math.max((ow - 1) * sw + kw - W, 0) / 2) : 0;
  return Array.from({ length: n }, (_, b) =>
    Array.from({ length: oh }, (_, i) =>
      Array.from({ length: ow }, (_, j) =>
        Array.from({ length: co }, (_, o) => {
          let s = 0;
          for (let a = 0; a < kh; a++)
            for (let d = 0; d < kw; d++) {
              const r = i * sh + a - ph;
              const c = j * sw + d - pw;
              if (r < 0 || r >= H || c < 0 || c >= W) continue;
              for (let q = 0; q < C; q++) s += x[b]![r]![c]![q]! * w[a]![d]![q]![o]!;
            }
          return s;
        }),
      ),
    ),
  );
}

function refPool(x: Img, kh: number, kw: number, sh: number, sw: number, op: 'max' | 'avg'): Img {
  const [H, W] = [x[0]!.length, x[0]![0]!.length];
  const oh = Math.floor((H - kh) / sh) + 1;
  const ow = Math.floor((W - kw) / sw) + 1;
  return x.map((img) =>
    Array.from({ length: oh }, (_, i) =>
      Array.from({ length: ow }, (_, j) =>
        img[0]![0]!.map((_, q) => {
          const v: number[] = [];
          for (let a = 0; a < kh; a++) for (let d = 0; d < kw; d++) v.push(img[i * sh + a]![j * sw + d]![q]!);
          return op === 'max' ? Math.max(...v) : v.reduce((p, c) => p + c, 0) / v.length;
        }),
      ),
    ),
  );
}

const f64 = (shape: number[], seed: number) => random.normal(random.key(seed), shape, { dtype: 'f64' });
const near = (a: unknown, b: unknown) => {
  const fa = (a as number[]).flat(4) as number[];
  const fb = (b as number[]).flat(4) as number[];
  expect(fa.length).toBe(fb.length);
  fa.forEach((v, i) => {
    expect(v).toBeCloseTo(fb[i]!, 10);
  });
};

describe('conv2d and pooling', () => {
  it('conv2d matches the direct definition (valid/same, strides, channels)', () => {
    fc.assert(
      fc.property(
        fc.record({
          h: fc.integer({ min: 3, max: 6 }),
          w: fc.integer({ min: 3, max: 6 }),
          c: fc.integer({ min: 1, max: 3 }),
          o: fc.integer({ min: 1, max: 3 }),
          kh: fc.integer({ min: 1, max: 3 }),
          kw: fc.integer({ min: 1, max: 3 }),
          sh: fc.integer({ min: 1, max: 3 }),
          sw: fc.integer({ min: 1, max: 2 }),
          same: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        (p) => {
          const x = f64([2, p.h, p.w, p.c], p.seed);
          const w = f64([p.kh, p.kw, p.c, p.o], p.seed + 1);
          const padding = p.same ? 'same' : 'valid';
          const y = F.conv2d(x, w, { stride: [p.sh, p.sw], padding });
          near(y.arraySync(), refConv(x.arraySync() as Img, w.arraySync() as number[][][][], p.sh, p.sw, padding));
          return true;
        },
      ),
      { numRuns: 25 },
    );
  });

  it('maxPool2d and avgPool2d match the direct definition', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1e6 }),
        (h, k, s, seed) => {
          const x = f64([2, h + k, h, 2], seed);
          const kk = Math.min(k, h);
          const xs = x.arraySync() as Img;
          near(F.maxPool2d(x, { window: kk, stride: s }).arraySync(), refPool(xs, kk, kk, s, s, 'max'));
          near(F.avgPool2d(x, { window: [kk, 1], stride: [s, 1] }).arraySync(), refPool(xs, kk, 1, s, 1, 'avg'));
          return true;
        },
      ),
      { numRuns: 25 },
    );
  });

  it('shape errors name the op and the shapes', () => {
    expect(() => F.conv2d(ct.zeros([1, 4, 4, 2]), ct.zeros([3, 3, 1, 4]))).toThrow(
      /conv2d: input channels differ: input \[1,4,4,2\] has 2, weights \[3,3,1,4\] expect 1/,
    );
    expect(() => F.conv2d(ct.zeros([4, 4, 2]), ct.zeros([3, 3, 2, 4]))).toThrow(/conv2d: input must be NHWC/);
    expect(() => F.maxPool2d(ct.zeros([1, 2, 2, 1]), { window: 3 })).toThrow(/maxPool2d: window 3 is larger than the input size 2/);
  });

  it('law: conv2d derivatives match finite differences and satisfy the transpose law', () => {
    const conv = (x: ct.Tensor, w: ct.Tensor) => F.conv2d(x, w, { stride: 2, padding: 'same' });
    fc.assert(checkGrads(conv, [f64([1, 5, 4, 2], 1), f64([3, 2, 2, 2], 2)], { order: 1 }), { numRuns: 2 });
    const valid = (x: ct.Tensor, w: ct.Tensor) => F.conv2d(x, w);
    fc.assert(checkGrads(valid, [f64([2, 3, 3, 1], 3), f64([2, 2, 1, 2], 4)], { order: 2 }), { numRuns: 1 });
  });

  it('law: pooling derivatives match finite differences and satisfy the transpose law', () => {
    fc.assert(
      checkGrads((x: ct.Tensor) => F.maxPool2d(x, { window: 2 }), [f64([1, 4, 4, 2], 5)], { order: 1 }),
      { numRuns: 2 },
    );
    fc.assert(
      checkGrads((x: ct.Tensor) => F.maxPool2d(x, { window: 2, stride: 1 }), [f64([1, 3, 3, 1], 6)], { order: 1 }),
      { numRuns: 2 },
    );
    fc.assert(
      checkGrads((x: ct.Tensor) => F.avgPool2d(x, { window: [2, 3], stride: [1, 2] }), [f64([1, 4, 5, 1], 7)], { order: 1 }),
      { numRuns: 2 },
    );
  });

  it('law: jacfwd = jacrev for conv2d and the pools', () => {
    const x = f64([1, 4, 4, 1], 8);
    const w = f64([2, 2, 1, 2], 9);
    for (const [f, args] of [
      [(a: ct.Tensor, b: ct.Tensor) => F.conv2d(a, b, { stride: 2 }), [x, w]],
      [(a: ct.Tensor) => F.maxPool2d(a, { window: 2 }), [x]],
      [(a: ct.Tensor) => F.avgPool2d(a, { window: 3, stride: 1 }), [x]],
    ] as const) {
      args.forEach((_, k) => {
        const r = jacfwdEqualsJacrev(f as (...a: ct.Tensor[]) => ct.Tensor, args as unknown as ct.Tensor[], k);
        expect(r.ok, r.ok ? '' : r.message).toBe(true);
      });
    }
  });
});
