/**
 * Reverse-mode transformations: `vjp`, `grad`, `valueAndGrad` (Jacobians and
 * Hessians are in jacobian.ts).
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

const leafTensor = (l: Leaf, like?: Tensor): Tensor => (typeof l === 'number' ? asTensor(l, like) : l);

interface Recorded {
  trace: VjpTrace;
  /** per differentiated argument: its tree structure and its input tracers */
  args: { def: TreeDef; tracers: VjpTracer[] }[];
  result: unknown;
}

/** Run f with the arguments at `argnums` replaced by input tracers of a fresh tape. */
function record(f: (...args: any[]) => unknown, args: readonly unknown[], argnums: readonly number[]): Recorded {
  const trace = new VjpTrace();
  const wrapped = [...args];
  const recArgs = argnums.map((k) => {
    if (k < 0 || k >= args.length || !Number.isInteger(k)) throw new ValueError('grad', `argnums ${k} is out of range for ${args.length} argument(s)`);
    const { leaves, def } = flatten(args[k]);
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
 * Evaluate `f(...primals)` and return `[output, pullback]`; `pullback(ct)`
 * returns an array with one cotangent (tree) per primal.
 */
export function vjp<Out = Tensor>(f: (...args: any[]) => Out, ...primals: unknown[]): [Out, (cotangent: Out | number) => unknown[]] {
  const rec = retaining(() => record(f, primals, primals.map((_, i) => i)));
  const out = flatten(rec.result);
  const value = unwrapTree(rec.trace, rec.result) as Out;
  const pullback = (cotangent: Out | number): unknown[] => {
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
        return pullbackTrees(rec, seeds);
      }),
    );
  };
  return [value, pullback];
}


export interface GradOptions {
  /** Which argument(s) to differentiate: a number (default 0) or an array of numbers. */
  argnums?: number | readonly number[];
  /** f returns [value, aux]; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

function checkScalar(op: string, y: unknown): Tensor {
  if (!(y instanceof Tensor)) throw new ValueError(op, `the function must return a scalar tensor (got ${Array.isArray(y) ? 'an array; pass hasAux: true for [value, aux]' : typeof y})`);
  if (y.ndim !== 0) throw new ShapeError(op, `the function must return a scalar, got ${describe(y.dtype, y.shape)} (use jacrev or vjp for non-scalar outputs)`);
  if (!isFloat(y.dtype)) throw new ShapeError(op, `the output must be a float scalar, got ${describe(y.dtype, y.shape)}`);
  return y;
}

/**
 * `valueAndGrad(f, { argnums, hasAux })(...args)` returns `[value, grads]`
 * (or `[[value, aux], grads]` with hasAux); grads is one gradient tree, or an
 * array of them when argnums is an array.
 */
export function valueAndGrad(f: (...args: any[]) => any, opts: GradOptions = {}) {
  const many = Array.isArray(opts.argnums);
  const argnums: readonly number[] = many ? (opts.argnums as number[]) : [(opts.argnums as number | undefined) ?? 0];
  const op = 'grad';
  return (...args: unknown[]): [any, any] =>
    scope(() =>
      retaining(() => {
        const rec = record(f, args, argnums);
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
        const g = many ? grads : grads[0];
        return opts.hasAux ? [[value, unwrapTree(rec.trace, aux)], g] : [value, g];
      }),
    );
}

/** `grad(f, { argnums })(...args)`: the gradient of a scalar function. */
export function grad(f: (...args: any[]) => any, opts: GradOptions = {}) {
  const vg = valueAndGrad(f, opts);
  // the scope frees the value, which grad does not return
  return (...args: unknown[]) =>
    scope(() => {
      const [v, g] = vg(...args);
      return opts.hasAux ? [g, v[1]] : g;
    });
}
