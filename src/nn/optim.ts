/**
 * Optimisers: pure `{ init(params), update(grads, state, params) -> { params,
 * state } }` over whole parameter trees. The state is a plain record (the step
 * count as a number plus trees of tensors), so it can be checkpointed and
 * returned from a scope. `sgd` descends (w ← w − lr·∇); `momentum` (heavy
 * ball or Nesterov), `adam` and `adamw` (decoupled weight decay). Learning
 * rates are numbers or schedules `step -> lr`; any optimiser can clip the
 * gradients by their global norm first. `update` takes ownership of the
 * parameters and state it replaces (donation) unless told not to.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { ValueError } from '../tensor/ShapeError.js';
import { add, div, minimum, mul, sqrt, square, sub } from '../ops/elementwise.js';
import { zerosLike } from '../ops/creation.js';
import { mapLeaves } from '../core/pytree.js';
import { donate, scope } from '../core/memory.js';
import { globalNorm, zipMap } from './tree.js';

/** A learning-rate schedule: the rate to use at a (0-based) step. */
export type Schedule = (step: number) => number;
/** A learning rate: a constant or a schedule of the step. */
export type LearningRate = number | Schedule;

/** An optimiser's state: the step count and per-parameter slots (e.g. Adam's `m` and `v`). */
export interface OptState {
  /** Number of updates done so far. */
  readonly step: number;
  /** Per-parameter slots (trees with the parameters' structure), e.g. { m, v }. */
  readonly slots: Readonly<Record<string, unknown>>;
}

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

// ---- schedules ----

/** The constant schedule: `lr` at every step. */
export const constant = (lr: number): Schedule => Object.assign(() => lr, { describe: `constant(${lr})` });
/** lr · factor^floor(step / every) */
export const stepDecay = (lr: number, every: number, factor: number): Schedule =>
  Object.assign((s: number) => lr * factor ** Math.floor(s / every), { describe: `stepDecay(${lr}, ${every}, ${factor})` });
/** Cosine decay from lr to `min` over `steps` steps, then constant at `min`. */
export const cosineDecay = (lr: number, steps: number, min = 0): Schedule =>
  Object.assign((s: number) => min + ((lr - min) * (1 + Math.cos((Math.PI * Math.min(s, steps)) / steps))) / 2, {
    describe: `cosineDecay(${lr}, ${steps}, ${min})`,
  });
/** Linear warm-up from 0 over `steps` steps, then the wrapped schedule (shifted so it starts at 0). */
export const warmup = (steps: number, after: LearningRate): Schedule => {
  const f = asSchedule(after);
  return Object.assign((s: number) => (s < steps ? (f(0) * (s + 1)) / steps : f(s - steps)), {
    describe: `warmup(${steps}, ${describeLr(after)})`,
  });
};

const asSchedule = (lr: LearningRate): Schedule => (typeof lr === 'number' ? constant(lr) : lr);
/** A learning rate as JSON: the number, or the schedule's description. */
export const describeLr = (lr: LearningRate): string | number =>
  typeof lr === 'number' ? lr : ((lr as { describe?: string }).describe ?? 'custom schedule');

function checkLr(op: string, lr: LearningRate): void {
  if (typeof lr === 'number' && !(lr >= 0 && Number.isFinite(lr)))
    throw new ValueError(op, `learning rate must be a finite number ≥ 0, got ${lr}`);
}

/** Scale a gradient tree so its global norm is at most `maxNorm` (unchanged when already smaller). */
export function clipByGlobalNorm<P>(grads: P, maxNorm: number): P {
  if (!(maxNorm > 0)) throw new ValueError('clipByGlobalNorm', `maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const scale = minimum(div(maxNorm, add(norm, 1e-12)), 1);
  return mapLeaves(grads, (g) => mul(g as Tensor, scale));
}

const zerosTree = <P>(p: P): P => mapLeaves(p, (l) => zerosLike(l as Tensor));

/**
 * A per-leaf update rule: `h` holds the step's scalars (computed on the host
 * by the optimiser's `hyper` from the rate and the step number, then passed
 * as numbers eagerly or as scalar tensors inside a jitted training step, so
 * both paths multiply by the same values).
 */
type Rule = (h: readonly (number | Tensor)[], g: Tensor, p: Tensor, slots: Tensor[]) => [Tensor, ...Tensor[]];

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

/** Build an optimiser from a per-step update rule and the scalars it needs at each step. */
function optimizer(
  name: string,
  config: Record<string, unknown>,
  common: CommonOptions,
  slotNames: readonly string[],
  hyperOf: (lr: number, t: number) => number[],
  rule: Rule,
  lr: LearningRate,
): Optimizer {
  checkLr(name, lr);
  const sched = asSchedule(lr);
  const hyper = (state: OptState): number[] => hyperOf(sched(state.step), state.step + 1);
  const apply = <P>(grads: P, slots: Readonly<Record<string, unknown>>, params: P, h: readonly (number | Tensor)[]): UpdateParts<P> => {
    const g = common.clipNorm ? clipByGlobalNorm(grads, common.clipNorm) : grads;
    const slotTrees = slotNames.map((s) => slots[s]);
    const outs: Tensor[][] = [];
    // one pass over the leaves; results split into params and slots afterwards
    const newParams = zipMap<P>(name, [g, params, ...slotTrees], (gl, pl, ...sl) => {
      const r = rule(h, gl, pl, sl);
      outs.push(r.slice(1));
      return r[0];
    });
    const newSlots = slotNames.map((s, k) => {
      let i = 0;
      return [s, mapLeaves(params, () => outs[i++]![k]!)] as const;
    });
    return { params: newParams, slots: Object.freeze(Object.fromEntries(newSlots)) };
  };
  const opt: Optimizer = Object.freeze({
    name,
    config: Object.freeze({ name, lr: describeLr(lr), ...config, ...(common.clipNorm ? { clipNorm: common.clipNorm } : {}) }),
    init: <P>(params: P): OptState =>
      Object.freeze({ step: 0, slots: Object.freeze(Object.fromEntries(slotNames.map((s) => [s, zerosTree(params)]))) }),
    update: <P>(grads: P, state: OptState, params: P, opts: UpdateOptions = {}) => {
      // intermediates are freed; only the new params and state leave the scope
      const next = scope(() => {
        const u = apply(grads, state.slots, params, hyper(state));
        return { params: u.params, state: Object.freeze({ step: state.step + 1, slots: u.slots }) };
      });
      if (opts.donate !== false)
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
  internals.set(opt, { hyper, apply });
  return opt;
}

/** Plain gradient descent: w ← w − lr·∇. */
export const sgd = (lr: LearningRate, common: CommonOptions = {}): Optimizer =>
  optimizer(
    'sgd',
    {},
    common,
    [],
    (r) => [r],
    ([r], g, p) => [sub(p, mul(g, r!))],
    lr,
  );

/** Options of `momentum`: μ (default 0.9) and Nesterov (default false). */
export interface MomentumOptions extends CommonOptions {
  readonly momentum?: number;
  readonly nesterov?: boolean;
}

/** v ← μv + ∇; w ← w − lr·v (Nesterov: w ← w − lr·(∇ + μv)). */
export const momentum = (lr: LearningRate, opts: MomentumOptions = {}): Optimizer => {
  const mu = opts.momentum ?? 0.9;
  const nesterov = opts.nesterov ?? false;
  return optimizer(
    'momentum',
    { momentum: mu, nesterov },
    opts,
    ['v'],
    (r) => [r],
    ([r], g, p, [v]) => {
      const v2 = add(mul(v!, mu), g);
      const dir = nesterov ? add(g, mul(v2, mu)) : v2;
      return [sub(p, mul(dir, r!)), v2];
    },
    lr,
  );
};

/** Options of `adam` and `adamw`: β₁, β₂ and ε. */
export interface AdamOptions extends CommonOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

// m̂/(√v̂ + ε) = m / (√v + ε·√(1−β₂ᵗ)) · √(1−β₂ᵗ)/(1−β₁ᵗ): the bias corrections fold into two scalars
function adamHyper(b1: number, b2: number, eps: number, wd: number) {
  return (r: number, t: number): number[] => {
    const c2 = Math.sqrt(1 - b2 ** t);
    return [(r * c2) / (1 - b1 ** t), eps * c2, r * wd];
  };
}

function adamRule(b1: number, b2: number, wd: number): Rule {
  return ([stepSize, epsC2, rWd], g, p, [m, v]) => {
    const m2 = add(mul(m!, b1), mul(g, 1 - b1));
    const v2 = add(mul(v!, b2), mul(square(g), 1 - b2));
    const upd = mul(div(m2, add(sqrt(v2), epsC2!)), stepSize!);
    return [wd > 0 ? sub(p, add(upd, mul(p, rWd!))) : sub(p, upd), m2, v2];
  };
}

/** Adam (Kingma & Ba) with bias correction. */
export const adam = (lr: LearningRate, opts: AdamOptions = {}): Optimizer => {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  return optimizer('adam', { beta1: b1, beta2: b2, eps }, opts, ['m', 'v'], adamHyper(b1, b2, eps, 0), adamRule(b1, b2, 0), lr);
};

/** AdamW: Adam with decoupled weight decay w ← w − lr·(m̂/(√v̂+ε) + wd·w). */
export const adamw = (lr: LearningRate, opts: AdamOptions & { weightDecay?: number } = {}): Optimizer => {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01;
  return optimizer(
    'adamw',
    { beta1: b1, beta2: b2, eps, weightDecay: wd },
    opts,
    ['m', 'v'],
    adamHyper(b1, b2, eps, wd),
    adamRule(b1, b2, wd),
    lr,
  );
};
