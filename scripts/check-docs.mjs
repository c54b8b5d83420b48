#!/usr/bin/env node
// Doc-comment coverage of the public API.
//
// Walks the public entry points (package.json "exports": src/index.ts,
// src/nn/index.ts, src/io/index.ts, laws/index.ts), follows every re-export
// (`export * from`, `export { a as b } from`, `export * as ns from`, local
// `export { a }`) to the declaration it names, and reports each exported
// declaration without a `/** ... */` comment. Only parses (the TypeScript 5
// JS API under the `typescript5` alias, no type checking), so it runs in about
// a second.
//
//   node scripts/check-docs.mjs            exit 1 and list what is missing
//   node scripts/check-docs.mjs --all      also every exported declaration of every file in src/ and laws/
//   node scripts/check-docs.mjs --json     a JSON report on stdout
//   node scripts/check-docs.mjs --root DIR check another checkout (the tests use a copy)
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
let ts;
try {
  ts = require('typescript5');
} catch {
  console.error("check-docs: the 'typescript5' devDependency (npm:typescript@5) is missing: run npm install (or npm ci)");
  process.exit(2);
}

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const root = rootArg >= 0 ? resolve(args[rootArg + 1]) : resolve(dirname(fileURLToPath(import.meta.url)), '..');
const all = args.includes('--all');
const asJson = args.includes('--json');

const ENTRY_POINTS = ['src/index.ts', 'src/nn/index.ts', 'src/io/index.ts', 'laws/index.ts'];

const parsed = new Map();
/** The parsed source file at an absolute path. */
function sourceFile(file) {
  let sf = parsed.get(file);
  if (!sf) {
    sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    parsed.set(file, sf);
  }
  return sf;
}

/** './x.js' imported from `from` → the .ts file on disk. */
function resolveModule(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const hasModifier = (node, kind) => (ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : []).some((m) => m.kind === kind);

/** Whether the node (or, for a variable, its statement) carries a JSDoc block with text or tags. */
function hasDoc(node) {
  const target = ts.isVariableDeclaration(node) ? node.parent.parent : node;
  const docs = target.jsDoc ?? [];
  return docs.some((d) => (typeof d.comment === 'string' ? d.comment.trim() : d.comment?.length) || d.tags?.length);
}

/** Top-level declarations of a file by name (functions may have several: overloads). */
function localDeclarations(sf) {
  const decls = new Map();
  const add = (name, node, exported) => {
    if (!decls.has(name)) decls.set(name, []);
    decls.get(name).push({ node, exported });
  };
  for (const st of sf.statements) {
    const exported = hasModifier(st, ts.SyntaxKind.ExportKeyword);
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) add(d.name.text, d, exported);
    } else if (
      (ts.isFunctionDeclaration(st) ||
        ts.isClassDeclaration(st) ||
        ts.isInterfaceDeclaration(st) ||
        ts.isTypeAliasDeclaration(st) ||
        ts.isEnumDeclaration(st) ||
        ts.isModuleDeclaration(st)) &&
      st.name
    ) {
      add(st.name.text, st, exported);
    }
  }
  return decls;
}

/** Kind of a declaration node, for the report. */
function kindOf(node) {
  if (ts.isVariableDeclaration(node)) return 'const';
  if (ts.isFunctionDeclaration(node)) return 'function';
  if (ts.isClassDeclaration(node)) return 'class';
  if (ts.isInterfaceDeclaration(node)) return 'interface';
  if (ts.isTypeAliasDeclaration(node)) return 'type';
  if (ts.isEnumDeclaration(node)) return 'enum';
  return 'namespace';
}

const results = new Map(); // "file:name" → { file, line, name, kind, documented }

/** Record the declaration(s) named `name` in `file` (following re-exports); `via` names the public path. */
function visitName(file, name, seen = new Set()) {
  const key = `${file}#${name}`;
  if (seen.has(key)) return;
  seen.add(key);
  const sf = sourceFile(file);
  const decls = localDeclarations(sf).get(name);
  if (decls) {
    record(
      sf,
      name,
      decls.map((d) => d.node),
    );
    return;
  }
  // re-exported from elsewhere
  for (const st of sf.statements) {
    if (!ts.isExportDeclaration(st)) continue;
    const target = st.moduleSpecifier && resolveModule(file, st.moduleSpecifier.text);
    if (!st.exportClause) {
      if (target && exportedNames(target).has(name)) visitName(target, name, seen);
      continue;
    }
    if (ts.isNamespaceExport(st.exportClause)) {
      if (st.exportClause.name.text === name && target) visitModule(target);
      continue;
    }
    for (const el of st.exportClause.elements) {
      if (el.name.text !== name) continue;
      const original = (el.propertyName ?? el.name).text;
      if (target) visitName(target, original, seen);
      else visitName(file, original, seen); // local `export { a }`
    }
  }
  // an imported name re-exported locally: `import { a } from './x.js'; export { a }`
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !st.importClause?.namedBindings) continue;
    const nb = st.importClause.namedBindings;
    const target = resolveModule(file, st.moduleSpecifier.text);
    if (!target) continue;
    if (ts.isNamedImports(nb)) {
      for (const el of nb.elements) if (el.name.text === name) visitName(target, (el.propertyName ?? el.name).text, seen);
    } else if (nb.name.text === name) visitModule(target);
  }
}

const exportedNamesCache = new Map();
/** Every name a module exports (following `export *`). */
function exportedNames(file, seen = new Set()) {
  if (exportedNamesCache.has(file)) return exportedNamesCache.get(file);
  if (seen.has(file)) return new Set();
  seen.add(file);
  const names = new Set();
  const sf = sourceFile(file);
  for (const [name, ds] of localDeclarations(sf)) if (ds.some((d) => d.exported)) names.add(name);
  for (const st of sf.statements) {
    if (!ts.isExportDeclaration(st)) continue;
    if (!st.exportClause) {
      const target = st.moduleSpecifier && resolveModule(file, st.moduleSpecifier.text);
      if (target) for (const n of exportedNames(target, seen)) names.add(n);
    } else if (ts.isNamespaceExport(st.exportClause)) names.add(st.exportClause.name.text);
    else for (const el of st.exportClause.elements) names.add(el.name.text);
  }
  exportedNamesCache.set(file, names);
  return names;
}

const visitedModules = new Set();
/** Record every export of a module (an entry point or an `export * as ns` namespace). */
function visitModule(file) {
  if (visitedModules.has(file)) return;
  visitedModules.add(file);
  for (const name of exportedNames(file)) visitName(file, name);
}

function record(sf, name, nodes) {
  const file = relative(root, sf.fileName);
  const key = `${file}:${name}`;
  if (results.has(key)) return;
  const first = nodes[0];
  const line = sf.getLineAndCharacterOfPosition(first.getStart(sf)).line + 1;
  results.set(key, { file, line, name, kind: kindOf(first), documented: nodes.some(hasDoc) });
}

for (const entry of ENTRY_POINTS) visitModule(join(root, entry));

const publicResults = [...results.values()];
let allResults;
if (all) {
  // every exported declaration of every file under src/ and laws/
  allResults = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const sf = sourceFile(p);
        for (const [name, ds] of localDeclarations(sf)) {
          if (!ds.some((d) => d.exported)) continue;
          const line = sf.getLineAndCharacterOfPosition(ds[0].node.getStart(sf)).line + 1;
          allResults.push({ file: relative(root, p), line, name, kind: kindOf(ds[0].node), documented: ds.some((d) => hasDoc(d.node)) });
        }
      }
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'laws'));
}

const missing = publicResults.filter((r) => !r.documented).sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
if (asJson) {
  const report = { public: { total: publicResults.length, missing } };
  if (allResults) report.all = { total: allResults.length, missing: allResults.filter((r) => !r.documented) };
  console.log(JSON.stringify(report, null, 2));
} else {
  for (const r of missing) console.log(`${r.file}:${r.line}: ${r.kind} ${r.name} has no doc comment`);
  console.log(
    `public API: ${publicResults.length - missing.length} of ${publicResults.length} exported declarations documented, ` +
      `${missing.length} missing`,
  );
  if (allResults) {
    const m = allResults.filter((r) => !r.documented);
    console.log(
      `all files in src/ and laws/: ${allResults.length - m.length} of ${allResults.length} exported declarations documented, ` +
        `${m.length} missing`,
    );
  }
}
process.exit(missing.length ? 1 : 0);
