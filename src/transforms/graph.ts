/**
 * `makeGraph(f, ...exampleArgs)`: the DAG of primitive applications of `f`
 * as plain data, its jaxpr-like text form, its Graphviz DOT export, and
 * `evalGraph` to run a graph again on new inputs.
 */
import { GraphTrace, type Graph, type GraphVar } from '../core/graphTrace.js';
import { flatten, unflatten } from '../core/pytree.js';
import { bind } from '../core/trace.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor } from '../ops/creation.js';
import { lookupPrimitive } from '../ops/primitives.js';
import type { Fn } from './argnums.js';

export type { Graph, GraphVar, GraphEqn, GraphConst } from '../core/graphTrace.js';

/**
 * Trace `f` on example arguments (pytrees of tensors or numbers; only shapes
 * and dtypes matter): the DAG of the primitive applications it makes, as
 * plain data `{ inputs, consts, eqns, outputs }` (inputs are the leaves of the
 * arguments, in order).
 *
 * @example
 * const g = ct.makeGraph((x: ct.Tensor, y: ct.Tensor) => ct.add(ct.mul(x, y), ct.sin(x)), ct.scalar(2), ct.scalar(5));
 * console.log(ct.graphToText(g)); // { lambda ; a:f32[] b:f32[]. let c:f32[] = mul a b ... }
 */
export function makeGraph<F extends Fn>(f: F, ...exampleArgs: Parameters<F>): Graph {
  const trace = new GraphTrace();
  try {
    const { leaves, def } = flatten(exampleArgs);
    const inputs = leaves.map((l) => trace.input(typeof l === 'number' ? { shape: [], dtype: 'f32' } : { shape: l.shape, dtype: l.dtype }));
    const out = f(...unflatten<unknown[]>(def, inputs));
    const outputs = flatten(out).leaves.map((y) => trace.varOf(typeof y === 'number' ? asTensor(y) : y));
    return { inputs: inputs.map((i) => i.v), consts: [...trace.consts], eqns: [...trace.eqns], outputs };
  } finally {
    trace.active = false;
  }
}

/** The same as `makeGraph` (JAX's name for it). */
export const trace = makeGraph;

const typeOf = (v: GraphVar): string => `${v.dtype}[${v.shape.join(',')}]`;

/** Whether a parameter is a sub-graph (the body of scan, the branches of cond, …). */
const isGraph = (v: unknown): v is Graph =>
  typeof v === 'object' &&
  v !== null &&
  Array.isArray((v as Graph).inputs) &&
  Array.isArray((v as Graph).eqns) &&
  Array.isArray((v as Graph).outputs);

/** The sub-graph parameters of an equation, by name. */
const subGraphs = (p: Readonly<Record<string, unknown>>): [string, Graph][] =>
  Object.keys(p).flatMap((k) => {
    const v = p[k];
    return isGraph(v) ? [[k, v] as [string, Graph]] : [];
  });

const fmtParams = (p: Readonly<Record<string, unknown>>): string => {
  const keys = Object.keys(p).filter((k) => !isGraph(p[k]));
  if (keys.length === 0) return '';
  return `[${keys.map((k) => `${k}=${JSON.stringify(p[k])}`).join(' ')}]`;
};

/**
 * The graph as text, one line per equation, like a jaxpr. Control-flow
 * equations (scan, cond, while) print their sub-graphs indented below them.
 *
 * @example
 * ct.graphToText(ct.makeGraph((x: ct.Tensor) => ct.sin(x), ct.scalar(1)));
 */
export function graphToText(g: Graph): string {
  const head = g.inputs.map((v) => `${v.name}:${typeOf(v)}`).join(' ');
  const consts = g.consts.map((c) => `${c.var.name}:${typeOf(c.var)}`).join(' ');
  const lines = [`{ lambda ${consts}; ${head}. let`];
  for (const e of g.eqns) {
    lines.push(`    ${e.output.name}:${typeOf(e.output)} = ${e.prim}${fmtParams(e.params)} ${e.inputs.map((v) => v.name).join(' ')}`);
    for (const [k, sub] of subGraphs(e.params)) {
      const text = graphToText(sub).split('\n');
      lines.push(`      ${k} = ${text[0]}`);
      for (const l of text.slice(1)) lines.push(`      ${l}`);
    }
  }
  lines.push(`  in (${g.outputs.map((v) => v.name).join(', ')}) }`);
  return lines.join('\n');
}

const SYMBOL: Record<string, string> = { add: '+', sub: '−', mul: '×', div: '÷', neg: '−', matmul: '@', log: 'ln' };

/**
 * The graph in Graphviz DOT: inputs and constants as boxes, one ellipse per
 * equation, an edge per use; the sub-graphs of control-flow equations (scan
 * body, cond branches) as clusters.
 *
 * @example
 * writeFileSync('f.dot', ct.graphToDot(ct.makeGraph(f, x))); // dot -Tsvg f.dot
 */
export function graphToDot(g: Graph, name = 'cotangent'): string {
  const lines = [`digraph ${JSON.stringify(name)} {`, '  rankdir=LR;', '  node [fontname="Helvetica"];'];
  const producer = new Map<string, string>();
  g.inputs.forEach((v, i) => {
    lines.push(`  ${v.name} [shape=box, style=filled, fillcolor="#dbeafe", label="${v.name} (x${i + 1})\\n${typeOf(v)}"];`);
    producer.set(v.name, v.name);
  });
  for (const c of g.consts) {
    lines.push(`  ${c.var.name} [shape=box, style=dashed, label="const ${c.var.name}\\n${typeOf(c.var)}"];`);
    producer.set(c.var.name, c.var.name);
  }
  for (const e of g.eqns) {
    const label = SYMBOL[e.prim] ? `${e.prim} (${SYMBOL[e.prim]})` : e.prim;
    lines.push(`  ${e.output.name} [shape=ellipse, label="${e.output.name} = ${label}\\n${typeOf(e.output)}"];`);
    for (const v of e.inputs) lines.push(`  ${producer.get(v.name) ?? v.name} -> ${e.output.name};`);
    producer.set(e.output.name, e.output.name);
    for (const [k, sub] of subGraphs(e.params)) lines.push(...dotCluster(sub, `${e.output.name}_${k}`, `${e.prim} ${k}`, e.output.name));
  }
  g.outputs.forEach((v, i) => {
    lines.push(`  out${i} [shape=doublecircle, label="y${g.outputs.length > 1 ? i + 1 : ''}"];`);
    lines.push(`  ${v.name} -> out${i};`);
  });
  lines.push('}');
  return lines.join('\n');
}

/** A sub-graph as a DOT cluster (its node names prefixed), with a dashed edge from its outputs to the equation that runs it. */
function dotCluster(g: Graph, prefix: string, label: string, owner: string): string[] {
  const id = (name: string) => `${prefix}_${name}`;
  const lines = [`  subgraph cluster_${prefix} {`, `    label=${JSON.stringify(label)};`, '    style=rounded; color="#94a3b8";'];
  for (const v of g.inputs)
    lines.push(`    ${id(v.name)} [shape=box, style=filled, fillcolor="#e0f2fe", label="${v.name}\\n${typeOf(v)}"];`);
  for (const c of g.consts) lines.push(`    ${id(c.var.name)} [shape=box, style=dashed, label="const ${c.var.name}\\n${typeOf(c.var)}"];`);
  const nested: string[] = [];
  for (const e of g.eqns) {
    const sym = SYMBOL[e.prim] ? `${e.prim} (${SYMBOL[e.prim]})` : e.prim;
    lines.push(`    ${id(e.output.name)} [shape=ellipse, label="${e.output.name} = ${sym}\\n${typeOf(e.output)}"];`);
    for (const v of e.inputs) lines.push(`    ${id(v.name)} -> ${id(e.output.name)};`);
    for (const [k, sub] of subGraphs(e.params))
      nested.push(...dotCluster(sub, `${prefix}_${e.output.name}_${k}`, `${e.prim} ${k}`, id(e.output.name)));
  }
  lines.push(...nested.map((l) => `  ${l}`));
  lines.push('  }');
  for (const v of g.outputs) lines.push(`  ${id(v.name)} -> ${owner} [style=dashed];`);
  return lines;
}

/**
 * Run a graph again on new inputs (tensors matching the graph's input shapes
 * and dtypes); returns its outputs, in order.
 *
 * @example
 * const [y] = ct.evalGraph(ct.makeGraph(f, ct.scalar(0)), ct.scalar(3)); // f(3)
 */
export function evalGraph(g: Graph, ...inputs: Tensor[]): Tensor[] {
  if (inputs.length !== g.inputs.length)
    throw new ValueError('evalGraph', `the graph takes ${g.inputs.length} inputs, got ${inputs.length}`);
  const env = new Map<string, Tensor>();
  g.inputs.forEach((v, i) => {
    env.set(v.name, inputs[i]!);
  });
  for (const c of g.consts) env.set(c.var.name, c.value);
  for (const e of g.eqns) {
    const prim = lookupPrimitive(e.prim);
    if (!prim) throw new ValueError('evalGraph', `unknown primitive '${e.prim}'`);
    env.set(
      e.output.name,
      bind(
        prim,
        e.inputs.map((v) => env.get(v.name)!),
        e.params,
      ),
    );
  }
  return g.outputs.map((v) => env.get(v.name)!);
}
