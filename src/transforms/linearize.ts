/**
 * `linearize(f, ...primals)`: the value of `f` and its linearisation at
 * `primals` as a function of new tangents that does not run the forward pass
 * again.
 *
 * How: forward mode with concrete primals and abstract tangents. The tangents
 * are values of a graph trace created before the JVP trace (so the JVP trace
 * is the higher level and sees every application first): each primitive runs
 * once on the primals, and the tangent operations of its JVP rule, which act
 * on graph values, are recorded as equations whose constants are the
 * residuals (the primal values and the products of primal values the rules
 * need). Applying the linearised function evaluates that graph on the new
 * tangents: only tangent operations run.
 */
import { type Graph, GraphTrace } from '../core/graphTrace.js';
import { JvpTrace, JvpTracer } from '../core/jvpTrace.js';
import { retaining, scope } from '../core/memory.js';
import { flatten, sameStructure, unflatten, type Leaf, type TreeDef } from '../core/pytree.js';
import { avalOf } from '../core/trace.js';
import { isZero } from '../core/Zero.js';
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, backendOf, zerosLike } from '../ops/creation.js';
import { checkFloatLeaves, type Fn, type TangentOf, type TensorTree } from './argnums.js';
import { evalGraph } from './graph.js';

const leafTensor = (l: Leaf, like?: Tensor): Tensor => (typeof l === 'number' ? asTensor(l, like) : l);

/** What linearising records: the tangent program, and per output leaf its graph output (or null: a zero tangent). */
interface Linearised {
  readonly outs: Tensor[];
  readonly outDef: TreeDef;
  readonly graph: Graph;
  /** per output leaf: the index of its tangent among the graph outputs, or -1 when its tangent is zero */
  readonly slot: number[];
}

/**
 * Linearise `f` at `primals`: returns `[output, jvpFn]`, where `output` is
 * `f(...primals)` and `jvpFn(...tangents)` is the Jacobian-vector product
 * `J·t` at `primals` (what `jvp(f, primals, tangents)[1]` computes) without
 * running `f` or any primal operation again: the forward pass runs once, and
 * `jvpFn` evaluates only the tangent operations on the stored residuals.
 * `tangents` has the structure of `primals`, each leaf of its primal's shape
 * and dtype (a number is a scalar); every primal is differentiated, so each
 * must be float. The residuals belong to the scope `linearize` is called in.
 *
 * @example
 * const f = (x: ct.Tensor) => ct.tanh(ct.matmul(x, W));
 * const [y, fLin] = ct.linearize(f, x);
 * const dy = fLin(dx); // = ct.jvp(f, [x], [dx])[1], without recomputing tanh(x @ W)
 */
export function linearize<F extends Fn>(
  f: F,
  ...primals: Parameters<F>
): [TensorTree<ReturnType<F>>, (...tangents: TangentOf<Parameters<F>>) => TensorTree<ReturnType<F>>] {
  if (typeof f !== 'function') throw new ValueError('linearize', 'expects a function and its primal arguments');
  const p = flatten(primals);
  primals.forEach((a, i) => {
    checkFloatLeaves('linearize', i, flatten(a).leaves);
  });
  const xs = p.leaves.map((l) => leafTensor(l));
  const lin: Linearised = scope(() =>
    retaining(() => {
      // the graph trace first: the JVP trace above it sees every application, the graph records the tangent operations
      const graph = new GraphTrace();
      graph.readError = 'linearize: tangents are abstract while linearising; the function may read primal values only';
      // constants the JVP rules make beside the tangents live where the primals do
      if (xs.length > 0) graph.backend = backendOf(xs[0]!);
      const jvp = new JvpTrace();
      try {
        const tangentIns = xs.map((x) => graph.input(avalOf(x)));
        const leaves = xs.map((x, i) => new JvpTracer(jvp, x, tangentIns[i]!));
        const out = f(...unflatten<unknown[]>(p.def, leaves));
        const o = flatten(out);
        const outs: Tensor[] = [];
        const outputs: Graph['outputs'][number][] = [];
        const slot: number[] = [];
        for (const leaf of o.leaves) {
          const y = leafTensor(leaf);
          if (y instanceof JvpTracer && y.trace === jvp && !isZero(y.tangent)) {
            outs.push(y.primal);
            slot.push(outputs.length);
            outputs.push(graph.varOf(y.tangent));
          } else {
            outs.push(y instanceof JvpTracer && y.trace === jvp ? y.primal : y);
            slot.push(-1);
          }
        }
        const g: Graph = { inputs: tangentIns.map((t) => t.v), consts: [...graph.consts], eqns: [...graph.eqns], outputs };
        // returned from the scope: the outputs and the residuals (the graph's constants) stay alive
        return { outs, outDef: o.def, graph: g, slot };
      } finally {
        jvp.active = false;
        graph.active = false;
      }
    }),
  );
  const jvpFn = (...tangents: TangentOf<Parameters<F>>): TensorTree<ReturnType<F>> => {
    const t = flatten(tangents);
    if (!sameStructure(p.def, t.def) || t.leaves.length !== xs.length) {
      throw new ValueError('linearize', 'tangents must have the same structure as the primals');
    }
    const ts = t.leaves.map((l, i) => {
      const x = xs[i]!;
      const dx = leafTensor(l, x);
      if (!shapesEqual(x.shape, dx.shape) || x.dtype !== dx.dtype) {
        throw new ShapeError(
          'linearize',
          `tangent ${describe(dx.dtype, dx.shape)} does not match primal ${describe(x.dtype, x.shape)} (argument leaf ${i})`,
        );
      }
      return dx;
    });
    return scope(() => {
      const dys = evalGraph(lin.graph, ...ts);
      return unflatten<TensorTree<ReturnType<F>>>(
        lin.outDef,
        lin.slot.map((s, i) => (s < 0 ? zerosLike(lin.outs[i]!) : dys[s]!)),
      );
    });
  };
  return [unflatten<TensorTree<ReturnType<F>>>(lin.outDef, lin.outs), jvpFn];
}
