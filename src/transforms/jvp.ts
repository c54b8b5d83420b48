/**
 * Forward mode: `jvp(f, primals, tangents)` (Jacobians are in jacobian.ts).
 * Each primal travels with its tangent through `f`; every primitive's JVP
 * rule pushes the tangent forward.
 */
import { JvpTrace, JvpTracer } from '../core/jvpTrace.js';
import { retaining, scope } from '../core/memory.js';
import { flatten, sameStructure, unflatten, type Leaf } from '../core/pytree.js';
import { isZero } from '../core/Zero.js';
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, zerosLike } from '../ops/creation.js';
import { checkFloatLeaves, type Fn, type TangentOf, type TensorTree } from './argnums.js';

const leafTensor = (l: Leaf, like?: Tensor): Tensor => (typeof l === 'number' ? asTensor(l, like) : l);

/**
 * Forward mode: evaluate `f(...primals)` and its directional derivative along
 * `tangents`, the Jacobian-vector product `J·t`. Returns
 * `[output, outputTangent]`, both with the output's tree structure. `tangents`
 * has the structure of `primals`, each leaf of its primal's shape and dtype (a
 * number is a scalar of the primal's dtype); every primal is differentiated,
 * so each must be float.
 *
 * @example
 * const [y, dy] = ct.jvp((x: ct.Tensor) => ct.sin(x), [ct.tensor([0, 1])], [ct.tensor([1, 1])]); // dy = cos x
 * const [, dz] = ct.jvp((a: ct.Tensor, b: ct.Tensor) => ct.mul(a, b), [ct.scalar(2), ct.scalar(3)], [1, 0]); // dz = b = 3
 */
export function jvp<F extends Fn>(
  f: F,
  primals: Readonly<Parameters<F>>,
  tangents: TangentOf<Parameters<F>>,
): [TensorTree<ReturnType<F>>, TensorTree<ReturnType<F>>] {
  const p = flatten(primals);
  const t = flatten(tangents);
  primals.forEach((a, i) => {
    checkFloatLeaves('jvp', i, flatten(a).leaves);
  });
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
            throw new ShapeError(
              'jvp',
              `tangent ${describe(dx.dtype, dx.shape)} does not match primal ${describe(x.dtype, x.shape)} (argument leaf ${i})`,
            );
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
        return [unflatten<TensorTree<ReturnType<F>>>(o.def, outs), unflatten<TensorTree<ReturnType<F>>>(o.def, outTangents)];
      } finally {
        trace.active = false;
      }
    }),
  );
}
