/**
 * Graphs drawn as SVG on every machine: the DOT of `graphToDot` laid out by
 * Graphviz compiled to WebAssembly (`@viz-js/viz`), in Node and in the
 * browser, with no system Graphviz. Scans and conditionals are drawn as
 * clusters (their sub-graphs), as in the DOT.
 */
import type { Viz } from '@viz-js/viz';
import type { Graph } from '../core/graphTrace.js';
import { graphToDot } from './graph.js';

let viz: Promise<Viz> | undefined;

/**
 * A Graphviz DOT text as SVG (the `dot` layout), drawn by Graphviz's WebAssembly build; the first call loads it
 * (about 1 MB), later calls reuse it. Throws an error with Graphviz's message when the DOT is malformed.
 *
 * @example
 * const svg = await ct.dotToSvg('digraph { a -> b }');
 */
export async function dotToSvg(dot: string): Promise<string> {
  // loaded on first use, so that importing cotangent does not parse Graphviz
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  return (await viz).renderString(dot, { format: 'svg', engine: 'dot' });
}

/**
 * The graph drawn as SVG: `graphToDot(g, name)` laid out by Graphviz (WebAssembly, no system install), with the
 * sub-graphs of scans and conditionals as clusters.
 *
 * @example
 * writeFileSync('f.svg', await ct.graphToSvg(ct.makeGraph(f, x)));
 */
export async function graphToSvg(g: Graph, name = 'cotangent'): Promise<string> {
  return dotToSvg(graphToDot(g, name));
}
