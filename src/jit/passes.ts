/**
 * Optimisation passes on the graph IR (core/graphTrace.ts), run by `jit`
 * before it partitions a program into fused kernels. Every pass is a pure
 * function Graph -> Graph: it never mutates its input (new arrays, new
 * equation records where something changed; unchanged records are shared)
 * and the optimised graph computes bit for bit what the original computes.
 *
 * - `dce`: dead code elimination (equations and constants the outputs do not need).
 * - `cse`: common subexpression elimination (equal equations, equal constants).
 * - `foldConstants`: built-in equations on constants evaluated once, at compile time.
 * - `simplify`: exact algebraic and structural rewrites (reshape∘reshape, transpose∘transpose, x·1, x − 0, −(−x), ...).
 * - `optimize`: all of them to a fixed point, with a report of what each did.
 *
 * Variables are identified by name. A rewrite that makes an equation the
 * identity renames the uses of its output to its input; a graph output may
 * then be an input or a constant variable (evalGraph looks every variable up
 * by name, so that evaluates as expected).
 *
 * Premise: primitives are pure functions of their inputs and parameters (the
 * premise of graph building itself), so equal equations may share one
 * result and an equation no output needs may be dropped. Only constant
 * folding runs primitives at compile time, and it runs built-in ones only.
 */
import { ConcreteTensor } from '../core/ConcreteTensor.js';
import type { Graph, GraphConst, GraphEqn, GraphVar } from '../core/graphTrace.js';
import { keep } from '../core/memory.js';
import { bind } from '../core/trace.js';
import type { TypedArray } from '../tensor/dtype.js';
import { shapesEqual, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/Tensor.js';
import { lookupPrimitive, primitives } from '../ops/primitives.js';

/** What `optimize` did: equations and constants removed (dce), merged (cse), folded and simplified. */
export interface OptimizeReport {
  /** Equations and constants dropped because no output needs them. */
  removed: number;
  /** Equations and constants merged into an equal earlier one. */
  merged: number;
  /** Equations evaluated at compile time (now constants). */
  folded: number;
  /** Equations rewritten or replaced by one of their inputs. */
  simplified: number;
  /** Rounds of all passes run (the last one changed nothing, unless the bound was reached). */
  iterations: number;
}

/** Options of the passes. */
export interface OptimizeOptions {
  /** Rounds of all passes at most (default 10). */
  readonly maxIterations?: number;
  /** An equation is folded only if its output has at most this many elements (default 4096). */
  readonly foldLimit?: number;
  /** Constants are compared by value only if they have at most this many elements (default 16). */
  readonly valueCompareLimit?: number;
  /** Passes to run (default all). */
  readonly passes?: { readonly dce?: boolean; readonly cse?: boolean; readonly fold?: boolean; readonly simplify?: boolean };
}

/** A pass's result: the new graph and how many things it changed. */
export interface PassResult {
  readonly graph: Graph;
  readonly count: number;
}

const DEFAULT_FOLD_LIMIT = 4096;
const DEFAULT_VALUE_LIMIT = 16;

// ---- helpers ----

/** Renames from an output variable to the variable that now stands for it. */
type Renames = Map<string, GraphVar>;

/** The variable standing for `v` after the renames (renames point to earlier variables, so chains end). */
function resolve(renames: Renames, v: GraphVar): GraphVar {
  let x = v;
  for (let next = renames.get(x.name); next && next.name !== x.name; next = renames.get(x.name)) x = next;
  return x;
}

/** `e` with its inputs renamed (the same record when no input changes). */
function renameInputs(renames: Renames, e: GraphEqn): GraphEqn {
  if (renames.size === 0) return e;
  const inputs = e.inputs.map((v) => resolve(renames, v));
  return inputs.every((v, i) => v === e.inputs[i]) ? e : { ...e, inputs };
}

const sameAval = (a: GraphVar, b: GraphVar): boolean => a.dtype === b.dtype && shapesEqual(a.shape, b.shape);

const graphOf = (g: Graph, consts: readonly GraphConst[], eqns: readonly GraphEqn[], renames: Renames): Graph => ({
  inputs: [...g.inputs],
  consts: [...consts],
  eqns: [...eqns],
  outputs: g.outputs.map((v) => resolve(renames, v)),
});

/**
 * The values of a small concrete constant, or undefined when they cannot be
 * read synchronously (a tracer, a disposed tensor, a WebGPU buffer) or the
 * constant is larger than `limit` elements. The array must not be written.
 */
function readConst(value: Tensor, limit: number): TypedArray | undefined {
  if (!(value instanceof ConcreteTensor) || value.disposed || value.size > limit) return undefined;
  try {
    return value.dataSync();
  } catch {
    return undefined;
  }
}

/**
 * A canonical text of plain JSON-like data (null, booleans, numbers, strings,
 * undefined, dense arrays, plain objects with keys in sorted order), or
 * undefined for anything else (functions, symbols, bigints, class instances,
 * typed arrays, accessors, cycles): such parameters are never equal to any.
 * Unlike JSON it tells −0 from 0 and NaN or ±Infinity from null.
 */
export function canonicalParams(value: unknown): string | undefined {
  const stack = new Set<object>();
  const enc = (x: unknown): string | undefined => {
    switch (typeof x) {
      case 'string':
        return JSON.stringify(x);
      case 'boolean':
        return x ? 'true' : 'false';
      case 'number':
        return Object.is(x, -0) ? '-0' : String(x); // String round-trips every double; NaN, Infinity are spelt out
      case 'undefined':
        return 'undefined';
      case 'object': {
        if (x === null) return 'null';
        if (stack.has(x)) return undefined;
        const proto = Object.getPrototypeOf(x);
        const isArray = Array.isArray(x);
        if (isArray ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) return undefined;
        if (Object.getOwnPropertySymbols(x).length > 0) return undefined;
        const names = Object.getOwnPropertyNames(x).filter((k) => !(isArray && k === 'length'));
        const descriptors = Object.getOwnPropertyDescriptors(x);
        if (names.some((k) => !descriptors[k]?.enumerable || !('value' in descriptors[k]))) return undefined;
        stack.add(x);
        try {
          if (isArray) {
            const arr = x as unknown[];
            if (names.length !== arr.length) return undefined; // holes or extra keys
            const parts: string[] = [];
            for (let i = 0; i < arr.length; i++) {
              const p = enc(arr[i]);
              if (p === undefined) return undefined;
              parts.push(p);
            }
            return `[${parts.join(',')}]`;
          }
          const parts: string[] = [];
          for (const k of [...names].sort()) {
            const p = enc((x as Record<string, unknown>)[k]);
            if (p === undefined) return undefined;
            parts.push(`${JSON.stringify(k)}:${p}`);
          }
          return `{${parts.join(',')}}`;
        } finally {
          stack.delete(x);
        }
      }
      default:
        return undefined;
    }
  };
  return enc(value);
}

// ---- dead code elimination ----

/** `dce` with the number of equations and constants it dropped. */
export function dceCounted(g: Graph): PassResult {
  const live = new Set(g.outputs.map((v) => v.name));
  const kept: GraphEqn[] = [];
  for (let i = g.eqns.length - 1; i >= 0; i--) {
    const e = g.eqns[i]!;
    if (!live.has(e.output.name)) continue;
    kept.push(e);
    for (const v of e.inputs) live.add(v.name);
  }
  kept.reverse();
  const consts = g.consts.filter((c) => live.has(c.var.name));
  const count = g.eqns.length - kept.length + g.consts.length - consts.length;
  return { graph: graphOf(g, consts, kept, new Map()), count };
}

/**
 * Dead code elimination: drops the equations whose outputs no graph output
 * depends on, and the constants nothing uses. Inputs are kept (they are the
 * graph's signature).
 */
export function dce(g: Graph): Graph {
  return dceCounted(g).graph;
}

// ---- common subexpression elimination ----

function constKey(c: GraphConst, limit: number): string | undefined {
  const data = readConst(c.value, limit);
  if (!data) return undefined;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return `${c.value.backendName}|${c.value.dtype}|${c.value.shape.join(',')}|${hex}`;
}

/** `cse` with the number of equations and constants it merged. */
export function cseCounted(g: Graph, opts: OptimizeOptions = {}): PassResult {
  const limit = opts.valueCompareLimit ?? DEFAULT_VALUE_LIMIT;
  const renames: Renames = new Map();
  let count = 0;
  const consts: GraphConst[] = [];
  const byTensor = new Map<Tensor, GraphVar>();
  const byValue = new Map<string, GraphVar>();
  for (const c of g.consts) {
    const key = constKey(c, limit);
    const same = byTensor.get(c.value) ?? (key !== undefined ? byValue.get(key) : undefined);
    if (same && sameAval(same, c.var)) {
      renames.set(c.var.name, same);
      count++;
      continue;
    }
    byTensor.set(c.value, c.var);
    if (key !== undefined) byValue.set(key, c.var);
    consts.push(c);
  }
  const seen = new Map<string, GraphVar>();
  const eqns: GraphEqn[] = [];
  for (const e0 of g.eqns) {
    const e = renameInputs(renames, e0);
    const params = canonicalParams(e.params);
    if (params !== undefined) {
      const key = [e.prim, e.inputs.map((v) => v.name).join(','), params, e.output.dtype, e.output.shape.join(',')].join('\u0000');
      const same = seen.get(key);
      if (same) {
        renames.set(e.output.name, same);
        count++;
        continue;
      }
      seen.set(key, e.output);
    }
    eqns.push(e);
  }
  return { graph: graphOf(g, consts, eqns, renames), count };
}

/**
 * Common subexpression elimination: an equation with the same primitive,
 * the same input variables and equal parameters as an earlier one (compared
 * by {@link canonicalParams}; parameters that are not plain data never
 * compare equal) is dropped and its uses read the earlier output. Constants
 * that are the very same tensor, or small concrete constants on the same
 * backend with the same dtype, shape and bytes (so −0 and 0, or two NaN
 * payloads, stay apart), are merged the same way. Values are read only
 * where the backend reads synchronously (CPU, wasm).
 */
export function cse(g: Graph, opts: OptimizeOptions = {}): Graph {
  return cseCounted(g, opts).graph;
}

// ---- constant folding ----

/** Whether `name` is a built-in primitive (never a user primitive). */
const isBuiltin = (name: string): boolean => Object.hasOwn(primitives, name);

/** `foldConstants` with the number of equations it folded. */
export function foldConstantsCounted(g: Graph, opts: OptimizeOptions = {}): PassResult {
  const limit = opts.foldLimit ?? DEFAULT_FOLD_LIMIT;
  const consts: GraphConst[] = [...g.consts];
  const constOf = new Map(consts.map((c) => [c.var.name, c] as const));
  const eqns: GraphEqn[] = [];
  let count = 0;
  for (const e of g.eqns) {
    const value = foldable(e, constOf, limit) ? evaluateAtCompileTime(e, constOf) : undefined;
    if (!value) {
      eqns.push(e);
      continue;
    }
    const c: GraphConst = { var: e.output, value };
    consts.push(c);
    constOf.set(e.output.name, c);
    count++;
  }
  return { graph: graphOf(g, consts, eqns, new Map()), count };
}

function foldable(e: GraphEqn, constOf: ReadonlyMap<string, GraphConst>, limit: number): boolean {
  return (
    isBuiltin(e.prim) &&
    e.inputs.length > 0 &&
    sizeOf(e.output.shape) <= limit &&
    e.inputs.every((v) => {
      const c = constOf.get(v.name);
      return c !== undefined && c.value instanceof ConcreteTensor && !c.value.disposed;
    })
  );
}

/** The equation's value on its constant inputs, or undefined when the primitive refuses them (it then runs at run time). */
function evaluateAtCompileTime(e: GraphEqn, constOf: ReadonlyMap<string, GraphConst>): Tensor | undefined {
  const prim = lookupPrimitive(e.prim);
  if (!prim) return undefined;
  let out: Tensor;
  try {
    out = bind(
      prim,
      e.inputs.map((v) => constOf.get(v.name)!.value),
      e.params,
    );
  } catch {
    return undefined; // e.g. constants on different backends, or a numerics check: left for run time, where it reports
  }
  if (out.dtype !== e.output.dtype || !shapesEqual(out.shape, e.output.shape)) {
    out.dispose();
    throw new Error(
      `foldConstants: '${e.prim}' computed ${out.dtype}[${out.shape.join(',')}] where the graph declares ` +
        `${e.output.dtype}[${e.output.shape.join(',')}] for ${e.output.name}`,
    );
  }
  return keep(out); // owned by the graph, not by the scope that happens to be open
}

/**
 * Constant folding: a built-in equation whose inputs are all concrete
 * constants and whose output has at most `foldLimit` elements (default
 * 4096) is evaluated now, by the same kernel that would run it later, and
 * becomes a constant of exactly the declared dtype and shape (asserted).
 * User primitives are never folded (they may have side effects). The folded
 * tensors are exempt from scopes (`keep`): they live as long as the graph.
 */
export function foldConstants(g: Graph, opts: OptimizeOptions = {}): Graph {
  return foldConstantsCounted(g, opts).graph;
}

// ---- algebraic and structural simplification ----

/** A rewrite of one equation: the variable it equals, or a replacement equation. */
type Rewrite = { readonly to: GraphVar } | { readonly eqn: GraphEqn } | undefined;

const isIdentityPerm = (perm: readonly number[]): boolean => perm.every((p, i) => p === i);

/** Every element of a small constant satisfies `ok` (false when the constant cannot be read). */
type ConstTest = (v: GraphVar, ok: (x: number) => boolean) => boolean;

function rewrite(e: GraphEqn, producer: ReadonlyMap<string, GraphEqn>, constIs: ConstTest): Rewrite {
  const x = e.inputs[0];
  if (!x) return undefined;
  const src = producer.get(x.name);
  switch (e.prim) {
    case 'reshape': {
      // reshape only depends on the element count: reshape(reshape(y, s1), s2) = reshape(y, s2)
      const y = src?.prim === 'reshape' ? src.inputs[0]! : x;
      if (sameAval(y, e.output)) return { to: y };
      return y === x ? undefined : { eqn: { ...e, inputs: [y] } };
    }
    case 'broadcastTo': {
      // broadcasting is transitive: broadcastTo(broadcastTo(y, s1), s2) = broadcastTo(y, s2)
      const y = src?.prim === 'broadcastTo' ? src.inputs[0]! : x;
      if (sameAval(y, e.output)) return { to: y };
      return y === x ? undefined : { eqn: { ...e, inputs: [y] } };
    }
    case 'transpose': {
      const perm = e.params.perm as readonly number[];
      if (src?.prim === 'transpose') {
        // output axis i is axis perm[i] of x, which is axis inner[perm[i]] of y
        const inner = src.params.perm as readonly number[];
        const composed = perm.map((p) => inner[p]!);
        const y = src.inputs[0]!;
        if (isIdentityPerm(composed) && sameAval(y, e.output)) return { to: y };
        return { eqn: { ...e, params: { ...e.params, perm: composed }, inputs: [y] } };
      }
      return isIdentityPerm(perm) && sameAval(x, e.output) ? { to: x } : undefined;
    }
    case 'neg': {
      const y = src?.prim === 'neg' ? src.inputs[0]! : undefined;
      return y && sameAval(y, e.output) ? { to: y } : undefined;
    }
    case 'mul': {
      // x · 1 = x for every x (NaN, ±0, ±Infinity included), in every dtype
      for (const [i, j] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const other = e.inputs[i]!;
        if (sameAval(other, e.output) && constIs(e.inputs[j]!, (v) => v === 1)) return { to: other };
      }
      return undefined;
    }
    case 'add': {
      // x + (−0) = x for every float x; x + (+0) is not (−0 + 0 = +0), so it stays. i32 has one zero.
      const zero = e.output.dtype === 'i32' ? (v: number) => v === 0 : (v: number) => Object.is(v, -0);
      for (const [i, j] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const other = e.inputs[i]!;
        if (sameAval(other, e.output) && constIs(e.inputs[j]!, zero)) return { to: other };
      }
      return undefined;
    }
    case 'sub': {
      // x − (+0) = x for every x (−0 − 0 = −0); x − (−0) = x + 0 is not
      const zero = e.output.dtype === 'i32' ? (v: number) => v === 0 : (v: number) => Object.is(v, 0);
      const y = e.inputs[1];
      return y && sameAval(x, e.output) && constIs(y, zero) ? { to: x } : undefined;
    }
    default:
      return undefined;
  }
}

/** `simplify` with the number of equations it rewrote or removed. */
export function simplifyCounted(g: Graph, opts: OptimizeOptions = {}): PassResult {
  const limit = opts.valueCompareLimit ?? DEFAULT_VALUE_LIMIT;
  const constOf = new Map(g.consts.map((c) => [c.var.name, c] as const));
  const values = new Map<string, TypedArray | undefined>();
  const constIs: ConstTest = (v, ok) => {
    const c = constOf.get(v.name);
    if (!c) return false;
    if (!values.has(v.name)) values.set(v.name, readConst(c.value, limit));
    const data = values.get(v.name);
    return data !== undefined && data.length > 0 && data.every(ok);
  };
  const renames: Renames = new Map();
  const producer = new Map<string, GraphEqn>();
  const eqns: GraphEqn[] = [];
  let count = 0;
  for (const e0 of g.eqns) {
    const e = renameInputs(renames, e0);
    const r = rewrite(e, producer, constIs);
    if (r && 'to' in r) {
      renames.set(e.output.name, r.to);
      count++;
      continue;
    }
    const kept = r ? r.eqn : e;
    if (r) count++;
    eqns.push(kept);
    producer.set(kept.output.name, kept);
  }
  return { graph: graphOf(g, g.consts, eqns, renames), count };
}

/**
 * Exact algebraic and structural rewrites (dtypes, shapes and every value,
 * signed zeros and NaN included, stay the same):
 * reshape(reshape(x)) → reshape(x); reshape or broadcastTo to the input's own
 * shape → x; broadcastTo(broadcastTo(x)) → broadcastTo(x);
 * transpose(transpose(x)) → one transpose with the composed permutation
 * (→ x when that is the identity); x · 1 and 1 · x → x; x − (+0) → x;
 * x + (−0) and (−0) + x → x; −(−x) → x. An operand is "1" or "0" when it is a
 * small readable constant all of whose elements are that value, and a rewrite
 * to an operand applies only when the result has that operand's shape and
 * dtype (so a constant that broadcasts the other operand is kept).
 *
 * `x + 0` with a +0 constant is NOT rewritten for floats: for x = −0 it gives
 * +0, not x. (For i32 there is one zero, and x + 0 → x.) Producers left
 * without uses are removed by `dce`.
 */
export function simplify(g: Graph, opts: OptimizeOptions = {}): Graph {
  return simplifyCounted(g, opts).graph;
}

// ---- all of them ----

/**
 * Runs simplify, foldConstants, cse and dce in rounds until a round changes
 * nothing (at most `maxIterations` rounds, default 10). Returns the optimised
 * graph and how many equations and constants each kind of pass removed,
 * merged, folded or simplified. Tensors folded in one round and dropped
 * later (intermediate constants) are freed; the input graph is untouched.
 */
export function optimize(g: Graph, opts: OptimizeOptions = {}): { graph: Graph; report: OptimizeReport } {
  const maxIterations = opts.maxIterations ?? 10;
  const on = { dce: true, cse: true, fold: true, simplify: true, ...opts.passes };
  const report: OptimizeReport = { removed: 0, merged: 0, folded: 0, simplified: 0, iterations: 0 };
  const original = new Set(g.consts.map((c) => c.value));
  const created = new Set<Tensor>();
  let graph = g;
  while (report.iterations < maxIterations) {
    report.iterations++;
    let changed = 0;
    if (on.simplify) {
      const r = simplifyCounted(graph, opts);
      report.simplified += r.count;
      changed += r.count;
      graph = r.graph;
    }
    if (on.fold) {
      const r = foldConstantsCounted(graph, opts);
      report.folded += r.count;
      changed += r.count;
      for (const c of r.graph.consts) if (!original.has(c.value)) created.add(c.value);
      graph = r.graph;
    }
    if (on.cse) {
      const r = cseCounted(graph, opts);
      report.merged += r.count;
      changed += r.count;
      graph = r.graph;
    }
    if (on.dce) {
      const r = dceCounted(graph);
      report.removed += r.count;
      changed += r.count;
      graph = r.graph;
    }
    if (changed === 0) break;
  }
  const used = new Set(graph.consts.map((c) => c.value));
  for (const t of created) if (!used.has(t)) t.dispose();
  if (graph === g) graph = graphOf(g, g.consts, g.eqns, new Map()); // always a fresh graph
  return { graph, report };
}
