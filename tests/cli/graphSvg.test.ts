/**
 * Graphs drawn without a system Graphviz: `graphToSvg` gives an SVG with one
 * node per input, equation and output, labelled as in the DOT, the bodies of
 * scan and the branches of cond as clusters; `cotangent graph --out f.svg`
 * writes it from a process whose PATH has no `dot`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { seedFunction } from '../../src/cli/graph.js';
import { cli, tempDir, tsx } from './harness.js';

/** The titles of the SVG's node groups (`<g id="node…" class="node"><title>NAME</title>`). */
const nodeTitles = (svg: string): string[] =>
  [...svg.matchAll(/<g id="node\d+" class="node">\s*<title>([^<]*)<\/title>/g)].map((m) => m[1]!);
/** The texts drawn in the SVG, XML entities decoded. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1]!.replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d))).replace(/&amp;/g, '&'),
  );

describe('graphToSvg', () => {
  it('draws the seed function: a well-formed SVG with a node per input, equation and output, labelled as in the DOT', async () => {
    const g = ct.makeGraph(seedFunction, ct.scalar(2), ct.scalar(5));
    const svg = await ct.graphToSvg(g, 'seed');
    expect(svg).toMatch(/<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(nodeTitles(svg).sort()).toEqual([...g.inputs.map((v) => v.name), ...g.eqns.map((e) => e.output.name), 'out0'].sort());
    const drawn = texts(svg);
    for (const label of ['a (x1)', 'b (x2)', 'c = log (ln)', 'd = mul (×)', 'e = add (+)', 'f = sin', 'g = sub (−)', 'f32[]', 'y'])
      expect(drawn).toContain(label);
  });

  it('draws the body of a scan and the branches of a cond as clusters', async () => {
    const f = (xs: ct.Tensor) => {
      const [, ys] = ct.scan((c: ct.Tensor, v: ct.Tensor) => [ct.add(c, v), ct.mul(c, v)] as const, ct.scalar(0), xs);
      return ct.cond(
        ct.greater(ct.sum(ys), 0),
        (v: ct.Tensor) => ct.exp(v),
        (v: ct.Tensor) => ct.neg(v),
        ys,
      );
    };
    const svg = await ct.graphToSvg(ct.makeGraph(f, ct.tensor([1, 2, 3])));
    const clusters = [...svg.matchAll(/<g id="clust\d+" class="cluster">\s*<title>([^<]*)<\/title>/g)].map((m) => m[1]!);
    expect(clusters).toHaveLength(3);
    expect(clusters.filter((c) => /_body$/.test(c))).toHaveLength(1);
    expect(clusters.filter((c) => /_(true|false)Branch$/.test(c))).toHaveLength(2);
    const drawn = texts(svg);
    for (const label of ['scan body', 'cond trueBranch', 'cond falseBranch']) expect(drawn).toContain(label);
    expect(drawn.some((t) => /= exp$/.test(t))).toBe(true);
    expect(drawn.some((t) => /= neg \(−\)$/.test(t) || /= neg$/.test(t))).toBe(true);
  });

  it('rejects malformed DOT with Graphviz’s message', async () => {
    await expect(ct.dotToSvg('digraph { a -> }')).rejects.toThrow(/syntax error/);
  });
});

describe('cotangent graph: SVG output', () => {
  const dir = tempDir('cotangent-graph-svg-');

  it('--out f.svg writes the SVG (in process); --format svg prints it', async () => {
    const r = await cli('graph', '--example', 'mlp', '--out', join(dir, 'mlp.svg'));
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote ${join(dir, 'mlp.svg')}\n`);
    const svg = readFileSync(join(dir, 'mlp.svg'), 'utf8');
    expect(svg).toMatch(/<svg/);
    expect(texts(svg).some((t) => /matmul/.test(t))).toBe(true);
    const p = await cli('graph', '--format', 'svg');
    expect(p.out).toMatch(/<svg[\s\S]*<\/svg>\n$/);
  });

  it('writes f.svg from a process with no Graphviz on its PATH', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node')); // node only: tsx runs with it, and no `dot` can be found
    const env = { ...process.env, PATH: bin };
    expect(spawnSync('dot', ['-V'], { env }).error).toBeDefined(); // ENOENT: there is no dot here
    const out = join(dir, 'f.svg');
    const r = spawnSync(tsx(), ['src/cli/main.ts', 'graph', '--out', out], { encoding: 'utf8', env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`wrote ${out}\n`);
    const svg = readFileSync(out, 'utf8');
    expect(nodeTitles(svg)).toHaveLength(2 + 5 + 1);
  });
});
