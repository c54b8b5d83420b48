/**
 * `exportOnnx(f, ...exampleArgs, options?)`: trace a function into cotangent's
 * graph IR and write it as an ONNX ModelProto computing the same outputs.
 * Every equation goes through the rule table of `rules.ts`; the control-flow
 * equations become ONNX Scan (scan), If (cond) and Loop (while) nodes with
 * their sub-graphs as bodies; tensors the function captures (a model's
 * parameters) become initializers; the function's arguments become the
 * graph's inputs.
 *
 * The batch dimension. The leading axis of the inputs is exported as a
 * symbolic dimension `batch` when the function is polymorphic in it: the
 * inputs of rank ≥ 1 whose leading size equals the first such input's are
 * given two more batch sizes and the function is traced again; when the three
 * graphs have the same equations and constants, and every size that differs
 * (in a shape or in a parameter such as a reshape's target) is the same
 * affine function `a·batch + b` at the three sizes, the batch is dynamic and
 * the sizes that depend on it are computed from the input's shape at run
 * time, as are constants filled with one value whose shape follows the batch
 * (initial states). Sub-graphs are compared the same way. Otherwise (a
 * constant whose values depend on the batch, a different graph, a shape error
 * at another size) the model has the example's fixed shapes.
 */
import { GraphTrace, type Graph, type GraphEqn, type GraphVar } from '../../core/graphTrace.js';
import { retaining } from '../../core/memory.js';
import { flatten, unflatten } from '../../core/pytree.js';
import { asTensor } from '../../ops/creation.js';
import type { Aval } from '../../tensor/Aval.js';
import { ValueError } from '../../tensor/ShapeError.js';
import { Tensor } from '../../tensor/Tensor.js';
import type { Fn } from '../../transforms/argnums.js';
import { onnxRules, type Attrs, type Dim, type OnnxBuilder, type OnnxRule } from './rules.js';
import {
  encodeModel,
  ONNX_ATTR,
  ONNX_DTYPE,
  type AttributeProto,
  type DimensionProto,
  type NodeProto,
  type SubGraphProto,
  type TensorProto,
  type TypedValueProto,
  type ValueInfoProto,
} from './schema.js';

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** The ONNX opset imported (17 to 22; default 17). */
  readonly opset?: number;
  /**
   * Names of the graph's inputs (one per tensor leaf of the arguments) and outputs (one per leaf of the result), and a
   * parameter tree (`params`) whose tensors, where the function captures them, become initializers named by their path
   * (`1.w`).
   */
  readonly names?: { readonly inputs?: readonly string[]; readonly outputs?: readonly string[]; readonly params?: unknown };
  /**
   * The batch dimension: true requires it to be dynamic (an error says why it cannot be), false fixes the example's
   * sizes; by default it is dynamic where the function allows it (see the module notes).
   */
  readonly dynamicBatch?: boolean;
  /** The graph's name (default 'cotangent'). */
  readonly graphName?: string;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['opset', 'names', 'dynamicBatch', 'graphName']);

/** The IR version that goes with each supported opset. */
const IR_VERSION: Readonly<Record<number, number>> = { 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10 };

/** The opset imported when none is given. */
export const DEFAULT_OPSET = 17;

const isOptions = (v: unknown): v is OnnxExportOptions =>
  typeof v === 'object' &&
  v !== null &&
  !(v instanceof Tensor) &&
  !Array.isArray(v) &&
  Object.keys(v).length > 0 &&
  Object.keys(v).every((k) => OPTION_KEYS.has(k));

/**
 * Trace `f` at example arguments (pytrees of tensors; only shapes and dtypes matter) and encode it as an ONNX model
 * (ModelProto bytes, opset 17 by default): one graph input per tensor leaf of the arguments, one output per leaf of the
 * result, the tensors `f` captures (a model's parameters) as initializers, and a symbolic `batch` leading dimension
 * where `f` allows it. The last argument is taken as options when it is an object whose keys are all option names.
 * Throws a `ValueError` naming what cannot be exported (user-defined primitives, a scan with no sequence input).
 *
 * @example
 * const bytes = await exportOnnx((x: Tensor) => model.apply(params, x), ct.zeros([1, 64]), { names: { params } });
 * writeFileSync('model.onnx', bytes);
 */
export async function exportOnnx<F extends Fn>(
  f: F,
  ...rest: [...Parameters<F>] | [...Parameters<F>, OnnxExportOptions]
): Promise<Uint8Array> {
  const last = rest[rest.length - 1];
  const options: OnnxExportOptions = isOptions(last) ? last : {};
  const args = isOptions(last) ? rest.slice(0, -1) : rest;
  const opset = options.opset ?? DEFAULT_OPSET;
  const ir = IR_VERSION[opset];
  if (ir === undefined)
    throw new ValueError('exportOnnx', `opset ${opset} is not supported (choose one of ${Object.keys(IR_VERSION).join(', ')})`);

  const { leaves } = flatten(args);
  const avals: Aval[] = leaves.map((l) => (typeof l === 'number' ? { shape: [], dtype: 'f32' } : { shape: [...l.shape], dtype: l.dtype }));
  const g = traceAt(f, args, avals);
  checkExportable(g);
  const shapes = await batchShapes(f, args, avals, g, options.dynamicBatch);

  const inputNames = graphNames('input', options.names?.inputs, g.inputs.length, 'inputs');
  const outputNames = graphNames('output', options.names?.outputs, g.outputs.length, 'outputs');
  const b = Builder.root(opset, shapes.batchInput === undefined ? undefined : inputNames[shapes.batchInput]);
  b.reserve([...inputNames, ...outputNames]);

  const env = new Map<string, string>();
  for (const [i, v] of g.inputs.entries()) env.set(v.name, inputNames[i]!);
  await emitGraph(b, g, env, shapes, namesOfParams(options.names?.params));
  g.outputs.forEach((v, i) => {
    b.nodes.push({ input: [env.get(v.name)!], output: [outputNames[i]!], name: `output_${i}`, op_type: 'Identity' });
  });

  const top = shapes.graphs.get(g);
  const valueInfo = (name: string, v: GraphVar): ValueInfoProto => ({
    name,
    type: {
      tensor_type: {
        elem_type: elemType(v.dtype),
        shape: { dim: (top?.vars.get(v.name) ?? v.shape.map((n) => ({ a: 0, b: n }))).map(dimProto) },
      },
    },
  });
  return encodeModel({
    ir_version: ir,
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'cotangent',
    producer_version: '0.1.0',
    doc_string: `exported by cotangent; batch dimension ${shapes.batchInput === undefined ? 'fixed' : "dynamic ('batch')"}`,
    graph: {
      name: options.graphName ?? 'cotangent',
      node: b.nodes,
      initializer: b.inits,
      input: g.inputs.map((v, i) => valueInfo(inputNames[i]!, v)),
      output: g.outputs.map((v, i) => valueInfo(outputNames[i]!, v)),
    },
  });
}

/**
 * Add the nodes of `g` to `b`: its constants as initializers, then each equation through its rule. `env` maps the
 * graph's input names to ONNX value names and receives every other variable's.
 */
async function emitGraph(
  b: Builder,
  g: Graph,
  env: Map<string, string>,
  shapes: BatchShapes,
  paramNames: ReadonlyMap<Tensor, string>,
): Promise<void> {
  const fills = shapes.graphs.get(g)?.fills;
  for (const c of g.consts) {
    const fill = fills?.get(c.var.name);
    if (fill) {
      env.set(c.var.name, b.node('Expand', [b.scalar(fill.value, c.var.dtype), b.shape(fill.dims)]));
      continue;
    }
    const name = b.unique(paramNames.get(c.value) ?? `const_${c.var.name}`);
    b.inits.push(tensorProto(name, c.var.shape, c.var.dtype, await c.value.data()));
    env.set(c.var.name, name);
  }
  const dimsOf = shapes.graphs.get(g)?.params;
  for (const [i, e] of g.eqns.entries()) {
    const ins = e.inputs.map((v) => env.get(v.name)!);
    const control = CONTROL_RULES[e.prim];
    if (control) {
      env.set(e.output.name, await control(b, ins, e, (h, hEnv, into) => emitGraph(into, h, hEnv, shapes, paramNames)));
      continue;
    }
    const rule = onnxRules[e.prim as keyof typeof onnxRules] as OnnxRule<unknown>;
    const dims = dimsOf?.get(i) ?? {};
    const out = rule(b, ins, {
      params: e.params,
      inputs: e.inputs,
      output: e.output,
      dims: (key) => dims[key] ?? (e.params[key] as readonly number[]).map((n) => ({ a: 0, b: n })),
    });
    env.set(e.output.name, out);
  }
}

/** Emits a sub-graph's equations into `into` (a child builder: its own nodes, the names and initializers of the model). */
type EmitSub = (g: Graph, env: Map<string, string>, into: Builder) => Promise<void>;

/** The translation of a control-flow equation: its sub-graphs become the bodies of ONNX control-flow nodes. */
type ControlRule = (b: Builder, inputs: readonly string[], e: GraphEqn, emit: EmitSub) => Promise<string>;

/** The scan parameters the exporter reads (see ScanParams in transforms/control). */
interface ScanLike {
  readonly body: Graph;
  readonly reverse: boolean;
  readonly numConsts: number;
  readonly numCarry: number;
  readonly packDtype: string;
}

/** The cond parameters the exporter reads (see CondParams in transforms/control). */
interface CondLike {
  readonly trueBranch: Graph;
  readonly falseBranch: Graph;
  readonly packDtype: string;
}

const typed = (name: string, v: GraphVar): TypedValueProto => ({ name, type: { tensor_type: { elem_type: elemType(v.dtype) } } });

/** A sub-graph of a control-flow node: `g`'s equations, its inputs bound to `bound` (outer names) or new body inputs. */
async function subGraph(b: Builder, g: Graph, bound: readonly (string | undefined)[], emit: EmitSub, name: string): Promise<SubGraphProto> {
  const env = new Map<string, string>();
  const input: TypedValueProto[] = [];
  g.inputs.forEach((v, k) => {
    const outer = bound[k];
    if (outer !== undefined) env.set(v.name, outer);
    else {
      const inner = b.unique(`${name}:in:${k}`);
      env.set(v.name, inner);
      input.push(typed(inner, v));
    }
  });
  const child = b.child();
  await emit(g, env, child);
  // fresh names for the outputs (a body output may be one of its inputs)
  const output = g.outputs.map((v) => typed(child.node('Identity', [env.get(v.name)!]), v));
  return { name, node: child.nodes, input, output };
}

/** The outputs packed as cotangent packs a control-flow equation's: each flattened, cast to `dtype`, concatenated. */
function pack(b: Builder, outs: readonly string[], vars: readonly { shape: readonly number[]; dtype: string }[], dtype: string): string {
  const parts = outs.flatMap((o, k) => {
    const v = vars[k]!;
    if (v.shape.reduce((x, y) => x * y, 1) === 0) return [];
    const c = v.dtype === dtype ? o : b.node('Cast', [o], { to: elemType(dtype) });
    return [b.node('Reshape', [c, b.ints([-1])])];
  });
  if (parts.length === 0) return b.constant([], [0], dtype);
  return parts.length === 1 ? parts[0]! : b.node('Concat', parts, { axis: 0 });
}

/** The while parameters the exporter reads (see WhileParams in transforms/control). */
interface WhileLike {
  readonly cond: Graph;
  readonly body: Graph;
  readonly numCondConsts: number;
  readonly numBodyConsts: number;
  readonly packDtype: string;
}

/** The value of a graph's single output (a predicate) as an ONNX bool: `g` emitted into `into` with its inputs bound. */
async function predicate(into: Builder, g: Graph, bound: readonly string[], emit: EmitSub): Promise<string> {
  const env = new Map<string, string>();
  g.inputs.forEach((v, k) => {
    env.set(v.name, bound[k]!);
  });
  await emit(g, env, into);
  return into.node('Cast', [env.get(g.outputs[0]!.name)!], { to: ONNX_DTYPE.BOOL });
}

/** scan, cond and while as ONNX Scan, If and Loop (their outputs packed as cotangent packs them). */
const CONTROL_RULES: Readonly<Record<string, ControlRule>> = {
  // Scan: carries are its state, xs its scan inputs (read from the end when reversed), ys stacked in index order
  // (prepended when reversed); the body reads the scan's constants from the enclosing graph
  scan: async (b, ins, e, emit) => {
    const p = e.params as unknown as ScanLike;
    const nc = p.numConsts;
    const carry = ins.slice(nc, nc + p.numCarry);
    const xs = ins.slice(nc + p.numCarry);
    if (xs.length === 0)
      throw new ValueError('exportOnnx', `the scan ${e.output.name} has no sequence input (only a length): ONNX Scan needs one`);
    const bound = p.body.inputs.map((_, k) => (k < nc ? ins[k] : undefined));
    const graph = await subGraph(b, p.body, bound, emit, `${e.output.name}_body`);
    const ny = p.body.outputs.length - p.numCarry;
    const dir = p.reverse ? 1 : 0;
    const outs = b.nodeOutputs(
      'Scan',
      [...carry, ...xs],
      {
        body: { graph },
        num_scan_inputs: xs.length,
        scan_input_directions: xs.map(() => dir),
        ...(ny > 0 ? { scan_output_directions: Array.from({ length: ny }, () => dir) } : {}),
      },
      p.body.outputs.length,
    );
    const length = e.inputs[nc + p.numCarry]!.shape[0]!;
    const vars = p.body.outputs.map((v, k) => (k < p.numCarry ? v : { shape: [length, ...v.shape], dtype: v.dtype }));
    return pack(b, outs, vars, p.packDtype);
  },
  // If on the predicate ≠ 0; the branches read the captured values and operands from the enclosing graph
  cond: async (b, ins, e, emit) => {
    const p = e.params as unknown as CondLike;
    const [pred, ...rest] = ins;
    const t = await subGraph(b, p.trueBranch, rest, emit, `${e.output.name}_then`);
    const f = await subGraph(b, p.falseBranch, rest, emit, `${e.output.name}_else`);
    const cond = b.node('Cast', [pred!], { to: ONNX_DTYPE.BOOL });
    const outs = b.nodeOutputs('If', [cond], { then_branch: { graph: t }, else_branch: { graph: f } }, p.trueBranch.outputs.length);
    return pack(b, outs, p.trueBranch.outputs, p.packDtype);
  },
  // Loop with no trip count: the condition on the initial carry decides the first step; the body runs the loop's body,
  // then the condition on the new carry
  while: async (b, ins, e, emit) => {
    const p = e.params as unknown as WhileLike;
    const cc = ins.slice(0, p.numCondConsts);
    const bc = ins.slice(p.numCondConsts, p.numCondConsts + p.numBodyConsts);
    const carry = ins.slice(p.numCondConsts + p.numBodyConsts);
    const first = await predicate(b, p.cond, [...cc, ...carry], emit);
    const child = b.child();
    const name = `${e.output.name}_body`;
    const iter = b.unique(`${name}:iter`);
    const condIn = b.unique(`${name}:cond`);
    const carryIn = carry.map((_, k) => b.unique(`${name}:in:${k}`));
    const env = new Map<string, string>();
    p.body.inputs.forEach((v, k) => {
      env.set(v.name, k < bc.length ? bc[k]! : carryIn[k - bc.length]!);
    });
    await emit(p.body, env, child);
    const next = p.body.outputs.map((v) => env.get(v.name)!);
    const again = await predicate(child, p.cond, [...cc, ...next], emit);
    const body: SubGraphProto = {
      name,
      node: child.nodes,
      input: [
        { name: iter, type: { tensor_type: { elem_type: ONNX_DTYPE.INT64, shape: { dim: [] } } } },
        { name: condIn, type: { tensor_type: { elem_type: ONNX_DTYPE.BOOL, shape: { dim: [] } } } },
        ...carryIn.map((n, k) => typed(n, p.body.outputs[k]!)),
      ],
      output: [
        { name: child.node('Identity', [again]), type: { tensor_type: { elem_type: ONNX_DTYPE.BOOL, shape: { dim: [] } } } },
        ...next.map((n, k) => typed(child.node('Identity', [n]), p.body.outputs[k]!)),
      ],
    };
    const outs = b.nodeOutputs('Loop', ['', first, ...carry], { body: { graph: body } }, carry.length);
    return pack(b, outs, p.body.outputs, p.packDtype);
  },
};

/** The graph of `f` at the given input avals (as `makeGraph`, without data). */
function traceAt(f: Fn, args: readonly unknown[], avals: readonly Aval[]): Graph {
  const trace = new GraphTrace();
  try {
    const { def } = flatten(args);
    const inputs = avals.map((a) => trace.input(a));
    // constants made while tracing (a transformation's seeds, a vmap's axis sizes) are captured: inner scopes keep them
    const out = retaining(() => f(...unflatten<unknown[]>(def, inputs)));
    const outputs = flatten(out).leaves.map((y) => trace.varOf(typeof y === 'number' ? asTensor(y) : y));
    return { inputs: inputs.map((i) => i.v), consts: [...trace.consts], eqns: [...trace.eqns], outputs };
  } finally {
    trace.active = false;
  }
}

/** Throws, naming every equation (in the graph or its sub-graphs) that has no ONNX rule. */
function checkExportable(g: Graph): void {
  const bad = new Set<string>();
  const walk = (h: Graph): void => {
    for (const e of h.eqns) {
      if (!Object.hasOwn(onnxRules, e.prim) && !Object.hasOwn(CONTROL_RULES, e.prim)) bad.add(e.prim);
      for (const v of Object.values(e.params)) if (isGraph(v)) walk(v);
    }
  };
  walk(g);
  if (bad.size === 0) return;
  const what = [...bad].map((p) => `the user-defined primitive '${p}' (no ONNX rule; write it with built-in ops to export it)`);
  throw new ValueError(
    'exportOnnx',
    `cannot export ${what.join(', ')}: only the built-in primitives and the control flow (scan, cond, while) have ONNX rules`,
  );
}

/** Whether a parameter is a sub-graph (the body of scan, the branches of cond). */
const isGraph = (v: unknown): v is Graph =>
  typeof v === 'object' && v !== null && Array.isArray((v as Graph).inputs) && Array.isArray((v as Graph).eqns);

/** Sizes of a graph's variables and of its equations' parameters (by equation index) as functions of the batch size. */
interface GraphShapes {
  readonly vars: Map<string, readonly Dim[]>;
  readonly params: Map<number, Record<string, readonly Dim[]>>;
  /** Constants filled with one value whose shape depends on the batch size (made with Expand at run time). */
  readonly fills: Map<string, { readonly value: number; readonly dims: readonly Dim[] }>;
}

/** The sizes of the graph and of each of its sub-graphs (keyed by the example trace's graphs), and the batched input. */
interface BatchShapes {
  readonly batchInput: number | undefined;
  readonly graphs: ReadonlyMap<Graph, GraphShapes>;
}

const STATIC: BatchShapes = { batchInput: undefined, graphs: new Map() };

/** Decide whether the batch is dynamic (see the module notes) and, when it is, how every size depends on it. */
async function batchShapes(
  f: Fn,
  args: readonly unknown[],
  avals: readonly Aval[],
  g: Graph,
  want: boolean | undefined,
): Promise<BatchShapes> {
  if (want === false) return STATIC;
  const first = avals.findIndex((a) => a.shape.length > 0);
  const fail = (why: string): BatchShapes => {
    if (want) throw new ValueError('exportOnnx', `the batch dimension cannot be dynamic: ${why}`);
    return STATIC;
  };
  if (first < 0) return fail('no input has a leading axis');
  const n0 = avals[first]!.shape[0]!;
  const batched = avals.map((a) => a.shape.length > 0 && a.shape[0] === n0);
  const ns = [n0, n0 + 3, n0 + 8];
  const graphs: Graph[] = [g];
  for (const n of ns.slice(1)) {
    try {
      graphs.push(
        traceAt(
          f,
          args,
          avals.map((a, i) => (batched[i] ? { ...a, shape: [n, ...a.shape.slice(1)] } : a)),
        ),
      );
    } catch (e) {
      return fail(`tracing at batch size ${n} failed: ${(e as Error).message}`);
    }
  }
  const shapes = new Map<Graph, GraphShapes>();
  const why = await compareGraphs(graphs, ns, shapes);
  if (why) return fail(why);
  return { batchInput: first, graphs: shapes };
}

/** `a·n + b` fitting the sizes `vs` at the batch sizes `ns`, or undefined when no integer `a` fits them all. */
function affineFit(vs: readonly number[], ns: readonly number[]): Dim | undefined {
  const a = (vs[1]! - vs[0]!) / (ns[1]! - ns[0]!);
  if (!Number.isInteger(a)) return undefined;
  const b = vs[0]! - a * ns[0]!;
  return vs.every((v, i) => v === a * ns[i]! + b) ? { a, b } : undefined;
}

const fitShape = (shapes: readonly (readonly number[])[], ns: readonly number[]): Dim[] | undefined => {
  const rank = shapes[0]!.length;
  if (shapes.some((s) => s.length !== rank)) return undefined;
  const dims: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const d = affineFit(
      shapes.map((s) => s[i]!),
      ns,
    );
    if (!d) return undefined;
    dims.push(d);
  }
  return dims;
};

const isNumberList = (v: unknown): v is readonly number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

/**
 * How the graphs traced at the batch sizes `ns` differ (recorded in `out` for the graph and its sub-graphs), or why they
 * are not one graph with a dynamic batch.
 */
async function compareGraphs(gs: readonly Graph[], ns: readonly number[], out: Map<Graph, GraphShapes>): Promise<string | undefined> {
  const [g] = gs as [Graph];
  const vars = new Map<string, readonly Dim[]>();
  const params = new Map<number, Record<string, readonly Dim[]>>();
  const fills = new Map<string, { readonly value: number; readonly dims: readonly Dim[] }>();
  out.set(g, { vars, params, fills });
  const sameShape = (what: string, vs: readonly GraphVar[]): string | undefined => {
    if (vs.some((v) => v.name !== vs[0]!.name || v.dtype !== vs[0]!.dtype)) return `${what} differs between batch sizes`;
    const dims = fitShape(
      vs.map((v) => v.shape),
      ns,
    );
    if (!dims) return `the shape of ${what} is not an affine function of the batch size (${vs.map((v) => `[${v.shape}]`).join(', ')})`;
    vars.set(vs[0]!.name, dims);
    return undefined;
  };
  if (gs.some((h) => h.eqns.length !== g.eqns.length || h.consts.length !== g.consts.length || h.outputs.length !== g.outputs.length))
    return 'the function records a different computation at another batch size';
  for (const [i, v] of g.inputs.entries()) {
    const why = sameShape(`input ${i}`, [v, ...gs.slice(1).map((h) => h.inputs[i]!)]);
    if (why) return why;
  }
  for (const [i, c] of g.consts.entries()) {
    const others = gs.slice(1).map((h) => h.consts[i]!);
    if (others.some((o) => o.var.name !== c.var.name || o.var.dtype !== c.var.dtype))
      return `the constant ${c.var.name} differs between batch sizes`;
    if (others.some((o) => o.var.shape.join() !== c.var.shape.join())) {
      // a constant filled with one value (an initial state of zeros) whose shape follows the batch: made at run time
      const dims = fitShape(
        [c, ...others].map((o) => o.var.shape),
        ns,
      );
      const datas = await Promise.all([c, ...others].map((o) => o.value.data()));
      const v = datas[0]![0];
      if (!dims || v === undefined || datas.some((d) => d.some((x) => !Object.is(x, v))))
        return `the constant ${c.var.name} has a shape that depends on the batch size and is not filled with one value`;
      fills.set(c.var.name, { value: v, dims });
      vars.set(c.var.name, dims);
      continue;
    }
    for (const o of others) {
      if (o.value === c.value) continue;
      const [x, y] = await Promise.all([c.value.data(), o.value.data()]);
      if (x.some((v, k) => !Object.is(v, y[k]))) return `the constant ${c.var.name} depends on the batch size`;
    }
  }
  for (const [i, e] of g.eqns.entries()) {
    const es = gs.map((h) => h.eqns[i]!);
    if (es.some((o) => o.prim !== e.prim || o.inputs.map((v) => v.name).join() !== e.inputs.map((v) => v.name).join()))
      return `equation ${i} (${e.prim}) differs between batch sizes`;
    const why = sameShape(
      `the output of ${e.prim} (${e.output.name})`,
      es.map((o) => o.output),
    );
    if (why) return why;
    for (const key of Object.keys(e.params)) {
      const vs = es.map((o) => o.params[key]);
      if (vs.every(isGraph)) {
        const inner = await compareGraphs(vs, ns, out);
        if (inner) return `in the ${key} of ${e.prim} (${e.output.name}): ${inner}`;
        continue;
      }
      if (vs.every((v) => JSON.stringify(v) === JSON.stringify(vs[0]))) continue;
      const dims = vs.every(isNumberList) ? fitShape(vs, ns) : undefined;
      if (!dims) return `the parameter ${key} of ${e.prim} (${e.output.name}) is not an affine function of the batch size`;
      params.set(i, { ...params.get(i), [key]: dims });
    }
  }
  for (const [i, v] of g.outputs.entries()) {
    if (gs.some((h) => h.outputs[i]!.name !== v.name)) return `output ${i} differs between batch sizes`;
  }
  return undefined;
}

/** The graph's input or output names: given (checked) or `input`, `input_0`, `input_1`, … */
function graphNames(prefix: string, given: readonly string[] | undefined, n: number, what: string): string[] {
  if (given) {
    if (given.length !== n) throw new ValueError('exportOnnx', `names.${what} has ${given.length} names for ${n} ${what}`);
    if (given.some((s) => typeof s !== 'string' || s.length === 0))
      throw new ValueError('exportOnnx', `names.${what} must be non-empty strings`);
    return [...given];
  }
  return n === 1 ? [prefix] : Array.from({ length: n }, (_, i) => `${prefix}_${i}`);
}

/** Every tensor of a parameter tree by its path (`0.w`, `layers.1.b`). */
function namesOfParams(tree: unknown): Map<Tensor, string> {
  const names = new Map<Tensor, string>();
  const walk = (t: unknown, path: string[]): void => {
    if (t instanceof Tensor) {
      if (!names.has(t)) names.set(t, path.length ? path.join('.') : 'param');
    } else if (Array.isArray(t)) {
      for (const [i, x] of t.entries()) walk(x, [...path, String(i)]);
    } else if (typeof t === 'object' && t !== null) for (const [k, v] of Object.entries(t)) walk(v, [...path, k]);
  };
  walk(tree, []);
  return names;
}

/** The ONNX element type of a cotangent dtype. */
function elemType(dtype: string): number {
  switch (dtype) {
    case 'f32':
      return ONNX_DTYPE.FLOAT;
    case 'f64':
      return ONNX_DTYPE.DOUBLE;
    case 'i32':
      return ONNX_DTYPE.INT32;
    default:
      throw new ValueError('exportOnnx', `dtype '${dtype}' has no ONNX element type`);
  }
}

const dimProto = (d: Dim): DimensionProto =>
  d.a === 0
    ? { dim_value: d.b }
    : { dim_param: d.a === 1 && d.b === 0 ? 'batch' : `${d.a === 1 ? '' : `${d.a}*`}batch${d.b === 0 ? '' : d.b > 0 ? `+${d.b}` : d.b}` };

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

function tensorProto(name: string, dims: readonly number[], dtype: string, data: ArrayLike<number>): TensorProto {
  const typed =
    dtype === 'f32'
      ? Float32Array.from(data)
      : dtype === 'f64'
        ? Float64Array.from(data)
        : dtype === 'i32'
          ? Int32Array.from(data)
          : BigInt64Array.from(Array.from(data, (v) => BigInt(v)));
  return { name, dims: [...dims], data_type: dtype === 'i64' ? ONNX_DTYPE.INT64 : elemType(dtype), raw_data: bytesOf(typed) };
}

const attribute = (name: string, v: Attrs[string]): AttributeProto =>
  typeof v === 'number'
    ? { name, type: ONNX_ATTR.INT, i: v }
    : typeof v === 'string'
      ? { name, type: ONNX_ATTR.STRING, s: new TextEncoder().encode(v) }
      : 'graph' in v
        ? { name, type: ONNX_ATTR.GRAPH, g: v.graph }
        : { name, type: ONNX_ATTR.INTS, ints: [...v] };

/** What the builders of one model share: value names, initializers, constants, the root graph's nodes. */
interface Shared {
  readonly used: Set<string>;
  readonly constants: Map<string, string>;
  readonly inits: TensorProto[];
  readonly root: NodeProto[];
  count: number;
  batchSize: string | undefined;
}

/**
 * The nodes of one graph of the model being written (the main graph, or the body of a control-flow node: a child).
 * Initializers, and the run-time sizes computed from the batch, always go to the main graph, where every body can
 * read them.
 */
class Builder implements OnnxBuilder {
  readonly nodes: NodeProto[];

  private constructor(
    readonly opset: number,
    private readonly batchInput: string | undefined,
    private readonly shared: Shared,
    nodes: NodeProto[],
  ) {
    this.nodes = nodes;
  }

  /** The builder of a model's main graph. */
  static root(opset: number, batchInput: string | undefined): Builder {
    const root: NodeProto[] = [];
    return new Builder(opset, batchInput, { used: new Set(), constants: new Map(), inits: [], root, count: 0, batchSize: undefined }, root);
  }

  /** A builder for a sub-graph: its own nodes, the same names, initializers and batch size. */
  child(): Builder {
    return new Builder(this.opset, this.batchInput, this.shared, []);
  }

  /** The model's initializers. */
  get inits(): TensorProto[] {
    return this.shared.inits;
  }

  /** A value name not used before (`base`, else `base_1`, …). */
  unique(base: string): string {
    let name = base;
    for (let k = 1; this.shared.used.has(name); k++) name = `${base}_${k}`;
    this.shared.used.add(name);
    return name;
  }

  /** Keep the graph's input and output names for them (each given once). */
  reserve(names: readonly string[]): void {
    for (const n of names) {
      if (this.shared.used.has(n)) throw new ValueError('exportOnnx', `the name '${n}' is given to two inputs or outputs`);
      this.shared.used.add(n);
    }
  }

  node(op: string, inputs: readonly string[], attrs: Attrs = {}): string {
    return this.nodeOutputs(op, inputs, attrs, 1)[0]!;
  }

  nodeOutputs(op: string, inputs: readonly string[], attrs: Attrs, count: number): string[] {
    return this.push(this.nodes, op, inputs, attrs, count);
  }

  private push(into: NodeProto[], op: string, inputs: readonly string[], attrs: Attrs, count: number): string[] {
    const name = `${op}:${this.shared.count++}`;
    const outs = Array.from({ length: count }, (_, i) => this.unique(count === 1 ? name : `${name}:${i}`));
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    into.push({ input: [...inputs], output: outs, name, op_type: op, ...(attribute_.length ? { attribute: attribute_ } : {}) });
    return outs;
  }

  /** A node of the main graph (run-time sizes: readable from every body). */
  private rootNode(op: string, inputs: readonly string[], attrs: Attrs = {}): string {
    return this.push(this.shared.root, op, inputs, attrs, 1)[0]!;
  }

  private initializer(key: string, make: (name: string) => TensorProto): string {
    let name = this.shared.constants.get(key);
    if (!name) {
      name = this.unique(`const:${this.shared.constants.size}`);
      this.shared.inits.push(make(name));
      this.shared.constants.set(key, name);
    }
    return name;
  }

  ints(values: readonly number[]): string {
    return this.initializer(`i64[${values.join(',')}]`, (name) => tensorProto(name, [values.length], 'i64', values));
  }

  scalar(value: number, dtype: string): string {
    return this.initializer(`${dtype}:${value}`, (name) => tensorProto(name, [], dtype, [value]));
  }

  constant(values: readonly number[], shape: readonly number[], dtype: string): string {
    return this.initializer(`${dtype}[${shape}]:${values}`, (name) => tensorProto(name, shape, dtype, values));
  }

  shape(dims: readonly Dim[]): string {
    if (dims.every((d) => d.a === 0)) return this.ints(dims.map((d) => d.b));
    const key = `shape[${dims.map((d) => `${d.a}n+${d.b}`).join(',')}]`;
    const known = this.shared.constants.get(key);
    if (known) return known;
    const parts: string[] = [];
    let fixed: number[] = [];
    const flush = () => {
      if (fixed.length) parts.push(this.ints(fixed));
      fixed = [];
    };
    for (const d of dims) {
      if (d.a === 0) {
        fixed.push(d.b);
        continue;
      }
      flush();
      let v = this.batch();
      if (d.a !== 1) v = this.rootNode('Mul', [v, this.ints([d.a])]);
      if (d.b !== 0) v = this.rootNode('Add', [v, this.ints([d.b])]);
      parts.push(v);
    }
    flush();
    const shape = parts.length === 1 ? parts[0]! : this.rootNode('Concat', parts, { axis: 0 });
    this.shared.constants.set(key, shape);
    return shape;
  }

  elemType(dtype: string): number {
    return elemType(dtype);
  }

  /** The batch size as a 1-D int64 tensor of one element, read from the batched input's shape once. */
  private batch(): string {
    if (this.batchInput === undefined) throw new ValueError('exportOnnx', 'a size depends on the batch but the batch is fixed');
    this.shared.batchSize ??= this.rootNode('Shape', [this.batchInput], { start: 0, end: 1 });
    return this.shared.batchSize;
  }
}
