/**
 * `cotangent graph`: the computation graph of a built-in example as DOT (or
 * text), printed or written to a file, plus an SVG rendered by Graphviz's
 * `dot` where it is installed.
 */
import { spawnSync } from 'node:child_process';
import type { Tensor } from '../tensor/Tensor.js';
import { scalar } from '../ops/creation.js';
import { log, mul, sin, sub, add } from '../ops/elementwise.js';
import { graphToDot, graphToText, makeGraph, type Graph } from '../transforms/graph.js';
import { dense, relu } from '../nn/layers.js';
import { serial } from '../nn/combinators.js';
import { softmaxCrossEntropy } from '../nn/losses.js';
import { key, normal } from '../nn/random.js';
import { tensor } from '../ops/creation.js';
import { writeFileAtomic } from '../io/atomic.js';
import { decodeFlags, enumFlag, stringFlag } from './args.js';
import type { CliIO } from './io.js';

export const graphFlags = {
  example: enumFlag('example', ['seed', 'mlp'] as const),
  format: enumFlag('format', ['dot', 'text'] as const),
  out: stringFlag('out'),
};

/** f(x1, x2) = ln(x1) + x1·x2 − sin(x2) */
export const seedFunction = (x1: Tensor, x2: Tensor): Tensor => sub(add(log(x1), mul(x1, x2)), sin(x2));

export function exampleGraph(name: 'seed' | 'mlp'): Graph {
  if (name === 'seed') return makeGraph(seedFunction, scalar(2, { dtype: 'f64' }), scalar(5, { dtype: 'f64' }));
  const model = serial(dense(8), relu, dense(3));
  const { params } = model.init(key(0), [-1, 4]);
  const x = normal(key(1), [2, 4]);
  const y = tensor([0, 2], { dtype: 'i32' });
  return makeGraph((p: typeof params) => softmaxCrossEntropy(model.apply(p, x), y), params);
}

export function hasGraphviz(): boolean {
  const r = spawnSync('dot', ['-V'], { stdio: 'ignore' });
  return r.status === 0;
}

export async function graphCommand(flags: Readonly<Record<string, string | true>>, io: CliIO): Promise<number> {
  const f = decodeFlags('graph', graphFlags, flags);
  const g = exampleGraph(f.example ?? 'seed');
  const text = (f.format ?? 'dot') === 'text' ? `${graphToText(g)}\n` : graphToDot(g, f.example ?? 'seed');
  if (!f.out) {
    io.out(text.endsWith('\n') ? text : `${text}\n`);
    return 0;
  }
  writeFileAtomic(f.out, text);
  io.out(`wrote ${f.out}\n`);
  if ((f.format ?? 'dot') === 'dot') {
    if (hasGraphviz()) {
      const svgFile = `${f.out.replace(/\.(dot|gv)$/i, '')}.svg`;
      const r = spawnSync('dot', ['-Tsvg', f.out], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`graph: dot failed: ${r.stderr.trim().split('\n')[0]}`);
      writeFileAtomic(svgFile, r.stdout);
      io.out(`wrote ${svgFile}\n`);
    } else io.err(`note: Graphviz 'dot' is not installed; no SVG written (apt-get install graphviz)\n`);
  }
  return 0;
}
