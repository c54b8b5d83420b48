/**
 * Parameter-tree helpers: count parameters, map two or three trees of the same
 * structure leaf by leaf, name every leaf by its path ("0.W", "2.b") for
 * checkpoints, and the global norm used by gradient clipping.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { flatten, sameStructure, unflatten, type Leaf } from '../core/pytree.js';
import { add, mul, sqrt as sqrtT } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { ValueError } from '../tensor/ShapeError.js';
import { Tensor as TensorClass } from '../tensor/Tensor.js';

/** Number of scalars in a parameter tree (sum of the leaves' sizes). */
export function paramCount(tree: unknown): number {
  return flatten(tree).leaves.reduce((a: number, l: Leaf) => a + (typeof l === 'number' ? 1 : l.size), 0);
}

const tensorLeaves = (op: string, tree: unknown): { leaves: Tensor[]; def: ReturnType<typeof flatten>['def'] } => {
  const { leaves, def } = flatten(tree);
  for (const l of leaves) if (!(l instanceof TensorClass)) throw new ValueError(op, 'parameter trees must have tensor leaves');
  return { leaves: leaves as Tensor[], def };
};

/** Map leaves of several trees with the same structure. */
export function zipMap<T>(op: string, trees: readonly unknown[], f: (...leaves: Tensor[]) => Tensor): T {
  const fl = trees.map((t) => tensorLeaves(op, t));
  const d0 = fl[0]!.def;
  for (const f2 of fl)
    if (!sameStructure(d0, f2.def) || f2.leaves.length !== fl[0]!.leaves.length)
      throw new ValueError(op, 'trees have different structures (gradients and parameters must match)');
  return unflatten<T>(
    d0,
    fl[0]!.leaves.map((_, i) => f(...fl.map((x) => x.leaves[i]!))),
  );
}

/** Every tensor leaf with its dotted path ("0.W"); record keys in sorted order. */
export function namedLeaves(tree: unknown, prefix = ''): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const walk = (t: unknown, path: string): void => {
    if (t instanceof TensorClass) out.push([path, t]);
    else if (Array.isArray(t))
      t.forEach((c, i) => {
        walk(c, path === '' ? String(i) : `${path}.${i}`);
      });
    else if (t !== null && typeof t === 'object') {
      for (const k of Object.keys(t).sort()) walk((t as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`);
    }
  };
  walk(tree, prefix);
  return out;
}

/** Rebuild `template`'s structure with leaves looked up by path. */
export function rebuildByName<T>(template: T, get: (path: string, like: Tensor) => Tensor): T {
  const walk = (t: unknown, path: string): unknown => {
    if (t instanceof TensorClass) return get(path, t);
    if (Array.isArray(t)) return t.map((c, i) => walk(c, path === '' ? String(i) : `${path}.${i}`));
    if (t !== null && typeof t === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(t)) o[k] = walk((t as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`);
      return Object.freeze(o);
    }
    return t;
  };
  return walk(template, '') as T;
}

/** sqrt(Σ over all leaves of Σ g²) as a scalar tensor. */
export function globalNorm(tree: unknown): Tensor {
  const { leaves } = tensorLeaves('globalNorm', tree);
  if (leaves.length === 0) throw new ValueError('globalNorm', 'empty tree');
  const sq = leaves.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b));
  return sqrtT(sq);
}
