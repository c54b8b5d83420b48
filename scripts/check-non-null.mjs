#!/usr/bin/env node
// Unnecessary non-null assertions: `x!` where the type of `x` can be neither
// null nor undefined (under noUncheckedIndexedAccess, `xs[i]!` stays needed;
// `value!` on a value that is never undefined says nothing and hides a type).
// Type-checks the project with the TypeScript 5 JS API (the `typescript5`
// devDependency; the project itself builds with TypeScript 7, which has no JS
// API) and lists each unnecessary `!` as file:line:column.
//
//   node scripts/check-non-null.mjs          exit 1 and list them
//   node scripts/check-non-null.mjs --fix    remove them in place
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
let ts;
try {
  ts = require('typescript5');
} catch {
  console.error("check-non-null: the 'typescript5' devDependency (npm:typescript@5) is missing: run npm install (or npm ci)");
  process.exit(2);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fix = process.argv.includes('--fix');
const configPath = resolve(root, 'tsconfig.json');
const config = ts.getParsedCommandLineOfConfigFile(
  configPath,
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => console.error(d.messageText) },
);
const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, noEmit: true } });
const checker = program.getTypeChecker();

/** Whether a type can be null or undefined (unions, type parameters, any and unknown count as "can"). */
function nullable(type) {
  const flags = type.getFlags();
  if (flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown | ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void)) return true;
  if (flags & ts.TypeFlags.TypeParameter) {
    const c = checker.getBaseConstraintOfType(type);
    return !c || nullable(c);
  }
  if (type.isUnion()) return type.types.some(nullable);
  return false;
}

const found = [];
for (const sf of program.getSourceFiles()) {
  if (sf.isDeclarationFile || relative(root, sf.fileName).startsWith('..') || sf.fileName.includes('node_modules')) continue;
  const edits = [];
  const visit = (node) => {
    if (ts.isNonNullExpression(node)) {
      const inner = checker.getTypeAtLocation(node.expression);
      // a definite-assignment `x!` on a variable declared without initialiser is about control flow, not the type: keep it
      if (!nullable(inner)) {
        const { line, character } = sf.getLineAndCharacterOfPosition(node.getEnd() - 1);
        found.push(
          `${relative(root, sf.fileName)}:${line + 1}:${character + 1}: '${node.getText(sf).slice(0, 60)}' — ` +
            `${checker.typeToString(inner)} is never null or undefined`,
        );
        edits.push(node.getEnd() - 1);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  if (fix && edits.length) {
    let text = readFileSync(sf.fileName, 'utf8');
    for (const pos of edits.sort((a, b) => b - a)) if (text[pos] === '!') text = text.slice(0, pos) + text.slice(pos + 1);
    writeFileSync(sf.fileName, text);
  }
}

if (found.length === 0) {
  console.log('check-non-null: no unnecessary non-null assertion');
} else {
  console.log(found.join('\n'));
  console.log(`check-non-null: ${found.length} unnecessary non-null assertion(s)${fix ? ' removed' : ''}`);
  if (!fix) process.exit(1);
}
