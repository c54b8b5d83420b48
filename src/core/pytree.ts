/**
 * Pytrees: arguments and results may be nested arrays and plain records whose
 * leaves are tensors (or numbers). Transformations flatten them, work on the
 * leaves and rebuild the same structure. Other values (strings, null,
 * functions, ...) are carried along unchanged as static leaves.
 */
import { Tensor } from '../tensor/Tensor.js';

/** The structure of a pytree without its leaves: what {@link flatten} returns beside the leaves and {@link unflatten} rebuilds from. */
export type TreeDef =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'static'; readonly value: unknown }
  | { readonly kind: 'array'; readonly children: readonly TreeDef[] }
  | { readonly kind: 'record'; readonly keys: readonly string[]; readonly children: readonly TreeDef[] };

/** A pytree leaf: a tensor or a number. */
export type Leaf = Tensor | number;

const isRecord = (x: unknown): x is Record<string, unknown> => {
  if (typeof x !== 'object' || x === null) return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
};

/** Splits a pytree into its tensor/number leaves (records in sorted key order) and its structure. */
export function flatten(tree: unknown): { leaves: Leaf[]; def: TreeDef } {
  const leaves: Leaf[] = [];
  const walk = (t: unknown): TreeDef => {
    if (t instanceof Tensor || typeof t === 'number') {
      leaves.push(t);
      return { kind: 'leaf' };
    }
    if (Array.isArray(t)) return { kind: 'array', children: t.map(walk) };
    if (isRecord(t)) {
      const keys = Object.keys(t).sort();
      return { kind: 'record', keys, children: keys.map((k) => walk(t[k])) };
    }
    return { kind: 'static', value: t };
  };
  const def = walk(tree);
  return { leaves, def };
}

/** Rebuilds a pytree from its structure and one value per leaf; throws when the number of leaves does not match. */
export function unflatten<T = unknown>(def: TreeDef, leaves: readonly unknown[]): T {
  let i = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'leaf':
        return leaves[i++];
      case 'static':
        return d.value;
      case 'array':
        return d.children.map(build);
      case 'record': {
        const o: Record<string, unknown> = {};
        d.keys.forEach((k, j) => {
          o[k] = build(d.children[j]!);
        });
        return o;
      }
    }
  };
  const out = build(def);
  if (i !== leaves.length) throw new Error(`pytree: ${leaves.length} leaves given for a structure with ${i}`);
  return out as T;
}

/** Map every tensor/number leaf of a tree. */
export function mapLeaves<T>(tree: T, f: (leaf: Leaf, index: number) => unknown): T {
  const { leaves, def } = flatten(tree);
  return unflatten<T>(def, leaves.map(f));
}

/** The tensor/number leaves of a pytree, in {@link flatten} order. */
export function treeLeaves(tree: unknown): Leaf[] {
  return flatten(tree).leaves;
}

/** Whether two tree structures are the same (same kinds, lengths and record keys; leaves and static values compare equal). */
export function sameStructure(a: TreeDef, b: TreeDef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'leaf' || a.kind === 'static') return true;
  if (a.kind === 'array' && b.kind === 'array')
    return a.children.length === b.children.length && a.children.every((c, i) => sameStructure(c, b.children[i]!));
  if (a.kind === 'record' && b.kind === 'record') {
    return (
      a.keys.length === b.keys.length &&
      a.keys.every((k, i) => k === b.keys[i]) &&
      a.children.every((c, i) => sameStructure(c, b.children[i]!))
    );
  }
  return false;
}
