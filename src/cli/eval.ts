/**
 * `cotangent eval`: restore a checkpoint's architecture and parameters, then
 * print the accuracy and the confusion matrix on a data set.
 */
import * as E from 'fp-ts/lib/Either.js';
import { init, shutdown } from '../core/init.js';
import { softmaxCrossEntropy } from '../nn/losses.js';
import { confusionMatrix, evaluate } from '../nn/train.js';
import { readCheckpoint, restoreModel } from '../io/checkpoint.js';
import { DataError } from '../io/errors.js';
import { BACKENDS, DEFAULT_BACKEND, decodeFlags, enumFlag, intFlag, stringFlag, UsageError } from './args.js';
import { loadEvalData } from './data.js';
import type { CliIO } from './io.js';

export const evalFlags = {
  checkpoint: stringFlag('checkpoint'),
  data: stringFlag('data'),
  header: enumFlag('header', ['yes', 'no'] as const),
  backend: enumFlag('backend', BACKENDS),
  batch: intFlag('batch', 1),
};

export function formatConfusion(m: readonly (readonly number[])[], classes: readonly string[]): string {
  const labels = m.map((_, i) => (classes[i] ?? String(i)).slice(0, 11));
  const w = Math.max(5, ...m.flat().map((v) => String(v).length + 1));
  const lw = Math.max(...labels.map((l) => l.length), 'true\\pred'.length);
  const head = `${'true\\pred'.padEnd(lw)} ${m.map((_, j) => String(j).padStart(w)).join('')}`;
  const rows = m.map((r, i) => `${labels[i]!.padEnd(lw)} ${r.map((v) => String(v).padStart(w)).join('')}`);
  return `${[head, ...rows].join('\n')}\n`;
}

export async function evalCommand(flags: Readonly<Record<string, string | true>>, io: CliIO): Promise<number> {
  const f = decodeFlags('eval', evalFlags, flags);
  if (!f.checkpoint) throw new UsageError(`eval needs --checkpoint PATH (see cotangent eval --help)`);
  const ck = readCheckpoint(f.checkpoint);
  if (E.isLeft(ck)) throw ck.left;
  const { name, data } = loadEvalData(f.data ?? 'digits', f.header);
  const backend = f.backend ?? DEFAULT_BACKEND;
  await init({ backend });
  try {
    const restored = restoreModel(ck.right);
    if (E.isLeft(restored)) throw restored.left;
    const { model, params, inputShape, outputShape } = restored.right;
    const features = data.exampleShape.reduce((a, b) => a * b, 1);
    const want = inputShape.slice(1).reduce((a, b) => a * b, 1);
    if (features !== want)
      throw new UsageError(`--data ${name} has ${features} features per example but the checkpoint's model expects ${want}`);
    const modelClasses = outputShape.length === 2 && typeof outputShape[1] === 'number' ? outputShape[1] : undefined;
    if (modelClasses === undefined)
      throw new UsageError(`the checkpoint's model gives outputs of shape ${JSON.stringify(outputShape)}, not [batch, classes]`);
    const bad = data.y.findIndex((v) => !(v >= 0 && v < modelClasses));
    if (bad >= 0)
      throw new DataError(
        name,
        `label ${data.y[bad]} of example ${bad} is outside the checkpoint model's ${modelClasses} classes [0, ${modelClasses})`,
      );
    const ev = await evaluate(
      model,
      params,
      { ...data, exampleShape: inputShape.slice(1) },
      { loss: softmaxCrossEntropy, ...(f.batch ? { batchSize: f.batch } : {}) },
    );
    const classes = ck.right.meta.classes ?? [];
    const n = modelClasses;
    const correct = Math.round(ev.accuracy * data.y.length);
    io.out(
      `checkpoint ${ck.right.file}\ndata ${name}: ${data.y.length} examples\naccuracy ${(100 * ev.accuracy).toFixed(2)}% ` +
        `(${correct}/${data.y.length}), loss ${ev.loss.toFixed(4)}\n\nconfusion matrix (rows: true class, columns: predicted)\n`,
    );
    io.out(formatConfusion(confusionMatrix(data.y, ev.predictions, n), classes));
    return 0;
  } finally {
    if (backend === 'webgpu') await shutdown(); // releases the device so the process can exit
  }
}
