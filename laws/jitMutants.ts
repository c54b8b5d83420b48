/**
 * Mutants of the jit pipeline: deliberately broken versions of what the
 * optimiser and the planner produce, which the jit laws must catch.
 *
 * A mutant rewrites the optimised graph (after the real passes) or the plan
 * (after the real planner): plain functions of graphs and plans. A test
 * applies one by wrapping `optimize` (src/jit/passes.ts) and `planGraph`
 * (src/jit/plan.ts) for the jit it checks (tests/jit/mutants.test.ts does so
 * with module mocks; src/ is untouched).
 */
import type { FusedKernel, FusedNode } from '../src/backends/fused.js';
import type { Graph, GraphConst, GraphVar } from '../src/core/graphTrace.js';
import type { Plan, Step } from '../src/jit/plan.js';
import * as ct from '../src/index.js';

/** Which part of the pipeline a mutant breaks. */
export type JitMutantStage = 'fusion' | 'cse' | 'fold' | 'rounding' | 'liveness' | 'simplify';

/** A broken optimiser or planner. */
export interface JitMutant {
  readonly name: string;
  readonly stage: JitMutantStage;
  /** Rewrites the optimised graph (`traced`: the graph before the passes). */
  readonly graph?: (optimised: Graph, traced: Graph) => Graph;
  /** Rewrites the plan of a graph. */
  readonly plan?: (plan: Plan, graph: Graph) => Plan;
}

const mapFused = (p: Plan, f: (k: FusedKernel) => FusedKernel): Plan => ({
  ...p,
  steps: p.steps.map((s): Step => (s.kind === 'fused' ? { ...s, kernel: f(s.kernel) } : s)),
});

/** Whether `s` broadcasts to `target` (numpy rules, aligned on the right). */
const broadcastsTo = (s: readonly number[], target: readonly number[]): boolean =>
  s.length <= target.length && s.every((d, i) => d === 1 || d === target[target.length - s.length + i]);

/**
 * Fusion reads an input along the wrong axes: its shape (padded to the
 * kernel's rank) reversed, where that still broadcasts to the kernel's shape
 * (e.g. a [3,1] column read as a [1,3] row).
 */
export const wrongBroadcastAxis: JitMutant = {
  name: 'fusion: an input broadcast along the wrong axis (its shape reversed in the fused kernel)',
  stage: 'fusion',
  plan: (p) =>
    mapFused(p, (k) => ({
      ...k,
      inputs: k.inputs.map((a) => {
        const padded = [...new Array<number>(k.shape.length - a.shape.length).fill(1), ...a.shape];
        const reversed = [...padded].reverse();
        return reversed.join(',') !== padded.join(',') && broadcastsTo(reversed, k.shape) ? { ...a, shape: reversed } : a;
      }),
    })),
};

/**
 * CSE that ignores parameters: equations with the same primitive, inputs,
 * output dtype and shape are merged even when their parameters differ (e.g.
 * two sums of a square matrix over different axes).
 */
export const cseIgnoresParams: JitMutant = {
  name: 'cse: equations with different parameters merged (e.g. sums over different axes)',
  stage: 'cse',
  graph: (g) => {
    const renames = new Map<string, GraphVar>();
    const resolve = (v: GraphVar): GraphVar => renames.get(v.name) ?? v;
    const seen = new Map<string, GraphVar>();
    const eqns = [];
    for (const e0 of g.eqns) {
      const e = { ...e0, inputs: e0.inputs.map(resolve) };
      const key = [e.prim, e.inputs.map((v) => v.name).join(','), e.output.dtype, e.output.shape.join(',')].join('|');
      const same = seen.get(key);
      if (same) {
        renames.set(e.output.name, same);
        continue;
      }
      seen.set(key, e.output);
      eqns.push(e);
    }
    return { ...g, eqns, outputs: g.outputs.map(resolve) };
  },
};

/** The other dtype a wrongly folded constant gets: f64 ↔ f32, i32 → f32. */
const otherDtype = (d: ct.DType): ct.DType => (d === 'f64' ? 'f32' : d === 'f32' ? 'f64' : 'f32');

/** Constant folding that stores its result in the wrong dtype (every constant the passes created). */
export const foldWrongDtype: JitMutant = {
  name: 'fold: a folded constant of the wrong dtype',
  stage: 'fold',
  graph: (g, traced) => {
    const original = new Set(traced.consts.map((c) => c.value));
    return {
      ...g,
      consts: g.consts.map(
        (c): GraphConst => (original.has(c.value) ? c : { ...c, value: ct.keep(ct.cast(c.value, otherDtype(c.value.dtype))) }),
      ),
    };
  },
};

/**
 * Fusion without the per-node rounding: the intermediate f32 nodes of a fused
 * kernel are computed in f64 (only what it stores is rounded to f32). The
 * difference is an ulp or so per node, inside the f32 tolerance, unless a
 * case amplifies it: (x + 2²⁴) − 2²⁴ is x rounded to an even integer in f32,
 * node by node, but x itself in f64.
 */
export const dropsRounding: JitMutant = {
  name: 'rounding: an f32 chain computed in f64 precision (per-node rounding dropped)',
  stage: 'rounding',
  plan: (p) =>
    mapFused(p, (k) => {
      // the nodes the kernel stores (outputs, reduced nodes) keep their dtype
      const stored = new Set([...k.outputs, ...(k.reductions ?? []).map((r) => r.node)]);
      return {
        ...k,
        nodes: k.nodes.map((n, i): FusedNode => (n.kind === 'op' && n.dtype === 'f32' && !stored.has(i) ? { ...n, dtype: 'f64' } : n)),
      };
    }),
};

/** Liveness one step off: each value is freed after the step before its last use. */
export const freesTooEarly: JitMutant = {
  name: 'liveness: a value freed one step before its last use',
  stage: 'liveness',
  plan: (p) => ({
    ...p,
    freeAfter: p.freeAfter.map((_, k) => [...(k + 1 < p.freeAfter.length ? p.freeAfter[k + 1]! : []), ...(k === 0 ? p.freeAfter[0]! : [])]),
  }),
};

/** Whether every element of a small readable constant is a zero (of either sign). */
const allZero = (t: ct.Tensor): boolean => {
  try {
    return t.size > 0 && t.size <= 16 && t.dataSync().every((v) => v === 0);
  } catch {
    return false;
  }
};

/**
 * Simplification that drops an added zero of either sign: x + (+0) becomes x,
 * which is wrong for x = −0 (−0 + 0 = +0). Only a case with −0 shows it.
 */
export const addsZeroAway: JitMutant = {
  name: 'simplify: x + (+0) rewritten to x (wrong for x = −0)',
  stage: 'simplify',
  graph: (g) => {
    const zero = new Set(g.consts.filter((c) => allZero(c.value)).map((c) => c.var.name));
    const renames = new Map<string, GraphVar>();
    const resolve = (v: GraphVar): GraphVar => renames.get(v.name) ?? v;
    const eqns = [];
    for (const e0 of g.eqns) {
      const e = { ...e0, inputs: e0.inputs.map(resolve) };
      const [a, b] = e.inputs;
      const same = (v: GraphVar | undefined) =>
        v !== undefined && v.dtype === e.output.dtype && v.shape.join(',') === e.output.shape.join(',');
      if (e.prim === 'add' && a && b && ((zero.has(b.name) && same(a)) || (zero.has(a.name) && same(b)))) {
        renames.set(e.output.name, zero.has(b.name) ? a : b);
        continue;
      }
      eqns.push(e);
    }
    return { ...g, eqns, outputs: g.outputs.map(resolve) };
  },
};

/** Every mutant of the jit pipeline. */
export const JIT_MUTANTS: readonly JitMutant[] = [
  wrongBroadcastAxis,
  cseIgnoresParams,
  foldWrongDtype,
  dropsRounding,
  freesTooEarly,
  addsZeroAway,
];
