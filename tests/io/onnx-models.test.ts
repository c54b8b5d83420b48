/**
 * Whole models exported to ONNX and run in ONNX Runtime against cotangent on
 * the same inputs: the digits MLP (`cotangent train`'s default model) and CNN
 * on the digits test images, the decoder transformer of the addition example
 * on token ids (i32 input, embedding lookups, attention, layer norm), and the
 * GRU and LSTM models (a scan over the rows of each image: ONNX Scan), each
 * at several batch sizes through one exported file.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { cnn, mlp } from '../../src/cli/models.js';
import { decoderTransformer } from '../../src/nn/transformer.js';
import { gru, lstm } from '../../src/nn/recurrent.js';
import type { AnyLayer } from '../../src/nn/layer.js';
import { decodeOnnx, digitsSplit, exportOnnx } from '../../src/io/index.js';
import { runOnnx, expectSame, TOL, type Tol } from './onnxRuntime.js';

const { test } = digitsSplit();
/** The first n digits test images as [n, 64] f32 (on the default backend, as the parameters). */
const images = (n: number): ct.Tensor => ct.tensor(test.x.subarray(0, n * 64), { shape: [n, 64], dtype: 'f32' });

async function checkModel(model: AnyLayer, inputShape: number[], inputs: readonly ct.Tensor[], tol: Tol): Promise<void> {
  const { params } = model.init(ct.nn.random.key(0), inputShape);
  const apply = (x: ct.Tensor) => model.apply(params, x) as ct.Tensor;
  const bytes = await exportOnnx(apply, inputs[0]!, { names: { params } });
  const m = decodeOnnx(bytes);
  expect(m.graph.input[0]!.type.tensor_type.shape.dim[0]).toEqual({ dim_param: 'batch' });
  for (const x of inputs) {
    const want = apply(x);
    const got = (await runOnnx(bytes, { input: x })).output;
    expectSame(got, want, `batch ${x.shape[0]}`, tol);
    // the same predicted classes
    const predicted = ct.argmax(want, -1).dataSync();
    const ortPredicted = Array.from({ length: want.shape[0]! }, (_, i) => {
      const row = got!.data.slice(i * want.shape[1]!, (i + 1) * want.shape[1]!);
      return row.indexOf(Math.max(...row));
    });
    expect(ortPredicted).toEqual(Array.from(predicted));
  }
}

describe('exported models in ONNX Runtime', () => {
  it('the digits MLP 64-128-10 (the default model of cotangent train)', async () => {
    await checkModel(mlp([64, 128, 10]), [-1, 64], [images(32), images(1), images(359)], TOL.f32);
  });

  it('the digits CNN (2 × conv 3×3 same + relu + max-pool 2×2, dense)', async () => {
    await checkModel(cnn([8, 8, 1], 10), [-1, 64], [images(16), images(3)], { rtol: 1e-4, atol: 1e-5 });
  });

  it('the decoder transformer of the addition example (token ids in, logits per position out)', async () => {
    const model = decoderTransformer({ vocab: 12, maxLength: 11, dim: 32, heads: 4, layers: 2 });
    const { params } = model.init(ct.nn.random.key(0), [-1, 11]);
    const apply = (t: ct.Tensor) => model.apply(params, t) as ct.Tensor;
    const tokens = (n: number, seed: number) =>
      ct.tensor(
        Array.from({ length: n * 11 }, (_, i) => (i * 7 + seed * 5 + Math.floor(i / 3)) % 12),
        { shape: [n, 11], dtype: 'i32' },
      );
    const bytes = await exportOnnx(apply, tokens(4, 1), { names: { params } });
    for (const t of [tokens(4, 1), tokens(9, 2)]) {
      expectSame((await runOnnx(bytes, { input: t })).output, apply(t), `batch ${t.shape[0]}`, { rtol: 1e-4, atol: 1e-5 });
    }
  });

  it.each([
    ['gru', gru(16)],
    ['lstm', lstm(16)],
  ] as const)('the %s model of cotangent train (each image read row by row: an ONNX Scan)', async (_name, cell) => {
    await checkModel(ct.nn.serial(ct.nn.reshape([8, 8]), cell, ct.nn.dense(10)), [-1, 64], [images(8), images(3)], {
      rtol: 1e-4,
      atol: 1e-5,
    });
  });
});
