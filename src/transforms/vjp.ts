/**
 * Reverse-mode transformations: `vjp`, `grad`, `valueAndGrad` (Jacobians and
 * Hessians are in jacobian.ts). Each records `f` on a fresh tape, then runs
 * the tape backwards from a cotangent seed.
 */
import { retaining, scope } from '../core/memory.js';
import { flatten, unflatten, type Leaf, type TreeDef } from '../core/pytree.js';
import { VjpTrace, VjpTracer } from '../core/vjpTrace.js';
import { isFloat } from '../tensor/dtype.js';
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { asTensor, onesLike, zerosLike } from '../ops/creation.js';
import { add as vjpAdd } from '../ops/elementwise.js';
import {
  checkFloatLeaves,
  checkInRange,
  resolveArgnums,
  type Argnums,
  type ArgnumsOf,
  type CheckArgnums,
  type Fn,
  type GradsOf,
  type ResolvedArgnums,
  type TangentOf,
  type TensorTree,
} from './argnums.js';

const leafTensor = (l: Leaf, like?: Tensor): Tensor => (typeof l === 'number' ? asTensor(l, like) : l);

interface Recorded {
  trace: VjpTrace;
  /** per differentiated argument: its tree structure and its input tracers */
  args: { def: TreeDef; tracers: VjpTracer[] }[];
  result: unknown;
}

/**
 * Run f with the arguments at `argnums` replaced by input tracers of a fresh
 * tape (each differentiated argument checked to be float; errors name `op`).
 */
function record(op: string, f: Fn, args: readonly unknown[], argnums: ResolvedArgnums): Recorded {
  checkInRange(op, argnums, args.length);
  const trace = new VjpTrace(vjpAdd);
  const wrapped = [...args];
  const recArgs = argnums.list.map((k) => {
    const { leaves, def } = flatten(args[k]);
    checkFloatLeaves(op, k, leaves);
    const tracers = leaves.map((l) => trace.input(leafTensor(l)));
    wrapped[k] = unflatten(def, tracers);
    return { def, tracers };
  });
  try {
    const result = f(...wrapped);
    return { trace, args: recArgs, result };
  } finally {
    trace.active = false;
  }
}

/** Unwrap this tape's tracers inside a tree (used for outputs and aux data). */
function unwrapTree(trace: VjpTrace, tree: unknown): unknown {
  const { leaves, def } = flatten(tree);
  return unflatten(
    def,
    leaves.map((l) => (l instanceof VjpTracer && l.trace === trace ? l.primal : l)),
  );
}

/** Run the backward pass and rebuild one gradient tree per differentiated argument. */
function pullbackTrees(rec: Recorded, seeds: Map<number, Tensor>): unknown[] {
  const wanted = rec.args.flatMap((a) => a.tracers.map((t) => t.node));
  const cts = rec.trace.backward(seeds, wanted);
  return rec.args.map((a) =>
    unflatten(
      a.def,
      a.tracers.map((t) => cts.get(t.node) ?? zerosLike(t.primal)),
    ),
  );
}

/**
 * Reverse mode: evaluate `f(...primals)` and return `[output, pullback]`,
 * where `pullback(c)` is the vector-Jacobian product `cᵀ·J` for every primal:
 * an array with one cotangent (a tree shaped like that primal) per primal.
 * The cotangent `c` has the output's tree structure, each leaf of its output's
 * shape and dtype (a number is a scalar). Every primal is differentiated, so
 * each must be float.
 *
 * @example
 * const [y, pullback] = ct.vjp((a: ct.Tensor, b: ct.Tensor) => ct.mul(a, b), ct.tensor([1, 2]), ct.tensor([3, 4]));
 * const [da, db] = pullback(ct.tensor([1, 1])); // da = b = [3, 4], db = a = [1, 2]
 */
export function vjp<F extends Fn>(
  f: F,
  ...primals: Parameters<F>
): [ReturnType<F>, (cotangent: TangentOf<ReturnType<F>>) => TensorTree<Parameters<F>>] {
  const everything = resolveArgnums(
    'vjp',
    primals.map((_, i) => i),
  );
  const rec = retaining(() => record('vjp', f, primals, everything));
  const out = flatten(rec.result);
  const value = unwrapTree(rec.trace, rec.result) as ReturnType<F>;
  const pullback = (cotangent: TangentOf<ReturnType<F>>): TensorTree<Parameters<F>> => {
    const c = flatten(cotangent);
    if (c.leaves.length !== out.leaves.length) {
      throw new ValueError('vjp', `the cotangent has ${c.leaves.length} leaves, the output ${out.leaves.length}`);
    }
    return scope(() =>
      retaining(() => {
        const seeds = new Map<number, Tensor>();
        out.leaves.forEach((y, i) => {
          if (!(y instanceof VjpTracer) || y.trace !== rec.trace) return;
          const ct = leafTensor(c.leaves[i]!, y);
          if (!shapesEqual(ct.shape, y.shape) || ct.dtype !== y.dtype) {
            throw new ShapeError('vjp', `cotangent ${describe(ct.dtype, ct.shape)} does not match output ${describe(y.dtype, y.shape)}`);
          }
          const prev = seeds.get(y.node);
          seeds.set(y.node, prev ? vjpAdd(prev, ct) : ct);
        });
        return pullbackTrees(rec, seeds) as TensorTree<Parameters<F>>;
      }),
    );
  };
  return [value, pullback];
}

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions {
  /**
   * Which argument(s) to differentiate: a number (default 0) or an array of
   * distinct numbers (the gradients are then a tuple, one per index).
   */
  readonly argnums?: Argnums;
  /** f returns [value, aux]; aux is passed through undifferentiated. */
  readonly hasAux?: boolean;
}

/** `GradOptions` without auxiliary output. */
export type GradOptionsNoAux = GradOptions & { readonly hasAux?: false };
/** `GradOptions` with `hasAux: true`: the function returns `[value, aux]`. */
export type GradOptionsAux = GradOptions & { readonly hasAux: true };

/** A function `grad` and `valueAndGrad` accept: it returns a float scalar tensor. */
// biome-ignore lint/suspicious/noExplicitAny: the widest parameter list, as Fn
export type ScalarFn = (...args: any[]) => Tensor;
/** A function `grad` and `valueAndGrad` accept with `hasAux: true`: it returns `[scalar, aux]`. */
// biome-ignore lint/suspicious/noExplicitAny: the widest parameter list, as Fn
export type ScalarAuxFn = (...args: any[]) => readonly [Tensor, unknown];

/** The gradient type of `grad(f, opts)` (and the second entry of `valueAndGrad`'s result). */
export type GradOf<F extends Fn, O> = GradsOf<Parameters<F>, ArgnumsOf<O>>;

function checkScalar(op: string, y: unknown): Tensor {
  if (!(y instanceof Tensor))
    throw new ValueError(
      op,
      `the function must return a scalar tensor (got ${Array.isArray(y) ? 'an array; pass hasAux: true for [value, aux]' : typeof y})`,
    );
  if (y.ndim !== 0)
    throw new ShapeError(
      op,
      `the function must return a scalar, got ${describe(y.dtype, y.shape)} (use jacrev or vjp for non-scalar outputs)`,
    );
  if (!isFloat(y.dtype)) throw new ShapeError(op, `the output must be a float scalar, got ${describe(y.dtype, y.shape)}`);
  return y;
}

/** valueAndGrad with the transformation's name for its errors (`grad` reuses it). */
function valueAndGradNamed(op: string, f: Fn, opts: GradOptions): (...args: unknown[]) => [unknown, unknown] {
  const argnums = resolveArgnums(op, opts.argnums);
  return (...args: unknown[]): [unknown, unknown] =>
    scope(() =>
      retaining(() => {
        const rec = record(op, f, args, argnums);
        let y: unknown = rec.result;
        let aux: unknown;
        if (opts.hasAux) {
          if (!Array.isArray(y) || y.length !== 2) throw new ValueError(op, 'with hasAux the function must return [value, aux]');
          [y, aux] = y as [unknown, unknown];
        }
        const out = checkScalar(op, y);
        const seeds = new Map<number, Tensor>();
        if (out instanceof VjpTracer && out.trace === rec.trace) seeds.set(out.node, onesLike(out.primal));
        const grads = pullbackTrees(rec, seeds);
        const value = unwrapTree(rec.trace, out);
        const g = argnums.many ? grads : grads[0];
        return opts.hasAux ? [[value, unwrapTree(rec.trace, aux)], g] : [value, g];
      }),
    );
}

/**
 * The value of a scalar function and its gradient: `valueAndGrad(f, { argnums,
 * hasAux })(...args)` returns `[f(...args), ∇f]` (with `hasAux`, f returns
 * `[value, aux]` and the result is `[[value, aux], ∇f]`). ∇f is the gradient
 * with respect to argument `argnums` (default 0), a tree shaped like that
 * argument, or a tuple of them when `argnums` is an array. The output must be
 * a float scalar, the differentiated arguments float, and argnums distinct.
 *
 * @example
 * const f = (w: ct.Tensor, x: ct.Tensor) => ct.sum(ct.square(ct.mul(w, x)));
 * const [loss, dw] = ct.valueAndGrad(f)(ct.tensor([1, 2]), ct.tensor([3, 4])); // dw = 2 w x² = [18, 64]
 * const [, [gw, gx]] = ct.valueAndGrad(f, { argnums: [0, 1] })(ct.tensor([1, 2]), ct.tensor([3, 4]));
 */
export function valueAndGrad<F extends ScalarAuxFn, const O extends GradOptionsAux>(
  f: F,
  opts: O & CheckArgnums<Parameters<F>, O>,
): (...args: Parameters<F>) => [[Tensor, ReturnType<F>[1]], GradOf<F, O>];
export function valueAndGrad<F extends ScalarFn, const O extends GradOptionsNoAux = Record<never, never>>(
  f: F,
  opts?: O & CheckArgnums<Parameters<F>, O>,
): (...args: Parameters<F>) => [Tensor, GradOf<F, O>];
export function valueAndGrad(f: Fn, opts: GradOptions = {}): (...args: unknown[]) => [unknown, unknown] {
  return valueAndGradNamed('valueAndGrad', f, opts);
}

/**
 * The gradient ∇f of a scalar function: `grad(f, { argnums })(...args)` is
 * ∂f/∂args[argnums] (default argument 0), a tree shaped like that argument,
 * or a tuple of them when `argnums` is an array; with `hasAux` it returns
 * `[∇f, aux]`. The output must be a float scalar, the differentiated
 * arguments float, and argnums distinct.
 *
 * @example
 * const f = (x: ct.Tensor) => ct.sum(ct.mul(ct.sin(x), x));
 * ct.grad(f)(ct.tensor([0.5, 1])); // sin x + x cos x
 * const [dw, db] = ct.grad((w: ct.Tensor, b: ct.Tensor) => ct.sum(ct.add(w, b)), { argnums: [0, 1] })(w, b);
 * ct.grad(ct.grad((x: ct.Tensor) => ct.mul(x, ct.mul(x, x))))(ct.scalar(2)); // d²/dx² x³ = 6x = 12
 */
export function grad<F extends ScalarAuxFn, const O extends GradOptionsAux>(
  f: F,
  opts: O & CheckArgnums<Parameters<F>, O>,
): (...args: Parameters<F>) => [GradOf<F, O>, ReturnType<F>[1]];
export function grad<F extends ScalarFn, const O extends GradOptionsNoAux = Record<never, never>>(
  f: F,
  opts?: O & CheckArgnums<Parameters<F>, O>,
): (...args: Parameters<F>) => GradOf<F, O>;
export function grad(f: Fn, opts: GradOptions = {}): (...args: unknown[]) => unknown {
  const vg = valueAndGradNamed('grad', f, opts);
  // the scope frees the value, which grad does not return
  return (...args: unknown[]) =>
    scope(() => {
      const [v, g] = vg(...args);
      return opts.hasAux ? [g, (v as [unknown, unknown])[1]] : g;
    });
}
