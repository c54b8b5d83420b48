/**
 * `cotangent train`: load data, build the model, fit with a progress bar,
 * evaluate on the test split after every epoch, then save the checkpoint,
 * the history and an SVG plot of the loss/accuracy curves in one atomic
 * step. The data (train/test compatibility) and the output folder (created,
 * written and cleaned) are checked before training starts.
 */
import { join } from 'node:path';
import { init, shutdown } from '../core/init.js';
import { adagrad, adam, adamw, cosineDecay, lion, momentum, rmsprop, sgd, type Optimizer } from '../nn/optim.js';
import { softmaxCrossEntropy } from '../nn/losses.js';
import { key, split, type Key } from '../nn/random.js';
import { evaluate, fit } from '../nn/train.js';
import { paramCount } from '../nn/tree.js';
import { saveCheckpoint } from '../io/checkpoint.js';
import { checkWritableDir } from '../io/atomic.js';
import { BACKENDS, DEFAULT_BACKEND, decodeFlags, enumFlag, intFlag, positiveFlag, stringFlag, switchFlag, UsageError } from './args.js';
import { loadData } from './data.js';
import { buildModel } from './models.js';
import { additionCommand } from './addition.js';
import type { CliIO } from './io.js';
import { ProgressBar, progressLine } from './progress.js';
import { trainingPlot } from './plot.js';

export const trainFlags = {
  data: stringFlag('data'),
  header: enumFlag('header', ['yes', 'no'] as const),
  model: stringFlag('model'),
  epochs: intFlag('epochs', 1),
  batch: intFlag('batch', 1),
  lr: positiveFlag('lr'),
  optimizer: enumFlag('optimizer', ['sgd', 'momentum', 'adam', 'adamw', 'rmsprop', 'adagrad', 'lion'] as const),
  backend: enumFlag('backend', BACKENDS),
  'no-jit': switchFlag('no-jit'),
  seed: intFlag('seed', 0),
  steps: intFlag('steps', 1),
  out: stringFlag('out'),
};

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

export async function trainCommand(flags: Readonly<Record<string, string | true>>, io: CliIO): Promise<number> {
  const f = decodeFlags('train', trainFlags, flags);
  if (f.model === 'transformer-addition') {
    const extra = (['data', 'header', 'epochs', 'optimizer', 'out'] as const).filter((k) => f[k] !== undefined);
    if (extra.length)
      throw new UsageError(`--model transformer-addition makes its own data and takes no ${extra.map((k) => `--${k}`).join(', ')}`);
    return additionCommand(f, io);
  }
  if (f.steps !== undefined) throw new UsageError('--steps is for --model transformer-addition (other models train for --epochs)');
  const backend = f.backend ?? DEFAULT_BACKEND;
  const t0 = performance.now();
  const data = loadData(f.data ?? 'digits', f.header);
  const small = data.name === 'digits';
  const { name: modelName, model, inputShape } = buildModel(f.model ?? 'mlp', data);
  const epochs = f.epochs ?? (small ? 30 : 10);
  const batch = f.batch ?? 64;
  const optName = f.optimizer ?? 'adam';
  const adamLr = small ? 4e-3 : 1e-3;
  const lr = f.lr ?? { adam: adamLr, adamw: adamLr, rmsprop: adamLr, adagrad: 0.1, lion: adamLr / 4, momentum: 0.05, sgd: 0.1 }[optName];
  const seed = f.seed ?? 0;
  const outDir = f.out ?? join('out', 'run');
  const totalSteps = epochs * Math.ceil(data.train.y.length / batch);
  const schedule = cosineDecay(lr, totalSteps);
  const optimizers: Record<typeof optName, () => Optimizer> = {
    adam: () => adam(schedule),
    adamw: () => adamw(schedule),
    rmsprop: () => rmsprop(schedule),
    adagrad: () => adagrad(schedule),
    lion: () => lion(schedule),
    momentum: () => momentum(schedule, { momentum: 0.9 }),
    sgd: () => sgd(schedule),
  };
  const optimizer = optimizers[optName]();
  checkWritableDir(outDir); // before any training: a run must not end unable to save
  await init({ backend });
  try {
    const [initKey, fitKey] = split(key(seed), 2) as [Key, Key];
    const { params } = model.init(initKey, inputShape);
    io.err(`data ${data.name}: ${data.train.y.length} train / ${data.test.y.length} test examples, ${data.classes.length} classes\n`);
    io.err(
      `model ${modelName} (${paramCount(params)} parameters), ${optName} lr ${lr} (cosine decay), batch ${batch}, ${epochs} ` +
        `epochs, backend ${backend}${f['no-jit'] ? ' (no jit)' : ''}, seed ${seed}\n`,
    );
    const bar = new ProgressBar({ isTTY: io.errIsTTY, write: io.err });
    const tFit = performance.now();
    let lastLoss = 0;
    // biome-ignore lint/suspicious/noFocusedTests: this is nn.fit, the training loop, not a focused test
    const result = await fit(model, params, data.train, {
      loss: softmaxCrossEntropy,
      optimizer,
      epochs,
      batchSize: batch,
      key: fitKey,
      validation: data.test,
      ...(f['no-jit'] ? { jit: false } : {}),
      onStep: (s) => {
        lastLoss = s.loss;
        bar.update(s.epoch + 1, epochs, s.step + 1, s.stepsPerEpoch, s.epochMs, s.loss);
      },
      onEpoch: (e) => {
        const steps = Math.ceil(data.train.y.length / batch);
        bar.done(
          progressLine(e.epoch + 1, epochs, steps, steps, e.epochMs, lastLoss),
          `  train loss ${e.train.loss.toFixed(4)} acc ${pct(e.train.accuracy)} | test loss ${e.validation!.loss.toFixed(4)} acc ` +
            `${pct(e.validation!.accuracy)} | ${(e.epochMs / 1000).toFixed(2)} s`,
        );
      },
    });
    const trainSeconds = (performance.now() - tFit) / 1000;
    const final = await evaluate(model, result.params, data.test, { loss: softmaxCrossEntropy });
    const correct = Math.round(final.accuracy * data.test.y.length);
    const h = result.history;
    const history = `${JSON.stringify({ data: data.name, model: modelName, epochs: h }, null, 2)}\n`;
    const plot = trainingPlot(
      `${modelName} on ${data.name} (${optName}, batch ${batch}, seed ${seed})`,
      [
        { name: 'train', color: '#1f77b4', values: h.map((e) => e.train.loss) },
        { name: 'test', color: '#d62728', values: h.map((e) => e.validation!.loss) },
      ],
      [
        { name: 'train', color: '#1f77b4', values: h.map((e) => 100 * e.train.accuracy) },
        { name: 'test', color: '#d62728', values: h.map((e) => 100 * e.validation!.accuracy) },
      ],
    );
    const file = await saveCheckpoint(outDir, {
      params: result.params,
      model,
      inputShape,
      optimizer,
      optState: result.optState,
      classes: data.classes,
      info: {
        data: data.name,
        model: modelName,
        epochs,
        batch,
        lr,
        optimizer: optName,
        seed,
        backend,
        testAccuracy: final.accuracy,
        trainSeconds,
      },
      files: { 'history.json': history, 'training.svg': plot }, // one commit step with the checkpoint
    });
    io.out(
      `test accuracy ${pct(final.accuracy)} (${correct}/${data.test.y.length}) after ${h.length} epochs; training ` +
        `${trainSeconds.toFixed(1)} s, total ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    io.out(`checkpoint ${file}\nplot ${join(outDir, 'training.svg')}\n`);
    return 0;
  } finally {
    if (backend === 'webgpu') await shutdown(); // releases the device so the process can exit
  }
}
