/**
 * Naive references of the convolution family, written for clarity: seven nested loops over flat NHWC / HWIO
 * arrays, straight from the definitions in src/ops/conv.ts, and random cases of every kind of geometry (strides,
 * dilations, groups; valid, same, explicit and asymmetric padding) for the kernel tests on every backend.
 */
import fc from 'fast-check';

/** The geometry of one convolution: input [n, h, w, cin], filters [kh, kw, cin / groups, cout], output [n, ho, wo, cout]. */
export interface RefGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly cin: number;
  readonly cout: number;
  readonly kh: number;
  readonly kw: number;
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly pads: [[number, number], [number, number]];
  readonly groups: number;
  readonly ho: number;
  readonly wo: number;
}

/** y[n,i,j,o] = Σ_{a,b,c} x[n, i·sh + a·dh − top, j·sw + b·dw − left, g·Cg + c] · w[a,b,c,o] (zero outside x). */
export function refConv(x: ArrayLike<number>, w: ArrayLike<number>, g: RefGeometry): Float64Array {
  const cg = g.cin / g.groups;
  const og = g.cout / g.groups;
  const y = new Float64Array(g.n * g.ho * g.wo * g.cout);
  for (let n = 0; n < g.n; n++)
    for (let i = 0; i < g.ho; i++)
      for (let j = 0; j < g.wo; j++)
        for (let o = 0; o < g.cout; o++) {
          const grp = Math.floor(o / og);
          let s = 0;
          for (let a = 0; a < g.kh; a++)
            for (let b = 0; b < g.kw; b++)
              for (let c = 0; c < cg; c++) {
                const r = i * g.stride[0] + a * g.dilation[0] - g.pads[0][0];
                const q = j * g.stride[1] + b * g.dilation[1] - g.pads[1][0];
                if (r < 0 || r >= g.h || q < 0 || q >= g.w) continue;
                s += x[((n * g.h + r) * g.w + q) * g.cin + grp * cg + c]! * w[((a * g.kw + b) * cg + c) * g.cout + o]!;
              }
          y[((n * g.ho + i) * g.wo + j) * g.cout + o] = s;
        }
  return y;
}

/** The input gradient: every product of refConv sent back to the x element it read. */
export function refInputGrad(gr: ArrayLike<number>, w: ArrayLike<number>, g: RefGeometry): Float64Array {
  const cg = g.cin / g.groups;
  const og = g.cout / g.groups;
  const xb = new Float64Array(g.n * g.h * g.w * g.cin);
  for (let n = 0; n < g.n; n++)
    for (let i = 0; i < g.ho; i++)
      for (let j = 0; j < g.wo; j++)
        for (let o = 0; o < g.cout; o++)
          for (let a = 0; a < g.kh; a++)
            for (let b = 0; b < g.kw; b++)
              for (let c = 0; c < cg; c++) {
                const r = i * g.stride[0] + a * g.dilation[0] - g.pads[0][0];
                const q = j * g.stride[1] + b * g.dilation[1] - g.pads[1][0];
                if (r < 0 || r >= g.h || q < 0 || q >= g.w) continue;
                const grp = Math.floor(o / og);
                xb[((n * g.h + r) * g.w + q) * g.cin + grp * cg + c]! +=
                  gr[((n * g.ho + i) * g.wo + j) * g.cout + o]! * w[((a * g.kw + b) * cg + c) * g.cout + o]!;
              }
  return xb;
}

/** The filter gradient: every product of refConv sent back to the w element it read. */
export function refFilterGrad(x: ArrayLike<number>, gr: ArrayLike<number>, g: RefGeometry): Float64Array {
  const cg = g.cin / g.groups;
  const og = g.cout / g.groups;
  const wb = new Float64Array(g.kh * g.kw * cg * g.cout);
  for (let n = 0; n < g.n; n++)
    for (let i = 0; i < g.ho; i++)
      for (let j = 0; j < g.wo; j++)
        for (let o = 0; o < g.cout; o++)
          for (let a = 0; a < g.kh; a++)
            for (let b = 0; b < g.kw; b++)
              for (let c = 0; c < cg; c++) {
                const r = i * g.stride[0] + a * g.dilation[0] - g.pads[0][0];
                const q = j * g.stride[1] + b * g.dilation[1] - g.pads[1][0];
                if (r < 0 || r >= g.h || q < 0 || q >= g.w) continue;
                const grp = Math.floor(o / og);
                wb[((a * g.kw + b) * cg + c) * g.cout + o]! +=
                  x[((n * g.h + r) * g.w + q) * g.cin + grp * cg + c]! * gr[((n * g.ho + i) * g.wo + j) * g.cout + o]!;
              }
  return wb;
}

/**
 * The transposed convolution by its own definition (PyTorch's ConvTranspose2d, weights [kh, kw, cin, cout] not
 * flipped): y[n, i·sh + a·dh − top, j·sw + b·dw − left, o] += x[n,i,j,c] · w[a,b,c,o] on an output of `size`.
 */
export function refConvTranspose(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  stride: [number, number],
  dilation: [number, number],
  crop: [number, number],
  size: [number, number],
): Float64Array {
  const [n, h, wd, cin] = xShape as [number, number, number, number];
  const [kh, kw, , cout] = wShape as [number, number, number, number];
  const y = new Float64Array(n * size[0] * size[1] * cout);
  for (let b0 = 0; b0 < n; b0++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++)
        for (let a = 0; a < kh; a++)
          for (let b = 0; b < kw; b++)
            for (let c = 0; c < cin; c++)
              for (let o = 0; o < cout; o++) {
                const r = i * stride[0] + a * dilation[0] - crop[0];
                const q = j * stride[1] + b * dilation[1] - crop[1];
                if (r < 0 || r >= size[0] || q < 0 || q >= size[1]) continue;
                y[((b0 * size[0] + r) * size[1] + q) * cout + o]! +=
                  x[((b0 * h + i) * wd + j) * cin + c]! * w[((a * kw + b) * cin + c) * cout + o]!;
              }
  return y;
}

/** The kinds of padding the tests draw. */
export type PaddingKind = 'valid' | 'same' | 'explicit';

/** A test case: geometry, the padding as the functional API takes it, and a seed for the values. */
export interface ConvTestCase {
  readonly g: RefGeometry;
  readonly padding: 'valid' | 'same' | [[number, number], [number, number]];
  readonly seed: number;
}

const outSize = (size: number, k: number, s: number, d: number, lo: number, hi: number): number =>
  Math.floor((size + lo + hi - d * (k - 1) - 1) / s) + 1;

/** 'same' padding of one axis (TensorFlow's rule with the dilated kernel). */
const samePads = (size: number, k: number, s: number, d: number): [number, number] => {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + d * (k - 1) + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
};

/**
 * Random convolution cases: sizes up to `maxSize` (spatial), channels up to `maxCh` per group, groups 1-3, kernels
 * 1-3 (up to 5 with `wide`), strides and dilations 1-3, padding valid, same or explicit (asymmetric).
 */
export function convCases(opts: { maxSize?: number; maxCh?: number; maxN?: number } = {}): fc.Arbitrary<ConvTestCase> {
  const maxSize = opts.maxSize ?? 9;
  const maxCh = opts.maxCh ?? 5;
  return fc
    .record({
      n: fc.integer({ min: 1, max: opts.maxN ?? 2 }),
      h: fc.integer({ min: 1, max: maxSize }),
      w: fc.integer({ min: 1, max: maxSize }),
      groups: fc.integer({ min: 1, max: 3 }),
      cg: fc.integer({ min: 1, max: maxCh }),
      og: fc.integer({ min: 1, max: maxCh + 14 }),
      kh: fc.integer({ min: 1, max: 3 }),
      kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 3 }),
      sw: fc.integer({ min: 1, max: 2 }),
      dh: fc.integer({ min: 1, max: 2 }),
      dw: fc.integer({ min: 1, max: 3 }),
      kind: fc.constantFrom<PaddingKind>('valid', 'same', 'explicit'),
      pads: fc.tuple(fc.nat(3), fc.nat(2), fc.nat(2), fc.nat(3)),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
    })
    .map((r) => {
      const dkh = r.dh * (r.kh - 1) + 1;
      const dkw = r.dw * (r.kw - 1) + 1;
      let pads: [[number, number], [number, number]];
      let h = r.h;
      let w = r.w;
      if (r.kind === 'same') pads = [samePads(h, r.kh, r.sh, r.dh), samePads(w, r.kw, r.sw, r.dw)];
      else if (r.kind === 'valid') {
        pads = [
          [0, 0],
          [0, 0],
        ];
        h = Math.max(h, dkh);
        w = Math.max(w, dkw);
      } else {
        pads = [
          [r.pads[0], r.pads[1]],
          [r.pads[2], r.pads[3]],
        ];
        h = Math.max(h, dkh - r.pads[0] - r.pads[1]);
        w = Math.max(w, dkw - r.pads[2] - r.pads[3]);
      }
      const g: RefGeometry = {
        n: r.n,
        h,
        w,
        cin: r.cg * r.groups,
        cout: r.og * r.groups,
        kh: r.kh,
        kw: r.kw,
        stride: [r.sh, r.sw],
        dilation: [r.dh, r.dw],
        pads,
        groups: r.groups,
        ho: outSize(h, r.kh, r.sh, r.dh, pads[0][0], pads[0][1]),
        wo: outSize(w, r.kw, r.sw, r.dw, pads[1][0], pads[1][1]),
      };
      return { g, padding: r.kind === 'explicit' ? pads : r.kind, seed: r.seed };
    });
}

/** Deterministic values in [-1, 1) (a linear congruential generator), rounded to f32. */
export function lcg(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround((s / 2 ** 32) * 2 - 1);
  });
}

/** The largest |a − b| relative to `scale`, as a failure message, or '' when every element is within atol + rtol·|b|. */
export function compare(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string): string {
  if (got.length !== want.length) return `${what}: ${got.length} elements, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= atol + rtol * Math.abs(want[i]!))) return `${what}: element ${i} is ${got[i]}, expected ${want[i]} (|diff| ${d})`;
  }
  return '';
}
