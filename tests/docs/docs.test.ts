/**
 * Every export of the public API has a doc comment (scripts/check-docs.mjs,
 * which parses the sources from the four entry points and follows every
 * re-export), and the API reference of `npm run docs` covers exactly the
 * entry points of package.json "exports".
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const script = join(root, 'scripts/check-docs.mjs');

interface Missing {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly kind: string;
}

/** Run the checker on a checkout; its report and exit status. */
function runCheck(dir: string): { total: number; missing: Missing[]; status: number } {
  const args = [script, '--root', dir, '--json'];
  let out: string;
  let status = 0;
  try {
    out = execFileSync(process.execPath, args, { encoding: 'utf8' });
  } catch (e) {
    const err = e as { status: number; stdout: string };
    out = err.stdout;
    status = err.status;
  }
  const report = JSON.parse(out) as { public: { total: number; missing: Missing[] } };
  return { ...report.public, status };
}

/** A tiny checkout with the four entry points. */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cotangent-docs-'));
  const base: Record<string, string> = {
    'src/index.ts': "export * from './ops.js';\nexport * as helpers from './helpers.js';\n",
    'src/nn/index.ts': "export { layer as dense } from './layer.js';\n",
    'src/io/index.ts': '/** Reads. */\nexport function read(): void {}\n',
    'laws/index.ts': "import { law } from './law.js';\nexport { law };\n",
    ...files,
  };
  for (const [path, text] of Object.entries(base)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('doc comments', () => {
  const documented = {
    'src/ops.ts':
      '/** e^x. d exp x = exp x · dx */\nexport function exp(x: number): number;\nexport function exp(x: number): number { ' +
      'return x; }\n/** A shape. */\nexport type Shape = number[];\nconst internal = 1;\n',
    'src/helpers.ts': '/** Two. */\nexport const two = 2;\n',
    'src/nn/layer.ts': '/** A layer. */\nexport class layer {}\n',
    'laws/law.ts': '/**\n * A law.\n */\nexport interface law { readonly ok: boolean }\n',
  };

  it('the checker passes a fully documented API (overloads, re-exports under another name, namespaces, imported then exported)', () => {
    const { total, missing, status } = runCheck(fixture(documented));
    expect(missing).toEqual([]);
    expect(total).toBe(6);
    expect(status).toBe(0);
  });

  it('the checker fails and names each export without a doc comment, wherever it is re-exported from', () => {
    const { missing, status } = runCheck(
      fixture({
        ...documented,
        'src/ops.ts':
          '// not a doc comment\nexport function exp(x: number): number { return x; }\n/** A shape. */\nexport type Shape = number[];\n',
        'src/helpers.ts': '/** Two. */\nexport const two = 2;\nexport const three = 3;\n',
        'src/nn/layer.ts': '/* not a doc comment either */\nexport class layer {}\n',
        'laws/law.ts': '/** */\nexport interface law { readonly ok: boolean }\n',
      }),
    );
    expect(status).toBe(1);
    expect(missing.map((m) => `${m.file}:${m.line} ${m.kind} ${m.name}`).sort()).toEqual([
      'laws/law.ts:2 interface law',
      'src/helpers.ts:3 const three',
      'src/nn/layer.ts:2 class layer',
      'src/ops.ts:2 function exp',
    ]);
  });

  it('every exported declaration of the public API has a doc comment', () => {
    const { missing } = runCheck(root);
    expect(missing.map((m) => `${m.file}:${m.line}: ${m.kind} ${m.name}`)).toEqual([]);
  });

  it('the API reference covers the entry points of package.json "exports"', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, { import: string }>;
      scripts: Record<string, string>;
    };
    const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[]; out: string };
    const fromExports = Object.values(pkg.exports).map((e) => e.import.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'));
    expect([...config.entryPoints].sort()).toEqual(fromExports.sort());
    expect(config.out).toBe('docs/api');
    expect(pkg.scripts['docs']).toContain('typedoc');
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('docs/api/');
  });
});
