/**
 * Layer laws through checkLayer: layers of cotangent/nn pass (output shape,
 * derivatives w.r.t. input and parameters, no leaks, serial/identity laws,
 * associativity of serial); broken layers are caught.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { checkLayer, serialAssociativityLaw, type Combinators, type LayerLike } from '../../laws/layers.js';
import { prng } from '../../laws/numeric.js';

const combinators: Combinators = { serial: nn.serial, identity: nn.identity };

describe('checkLayer on cotangent/nn layers', () => {
  const cases: [string, LayerLike, number[]][] = [
    ['dense', nn.dense(3), [2, 4]],
    ['mlp', nn.serial(nn.dense(5), nn.tanh, nn.dense(2)), [3, 4]],
    ['sigmoid', nn.sigmoid, [2, 3]],
    ['softmax', nn.softmax, [2, 3]],
    ['layerNorm', nn.layerNorm(), [2, 4]],
    ['batchNorm (inference)', nn.batchNorm(), [3, 2]],
    ['positionEmbedding', nn.positionEmbedding(4), [1, 3, 2]],
    ['multiHeadAttention (causal)', nn.multiHeadAttention(2, 4, { causal: true }), [1, 3, 4]],
    ['transformerBlock', nn.transformerBlock(4, 2, { mlpDim: 6 }), [1, 3, 4]],
  ];
  for (const [name, layer, shape] of cases) {
    it(`${name} passes every layer law`, () => {
      fc.assert(checkLayer(layer, shape, { combinators }), { numRuns: 4 });
    });
  }

  it('embedding (i32 token ids: derivatives w.r.t. the table)', () => {
    const ids = (shape: readonly number[], rand: () => number) =>
      ct.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * 5)),
        { shape: [...shape], dtype: 'i32', backend: 'cpu' },
      );
    fc.assert(checkLayer(nn.embedding(5, 3), [2, 3], { combinators, input: ids }), { numRuns: 3 });
  });

  it('serial is associative', () => {
    for (let s = 0; s < 3; s++) {
      const r = serialAssociativityLaw(combinators, nn.dense(3), nn.tanh, nn.dense(2), nn.random.key(s), [2, 4], prng(s));
      expect(r).toEqual({ ok: true, law: 'serial is associative' });
    }
  });
});

describe('checkLayer catches broken layers', () => {
  const scaleLayer = (apply: (p: { w: ct.Tensor }, x: ct.Tensor) => ct.Tensor, declared?: number[]): LayerLike => ({
    name: 'scale',
    init: (_k, s) => ({ params: { w: ct.ones([s[s.length - 1]!], { dtype: 'f64' }) }, outputShape: declared ?? [...s] }),
    apply,
  });

  it('a wrong declared output shape', () => {
    const r = fc.check(
      checkLayer(
        scaleLayer((p, x) => ct.mul(x, p.w), [9]),
        [2, 3],
        { laws: ['shape'] },
      ),
      { numRuns: 3 },
    );
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/declared output shape \[9\]/);
  });

  it('a wrong custom gradient inside a layer', () => {
    const wrong = ct.customVjp(
      (x) => ct.tanh(x),
      (x) => [ct.tanh(x), x] as const,
      (x, c) => [ct.mul(c, x)],
    );
    const r = fc.check(
      checkLayer(
        scaleLayer((p, x) => wrong(ct.mul(x, p.w))),
        [2, 3],
        { laws: ['grads'] },
      ),
      { numRuns: 3 },
    );
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/suspect: vjp/);
  });

  it('a wrong gradient of a layer reading token ids', () => {
    const wrong = ct.customVjp(
      (t: ct.Tensor) => ct.mul(t, 1),
      (t: ct.Tensor) => [ct.mul(t, 1), t] as const,
      (_t, c) => [ct.mul(c, 2)],
    );
    const ids = (shape: readonly number[]) => ct.tensor([0, 2, 1], { shape: [...shape], dtype: 'i32', backend: 'cpu' });
    const r = fc.check(
      checkLayer(
        {
          name: 'lookup',
          init: () => ({ params: { t: ct.ones([3, 2], { dtype: 'f64' }) }, outputShape: [3, 2] }),
          apply: (p: { t: ct.Tensor }, x) => nn.functional.embeddingLookup(wrong(p.t), x as ct.Tensor),
        },
        [3],
        { laws: ['grads'], input: ids },
      ),
      { numRuns: 2 },
    );
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/suspect: vjp/);
  });

  it('a layer that leaks tensors', () => {
    const leaked: ct.Tensor[] = [];
    const r = fc.check(
      checkLayer(
        scaleLayer((p, x) => {
          leaked.push(ct.keep(ct.mul(x, 2)));
          return ct.mul(x, p.w);
        }),
        [2, 3],
        { laws: ['no-leaks'] },
      ),
      { numRuns: 2 },
    );
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/still live/);
  });
});
