/**
 * `cotangent graph`: the computation graph of a built-in example as DOT,
 * text or SVG, printed or written to a file. The SVG is drawn by Graphviz
 * compiled to WebAssembly (`graphToSvg`), so it is written on every machine,
 * Graphviz installed or not.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { scalar } from '../ops/creation.js';
import { log, mul, sin, sub, add } from '../ops/elementwise.js';
import { graphToDot, graphToText, makeGraph, type Graph } from '../transforms/graph.js';
import { dotToSvg } from '../transforms/graphSvg.js';
import { dense, relu } from '../nn/layers.js';
import { serial } from '../nn/combinators.js';
import { softmaxCrossEntropy } from '../nn/losses.js';
import { key, normal } from '../nn/random.js';
import { tensor } from '../ops/creation.js';
import { writeFileAtomic } from '../io/atomic.js';
import { decodeFlags, enumFlag, stringFlag } from './args.js';
import type { CliIO } from './io.js';

/** The flags of `cotangent graph`. */
export const graphFlags = {
  example: enumFlag('example', ['seed', 'mlp'] as const),
  format: enumFlag('format', ['dot', 'text', 'svg'] as const),
  out: stringFlag('out'),
};

/** f(x1, x2) = ln(x1) + x1·x2 − sin(x2) */
export const seedFunction = (x1: Tensor, x2: Tensor): Tensor => sub(add(log(x1), mul(x1, x2)), sin(x2));

/** The graph of a built-in example: the seed function at (2, 5), or a small MLP's loss in its parameters. */
export function exampleGraph(name: 'seed' | 'mlp'): Graph {
  if (name === 'seed') return makeGraph(seedFunction, scalar(2, { dtype: 'f64' }), scalar(5, { dtype: 'f64' }));
  const model = serial(dense(8), relu, dense(3));
  const { params } = model.init(key(0), [-1, 4]);
  const x = normal(key(1), [2, 4]);
  const y = tensor([0, 2], { dtype: 'i32' });
  return makeGraph((p: typeof params) => softmaxCrossEntropy(model.apply(p, x), y), params);
}

/** Run `cotangent graph`: print or write the example's graph as DOT, text or SVG (a .dot file gets its SVG beside it). */
export async function graphCommand(flags: Readonly<Record<string, string | true>>, io: CliIO): Promise<number> {
  const f = decodeFlags('graph', graphFlags, flags);
  const name = f.example ?? 'seed';
  const g = exampleGraph(name);
  const format = f.format ?? (f.out && /\.svg$/i.test(f.out) ? 'svg' : 'dot');
  const dot = graphToDot(g, name);
  const text = format === 'text' ? `${graphToText(g)}\n` : format === 'svg' ? await dotToSvg(dot) : `${dot}\n`;
  if (!f.out) {
    io.out(text.endsWith('\n') ? text : `${text}\n`);
    return 0;
  }
  writeFileAtomic(f.out, text);
  io.out(`wrote ${f.out}\n`);
  if (format === 'dot') {
    const svgFile = `${f.out.replace(/\.(dot|gv)$/i, '')}.svg`;
    writeFileAtomic(svgFile, await dotToSvg(dot));
    io.out(`wrote ${svgFile}\n`);
  }
  return 0;
}
