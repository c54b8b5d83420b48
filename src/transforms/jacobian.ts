/**
 * Jacobians: `jacfwd` (the JVP along every input basis vector) and `jacrev`
 * (the pullback of every output basis vector), each one batched pass with
 * `vmap` (or one pass per basis vector with `vectorize: false`), and
 * `hessian` = jacfwd ∘ jacrev. The differentiated argument
 * and the result may be pytrees: the Jacobian is the output's tree whose
 * leaves are the input's tree of blocks, each of shape
 * output-leaf.shape ++ input-leaf.shape (a plain tensor when both are tensors).
 */
import { retaining, scope } from '../core/memory.js';
import { flatten, unflatten, type TreeDef } from '../core/pytree.js';
import { allocArray } from '../tensor/dtype.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, backendOf, fromTypedArray, zerosLike } from '../ops/creation.js';
import { reshape, stack, transpose } from '../ops/structural.js';
import { vmap } from './vmap.js';
import {
  checkFloatArgument,
  checkInRange,
  resolveArgnums,
  type Argnums,
  type ArgnumsOf,
  type CheckArgnums,
  type Fn,
  type GradsOf,
  type JacobianOf,
  type ResolvedArgnums,
  type TensorTree,
} from './argnums.js';
import { jvp } from './jvp.js';
import { vjp } from './vjp.js';
import { sizeOf } from '../tensor/shape.js';

/** Options of `jacfwd`, `jacrev` and `hessian`. */
export interface JacOptions {
  /**
   * Which argument(s) to differentiate: a number (default 0; the argument may
   * be a pytree) or an array of distinct numbers (each output leaf then holds
   * a tuple of blocks, one per index, as in JAX).
   */
  readonly argnums?: Argnums;
  /**
   * true (default): one batched pass over every basis vector (`vmap` of the
   * JVP or of the pullback); false: one pass per basis vector, the definition
   * (for comparison and for user primitives without a batching rule).
   */
  readonly vectorize?: boolean;
}

/** The Jacobian type of `jacfwd(f, opts)` / `jacrev(f, opts)`: the output's tree of the differentiated arguments' trees of blocks. */
export type JacobianOfFn<F extends Fn, O> = JacobianOf<TensorTree<ReturnType<F>>, GradsOf<Parameters<F>, ArgnumsOf<O>>>;

/** The Hessian type of `hessian(f, opts)`: the Jacobian of the gradient. */
export type HessianOfFn<F extends Fn, O> = JacobianOf<JacobianOfFn<F, O>, GradsOf<Parameters<F>, ArgnumsOf<O>>>;

/** A basis tensor: 1 at flat index i, 0 elsewhere, shaped like `like`. */
export function basis(like: Tensor, i: number): Tensor {
  const a = allocArray(like.dtype, like.size);
  a[i] = 1;
  return fromTypedArray(a, like.shape, like.dtype, backendOf(like));
}

/** The identity basis of `like`'s elements, stacked: [n, ...like.shape] with a 1 at [e, flat index e]. */
function basisStack(like: Tensor): Tensor {
  const n = like.size;
  const a = allocArray(like.dtype, n * n);
  for (let e = 0; e < n; e++) a[e * n + e] = 1;
  return fromTypedArray(a, [n, ...like.shape], like.dtype, backendOf(like));
}

/** A stack of per-basis-vector results [n, ...y.shape] as a Jacobian block [...y.shape, ...x.shape] (basis axis last). */
function stackedToBlock(stacked: Tensor, y: Tensor, x: Tensor): Tensor {
  const r = y.shape.length;
  const moved = r === 0 ? stacked : transpose(stacked, [...Array.from({ length: r }, (_, i) => i + 1), 0]);
  return reshape(moved, [...y.shape, ...x.shape]);
}

function zerosOf(shape: readonly number[], like: Tensor): Tensor {
  return fromTypedArray(allocArray(like.dtype, sizeOf(shape)), shape, like.dtype, backendOf(like));
}

interface Problem {
  /** The argument's leaves as tensors, and its structure. */
  readonly xs: Tensor[];
  readonly inDef: TreeDef;
  /** f as a function of the argument's leaves. */
  readonly g: (...leaves: Tensor[]) => unknown;
}

/**
 * The differentiated argument(s) as one tree: argument `k` itself, or the
 * tuple of the arguments at the indices when argnums is an array.
 */
function setUp(op: string, f: Fn, args: readonly unknown[], argnums: ResolvedArgnums): Problem {
  checkInRange(op, argnums, args.length);
  for (const k of argnums.list) checkFloatArgument(op, k, args[k]);
  const tree = argnums.many ? argnums.list.map((k) => args[k]) : args[argnums.list[0]!];
  const { leaves, def } = flatten(tree);
  if (leaves.length === 0) throw new ValueError(op, `argument(s) ${argnums.list.join(', ')} have no tensor to differentiate`);
  const xs = leaves.map((l) => (typeof l === 'number' ? asTensor(l) : l));
  const g = (...ls: Tensor[]) => {
    const wrt = unflatten(def, ls);
    const full = [...args];
    if (argnums.many) {
      for (const [j, k] of argnums.list.entries()) full[k] = (wrt as unknown[])[j];
    } else full[argnums.list[0]!] = wrt;
    return f(...full);
  };
  return { xs, inDef: def, g };
}

function outputLeaves(op: string, y: unknown): { ys: Tensor[]; outDef: TreeDef } {
  const { leaves, def } = flatten(y);
  if (leaves.length === 0) throw new ValueError(op, 'the function returned no tensor');
  return { ys: leaves.map((l) => (typeof l === 'number' ? asTensor(l) : l)), outDef: def };
}

/** Assemble blocks J[o][i] into the output tree of input trees. */
function assemble(blocks: Tensor[][], outDef: TreeDef, inDef: TreeDef): unknown {
  return unflatten(
    outDef,
    blocks.map((row) => unflatten(inDef, row)),
  );
}

/** jacfwd with the transformation's name for its errors (`hessian` reuses it). */
function jacfwdNamed(op: string, f: Fn, opts: JacOptions): (...args: unknown[]) => unknown {
  const argnums = resolveArgnums(op, opts.argnums);
  const vectorize = opts.vectorize !== false;
  return (...args: unknown[]): unknown =>
    scope(() =>
      retaining(() => {
        const { xs, inDef, g } = setUp(op, f, args, argnums);
        const { ys, outDef } = outputLeaves(op, g(...xs));
        const blocks = ys.map((y) =>
          xs.map((x) => (x.size === 0 || y.size === 0 ? zerosOf([...y.shape, ...x.shape], y) : (null as unknown as Tensor))),
        );
        xs.forEach((x, i) => {
          if (x.size === 0) return;
          if (vectorize) {
            // every basis vector of x at once: vmap of the JVP over the stacked basis
            const columns = vmap((t: Tensor) => {
              const [, ty] = jvp(
                g,
                xs,
                xs.map((z, k) => (k === i ? t : zerosLike(z))),
              );
              return outputLeaves(op, ty).ys;
            })(basisStack(x));
            ys.forEach((y, o) => {
              if (y.size > 0) blocks[o]![i] = stackedToBlock(columns[o]!, y, x);
            });
            return;
          }
          const cols: Tensor[][] = ys.map(() => []);
          for (let e = 0; e < x.size; e++) {
            const tangents = xs.map((z, k) => (k === i ? basis(x, e) : zerosLike(z)));
            const [, ty] = jvp(g, xs, tangents);
            outputLeaves(op, ty).ys.forEach((t, o) => {
              cols[o]!.push(t);
            });
          }
          ys.forEach((y, o) => {
            if (y.size > 0) blocks[o]![i] = reshape(stack(cols[o]!, -1), [...y.shape, ...x.shape]);
          });
        });
        return assemble(blocks, outDef, inDef);
      }),
    );
}

/** jacrev with the transformation's name for its errors (`hessian` reuses it). */
function jacrevNamed(op: string, f: Fn, opts: JacOptions): (...args: unknown[]) => unknown {
  const argnums = resolveArgnums(op, opts.argnums);
  const vectorize = opts.vectorize !== false;
  return (...args: unknown[]): unknown =>
    scope(() =>
      retaining(() => {
        const { xs, inDef, g } = setUp(op, f, args, argnums);
        const [y, pb] = vjp(g, ...xs);
        const { ys, outDef } = outputLeaves(op, y);
        const blocks = ys.map((yo) => xs.map((x) => zerosOf([...yo.shape, ...x.shape], x)));
        ys.forEach((yo, o) => {
          if (yo.size === 0) return;
          if (vectorize) {
            // every basis vector of output o at once: vmap of the pullback over the stacked basis
            const rows = vmap((c: Tensor) =>
              pb(
                unflatten(
                  outDef,
                  ys.map((z, k) => (k === o ? c : zerosLike(z))),
                ),
              ),
            )(basisStack(yo)) as Tensor[];
            xs.forEach((x, i) => {
              if (x.size > 0) blocks[o]![i] = reshape(rows[i]!, [...yo.shape, ...x.shape]);
            });
            return;
          }
          const rows: Tensor[][] = xs.map(() => []);
          for (let e = 0; e < yo.size; e++) {
            const ct = unflatten(
              outDef,
              ys.map((z, k) => (k === o ? basis(yo, e) : zerosLike(z))),
            );
            pb(ct).forEach((c, i) => {
              rows[i]!.push(c);
            });
          }
          xs.forEach((x, i) => {
            if (x.size > 0) blocks[o]![i] = reshape(stack(rows[i]!, 0), [...yo.shape, ...x.shape]);
          });
        });
        return assemble(blocks, outDef, inDef);
      }),
    );
}

/**
 * The Jacobian by forward mode, one JVP per element of the differentiated
 * argument(s): `J[i…][j…] = ∂f(x)[i…] / ∂x[j…]`, of shape
 * output.shape ++ input.shape for a tensor argument and output. Argument and
 * output may be pytrees (see the module comment); best when the input is
 * smaller than the output.
 *
 * @example
 * const J = ct.jacfwd((x: ct.Tensor) => ct.mul(x, x))(ct.tensor([1, 2])); // [[2, 0], [0, 4]]
 * const [Ja, Jb] = ct.jacfwd((a: ct.Tensor, b: ct.Tensor) => ct.mul(a, b), { argnums: [0, 1] })(a, b);
 */
export function jacfwd<F extends Fn, const O extends JacOptions = Record<never, never>>(
  f: F,
  opts?: O & CheckArgnums<Parameters<F>, O>,
): (...args: Parameters<F>) => JacobianOfFn<F, O> {
  return jacfwdNamed('jacfwd', f, opts ?? {}) as (...args: Parameters<F>) => JacobianOfFn<F, O>;
}

/**
 * The Jacobian by reverse mode, one pullback per output element:
 * `J[i…][j…] = ∂f(x)[i…] / ∂x[j…]` (the same result as `jacfwd`); best when
 * the output is smaller than the input.
 *
 * @example
 * const J = ct.jacrev((x: ct.Tensor) => ct.mul(x, x))(ct.tensor([1, 2])); // [[2, 0], [0, 4]]
 * // W: output.shape ++ W.shape
 * const { W, b } = ct.jacrev((p: { W: ct.Tensor; b: ct.Tensor }) => ct.add(ct.matmul(p.W, x), p.b))({ W, b });
 */
export function jacrev<F extends Fn, const O extends JacOptions = Record<never, never>>(
  f: F,
  opts?: O & CheckArgnums<Parameters<F>, O>,
): (...args: Parameters<F>) => JacobianOfFn<F, O> {
  return jacrevNamed('jacrev', f, opts ?? {}) as (...args: Parameters<F>) => JacobianOfFn<F, O>;
}

/**
 * The Hessian of a scalar function, `H[i…][j…] = ∂²f / ∂x[i…] ∂x[j…]`,
 * computed as jacfwd(jacrev(f)); for a tensor argument of shape s its shape is
 * s ++ s, for a record argument it is the record of records of blocks
 * (`H.W.b` is the W–b block).
 *
 * @example
 * const H = ct.hessian((x: ct.Tensor) => ct.sum(ct.mul(x, ct.mul(x, x))))(ct.tensor([1, 2])); // diag(6x) = [[6, 0], [0, 12]]
 */
export function hessian<F extends Fn, const O extends JacOptions = Record<never, never>>(
  f: F,
  opts?: O & CheckArgnums<Parameters<F>, O>,
): (...args: Parameters<F>) => HessianOfFn<F, O> {
  const o: JacOptions = opts ?? {};
  return jacfwdNamed('hessian', jacrevNamed('hessian', f, o), o) as (...args: Parameters<F>) => HessianOfFn<F, O>;
}
