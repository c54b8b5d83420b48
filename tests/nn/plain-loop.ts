/**
 * The training loop people write, for the memory tests of each backend:
 * `({ params, state } = step(params, state, x, y))` with no scope, dispose or
 * await, on a small MLP (4 → 16 → 3, adam 0.01) and a fixed batch of 8,
 * created on the default backend.
 */
import { expect } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';

/** The model, its initial parameters and a batch (x: 8×4, y: 8 i32 labels) on the default backend. */
export function plainLoopSetup() {
  const model = nn.serial(nn.dense(16), nn.relu, nn.dense(3));
  const { params } = model.init(nn.random.key(0), [-1, 4]);
  const x = ct.tensor(
    Array.from({ length: 8 * 4 }, (_, i) => Math.sin(i * 1.3)),
    { shape: [8, 4] },
  );
  const y = ct.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'i32' });
  return { model, params, x, y };
}

type Result = ReturnType<ReturnType<typeof nn.trainStep>>;

export interface PlainLoopOptions<S> {
  /** Steps after the warm-up ones. */
  readonly steps: number;
  /** Steps run before counting starts (default 0). */
  readonly warmup?: number;
  /** Sample after every `every`-th counted step. */
  readonly every: number;
  readonly sample: () => S;
  /** Called with the first step's result (its metrics are freed by the next step). */
  readonly onFirst: (r: Result) => void;
  /** Called with the last step's result. */
  readonly onLast: (r: Result) => void;
}

/**
 * Runs warmup + steps plain trainStep calls of the plainLoopSetup() model (adam 0.01, softmax
 * cross-entropy; the step jitted, as by default); returns `sample()` taken before the first step, after every
 * `every`-th counted step, and after the compiled step was released.
 */
export function runPlainLoop<S>({ steps, warmup = 0, every, sample, onFirst, onLast }: PlainLoopOptions<S>): {
  before: S;
  samples: S[];
  /** Sampled after the step's compiled program was released (its constants freed). */
  released: S;
} {
  const { model, params: p0, x, y } = plainLoopSetup();
  const opt = nn.adam(0.01);
  const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt);
  let params = p0;
  let state = opt.init(params);
  const before = sample();
  const samples: S[] = [];
  const total = warmup + steps;
  for (let i = 0; i < total; i++) {
    const r = step(params, state, x, y);
    ({ params, state } = r);
    if (i === 0) onFirst(r);
    if (i === total - 1) onLast(r);
    const counted = i + 1 - warmup;
    if (counted > 0 && counted % every === 0) samples.push(sample());
  }
  step.release();
  return { before, samples, released: sample() };
}

/** `steps / every` samples, all equal to the first. */
export function expectFlat<S>(samples: readonly S[], steps: number, every: number): void {
  expect(samples).toHaveLength(steps / every);
  for (const s of samples) expect(s).toEqual(samples[0]);
}
