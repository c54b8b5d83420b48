/**
 * The import direction is the folder table of the README (Layout): each
 * layer of src/ imports only the layers below it, and no module imports
 * itself back through a chain (no cycle), so every entry point loads in any
 * order. Read from the sources, so a new import that breaks the layering
 * fails here with the file and the import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

/** What each layer may import (besides itself), bottom up. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  tensor: [],
  backends: ['tensor'],
  core: ['tensor', 'backends'],
  ops: ['tensor', 'backends', 'core'],
  transforms: ['tensor', 'backends', 'core', 'ops'],
  jit: ['tensor', 'backends', 'core', 'ops', 'transforms'],
  nn: ['tensor', 'backends', 'core', 'ops', 'transforms', 'jit'],
  io: ['tensor', 'backends', 'core', 'ops', 'transforms', 'jit', 'nn'],
  cli: ['tensor', 'backends', 'core', 'ops', 'transforms', 'jit', 'nn', 'io'],
};

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

const all = files(src);
/** Relative imports (static and re-exports; `import type` too: types follow the same direction). */
const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) =>
    resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')),
  );
/** Value imports only (what is evaluated at load time, where a cycle can bite). */
const valueImportsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*(import|export)\s(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms)]
    .filter((m) => !/^\s*(import|export)\s+type\s/.test(m[0]))
    .map((m) => resolve(dirname(file), m[2]!.replace(/\.js$/, '.ts')));

const layerOf = (file: string): string | undefined => {
  const rel = relative(src, file).split('/');
  return rel.length > 1 ? rel[0] : undefined;
};

describe('import direction', () => {
  it('every layer imports only the layers below it (README Layout)', () => {
    const wrong: string[] = [];
    for (const f of all) {
      const from = layerOf(f);
      if (!from) continue;
      for (const target of importsOf(f)) {
        const to = layerOf(target);
        if (!to || to === from) continue;
        if (!MAY_IMPORT[from]?.includes(to)) wrong.push(`${relative(root, f)} imports ${relative(root, target)} (${from} -> ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no module imports itself back through a chain (no cycle)', () => {
    const graph = new Map(all.map((f) => [f, valueImportsOf(f).filter((t) => all.includes(t))]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].map((p) => relative(src, p)).join(' -> '));
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of all) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
