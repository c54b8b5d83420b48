/**
 * `jit(f)`: trace once, optimise, fuse, run as a plan. The jitted function
 * flattens its arguments, looks its program up by (tree structure, shapes and
 * dtypes, backend, static values), traces `f` with abstract values on a miss
 * (makeGraph's graph trace), optimises the graph (src/jit/passes.ts), plans
 * it for the backend (src/jit/plan.ts: fusion groups, buffer lifetimes) and
 * runs the plan: fused kernels and ordinary kernels, intermediates freed at
 * their last use, one WebGPU submission per call.
 *
 * Under a transformation (jvp, vjp, grad, …) a jitted call is one equation
 * (a custom call `jit_call` whose output packs the outputs) whose JVP and
 * transpose are themselves jitted programs; inside another jit or makeGraph
 * it is inlined (the outer program is optimised as a whole).
 */
import type { Backend } from '../backends/Backend.js';
import { fusedToText, isFusedBackend, type FusedBackend } from '../backends/fused.js';
import { ConcreteTensor } from '../core/ConcreteTensor.js';
import { countJitDispatch, countTrace, debugOptions, NumericsError } from '../core/debug.js';
import { GraphTrace, type Graph } from '../core/graphTrace.js';
import { collectCreated, keep, release } from '../core/memory.js';
import { isCustomCall, type CustomCall } from '../core/Primitive.js';
import { flatten, unflatten, type TreeDef } from '../core/pytree.js';
import { avalOf, bind, evaluate, Tracer } from '../core/trace.js';
import { isZero, Zero, type MaybeZero } from '../core/Zero.js';
import { describe as describeAval } from '../tensor/format.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { backendFor, backendOf, fromTypedArray, zerosLike } from '../ops/creation.js';
import { binaryPrims } from '../ops/elementwise.js';
import { packOutputs, unpackOutputs } from '../transforms/packing.js';
import { graphToText } from '../transforms/graph.js';
import { jvp } from '../transforms/jvp.js';
import { vjp } from '../transforms/vjp.js';
import type { Fn } from '../transforms/argnums.js';
import { optimize, type OptimizeReport } from './passes.js';
import { planGraph, type Plan } from './plan.js';

/** Options of {@link jit}. */
export interface JitOptions {
  /**
   * Arguments that are not traced: their values are part of the cache key
   * (plain data compares by value, functions and class instances by
   * identity), so a new value traces again.
   */
  readonly staticArgnums?: number | readonly number[];
  /**
   * Arguments whose tensors the call takes over: their buffers are freed at
   * their last use inside the program (so the outputs reuse the memory) and
   * using one afterwards is an error.
   */
  readonly donateArgnums?: number | readonly number[];
  /** false: one kernel per equation (no fusion), for comparison and debugging. Default true. */
  readonly fuse?: boolean;
  /** false: skip the graph optimisations (DCE, CSE, folding, simplification). Default true. */
  readonly optimize?: boolean;
}

/** A jitted function: the same signature as `f`, plus `lower` and its cache. */
export type Jitted<F extends Fn> = ((...args: Parameters<F>) => ReturnType<F>) & {
  /** The optimised program for these arguments as text: equations, fusion groups, generated kernels, steps and peak bytes. */
  lower(...args: Parameters<F>): string;
  /** Programs traced and cached so far. */
  readonly cacheSize: number;
  /** Forget the cached programs and free the constants they created (captured tensors stay the caller's). */
  clearCache(): void;
};

/** One traced and planned program. */
interface Entry {
  readonly graph: Graph;
  readonly report: OptimizeReport | null;
  readonly plan: Plan;
  readonly backend: Backend;
  /** The output's structure; tensor leaves are graph outputs in order, number leaves stay in it as static values. */
  readonly outDef: TreeDef;
  /** For each output leaf: the index of its graph output, or the number it always is. */
  readonly outLeaves: readonly ({ readonly output: number } | { readonly value: number })[];
  /** The function on the dynamic leaves (tensors in, output leaves out), for derivative rules and inlining. */
  readonly flat: (leaves: readonly Tensor[]) => Tensor[];
  /** The function traced captured a value of an enclosing transformation: it runs inline. */
  readonly inline: boolean;
  /** Constants the program created (while tracing, by folding, or copied to its backend): freed with the program. */
  readonly owned: readonly Tensor[];
  jvpFn?: (...xs: Tensor[]) => Tensor;
  readonly vjpFns: Map<string, (...xs: Tensor[]) => Tensor[]>;
  record?: CustomCall<Record<string, never>>;
}

const normalise = (op: string, v: number | readonly number[] | undefined): Set<number> => {
  const list = v === undefined ? [] : typeof v === 'number' ? [v] : [...v];
  for (const k of list)
    if (!Number.isInteger(k) || k < 0) throw new ValueError(op, `argument indices must be non-negative integers, got ${JSON.stringify(v)}`);
  return new Set(list);
};

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;
const idOf = (o: object): number => {
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
};

/** A cache key for a static value: plain data by value, anything else by identity. */
function staticKey(v: unknown): string {
  if (v === undefined) return 'u';
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Object.is(v, -0) ? 'n-0' : `n${v}`;
  if (typeof v === 'bigint') return `b${v}`;
  if (typeof v === 'function' || typeof v === 'symbol') return `#${typeof v === 'symbol' ? String(v) : idOf(v)}`;
  if (Array.isArray(v)) return `[${v.map(staticKey).join(',')}]`;
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${staticKey(o[k])}`)
      .join(',')}}`;
  }
  return `#${idOf(v as object)}`;
}

function defKey(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf':
      return '*';
    case 'static':
      return `s(${staticKey(d.value)})`;
    case 'array':
      return `[${d.children.map(defKey).join(',')}]`;
    case 'record':
      return `{${d.keys.map((k, i) => `${JSON.stringify(k)}:${defKey(d.children[i]!)}`).join(',')}}`;
  }
}

/** Tensor leaves become dynamic leaves; numbers become static parts of the structure. */
function splitLeaves(def: TreeDef, leaves: readonly (Tensor | number)[]): { def: TreeDef; tensors: Tensor[] } {
  const tensors: Tensor[] = [];
  let i = 0;
  const walk = (d: TreeDef): TreeDef => {
    switch (d.kind) {
      case 'leaf': {
        const l = leaves[i++]!;
        if (typeof l === 'number') return { kind: 'static', value: l };
        tensors.push(l);
        return d;
      }
      case 'static':
        return d;
      case 'array':
        return { kind: 'array', children: d.children.map(walk) };
      case 'record':
        return { kind: 'record', keys: d.keys, children: d.children.map(walk) };
    }
  };
  return { def: walk(def), tensors };
}

const DONATED = 'use the outputs of the jitted function instead';

/** The backend of a concrete tensor, or of a tracer's innermost value. */
const placeOf = (t: Tensor): Backend => (t instanceof ConcreteTensor ? t.backend : backendOf(t));

/** A constant on another backend than the program's is copied to it once, when the program is built. */
function onBackend(t: Tensor, backend: Backend): Tensor {
  if (!(t instanceof ConcreteTensor) || t.backend === backend) return t;
  let data: ReturnType<Tensor['dataSync']>;
  try {
    data = t.dataSync();
  } catch {
    throw new ValueError(
      'jit',
      `the function captured a tensor ${describeAval(t.dtype, t.shape)} on ${t.backendName}, which cannot be read synchronously to ` +
        `move it to ${backend.name}; move it with toBackend() first or pass it as an argument`,
    );
  }
  return keep(fromTypedArray(data, t.shape, t.dtype, backend));
}

/**
 * Compile `f`: trace it on abstract values once per argument signature,
 * optimise and fuse the program, run it as a plan. See the README (jit) for
 * caching, static and donated arguments, composition with the other
 * transformations and the limits.
 *
 * @example
 * const step = ct.jit((w: ct.Tensor, x: ct.Tensor) => ct.sum(ct.square(ct.sub(ct.matmul(x, w), 1))));
 * step(w, x); // traces, optimises, fuses, runs
 * step(w, x); // runs the cached program
 * console.log(step.lower(w, x)); // the optimised program and its kernels
 */
export function jit<F extends Fn>(f: F, opts: JitOptions = {}): Jitted<F> {
  const statics = normalise('jit: staticArgnums', opts.staticArgnums);
  const donated = normalise('jit: donateArgnums', opts.donateArgnums);
  for (const k of donated)
    if (statics.has(k)) throw new ValueError('jit', `argument ${k} is both static and donated; a static argument has no buffers`);
  const fuse = opts.fuse !== false;
  const runPasses = opts.optimize !== false;
  const cache = new Map<string, Entry>();

  /** Flatten the arguments: the key, the dynamic tensor leaves (and which argument each came from), and how to rebuild. */
  const prepare = (args: readonly unknown[]) => {
    const defs: TreeDef[] = [];
    const tensors: Tensor[] = [];
    const argOf: number[] = [];
    const keyParts: string[] = [];
    args.forEach((a, i) => {
      if (statics.has(i)) {
        defs.push({ kind: 'static', value: a });
        keyParts.push(`S${staticKey(a)}`);
        return;
      }
      const { leaves, def } = flatten(a);
      const s = splitLeaves(def, leaves);
      defs.push(s.def);
      for (const t of s.tensors) {
        tensors.push(t);
        argOf.push(i);
      }
      keyParts.push(defKey(s.def));
    });
    for (const k of statics)
      if (k >= args.length) throw new ValueError('jit', `staticArgnums ${k} is out of range for ${args.length} argument(s)`);
    for (const k of donated)
      if (k >= args.length) throw new ValueError('jit', `donateArgnums ${k} is out of range for ${args.length} argument(s)`);
    const backend = tensors.length > 0 ? placeOf(tensors[0]!) : backendFor(undefined, 'f32');
    for (const t of tensors) {
      const b = placeOf(t);
      if (b !== backend)
        throw new ValueError(
          'jit',
          `the arguments live on different backends (${backend.name} and ${b.name}); move them with toBackend() first`,
        );
    }
    const avalKey = tensors.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(';');
    const key = `${backend.name}|${args.length}|${keyParts.join('|')}|${avalKey}`;
    const rebuild = (leaves: readonly Tensor[]): unknown[] => {
      let j = 0;
      return defs.map((d, i) => {
        if (statics.has(i)) return args[i];
        const n = countLeaves(d);
        const part = leaves.slice(j, j + n);
        j += n;
        return unflatten(d, part);
      });
    };
    return { key, tensors, argOf, rebuild, backend };
  };

  const build = (p: ReturnType<typeof prepare>): Entry => {
    countTrace();
    const flat = (leaves: readonly Tensor[]): Tensor[] => {
      const out = flatten(f(...p.rebuild(leaves)));
      return out.leaves.map((l) => (typeof l === 'number' ? (null as unknown as Tensor) : l)).filter((l) => l !== null);
    };
    const { result, created } = collectCreated(() => {
      const trace = new GraphTrace();
      let traced: { graph: Graph; outDef: TreeDef; outLeaves: Entry['outLeaves'] };
      try {
        trace.readError = READ_ERROR;
        trace.backend = p.backend;
        const inputs = p.tensors.map((t) => trace.input(avalOf(t)));
        const out = f(...p.rebuild(inputs));
        const o = flatten(out);
        const outputs: ReturnType<GraphTrace['varOf']>[] = [];
        const outLeaves = o.leaves.map((l) => {
          if (typeof l === 'number') return { value: l };
          outputs.push(trace.varOf(l));
          return { output: outputs.length - 1 };
        });
        traced = {
          graph: { inputs: inputs.map((i) => i.v), consts: [...trace.consts], eqns: [...trace.eqns], outputs },
          outDef: o.def,
          outLeaves,
        };
      } finally {
        trace.active = false;
      }
      const inline = traced.graph.consts.some((c) => c.value instanceof Tracer);
      const tracedConsts = new Set<Tensor>(traced.graph.consts.map((c) => c.value));
      if (inline) return { ...traced, report: null, inline, tracedConsts };
      const opt = runPasses ? optimize(traced.graph) : { graph: traced.graph, report: null };
      return { ...traced, graph: opt.graph, report: opt.report, inline, tracedConsts };
    });
    // keep the constants the trace and the passes created; free the rest
    const used = new Set<object>(result.graph.consts.map((c) => c.value));
    const createdSet = new Set<object>(created);
    for (const o of created) if (!used.has(o)) release((o as ConcreteTensor).handle);
    if (result.inline) {
      return {
        graph: result.graph,
        report: null,
        plan: EMPTY_PLAN,
        backend: p.backend,
        outDef: result.outDef,
        outLeaves: result.outLeaves,
        flat,
        inline: true,
        owned: [],
        vjpFns: new Map(),
      };
    }
    const graph: Graph = {
      ...result.graph,
      consts: result.graph.consts.map((c) => ({ var: c.var, value: onBackend(c.value, p.backend) })),
    };
    // owned: created by the trace, folded by the passes (kept, not in `created`), or copied to the backend
    const captured = new Set<Tensor>();
    for (const c of result.graph.consts) if (result.tracedConsts.has(c.value) && !createdSet.has(c.value)) captured.add(c.value);
    const owned = graph.consts.map((c) => c.value).filter((t) => !captured.has(t));
    const plan = planGraph(graph, p.backend, fuse);
    return {
      graph,
      report: result.report,
      plan,
      backend: p.backend,
      outDef: result.outDef,
      outLeaves: result.outLeaves,
      flat,
      inline: false,
      owned,
      vjpFns: new Map(),
    };
  };

  const entryFor = (p: ReturnType<typeof prepare>): Entry => {
    let e = cache.get(p.key);
    if (!e) {
      e = build(p);
      cache.set(p.key, e);
    }
    return e;
  };

  const assemble = (e: Entry, outs: readonly Tensor[]): unknown =>
    unflatten(
      e.outDef,
      e.outLeaves.map((l) => ('value' in l ? l.value : outs[l.output]!)),
    );

  const call = (...args: unknown[]): unknown => {
    const p = prepare(args);
    const tracers = p.tensors.filter((t): t is Tracer => t instanceof Tracer);
    if (tracers.length > 0) {
      let top = tracers[0]!.trace;
      for (const t of tracers) if (t.trace.level > top.level) top = t.trace;
      // inside another jit or makeGraph: inline, the outer program is optimised as a whole
      if (top instanceof GraphTrace) return f(...args);
      const e = entryFor(p);
      if (e.inline) return f(...args);
      const outs = callTraced(e, p.tensors);
      if (!outs) return f(...args);
      return assemble(e, outs);
    }
    const e = entryFor(p);
    if (e.inline) return f(...args);
    const donatedLeaves = new Set<number>();
    if (donated.size > 0) {
      const elsewhere = new Set<Tensor>();
      p.tensors.forEach((t, i) => {
        if (!donated.has(p.argOf[i]!)) elsewhere.add(t);
      });
      p.tensors.forEach((t, i) => {
        if (donated.has(p.argOf[i]!) && !elsewhere.has(t)) donatedLeaves.add(i);
      });
    }
    const outs = execute(e, p.tensors as ConcreteTensor[], donatedLeaves);
    return assemble(e, outs);
  };

  const lower = (...args: unknown[]): string => {
    const p = prepare(args);
    const e = entryFor(p);
    return lowerText(e);
  };

  const jitted = Object.assign(call as (...args: Parameters<F>) => ReturnType<F>, {
    lower: lower as (...args: Parameters<F>) => string,
    cacheSize: 0,
    clearCache: () => {
      for (const e of cache.values()) for (const t of e.owned) t.dispose();
      cache.clear();
    },
  });
  // a live count (Object.assign would copy the getter's value once)
  Object.defineProperty(jitted, 'cacheSize', { get: () => cache.size, enumerable: true });
  return jitted;
}

const READ_ERROR =
  'inside jit the values of tensors are not known (the function is traced once on shapes and dtypes): data(), dataSync() and a ' +
  "JavaScript if on a tensor's value cannot run there; compute with ops instead: ct.cond(pred, trueFn, falseFn, ...operands) " +
  'for a value-dependent branch, ct.whileLoop / ct.foriLoop / ct.scan for loops, ct.where to select elementwise; or run this ' +
  'part outside jit';

function countLeaves(d: TreeDef): number {
  switch (d.kind) {
    case 'leaf':
      return 1;
    case 'static':
      return 0;
    case 'array':
    case 'record':
      return d.children.reduce((n, c) => n + countLeaves(c), 0);
  }
}

const EMPTY_PLAN: Plan = {
  slots: 0,
  inputSlots: [],
  consts: [],
  steps: [],
  outputSlots: [],
  freeAfter: [],
  inputLastUse: [],
  peakBytes: 0,
  names: [],
  constOutputs: new Set(),
};

/** Runs a plan on concrete inputs; `donatedLeaves` are freed at their last use unless they are outputs. */
function execute(e: Entry, inputs: readonly ConcreteTensor[], donatedLeaves: ReadonlySet<number>): Tensor[] {
  const plan = e.plan;
  const backend = e.backend;
  const vals: (Tensor | undefined)[] = new Array(plan.slots);
  inputs.forEach((t, i) => {
    t.storageFor('jit'); // a clear error for a disposed (or donated) input
    vals[plan.inputSlots[i]!] = t;
  });
  for (const c of plan.consts) {
    const t = c.value as ConcreteTensor;
    if (t.disposed)
      throw new ValueError(
        'jit',
        `a tensor ${describeAval(t.dtype, t.shape)} captured by the jitted function was disposed after the function was traced; ` +
          'pass it as an argument instead of capturing it (or clearCache() and call again)',
      );
    vals[c.slot] = t;
  }
  const donateAt = new Map<number, number[]>();
  for (const i of donatedLeaves) {
    const at = plan.inputLastUse[i]!;
    if (at === Infinity) continue; // returned as an output: kept
    const list = donateAt.get(at) ?? [];
    list.push(i);
    donateAt.set(at, list);
  }
  const created: Tensor[] = [];
  try {
    // an unused donated input is freed at once
    for (const i of donateAt.get(-1) ?? []) freeDonated(inputs[i]!);
    plan.steps.forEach((s, k) => {
      if (s.kind === 'prim') {
        const ins = s.ins.map((x) => vals[x] as ConcreteTensor);
        // a control-flow equation (scan, cond, while) runs its sub-graphs with ops
        const out = isCustomCall(s.prim) ? (s.prim.impl(ins, s.params) as ConcreteTensor) : evaluate(s.prim, ins, s.params);
        vals[s.out] = out;
        created.push(out);
      } else {
        const fb = backend as Backend & FusedBackend;
        const storages = fb.runFused(
          s.kernel,
          s.ins.map((x) => (vals[x] as ConcreteTensor).storageFor('jit')),
        );
        countJitDispatch();
        s.outs.forEach((o, j) => {
          const a = s.outAvals[j]!;
          const t = new ConcreteTensor(backend, storages[j]!, [...a.shape], a.dtype);
          vals[o] = t;
          created.push(t);
        });
        if (debugOptions().checkNumerics) checkFused(s, vals);
      }
      for (const x of plan.freeAfter[k]!) {
        vals[x]!.dispose();
        vals[x] = undefined;
      }
      for (const i of donateAt.get(k) ?? []) freeDonated(inputs[i]!);
    });
  } catch (err) {
    for (const t of created) t.dispose();
    throw err;
  }
  // WebGPU: the call's dispatches stay in the open command encoder; the next read (or a full batch) submits them together
  return plan.outputSlots.map((s) => {
    const v = vals[s]!;
    // a constant returned as an output is copied: the caller may dispose what it gets
    return plan.constOutputs.has(s) ? copyOf(v as ConcreteTensor) : v;
  });
}

const finite = (t: Tensor): boolean => {
  if (t.dtype === 'i32' || (t.backendName !== 'cpu' && t.backendName !== 'wasm')) return true;
  for (const v of t.dataSync()) if (!Number.isFinite(v)) return false;
  return true;
};

/** checkNumerics for a fused kernel: a non-finite output from finite inputs names the kernel's ops. */
function checkFused(s: Extract<Plan['steps'][number], { kind: 'fused' }>, vals: readonly (Tensor | undefined)[]): void {
  if (s.outs.every((o) => finite(vals[o]!))) return;
  if (!s.ins.every((i) => finite(vals[i]!))) return;
  const ops = [...new Set(s.kernel.nodes.flatMap((n) => (n.kind === 'op' ? [n.op] : [])))];
  const reds = (s.kernel.reductions ?? []).map((r) => r.op);
  throw new NumericsError(
    `jit fused kernel (${[...ops, ...reds].join(', ')})`,
    'produced a non-finite value from finite inputs (checkNumerics; run with jit fuse: false to find the op)',
  );
}

function freeDonated(t: ConcreteTensor): void {
  if (!t.handle.storage) return;
  release(t.handle);
  t.handle.freedBy = `was donated to a jitted function and freed; ${DONATED}`;
}

/** A fresh copy of a concrete tensor (x · 1 is exact for every value, NaN and −0 included). */
function copyOf(t: ConcreteTensor): Tensor {
  const one = fromTypedArray(
    t.dtype === 'i32' ? Int32Array.of(1) : t.dtype === 'f64' ? Float64Array.of(1) : Float32Array.of(1),
    [],
    t.dtype,
    t.backend,
  );
  const out = evaluate(binaryPrims.mul, [t, one as ConcreteTensor], {});
  one.dispose();
  return out;
}

// ---- under transformations: one call equation with jitted rules ----

/** The call equation of a program under a JVP or VJP trace; null when its outputs cannot be packed (then it runs inline). */
function callTraced(e: Entry, leaves: readonly Tensor[]): Tensor[] | null {
  const outs = e.graph.outputs;
  if (outs.length === 0) return null;
  const dtype = outs[0]!.dtype as DType;
  if (!isFloat(dtype) || outs.some((v) => v.dtype !== dtype)) return null;
  const total = outs.reduce((n, v) => n + v.shape.reduce((x, y) => x * y, 1), 0);
  if (!e.record) e.record = callRecord(e, dtype, total);
  const packed = bind(e.record, leaves, {});
  return unpackOutputs(packed, outs);
}

const floatIndices = (xs: readonly { dtype: string }[]): number[] => xs.flatMap((x, i) => (isFloat(x.dtype as DType) ? [i] : []));

function callRecord(e: Entry, dtype: DType, total: number): CustomCall<Record<string, never>> {
  const n = e.graph.inputs.length;
  const runFlat = (ins: readonly Tensor[]): Tensor[] => {
    if (ins.some((x) => x instanceof Tracer)) return e.flat(ins);
    return execute(e, ins as ConcreteTensor[], new Set());
  };
  return {
    name: 'jit_call',
    shape: () => ({ shape: [total], dtype }),
    declared: { kind: 'rules' },
    impl: (ins) => packOutputs(runFlat(ins), dtype),
    jvp: (primals, tangents) => {
      const wrt = floatIndices(primals);
      if (wrt.every((i) => isZero(tangents[i]!))) return Zero;
      if (!e.jvpFn) {
        const idx = floatIndices(e.graph.inputs);
        e.jvpFn = jit((...xs: Tensor[]) => {
          const ps = xs.slice(0, n);
          const ts = xs.slice(n);
          const at = (w: readonly Tensor[]): Tensor[] => {
            const full = [...ps];
            idx.forEach((i, k) => {
              full[i] = w[k]!;
            });
            return e.flat(full);
          };
          const [, dy] = jvp(
            (...w: Tensor[]) => at(w),
            idx.map((i) => ps[i]!),
            ts,
          );
          return packOutputs(dy as Tensor[], dtype);
        });
      }
      const idx = floatIndices(e.graph.inputs);
      const ts = idx.map((i) => materialise(tangents[i]!, primals[i]!));
      return e.jvpFn(...primals, ...ts);
    },
    vjp: (ct, primals, _p, _out, needed) => {
      const wrt = floatIndices(primals).filter((i) => needed[i]);
      if (wrt.length === 0) return primals.map(() => ZeroOf());
      const mask = wrt.join(',');
      let fn = e.vjpFns.get(mask);
      if (!fn) {
        fn = jit((...xs: Tensor[]) => {
          const ps = xs.slice(0, n);
          const c = xs[n]!;
          const [, pullback] = vjp(
            (...w: Tensor[]) => {
              const full = [...ps];
              wrt.forEach((i, k) => {
                full[i] = w[k]!;
              });
              return packOutputs(e.flat(full), dtype);
            },
            ...wrt.map((i) => ps[i]!),
          );
          return pullback(c) as Tensor[];
        });
        e.vjpFns.set(mask, fn);
      }
      const grads = fn(...primals, ct);
      const out: MaybeZero[] = primals.map(() => ZeroOf());
      wrt.forEach((i, k) => {
        out[i] = grads[k]!;
      });
      return out;
    },
  };
}

const ZeroOf = (): MaybeZero => Zero;

const materialise = (t: MaybeZero, like: Tensor): Tensor => (isZero(t) ? zerosLike(like) : t);

// ---- lower ----

const fmtBytes = (b: number): string =>
  b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`;

function lowerText(e: Entry): string {
  if (e.inline) return '(this function captures a value of an enclosing transformation and runs inline, not compiled)';
  const lines: string[] = [];
  lines.push(`# program (${e.backend.name}), after optimisation`);
  if (e.report) lines.push(`# passes: ${JSON.stringify(e.report)}`);
  lines.push(graphToText(e.graph));
  const fused = e.plan.steps.filter((s) => s.kind === 'fused').length;
  lines.push('');
  lines.push(
    `# ${e.plan.steps.length} steps (${fused} fused kernels); peak bytes of a call: ${e.plan.peakBytes} (${fmtBytes(e.plan.peakBytes)})`,
  );
  e.plan.steps.forEach((s, i) => {
    const name = (x: number) => e.plan.names[x]!;
    const freed = e.plan.freeAfter[i]!.map(name);
    const tail = freed.length > 0 ? `   ; free ${freed.join(' ')}` : '';
    if (s.kind === 'prim') lines.push(`${i}: ${name(s.out)} = ${s.prim.name} ${s.ins.map(name).join(' ')}${tail}`);
    else lines.push(`${i}: (${s.outs.map(name).join(', ')}) = fused#${i} ${s.ins.map(name).join(' ')}${tail}`);
  });
  const fb = e.backend;
  for (const [i, s] of e.plan.steps.entries()) {
    if (s.kind !== 'fused') continue;
    lines.push('');
    lines.push(`# fused#${i}`);
    lines.push(fusedToText(s.kernel));
    if (isFusedBackend(fb)) {
      lines.push(`# generated ${fb.name === 'webgpu' ? 'WGSL' : fb.name === 'cpu' ? 'JavaScript' : 'wasm program'}:`);
      lines.push(fb.fusedSource(s.kernel));
    }
  }
  return lines.join('\n');
}
