/**
 * Attention: dotProductAttention equals a naive loop over (batch, head,
 * query) with an explicit softmax, with and without masks, causal masks with
 * seqQ = seqK and seqQ < seqK (aligned at the end), fully masked rows (zeros,
 * zero and finite gradients) and huge scores (stable); its derivatives pass
 * finite differences and the transpose law; multiHeadAttention equals its
 * definition written out, passes the layer laws, and causal attention does
 * not look ahead. Bad shapes are ShapeErrors naming the op.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { checkLayer } from '../../laws/layers.js';
import { prng } from '../../laws/numeric.js';
import { jvpMatchesFiniteDifferences, transposeLaw } from '../../laws/predicates.js';

const f64 = (values: number[], shape: number[]) => ct.tensor(values, { shape, dtype: 'f64', backend: 'cpu' });
const rand = (shape: number[], seed: number, scale = 1) => {
  const r = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};
const values = (t: ct.Tensor) => Array.from(t.dataSync());
const expectClose = (a: readonly number[], b: readonly number[], tol = 1e-9) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]!)));
  });
};

/**
 * The definition: for each batch b, head h and query i, scores s_j = Σ_d q[b,i,h,d]·k[b,j,h,d] / √D over the keys j
 * with keep(b, h, i, j), softmax by exp(s_j − max s) / Σ, output Σ_j p_j v[b,j,h,:]; no key kept → zeros.
 */
function naiveAttention(
  q: number[],
  k: number[],
  v: number[],
  [B, SQ, H, D]: readonly [number, number, number, number],
  SK: number,
  keep: (b: number, h: number, i: number, j: number) => boolean,
): number[] {
  const out = new Array<number>(B * SQ * H * D).fill(0);
  const qi = (b: number, i: number, h: number, d: number) => ((b * SQ + i) * H + h) * D + d;
  const ki = (b: number, j: number, h: number, d: number) => ((b * SK + j) * H + h) * D + d;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < SQ; i++) {
        const js: number[] = [];
        const s: number[] = [];
        for (let j = 0; j < SK; j++) {
          if (!keep(b, h, i, j)) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qi(b, i, h, d)]! * k[ki(b, j, h, d)]!;
          js.push(j);
          s.push(dot / Math.sqrt(D));
        }
        if (js.length === 0) continue;
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, x) => a + x, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          js.forEach((j, n) => {
            acc += (e[n]! / z) * v[ki(b, j, h, d)]!;
          });
          out[qi(b, i, h, d)] = acc;
        }
      }
  return out;
}

const B = 2;
const H = 2;
const D = 3;
const inputs = (sq: number, sk: number, seed: number, scale = 1) => {
  const qv = rand([B, sq, H, D], seed, scale);
  const kv = rand([B, sk, H, D], seed + 1, scale);
  const vv = rand([B, sk, H, D], seed + 2);
  return {
    qv,
    kv,
    vv,
    q: f64(qv, [B, sq, H, D]),
    k: f64(kv, [B, sk, H, D]),
    v: f64(vv, [B, sk, H, D]),
  };
};

describe('dotProductAttention = the naive loop', () => {
  it('without a mask', () => {
    const { qv, kv, vv, q, k, v } = inputs(3, 4, 1);
    const y = nn.functional.dotProductAttention(q, k, v);
    expect(y.shape).toEqual([B, 3, H, D]);
    expectClose(
      values(y),
      naiveAttention(qv, kv, vv, [B, 3, H, D], 4, () => true),
    );
  });

  it('with a padding mask [batch, 1, 1, seqK] and a full mask [batch, heads, seqQ, seqK]', () => {
    const { qv, kv, vv, q, k, v } = inputs(3, 4, 5);
    const pad = [1, 1, 1, 0, 1, 0, 1, 1]; // [2, 1, 1, 4]
    const y = nn.functional.dotProductAttention(q, k, v, { mask: f64(pad, [B, 1, 1, 4]) });
    expectClose(
      values(y),
      naiveAttention(qv, kv, vv, [B, 3, H, D], 4, (b, _h, _i, j) => pad[b * 4 + j] === 1),
    );
    const r = prng(9);
    const full = Array.from({ length: B * H * 3 * 4 }, () => (r() < 0.6 ? 1 : 0));
    const y2 = nn.functional.dotProductAttention(q, k, v, { mask: ct.tensor(full, { shape: [B, H, 3, 4], dtype: 'i32', backend: 'cpu' }) });
    expectClose(
      values(y2),
      naiveAttention(qv, kv, vv, [B, 3, H, D], 4, (b, h, i, j) => full[((b * H + h) * 3 + i) * 4 + j] === 1),
    );
  });

  it('causal with seqQ = seqK, causal with seqQ < seqK (aligned at the end), causal with a mask', () => {
    const a = inputs(4, 4, 11);
    expectClose(
      values(nn.functional.dotProductAttention(a.q, a.k, a.v, { causal: true })),
      naiveAttention(a.qv, a.kv, a.vv, [B, 4, H, D], 4, (_b, _h, i, j) => j <= i),
    );
    const b = inputs(2, 5, 13);
    expectClose(
      values(nn.functional.dotProductAttention(b.q, b.k, b.v, { causal: true })),
      naiveAttention(b.qv, b.kv, b.vv, [B, 2, H, D], 5, (_b, _h, i, j) => j <= i + 3),
    );
    const pad = [0, 1, 1, 1, 1]; // key 0 dropped everywhere
    expectClose(
      values(nn.functional.dotProductAttention(a.q, a.k, a.v, { causal: true, mask: f64(pad.slice(0, 4), [4]) })),
      naiveAttention(a.qv, a.kv, a.vv, [B, 4, H, D], 4, (_b, _h, i, j) => j <= i && pad[j] === 1),
    );
  });

  it('huge scores stay finite (the row maximum is subtracted)', () => {
    const { qv, kv, vv, q, k, v } = inputs(3, 3, 17, 100);
    const y = values(nn.functional.dotProductAttention(q, k, v));
    expect(y.every(Number.isFinite)).toBe(true);
    expectClose(
      y,
      naiveAttention(qv, kv, vv, [B, 3, H, D], 3, () => true),
    );
  });
});

describe('fully masked rows', () => {
  it('give zeros, and zero (finite) gradients', () => {
    const sq = 4;
    const { q, k, v } = inputs(sq, sq, 21);
    // query 0 sees nothing: the causal mask keeps only key 0 there, and key 0 is masked
    const mask = f64([0, 1, 1, 1], [4]);
    const w = f64(rand([B, sq, H, D], 23), [B, sq, H, D]);
    const loss = (qi: ct.Tensor, ki: ct.Tensor, vi: ct.Tensor) =>
      ct.sum(ct.mul(nn.functional.dotProductAttention(qi, ki, vi, { mask, causal: true }), w));
    const y = values(nn.functional.dotProductAttention(q, k, v, { mask, causal: true }));
    const row0 = (b: number) => y.slice(b * sq * H * D, b * sq * H * D + H * D);
    expect(row0(0).every((x) => x === 0)).toBe(true);
    expect(row0(1).every((x) => x === 0)).toBe(true);
    const [gq, gk, gv] = ct
      .grad(loss, { argnums: [0, 1, 2] })(q, k, v)
      .map(values) as [number[], number[], number[]];
    for (const g of [gq, gk, gv]) expect(g.every(Number.isFinite)).toBe(true);
    // the masked query's gradient is zero; key 0 (never attended) gets zero gradients
    for (let b = 0; b < B; b++) {
      expect(gq.slice(b * sq * H * D, b * sq * H * D + H * D).every((x) => x === 0)).toBe(true);
      expect(gk.slice(b * sq * H * D, b * sq * H * D + H * D).every((x) => x === 0)).toBe(true);
      expect(gv.slice(b * sq * H * D, b * sq * H * D + H * D).every((x) => x === 0)).toBe(true);
    }
    // and the other rows have gradients
    expect(gq.some((x) => x !== 0)).toBe(true);
    // jvp (forward mode) is finite too
    const [, t] = ct.jvp((qi: ct.Tensor) => loss(qi, k, v), [q], [ct.onesLike(q)]);
    expect(Number.isFinite(values(t as ct.Tensor)[0]!)).toBe(true);
  });
});

describe('derivatives of dotProductAttention', () => {
  it('pass finite differences and the transpose law (no mask, causal, masked)', () => {
    const r = prng(31);
    const { q, k, v } = inputs(3, 3, 29);
    const tangent = (t: ct.Tensor) =>
      f64(
        Array.from({ length: t.size }, () => r() * 2 - 1),
        [...t.shape],
      );
    const mask = f64([1, 0, 1, 1, 1, 0], [B, 1, 1, 3]);
    for (const opts of [{}, { causal: true }, { mask }, { mask, causal: true }]) {
      const f = (qi: ct.Tensor, ki: ct.Tensor, vi: ct.Tensor) => nn.functional.dotProductAttention(qi, ki, vi, opts);
      const args = [q, k, v];
      const ts = args.map(tangent);
      expect(jvpMatchesFiniteDifferences(f, args, ts)).toMatchObject({ ok: true });
      expect(transposeLaw(f, args, ts, tangent(q))).toMatchObject({ ok: true });
    }
  });
});

describe('dotProductAttention errors', () => {
  it('names the op and the shapes', () => {
    const { q, k, v } = inputs(3, 4, 1);
    expect(() => nn.functional.dotProductAttention(ct.reshape(q, [B, 3, H * D]), k, v)).toThrow(
      /dotProductAttention: q, k and v must be \[batch, seq, heads, headDim\]/,
    );
    expect(() => nn.functional.dotProductAttention(q, q, v)).toThrow(/dotProductAttention: v \[2,4,2,3\] must be \[2, 3, 2, headDim\]/);
    expect(() => nn.functional.dotProductAttention(q, k, v, { mask: f64([1, 1, 1], [3]) })).toThrow(
      /dotProductAttention: mask \[3\] does not broadcast to \[batch, heads, seqQ, seqK\] = \[2,2,3,4\]/,
    );
    expect(() => nn.multiHeadAttention(3, 8)).toThrow(/multiHeadAttention: dim must be a positive multiple of heads \(3\)/);
    expect(() => nn.multiHeadAttention(2, 8).init(nn.random.key(0), [-1, 8])).toThrow(/expects an input \[batch, seq, features\]/);
  });
});

/** x Wᵀ + b for rows x [n, in] written out. */
const denseRef = (x: number[], n: number, fin: number, W: number[], b: number[]) => {
  const fout = b.length;
  const out: number[] = [];
  for (let r = 0; r < n; r++)
    for (let o = 0; o < fout; o++) {
      let s = b[o]!;
      for (let i = 0; i < fin; i++) s += x[r * fin + i]! * W[o * fin + i]!;
      out.push(s);
    }
  return out;
};

describe('multiHeadAttention layer', () => {
  const toF64 = (l: unknown) => {
    const t = l as ct.Tensor;
    return ct.tensor(t.dataSync(), { shape: [...t.shape], dtype: 'f64', backend: 'cpu' });
  };

  it('equals the projections and the naive attention written out (causal and not)', () => {
    const [b, s, f, heads, dim] = [2, 4, 5, 2, 6];
    for (const causal of [false, true]) {
      const layer = nn.multiHeadAttention(heads, dim, { causal });
      const p = ct.treeMap(layer.init(nn.random.key(4), [-1, s, f]).params, toF64) as nn.MultiHeadAttentionParams;
      const xv = rand([b, s, f], 41);
      const y = layer.apply(p, f64(xv, [b, s, f]));
      expect(y.shape).toEqual([b, s, dim]);
      const proj = (d: { W: ct.Tensor; b: ct.Tensor }, x: number[], fin: number) => denseRef(x, b * s, fin, values(d.W), values(d.b));
      const att = naiveAttention(
        proj(p.q, xv, f),
        proj(p.k, xv, f),
        proj(p.v, xv, f),
        [b, s, heads, dim / heads],
        s,
        (_b, _h, i, j) => !causal || j <= i,
      );
      expectClose(values(y), proj(p.o, att, dim));
    }
  });

  it('causal: changing later positions leaves earlier outputs unchanged', () => {
    const layer = nn.multiHeadAttention(2, 4, { causal: true });
    const p = layer.init(nn.random.key(1), [-1, 5, 4]).params;
    const xv = rand([1, 5, 4], 51);
    const x2 = xv.map((v, i) => (i >= 12 ? v + 5 : v)); // positions 3 and 4 changed
    const y1 = values(layer.apply(p, ct.tensor(xv, { shape: [1, 5, 4] })));
    const y2 = values(layer.apply(p, ct.tensor(x2, { shape: [1, 5, 4] })));
    expectClose(y1.slice(0, 12), y2.slice(0, 12), 1e-6);
    expect(y1.slice(12).some((v, i) => Math.abs(v - y2[12 + i]!) > 1e-3)).toBe(true);
  });

  it('passes the layer laws', () => {
    fc.assert(checkLayer(nn.multiHeadAttention(2, 4), [2, 3, 3], { combinators: { serial: nn.serial, identity: nn.identity } }), {
      numRuns: 2,
    });
    fc.assert(checkLayer(nn.multiHeadAttention(2, 4, { causal: true }), [1, 3, 4]), { numRuns: 2 });
  });
});
