/**
 * Structured control flow as primitives: `scan`, `cond`, `foriLoop` and
 * `whileLoop`. Each traces its body (or branches) ONCE into a closed
 * sub-graph (values the body captures become explicit inputs of the
 * equation), and is one equation in an enclosing graph: `makeGraph` shows the
 * loop with its body, and `jit` runs it as one step. The engine's records
 * have a single output, so each control-flow record packs its outputs
 * (flattened, cast to one dtype) into one 1-D tensor that the public
 * function slices apart again.
 *
 * Derivatives are rules written with these same functions, so they nest:
 * the JVP of a scan is a scan of the body's JVP; the VJP of a scan is a
 * forward scan that stores the carry entering each step, then a reverse scan
 * that runs the body's VJP at each stored carry. cond differentiates through
 * the branch taken. whileLoop has a JVP (a while loop of the body's JVP) but
 * no VJP: its trip count depends on values.
 *
 * Packing: the outputs share the packed dtype when they agree; otherwise f64
 * when one of them is f64, else f32. An i32 leaf packed as f32 (a carry or
 * output of mixed integer and f32 leaves) is exact within ±2^24.
 */
import type { Backend } from '../backends/Backend.js';
import { ConcreteTensor } from '../core/ConcreteTensor.js';
import { GraphTrace, GraphTracer, type Graph } from '../core/graphTrace.js';
import { retaining, scope } from '../core/memory.js';
import type { CustomCall, Primitive } from '../core/Primitive.js';
import { flatten, unflatten, type TreeDef } from '../core/pytree.js';
import { avalOf, bind, type Trace, Tracer } from '../core/trace.js';
import { isZero, Zero, type MaybeZero } from '../core/Zero.js';
import type { Aval } from '../tensor/Aval.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { evalGraph } from './graph.js';
import { packDtypeOf, packOutputs, unpackOutputs } from './packing.js';
import { BatchTracer } from './vmap.js';
import { jvp as jvpTransform } from './jvp.js';
import { vjp as vjpTransform } from './vjp.js';
import { arange, backendOf, fromTypedArray, zeros, zerosLike } from '../ops/creation.js';
import { add, less, mul, where } from '../ops/elementwise.js';
import { registerPrimitive } from '../ops/primitives.js';
import { cast, reshape, slice } from '../ops/structural.js';

// ---- sub-graphs ----

const BODY_READ_ERROR =
  'inside a scan, cond or whileLoop body the values are abstract (the body is traced once on shapes and dtypes): data(), ' +
  "dataSync() and a JavaScript if on a tensor's value cannot run there; use cond, where or whileLoop instead";

/** The trace a record's `impl` was called from when it builds a graph (the highest-level trace among the inputs). */
function graphTraceOf(inputs: readonly Tensor[]): GraphTrace | null {
  let top: Trace | null = null;
  for (const x of inputs) if (x instanceof Tracer && (!top || x.trace.level > top.level)) top = x.trace;
  return top instanceof GraphTrace ? top : null;
}

/** Records one control-flow equation in a graph trace. */
function recordEqn(trace: GraphTrace, name: string, inputs: readonly Tensor[], params: object, aval: Aval): Tensor {
  const vars = inputs.map((x) => trace.varOf(x));
  const output = trace.fresh(aval);
  trace.eqns.push({ prim: name, params: { ...params }, inputs: vars, output });
  return new GraphTracer(trace, aval, output);
}

/** The backend of the first of `ts` (where constants made while tracing a body go), or undefined. */
const backendOfAll = (ts: readonly Tensor[]): Backend | undefined => (ts.length > 0 ? backendOf(ts[0]!) : undefined);

/**
 * Traces `fn` once on abstract inputs of `avals` into a closed graph whose
 * inputs are the captured values (returned in `captured`) followed by the
 * inputs for `avals`.
 */
function traceSub(
  fn: (ins: Tensor[]) => Tensor[],
  avals: readonly Aval[],
  backend: Backend | undefined,
): { graph: Graph; captured: Tensor[] } {
  const trace = new GraphTrace();
  trace.readError = BODY_READ_ERROR;
  trace.backend = backend;
  try {
    const ins = avals.map((a) => trace.input(a));
    // constants created while tracing are captured by the graph: inner scopes must not free them
    const outs = retaining(() => fn(ins));
    const outputs = outs.map((y) => trace.varOf(y));
    return {
      graph: { inputs: [...trace.consts.map((c) => c.var), ...ins.map((i) => i.v)], consts: [], eqns: [...trace.eqns], outputs },
      captured: trace.consts.map((c) => c.value),
    };
  } finally {
    trace.active = false;
  }
}

const avalOfVar = (v: { shape: readonly number[]; dtype: string }): Aval => ({ shape: v.shape, dtype: v.dtype as DType });
const sizeOfShape = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** A record's concrete output must be a fresh tensor (a jitted program frees it): an input returned as is is copied (x · 1 is exact). */
function fresh(t: Tensor, inputs: readonly Tensor[]): Tensor {
  if (!inputs.includes(t)) return t;
  return mul(
    t,
    fromTypedArray(
      t.dtype === 'f64' ? Float64Array.of(1) : t.dtype === 'i32' ? Int32Array.of(1) : Float32Array.of(1),
      [],
      t.dtype,
      backendOf(t),
    ),
  );
}

const materialise = (t: MaybeZero, like: Tensor): Tensor => (isZero(t) ? zerosLike(like) : t);

/** `all` with the positions `idx` replaced by `w`. */
const fill = (all: readonly Tensor[], idx: readonly number[], w: readonly Tensor[]): Tensor[] => {
  const out = [...all];
  idx.forEach((i, k) => {
    out[i] = w[k]!;
  });
  return out;
};

/** The concrete value beneath a tensor (a tracer's innermost primal), or null for an abstract graph value. */
function concreteOf(t: Tensor): ConcreteTensor | null {
  let v: Tensor | undefined = t;
  while (v instanceof Tracer) v = v.primalValue();
  return v instanceof ConcreteTensor ? v : null;
}

/**
 * The truth of a scalar predicate when the host can read it now (cpu, wasm),
 * else null; 'batched' when it differs between the examples of a vmap (one
 * value per example: it must not be read as one).
 */
function readPredicate(t: Tensor): boolean | null | 'batched' {
  for (let v: Tensor | undefined = t; v instanceof Tracer; v = v.primalValue()) if (v instanceof BatchTracer) return 'batched';
  const c = concreteOf(t);
  if (!c || (c.backendName !== 'cpu' && c.backendName !== 'wasm')) return null;
  return c.dataSync()[0] !== 0;
}

function checkPredicate(op: string, pred: Tensor): void {
  if (pred.size !== 1) throw new ShapeError(op, `the predicate must be a scalar tensor, got ${describe(pred.dtype, pred.shape)}`);
}

/** Numbers among pytree leaves become f32 scalars on `backend`. */
const leafTensor = (l: Tensor | number, backend: Backend | undefined): Tensor =>
  typeof l === 'number' ? fromTypedArray(Float32Array.of(l), [], 'f32', backend ?? backendOf(zeros([]))) : l;

const sameDef = (a: TreeDef, b: TreeDef): boolean => JSON.stringify(a) === JSON.stringify(b);

const fmtDef = (d: TreeDef): string => {
  switch (d.kind) {
    case 'leaf':
      return '*';
    case 'static':
      return JSON.stringify(d.value) ?? String(d.value);
    case 'array':
      return `[${d.children.map(fmtDef).join(', ')}]`;
    case 'record':
      return `{${d.keys.map((k, i) => `${k}: ${fmtDef(d.children[i]!)}`).join(', ')}}`;
  }
};

// ---- scan ----

/** The parameters of a scan equation. Body inputs: consts, carry, x (one step's slices); outputs: carry, y. */
export interface ScanParams {
  readonly body: Graph;
  readonly length: number;
  readonly reverse: boolean;
  readonly numConsts: number;
  readonly numCarry: number;
  readonly packDtype: DType;
}

const scanOutAvals = (p: ScanParams): Aval[] =>
  p.body.outputs.map((v, k) => (k < p.numCarry ? avalOfVar(v) : { shape: [p.length, ...v.shape], dtype: v.dtype as DType }));

function runScan(inputs: readonly Tensor[], p: ScanParams): Tensor {
  const consts = inputs.slice(0, p.numConsts);
  let carry = inputs.slice(p.numConsts, p.numConsts + p.numCarry);
  const xs = inputs.slice(p.numConsts + p.numCarry);
  const ny = p.body.outputs.length - p.numCarry;
  const steps: Tensor[][] = Array.from({ length: ny }, () => new Array<Tensor>(p.length));
  const packed = scope(() => {
    for (let t = 0; t < p.length; t++) {
      const i = p.reverse ? p.length - 1 - t : t;
      const x = xs.map((a) => reshape(slice(a, [i], [1]), a.shape.slice(1)));
      const outs = evalGraph(p.body, ...consts, ...carry, ...x);
      carry = outs.slice(0, p.numCarry);
      for (let k = 0; k < ny; k++) steps[k]![i] = outs[p.numCarry + k]!;
    }
    // ys stacked along axis 0 are the steps' outputs one after the other, row-major
    return packOutputs([...carry, ...steps.flat()], p.packDtype, backendOfAll(inputs));
  });
  return fresh(packed, inputs);
}

const scanRecord: CustomCall<ScanParams> = {
  name: 'scan',
  shape: (_avals, p) => ({ shape: [scanOutAvals(p).reduce((n, a) => n + sizeOfShape(a.shape), 0)], dtype: p.packDtype }),
  declared: { kind: 'rules' },
  impl: (inputs, p) => {
    const trace = graphTraceOf(inputs);
    if (trace) return recordEqn(trace, 'scan', inputs, p, scanRecord.shape(inputs.map(avalOf), p));
    return runScan(inputs, p);
  },
  jvp: (primals, tangents, p) => scanJvp(primals, tangents, p),
  vjp: (cot, primals, p, _out, needed) => scanVjp(cot, primals, p, needed),
};
registerPrimitive(scanRecord as unknown as Primitive);

/**
 * The scan of flat lists: `body(carry, x)` returns `[carry, y]` (lists of
 * tensors); values the body captures become inputs of the equation.
 */
function scanFlat(
  body: (carry: Tensor[], x: Tensor[]) => [Tensor[], Tensor[]],
  carry: readonly Tensor[],
  xs: readonly Tensor[],
  length: number,
  reverse: boolean,
): { carry: Tensor[]; ys: Tensor[] } {
  const nk = carry.length;
  const avals = [...carry.map(avalOf), ...xs.map((x) => ({ shape: x.shape.slice(1), dtype: x.dtype }))];
  const { graph, captured } = traceSub(
    (ins) => {
      const [c, y] = body(ins.slice(0, nk), ins.slice(nk));
      return [...c, ...y];
    },
    avals,
    backendOfAll([...carry, ...xs]),
  );
  const params: ScanParams = {
    body: graph,
    length,
    reverse,
    numConsts: captured.length,
    numCarry: nk,
    packDtype: packDtypeOf(graph.outputs.map((v) => v.dtype as DType)),
  };
  const packed = bind(scanRecord, [...captured, ...carry, ...xs], params);
  const outs = unpackOutputs(packed, scanOutAvals(params));
  return { carry: outs.slice(0, nk), ys: outs.slice(nk) };
}

function scanJvp(primals: readonly Tensor[], tangents: readonly MaybeZero[], p: ScanParams): MaybeZero {
  const nc = p.numConsts;
  const nk = p.numCarry;
  const n = primals.length;
  const isCarry = (i: number) => i >= nc && i < nc + nk;
  // every float carry has a tangent (a zero one may become non-zero after a step); consts and xs only when theirs is not zero
  const wrt = primals.flatMap((x, i) => (isFloat(x.dtype) && (isCarry(i) || !isZero(tangents[i]!)) ? [i] : []));
  const group = (lo: number, hi: number) => wrt.filter((i) => i >= lo && i < hi);
  const wConst = group(0, nc);
  const wCarry = group(nc, nc + nk);
  const wX = group(nc + nk, n);
  const tan = (i: number) => materialise(tangents[i]!, primals[i]!);
  const consts = primals.slice(0, nc);
  const constTangents = wConst.map(tan);
  const floatY = p.body.outputs.flatMap((v, k) => (k >= nk && isFloat(v.dtype as DType) ? [k - nk] : []));
  const nx = n - nc - nk;
  const res = scanFlat(
    (c, x) => {
      const all = [...consts, ...c.slice(0, nk), ...x.slice(0, nx)];
      const ts = [...constTangents, ...c.slice(nk), ...x.slice(nx)];
      const [outs, touts] = jvpTransform(
        (...w: Tensor[]) => evalGraph(p.body, ...fill(all, wrt, w)),
        wrt.map((i) => all[i]!),
        ts,
      ) as unknown as [Tensor[], Tensor[]];
      return [
        [...outs.slice(0, nk), ...wCarry.map((i) => touts[i - nc]!)],
        [...outs.slice(nk), ...floatY.map((j) => touts[nk + j]!)],
      ];
    },
    [...primals.slice(nc, nc + nk), ...wCarry.map(tan)],
    [...primals.slice(nc + nk), ...wX.map(tan)],
    p.length,
    p.reverse,
  );
  const outAvals = scanOutAvals(p);
  const full = outAvals.map((a, k) => {
    if (k < nk) {
      const j = wCarry.indexOf(nc + k);
      return j >= 0 ? res.carry[nk + j]! : zeros(a.shape, { dtype: a.dtype, backend: backendOf(primals[0]!).name });
    }
    const j = floatY.indexOf(k - nk);
    return j >= 0 ? res.ys[outAvals.length - nk + j]! : zeros(a.shape, { dtype: a.dtype, backend: backendOf(primals[0]!).name });
  });
  return packOutputs(full, p.packDtype, backendOfAll(primals));
}

function scanVjp(cot: Tensor, primals: readonly Tensor[], p: ScanParams, needed: readonly boolean[]): MaybeZero[] {
  const nc = p.numConsts;
  const nk = p.numCarry;
  const n = primals.length;
  const nx = n - nc - nk;
  const result: MaybeZero[] = primals.map(() => Zero);
  const outAvals = scanOutAvals(p);
  const cts = unpackOutputs(cot, outAvals);
  const fc = Array.from({ length: nk }, (_, k) => k).filter((k) => isFloat(primals[nc + k]!.dtype));
  const fy = outAvals.flatMap((a, k) => (k >= nk && isFloat(a.dtype) ? [k - nk] : []));
  const wc = Array.from({ length: nc }, (_, i) => i).filter((i) => needed[i] && isFloat(primals[i]!.dtype));
  const wx = Array.from({ length: nx }, (_, j) => j).filter((j) => needed[nc + nk + j] && isFloat(primals[nc + nk + j]!.dtype));
  if ((fc.length === 0 && fy.length === 0) || (fc.length === 0 && wc.length === 0 && wx.length === 0)) return result;
  const consts = primals.slice(0, nc);
  const xs = primals.slice(nc + nk);
  // forward: the carry entering each step, stacked (index i holds the carry that step i read)
  const fwd = scanFlat(
    (c, x) => [evalGraph(p.body, ...consts, ...c, ...x).slice(0, nk), c],
    primals.slice(nc, nc + nk),
    xs,
    p.length,
    p.reverse,
  );
  const wrt = [...wc, ...fc.map((k) => nc + k), ...wx.map((j) => nc + nk + j)];
  // backward: a scan in the other direction carrying the carry's cotangent and the consts' accumulated cotangents
  const bwd = scanFlat(
    (acc, sl) => {
      const dc = acc.slice(0, fc.length);
      const dconst = acc.slice(fc.length);
      const all = [...consts, ...sl.slice(0, nk), ...sl.slice(nk, nk + nx)];
      const dy = sl.slice(nk + nx);
      const [, pullback] = vjpTransform(
        (...w: Tensor[]) => {
          const o = evalGraph(p.body, ...fill(all, wrt, w));
          return [...fc.map((k) => o[k]!), ...fy.map((j) => o[nk + j]!)];
        },
        ...wrt.map((i) => all[i]!),
      );
      const g = pullback([...dc, ...dy]) as Tensor[];
      const gConst = g.slice(0, wc.length);
      return [[...g.slice(wc.length, wc.length + fc.length), ...dconst.map((d, i) => add(d, gConst[i]!))], g.slice(wc.length + fc.length)];
    },
    [...fc.map((k) => cts[k]!), ...wc.map((i) => zerosLike(consts[i]!))],
    [...fwd.ys, ...xs, ...fy.map((j) => cts[nk + j]!)],
    p.length,
    !p.reverse,
  );
  fc.forEach((k, m) => {
    if (needed[nc + k]) result[nc + k] = bwd.carry[m]!;
  });
  wc.forEach((i, m) => {
    result[i] = bwd.carry[fc.length + m]!;
  });
  wx.forEach((j, m) => {
    result[nc + nk + j] = bwd.ys[m]!;
  });
  return result;
}

/** Options of {@link scan}. */
export interface ScanOptions {
  /** The number of steps; required when `xs` has no leaves (null), else it must equal their leading size. */
  readonly length?: number;
  /** Run the steps from the last slice to the first (ys stay aligned with xs). Default false. */
  readonly reverse?: boolean;
}

/**
 * `scan(f, init, xs, { length?, reverse? })`: a loop with a carried state.
 * `f(carry, x)` returns `[newCarry, y]`; `x` is one slice of `xs` along axis
 * 0 (pytrees allowed for the carry, xs and y). Returns `[finalCarry, ys]`
 * with the ys stacked along a new axis 0. The body is traced once and is one
 * `scan` equation in a graph (not unrolled); it is differentiable in both
 * modes (reverse mode stores the carry entering each step and runs the
 * body's VJP backwards).
 *
 * @example
 * // cumulative sum: carry the running total, emit it at each step
 * const step = (c: ct.Tensor, x: ct.Tensor) => { const s = ct.add(c, x); return [s, s] as const; };
 * const [total, partial] = ct.scan(step, ct.scalar(0), ct.tensor([1, 2, 3]));
 * // total = 6, partial = [1, 3, 6]
 */
export function scan<C, X, Y>(f: (carry: C, x: X) => readonly [C, Y], init: C, xs: X, opts: ScanOptions = {}): [C, Y] {
  if (typeof f !== 'function') throw new ValueError('scan', 'expects a body function f(carry, x) => [carry, y]');
  const reverse = opts.reverse === true;
  const ci = flatten(init);
  const xi = flatten(xs);
  const firstTensor = [...ci.leaves, ...xi.leaves].find((l): l is Tensor => l instanceof Tensor);
  const backend = firstTensor ? backendOf(firstTensor) : undefined;
  const carry = ci.leaves.map((l) => leafTensor(l, backend));
  const xsT = xi.leaves.map((l) => leafTensor(l, backend));
  for (const x of xsT)
    if (x.ndim === 0) throw new ShapeError('scan', `every leaf of xs needs a leading axis to scan over, got ${describe(x.dtype, x.shape)}`);
  const sizes = [...new Set(xsT.map((x) => x.shape[0]!))];
  if (sizes.length > 1) throw new ShapeError('scan', `the leaves of xs have different leading sizes (${sizes.join(', ')})`);
  let length: number;
  if (sizes.length === 0) {
    if (opts.length === undefined) throw new ValueError('scan', 'length is required when xs has no leaves (xs null)');
    length = opts.length;
  } else {
    length = sizes[0]!;
    if (opts.length !== undefined && opts.length !== length)
      throw new ValueError('scan', `length ${opts.length} disagrees with the leading size ${length} of xs`);
  }
  if (!Number.isInteger(length) || length < 0) throw new ValueError('scan', `length must be a non-negative integer, got ${length}`);
  let yDef: TreeDef | undefined;
  const res = scanFlat(
    (c, x) => {
      const r = f(unflatten<C>(ci.def, c), unflatten<X>(xi.def, x));
      if (!Array.isArray(r) || r.length !== 2) throw new ValueError('scan', 'the body must return [carry, y]');
      const co = flatten(r[0]);
      if (!sameDef(co.def, ci.def))
        throw new ValueError('scan', `the body returned a carry of structure ${fmtDef(co.def)}, the initial carry has ${fmtDef(ci.def)}`);
      const cOut = co.leaves.map((l, k) => (typeof l === 'number' ? cast(leafTensor(l, backend), carry[k]!.dtype) : l));
      cOut.forEach((t, k) => {
        const want = carry[k]!;
        if (!shapesEqual(t.shape, want.shape) || t.dtype !== want.dtype)
          throw new ShapeError(
            'scan',
            `carry leaf ${k} is ${describe(want.dtype, want.shape)} on entry but the body returned ${describe(t.dtype, t.shape)}`,
          );
      });
      const yo = flatten(r[1]);
      yDef = yo.def;
      return [cOut, yo.leaves.map((l) => leafTensor(l, backend))];
    },
    carry,
    xsT,
    length,
    reverse,
  );
  return [unflatten<C>(ci.def, res.carry), unflatten<Y>(yDef!, res.ys)];
}

// ---- cond ----

/** The parameters of a cond equation. Inputs: predicate, consts (both branches'), operands; each branch graph takes consts and operands. */
export interface CondParams {
  readonly trueBranch: Graph;
  readonly falseBranch: Graph;
  readonly numConsts: number;
  readonly packDtype: DType;
}

const condOutAvals = (p: CondParams): Aval[] => p.trueBranch.outputs.map(avalOfVar);

const condRecord: CustomCall<CondParams> = {
  name: 'cond',
  shape: (_a, p) => ({ shape: [condOutAvals(p).reduce((n, a) => n + sizeOfShape(a.shape), 0)], dtype: p.packDtype }),
  declared: { kind: 'rules' },
  impl: (inputs, p) => {
    const trace = graphTraceOf(inputs);
    if (trace) return recordEqn(trace, 'cond', inputs, p, condRecord.shape(inputs.map(avalOf), p));
    const [pred, ...rest] = inputs;
    const backend = backendOfAll(rest);
    const run = (g: Graph) => packOutputs(evalGraph(g, ...rest), p.packDtype, backend);
    const v = readPredicate(pred!);
    // a predicate the host cannot read synchronously (WebGPU), or one per example under vmap: both branches run and the
    // result is selected
    const select = v === null || v === 'batched';
    const out = scope(() => (select ? where(pred!, run(p.trueBranch), run(p.falseBranch)) : run(v ? p.trueBranch : p.falseBranch)));
    return fresh(out, inputs);
  },
  jvp: (primals, tangents, p) => {
    const [pred, ...rest] = primals;
    const wrt = rest.flatMap((x, i) => (isFloat(x.dtype) && !isZero(tangents[1 + i]!) ? [i] : []));
    const n = rest.length;
    const branch = (g: Graph) => (ins: Tensor[]) =>
      (
        jvpTransform(
          (...w: Tensor[]) => evalGraph(g, ...fill(ins.slice(0, n), wrt, w)),
          wrt.map((i) => ins[i]!),
          ins.slice(n),
        ) as unknown as [Tensor[], Tensor[]]
      )[1];
    const touts = condFlat('cond', pred!, branch(p.trueBranch), branch(p.falseBranch), [
      ...rest,
      ...wrt.map((i) => materialise(tangents[1 + i]!, rest[i]!)),
    ]).outs;
    return packOutputs(touts, p.packDtype, backendOfAll(rest));
  },
  vjp: (cot, primals, p, _out, needed) => {
    const [pred, ...rest] = primals;
    const result: MaybeZero[] = primals.map(() => Zero);
    const outAvals = condOutAvals(p);
    const fo = outAvals.flatMap((a, k) => (isFloat(a.dtype) ? [k] : []));
    const wrt = rest.flatMap((x, i) => (isFloat(x.dtype) && needed[1 + i] ? [i] : []));
    if (fo.length === 0 || wrt.length === 0) return result;
    const cts = unpackOutputs(cot, outAvals);
    const n = rest.length;
    const branch = (g: Graph) => (ins: Tensor[]) => {
      const all = ins.slice(0, n);
      const [, pullback] = vjpTransform(
        (...w: Tensor[]) => {
          const o = evalGraph(g, ...fill(all, wrt, w));
          return fo.map((k) => o[k]!);
        },
        ...wrt.map((i) => all[i]!),
      );
      return pullback(ins.slice(n)) as Tensor[];
    };
    const grads = condFlat('cond', pred!, branch(p.trueBranch), branch(p.falseBranch), [...rest, ...fo.map((k) => cts[k]!)]).outs;
    wrt.forEach((i, k) => {
      result[1 + i] = grads[k]!;
    });
    return result;
  },
};
registerPrimitive(condRecord as unknown as Primitive);

/**
 * cond on flat lists. Both branches are traced (their outputs must agree in
 * number, shapes and dtypes). A predicate the host can read now runs the
 * taken branch's function directly (so enclosing transformations see its
 * ops); otherwise one cond equation is bound.
 */
function condFlat(
  op: string,
  pred: Tensor,
  trueFn: (ins: Tensor[]) => Tensor[],
  falseFn: (ins: Tensor[]) => Tensor[],
  operands: readonly Tensor[],
  checkStructure: () => void = () => {},
): { outs: Tensor[]; direct: boolean } {
  checkPredicate(op, pred);
  const backend = backendOfAll([...operands, pred]);
  const avals = operands.map(avalOf);
  const t = traceSub(trueFn, avals, backend);
  const f = traceSub(falseFn, avals, backend);
  const to = t.graph.outputs;
  const fo = f.graph.outputs;
  checkStructure();
  if (to.length !== fo.length) throw new ValueError(op, `the branches return ${to.length} and ${fo.length} tensors`);
  to.forEach((v, k) => {
    const w = fo[k]!;
    if (!shapesEqual(v.shape, w.shape) || v.dtype !== w.dtype)
      throw new ShapeError(
        op,
        `the branches disagree on output leaf ${k}: ${describe(v.dtype as DType, v.shape)} (true) vs ` +
          `${describe(w.dtype as DType, w.shape)} (false)`,
      );
  });
  const v = readPredicate(pred);
  if (v === true || v === false) return { outs: (v ? trueFn : falseFn)([...operands]), direct: true };
  // each branch graph takes both branches' captured values (the other branch's as unused inputs), then the operands
  const nt = t.captured.length;
  const nf = f.captured.length;
  const unused = (cs: readonly Tensor[], tag: string) => cs.map((c, i) => ({ name: `_${tag}${i}`, shape: [...c.shape], dtype: c.dtype }));
  const captured = [...t.captured, ...f.captured];
  const params: CondParams = {
    trueBranch: { ...t.graph, inputs: [...t.graph.inputs.slice(0, nt), ...unused(f.captured, 'f'), ...t.graph.inputs.slice(nt)] },
    falseBranch: { ...f.graph, inputs: [...unused(t.captured, 't'), ...f.graph.inputs.slice(0, nf), ...f.graph.inputs.slice(nf)] },
    numConsts: captured.length,
    packDtype: packDtypeOf(to.map((v) => v.dtype as DType)),
  };
  const packed = bind(condRecord, [pred, ...captured, ...operands], params);
  return { outs: unpackOutputs(packed, condOutAvals(params)), direct: false };
}

/**
 * `cond(pred, trueFn, falseFn, ...operands)`: `trueFn(...operands)` when the
 * scalar `pred` is non-zero, else `falseFn(...operands)`. Both branches are
 * traced and must return the same structure, shapes and dtypes. Derivatives
 * flow through the branch taken. When the predicate is abstract (inside jit
 * or makeGraph) cond is one equation with both branches as sub-graphs; it
 * reads the predicate when it runs and runs only the taken branch on cpu and
 * wasm. On WebGPU, where the host cannot read a tensor synchronously, both
 * branches run and the result is selected (`where`).
 *
 * @example
 * const absLike = (x: ct.Tensor) => ct.cond(ct.greater(ct.sum(x), 0), (v: ct.Tensor) => v, (v: ct.Tensor) => ct.neg(v), x);
 */
export function cond<A extends unknown[], R>(
  pred: Tensor | number | boolean,
  trueFn: (...operands: A) => R,
  falseFn: (...operands: A) => R,
  ...operands: A
): R {
  if (typeof trueFn !== 'function' || typeof falseFn !== 'function')
    throw new ValueError('cond', 'expects (pred, trueFn, falseFn, ...operands)');
  const oi = flatten(operands);
  const firstTensor = oi.leaves.find((l): l is Tensor => l instanceof Tensor);
  const backend = firstTensor ? backendOf(firstTensor) : pred instanceof Tensor ? backendOf(pred) : undefined;
  const p = pred instanceof Tensor ? pred : leafTensor(typeof pred === 'boolean' ? (pred ? 1 : 0) : pred, backend);
  const ops = oi.leaves.map((l) => leafTensor(l, backend));
  const defs: (TreeDef | undefined)[] = [undefined, undefined];
  const branch = (fn: (...a: A) => R, which: number) => (ins: Tensor[]) => {
    const out = flatten(fn(...unflatten<A>(oi.def, ins)));
    defs[which] = out.def;
    return out.leaves.map((l) => leafTensor(l, backend));
  };
  const checkDefs = () => {
    if (defs[0] && defs[1] && !sameDef(defs[0], defs[1]))
      throw new ValueError('cond', `the branches return different structures: ${fmtDef(defs[0])} (true) vs ${fmtDef(defs[1])} (false)`);
  };
  const res = condFlat('cond', p, branch(trueFn, 0), branch(falseFn, 1), ops, checkDefs);
  checkDefs();
  return unflatten<R>(defs[0]!, res.outs);
}

// ---- whileLoop ----

/** The parameters of a while equation. Inputs: the condition's consts, the body's consts, the carry. */
export interface WhileParams {
  readonly cond: Graph;
  readonly body: Graph;
  readonly numCondConsts: number;
  readonly numBodyConsts: number;
  readonly packDtype: DType;
}

const WHILE_VJP =
  'reverse-mode differentiation (grad, vjp, jacrev) through whileLoop is not supported: its trip count depends on the values ' +
  'computed, so the backward pass cannot know how many steps to store and run back; use scan, or foriLoop with number bounds ' +
  '(a scan over a static trip count), which are reverse-differentiable';

const whileOutAvals = (p: WhileParams): Aval[] => p.body.outputs.map(avalOfVar);

const whileRecord: CustomCall<WhileParams> = {
  name: 'while',
  shape: (_a, p) => ({ shape: [whileOutAvals(p).reduce((n, a) => n + sizeOfShape(a.shape), 0)], dtype: p.packDtype }),
  declared: { kind: 'rules' },
  impl: (inputs, p) => {
    const trace = graphTraceOf(inputs);
    if (trace) return recordEqn(trace, 'while', inputs, p, whileRecord.shape(inputs.map(avalOf), p));
    const cc = inputs.slice(0, p.numCondConsts);
    const bc = inputs.slice(p.numCondConsts, p.numCondConsts + p.numBodyConsts);
    let carry = inputs.slice(p.numCondConsts + p.numBodyConsts);
    const out = scope(() => {
      for (;;) {
        const pred = evalGraph(p.cond, ...cc, ...carry)[0]!;
        const v = readPredicate(pred);
        if (v === 'batched')
          throw new ValueError(
            'whileLoop',
            'the condition differs between the examples of a vmap (a batched loop would need a different trip count per ' +
              'example); loop outside the vmap, or use scan / foriLoop with number bounds',
          );
        if (v === null)
          throw new ValueError(
            'whileLoop',
            `the loop reads its condition on the host at every step, and a tensor on ${pred.backendName} cannot be read ` +
              'synchronously; run the loop on the cpu or wasm backend, or use scan / foriLoop with number bounds',
          );
        if (!v) break;
        carry = evalGraph(p.body, ...bc, ...carry);
      }
      return packOutputs(carry, p.packDtype, backendOfAll(inputs));
    });
    return fresh(out, inputs);
  },
  jvp: (primals, tangents, p) => {
    const ncc = p.numCondConsts;
    const nbc = p.numBodyConsts;
    const cc = primals.slice(0, ncc);
    const bc = primals.slice(ncc, ncc + nbc);
    const carry = primals.slice(ncc + nbc);
    const nk = carry.length;
    const wBody = bc.flatMap((x, i) => (isFloat(x.dtype) && !isZero(tangents[ncc + i]!) ? [i] : []));
    const wCarry = carry.flatMap((x, k) => (isFloat(x.dtype) ? [k] : []));
    const bodyTangents = wBody.map((i) => materialise(tangents[ncc + i]!, bc[i]!));
    const wrt = [...wBody, ...wCarry.map((k) => nbc + k)];
    const res = whileFlat(
      (c) => evalGraph(p.cond, ...cc, ...c.slice(0, nk))[0]!,
      (c) => {
        const all = [...bc, ...c.slice(0, nk)];
        const [outs, touts] = jvpTransform(
          (...w: Tensor[]) => evalGraph(p.body, ...fill(all, wrt, w)),
          wrt.map((i) => all[i]!),
          [...bodyTangents, ...c.slice(nk)],
        ) as unknown as [Tensor[], Tensor[]];
        return [...outs, ...wCarry.map((k) => touts[k]!)];
      },
      [...carry, ...wCarry.map((k) => materialise(tangents[ncc + nbc + k]!, carry[k]!))],
    );
    const full = carry.map((x, k) => {
      const j = wCarry.indexOf(k);
      return j >= 0 ? res[nk + j]! : zerosLike(x);
    });
    return packOutputs(full, p.packDtype, backendOfAll(primals));
  },
  vjp: () => {
    throw new ValueError('whileLoop', WHILE_VJP);
  },
};
registerPrimitive(whileRecord as unknown as Primitive);

function whileFlat(condFn: (carry: Tensor[]) => Tensor, bodyFn: (carry: Tensor[]) => Tensor[], carry: readonly Tensor[]): Tensor[] {
  const backend = backendOfAll(carry);
  const avals = carry.map(avalOf);
  const c = traceSub(
    (ins) => {
      const pred = condFn(ins);
      if (!(pred instanceof Tensor)) throw new ValueError('whileLoop', 'the condition must return a scalar tensor');
      checkPredicate('whileLoop', pred);
      return [reshape(pred, [])];
    },
    avals,
    backend,
  );
  const b = traceSub(bodyFn, avals, backend);
  b.graph.outputs.forEach((v, k) => {
    const want = avals[k]!;
    if (!shapesEqual(v.shape, want.shape) || v.dtype !== want.dtype)
      throw new ShapeError(
        'whileLoop',
        `carry leaf ${k} is ${describe(want.dtype, want.shape)} on entry but the body returned ${describe(v.dtype as DType, v.shape)}`,
      );
  });
  const params: WhileParams = {
    cond: c.graph,
    body: b.graph,
    numCondConsts: c.captured.length,
    numBodyConsts: b.captured.length,
    packDtype: packDtypeOf(avals.map((a) => a.dtype)),
  };
  const packed = bind(whileRecord, [...c.captured, ...b.captured, ...carry], params);
  return unpackOutputs(packed, whileOutAvals(params));
}

/**
 * `whileLoop(condFn, bodyFn, init)`: `carry = bodyFn(carry)` while
 * `condFn(carry)` (a scalar tensor) is non-zero; returns the final carry (a
 * pytree with the structure, shapes and dtypes of `init`). Both functions are
 * traced once; the condition is read on the host at each step (cpu and wasm
 * backends). Forward mode (jvp, jacfwd) works; reverse mode (grad) is an
 * error, since the trip count depends on the values: use `scan` or `foriLoop`
 * with number bounds instead.
 *
 * @example
 * // the first power of two above 1000
 * const p = ct.whileLoop((x: ct.Tensor) => ct.less(x, 1000), (x: ct.Tensor) => ct.mul(x, 2), ct.scalar(1)); // 1024
 */
export function whileLoop<C>(condFn: (carry: C) => Tensor, bodyFn: (carry: C) => C, init: C): C {
  if (typeof condFn !== 'function' || typeof bodyFn !== 'function')
    throw new ValueError('whileLoop', 'expects (condFn, bodyFn, init) with condFn(carry) => scalar tensor and bodyFn(carry) => carry');
  const ci = flatten(init);
  const firstTensor = ci.leaves.find((l): l is Tensor => l instanceof Tensor);
  const backend = firstTensor ? backendOf(firstTensor) : undefined;
  const carry = ci.leaves.map((l) => leafTensor(l, backend));
  const out = whileFlat(
    (c) => condFn(unflatten<C>(ci.def, c)),
    (c) => {
      const o = flatten(bodyFn(unflatten<C>(ci.def, c)));
      if (!sameDef(o.def, ci.def))
        throw new ValueError(
          'whileLoop',
          `the body returned a carry of structure ${fmtDef(o.def)}, the initial carry has ${fmtDef(ci.def)}`,
        );
      return o.leaves.map((l, k) => (typeof l === 'number' ? cast(leafTensor(l, backend), carry[k]!.dtype) : l));
    },
    carry,
  );
  return unflatten<C>(ci.def, out);
}

// ---- foriLoop ----

/**
 * `foriLoop(lo, hi, body, init)`: `carry = body(i, carry)` for i = lo … hi−1
 * (`i` a scalar i32 tensor). With number bounds it is a scan over the trip
 * count, so it is differentiable in both modes; with tensor bounds it is a
 * whileLoop (forward mode only).
 *
 * @example
 * // x^5 by repeated multiplication
 * const p = ct.foriLoop(0, 5, (_i, acc: ct.Tensor) => ct.mul(acc, x), ct.onesLike(x));
 */
export function foriLoop<C>(lo: number | Tensor, hi: number | Tensor, body: (i: Tensor, carry: C) => C, init: C): C {
  if (typeof body !== 'function') throw new ValueError('foriLoop', 'expects (lo, hi, body, init) with body(i, carry) => carry');
  const leaves = flatten(init).leaves;
  const firstTensor = leaves.find((l): l is Tensor => l instanceof Tensor);
  const backend = firstTensor ? backendOf(firstTensor) : undefined;
  if (typeof lo === 'number' && typeof hi === 'number') {
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new ValueError('foriLoop', `bounds must be integers, got ${lo} and ${hi}`);
    if (hi <= lo) return init;
    const is = arange(lo, hi, 1, { dtype: 'i32', ...(backend ? { backend: backend.name } : {}) });
    return scan((c: C, i: Tensor) => [body(i, c), null] as const, init, is)[0];
  }
  const asI32 = (v: number | Tensor): Tensor =>
    typeof v === 'number' ? fromTypedArray(Int32Array.of(v), [], 'i32', backend ?? backendOf(zeros([]))) : cast(reshape(v, []), 'i32');
  const hiT = asI32(hi);
  const out = whileLoop(
    (s: { i: Tensor; c: C }) => less(s.i, hiT),
    (s: { i: Tensor; c: C }) => ({ i: add(s.i, 1), c: body(s.i, s.c) }),
    { i: asI32(lo), c: init },
  );
  return out.c;
}
