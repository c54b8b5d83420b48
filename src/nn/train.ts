/**
 * Training: `trainStep(model, loss, optimizer)` is a pure step built from
 * `valueAndGrad` and run inside a scope (only the new parameters, optimiser
 * state and metrics survive); `fit` loops over shuffled mini-batches with
 * per-epoch metrics, callbacks, early stopping and held-out evaluation;
 * `evaluate` gives loss, accuracy and predictions. Everything random comes
 * from the key, so the same seed gives the same trained weights.
 */
import type { Tensor } from '../tensor/Tensor.js';
import type { TypedArray } from '../tensor/dtype.js';
import { ValueError } from '../tensor/ShapeError.js';
import { donate, keep, releaseUnkept, scope } from '../core/memory.js';
import { flatten, treeLeaves, unflatten } from '../core/pytree.js';
import { valueAndGrad } from '../transforms/vjp.js';
import { jit } from '../jit/jit.js';
import { backendOf, full } from '../ops/creation.js';
import { equal } from '../ops/elementwise.js';
import { argmax, sum } from '../ops/reduce.js';
import { cast } from '../ops/structural.js';
import type { Layer } from './layer.js';
import { applyWithState } from './state.js';
import type { Loss } from './losses.js';
import { optimizerInternals, type Optimizer, type OptState } from './optim.js';
import { foldIn, KeyDrawn, permutationArray, probeKey, type Key } from './random.js';
import { batchTensors, checkCompatible, checkDataset, datasetSize, type Dataset } from './dataset.js';

/** A model whose apply maps one tensor to one tensor of logits. */
// a model is any layer with parameters P: its input and output types are wildcards (as AnyLayer)
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Model<P> = Layer<any, any, P>;

/** What `trainStep` returns: the new parameters and optimiser state, the batch loss and the number classified correctly. */
export interface StepResult<P> {
  readonly params: P;
  readonly state: OptState;
  /** The mini-batch loss (scalar) before the update. */
  readonly loss: Tensor;
  /** Number of correctly classified examples in the batch (scalar, f32). */
  readonly correct: Tensor;
}

/** Number of rows whose argmax equals the label (f32 scalar; no derivative). */
export const countCorrect = (logits: Tensor, labels: Tensor): Tensor => sum(cast(equal(argmax(logits, -1), labels), 'f32'));

/** Options of `trainStep`. */
export interface TrainStepOptions {
  /**
   * Take ownership of (donate) the parameters and optimiser state passed in
   * and free them once the new ones exist (default true), together with the
   * metrics returned with that state. With `false` the caller owns them.
   */
  readonly donate?: boolean;
  /**
   * Compile the step with `jit` (default true): the loss, its gradient and the
   * optimiser update run as one optimised, fused program, traced once per
   * batch shape. `false` runs op by op. A model that reads its PRNG key while
   * training (dropout) runs op by op with a key, and so does an optimiser not
   * built by this library's constructors or by `asOptimizer` over its
   * gradient transformations (a hand-written transformation runs op by op).
   */
  readonly jit?: boolean;
}

/** The key a jitted step is traced with: a model that draws random bits from it (dropout) runs op by op instead. */
const PROBE_KEY: Key = probeKey();

/** A step's metrics, by the optimiser state returned with them: freed when that state is donated. */
const metricsOf = new WeakMap<object, readonly Tensor[]>();

const DONATED =
  'use the returned params and state (keep an old value by copying it before the step, or pass { donate: false } to trainStep)';

/**
 * A pure training step: loss and gradients of the mini-batch at `params`, then
 * one optimiser update. Runs in a scope: everything but the returned tensors
 * is freed. `key` drives dropout (training mode). Layer state that the model
 * reports in training mode (batchNorm's running statistics, see
 * `applyWithState`) is carried into the returned parameters, not descended.
 *
 * Ownership (donation, as in JAX): the step takes the `params` and `state`
 * passed in and frees them once the new ones exist, so a plain synchronous
 * loop `({ params, state } = step(params, state, x, y))` holds memory flat
 * with no scope, dispose or await. Using a donated tensor is an error
 * ("was donated to trainStep and freed"). The returned `loss` and `correct`
 * live until the returned `state` is itself donated (by the next step):
 * read them before then, or keep() them. `x`, `y` and `key` stay the caller's.
 *
 * Compiled with `jit` by default (see TrainStepOptions.jit): the compiled
 * program holds a few constants (scalars, folded values) for as long as the
 * step function lives; `step.release()` frees them (fit does).
 */
export function trainStep<P>(model: Model<P>, loss: Loss, optimizer: Optimizer, opts: TrainStepOptions = {}) {
  const donating = opts.donate !== false;
  const inner = optimizerInternals(optimizer);
  /** Loss, metrics and gradients of the batch. */
  // layer state (batchNorm's running statistics) reported in training mode replaces those leaves after the update
  const gradients = (params: P, x: Tensor, y: Tensor, key: Key | undefined): [[Tensor, Tensor], P, (updated: P) => P] => {
    const ctx = key ? { key, training: true } : { training: true };
    let changed: number[] = [];
    const objective = (p: P): [Tensor, [Tensor, Tensor[]]] => {
      const { output, params: next } = applyWithState(model, p, x as never, ctx);
      const logits = output as Tensor;
      const before = treeLeaves(p);
      const after = treeLeaves(next);
      changed = next === p ? [] : after.flatMap((l, i) => (l !== before[i] ? [i] : []));
      return [loss(logits, y), [countCorrect(logits, y), changed.map((i) => after[i] as Tensor)]];
    };
    const [[value, [correct, states]], grads] = valueAndGrad(objective, { hasAux: true })(params) as [[Tensor, [Tensor, Tensor[]]], P];
    const withState = (updated: P): P => {
      if (changed.length === 0) return updated;
      const { leaves, def } = flatten(updated);
      changed.forEach((i, k) => {
        leaves[i] = states[k]!;
      });
      return unflatten(def, leaves) as P;
    };
    return [[value, correct], grads, withState];
  };
  // the whole step as one program; the key is a static probe key: drawing bits from it (see KeyDrawn) means op by op
  let compiled =
    opts.jit !== false && inner
      ? jit(
          (params: P, slots: OptState['slots'], x: Tensor, y: Tensor, h: Tensor[], key: Key | undefined) => {
            const [[value, correct], grads, withState] = gradients(params, x, y, key);
            const u = inner.apply(grads, slots, params, h);
            return { params: withState(u.params), slots: u.slots, loss: value, correct };
          },
          { staticArgnums: [5] },
        )
      : null;
  const eager = (params: P, state: OptState, x: Tensor, y: Tensor, key?: Key) => {
    const [[value, correct], grads, withState] = gradients(params, x, y, key);
    const u = optimizer.update(grads, state, params, { donate: false });
    return { params: withState(u.params), state: u.state, loss: value, correct };
  };
  const jitted = (params: P, state: OptState, x: Tensor, y: Tensor, key?: Key) => {
    const like = treeLeaves(params).find((l): l is Tensor => typeof l !== 'number');
    const h = inner!
      .hyper(state)
      .map((v) => full([], v, { dtype: like?.dtype ?? 'f32', ...(like ? { backend: backendOf(like).name } : {}) }));
    const out = compiled!(params, state.slots, x, y, h, key ? PROBE_KEY : undefined);
    return { params: out.params, state: Object.freeze({ step: state.step + 1, slots: out.slots }), loss: out.loss, correct: out.correct };
  };
  const stepFn = (params: P, state: OptState, x: Tensor, y: Tensor, key?: Key): StepResult<P> => {
    const r = scope(() => {
      if (compiled) {
        try {
          return jitted(params, state, x, y, key);
        } catch (e) {
          if (!(e instanceof KeyDrawn)) throw e;
          compiled = null; // the model is random in training: op by op from now on
        }
      }
      return eager(params, state, x, y, key);
    });
    if (donating) {
      donate('trainStep', [params, state], [r.params, r.state], DONATED, [x, y, key]);
      const old = metricsOf.get(state);
      if (old)
        releaseUnkept(
          old,
          "was freed by the next trainStep (a step's loss and correct live until the state returned with them is passed to the " +
            'next step; read them first or keep() them)',
        );
      metricsOf.set(r.state, [r.loss, r.correct]);
    }
    return r;
  };
  return Object.assign(stepFn, {
    /** Free the compiled step's constants (its programs are traced again on the next call). */
    release: (): void => {
      compiled?.clearCache();
    },
  });
}

/** Mean loss and accuracy over a data set. */
export interface Metrics {
  readonly loss: number;
  readonly accuracy: number;
}

/** What `evaluate` returns: the metrics and the predicted class of every example. */
export interface EvalResult extends Metrics {
  /** Predicted class of every example, in order. */
  readonly predictions: Int32Array;
}

/** Loss, accuracy and predictions of `params` on a data set (inference mode, in batches). */
export async function evaluate<P>(
  model: Model<P>,
  params: P,
  data: Dataset,
  opts: { loss: Loss; batchSize?: number },
): Promise<EvalResult> {
  const n = datasetSize(data);
  if (n === 0) throw new ValueError('evaluate', `data set ${data.name} is empty`);
  const bs = opts.batchSize ?? 500;
  const predictions = new Int32Array(n);
  let lossSum = 0;
  let correct = 0;
  for (let s = 0; s < n; s += bs) {
    const c = Math.min(bs, n - s);
    const [l, pred] = scope(() => {
      const [x, y] = batchTensors(data, s, c);
      const logits = model.apply(params, x as never, { training: false }) as Tensor;
      return [opts.loss(logits, y), argmax(logits, -1)] as const;
    });
    const [lv, pv] = await Promise.all([l.data(), pred.data()]);
    l.dispose();
    pred.dispose();
    lossSum += lv[0]! * c;
    predictions.set(pv as Int32Array, s);
    for (let i = 0; i < c; i++) if (pv[i] === data.y[s + i]) correct++;
  }
  return { loss: lossSum / n, accuracy: correct / n, predictions };
}

/** counts[true][predicted] */
export function confusionMatrix(labels: Int32Array, predictions: Int32Array, numClasses: number): number[][] {
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  labels.forEach((t, i) => {
    m[t]![predictions[i]!]!++;
  });
  return m;
}

/** What `fit` reports after each step (to `onStep`). */
export interface StepInfo {
  readonly epoch: number;
  readonly step: number;
  readonly stepsPerEpoch: number;
  readonly loss: number;
  /** Milliseconds since the epoch began. */
  readonly epochMs: number;
}

/** What `fit` reports after each epoch (to `onEpoch`): training and validation metrics and the epoch's time. */
export interface EpochInfo {
  readonly epoch: number;
  readonly train: Metrics;
  readonly validation?: Metrics;
  readonly epochMs: number;
}

/** Options of `fit`: loss, optimiser, epochs, batch size, key, validation data, callbacks and early stopping. */
export interface FitOptions<P> {
  readonly loss: Loss;
  readonly optimizer: Optimizer;
  readonly epochs: number;
  readonly batchSize: number;
  /** Drives shuffling and dropout. */
  readonly key: Key;
  /** Held-out data evaluated after every epoch. */
  readonly validation?: Dataset;
  /** Continue from this optimiser state (default: optimizer.init(params)). */
  readonly optState?: OptState;
  /** Compile each training step with `jit` (default true; see TrainStepOptions.jit). */
  readonly jit?: boolean;
  readonly onStep?: (info: StepInfo) => void;
  /** Return 'stop' to end training after this epoch. */
  // a callback that returns nothing (declared `void`) must stay assignable; undefined would reject it
  // biome-ignore lint/suspicious/noConfusingVoidType: see above
  readonly onEpoch?: (info: EpochInfo, params: P) => void | 'stop' | Promise<void | 'stop'>;
  /** Stop when the validation loss has not improved by `minDelta` for `patience` epochs; the best parameters are returned. */
  readonly earlyStopping?: { readonly patience: number; readonly minDelta?: number };
}

/** What `fit` returns: the trained parameters and optimiser state, the history and how it stopped. */
export interface FitResult<P> {
  readonly params: P;
  readonly optState: OptState;
  readonly history: readonly EpochInfo[];
  readonly stoppedEarly: boolean;
  /** The epoch whose parameters were returned (the best one with early stopping). */
  readonly bestEpoch: number;
}

/** Free the leaves of `old` that are not part of `now`. */
function release(old: unknown, now: unknown): void {
  const alive = new Set(treeLeaves(now));
  for (const l of treeLeaves(old)) if (typeof l !== 'number' && !alive.has(l)) l.dispose();
}

/**
 * Train with mini-batch gradient descent. Parameters (and an optimiser
 * state) passed in are left untouched (they are not freed); intermediate
 * parameters and states are freed as training goes, so memory stays flat.
 * A non-finite training loss stops training with an error naming the epoch
 * and the step (read one step late, so the error comes after the next step
 * has been recorded; it still names the step whose loss was non-finite).
 */
export async function fit<P>(model: Model<P>, params: P, train: Dataset, opts: FitOptions<P>): Promise<FitResult<P>> {
  checkDataset(train);
  const n = datasetSize(train);
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1))
    throw new ValueError('fit', `epochs must be a positive integer, got ${opts.epochs}`);
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
    throw new ValueError('fit', `batchSize must be a positive integer, got ${opts.batchSize}`);
  if (n === 0) throw new ValueError('fit', `training set ${train.name} is empty`);
  if (opts.validation) checkCompatible(train, opts.validation); // before the first step, not after the first epoch
  // fit frees its own intermediate parameters and states (the caller's stay alive)
  const step = trainStep(model, opts.loss, opts.optimizer, { donate: false, ...(opts.jit === false ? { jit: false } : {}) });
  try {
    return await fitWith(step, model, params, train, opts, n);
  } finally {
    step.release(); // the compiled step's constants
  }
}

async function fitWith<P>(
  step: ReturnType<typeof trainStep<P>>,
  model: Model<P>,
  params: P,
  train: Dataset,
  opts: FitOptions<P>,
  n: number,
): Promise<FitResult<P>> {
  const stepsPerEpoch = Math.ceil(n / opts.batchSize);
  const initial = params;
  let p = params;
  const initialState = opts.optState;
  let state = opts.optState ?? keep(opts.optimizer.init(params));
  const history: EpochInfo[] = [];
  let best = { loss: Infinity, epoch: 0, params: p };
  let waited = 0;
  let stoppedEarly = false;
  const isMine = (x: P): boolean => x !== initial && x !== best.params;
  let pendingOut: { loss: Tensor; correct: Tensor } | null = null;
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const t0 = performance.now();
      const ekey = foldIn(opts.key, epoch);
      const order = permutationArray(foldIn(ekey, 0), n);
      let lossSum = 0;
      let correct = 0;
      // Reads lag one step behind: step s's loss is requested (which submits its
      // work) and awaited only after step s + 1 has been recorded, so recording
      // on the host overlaps the device's execution (WebGPU); same numbers.
      let pending: { loss: Tensor; correct: Tensor; read: Promise<TypedArray[]>; count: number; step: number } | null = null;
      const settle = async (): Promise<void> => {
        if (!pending) return;
        const { loss, correct: c, read, count, step: s } = pending;
        pending = null;
        const [lv, cv] = await read;
        loss.dispose();
        c.dispose();
        if (!Number.isFinite(lv![0]!)) {
          throw new ValueError(
            'fit',
            `the training loss is ${lv![0]} at epoch ${epoch}, step ${s} of ${stepsPerEpoch} (0-based, as in onStep; batch of ` +
              `${count} examples); training stopped. Check the data for NaN or Inf values, or lower the learning rate`,
          );
        }
        lossSum += lv![0]! * count;
        correct += cv![0]!;
        opts.onStep?.({ epoch, step: s, stepsPerEpoch, loss: lv![0]!, epochMs: performance.now() - t0 });
      };
      for (let s = 0; s < stepsPerEpoch; s++) {
        const start = s * opts.batchSize;
        const count = Math.min(opts.batchSize, n - start);
        const [x, y] = batchTensors(train, start, count, order);
        const r = step(p, state, x, y, foldIn(ekey, s + 1));
        x.dispose();
        y.dispose();
        if (isMine(p)) release(p, r.params);
        if (state !== initialState) release(state, r.state);
        p = keep(r.params);
        state = keep(r.state);
        pendingOut = r;
        const read = Promise.all([r.loss.data(), r.correct.data()]);
        read.catch(() => undefined); // handled when settled (next step); avoids an unhandled-rejection crash meanwhile
        await settle();
        pending = { loss: r.loss, correct: r.correct, read, count, step: s };
      }
      await settle();
      pendingOut = null;
      const trainM: Metrics = { loss: lossSum / n, accuracy: correct / n };
      const validation = opts.validation ? await evaluate(model, p, opts.validation, { loss: opts.loss }) : undefined;
      const info: EpochInfo = {
        epoch,
        train: trainM,
        ...(validation ? { validation: { loss: validation.loss, accuracy: validation.accuracy } } : {}),
        epochMs: performance.now() - t0,
      };
      history.push(info);
      const verdict = await opts.onEpoch?.(info, p);
      if (opts.earlyStopping && validation) {
        if (validation.loss < best.loss - (opts.earlyStopping.minDelta ?? 0)) {
          if (best.params !== initial && best.params !== p) release(best.params, p);
          best = { loss: validation.loss, epoch, params: p };
          waited = 0;
        } else if (++waited >= opts.earlyStopping.patience) {
          stoppedEarly = true;
        }
      } else best = { ...best, loss: validation?.loss ?? trainM.loss, epoch };
      if (stoppedEarly || verdict === 'stop') {
        stoppedEarly = true;
        break;
      }
    }
  } catch (e) {
    // free what fit owns (the caller's parameters and state stay alive)
    if (pendingOut) {
      pendingOut.loss.dispose();
      pendingOut.correct.dispose();
    }
    if (isMine(p)) release(p, initial);
    if (best.params !== initial && best.params !== p) release(best.params, initial);
    if (state !== initialState) release(state, initialState ?? null);
    throw e;
  }
  if (opts.earlyStopping && best.params !== p) {
    if (p !== initial) release(p, best.params);
    p = best.params;
  }
  return { params: p, optState: state, history, stoppedEarly, bestEpoch: best.epoch };
}
