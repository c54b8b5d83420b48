/**
 * Direct CPU kernels of the convolution family (src/ops/conv.ts), NHWC inputs
 * and HWIO filters, f32 / f64, with strides, dilations, zero padding and
 * feature groups. No im2col: each kernel loops over its output and sums over
 * the taps that fall inside the input, register-blocked over channels so that
 * the innermost loop runs over contiguous memory.
 *
 * With G groups, Cg = Cin / G input and Og = Cout / G output channels per
 * group, and row(i, a) = i·sh + a·dh − top, col(j, b) = j·sw + b·dw − left:
 * - conv:        y[n,i,j,o]  = Σ_{a,b,c} x[n,row(i,a),col(j,b),g·Cg+c] · w[a,b,c,o]           (g = ⌊o / Og⌋)
 * - input grad:  x̄[n,h,v,g·Cg+c] = Σ_{a,b,o'} gr[n,i,j,g·Og+o'] · w[a,b,c,g·Og+o']      (row(i,a) = h, col(j,b) = v)
 * - filter grad: w̄[a,b,c,o] = Σ_{n,i,j} x[n,row(i,a),col(j,b),g·Cg+c] · gr[n,i,j,o]
 * Reads outside the input are zeros (skipped).
 */
import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import type { Aval, CpuInput } from '../Backend.js';

/** Sizes and parameters of one convolution: the input [n, h, w, cin], output [n, ho, wo, cout], filter [kh, kw, cin/groups, cout]. */
export interface ConvGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly cin: number;
  readonly ho: number;
  readonly wo: number;
  readonly cout: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  /** Padding before the first row and column. */
  readonly top: number;
  readonly left: number;
  readonly groups: number;
}

/** The taps a ∈ [lo, hi) of a kernel axis whose input index i·s + a·d − pad lies in [0, size). */
export function tapRange(i: number, s: number, d: number, pad: number, k: number, size: number): [number, number] {
  const base = i * s - pad;
  const lo = base >= 0 ? 0 : Math.ceil(-base / d);
  const hi = Math.min(k, Math.floor((size - 1 - base) / d) + 1);
  return [lo, Math.max(lo, hi)];
}

/** The outputs i ∈ [lo, hi) of an axis whose input index i·s + a·d − pad (for tap a) lies in [0, size). */
export function outRange(a: number, s: number, d: number, pad: number, out: number, size: number): [number, number] {
  const off = a * d - pad;
  const lo = off >= 0 ? 0 : Math.ceil(-off / s);
  const hi = Math.min(out, Math.floor((size - 1 - off) / s) + 1);
  return [lo, Math.max(lo, hi)];
}

/** y = conv(x, w) on the unpadded input: for each output pixel and block of 4 output channels, the sum over its taps. */
export function convDirectCpu(x: CpuInput, w: CpuInput, g: ConvGeometry, out: Aval): TypedArray {
  const { n, h, w: wd, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups } = g;
  const cg = cin / groups;
  const og = cout / groups;
  const xd = x.data;
  const r = allocArray(out.dtype, n * ho * wo * cout);
  // filters as [cout][kh][kw][cg]: each output channel's taps contiguous
  const ks = kh * kw * cg;
  const wt = allocArray(w.dtype, ks * cout);
  const wdat = w.data;
  for (let t = 0; t < ks; t++) for (let o = 0; o < cout; o++) wt[o * ks + t] = wdat[t * cout + o]!;
  // with one group and no column dilation, the taps of one kernel row are one contiguous run of x
  const merge = groups === 1 && dw === 1;
  for (let b0 = 0; b0 < n; b0++) {
    for (let i = 0; i < ho; i++) {
      const [aLo, aHi] = tapRange(i, sh, dh, top, kh, h);
      for (let j = 0; j < wo; j++) {
        const [bLo, bHi] = tapRange(j, sw, dw, left, kw, wd);
        const ro = ((b0 * ho + i) * wo + j) * cout;
        const runs = merge ? 1 : bHi - bLo;
        const len = merge ? (bHi - bLo) * cg : cg;
        for (let gi = 0; gi < groups; gi++) {
          const oEnd = (gi + 1) * og;
          let o = gi * og;
          for (; o + 4 <= oEnd; o += 4) {
            let s0 = 0;
            let s1 = 0;
            let s2 = 0;
            let s3 = 0;
            for (let a = aLo; a < aHi; a++) {
              const xr = ((b0 * h + i * sh + a * dh - top) * wd + j * sw - left) * cin + gi * cg;
              for (let q = 0; q < runs; q++) {
                const b = bLo + q;
                const xo = xr + b * dw * cin;
                const w0 = o * ks + (a * kw + b) * cg;
                const w1 = w0 + ks;
                const w2 = w1 + ks;
                const w3 = w2 + ks;
                for (let c = 0; c < len; c++) {
                  const v = xd[xo + c]!;
                  s0 += v * wt[w0 + c]!;
                  s1 += v * wt[w1 + c]!;
                  s2 += v * wt[w2 + c]!;
                  s3 += v * wt[w3 + c]!;
                }
              }
            }
            r[ro + o] = s0;
            r[ro + o + 1] = s1;
            r[ro + o + 2] = s2;
            r[ro + o + 3] = s3;
          }
          for (; o < oEnd; o++) {
            let s = 0;
            for (let a = aLo; a < aHi; a++) {
              const xr = ((b0 * h + i * sh + a * dh - top) * wd + j * sw - left) * cin + gi * cg;
              for (let q = 0; q < runs; q++) {
                const b = bLo + q;
                const xo = xr + b * dw * cin;
                const w0 = o * ks + (a * kw + b) * cg;
                for (let c = 0; c < len; c++) s += xd[xo + c]! * wt[w0 + c]!;
              }
            }
            r[ro + o] = s;
          }
        }
      }
    }
  }
  return r;
}

/** The taps (kernel index, output index) of one axis that reach input index `p`. */
function tapsReaching(p: number, s: number, d: number, pad: number, k: number, out: number): number[] {
  const taps: number[] = [];
  for (let a = 0; a < k; a++) {
    const num = p + pad - a * d;
    if (num < 0 || num % s !== 0) continue;
    const i = num / s;
    if (i < out) taps.push(a, i);
  }
  return taps;
}

/** x̄ = the input gradient of conv for output gradient `gr` and filters `w`: per input pixel, the taps that reach it. */
export function convInputGradDirectCpu(gr: CpuInput, w: CpuInput, g: ConvGeometry, out: Aval): TypedArray {
  const { n, h, w: wd, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups } = g;
  const cg = cin / groups;
  const og = cout / groups;
  const gd = gr.data;
  const wdat = w.data;
  const r = allocArray(out.dtype, n * h * wd * cin);
  const rowTaps = Array.from({ length: h }, (_, p) => tapsReaching(p, sh, dh, top, kh, ho));
  const colTaps = Array.from({ length: wd }, (_, p) => tapsReaching(p, sw, dw, left, kw, wo));
  for (let b0 = 0; b0 < n; b0++) {
    for (let p = 0; p < h; p++) {
      const ra = rowTaps[p]!;
      for (let q = 0; q < wd; q++) {
        const cb = colTaps[q]!;
        const ro = ((b0 * h + p) * wd + q) * cin;
        for (let gi = 0; gi < groups; gi++) {
          const cEnd = cg;
          let c = 0;
          for (; c + 4 <= cEnd; c += 4) {
            let s0 = 0;
            let s1 = 0;
            let s2 = 0;
            let s3 = 0;
            for (let u = 0; u < ra.length; u += 2) {
              const a = ra[u]!;
              const i = ra[u + 1]!;
              for (let v = 0; v < cb.length; v += 2) {
                const b = cb[v]!;
                const j = cb[v + 1]!;
                const go = ((b0 * ho + i) * wo + j) * cout + gi * og;
                const w0 = ((a * kw + b) * cg + c) * cout + gi * og;
                const w1 = w0 + cout;
                const w2 = w1 + cout;
                const w3 = w2 + cout;
                for (let o = 0; o < og; o++) {
                  const gv = gd[go + o]!;
                  s0 += gv * wdat[w0 + o]!;
                  s1 += gv * wdat[w1 + o]!;
                  s2 += gv * wdat[w2 + o]!;
                  s3 += gv * wdat[w3 + o]!;
                }
              }
            }
            const rc = ro + gi * cg + c;
            r[rc] = s0;
            r[rc + 1] = s1;
            r[rc + 2] = s2;
            r[rc + 3] = s3;
          }
          for (; c < cEnd; c++) {
            let s = 0;
            for (let u = 0; u < ra.length; u += 2) {
              const a = ra[u]!;
              const i = ra[u + 1]!;
              for (let v = 0; v < cb.length; v += 2) {
                const b = cb[v]!;
                const j = cb[v + 1]!;
                const go = ((b0 * ho + i) * wo + j) * cout + gi * og;
                const w0 = ((a * kw + b) * cg + c) * cout + gi * og;
                for (let o = 0; o < og; o++) s += gd[go + o]! * wdat[w0 + o]!;
              }
            }
            r[ro + gi * cg + c] = s;
          }
        }
      }
    }
  }
  return r;
}

/**
 * w̄ = the filter gradient of conv for input `x` and output gradient `gr`: for each row of outputs and each tap,
 * blocks of 4 input × 2 output channels summed along the row, added into a double-precision accumulator.
 */
export function convFilterGradDirectCpu(x: CpuInput, gr: CpuInput, g: ConvGeometry, out: Aval): TypedArray {
  const { n, h, w: wd, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups } = g;
  const cg = cin / groups;
  const og = cout / groups;
  const xd = x.data;
  const gd = gr.data;
  const acc = new Float64Array(kh * kw * cg * cout);
  const colRanges = Array.from({ length: kw }, (_, b) => outRange(b, sw, dw, left, wo, wd));
  const xs = sw * cin;
  for (let b0 = 0; b0 < n; b0++) {
    for (let i = 0; i < ho; i++) {
      const [aLo, aHi] = tapRange(i, sh, dh, top, kh, h);
      for (let a = aLo; a < aHi; a++) {
        const row = i * sh + a * dh - top;
        for (let b = 0; b < kw; b++) {
          const [jLo, jHi] = colRanges[b]!;
          if (jHi <= jLo) continue;
          const xBase = ((b0 * h + row) * wd + jLo * sw + b * dw - left) * cin;
          const gBase = ((b0 * ho + i) * wo + jLo) * cout;
          for (let gi = 0; gi < groups; gi++) {
            let c = 0;
            for (; c + 4 <= cg; c += 4) {
              const x0 = xBase + gi * cg + c;
              const aBase = ((a * kw + b) * cg + c) * cout;
              let o = gi * og;
              const oEnd = o + og;
              for (; o + 2 <= oEnd; o += 2) {
                let s00 = 0;
                let s01 = 0;
                let s10 = 0;
                let s11 = 0;
                let s20 = 0;
                let s21 = 0;
                let s30 = 0;
                let s31 = 0;
                let xo = x0;
                let go = gBase + o;
                for (let j = jLo; j < jHi; j++) {
                  const g0 = gd[go]!;
                  const g1 = gd[go + 1]!;
                  const v0 = xd[xo]!;
                  const v1 = xd[xo + 1]!;
                  const v2 = xd[xo + 2]!;
                  const v3 = xd[xo + 3]!;
                  s00 += v0 * g0;
                  s01 += v0 * g1;
                  s10 += v1 * g0;
                  s11 += v1 * g1;
                  s20 += v2 * g0;
                  s21 += v2 * g1;
                  s30 += v3 * g0;
                  s31 += v3 * g1;
                  xo += xs;
                  go += cout;
                }
                const q = aBase + o;
                acc[q] = acc[q]! + s00;
                acc[q + 1] = acc[q + 1]! + s01;
                acc[q + cout] = acc[q + cout]! + s10;
                acc[q + cout + 1] = acc[q + cout + 1]! + s11;
                acc[q + 2 * cout] = acc[q + 2 * cout]! + s20;
                acc[q + 2 * cout + 1] = acc[q + 2 * cout + 1]! + s21;
                acc[q + 3 * cout] = acc[q + 3 * cout]! + s30;
                acc[q + 3 * cout + 1] = acc[q + 3 * cout + 1]! + s31;
              }
              for (; o < oEnd; o++) {
                for (let k = 0; k < 4; k++) {
                  let s = 0;
                  let xo = x0 + k;
                  let go = gBase + o;
                  for (let j = jLo; j < jHi; j++) {
                    s += xd[xo]! * gd[go]!;
                    xo += xs;
                    go += cout;
                  }
                  acc[aBase + k * cout + o] = acc[aBase + k * cout + o]! + s;
                }
              }
            }
            for (; c < cg; c++) {
              const aBase = ((a * kw + b) * cg + c) * cout;
              for (let o = gi * og; o < (gi + 1) * og; o++) {
                let s = 0;
                let xo = xBase + gi * cg + c;
                let go = gBase + o;
                for (let j = jLo; j < jHi; j++) {
                  s += xd[xo]! * gd[go]!;
                  xo += xs;
                  go += cout;
                }
                acc[aBase + o] = acc[aBase + o]! + s;
              }
            }
          }
        }
      }
    }
  }
  const r = allocArray(out.dtype, acc.length);
  r.set(acc);
  return r;
}

/**
 * The rows and columns of x a convolution reads, from the first padded row and column: x zero-padded to
 * [n, hp, wp, cin] (only as far as the taps reach), so that every output pixel has all its taps.
 */
function padInput(x: TypedArray, g: ConvGeometry, dtype: DType): { xp: TypedArray; hp: number; wp: number } {
  const { n, h, w, cin, ho, wo, kh, kw, sh, sw, dh, dw, top, left } = g;
  const hp = (ho - 1) * sh + (kh - 1) * dh + 1;
  const wp = (wo - 1) * sw + (kw - 1) * dw + 1;
  if (top === 0 && left === 0 && hp === h && wp === w) return { xp: x, hp, wp };
  const xp = allocArray(dtype, n * hp * wp * cin);
  const q0 = Math.max(0, left);
  const q1 = Math.min(wp, w + left);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < hp; r++) {
      const src = r - top;
      if (src < 0 || src >= h || q1 <= q0) continue;
      const from = ((b * h + src) * w + (q0 - left)) * cin;
      xp.set(x.subarray(from, from + (q1 - q0) * cin), ((b * hp + r) * wp + q0) * cin);
    }
  return { xp, hp, wp };
}

/**
 * y = conv(x, w) for x and w given as arrays (x [n, h, w, cin], w [kh, kw, cin / groups, cout]): the input
 * zero-padded once, the filters transposed to [cout][kh][kw][cg], then for each pair of neighbouring output pixels
 * and block of 4 output channels, 8 running sums over the taps. With one group and no column dilation, the taps of
 * one kernel row are one contiguous run of x and of the filters.
 */
export function convForward(x: TypedArray, w: TypedArray, g: ConvGeometry, dtype: DType): TypedArray {
  const { n, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, groups } = g;
  const cg = cin / groups;
  const og = cout / groups;
  const r = allocArray(dtype, n * ho * wo * cout);
  const { xp, hp, wp } = padInput(x, g, dtype);
  const ks = kh * kw * cg;
  const wt = allocArray(dtype, ks * cout);
  for (let t = 0; t < ks; t++) for (let o = 0; o < cout; o++) wt[o * ks + t] = w[t * cout + o]!;
  const merge = groups === 1 && dw === 1;
  const runs = merge ? 1 : kw;
  const len = merge ? kw * cg : cg;
  const rowStride = wp * cin;
  const colStep = sw * cin;
  for (let b0 = 0; b0 < n; b0++) {
    for (let i = 0; i < ho; i++) {
      const xrow = (b0 * hp + i * sh) * rowStride;
      for (let j = 0; j < wo; j += 2) {
        const pair = j + 1 < wo;
        const p0 = xrow + j * colStep;
        const p1 = pair ? p0 + colStep : p0;
        const ro = ((b0 * ho + i) * wo + j) * cout;
        for (let gi = 0; gi < groups; gi++) {
          const oEnd = (gi + 1) * og;
          let o = gi * og;
          for (; o + 4 <= oEnd; o += 4) {
            let s00 = 0;
            let s01 = 0;
            let s02 = 0;
            let s03 = 0;
            let s10 = 0;
            let s11 = 0;
            let s12 = 0;
            let s13 = 0;
            for (let a = 0; a < kh; a++) {
              const xa = a * dh * rowStride + gi * cg;
              for (let q = 0; q < runs; q++) {
                const xo0 = p0 + xa + q * dw * cin;
                const xo1 = p1 + xa + q * dw * cin;
                const w0 = o * ks + (a * kw + q) * cg;
                const w1 = w0 + ks;
                const w2 = w1 + ks;
                const w3 = w2 + ks;
                for (let c = 0; c < len; c++) {
                  const v0 = xp[xo0 + c]!;
                  const v1 = xp[xo1 + c]!;
                  const u0 = wt[w0 + c]!;
                  const u1 = wt[w1 + c]!;
                  const u2 = wt[w2 + c]!;
                  const u3 = wt[w3 + c]!;
                  s00 += v0 * u0;
                  s01 += v0 * u1;
                  s02 += v0 * u2;
                  s03 += v0 * u3;
                  s10 += v1 * u0;
                  s11 += v1 * u1;
                  s12 += v1 * u2;
                  s13 += v1 * u3;
                }
              }
            }
            r[ro + o] = s00;
            r[ro + o + 1] = s01;
            r[ro + o + 2] = s02;
            r[ro + o + 3] = s03;
            if (pair) {
              r[ro + cout + o] = s10;
              r[ro + cout + o + 1] = s11;
              r[ro + cout + o + 2] = s12;
              r[ro + cout + o + 3] = s13;
            }
          }
          for (; o < oEnd; o++) {
            let s0 = 0;
            let s1 = 0;
            for (let a = 0; a < kh; a++) {
              const xa = a * dh * rowStride + gi * cg;
              for (let q = 0; q < runs; q++) {
                const xo0 = p0 + xa + q * dw * cin;
                const xo1 = p1 + xa + q * dw * cin;
                const w0 = o * ks + (a * kw + q) * cg;
                for (let c = 0; c < len; c++) {
                  const u = wt[w0 + c]!;
                  s0 += xp[xo0 + c]! * u;
                  s1 += xp[xo1 + c]! * u;
                }
              }
            }
            r[ro + o] = s0;
            if (pair) r[ro + cout + o] = s1;
          }
        }
      }
    }
  }
  return r;
}

/** y = conv(x, w) (see convForward). */
export function convCpu(x: CpuInput, w: CpuInput, g: ConvGeometry, out: Aval): TypedArray {
  return convForward(x.data, w.data, g, out.dtype);
}

/**
 * x̄ = the input gradient of conv. With unit strides it is itself a convolution of the output gradient by the
 * filters flipped in space with their channel axes swapped within each group, padded by dilation·(k − 1) minus the
 * original padding (convForward); otherwise (or where that padding would be negative) the direct kernel.
 */
export function convInputGradCpu(gr: CpuInput, w: CpuInput, g: ConvGeometry, out: Aval): TypedArray {
  const { n, h, w: wd, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups } = g;
  const ext = [dh * (kh - 1), dw * (kw - 1)];
  const lo = [ext[0]! - top, ext[1]! - left];
  const hi = [h - ho + top, wd - wo + left];
  if (sh !== 1 || sw !== 1 || [...lo, ...hi].some((v) => v < 0)) return convInputGradDirectCpu(gr, w, g, out);
  const cg = cin / groups;
  const og = cout / groups;
  // flipped[a', b', o', g·Cg + c] = w[kh − 1 − a', kw − 1 − b', c, g·Og + o']: filters [kh, kw, og, cin]
  const flipped = allocArray(w.dtype, kh * kw * og * cin);
  const wdat = w.data;
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let c = 0; c < cg; c++)
        for (let o = 0; o < cout; o++) {
          const gi = Math.floor(o / og);
          const dst = (((kh - 1 - a) * kw + (kw - 1 - b)) * og + (o - gi * og)) * cin + gi * cg + c;
          flipped[dst] = wdat[((a * kw + b) * cg + c) * cout + o]!;
        }
  const geo: ConvGeometry = {
    n,
    h: ho,
    w: wo,
    cin: cout,
    ho: h,
    wo: wd,
    cout: cin,
    kh,
    kw,
    sh: 1,
    sw: 1,
    dh,
    dw,
    top: lo[0]!,
    left: lo[1]!,
    groups,
  };
  return convForward(gr.data, flipped, geo, out.dtype);
}

/**
 * w̄ = the filter gradient of conv. With one group it is itself a convolution (convForward) of x with its batch as
 * channels and its channels as batch ([cin, h, w, n]) by the output gradient as filters ([ho, wo, n, cout]), the
 * roles of stride and dilation swapped; the result [cin, kh, kw, cout] is transposed back. With groups, the direct
 * kernel.
 */
export function convFilterGradCpu(x: CpuInput, gr: CpuInput, g: ConvGeometry, out: Aval): TypedArray {
  const { n, h, w: wd, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups } = g;
  if (groups !== 1) return convFilterGradDirectCpu(x, gr, g, out);
  const dtype = out.dtype;
  const xs = allocArray(dtype, x.data.length);
  const xd = x.data;
  // xs[c, r, q, b] = x[b, r, q, c]
  for (let b = 0; b < n; b++)
    for (let r = 0; r < h; r++)
      for (let q = 0; q < wd; q++) {
        const src = ((b * h + r) * wd + q) * cin;
        const dst = (r * wd + q) * n + b;
        for (let c = 0; c < cin; c++) xs[c * h * wd * n + dst] = xd[src + c]!;
      }
  // gs[i, j, b, o] = gr[b, i, j, o]
  const gs = allocArray(dtype, gr.data.length);
  const gd = gr.data;
  for (let b = 0; b < n; b++)
    for (let p = 0; p < ho * wo; p++) gs.set(gd.subarray((b * ho * wo + p) * cout, (b * ho * wo + p + 1) * cout), (p * n + b) * cout);
  const geo: ConvGeometry = {
    n: cin,
    h,
    w: wd,
    cin: n,
    ho: kh,
    wo: kw,
    cout,
    kh: ho,
    kw: wo,
    sh: dh,
    sw: dw,
    dh: sh,
    dw: sw,
    top,
    left,
    groups: 1,
  };
  const y = convForward(xs, gs, geo, dtype);
  // y [cin, kh, kw, cout] -> [kh, kw, cin, cout]
  const r = allocArray(dtype, y.length);
  for (let c = 0; c < cin; c++)
    for (let t = 0; t < kh * kw; t++) r.set(y.subarray((c * kh * kw + t) * cout, (c * kh * kw + t + 1) * cout), (t * cin + c) * cout);
  return r;
}
