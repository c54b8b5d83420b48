/**
 * Vectorisation: `vmap(f, { inAxes, outAxes, axisSize })` runs `f` on a
 * whole batch at once. A BatchTracer is a batched value: the tensor holding
 * every example and the axis (its batch dim) along which they lie. Processing
 * a primitive applies its batching rule (the third rule of every record, see
 * ops/batching.ts); a user primitive without one is run once per example and
 * the results stacked (with a one-time notice); a custom call (customJvp,
 * customVjp, a jitted call) runs its ops, each batched.
 */
import { retaining, scope } from '../core/memory.js';
import { isCustomCall, type Bindable, type Primitive } from '../core/Primitive.js';
import { flatten, unflatten, type TreeDef } from '../core/pytree.js';
import { bind, Trace, Tracer } from '../core/trace.js';
import { describe } from '../tensor/format.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import type { TypedArray } from '../tensor/dtype.js';
import { scalar } from '../ops/creation.js';
import { batchOps, reshape, slice, stack } from '../ops/structural.js';
import { toFront } from '../ops/batching.js';
import type { Fn } from './argnums.js';

/** A batched value: `val` holds every example along axis `bdim`; its shape is one example's. */
export class BatchTracer extends Tracer {
  constructor(
    readonly trace: BatchTrace,
    readonly val: Tensor,
    readonly bdim: number,
  ) {
    super();
  }
  get shape() {
    return this.val.shape.filter((_, i) => i !== this.bdim);
  }
  get dtype() {
    return this.val.dtype;
  }
  primalValue(): Tensor {
    return this.val;
  }
  override dataSync(): TypedArray {
    throw new ValueError('dataSync', READ_ERROR(this));
  }
  override data(): Promise<TypedArray> {
    return Promise.reject(new ValueError('data', READ_ERROR(this)));
  }
}

const READ_ERROR = (t: BatchTracer): string =>
  `inside vmap ${describe(t.dtype, t.shape)} is one example of a batch of ${t.trace.size}; its values cannot be read there ` +
  '(compute with ops, or read the batched result outside vmap)';

const warned = new Set<string>();

/** The examples of a batched input one at a time: input i of example k. */
function example(x: Tensor, d: number | null, k: number): Tensor {
  if (d === null) return x;
  const starts = x.shape.map((_, i) => (i === d ? k : 0));
  const sizes = x.shape.map((s, i) => (i === d ? 1 : s));
  return reshape(
    slice(x, starts, sizes),
    x.shape.filter((_, i) => i !== d),
  );
}

/** The batching of a primitive without a rule: once per example, results stacked along axis 0. */
function loopBatch(prim: Primitive, xs: readonly Tensor[], dims: readonly (number | null)[], params: unknown, size: number): Tensor {
  if (!warned.has(prim.name)) {
    warned.add(prim.name);
    console.warn(
      `vmap: primitive '${prim.name}' has no batching rule; it runs once per example (give definePrimitive a batch rule to batch it)`,
    );
  }
  return stack(
    Array.from({ length: size }, (_, k) =>
      bind(
        prim,
        xs.map((x, i) => example(x, dims[i]!, k)),
        params,
      ),
    ),
    0,
  );
}

/** Batching: applies each primitive's batching rule to batched values. */
export class BatchTrace extends Trace {
  readonly kind = 'vmap';
  constructor(readonly size: number) {
    super();
  }

  process(prim: Bindable, inputs: readonly Tensor[], params: unknown): Tensor {
    const vals: Tensor[] = [];
    const dims: (number | null)[] = [];
    for (const x of inputs) {
      if (x instanceof BatchTracer && x.trace === this) {
        vals.push(x.val);
        dims.push(x.bdim);
      } else {
        vals.push(x);
        dims.push(null);
      }
    }
    if (dims.every((d) => d === null)) return bind(prim, vals, params);
    if (isCustomCall(prim)) return prim.impl(inputs, params); // its ops, each batched
    const [out, d] = prim.batch ? prim.batch(vals, dims, params, this.size, prim) : [loopBatch(prim, vals, dims, params, this.size), 0];
    if (d === null) return out;
    if (out.shape[d] !== this.size)
      throw new ValueError(
        prim.name,
        `batching rule returned ${describe(out.dtype, out.shape)} without the batch of ${this.size} at axis ${d}`,
      );
    return new BatchTracer(this, out, d);
  }
}

/** An axis spec: a number or null for every leaf below, or a tree matching the value's. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

/** Options of {@link vmap}. */
export interface VmapOptions {
  /**
   * The batch axis of each argument (default 0): a number (negative counts from the end) or null (shared by every
   * example) for all arguments, an array with one entry per argument, or per argument a tree matching it.
   */
  readonly inAxes?: AxisSpec;
  /** Where the batch axis goes in each output (default 0): a number, or null for an output that is the same for every example. */
  readonly outAxes?: AxisSpec;
  /** The batch size, needed when no argument is batched. */
  readonly axisSize?: number;
}

/** The spec of every leaf of a tree structure, from a spec that is a number/null or a tree matching it. */
function leafAxes(op: string, what: string, spec: AxisSpec, def: TreeDef): (number | null)[] {
  const out: (number | null)[] = [];
  const walk = (s: AxisSpec, d: TreeDef, path: string): void => {
    if (d.kind === 'static') return;
    if (s === null || typeof s === 'number') {
      const n = countLeaves(d);
      for (let i = 0; i < n; i++) out.push(s);
      return;
    }
    if (d.kind === 'leaf') throw new ValueError(op, `${what}${path} is a tensor but its axis spec is a tree (${JSON.stringify(s)})`);
    if (d.kind === 'array') {
      if (!Array.isArray(s) || s.length !== d.children.length)
        throw new ValueError(op, `${what}${path} is an array of ${d.children.length} but its axis spec is ${JSON.stringify(s)}`);
      d.children.forEach((c, i) => {
        walk(s[i]!, c, `${path}[${i}]`);
      });
      return;
    }
    if (Array.isArray(s) || typeof s !== 'object')
      throw new ValueError(op, `${what}${path} is a record but its axis spec is ${JSON.stringify(s)}`);
    const rec = s as { readonly [key: string]: AxisSpec };
    d.keys.forEach((k, i) => {
      if (!(k in rec)) throw new ValueError(op, `the axis spec of ${what}${path} has no entry for '${k}'`);
      walk(rec[k]!, d.children[i]!, `${path}.${k}`);
    });
  };
  walk(spec, def, '');
  return out;
}

function countLeaves(d: TreeDef): number {
  if (d.kind === 'leaf') return 1;
  if (d.kind === 'static') return 0;
  return d.children.reduce((n, c) => n + countLeaves(c), 0);
}

const normaliseAxis = (op: string, what: string, axis: number, rank: number): number => {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
    throw new ValueError(op, `${what}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
};

/** A batched value with its batch axis moved to `axis`. */
function moveBatch(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const front = toFront(batchOps, x, from);
  if (to === 0) return front;
  const perm = [...front.shape.keys()].slice(1);
  perm.splice(to, 0, 0);
  return batchOps.transpose(front, perm);
}

/**
 * Vectorise `f` over a batch axis of its arguments: `vmap(f)(xs)` equals
 * stacking `f` applied to each example `xs[i]`, computed in one batched pass.
 * Composes with every transformation (`vmap(grad(f))` gives per-example
 * gradients) and with itself.
 *
 * @example
 * const perExample = ct.vmap(ct.grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys); // one gradient per example
 */
export function vmap<F extends Fn>(f: F, opts: VmapOptions = {}): (...args: Parameters<F>) => ReturnType<F> {
  // null is a spec (shared by every example / the same for every example), only undefined takes the default
  const inSpec = opts.inAxes === undefined ? 0 : opts.inAxes;
  const outSpec = opts.outAxes === undefined ? 0 : opts.outAxes;
  return (...args: Parameters<F>): ReturnType<F> => {
    const perArg: AxisSpec[] =
      inSpec === null || typeof inSpec === 'number' ? args.map(() => inSpec) : Array.isArray(inSpec) ? [...inSpec] : [];
    if (!(inSpec === null || typeof inSpec === 'number') && !Array.isArray(inSpec))
      throw new ValueError('vmap', 'inAxes must be a number, null, or an array with one entry per argument');
    if (perArg.length !== args.length) throw new ValueError('vmap', `inAxes has ${perArg.length} entries for ${args.length} argument(s)`);
    const flat = args.map((a) => flatten(a));
    const axes = flat.map((fl, i) => leafAxes('vmap', `argument ${i}`, perArg[i]!, fl.def));
    // the batch size, and every batched leaf's axis checked
    let size: number | undefined;
    let sizeFrom = '';
    flat.forEach((fl, i) => {
      fl.leaves.forEach((l, j) => {
        const ax = axes[i]![j];
        if (ax === null || ax === undefined || typeof l === 'number') return;
        const what = `argument ${i}${fl.leaves.length > 1 ? ` (leaf ${j})` : ''} of shape [${l.shape.join(',')}]`;
        const a = normaliseAxis('vmap', `inAxes of ${what}`, ax, l.shape.length);
        const n = l.shape[a]!;
        if (size === undefined) {
          size = n;
          sizeFrom = `${what} has ${n} along axis ${a}`;
        } else if (n !== size) throw new ValueError('vmap', `the batched sizes disagree: ${sizeFrom}, ${what} has ${n} along axis ${a}`);
      });
    });
    if (size === undefined) {
      if (opts.axisSize === undefined)
        throw new ValueError('vmap', 'no argument is batched (every inAxes is null or a number leaf); give axisSize');
      size = opts.axisSize;
    } else if (opts.axisSize !== undefined && opts.axisSize !== size)
      throw new ValueError('vmap', `axisSize ${opts.axisSize} disagrees with the batched size: ${sizeFrom}`);
    const n = size;
    return scope(() =>
      retaining(() => {
        const trace = new BatchTrace(n);
        try {
          const wrapped = flat.map((fl, i) =>
            unflatten<unknown>(
              fl.def,
              fl.leaves.map((l, j) => {
                const ax = axes[i]![j];
                if (ax === null || ax === undefined || typeof l === 'number') return l;
                return new BatchTracer(trace, l, normaliseAxis('vmap', 'inAxes', ax, l.shape.length));
              }),
            ),
          );
          const out = f(...wrapped);
          const o = flatten(out);
          const outAxes = leafAxes('vmap', 'the output', outSpec, o.def);
          const leaves = o.leaves.map((l, j) => {
            const to = outAxes[j];
            const batched = l instanceof BatchTracer && l.trace === trace;
            if (to === null || to === undefined) {
              if (batched) throw new ValueError('vmap', `output leaf ${j} differs between examples, but its outAxes is null`);
              return l;
            }
            if (batched) {
              const b = l as BatchTracer;
              return moveBatch(b.val, b.bdim, normaliseAxis('vmap', `outAxes of output leaf ${j}`, to, b.val.shape.length));
            }
            // the same for every example: broadcast along the new axis
            const x = typeof l === 'number' ? scalar(l) : l;
            const a = normaliseAxis('vmap', `outAxes of output leaf ${j}`, to, x.shape.length + 1);
            const front = batchOps.broadcastTo(reshape(x, [1, ...x.shape]), [n, ...x.shape]);
            return moveBatch(front, 0, a);
          });
          return unflatten<ReturnType<F>>(o.def, leaves);
        } finally {
          trace.active = false;
        }
      }),
    );
  };
}
