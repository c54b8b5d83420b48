/**
 * Gradient transformations, composed as in optax: a transformation is a pure
 * value `{ init(params) -> state, update(updates, state, params) -> [updates,
 * state] }` that maps a tree of gradients to a tree of updates, and `chain`
 * runs several in order. An optimiser is a chain whose last step scales by
 * the negated learning rate; `applyUpdates` adds the updates to the
 * parameters (see `asOptimizer` in optim.ts).
 *
 * Every state is `{ step, slots }`: the number of updates done and named
 * slots, each a tree with the parameters' structure (Adam's `m` and `v`), so
 * states are plain data that checkpoints save and load leaf by leaf. A chain
 * merges its members' slots (a name used by two members is prefixed by the
 * member's index, `0/v`). Scalars that depend on the step (the learning rate
 * of a schedule, Adam's bias corrections) are computed on the host by
 * `hyper(step)` and handed to `apply` as numbers, or as scalar tensors
 * inside a jitted training step, so a schedule never traces again.
 */
import { Tensor } from '../tensor/Tensor.js';
import { ValueError } from '../tensor/ShapeError.js';
import { add, div, maximum, minimum, mul, sign, sqrt, square, sub } from '../ops/elementwise.js';
import { fullLike, zerosLike } from '../ops/creation.js';
import { flatten, mapLeaves, sameStructure, unflatten, type TreeDef } from '../core/pytree.js';
import { scope } from '../core/memory.js';
import { globalNorm, zipMap } from './tree.js';
import { asSchedule, checkLr, describeLr, type LearningRate } from './schedules.js';

/** The state of a transformation or optimiser: the step count and per-parameter slots. */
export interface OptState {
  /** Number of updates done so far. */
  readonly step: number;
  /** Per-parameter slots (trees with the parameters' structure), e.g. { m, v }. */
  readonly slots: Readonly<Record<string, unknown>>;
}

/** The step's host scalars: numbers when run op by op, scalar tensors inside a jitted step. */
export type Hyper = readonly (number | Tensor)[];

/** What one application of a transformation returns: the transformed updates and the new slots. */
export interface TransformOutput {
  readonly updates: unknown;
  readonly slots: Readonly<Record<string, unknown>>;
}

/**
 * A gradient transformation (optax style). `init(params)` makes its state;
 * `update(updates, state, params?)` returns the transformed updates and the
 * new state. Pure: nothing passed in is freed or changed.
 *
 * @example
 * ```ts
 * const t = nn.chain(nn.clipByGlobalNorm(1), nn.scaleByAdam(), nn.scaleByLearningRate(1e-3));
 * let state = t.init(params);
 * let updates;
 * [updates, state] = t.update(grads, state, params);
 * params = nn.applyUpdates(params, updates);
 * ```
 */
export interface GradientTransformation {
  readonly name: string;
  /** Hyper-parameters as JSON (schedules are described by name, masks by kind). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Names of the slots of its state. */
  readonly slotNames: readonly string[];
  init<P>(params: P): OptState;
  update<P>(updates: P, state: OptState, params?: P): [P, OptState];
}

/**
 * How to build a transformation with `transformation(def)`: its slots (with
 * their initial value for a parameter leaf, zeros by default), the host
 * scalars of a step and the update on whole trees.
 */
export interface TransformDef {
  readonly name: string;
  readonly config?: Readonly<Record<string, unknown>>;
  /** Slot names; each slot is a tree with the parameters' structure. */
  readonly slots?: readonly string[];
  /** Initial value of slot `slot` for the parameter leaf `param` (default: zeros like it). */
  readonly initSlot?: (slot: string, param: Tensor) => Tensor;
  /** The scalars of the step numbered `step` (0-based), computed on the host; the same count at every step. */
  readonly hyper?: (step: number) => number[];
  /** The update: `h` holds `hyper(step)`'s values (numbers, or scalar tensors under jit). Must not read tensor values on the host. */
  readonly apply: (updates: unknown, slots: Readonly<Record<string, unknown>>, params: unknown, h: Hyper) => TransformOutput;
}

/** What chain, masked and a jitted training step need from a transformation. */
interface Impl {
  readonly slotNames: readonly string[];
  readonly hyperSize: number;
  readonly initSlots: (params: unknown) => Record<string, unknown>;
  readonly hyper: (step: number) => number[];
  readonly apply: (updates: unknown, slots: Readonly<Record<string, unknown>>, params: unknown, h: Hyper) => TransformOutput;
}

const impls = new WeakMap<GradientTransformation, Impl>();

/** The parts of a transformation built by this module (undefined for one written by hand). */
export function transformInternals(t: GradientTransformation): Impl | undefined {
  return impls.get(t);
}

/** Throws a ValueError naming `op` unless `state` is `{ step, slots }` with exactly the slots `names`. */
export function checkState(op: string, state: OptState, names: readonly string[]): void {
  if (state === null || typeof state !== 'object' || !Number.isInteger(state.step) || typeof state.slots !== 'object')
    throw new ValueError(op, 'the state must be { step, slots } as returned by init or update');
  const have = Object.keys(state.slots).sort();
  const want = [...names].sort();
  if (have.length !== want.length || have.some((k, i) => k !== want[i]))
    throw new ValueError(
      op,
      `the state has slots [${have.join(', ')}] but this transformation uses [${want.join(', ')}] (pass the state its init or update made)`,
    );
}

function make(name: string, config: Readonly<Record<string, unknown>>, impl: Impl): GradientTransformation {
  const t: GradientTransformation = Object.freeze({
    name,
    config: Object.freeze({ name, ...config }),
    slotNames: Object.freeze([...impl.slotNames]),
    init: <P>(params: P): OptState => Object.freeze({ step: 0, slots: Object.freeze(impl.initSlots(params)) }),
    update: <P>(updates: P, state: OptState, params?: P): [P, OptState] => {
      checkState(name, state, impl.slotNames);
      // only the updates and the new slots leave the scope
      return scope(() => {
        const r = impl.apply(updates, state.slots, params, impl.hyper(state.step));
        return [r.updates as P, Object.freeze({ step: state.step + 1, slots: Object.freeze({ ...r.slots }) })];
      });
    },
  });
  impls.set(t, impl);
  return t;
}

/** A transformation from its slots, host scalars and update (see TransformDef); it composes and runs under jit like the built-in ones. */
export function transformation(def: TransformDef): GradientTransformation {
  const slotNames = def.slots ?? [];
  const init = def.initSlot ?? ((_s: string, p: Tensor) => zerosLike(p));
  const hyper = def.hyper ?? (() => []);
  const hyperSize = hyper(0).length;
  return make(def.name, def.config ?? {}, {
    slotNames,
    hyperSize,
    initSlots: (params) => Object.fromEntries(slotNames.map((s) => [s, mapLeaves(params, (l) => init(s, asTensor(def.name, l)))])),
    hyper: (step) => {
      const h = hyper(step);
      if (h.length !== hyperSize)
        throw new ValueError(def.name, `hyper(${step}) gave ${h.length} scalars, hyper(0) gave ${hyperSize}: the count must not change`);
      return h;
    },
    apply: def.apply,
  });
}

const asTensor = (op: string, l: unknown): Tensor => {
  if (!(l instanceof Tensor)) throw new ValueError(op, 'parameter trees must have tensor leaves');
  return l;
};

/** A per-leaf rule: the step's scalars, the update leaf, the parameter leaf (when asked for) and the slot leaves. */
type Rule = (h: Hyper, g: Tensor, p: Tensor | undefined, slots: Tensor[]) => [Tensor, ...Tensor[]];

interface LeafwiseOptions {
  readonly slots?: readonly string[];
  readonly initSlot?: (slot: string, param: Tensor) => Tensor;
  readonly hyper?: (step: number) => number[];
  readonly needsParams?: boolean;
}

/** A transformation that maps the update, parameter and slot leaves of each parameter independently (one pass). */
function leafwise(name: string, config: Record<string, unknown>, o: LeafwiseOptions, rule: Rule): GradientTransformation {
  const slotNames = o.slots ?? [];
  const np = o.needsParams === true;
  return transformation({
    name,
    config,
    slots: slotNames,
    ...(o.initSlot ? { initSlot: o.initSlot } : {}),
    ...(o.hyper ? { hyper: o.hyper } : {}),
    apply: (updates, slots, params, h) => {
      if (np && params === undefined) throw new ValueError(name, 'needs the parameters: pass them to update(updates, state, params)');
      const outs: Tensor[][] = [];
      const trees = [updates, ...(np ? [params] : []), ...slotNames.map((s) => slots[s])];
      const u = zipMap<unknown>(name, trees, (g, ...rest) => {
        const r = rule(h, g, np ? rest[0] : undefined, np ? rest.slice(1) : rest);
        outs.push(r.slice(1));
        return r[0];
      });
      const newSlots = slotNames.map((s, k) => {
        let i = 0;
        return [s, mapLeaves(updates, () => outs[i++]![k]!)] as const;
      });
      return { updates: u, slots: Object.fromEntries(newSlots) };
    },
  });
}

/** Add the updates to the parameters leaf by leaf: params + updates (the updates already carry the sign). */
export function applyUpdates<P>(params: P, updates: P): P {
  return zipMap<P>('applyUpdates', [params, updates], (p, u) => add(p, u));
}

// ---- composition ----

/**
 * Run transformations in order, each on the updates of the one before. The
 * state's slots are the members' slots (a name two members share is
 * prefixed by the member's index, `1/v`); the step count is shared.
 */
export function chain(...transforms: GradientTransformation[]): GradientTransformation {
  const members = transforms.map((t, i) => {
    const impl = impls.get(t);
    if (!impl)
      throw new ValueError(
        'chain',
        `member ${i} (${(t as { name?: string })?.name ?? typeof t}) was not built by a transformation constructor ` +
          '(nn.transformation, nn.scaleByAdam, ...)',
      );
    return impl;
  });
  const uses = new Map<string, number>();
  for (const m of members) for (const s of m.slotNames) uses.set(s, (uses.get(s) ?? 0) + 1);
  const names = members.map((m, i) => m.slotNames.map((s) => (uses.get(s)! > 1 ? `${i}/${s}` : s)));
  const offsets: number[] = [];
  let hyperSize = 0;
  for (const m of members) {
    offsets.push(hyperSize);
    hyperSize += m.hyperSize;
  }
  return make(
    'chain',
    { transforms: transforms.map((t) => t.config) },
    {
      slotNames: names.flat(),
      hyperSize,
      initSlots: (params) => {
        const out: Record<string, unknown> = {};
        members.forEach((m, i) => {
          const s = m.initSlots(params);
          m.slotNames.forEach((n, k) => {
            out[names[i]![k]!] = s[n];
          });
        });
        return out;
      },
      hyper: (step) => members.flatMap((m) => m.hyper(step)),
      apply: (updates, slots, params, h) => {
        let u = updates;
        const out: Record<string, unknown> = {};
        members.forEach((m, i) => {
          const own = Object.fromEntries(m.slotNames.map((n, k) => [n, slots[names[i]![k]!]]));
          const r = m.apply(u, own, params, h.slice(offsets[i]!, offsets[i]! + m.hyperSize));
          u = r.updates;
          m.slotNames.forEach((n, k) => {
            out[names[i]![k]!] = r.slots[n];
          });
        });
        return { updates: u, slots: out };
      },
    },
  );
}

/** A mask: `true` where the transformation applies; a boolean at an inner node covers its whole subtree. */
export type MaskTree = boolean | readonly MaskTree[] | { readonly [key: string]: MaskTree };
/**
 * A mask tree, or a function of the parameters that returns one (e.g. `p =>
 * ct.treeMap(p, w => w.ndim > 1)`; what it returns is checked against the
 * parameters when used, with an error naming the place that does not fit).
 */
export type Mask = MaskTree | ((params: unknown) => unknown);

const isRecord = (x: unknown): x is Record<string, unknown> => {
  if (typeof x !== 'object' || x === null) return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
};

/** One boolean per leaf of `tree`, in flatten order (records by sorted key), read from `mask`. */
function maskLeaves(op: string, tree: unknown, mask: MaskTree): boolean[] {
  const out: boolean[] = [];
  const walk = (t: unknown, m: unknown, path: string): void => {
    if (typeof m === 'boolean') {
      for (let i = flatten(t).leaves.length; i > 0; i--) out.push(m);
      return;
    }
    const at = path === '' ? 'the root' : `'${path}'`;
    if (t instanceof Tensor || typeof t === 'number')
      throw new ValueError(op, `the mask at ${at} must be a boolean (it is a parameter), got ${describe(m)}`);
    const sub = (k: string | number): string => (path === '' ? String(k) : `${path}.${k}`);
    if (Array.isArray(t)) {
      if (!Array.isArray(m) || m.length !== t.length)
        throw new ValueError(op, `the mask at ${at} must be a boolean or an array of ${t.length}, got ${describe(m)}`);
      t.forEach((c, i) => {
        walk(c, m[i], sub(i));
      });
    } else if (isRecord(t)) {
      if (!isRecord(m)) throw new ValueError(op, `the mask at ${at} must be a boolean or a record, got ${describe(m)}`);
      for (const k of Object.keys(m))
        if (!(k in t)) throw new ValueError(op, `the mask has a key '${sub(k)}' that the parameters do not have`);
      for (const k of Object.keys(t).sort()) {
        if (!(k in m)) throw new ValueError(op, `the mask has no entry for '${sub(k)}'`);
        walk(t[k], m[k], sub(k));
      }
    }
    // anything else is a static leaf of the tree: no parameters under it
  };
  walk(tree, mask, '');
  return out;
}

const describe = (m: unknown): string =>
  Array.isArray(m) ? `an array of ${m.length}` : m === null ? 'null' : typeof m === 'object' ? 'a record' : typeof m;

/** The tree's leaves and structure, checked against the structure of `like`. */
function leavesOf(op: string, tree: unknown, like: TreeDef, what: string): unknown[] {
  const { leaves, def } = flatten(tree);
  if (!sameStructure(like, def)) throw new ValueError(op, `the ${what} have a different structure from the updates`);
  return leaves;
}

/**
 * Apply `inner` only to the leaves the mask selects: the other updates pass
 * through unchanged and their slots are never touched (they stay at their
 * initial zeros, kept so that every slot has the parameters' structure).
 * The inner transformation sees the selected leaves as one array (a global
 * norm inside it is the norm of the selected leaves).
 */
export function masked(inner: GradientTransformation, mask: Mask): GradientTransformation {
  const impl = impls.get(inner);
  if (!impl) throw new ValueError('masked', `${inner.name} was not built by a transformation constructor (nn.transformation, ...)`);
  const name = `masked(${inner.name})`;
  const resolve = (tree: unknown): boolean[] => maskLeaves(name, tree, (typeof mask === 'function' ? mask(tree) : mask) as MaskTree);
  const pick = <T>(xs: readonly T[], sel: readonly boolean[]): T[] => xs.filter((_, i) => sel[i]);
  const scatter = (def: TreeDef, base: readonly unknown[], sel: readonly boolean[], chosen: unknown): unknown => {
    const c = chosen as unknown[];
    let j = 0;
    return unflatten(
      def,
      base.map((b, i) => (sel[i] ? c[j++] : b)),
    );
  };
  return make(
    name,
    { inner: inner.config, mask: typeof mask === 'function' ? 'function' : 'tree' },
    {
      slotNames: impl.slotNames,
      hyperSize: impl.hyperSize,
      initSlots: (params) => {
        const { leaves, def } = flatten(params);
        const sel = resolve(params);
        const s = impl.initSlots(pick(leaves, sel));
        const zeros = leaves.map((l, i) => (sel[i] ? null : zerosLike(asTensor(name, l))));
        return Object.fromEntries(impl.slotNames.map((n) => [n, scatter(def, zeros, sel, s[n])]));
      },
      hyper: impl.hyper,
      apply: (updates, slots, params, h) => {
        const { leaves: u, def } = flatten(updates);
        const p = params === undefined ? undefined : leavesOf(name, params, def, 'parameters');
        const sel = resolve(params ?? updates);
        if (sel.length !== u.length) throw new ValueError(name, 'the mask does not match the updates');
        if (!sel.includes(true)) return { updates, slots }; // nothing selected: all pass through
        const sl = Object.fromEntries(impl.slotNames.map((n) => [n, leavesOf(name, slots[n], def, `slot ${n}`)]));
        const r = impl.apply(
          pick(u, sel),
          Object.fromEntries(impl.slotNames.map((n) => [n, pick(sl[n]!, sel)])),
          p === undefined ? undefined : pick(p, sel),
          h,
        );
        return {
          updates: scatter(def, u, sel, r.updates),
          slots: Object.fromEntries(impl.slotNames.map((n) => [n, scatter(def, sl[n]!, sel, r.slots[n])])),
        };
      },
    },
  );
}

// ---- transformations ----

/** Scale a gradient tree so its global norm is at most `maxNorm` (unchanged when already smaller). */
function clipTree<P>(grads: P, maxNorm: number): P {
  const norm = globalNorm(grads);
  const scale = minimum(div(maxNorm, add(norm, 1e-12)), 1);
  return mapLeaves(grads, (g) => mul(g as Tensor, scale));
}

/**
 * `clipByGlobalNorm(maxNorm)`: the transformation that rescales the updates
 * so their global norm is at most `maxNorm`. `clipByGlobalNorm(grads,
 * maxNorm)`: the same applied to a tree directly.
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation;
export function clipByGlobalNorm<P>(grads: P, maxNorm: number): P;
export function clipByGlobalNorm<P>(a: P | number, b?: number): P | GradientTransformation {
  const maxNorm = b === undefined && typeof a === 'number' ? a : b;
  if (typeof maxNorm !== 'number' || !(maxNorm > 0) || !Number.isFinite(maxNorm))
    throw new ValueError('clipByGlobalNorm', `maxNorm must be a finite number > 0, got ${maxNorm}`);
  if (b !== undefined) return clipTree(a as P, maxNorm);
  return transformation({
    name: 'clipByGlobalNorm',
    config: { maxNorm },
    apply: (updates) => ({ updates: clipTree(updates, maxNorm), slots: {} }),
  });
}

/** Multiply the updates by a constant. */
export function scale(factor: number): GradientTransformation {
  if (!Number.isFinite(factor)) throw new ValueError('scale', `the factor must be a finite number, got ${factor}`);
  return leafwise('scale', { factor }, {}, (_h, g) => [mul(g, factor)]);
}

/** Multiply the updates by −lr (a number or a schedule of the step): the last member of an optimiser's chain. */
export function scaleByLearningRate(lr: LearningRate): GradientTransformation {
  checkLr('scaleByLearningRate', lr);
  const sched = asSchedule(lr);
  return leafwise('scaleByLearningRate', { lr: describeLr(lr) }, { hyper: (s) => [-sched(s)] }, ([r], g) => [mul(g, r!)]);
}

/** Options of `traceMomentum`: the decay μ (default 0.9) and Nesterov (default false). */
export interface TraceOptions {
  readonly momentum?: number;
  readonly nesterov?: boolean;
}

/** Slot `v`: v ← μv + u; the update is v (Nesterov: u + μv). */
export function traceMomentum(opts: TraceOptions = {}): GradientTransformation {
  const mu = opts.momentum ?? 0.9;
  const nesterov = opts.nesterov ?? false;
  checkRate('traceMomentum', 'momentum', mu);
  return leafwise('traceMomentum', { momentum: mu, nesterov }, { slots: ['v'] }, (_h, g, _p, [v]) => {
    const v2 = add(mul(v!, mu), g);
    return [nesterov ? add(g, mul(v2, mu)) : v2, v2];
  });
}

function checkRate(op: string, field: string, x: number): void {
  if (!(x >= 0 && x < 1)) throw new ValueError(op, `${field} must be in [0, 1), got ${x}`);
}
function checkEps(op: string, eps: number): void {
  if (!(eps >= 0 && Number.isFinite(eps))) throw new ValueError(op, `eps must be a finite number ≥ 0, got ${eps}`);
}

/** Options of `scaleByAdam`: β₁ (default 0.9), β₂ (0.999) and ε (1e-8). */
export interface ScaleByAdamOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

/**
 * Adam's scaling with bias correction: slots `m` and `v`, m ← β₁m + (1−β₁)u,
 * v ← β₂v + (1−β₂)u², update m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
 */
export function scaleByAdam(opts: ScaleByAdamOptions = {}): GradientTransformation {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  checkRate('scaleByAdam', 'beta1', b1);
  checkRate('scaleByAdam', 'beta2', b2);
  checkEps('scaleByAdam', eps);
  // m̂/(√v̂ + ε) = m / (√v + ε·√(1−β₂ᵗ)) · √(1−β₂ᵗ)/(1−β₁ᵗ): the bias corrections fold into two scalars
  const hyper = (step: number): number[] => {
    const t = step + 1;
    const c2 = Math.sqrt(1 - b2 ** t);
    return [c2 / (1 - b1 ** t), eps * c2];
  };
  return leafwise('scaleByAdam', { beta1: b1, beta2: b2, eps }, { slots: ['m', 'v'], hyper }, ([bc, epsC2], g, _p, [m, v]) => {
    const m2 = add(mul(m!, b1), mul(g, 1 - b1));
    const v2 = add(mul(v!, b2), mul(square(g), 1 - b2));
    return [mul(div(m2, add(sqrt(v2), epsC2!)), bc!), m2, v2];
  });
}

/** Options of `scaleByRms` and `scaleByStddev`: the decay ρ (default 0.9) and ε (1e-8). */
export interface ScaleByRmsOptions {
  readonly decay?: number;
  readonly eps?: number;
}

/** The decay ρ and ε of `scaleByRms` / `scaleByStddev` (`name`), defaulted and checked. */
function rmsOptions(name: string, opts: ScaleByRmsOptions): { rho: number; eps: number } {
  const rho = opts.decay ?? 0.9;
  const eps = opts.eps ?? 1e-8;
  checkRate(name, 'decay', rho);
  checkEps(name, eps);
  return { rho, eps };
}

/** RMSprop's scaling: slot `nu`, ν ← ρν + (1−ρ)u², update u/(√ν + ε). */
export function scaleByRms(opts: ScaleByRmsOptions = {}): GradientTransformation {
  const { rho, eps } = rmsOptions('scaleByRms', opts);
  return leafwise('scaleByRms', { decay: rho, eps }, { slots: ['nu'] }, (_h, g, _p, [nu]) => {
    const nu2 = add(mul(nu!, rho), mul(square(g), 1 - rho));
    return [div(g, add(sqrt(nu2), eps)), nu2];
  });
}

/**
 * Centred RMSprop's scaling: slots `mu` and `nu`, μ ← ρμ + (1−ρ)u, ν ← ρν +
 * (1−ρ)u², update u/(√max(ν − μ², 0) + ε) (the variance estimate, clamped at
 * 0 against rounding).
 */
export function scaleByStddev(opts: ScaleByRmsOptions = {}): GradientTransformation {
  const { rho, eps } = rmsOptions('scaleByStddev', opts);
  return leafwise('scaleByStddev', { decay: rho, eps }, { slots: ['mu', 'nu'] }, (_h, g, _p, [mu, nu]) => {
    const mu2 = add(mul(mu!, rho), mul(g, 1 - rho));
    const nu2 = add(mul(nu!, rho), mul(square(g), 1 - rho));
    return [div(g, add(sqrt(maximum(sub(nu2, square(mu2)), 0)), eps)), mu2, nu2];
  });
}

/** Options of `scaleByRss`: the accumulator's initial value (default 0.1) and ε (1e-7). */
export interface ScaleByRssOptions {
  readonly initialAccumulator?: number;
  readonly eps?: number;
}

/** Adagrad's scaling: slot `acc` (starting at `initialAccumulator`), acc ← acc + u², update u/(√acc + ε). */
export function scaleByRss(opts: ScaleByRssOptions = {}): GradientTransformation {
  const a0 = opts.initialAccumulator ?? 0.1;
  const eps = opts.eps ?? 1e-7;
  if (!(a0 >= 0 && Number.isFinite(a0))) throw new ValueError('scaleByRss', `initialAccumulator must be a finite number ≥ 0, got ${a0}`);
  checkEps('scaleByRss', eps);
  return leafwise(
    'scaleByRss',
    { initialAccumulator: a0, eps },
    { slots: ['acc'], initSlot: (_s, p) => fullLike(p, a0) },
    (_h, g, _p, [acc]) => {
      const acc2 = add(acc!, square(g));
      return [div(g, add(sqrt(acc2), eps)), acc2];
    },
  );
}

/** Options of `scaleByLion`: β₁ (default 0.9) and β₂ (0.99). */
export interface ScaleByLionOptions {
  readonly beta1?: number;
  readonly beta2?: number;
}

/** Lion's scaling (Chen et al. 2023): slot `m`, update sign(β₁m + (1−β₁)u), then m ← β₂m + (1−β₂)u. */
export function scaleByLion(opts: ScaleByLionOptions = {}): GradientTransformation {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.99;
  checkRate('scaleByLion', 'beta1', b1);
  checkRate('scaleByLion', 'beta2', b2);
  return leafwise('scaleByLion', { beta1: b1, beta2: b2 }, { slots: ['m'] }, (_h, g, _p, [m]) => [
    sign(add(mul(m!, b1), mul(g, 1 - b1))),
    add(mul(m!, b2), mul(g, 1 - b2)),
  ]);
}

/**
 * Decoupled weight decay: u ← u + wd·w (placed before `scaleByLearningRate`,
 * the decay is scaled by the learning rate, as in AdamW). With a mask, only
 * the selected parameters decay (see `masked`).
 */
export function addDecayedWeights(weightDecay: number, mask?: Mask): GradientTransformation {
  if (!(weightDecay >= 0 && Number.isFinite(weightDecay)))
    throw new ValueError('addDecayedWeights', `weightDecay must be a finite number ≥ 0, got ${weightDecay}`);
  const t = leafwise('addDecayedWeights', { weightDecay }, { needsParams: true }, (_h, g, p) => [
    weightDecay === 0 ? g : add(g, mul(p!, weightDecay)),
  ]);
  return mask === undefined ? t : masked(t, mask);
}
