/**
 * Law cases of the convolution family (conv2d, conv2dInputGrad, conv2dFilterGrad): small NHWC inputs and HWIO
 * filters with strides 1-2, dilations 1-2, asymmetric zero padding 0-2 and 1-2 feature groups, sized so that the
 * dilated kernel fits the padded input (every output row and column exists).
 */
import fc from 'fast-check';
import { tensorOf } from './arbitraries.js';
import type { PrimCase } from './cases.js';

/** One convolution's geometry and parameters. */
export interface ConvCaseGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly cg: number;
  readonly og: number;
  readonly groups: number;
  readonly kh: number;
  readonly kw: number;
  readonly ho: number;
  readonly wo: number;
  readonly params: {
    readonly stride: [number, number];
    readonly dilation: [number, number];
    readonly pads: [[number, number], [number, number]];
    readonly groups: number;
  };
}

const outSize = (size: number, k: number, s: number, d: number, lo: number, hi: number): number =>
  Math.floor((size + lo + hi - d * (k - 1) - 1) / s) + 1;

/** Geometries of small convolutions (at most a few hundred multiply-adds). */
export const convGeometry: fc.Arbitrary<ConvCaseGeometry> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 2 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    pads: fc.tuple(fc.nat(2), fc.nat(1), fc.nat(1), fc.nat(2)),
    eh: fc.nat(2),
    ew: fc.nat(2),
  })
  .map((r) => {
    const [t, b, l, rr] = r.pads;
    const h = Math.max(1, r.dh * (r.kh - 1) + 1 - t - b) + r.eh;
    const w = Math.max(1, r.dw * (r.kw - 1) + 1 - l - rr) + r.ew;
    return {
      n: r.n,
      h,
      w,
      cg: r.cg,
      og: r.og,
      groups: r.groups,
      kh: r.kh,
      kw: r.kw,
      ho: outSize(h, r.kh, r.sh, r.dh, t, b),
      wo: outSize(w, r.kw, r.sw, r.dw, l, rr),
      params: {
        stride: [r.sh, r.sw],
        dilation: [r.dh, r.dw],
        pads: [
          [t, b],
          [l, rr],
        ],
        groups: r.groups,
      },
    };
  });

/** The shapes of x, w and the output gradient of a geometry. */
export const convShapes = (g: ConvCaseGeometry): { x: number[]; w: number[]; y: number[] } => ({
  x: [g.n, g.h, g.w, g.cg * g.groups],
  w: [g.kh, g.kw, g.cg, g.og * g.groups],
  y: [g.n, g.ho, g.wo, g.og * g.groups],
});

/** Cases of conv2d: x and w. */
export const conv2dCase: fc.Arbitrary<PrimCase> = convGeometry.chain((g) => {
  const s = convShapes(g);
  return fc.tuple(tensorOf(s.x), tensorOf(s.w)).map(([x, w]) => ({ inputs: [x, w], params: g.params }));
});

/** Cases of conv2dInputGrad: the output gradient and w, with the input size. */
export const conv2dInputGradCase: fc.Arbitrary<PrimCase> = convGeometry.chain((g) => {
  const s = convShapes(g);
  return fc
    .tuple(tensorOf(s.y), tensorOf(s.w))
    .map(([y, w]) => ({ inputs: [y, w], params: { ...g.params, inputSize: [g.h, g.w] as [number, number] } }));
});

/** Cases of conv2dFilterGrad: x and the output gradient, with the kernel size. */
export const conv2dFilterGradCase: fc.Arbitrary<PrimCase> = convGeometry.chain((g) => {
  const s = convShapes(g);
  return fc
    .tuple(tensorOf(s.x), tensorOf(s.y))
    .map(([x, y]) => ({ inputs: [x, y], params: { ...g.params, kernelSize: [g.kh, g.kw] as [number, number] } }));
});
