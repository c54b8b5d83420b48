/**
 * Forward-mode transformations: `jvp(f, primals, tangents)` and `jacfwd`.
 */
import { JvpTrace, JvpTracer } from '../core/jvpTrace.js';
import { retaining, scope } from '../core/memory.js';
import { flatten, sameStructure, unflatten, type Leaf } from '../core/pytree.js';
import { isZero } from '../core/Zero.js';
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { asTensor, backendOf, fromTypedArray, zerosLike } from '../ops/creation.js';
import { reshape, stack } from '../ops/structural.js';
import { allocArray } from '../tensor/dtype.js';

const leafTensor = (l: Leaf, like?: Tensor): Tensor => (typeof l === 'number' ? asTensor(l, like) : l);

/**
 * Evaluate `f(...primals)` and its directional derivative along `tangents`.
 * Returns `[output, outputTangent]` with the output's tree structure.
 */
export function jvp<Out = Tensor>(f: (...args: any[]) => Out, primals: readonly unknown[], tangents: readonly unknown[]): [Out, Out] {
  const p = flatten(primals);
  const t = flatten(tangents);
  if (!sameStructure(p.def, t.def) || p.leaves.length !== t.leaves.length) {
    throw new ValueError('jvp', 'tangents must have the same structure as primals');
  }
  return scope(() =>
    retaining(() => {
      const trace = new JvpTrace();
      try {
        const leaves = p.leaves.map((pl, i) => {
          const x = leafTensor(pl);
          const dx = leafTensor(t.leaves[i]!, x);
          if (!shapesEqual(x.shape, dx.shape) || x.dtype !== dx.dtype) {
            throw new ShapeError('jvp', `tangent ${describe(dx.dtype, dx.shape)} does not match primal ${describe(x.dtype, x.shape)} (argument leaf ${i})`);
          }
          return new JvpTracer(trace, x, dx);
        });
        const out = f(...unflatten<unknown[]>(p.def, leaves));
        const o = flatten(out);
        const outs: Tensor[] = [];
        const outTangents: Tensor[] = [];
        for (const leaf of o.leaves) {
          const y = leafTensor(leaf);
          if (y instanceof JvpTracer && y.trace === trace) {
            outs.push(y.primal);
            outTangents.push(isZero(y.tangent) ? zerosLike(y.primal) : y.tangent);
          } else {
            outs.push(y);
            outTangents.push(zerosLike(y));
          }
        }
        return [unflatten<Out>(o.def, outs), unflatten<Out>(o.def, outTangents)] as [Out, Out];
      } finally {
        trace.active = false;
      }
    }),
  );
}

/** A basis tensor: 1 at flat index i, 0 elsewhere, shaped like `like`. */
export function basis(like: Tensor, i: number): Tensor {
  const a = allocArray(like.dtype, like.size);
  a[i] = 1;
  return fromTypedArray(a, like.shape, like.dtype, backendOf(like));
}

export interface JacOptions {
  /** Which argument to differentiate (default 0). */
  argnums?: number;
}

function argTensor(op: string, args: readonly unknown[], argnums: number): Tensor {
  const x = args[argnums];
  if (typeof x === 'number') return asTensor(x);
  if (!(x instanceof Tensor)) throw new ValueError(op, `argument ${argnums} must be a tensor (got ${typeof x})`);
  return x;
}

function outTensor(op: string, y: unknown): Tensor {
  if (!(y instanceof Tensor)) throw new ValueError(op, `the function must return a tensor (got ${typeof y})`);
  return y;
}

/**
 * Jacobian by forward mode: one JVP per input element. The result has shape
 * output.shape ++ input.shape.
 */
export function jacfwd(f: (...args: any[]) => Tensor, opts: JacOptions = {}) {
  const argnums = opts.argnums ?? 0;
  return (...args: unknown[]): Tensor =>
    scope(() =>
      retaining(() => {
        const x = argTensor('jacfwd', args, argnums);
        const g = (xi: Tensor) => outTensor('jacfwd', f(...args.map((a, i) => (i === argnums ? xi : a))));
        if (x.size === 0) {
          const y = g(x);
          return zerosOf([...y.shape, ...x.shape], y);
        }
        const cols: Tensor[] = [];
        let yShape: readonly number[] = [];
        for (let i = 0; i < x.size; i++) {
          const [y, ty] = jvp(g, [x], [basis(x, i)]);
          yShape = y.shape;
          cols.push(ty);
        }
        return reshape(stack(cols, -1), [...yShape, ...x.shape]);
      }),
    );
}

export function zerosOf(shape: readonly number[], like: Tensor): Tensor {
  return fromTypedArray(allocArray(like.dtype, shape.reduce((a, b) => a * b, 1)), shape, like.dtype, backendOf(like));
}

