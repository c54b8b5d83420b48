/**
 * Optimisers: pure `{ init(params), update(grads, state, params) -> { params,
 * state } }` over whole parameter trees, each a chain of gradient
 * transformations (transforms.ts) turned into an optimiser by `asOptimizer`.
 * The state is a plain record (the step count as a number plus trees of
 * tensors), so it can be checkpointed and returned from a scope. `sgd`
 * descends (w ← w − lr·∇); `momentum` (heavy ball or Nesterov), `adam`,
 * `adamw` (decoupled weight decay), `rmsprop` (optionally centred, with
 * momentum), `adagrad` and `lion`. Learning rates are numbers or schedules
 * `step -> lr`; any optimiser can clip the gradients by their global norm
 * first. `update` takes ownership of the parameters and state it replaces
 * (donation) unless told not to.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { donate, scope } from '../core/memory.js';
import { checkLr, describeLr, type LearningRate } from './schedules.js';
import {
  addDecayedWeights,
  applyUpdates,
  chain,
  checkState,
  clipByGlobalNorm,
  scaleByAdam,
  scaleByLearningRate,
  scaleByLion,
  scaleByRms,
  scaleByRss,
  scaleByStddev,
  traceMomentum,
  transformInternals,
  type GradientTransformation,
  type Mask,
  type OptState,
} from './transforms.js';

export { constant, cosineDecay, describeLr, stepDecay, warmup, type LearningRate, type Schedule } from './schedules.js';
export {
  addDecayedWeights,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  masked,
  scale,
  scaleByAdam,
  scaleByLearningRate,
  scaleByLion,
  scaleByRms,
  scaleByRss,
  scaleByStddev,
  traceMomentum,
  transformation,
  type GradientTransformation,
  type Hyper,
  type Mask,
  type MaskTree,
  type OptState,
  type ScaleByAdamOptions,
  type ScaleByLionOptions,
  type ScaleByRmsOptions,
  type ScaleByRssOptions,
  type TraceOptions,
  type TransformDef,
  type TransformOutput,
} from './transforms.js';

/**
 * An optimiser: `init(params)` makes its state, `update(grads, state, params)` returns the new parameters and state.
 *
 * @example
 * ```ts
 * const opt = nn.adam(1e-3);
 * let state = opt.init(params);
 * const grads = ct.grad((p: typeof params) => nn.mse(model.apply(p, x), y))(params);
 * ({ params, state } = opt.update(grads, state, params)); // the old params and state are freed
 * ```
 */
export interface Optimizer {
  readonly name: string;
  /** Hyper-parameters as JSON (saved in checkpoints; schedules are described by name). */
  readonly config: Readonly<Record<string, unknown>>;
  init<P>(params: P): OptState;
  /**
   * One update. Takes ownership of (donates) `params` and `state`: their
   * tensors are freed once the new ones exist, and using one afterwards is
   * an error. Pass `{ donate: false }` to keep them alive (you then own them).
   */
  update<P>(grads: P, state: OptState, params: P, opts?: UpdateOptions): { params: P; state: OptState };
}

/** Options of `Optimizer.update`. */
export interface UpdateOptions {
  /** Free the replaced parameters and state (default true). */
  readonly donate?: boolean;
}

/** Options every optimiser takes. */
export interface CommonOptions {
  /** Rescale the gradients so their global norm is at most this. */
  readonly clipNorm?: number;
}

/** The internals `trainStep` needs to run an update inside `jit`. */
interface Internals {
  readonly hyper: (state: OptState) => number[];
  readonly apply: <P>(grads: P, slots: Readonly<Record<string, unknown>>, params: P, h: readonly (number | Tensor)[]) => UpdateParts<P>;
}

/** The new parameters and slots of one update. */
export interface UpdateParts<P> {
  readonly params: P;
  readonly slots: Readonly<Record<string, unknown>>;
}

const internals = new WeakMap<Optimizer, Internals>();

/** The host scalars of an optimiser's next update and its update on given slots (for a jitted training step). */
export function optimizerInternals(opt: Optimizer): Internals | undefined {
  return internals.get(opt);
}

/** Options of `asOptimizer`: the optimiser's name and the configuration saved in checkpoints. */
export interface AsOptimizerOptions {
  readonly name?: string;
  /** Hyper-parameters as JSON (default: the transformation's config). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/**
 * An optimiser from a gradient transformation whose updates are added to the
 * parameters (so the transformation ends with `scaleByLearningRate`, or
 * otherwise carries the sign of a descent). Its state is the
 * transformation's state. A transformation built by this library's
 * constructors runs inside a jitted training step; one written by hand runs
 * op by op.
 *
 * @example
 * ```ts
 * const opt = nn.asOptimizer(nn.chain(nn.scaleByAdam(), nn.addDecayedWeights(1e-4), nn.scaleByLearningRate(1e-3)));
 * ```
 */
export function asOptimizer(t: GradientTransformation, opts: AsOptimizerOptions = {}): Optimizer {
  const name = opts.name ?? t.name;
  const impl = transformInternals(t);
  const opt: Optimizer = Object.freeze({
    name,
    config: Object.freeze({ ...(opts.config ?? t.config), name }),
    init: <P>(params: P): OptState => t.init(params),
    update: <P>(grads: P, state: OptState, params: P, uo: UpdateOptions = {}) => {
      if (impl) checkState(name, state, impl.slotNames); // named after the optimiser, not its chain
      // intermediates are freed; only the new params and state leave the scope
      const next = scope(() => {
        const [u, s] = t.update(grads, state, params);
        return { params: applyUpdates(params, u), state: s };
      });
      if (uo.donate !== false)
        donate(
          `${name}.update`,
          [params, state],
          next,
          'use the returned params and state (pass { donate: false } to keep the old ones)',
          grads,
        );
      return next;
    },
  });
  if (impl)
    internals.set(opt, {
      hyper: (state) => {
        checkState(name, state, impl.slotNames);
        return impl.hyper(state.step);
      },
      apply: <P>(grads: P, slots: Readonly<Record<string, unknown>>, params: P, h: readonly (number | Tensor)[]): UpdateParts<P> => {
        const r = impl.apply(grads, slots, params, h);
        return { params: applyUpdates(params, r.updates as P), slots: Object.freeze({ ...r.slots }) };
      },
    });
  return opt;
}

/** A named optimiser: [clip?, ...middle, scaleByLearningRate(lr)] with its configuration as before composition. */
function named(
  name: string,
  lr: LearningRate,
  config: Record<string, unknown>,
  common: CommonOptions,
  middle: GradientTransformation[],
): Optimizer {
  checkLr(name, lr);
  const clip = common.clipNorm === undefined ? [] : [clipByGlobalNorm(common.clipNorm)];
  return asOptimizer(chain(...clip, ...middle, scaleByLearningRate(lr)), {
    name,
    config: { name, lr: describeLr(lr), ...config, ...(common.clipNorm ? { clipNorm: common.clipNorm } : {}) },
  });
}

/** Plain gradient descent: w ← w − lr·∇. */
export const sgd = (lr: LearningRate, common: CommonOptions = {}): Optimizer => named('sgd', lr, {}, common, []);

/** Options of `momentum`: μ (default 0.9) and Nesterov (default false). */
export interface MomentumOptions extends CommonOptions {
  readonly momentum?: number;
  readonly nesterov?: boolean;
}

/** v ← μv + ∇; w ← w − lr·v (Nesterov: w ← w − lr·(∇ + μv)). Slot `v`. */
export const momentum = (lr: LearningRate, opts: MomentumOptions = {}): Optimizer => {
  const mu = opts.momentum ?? 0.9;
  const nesterov = opts.nesterov ?? false;
  return named('momentum', lr, { momentum: mu, nesterov }, opts, [traceMomentum({ momentum: mu, nesterov })]);
};

/** Options of `adam` and `adamw`: β₁, β₂ and ε. */
export interface AdamOptions extends CommonOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/** Adam (Kingma & Ba) with bias correction: chain(scaleByAdam, scaleByLearningRate). Slots `m`, `v`. */
export const adam = (lr: LearningRate, opts: AdamOptions = {}): Optimizer => {
  const o = { beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, eps: opts.eps ?? 1e-8 };
  return named('adam', lr, o, opts, [scaleByAdam(o)]);
};

/** Options of `adamw`: Adam's, the decay (default 0.01) and which parameters decay (default all). */
export interface AdamWOptions extends AdamOptions {
  readonly weightDecay?: number;
  /** The parameters that decay (see `masked`), e.g. `p => ct.treeMap(p, w => w.ndim > 1)` for weights but not biases. */
  readonly mask?: Mask;
}

/**
 * AdamW: Adam with decoupled weight decay w ← w − lr·(m̂/(√v̂+ε) + wd·w):
 * chain(scaleByAdam, addDecayedWeights(wd, mask), scaleByLearningRate). Slots `m`, `v`.
 */
export const adamw = (lr: LearningRate, opts: AdamWOptions = {}): Optimizer => {
  const o = { beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, eps: opts.eps ?? 1e-8 };
  const wd = opts.weightDecay ?? 0.01;
  return named('adamw', lr, { ...o, weightDecay: wd, ...maskConfig(opts.mask) }, opts, [scaleByAdam(o), addDecayedWeights(wd, opts.mask)]);
};

const maskConfig = (mask: Mask | undefined) => (mask === undefined ? {} : { mask: typeof mask === 'function' ? 'function' : 'tree' });

/** Options of `rmsprop`: decay ρ (default 0.9), ε (1e-8), momentum (default none), centred (default false). */
export interface RmspropOptions extends CommonOptions {
  readonly decay?: number;
  readonly eps?: number;
  /** Heavy-ball momentum on the scaled gradient (slot `v`); none when omitted or 0. */
  readonly momentum?: number;
  /** Divide by the estimated standard deviation √(E[g²] − E[g]²) instead of √E[g²] (slot `mu`). */
  readonly centered?: boolean;
}

/**
 * RMSprop: ν ← ρν + (1−ρ)∇², w ← w − lr·∇/(√ν + ε); centred: ∇/(√(ν − μ²) + ε)
 * with μ ← ρμ + (1−ρ)∇; with momentum β: b ← βb + ∇/(…), w ← w − lr·b.
 * chain(scaleByRms | scaleByStddev, traceMomentum?, scaleByLearningRate). Slots `nu` (`mu`, `v`).
 */
export const rmsprop = (lr: LearningRate, opts: RmspropOptions = {}): Optimizer => {
  const o = { decay: opts.decay ?? 0.9, eps: opts.eps ?? 1e-8 };
  const mom = opts.momentum ?? 0;
  const centered = opts.centered ?? false;
  return named('rmsprop', lr, { ...o, momentum: mom, centered }, opts, [
    centered ? scaleByStddev(o) : scaleByRms(o),
    ...(mom > 0 ? [traceMomentum({ momentum: mom })] : []),
  ]);
};

/** Options of `adagrad`: the accumulator's initial value (default 0.1) and ε (1e-7). */
export interface AdagradOptions extends CommonOptions {
  readonly initialAccumulator?: number;
  readonly eps?: number;
}

/**
 * Adagrad: acc ← acc + ∇² (from `initialAccumulator`), w ← w − lr·∇/(√acc + ε).
 * chain(scaleByRss, scaleByLearningRate). Slot `acc`.
 */
export const adagrad = (lr: LearningRate, opts: AdagradOptions = {}): Optimizer => {
  const o = { initialAccumulator: opts.initialAccumulator ?? 0.1, eps: opts.eps ?? 1e-7 };
  return named('adagrad', lr, o, opts, [scaleByRss(o)]);
};

/** Options of `lion`: β₁ (default 0.9), β₂ (0.99), the decoupled weight decay (default 1e-3) and its mask. */
export interface LionOptions extends CommonOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly weightDecay?: number;
  /** The parameters that decay (see `masked`). */
  readonly mask?: Mask;
}

/**
 * Lion (Chen et al. 2023): w ← w − lr·(sign(β₁m + (1−β₁)∇) + wd·w), then
 * m ← β₂m + (1−β₂)∇. chain(scaleByLion, addDecayedWeights, scaleByLearningRate). Slot `m`.
 * Its steps have size lr per coordinate: use a rate 3–10× smaller than Adam's.
 */
export const lion = (lr: LearningRate, opts: LionOptions = {}): Optimizer => {
  const o = { beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.99 };
  const wd = opts.weightDecay ?? 1e-3;
  return named('lion', lr, { ...o, weightDecay: wd, ...maskConfig(opts.mask) }, opts, [scaleByLion(o), addDecayedWeights(wd, opts.mask)]);
};
