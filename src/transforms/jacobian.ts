/**
 * Jacobians: `jacfwd` (one JVP per input element), `jacrev` (one pullback per
 * output element) and `hessian` = jacfwd ∘ jacrev. The differentiated argument
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
import { reshape, stack } from '../ops/structural.js';
import { jvp } from './jvp.js';
import { vjp } from './vjp.js';

export interface JacOptions {
  /** Which argument to differentiate (default 0); it may be a pytree. */
  argnums?: number;
}

/** A basis tensor: 1 at flat index i, 0 elsewhere, shaped like `like`. */
export function basis(like: Tensor, i: number): Tensor {
  const a = allocArray(like.dtype, like.size);
  a[i] = 1;
  return fromTypedArray(a, like.shape, like.dtype, backendOf(like));
}

function zerosOf(shape: readonly number[], like: Tensor): Tensor {
  return fromTypedArray(allocArray(like.dtype, shape.reduce((a, b) => a * b, 1)), shape, like.dtype, backendOf(like));
}

interface Problem {
  /** The argument's leaves as tensors, and its structure. */
  readonly xs: Tensor[];
  readonly inDef: TreeDef;
  /** f as a function of the argument's leaves. */
  readonly g: (...leaves: Tensor[]) => unknown;
}

function setUp(op: string, f: (...args: any[]) => unknown, args: readonly unknown[], argnums: number): Problem {
  if (!Number.isInteger(argnums) || argnums < 0 || argnums >= args.length) throw new ValueError(op, `argnums ${argnums} is out of range for ${args.length} argument(s)`);
  const { leaves, def } = flatten(args[argnums]);
  if (leaves.length === 0) throw new ValueError(op, `argument ${argnums} has no tensor to differentiate`);
  const xs = leaves.map((l) => (typeof l === 'number' ? asTensor(l) : l));
  const g = (...ls: Tensor[]) => f(...args.map((a, i) => (i === argnums ? unflatten(def, ls) : a)));
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

/** Jacobian by forward mode. */
export function jacfwd<J = Tensor>(f: (...args: any[]) => unknown, opts: JacOptions = {}) {
  const argnums = opts.argnums ?? 0;
  return (...args: unknown[]): J =>
    scope(() =>
      retaining(() => {
        const { xs, inDef, g } = setUp('jacfwd', f, args, argnums);
        const { ys, outDef } = outputLeaves('jacfwd', g(...xs));
        const blocks = ys.map((y) =>
          xs.map((x) => (x.size === 0 || y.size === 0 ? zerosOf([...y.shape, ...x.shape], y) : (null as unknown as Tensor))),
        );
        xs.forEach((x, i) => {
          if (x.size === 0) return;
          const cols: Tensor[][] = ys.map(() => []);
          for (let e = 0; e < x.size; e++) {
            const tangents = xs.map((z, k) => (k === i ? basis(x, e) : zerosLike(z)));
            const [, ty] = jvp(g, xs, tangents);
            outputLeaves('jacfwd', ty).ys.forEach((t, o) => cols[o]!.push(t));
          }
          ys.forEach((y, o) => {
            if (y.size > 0) blocks[o]![i] = reshape(stack(cols[o]!, -1), [...y.shape, ...x.shape]);
          });
        });
        return assemble(blocks, outDef, inDef) as J;
      }),
    );
}

/** Jacobian by reverse mode. */
export function jacrev<J = Tensor>(f: (...args: any[]) => unknown, opts: JacOptions = {}) {
  const argnums = opts.argnums ?? 0;
  return (...args: unknown[]): J =>
    scope(() =>
      retaining(() => {
        const { xs, inDef, g } = setUp('jacrev', f, args, argnums);
        const [y, pb] = vjp(g, ...xs);
        const { ys, outDef } = outputLeaves('jacrev', y);
        const blocks = ys.map((yo) => xs.map((x) => zerosOf([...yo.shape, ...x.shape], x)));
        ys.forEach((yo, o) => {
          if (yo.size === 0) return;
          const rows: Tensor[][] = xs.map(() => []);
          for (let e = 0; e < yo.size; e++) {
            const ct = unflatten(
              outDef,
              ys.map((z, k) => (k === o ? basis(yo, e) : zerosLike(z))),
            );
            (pb(ct) as Tensor[]).forEach((c, i) => rows[i]!.push(c));
          }
          xs.forEach((x, i) => {
            if (x.size > 0) blocks[o]![i] = reshape(stack(rows[i]!, 0), [...yo.shape, ...x.shape]);
          });
        });
        return assemble(blocks, outDef, inDef) as J;
      }),
    );
}

/** Hessian of a scalar function: jacfwd(jacrev(f)); for a tensor argument, shape input.shape ++ input.shape. */
export function hessian<H = Tensor>(f: (...args: any[]) => unknown, opts: JacOptions = {}) {
  return jacfwd<H>(jacrev(f, opts), opts);
}
