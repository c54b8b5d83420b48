#!/usr/bin/env node
/**
 * Lists every `any` type in emitted declaration files (comments and string
 * literals skipped), minus the allow-listed ones a constraint needs.
 *
 *   node scripts/check-dts-any.mjs [--dir dist] [--only <path prefix>]... [--json]
 *
 * Paths are relative to --dir (default dist/, as `npm run build` writes it).
 * Exits 1 when an occurrence outside the allow-list remains, printing one
 * `file:line:column  text` per occurrence (or a JSON array with --json).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Justified `any`s: `file` (relative to --dir) and a piece of the line that
 * contains the occurrence, with the reason.
 */
export const ALLOWED = [
  {
    file: 'src/transforms/argnums.d.ts',
    text: 'export type Fn = (...args: any[]) => unknown;',
    why:
      'the constraint of transformed functions: the widest parameter list, and un-annotated parameters stay `any` instead of ' +
      '`never`; results are typed from Parameters<F>',
  },
  {
    file: 'src/transforms/vjp.d.ts',
    text: 'export type ScalarFn = (...args: any[]) => Tensor;',
    why: 'constraint of grad/valueAndGrad functions (as Fn)',
  },
  {
    file: 'src/transforms/vjp.d.ts',
    text: 'export type ScalarAuxFn = (...args: any[]) => readonly [Tensor, unknown];',
    why: 'constraint of grad/valueAndGrad functions with hasAux (as Fn)',
  },
  {
    file: 'src/nn/layer.d.ts',
    text: 'Layer<any, any, any>',
    why: 'AnyLayer: the constraint every layer satisfies',
  },
  {
    file: 'src/nn/train.d.ts',
    text: 'export type Model<P> = Layer<any, any, P>;',
    why: 'a model is any layer with parameters P: its input and output types are wildcards (as AnyLayer)',
  },
  {
    file: 'src/nn/layer.d.ts',
    text: 'L extends Layer<',
    why: 'ParamsOf/InOf/OutOf: the positions not being inferred are wildcards',
  },
];

/** Replace comments and string/template literals by spaces, keeping line and column positions. */
export function stripCommentsAndStrings(src) {
  let out = '';
  let i = 0;
  const blank = (s) => s.replace(/[^\n]/g, ' ');
  while (i < src.length) {
    const c = src[i];
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      const end = src.indexOf('\n', i);
      const j = end === -1 ? src.length : end;
      out += blank(src.slice(i, j));
      i = j;
    } else if (c === '/' && d === '*') {
      const end = src.indexOf('*/', i + 2);
      const j = end === -1 ? src.length : end + 2;
      out += blank(src.slice(i, j));
      i = j;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      out += blank(src.slice(i, j + 1));
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Every `any` type in one declaration file's text: [{ line, column, text }] (1-based). */
export function findAny(source) {
  const code = stripCommentsAndStrings(source);
  const lines = source.split('\n');
  const found = [];
  code.split('\n').forEach((line, n) => {
    for (const m of line.matchAll(/(?<![\w$.])any(?![\w$])/g)) {
      found.push({ line: n + 1, column: m.index + 1, text: lines[n].trim() });
    }
  });
  return found;
}

function declarationFiles(dir) {
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(dir);
  return files.sort();
}

const allowed = (file, text) => ALLOWED.some((a) => a.file === file && text.includes(a.text));

/**
 * The occurrences under `dir` whose path starts with one of `only` (all when
 * empty) and that the allow-list does not cover.
 */
export function check(dir, only = []) {
  const result = [];
  for (const path of declarationFiles(dir)) {
    const file = relative(dir, path).split(sep).join('/');
    if (only.length > 0 && !only.some((o) => file.startsWith(o))) continue;
    for (const o of findAny(readFileSync(path, 'utf8'))) {
      if (!allowed(file, o.text)) result.push({ file, ...o });
    }
  }
  return result;
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const args = process.argv.slice(2);
  let dir = 'dist';
  const only = [];
  let json = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dir') dir = args[++i];
    else if (args[i] === '--only') only.push(args[++i]);
    else if (args[i] === '--json') json = true;
    else {
      console.error(`check-dts-any: unknown argument ${args[i]}`);
      process.exit(2);
    }
  }
  const found = check(dir, only);
  if (json) console.log(JSON.stringify(found, null, 2));
  else for (const f of found) console.log(`${f.file}:${f.line}:${f.column}  ${f.text}`);
  process.exit(found.length === 0 ? 0 : 1);
}
