// The convolution family of the wasm backend (AssemblyScript, f32): NHWC inputs, HWIO filters, strides,
// dilations, zero padding and feature groups (src/ops/conv.ts has the definitions). No im2col: every kernel
// loops over its output and sums over the taps that fall inside the input, with f32x4 vectors over output
// channels (conv_f32, conv_filter_grad_f32) or over the output channels summed (conv_input_grad_f32).
//
// geo: 16 i32 words [n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups].
// Every kernel computes the units [start, end) of its output (rows of the output for conv_f32 and
// conv_input_grad_f32, (tap row, tap column, input channel) triples for conv_filter_grad_f32), so that
// threads may share a call by ranges; each element is computed the same way whatever range holds it.

// @ts-ignore: decorator
@inline function g32(geo: usize, k: i32): i32 {
  return load<i32>(geo + (<usize>k << 2));
}

// @ts-ignore: decorator
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// @ts-ignore: decorator
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** The first tap a ≥ 0 of a kernel axis with i·s + a·d − pad ≥ 0. */
// @ts-ignore: decorator
@inline function tapLo(base: i32, d: i32): i32 {
  return base >= 0 ? 0 : (-base + d - 1) / d;
}

/** One past the last tap a < k of a kernel axis with i·s + a·d − pad < size. */
// @ts-ignore: decorator
@inline function tapHi(base: i32, d: i32, k: i32, size: i32): i32 {
  if (size - 1 - base < 0) return 0;
  const hi = (size - 1 - base) / d + 1;
  return hi < k ? hi : k;
}

/**
 * y[n,i,j,o] = Σ_{a,b,c} x[n, i·sh + a·dh − top, j·sw + b·dw − left, g·Cg + c] · w[a,b,c,o], for the output rows
 * r = n·ho + i in [start, end). Per output pixel and group: 16 output channels at a time in four f32x4
 * accumulators (x broadcast, w rows loaded as vectors), then 4 at a time, then one.
 */
export function conv_f32(x: usize, w: usize, y: usize, geo: usize, start: i32, end: i32): void {
  const h = g32(geo, 1);
  const wd = g32(geo, 2);
  const cin = g32(geo, 3);
  const ho = g32(geo, 4);
  const wo = g32(geo, 5);
  const cout = g32(geo, 6);
  const kh = g32(geo, 7);
  const kw = g32(geo, 8);
  const sh = g32(geo, 9);
  const sw = g32(geo, 10);
  const dh = g32(geo, 11);
  const dw = g32(geo, 12);
  const top = g32(geo, 13);
  const left = g32(geo, 14);
  const groups = g32(geo, 15);
  const cg = cin / groups;
  const og = cout / groups;
  for (let r = start; r < end; r++) {
    const n = r / ho;
    const i = r - n * ho;
    const rb = i * sh - top;
    const aLo = tapLo(rb, dh);
    const aHi = tapHi(rb, dh, kh, h);
    for (let j = 0; j < wo; j++) {
      const cb = j * sw - left;
      const bLo = tapLo(cb, dw);
      const bHi = tapHi(cb, dw, kw, wd);
      const yo = y + (<usize>((r * wo + j) * cout) << 2);
      for (let g = 0; g < groups; g++) {
        let o = 0;
        for (; o + 16 <= og; o += 16) {
          let s0 = f32x4.splat(0);
          let s1 = f32x4.splat(0);
          let s2 = f32x4.splat(0);
          let s3 = f32x4.splat(0);
          for (let a = aLo; a < aHi; a++) {
            const xr = ((n * h + rb + a * dh) * wd + cb) * cin + g * cg;
            for (let b = bLo; b < bHi; b++) {
              const xp = at(x, xr + b * dw * cin);
              let wp = at(w, ((a * kw + b) * cg) * cout + g * og + o);
              for (let c = 0; c < cg; c++) {
                const v = v128.load32_splat(at(xp, c));
                s0 = madd(s0, v, v128.load(wp));
                s1 = madd(s1, v, v128.load(wp, 16));
                s2 = madd(s2, v, v128.load(wp, 32));
                s3 = madd(s3, v, v128.load(wp, 48));
                wp += <usize>cout << 2;
              }
            }
          }
          const q = at(yo, g * og + o);
          v128.store(q, s0);
          v128.store(q, s1, 16);
          v128.store(q, s2, 32);
          v128.store(q, s3, 48);
        }
        for (; o + 4 <= og; o += 4) {
          let s = f32x4.splat(0);
          for (let a = aLo; a < aHi; a++) {
            const xr = ((n * h + rb + a * dh) * wd + cb) * cin + g * cg;
            for (let b = bLo; b < bHi; b++) {
              const xp = at(x, xr + b * dw * cin);
              let wp = at(w, ((a * kw + b) * cg) * cout + g * og + o);
              for (let c = 0; c < cg; c++) {
                s = madd(s, v128.load32_splat(at(xp, c)), v128.load(wp));
                wp += <usize>cout << 2;
              }
            }
          }
          v128.store(at(yo, g * og + o), s);
        }
        for (; o < og; o++) {
          let s: f32 = 0;
          for (let a = aLo; a < aHi; a++) {
            const xr = ((n * h + rb + a * dh) * wd + cb) * cin + g * cg;
            for (let b = bLo; b < bHi; b++) {
              const xp = at(x, xr + b * dw * cin);
              let wp = at(w, ((a * kw + b) * cg) * cout + g * og + o);
              for (let c = 0; c < cg; c++) {
                s += load<f32>(at(xp, c)) * load<f32>(wp);
                wp += <usize>cout << 2;
              }
            }
          }
          store<f32>(at(yo, g * og + o), s);
        }
      }
    }
  }
}

/**
 * x̄[n,h,v,g·Cg+c] = Σ gr[n,i,j,g·Og+o] · w[a,b,c,g·Og+o] over the taps (a, i), (b, j) with i·sh + a·dh − top = h
 * and j·sw + b·dw − left = v, for the rows r = n·H + h in [start, end). Four input channels at a time, each a
 * dot product over the group's output channels in f32x4 lanes (summed across lanes at the end).
 */
export function conv_input_grad_f32(gr: usize, w: usize, xb: usize, geo: usize, start: i32, end: i32): void {
  const h = g32(geo, 1);
  const wd = g32(geo, 2);
  const cin = g32(geo, 3);
  const ho = g32(geo, 4);
  const wo = g32(geo, 5);
  const cout = g32(geo, 6);
  const kh = g32(geo, 7);
  const kw = g32(geo, 8);
  const sh = g32(geo, 9);
  const sw = g32(geo, 10);
  const dh = g32(geo, 11);
  const dw = g32(geo, 12);
  const top = g32(geo, 13);
  const left = g32(geo, 14);
  const groups = g32(geo, 15);
  const cg = cin / groups;
  const og = cout / groups;
  const ov = og & ~3;
  for (let r = start; r < end; r++) {
    const n = r / h;
    const p = r - n * h;
    for (let q = 0; q < wd; q++) {
      const xo = xb + (<usize>((r * wd + q) * cin) << 2);
      for (let g = 0; g < groups; g++) {
        let c = 0;
        for (; c < cg; c += 4) {
          const lanes = cg - c < 4 ? cg - c : 4;
          let s0 = f32x4.splat(0);
          let s1 = f32x4.splat(0);
          let s2 = f32x4.splat(0);
          let s3 = f32x4.splat(0);
          let t0: f32 = 0;
          let t1: f32 = 0;
          let t2: f32 = 0;
          let t3: f32 = 0;
          for (let a = 0; a < kh; a++) {
            const num = p + top - a * dh;
            if (num < 0 || num % sh != 0) continue;
            const i = num / sh;
            if (i >= ho) continue;
            for (let b = 0; b < kw; b++) {
              const numc = q + left - b * dw;
              if (numc < 0 || numc % sw != 0) continue;
              const j = numc / sw;
              if (j >= wo) continue;
              const gp = at(gr, ((n * ho + i) * wo + j) * cout + g * og);
              const w0 = at(w, ((a * kw + b) * cg + c) * cout + g * og);
              if (lanes == 4) {
                const w1 = w0 + (<usize>cout << 2);
                const w2 = w1 + (<usize>cout << 2);
                const w3 = w2 + (<usize>cout << 2);
                let o = 0;
                for (; o < ov; o += 4) {
                  const gv = v128.load(at(gp, o));
                  s0 = madd(s0, gv, v128.load(at(w0, o)));
                  s1 = madd(s1, gv, v128.load(at(w1, o)));
                  s2 = madd(s2, gv, v128.load(at(w2, o)));
                  s3 = madd(s3, gv, v128.load(at(w3, o)));
                }
                for (; o < og; o++) {
                  const gv = load<f32>(at(gp, o));
                  t0 += gv * load<f32>(at(w0, o));
                  t1 += gv * load<f32>(at(w1, o));
                  t2 += gv * load<f32>(at(w2, o));
                  t3 += gv * load<f32>(at(w3, o));
                }
              } else {
                for (let k = 0; k < lanes; k++) {
                  const wk = w0 + (<usize>(k * cout) << 2);
                  let s = f32x4.splat(0);
                  let o = 0;
                  for (; o < ov; o += 4) s = madd(s, v128.load(at(gp, o)), v128.load(at(wk, o)));
                  let t: f32 = hsum(s);
                  for (; o < og; o++) t += load<f32>(at(gp, o)) * load<f32>(at(wk, o));
                  if (k == 0) t0 += t;
                  else if (k == 1) t1 += t;
                  else t2 += t;
                }
              }
            }
          }
          const dst = at(xo, g * cg + c);
          store<f32>(dst, hsum(s0) + t0);
          if (lanes > 1) store<f32>(dst, hsum(s1) + t1, 4);
          if (lanes > 2) store<f32>(dst, hsum(s2) + t2, 8);
          if (lanes > 3) store<f32>(dst, hsum(s3) + t3, 12);
        }
      }
    }
  }
}

/**
 * w̄[a,b,c,o] = Σ_{n,i,j} x[n, i·sh + a·dh − top, j·sw + b·dw − left, g·Cg + c] · gr[n,i,j,o] for the units
 * u = (a·kw + b)·Cg + c in [start, end): all output channels of u at once, 16 at a time in four f32x4
 * accumulators (x broadcast, rows of gr loaded as vectors), then 4, then one.
 */
export function conv_filter_grad_f32(x: usize, gr: usize, wb: usize, geo: usize, start: i32, end: i32): void {
  const nb = g32(geo, 0);
  const h = g32(geo, 1);
  const wd = g32(geo, 2);
  const cin = g32(geo, 3);
  const ho = g32(geo, 4);
  const wo = g32(geo, 5);
  const cout = g32(geo, 6);
  const kw = g32(geo, 8);
  const sh = g32(geo, 9);
  const sw = g32(geo, 10);
  const dh = g32(geo, 11);
  const dw = g32(geo, 12);
  const top = g32(geo, 13);
  const left = g32(geo, 14);
  const groups = g32(geo, 15);
  const cg = cin / groups;
  const og = cout / groups;
  for (let u = start; u < end; u++) {
    const c = u % cg;
    const ab = u / cg;
    const a = ab / kw;
    const b = ab - a * kw;
    // outputs i (and j) whose tap a (b) lies inside the input
    const ra = a * dh - top;
    const iLo = ra >= 0 ? 0 : (-ra + sh - 1) / sh;
    let iHi = h - 1 - ra < 0 ? 0 : (h - 1 - ra) / sh + 1;
    if (iHi > ho) iHi = ho;
    const rb = b * dw - left;
    const jLo = rb >= 0 ? 0 : (-rb + sw - 1) / sw;
    let jHi = wd - 1 - rb < 0 ? 0 : (wd - 1 - rb) / sw + 1;
    if (jHi > wo) jHi = wo;
    const dst = wb + (<usize>(u * cout) << 2);
    for (let g = 0; g < groups; g++) {
      const xc = g * cg + c;
      let o = g * og;
      const oEnd = o + og;
      for (; o + 16 <= oEnd; o += 16) {
        let s0 = f32x4.splat(0);
        let s1 = f32x4.splat(0);
        let s2 = f32x4.splat(0);
        let s3 = f32x4.splat(0);
        for (let n = 0; n < nb; n++) {
          for (let i = iLo; i < iHi; i++) {
            let xp = at(x, ((n * h + i * sh + ra) * wd + jLo * sw + rb) * cin + xc);
            let gp = at(gr, ((n * ho + i) * wo + jLo) * cout + o);
            for (let j = jLo; j < jHi; j++) {
              const v = v128.load32_splat(xp);
              s0 = madd(s0, v, v128.load(gp));
              s1 = madd(s1, v, v128.load(gp, 16));
              s2 = madd(s2, v, v128.load(gp, 32));
              s3 = madd(s3, v, v128.load(gp, 48));
              xp += <usize>(sw * cin) << 2;
              gp += <usize>cout << 2;
            }
          }
        }
        const q = at(dst, o);
        v128.store(q, s0);
        v128.store(q, s1, 16);
        v128.store(q, s2, 32);
        v128.store(q, s3, 48);
      }
      for (; o + 4 <= oEnd; o += 4) {
        let s = f32x4.splat(0);
        for (let n = 0; n < nb; n++) {
          for (let i = iLo; i < iHi; i++) {
            let xp = at(x, ((n * h + i * sh + ra) * wd + jLo * sw + rb) * cin + xc);
            let gp = at(gr, ((n * ho + i) * wo + jLo) * cout + o);
            for (let j = jLo; j < jHi; j++) {
              s = madd(s, v128.load32_splat(xp), v128.load(gp));
              xp += <usize>(sw * cin) << 2;
              gp += <usize>cout << 2;
            }
          }
        }
        v128.store(at(dst, o), s);
      }
      for (; o < oEnd; o++) {
        let s: f32 = 0;
        for (let n = 0; n < nb; n++) {
          for (let i = iLo; i < iHi; i++) {
            let xp = at(x, ((n * h + i * sh + ra) * wd + jLo * sw + rb) * cin + xc);
            let gp = at(gr, ((n * ho + i) * wo + jLo) * cout + o);
            for (let j = jLo; j < jHi; j++) {
              s += load<f32>(xp) * load<f32>(gp);
              xp += <usize>(sw * cin) << 2;
              gp += <usize>cout << 2;
            }
          }
        }
        store<f32>(at(dst, o), s);
      }
    }
  }
}

/**
 * The filters of an input gradient computed as a convolution: out[a', b', o', g·Cg + c] = w[kh − 1 − a', kw − 1 − b',
 * c, g·Og + o'] (flipped in space, channel axes swapped within each group), w [kh, kw, Cg, Cout], out [kh, kw, Og, Cin].
 */
export function conv_flip_f32(w: usize, out: usize, kh: i32, kw: i32, cg: i32, cout: i32, groups: i32): void {
  const og = cout / groups;
  const cin = cg * groups;
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let c = 0; c < cg; c++)
        for (let o = 0; o < cout; o++) {
          const g = o / og;
          const dst = (((kh - 1 - a) * kw + (kw - 1 - b)) * og + (o - g * og)) * cin + g * cg + c;
          store<f32>(at(out, dst), load<f32>(at(w, ((a * kw + b) * cg + c) * cout + o)));
        }
}
