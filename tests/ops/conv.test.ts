/**
 * The convolution family against naive references written for clarity (tests/ops/convReference.ts): conv2d,
 * conv2dInputGrad and conv2dFilterGrad for strides, dilations, groups and paddings (valid, same, explicit,
 * asymmetric) on cpu f64 and f32 and on wasm f32; convTranspose2d and conv1d against their own loop definitions;
 * 'same' pooling; gradients against the im2col composite conv2d was before it was a primitive; jit; shape errors;
 * the conv layer with dilation and groups.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { functional as F } from '../../src/nn/index.js';
import { checkGrads } from '../../laws/checkers.js';
import { checkLayer, type Combinators, type LayerLike } from '../../laws/layers.js';
import {
  compare,
  convCases,
  type ConvTestCase,
  lcg,
  refConv,
  refConvTranspose,
  refFilterGrad,
  refInputGrad,
  type RefGeometry,
} from './convReference.js';

type Backend = 'cpu' | 'wasm';
type DT = 'f32' | 'f64';

const shapes = (g: RefGeometry) => ({
  x: [g.n, g.h, g.w, g.cin],
  w: [g.kh, g.kw, g.cin / g.groups, g.cout],
  y: [g.n, g.ho, g.wo, g.cout],
});
const params = (g: RefGeometry): ct.ConvParams => ({ stride: g.stride, dilation: g.dilation, pads: g.pads, groups: g.groups });
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Tolerance of a sum of `terms` products of values in [-1, 1]: exact-ish in f64, f32 rounding grows with the terms. */
const tolOf = (dtype: DT, terms: number): [number, number] => (dtype === 'f64' ? [1e-12, 1e-12] : [1e-5, 1e-6 * Math.max(terms, 1)]);

function checkFamily(c: ConvTestCase, backend: Backend, dtype: DT): true {
  const g = c.g;
  const s = shapes(g);
  const xv = lcg(size(s.x), c.seed);
  const wv = lcg(size(s.w), c.seed + 1);
  const gv = lcg(size(s.y), c.seed + 2);
  const t = (v: number[], shape: number[]) => ct.tensor(v, { shape, dtype, backend });
  const what = `${backend} ${dtype} ${JSON.stringify({ ...g, padding: c.padding })}`;
  ct.scope(() => {
    const y = F.conv2d(t(xv, s.x), t(wv, s.w), { stride: g.stride, dilation: g.dilation, padding: c.padding, groups: g.groups });
    expect(y.shape).toEqual(s.y);
    expect(y.backendName).toBe(backend);
    const taps = g.kh * g.kw * (g.cin / g.groups);
    const [rt, at] = tolOf(dtype, taps);
    const m1 = compare(y.dataSync(), refConv(xv, wv, g), rt, at, `conv2d ${what}`);
    const xb = ct.conv2dInputGrad(t(gv, s.y), t(wv, s.w), { ...params(g), inputSize: [g.h, g.w] });
    const [rt2, at2] = tolOf(dtype, g.kh * g.kw * (g.cout / g.groups));
    const m2 = compare(xb.dataSync(), refInputGrad(gv, wv, g), rt2, at2, `conv2dInputGrad ${what}`);
    const wb = ct.conv2dFilterGrad(t(xv, s.x), t(gv, s.y), { ...params(g), kernelSize: [g.kh, g.kw] });
    const [rt3, at3] = tolOf(dtype, g.n * g.ho * g.wo);
    const m3 = compare(wb.dataSync(), refFilterGrad(xv, gv, g), rt3, at3, `conv2dFilterGrad ${what}`);
    expect([m1, m2, m3]).toEqual(['', '', '']);
  });
  return true;
}

// The composite conv2d was before it was a primitive (im2col from slices and concats, then one matmul), with
// explicit padding: its derivatives come from pad, slice, concat, reshape and matmul.
function im2colConv(x: ct.Tensor, w: ct.Tensor, stride: [number, number], pads: [[number, number], [number, number]]): ct.Tensor {
  const [n, , , cin] = x.shape as [number, number, number, number];
  const [kh, kw, , cout] = w.shape as [number, number, number, number];
  const xp = ct.pad(x, [[0, 0], pads[0], pads[1], [0, 0]]);
  const [hp, wp] = [xp.shape[1]!, xp.shape[2]!];
  const oh = Math.floor((hp - kh) / stride[0]) + 1;
  const ow = Math.floor((wp - kw) / stride[1]) + 1;
  const cols: ct.Tensor[] = [];
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++) {
      const rows: ct.Tensor[] = [];
      for (let i = 0; i < oh; i++) {
        const line: ct.Tensor[] = [];
        for (let j = 0; j < ow; j++) line.push(ct.slice(xp, [0, i * stride[0] + a, j * stride[1] + b, 0], [n, 1, 1, cin]));
        rows.push(ct.concat(line, 2));
      }
      cols.push(ct.concat(rows, 1));
    }
  const patches = ct.concat(cols, -1);
  const y = ct.matmul(ct.reshape(patches, [n * oh * ow, kh * kw * cin]), ct.reshape(w, [kh * kw * cin, cout]));
  return ct.reshape(y, [n, oh, ow, cout]);
}

describe('conv2d, conv2dInputGrad, conv2dFilterGrad = the seven-loop references', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'wasm' });
    await ct.init({ backend: 'cpu' });
  });

  it('cpu f64 (strides, dilations, groups; valid, same, explicit asymmetric padding)', () => {
    fc.assert(
      fc.property(convCases(), (c) => checkFamily(c, 'cpu', 'f64')),
      { numRuns: 40 },
    );
  });

  it('cpu f32', () => {
    fc.assert(
      fc.property(convCases(), (c) => checkFamily(c, 'cpu', 'f32')),
      { numRuns: 20 },
    );
  });

  it('wasm f32 (vector blocks of 16 and 4 output channels and their tails; rows split across threads)', () => {
    fc.assert(
      fc.property(convCases(), (c) => checkFamily(c, 'wasm', 'f32')),
      { numRuns: 40 },
    );
  });

  it('wasm f32 on a layer large enough to be split across threads', () => {
    const g: RefGeometry = {
      n: 4,
      h: 14,
      w: 14,
      cin: 16,
      cout: 32,
      kh: 3,
      kw: 3,
      stride: [1, 1],
      dilation: [1, 1],
      pads: [
        [1, 1],
        [1, 1],
      ],
      groups: 1,
      ho: 14,
      wo: 14,
    };
    checkFamily({ g, padding: 'same', seed: 7 }, 'wasm', 'f32');
    checkFamily({ g: { ...g, groups: 4, cout: 36 }, padding: 'same', seed: 8 }, 'wasm', 'f32');
  });
});

describe('the functional API', () => {
  it("convTranspose2d = its loop definition ('valid', 'same', explicit cropping; strides and dilations)", () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 1, max: 5 }),
          w: fc.integer({ min: 1, max: 5 }),
          cin: fc.integer({ min: 1, max: 3 }),
          cout: fc.integer({ min: 1, max: 5 }),
          kh: fc.integer({ min: 1, max: 4 }),
          kw: fc.integer({ min: 1, max: 3 }),
          s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
          d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
          kind: fc.constantFrom('valid', 'same', 'explicit'),
          crop: fc.tuple(fc.nat(1), fc.nat(1), fc.nat(1), fc.nat(1)),
          seed: fc.integer({ min: 1, max: 1 << 30 }),
          backend: fc.constantFrom<Backend>('cpu', 'wasm'),
        }),
        (r) => {
          const xs = [r.n, r.h, r.w, r.cin];
          const ws = [r.kh, r.kw, r.cin, r.cout];
          const full = [(r.h - 1) * r.s[0] + r.d[0] * (r.kh - 1) + 1, (r.w - 1) * r.s[1] + r.d[1] * (r.kw - 1) + 1];
          let crop: [number, number] = [0, 0];
          let out: [number, number] = [full[0]!, full[1]!];
          let padding: ct.ConvParams['pads'] | 'valid' | 'same' = r.kind as 'valid';
          if (r.kind === 'same') {
            out = [r.h * r.s[0], r.w * r.s[1]];
            crop = [Math.floor(Math.max(full[0]! - out[0], 0) / 2), Math.floor(Math.max(full[1]! - out[1], 0) / 2)];
          } else if (r.kind === 'explicit') {
            padding = [
              [r.crop[0], r.crop[1]],
              [r.crop[2], r.crop[3]],
            ];
            crop = [r.crop[0], r.crop[2]];
            out = [full[0]! - r.crop[0] - r.crop[1], full[1]! - r.crop[2] - r.crop[3]];
            if (out[0] < 1 || out[1] < 1) return true;
          }
          const xv = lcg(size(xs), r.seed);
          const wv = lcg(size(ws), r.seed + 1);
          const dtype = r.backend === 'cpu' ? 'f64' : 'f32';
          const y = F.convTranspose2d(
            ct.tensor(xv, { shape: xs, dtype, backend: r.backend }),
            ct.tensor(wv, { shape: ws, dtype, backend: r.backend }),
            { stride: r.s, dilation: r.d, padding },
          );
          expect(y.shape).toEqual([r.n, out[0], out[1], r.cout]);
          const want = refConvTranspose(xv, xs, wv, ws, r.s, r.d, crop, out);
          expect(compare(y.dataSync(), want, dtype === 'f64' ? 1e-12 : 1e-5, dtype === 'f64' ? 1e-12 : 1e-5, 'convTranspose2d')).toBe('');
          return true;
        },
      ),
      { numRuns: 40 },
    );
  });

  it("convTranspose2d with 'same' is the transpose of a 'same' conv2d with input size in·stride", () => {
    const x = ct.tensor(lcg(2 * 3 * 4 * 2, 3), { shape: [2, 3, 4, 2], dtype: 'f64' });
    const w = ct.tensor(lcg(4 * 3 * 2 * 5, 4), { shape: [4, 3, 2, 5], dtype: 'f64' });
    const y = F.convTranspose2d(x, w, { stride: 2, padding: 'same' });
    expect(y.shape).toEqual([2, 6, 8, 5]);
    // <convT(x), z> = <x, conv(z, wᵀ)> for the 'same' conv whose weights have the channel axes swapped
    const z = ct.tensor(lcg(2 * 6 * 8 * 5, 5), { shape: [2, 6, 8, 5], dtype: 'f64' });
    const lhs = ct.sum(ct.mul(y, z)).dataSync()[0]!;
    const rhs = ct.sum(ct.mul(x, F.conv2d(z, ct.transpose(w, [0, 1, 3, 2]), { stride: 2, padding: 'same' }))).dataSync()[0]!;
    expect(lhs).toBeCloseTo(rhs, 10);
  });

  it('conv1d = conv2d of unit height (strides, dilations, groups, same and explicit padding)', () => {
    fc.assert(
      fc.property(convCases({ maxSize: 8 }), (c) => {
        const g = {
          ...c.g,
          h: 1,
          kh: 1,
          stride: [1, c.g.stride[1]] as [number, number],
          dilation: [1, c.g.dilation[1]] as [number, number],
        };
        const padding1 = c.padding === 'valid' || c.padding === 'same' ? c.padding : c.padding[1];
        const pads: [[number, number], [number, number]] = [[0, 0], c.g.pads[1]];
        const geo: RefGeometry = { ...g, pads, ho: 1 };
        const xv = lcg(g.n * g.w * g.cin, c.seed);
        const wv = lcg(g.kw * (g.cin / g.groups) * g.cout, c.seed + 1);
        const y = F.conv1d(
          ct.tensor(xv, { shape: [g.n, g.w, g.cin], dtype: 'f64' }),
          ct.tensor(wv, { shape: [g.kw, g.cin / g.groups, g.cout], dtype: 'f64' }),
          { stride: g.stride[1], dilation: g.dilation[1], padding: padding1, groups: g.groups },
        );
        expect(y.shape).toEqual([g.n, g.wo, g.cout]);
        expect(compare(y.dataSync(), refConv(xv, wv, geo), 1e-12, 1e-12, 'conv1d')).toBe('');
        return true;
      }),
      { numRuns: 25 },
    );
  });

  it('gradients of conv2d equal those of the im2col composite (x and w, strides, asymmetric padding)', () => {
    fc.assert(
      fc.property(convCases({ maxSize: 6, maxCh: 3 }), (c) => {
        const g = { ...c.g, groups: 1, dilation: [1, 1] as [number, number] };
        const geo = { ...g, cin: c.g.cin / c.g.groups, cout: c.g.cout / c.g.groups };
        const ho = Math.floor((geo.h + geo.pads[0][0] + geo.pads[0][1] - geo.kh) / geo.stride[0]) + 1;
        const wo = Math.floor((geo.w + geo.pads[1][0] + geo.pads[1][1] - geo.kw) / geo.stride[1]) + 1;
        if (ho < 1 || wo < 1) return true;
        const s = shapes({ ...geo, ho, wo });
        const x = ct.tensor(lcg(size(s.x), c.seed), { shape: s.x, dtype: 'f64' });
        const w = ct.tensor(lcg(size(s.w), c.seed + 1), { shape: s.w, dtype: 'f64' });
        const r = ct.tensor(lcg(size(s.y), c.seed + 2), { shape: s.y, dtype: 'f64' });
        const loss = (conv: (a: ct.Tensor, b: ct.Tensor) => ct.Tensor) => (a: ct.Tensor, b: ct.Tensor) =>
          ct.sum(ct.mul(ct.tanh(conv(a, b)), r));
        const prim = ct.grad(
          loss((a, b) => F.conv2d(a, b, { stride: geo.stride, padding: geo.pads })),
          { argnums: [0, 1] },
        )(x, w);
        const old = ct.grad(
          loss((a, b) => im2colConv(a, b, geo.stride, geo.pads)),
          { argnums: [0, 1] },
        )(x, w);
        for (let k = 0; k < 2; k++) expect(compare(prim[k]!.dataSync(), old[k]!.dataSync(), 1e-12, 1e-12, `grad ${k}`)).toBe('');
        return true;
      }),
      { numRuns: 15 },
    );
  });

  it('jit(conv2d) equals conv2d in value and gradient (cpu and wasm)', () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const dtype = backend === 'cpu' ? 'f64' : 'f32';
      const x = ct.tensor(lcg(2 * 6 * 5 * 4, 1), { shape: [2, 6, 5, 4], dtype, backend });
      const w = ct.tensor(lcg(3 * 2 * 2 * 6, 2), { shape: [3, 2, 2, 6], dtype, backend });
      const opts = { stride: [2, 1] as const, padding: 'same' as const, dilation: [1, 2] as const, groups: 2 };
      const f = (a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.square(F.conv2d(a, b, opts)));
      const tol = dtype === 'f64' ? 1e-12 : 1e-5;
      expect(compare(ct.jit(f)(x, w).dataSync(), f(x, w).dataSync(), tol, tol, `jit value ${backend}`)).toBe('');
      const gj = ct.jit(ct.grad(f, { argnums: [0, 1] }))(x, w);
      const ge = ct.grad(f, { argnums: [0, 1] })(x, w);
      for (let k = 0; k < 2; k++) expect(compare(gj[k]!.dataSync(), ge[k]!.dataSync(), tol, tol, `jit grad ${k} ${backend}`)).toBe('');
    }
  });

  it('law: derivatives of conv1d, convTranspose2d and grouped dilated conv2d match finite differences (order 2)', () => {
    const t = (shape: number[], seed: number) => ct.tensor(lcg(size(shape), seed), { shape, dtype: 'f64' });
    const cases: [(a: ct.Tensor, b: ct.Tensor) => ct.Tensor, ct.Tensor[]][] = [
      [(a, b) => F.conv1d(a, b, { stride: 2, padding: 'same', dilation: 2 }), [t([2, 5, 2], 1), t([3, 2, 3], 2)]],
      [(a, b) => F.convTranspose2d(a, b, { stride: [2, 1], padding: 'same' }), [t([1, 3, 2, 2], 3), t([3, 2, 2, 2], 4)]],
      [
        (a, b) =>
          F.conv2d(a, b, {
            groups: 2,
            dilation: [2, 1],
            padding: [
              [1, 0],
              [0, 2],
            ],
          }),
        [t([1, 4, 3, 4], 5), t([2, 2, 2, 4], 6)],
      ],
    ];
    for (const [f, args] of cases) fc.assert(checkGrads(f, args, { order: 2 }), { numRuns: 1 });
  });
});

describe("'same' pooling", () => {
  const refPool = (x: Float64Array, shape: number[], k: [number, number], s: [number, number], op: 'max' | 'avg') => {
    const [n, h, w, c] = shape as [number, number, number, number];
    const oh = Math.ceil(h / s[0]);
    const ow = Math.ceil(w / s[1]);
    const top = Math.floor(Math.max((oh - 1) * s[0] + k[0] - h, 0) / 2);
    const left = Math.floor(Math.max((ow - 1) * s[1] + k[1] - w, 0) / 2);
    const out: number[] = [];
    for (let b = 0; b < n; b++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          for (let q = 0; q < c; q++) {
            const v: number[] = [];
            for (let a = 0; a < k[0]; a++)
              for (let d = 0; d < k[1]; d++) {
                const r = i * s[0] + a - top;
                const cc = j * s[1] + d - left;
                if (r >= 0 && r < h && cc >= 0 && cc < w) v.push(x[((b * h + r) * w + cc) * c + q]!);
              }
            out.push(op === 'max' ? Math.max(...v) : v.reduce((p, u) => p + u, 0) / v.length);
          }
    return out;
  };

  it('maxPool2d and avgPool2d with padding same = the windows over the input elements only', () => {
    fc.assert(
      fc.property(
        fc.record({
          h: fc.integer({ min: 1, max: 7 }),
          w: fc.integer({ min: 1, max: 7 }),
          k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
          s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
          seed: fc.integer({ min: 1, max: 1 << 30 }),
        }),
        (r) => {
          const shape = [2, r.h, r.w, 2];
          const x = ct.tensor(lcg(size(shape), r.seed), { shape, dtype: 'f64' });
          const xs = x.dataSync() as Float64Array;
          for (const op of ['max', 'avg'] as const) {
            const f = op === 'max' ? F.maxPool2d : F.avgPool2d;
            const y = f(x, { window: r.k, stride: r.s, padding: 'same' });
            expect(y.shape).toEqual([2, Math.ceil(r.h / r.s[0]), Math.ceil(r.w / r.s[1]), 2]);
            expect(compare(y.dataSync(), refPool(xs, shape, r.k, r.s, op), 1e-12, 1e-12, `${op}Pool2d same`)).toBe('');
          }
          return true;
        },
      ),
      { numRuns: 30 },
    );
  });

  it("law: 'same' pooling derivatives match finite differences and satisfy the transpose law", () => {
    const x = ct.tensor(lcg(1 * 5 * 4 * 2, 9), { shape: [1, 5, 4, 2], dtype: 'f64' });
    fc.assert(
      checkGrads((a: ct.Tensor) => F.maxPool2d(a, { window: 2, padding: 'same' }), [x], { order: 1 }),
      { numRuns: 2 },
    );
    fc.assert(
      checkGrads((a: ct.Tensor) => F.avgPool2d(a, { window: [3, 2], stride: [2, 1], padding: 'same' }), [x], { order: 2 }),
      { numRuns: 2 },
    );
  });
});

describe('errors and layers', () => {
  it('bad input is a ShapeError naming the op and the shapes or the field', () => {
    const z = (s: number[]) => ct.zeros(s);
    expect(() => F.conv2d(z([1, 4, 4, 6]), z([3, 3, 2, 4]), { groups: 4 })).toThrow(
      /conv2d: 6 input channels are not divisible by groups 4/,
    );
    expect(() => F.conv2d(z([1, 4, 4, 6]), z([3, 3, 2, 5]), { groups: 3 })).toThrow(
      /conv2d: 5 output channels are not divisible by groups 3/,
    );
    expect(() => F.conv2d(z([1, 4, 4, 6]), z([3, 3, 3, 6]), { groups: 3 })).toThrow(
      /conv2d: weights \[3,3,3,6\] must have 2 input channels per group/,
    );
    expect(() => F.conv2d(z([1, 4, 4, 1]), z([3, 3, 1, 1]), { dilation: 2 })).toThrow(/conv2d: window 5 is larger than the input size 4/);
    expect(() => ct.conv2dGeneral(z([1, 4, 4, 1]), z([3, 3, 1, 1]), { dilation: [2, 1] })).toThrow(
      /conv2d: the dilated kernel \[5,3\] does not fit the padded input \[4,4\]/,
    );
    expect(() => F.conv2d(z([1, 4, 4, 1]), z([3, 3, 1, 1]), { stride: 0 })).toThrow(/conv2d: stride must be positive integers/);
    expect(() =>
      F.conv2d(z([1, 4, 4, 1]), z([3, 3, 1, 1]), {
        padding: [
          [1, -1],
          [0, 0],
        ],
      }),
    ).toThrow(/conv2d: padding must be/);
    expect(() => ct.conv2dInputGrad(z([1, 2, 2, 3]), z([3, 3, 1, 3]), { inputSize: [9, 9] })).toThrow(
      /conv2dInputGrad: a convolution of an input of size \[9,9\] gives \[7,7\], not \[2,2\]/,
    );
    expect(() => ct.conv2dFilterGrad(z([1, 4, 4, 1]), z([2, 2, 2, 3]), { kernelSize: [3, 3] })).toThrow(
      /conv2dFilterGrad: batch sizes differ/,
    );
    expect(() => F.convTranspose2d(z([1, 2, 2, 3]), z([2, 2, 2, 4]))).toThrow(/convTranspose2d: input channels differ/);
    expect(() => F.conv1d(z([1, 4, 4, 1]), z([3, 1, 1]))).toThrow(/conv1d: input must be NWC/);
    expect(() => F.conv2d(z([1, 4, 4, 1]), z([3, 3, 1, 1]), { padding: 'full' as never })).toThrow(
      /conv2d: padding must be 'valid' or 'same'/,
    );
  });

  it('law: the conv2d layer with dilation and groups and the same pools pass the layer laws', () => {
    const combinators: Combinators = { serial: nn.serial as unknown as Combinators['serial'], identity: nn.identity };
    const cases: [LayerLike, number[]][] = [
      [nn.conv2d(4, [2, 3], { padding: 'same', dilation: [2, 1], groups: 2 }), [1, 5, 4, 4]],
      [nn.conv2d(3, 2, { stride: 2, groups: 3 }), [2, 5, 5, 3]],
      [nn.maxPool2d(2, 2, 'same'), [1, 5, 3, 2]],
      [nn.avgPool2d(3, 2, 'same'), [1, 5, 4, 1]],
    ];
    for (const [layer, shape] of cases) fc.assert(checkLayer(layer, shape, { combinators }), { numRuns: 1 });
  });

  it('the conv2d layer with dilation and groups: declared output shape, parameter shapes, spec round trip', () => {
    const layer = nn.conv2d(6, 3, { padding: 'same', dilation: 2, groups: 3 });
    const { params, outputShape } = layer.init(nn.random.key(0), [-1, 7, 8, 9]);
    expect(outputShape).toEqual([-1, 7, 8, 6]);
    expect(params.W.shape).toEqual([3, 3, 3, 6]);
    const x = ct.tensor(lcg(2 * 7 * 8 * 9, 3), { shape: [2, 7, 8, 9] });
    const y = layer.apply(params, x);
    expect(y.shape).toEqual([2, 7, 8, 6]);
    const again = nn.fromSpec(layer.spec);
    expect(again.spec).toEqual(layer.spec);
    expect(Array.from((again.apply(params, x) as ct.Tensor).dataSync())).toEqual(Array.from(y.dataSync()));
    expect(() => nn.conv2d(5, 3, { groups: 2 })).toThrow(/conv2d: 5 filters are not divisible by groups 2/);
    const pool = nn.maxPool2d(2, 2, 'same');
    expect(pool.init(nn.random.key(0), [-1, 5, 5, 3]).outputShape).toEqual([-1, 3, 3, 3]);
    expect(nn.fromSpec(pool.spec).spec).toEqual(pool.spec);
  });
});
