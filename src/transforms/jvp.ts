/**
 * Forward mode: `jvp(f, primals, tangents)` (Jacobians are in jacobian.ts).
 */
import { JvpTrace, JvpTracer } from '../core/jvpTrace.js';
import { retaining, scope } from '../core/memory.js';
import { flatten, sameStructure, unflatten, type Leaf } from '../core/pytree.js';
import { isZero } from '../core/Zero.js';
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { asTensor, zerosLike } from '../ops/creation.js';

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
