/**
 * Layer state (running statistics) threaded functionally: a stateful layer
 * such as `batchNorm` keeps its state as leaves of its parameters and, when
 * applied in training mode inside `applyWithState`, reports new values for
 * them. `applyWithState(layer, params, x, ctx)` returns the output and a new
 * parameter tree in which those leaves are replaced; the tree passed in is
 * left as it was. Outside `applyWithState` a stateful layer computes the
 * same output and its state does not change.
 */
import type { Tensor } from '../tensor/Tensor.js';
import type { AnyLayer, ApplyContext, Value } from './layer.js';

type Updates = Map<object, Readonly<Record<string, Tensor>>>;

const recorders: Updates[] = [];

/**
 * Report new values for some fields of a layer's own parameter record `params` (the object its `apply` received):
 * they replace those fields in the tree `applyWithState` returns. Does nothing outside `applyWithState`.
 */
export function reportState(params: object, fields: Readonly<Record<string, Tensor>>): void {
  const r = recorders[recorders.length - 1];
  if (!r) return;
  r.set(params, { ...(r.get(params) ?? {}), ...fields });
}

function replaced(tree: unknown, updates: Updates): unknown {
  if (tree === null || typeof tree !== 'object') return tree;
  const own = updates.get(tree);
  if (Array.isArray(tree)) {
    const out = tree.map((c) => replaced(c, updates));
    return out.every((c, i) => c === tree[i]) ? tree : Object.freeze(out);
  }
  const proto = Object.getPrototypeOf(tree);
  if (proto !== Object.prototype && proto !== null) return tree; // a tensor or another leaf
  const rec = tree as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let changed = own !== undefined;
  for (const k of Object.keys(rec)) {
    const v = own && k in own ? own[k] : replaced(rec[k], updates);
    if (v !== rec[k]) changed = true;
    out[k] = v;
  }
  return changed ? Object.freeze(out) : tree;
}

/** What `applyWithState` returns: the layer's output and its parameters with the reported state replaced. */
export interface WithState<P> {
  readonly output: Value;
  readonly params: P;
}

/**
 * Apply `layer` (training mode unless `ctx` says otherwise) and collect the state its stateful layers report
 * (e.g. batchNorm's running mean and variance): returns the output and a new parameter tree holding the new state
 * (every other leaf is the same tensor as in `params`). Differentiable and traceable (`grad`, `jit`) like `apply`.
 *
 * @example
 * ```ts
 * const model = nn.serial(nn.dense(16), nn.batchNorm(), nn.relu, nn.dense(3));
 * const { output, params: next } = nn.applyWithState(model, params, x); // next holds the updated running statistics
 * const yEval = model.apply(next, x, { training: false }); // normalised with the running statistics
 * ```
 */
export function applyWithState<P>(layer: AnyLayer, params: P, x: Value, ctx: ApplyContext = { training: true }): WithState<P> {
  const updates: Updates = new Map();
  recorders.push(updates);
  let output: Value;
  try {
    output = layer.apply(params, x as never, ctx) as Value;
  } finally {
    recorders.pop();
  }
  return { output, params: (updates.size ? replaced(params, updates) : params) as P };
}
