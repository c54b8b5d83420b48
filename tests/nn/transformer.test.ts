/**
 * Embeddings, the decoder transformer and the addition task: embedding reads
 * the table's rows (loop reference) and sends gradients back to the rows it
 * read; positionEmbedding adds row t at position t; both pass the layer laws
 * (parameter derivatives); the transformer's logits at a position do not
 * depend on later tokens; the addition format, the held-out split, the masked
 * loss and greedy decoding are checked on hand-made cases (an oracle model
 * decodes every problem right, a model wrong on one digit loses exactly those
 * problems); a few jitted training steps lower the loss with one traced program.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { checkLayer, type LayerLike } from '../../laws/layers.js';
import { cli } from '../cli/harness.js';
import {
  ANSWER,
  INPUT,
  PROMPT,
  VOCAB,
  accuracyLine,
  encodeProblem,
  exactMatches,
  greedyAnswers,
  heldOutProblems,
  maskedCrossEntropy,
  randomStream,
  trainAddition,
  trainingBatch,
  type Problem,
} from '../../src/cli/addition.js';

const f64 = (values: number[], shape: number[]) => ct.tensor(values, { shape, dtype: 'f64', backend: 'cpu' });
const ids = (values: number[], shape: number[], backend: ct.BackendName = 'cpu') => ct.tensor(values, { shape, dtype: 'i32', backend });
const values = (t: ct.Tensor) => Array.from(t.dataSync());

describe('embedding', () => {
  const table = Array.from({ length: 5 * 3 }, (_, i) => i * 0.5 - 3);
  it('reads row i of the table for id i (negative ids count from the end; ids out of range are an error)', () => {
    const idv = [4, 0, 2, 2, -1, 1];
    const y = nn.functional.embeddingLookup(f64(table, [5, 3]), ids(idv, [2, 3]));
    expect(y.shape).toEqual([2, 3, 3]);
    const ref = idv.flatMap((i) => table.slice(((i + 5) % 5) * 3, ((i + 5) % 5) * 3 + 3));
    expect(values(y)).toEqual(ref);
    expect(() => nn.functional.embeddingLookup(f64(table, [5, 3]), ids([5], [1]))).toThrow(/take/);
  });

  it('sends each cotangent row back to the row it read (summed over repeats)', () => {
    const idv = [1, 3, 1, 0];
    const c = Array.from({ length: 4 * 3 }, (_, i) => i + 1);
    const g = ct.grad((t: ct.Tensor) => ct.sum(ct.mul(nn.functional.embeddingLookup(t, ids(idv, [4])), f64(c, [4, 3]))))(
      f64(table, [5, 3]),
    );
    const ref = new Array<number>(15).fill(0);
    idv.forEach((row, r) => {
      for (let k = 0; k < 3; k++) ref[row * 3 + k]! += c[r * 3 + k]!;
    });
    expect(values(g)).toEqual(ref);
  });

  it('the layer: shapes, parameter derivatives (layer laws with fixed ids), errors', () => {
    const layer = nn.embedding(6, 4);
    const { params, outputShape } = layer.init(nn.random.key(0), [-1, 3]);
    expect(outputShape).toEqual([-1, 3, 4]);
    expect(params.table.shape).toEqual([6, 4]);
    const fixed = ids([5, 0, 2, 2, 1, 3], [2, 3]);
    // the laws differentiate w.r.t. the input too, so the ids are fixed and the float input is added
    const withIds: LayerLike = {
      name: 'embedding with fixed ids',
      init: (k) => ({ params: layer.init(k as nn.Key, [2, 3]).params, outputShape: [2, 3, 4] }),
      apply: (p, x) => ct.add(layer.apply(p as nn.EmbeddingParams, fixed) as ct.Tensor, x as ct.Tensor),
    };
    fc.assert(checkLayer(withIds, [2, 3, 4]), { numRuns: 2 });
    expect(() => layer.apply(params, ct.ones([2, 3]))).toThrow(/embedding: token ids must be i32/);
    expect(() => nn.embedding(0, 4)).toThrow(/embedding: vocab must be a positive integer/);
  });

  it('positionEmbedding adds row t at position t and checks the length', () => {
    const layer = nn.positionEmbedding(4);
    const { params } = layer.init(nn.random.key(1), [-1, 3, 2]);
    const tv = values(params.table);
    const x = Array.from({ length: 2 * 3 * 2 }, (_, i) => i);
    const y = values(layer.apply(params, ct.tensor(x, { shape: [2, 3, 2] })));
    expect(y).toEqual(x.map((v, i) => Math.fround(v + tv[i % 6]!)));
    expect(() => layer.init(nn.random.key(1), [-1, 5, 2])).toThrow(/positionEmbedding\(4\): sequence length 5 exceeds maxLength 4/);
    fc.assert(checkLayer(layer, [2, 3, 2]), { numRuns: 2 });
  });
});

describe('decoderTransformer', () => {
  it('maps ids [batch, seq] to logits [batch, seq, vocab]; a position does not see later tokens', () => {
    const model = nn.decoderTransformer({ vocab: 7, maxLength: 6, dim: 8, heads: 2, layers: 2 });
    const { params, outputShape } = model.init(nn.random.key(2), [-1, 5]);
    expect(outputShape).toEqual([-1, 5, 7]);
    const a = values(model.apply(params, ids([1, 2, 3, 4, 5], [1, 5], 'wasm')) as ct.Tensor);
    const b = values(model.apply(params, ids([1, 2, 3, 0, 6], [1, 5], 'wasm')) as ct.Tensor);
    a.slice(0, 3 * 7).forEach((v, i) => {
      expect(Math.abs(v - b[i]!)).toBeLessThan(1e-5);
    });
    expect(a.slice(3 * 7).some((v, i) => Math.abs(v - b[3 * 7 + i]!) > 1e-4)).toBe(true);
  });
});

describe('the addition task', () => {
  it('encodes a + b as zero-padded operands and the reversed 4-digit sum', () => {
    expect(encodeProblem(123, 989)).toEqual([1, 2, 3, 10, 9, 8, 9, 11, 2, 1, 1, 1]);
    expect(encodeProblem(5, 7)).toEqual([0, 0, 5, 10, 0, 0, 7, 11, 2, 1, 0, 0]);
    expect(() => encodeProblem(1000, 1)).toThrow(/encodeProblem: operands must be integers in \[0, 1000\)/);
  });

  it('training batches never hold a held-out problem; labels are the next token at answer positions only', () => {
    const held = heldOutProblems(300, 3);
    expect(new Set(held.map(([a, b]) => a * 1000 + b)).size).toBe(300);
    expect(heldOutProblems(300, 3)).toEqual(held);
    // exclude every problem whose first operand is odd: every batch problem must have an even one
    const excluded = new Set(Array.from({ length: 500 * 1000 }, (_, i) => (2 * Math.floor(i / 1000) + 1) * 1000 + (i % 1000)));
    const { x, y } = trainingBatch(20, randomStream(1), excluded);
    for (let r = 0; r < 20; r++) {
      const row = Array.from(x.slice(r * INPUT, r * INPUT + INPUT));
      const a = row[0]! * 100 + row[1]! * 10 + row[2]!;
      const b = row[4]! * 100 + row[5]! * 10 + row[6]!;
      expect(a % 2).toBe(0);
      const full = encodeProblem(a, b);
      expect(row).toEqual(full.slice(0, INPUT));
      expect(Array.from(y.slice(r * INPUT, r * INPUT + INPUT))).toEqual([
        ...new Array<number>(PROMPT - 1).fill(-1),
        ...full.slice(PROMPT, PROMPT + ANSWER),
      ]);
    }
  });

  it('the masked loss is the mean cross-entropy over the labelled positions', () => {
    const logits = [0.5, -1, 2, 0, 1, 1, 3, 0.2, -0.5, 1, 0, 0]; // [1, 4, 3]
    const labels = [2, -1, 0, -1];
    const l = values(maskedCrossEntropy(f64(logits, [1, 4, 3]), ids(labels, [1, 4])))[0]!;
    const nll = (row: number, k: number) => {
      const z = logits.slice(row * 3, row * 3 + 3);
      return Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[k]!;
    };
    expect(l).toBeCloseTo((nll(0, 2) + nll(2, 0)) / 2, 12);
  });

  /** A model that writes the right digit unless `wrong(a, b, k)`, from the prompt alone. */
  const oracle = (wrong: (a: number, b: number, k: number) => boolean) => (t: ct.Tensor) => {
    const v = t.dataSync();
    const n = t.shape[0]!;
    const out = new Float32Array(n * INPUT * VOCAB);
    for (let r = 0; r < n; r++) {
      const row = Array.from(v.slice(r * INPUT, r * INPUT + INPUT));
      const a = row[0]! * 100 + row[1]! * 10 + row[2]!;
      const b = row[4]! * 100 + row[5]! * 10 + row[6]!;
      const full = encodeProblem(a, b);
      for (let k = 0; k < ANSWER; k++) {
        const d = wrong(a, b, k) ? (full[PROMPT + k]! + 1) % 10 : full[PROMPT + k]!;
        out[(r * INPUT + PROMPT - 1 + k) * VOCAB + d] = 1;
      }
    }
    return ct.fromTypedArray(out, [n, INPUT, VOCAB], 'f32');
  };

  it('greedy decoding: an oracle gets every problem; a model wrong on one digit loses those problems only', async () => {
    const problems: Problem[] = [
      [123, 989],
      [0, 0],
      [999, 999],
      [500, 500],
      [47, 3],
    ];
    const right = await greedyAnswers(
      oracle(() => false),
      problems,
    );
    expect(right).toEqual([1112, 0, 1998, 1000, 50]);
    expect(exactMatches(problems, right)).toBe(5);
    const answers = await greedyAnswers(
      oracle((a, _b, k) => a >= 500 && k === 2),
      problems,
    );
    expect(exactMatches(problems, answers)).toBe(3);
    expect(answers[2]).toBe(1098); // hundreds digit 9 written as 0
    expect(accuracyLine(3, 5)).toBe('exact-match accuracy 60.0% (3/5)');
  });

  it('greedy decoding feeds each decoded digit back as the next input', async () => {
    // predicts 3 after '=' and (the token it reads + 1) mod 10 after a digit: right only if its digits are fed back
    const counter = (t: ct.Tensor) => {
      const v = t.dataSync();
      const n = t.shape[0]!;
      const out = new Float32Array(n * INPUT * VOCAB);
      for (let r = 0; r < n; r++)
        for (let p = 0; p < INPUT; p++) {
          const tok = v[r * INPUT + p]!;
          out[(r * INPUT + p) * VOCAB + (tok === 11 ? 3 : (tok + 1) % 10)] = 1;
        }
      return ct.fromTypedArray(out, [n, INPUT, VOCAB], 'f32');
    };
    expect(await greedyAnswers(counter, [[1, 2]])).toEqual([6543]); // digits 3, 4, 5, 6, units first
  });

  it('a few jitted training steps lower the loss (one traced program, no fallback to op by op)', async () => {
    const r = await trainAddition({ steps: 60, batch: 32, dim: 16, lr: 1e-2, warmupSteps: 10, heldOut: 20, logEvery: 20 });
    expect(r.losses.length).toBe(3);
    expect(r.losses[2]!).toBeLessThan(r.losses[0]! - 0.2);
    expect(r.traces).toBe(1);
    expect(r.fusedKernels).toBeGreaterThan(60); // the compiled program's fused kernels ran at every step
    expect(r.total).toBe(20);
    expect(r.correct).toBeGreaterThanOrEqual(0);
  });
});

describe('cotangent train --model transformer-addition', () => {
  it('trains, prints the accuracy line last, and refuses flags it does not take', async () => {
    const r = await cli('train', '--model', 'transformer-addition', '--steps', '2', '--batch', '4', '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/step 2\/2: loss/);
    const lines = r.out.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^exact-match accuracy \d+\.\d% \(\d+\/1000\)$/);
    const bad = await cli('train', '--model', 'transformer-addition', '--epochs', '3');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/transformer-addition makes its own data and takes no --epochs/);
    const steps = await cli('train', '--model', 'mlp', '--steps', '3');
    expect(steps.err).toMatch(/--steps is for --model transformer-addition/);
  });
});

describe('specs of the new layers', () => {
  it('fromSpec rebuilds the transformer and the normalisation layers (same outputs with the same parameters)', () => {
    const model = nn.decoderTransformer({ vocab: 7, maxLength: 6, dim: 8, heads: 2, layers: 1 });
    const rebuilt = nn.fromSpec(JSON.parse(JSON.stringify(model.spec)));
    expect(rebuilt.spec).toEqual(model.spec);
    const { params } = model.init(nn.random.key(5), [-1, 4]);
    const x = ids([1, 2, 3, 4, 0, 6, 5, 1], [2, 4], 'wasm');
    expect(values(rebuilt.apply(params, x) as ct.Tensor)).toEqual(values(model.apply(params, x) as ct.Tensor));
    const norms = nn.serial(nn.batchNorm({ momentum: 0.2, axis: 1 }), nn.layerNorm({ axis: [1, 2], eps: 1e-3 }));
    const again = nn.fromSpec(JSON.parse(JSON.stringify(norms.spec)));
    expect(again.spec).toEqual(norms.spec);
    const p = norms.init(nn.random.key(0), [-1, 3, 2]).params;
    const y = ct.tensor(
      Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      { shape: [2, 3, 2] },
    );
    expect(values(again.apply(p, y, { training: true }) as ct.Tensor)).toEqual(values(norms.apply(p, y, { training: true })));
  });

  it('checkSpec counts the parameters of the new layers and refuses bad fields', () => {
    const model = nn.serial(
      nn.embedding(7, 8),
      nn.positionEmbedding(6),
      nn.multiHeadAttention(2, 8, { causal: true }),
      nn.batchNorm(),
      nn.layerNorm(),
      nn.gelu,
      nn.dense(7),
    );
    const n = nn.paramCount(model.init(nn.random.key(0), [-1, 5]).params);
    expect(() => nn.checkSpec(model.spec, { inputShape: [-1, 5] })).not.toThrow();
    const limit = nn.SPEC_LIMITS.params;
    expect(n).toBe(7 * 8 + 6 * 8 + 3 * 8 * 9 + 8 * 9 + 4 * 8 + 2 * 8 + 7 * 9);
    expect(n).toBeLessThan(limit);
    // 2^20 × 2^9 table entries are above the limit of 2^28 parameters
    expect(() => nn.checkSpec(nn.embedding(2 ** 20, 512).spec, { inputShape: [-1, 4] })).toThrow(/more than 268435456 parameters/);
    expect(() => nn.checkSpec(nn.serial(nn.dense(8), nn.multiHeadAttention(1, 16384)).spec, { inputShape: [-1, 4, 8] })).toThrow(
      /more than 268435456 parameters/,
    );
    expect(() => nn.checkSpec({ type: 'multiHeadAttention', heads: 3, dim: 8 })).toThrow(/dim 8 must be a multiple of heads 3/);
    expect(() => nn.checkSpec({ type: 'batchNorm', momentum: 2 })).toThrow(/momentum: must be a number in \[0, 1\]/);
    expect(() => nn.checkSpec({ type: 'embedding', vocab: 0, dim: 2 })).toThrow(/vocab 0 is below 1/);
  });
});
