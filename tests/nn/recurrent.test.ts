/**
 * gru and lstm: the layer laws (declared shapes, input and parameter
 * derivatives against finite differences, no leaks), equal to the recurrences
 * written out step by step in plain JavaScript (the definition), one `scan`
 * equation in the graph (not unrolled), spec round trip, and training on a
 * small slice of the digits read as 8 rows of 8 pixels.
 */
import fc from 'fast-check';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { checkLayer } from '../../laws/index.js';
import { digitsSplit } from '../../src/io/digits.js';

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** Rows of a row-major [r, c] array. */
const rows = (a: Float64Array, r: number, c: number): number[][] =>
  Array.from({ length: r }, (_, i) => Array.from(a.slice(i * c, i * c + c)));
/** W[out, in] · v */
const mv = (W: number[][], v: number[]): number[] => W.map((row) => row.reduce((s, w, j) => s + w * v[j]!, 0));

/** The recurrences for one example, step by step (the definition). */
function reference(kind: 'gru' | 'lstm', p: nn.RecurrentParams, xs: number[][], units: number): number[][] {
  const g = kind === 'gru' ? 3 : 4;
  const fin = xs[0]!.length;
  const Wx = rows(p.Wx.dataSync() as Float64Array, g * units, fin);
  const Wh = rows(p.Wh.dataSync() as Float64Array, g * units, units);
  const b = Array.from(p.b.dataSync() as Float64Array);
  const part = (v: number[], k: number) => v.slice(k * units, (k + 1) * units);
  let h = new Array<number>(units).fill(0);
  let c = new Array<number>(units).fill(0);
  const out: number[][] = [];
  for (const x of xs) {
    const px = mv(Wx, x).map((v, i) => v + b[i]!);
    if (kind === 'gru') {
      const ph = mv(Wh.slice(0, 2 * units), h);
      const z = part(px, 0).map((v, i) => sig(v + ph[i]!));
      const r = part(px, 1).map((v, i) => sig(v + ph[units + i]!));
      const pn = mv(
        Wh.slice(2 * units),
        h.map((v, i) => v * r[i]!),
      );
      const n = part(px, 2).map((v, i) => Math.tanh(v + pn[i]!));
      h = n.map((v, i) => (1 - z[i]!) * v + z[i]! * h[i]!);
    } else {
      const pre = mv(Wh, h).map((v, i) => v + px[i]!);
      const i_ = part(pre, 0).map(sig);
      const f = part(pre, 1).map(sig);
      const gg = part(pre, 2).map(Math.tanh);
      const o = part(pre, 3).map(sig);
      c = c.map((v, k) => f[k]! * v + i_[k]! * gg[k]!);
      h = c.map((v, k) => o[k]! * Math.tanh(v));
    }
    out.push([...h]);
  }
  return out;
}

describe('recurrent layers', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'cpu' });
  });
  afterAll(async () => {
    await ct.init({ backend: 'wasm' });
  });

  for (const kind of ['gru', 'lstm'] as const) {
    const make = kind === 'gru' ? nn.gru : nn.lstm;

    it(`${kind}: equals the recurrence written out step by step (every state and the last)`, () => {
      const units = 3;
      const layer = make(units, { returnSequences: true, dtype: 'f64' });
      const { params, outputShape } = layer.init(nn.random.key(1), [2, 4, 5]);
      expect(outputShape).toEqual([2, 4, units]);
      const xv = Array.from({ length: 2 * 4 * 5 }, (_, i) => Math.sin(i * 0.7));
      const x = ct.tensor(xv, { shape: [2, 4, 5], dtype: 'f64' });
      const ys = layer.apply(params, x).dataSync();
      const last = make(units, { dtype: 'f64' }).apply(params, x).dataSync();
      for (let e = 0; e < 2; e++) {
        const xs = Array.from({ length: 4 }, (_, t) => xv.slice((e * 4 + t) * 5, (e * 4 + t + 1) * 5));
        const want = reference(kind, params, xs, units);
        want.forEach((h, t) => {
          h.forEach((v, k) => {
            expect(ys[(e * 4 + t) * units + k]).toBeCloseTo(v, 12);
          });
        });
        want[3]!.forEach((v, k) => {
          expect(last[e * units + k]).toBeCloseTo(v, 12);
        });
      }
    });

    it(`${kind}: the layer laws (shapes, input and parameter derivatives, no leaks)`, () => {
      fc.assert(checkLayer(make(2, { dtype: 'f64' }), [2, 3, 2]), { numRuns: 3 });
      fc.assert(checkLayer(make(2, { returnSequences: true, dtype: 'f64' }), [1, 2, 3]), { numRuns: 3 });
    });

    it(`${kind}: the time loop is one scan equation, not unrolled`, () => {
      const layer = make(4);
      const { params } = layer.init(nn.random.key(0), [2, 16, 3]);
      const text = ct.graphToText(ct.makeGraph((x: ct.Tensor) => layer.apply(params, x), ct.zeros([2, 16, 3])));
      expect(text.match(/= scan/g)).toHaveLength(1);
      expect(text.match(/= tanh/g)?.length ?? 0).toBeLessThan(3); // inside the body, once
    });

    it(`${kind}: spec round trip and a clear error for a rank-2 input`, () => {
      const layer = make(5, { returnSequences: true });
      const again = nn.fromSpec(layer.spec);
      expect(again.spec).toEqual(layer.spec);
      expect(() => layer.init(nn.random.key(0), [2, 3])).toThrow(
        new RegExp(`${kind}\\(5, sequences\\): expects an input \\[batch, time, features\\]`),
      );
    });
  }

  it('a gru classifier learns the digits read as 8 rows of 8 pixels', async () => {
    const { train, test } = digitsSplit();
    const small = nn.take(
      train,
      Array.from({ length: 400 }, (_, i) => i),
      'digits-400',
    );
    const model = nn.serial(nn.reshape([8, 8]), nn.gru(32), nn.dense(10));
    const [k1, k2] = nn.random.split(nn.random.key(0));
    const { params } = model.init(k1!, [-1, 64]);
    const r = await nn.fit(model, params, small, {
      loss: nn.softmaxCrossEntropy,
      optimizer: nn.adam(1e-2),
      epochs: 6,
      batchSize: 50,
      key: k2!,
      validation: test,
    });
    expect(r.history[r.history.length - 1]!.validation!.accuracy).toBeGreaterThan(0.8);
  });
});
