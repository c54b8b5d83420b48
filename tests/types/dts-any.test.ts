/**
 * The emitted declarations are free of `any` except where a constraint needs
 * it (the allow-list in scripts/check-dts-any.mjs). The check runs on
 * declarations emitted into a temporary folder (declarations only), so it
 * neither races with nor repeats the full build of tests/package/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const script = join(root, 'scripts/check-dts-any.mjs');

interface Occurrence {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly text: string;
}

/** Run the script; its JSON list and exit status. */
function runCheck(dir: string, only: readonly string[]): { found: Occurrence[]; status: number } {
  const args = [script, '--dir', dir, '--json', ...only.flatMap((o) => ['--only', o])];
  try {
    return { found: JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })) as Occurrence[], status: 0 };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { found: JSON.parse(err.stdout) as Occurrence[], status: err.status };
  }
}

describe('any in the emitted .d.ts', () => {
  it('the script finds `any` types, not the word in comments or strings, and honours the allow-list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cotangent-dts-'));
    mkdirSync(join(dir, 'src/transforms'), { recursive: true });
    writeFileSync(
      join(dir, 'src/transforms/a.d.ts'),
      [
        '/** works for any input */',
        "export declare const s: 'any';",
        'export declare function f(x: any): Array<any>; // any',
        'export type Fn = (...args: any[]) => unknown;',
        'export type Company = { many: number };',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'src/transforms/argnums.d.ts'), 'export type Fn = (...args: any[]) => unknown;\n');
    const { found, status } = runCheck(dir, ['src/transforms/']);
    expect(status).toBe(1);
    expect(found.map((o) => `${o.file}:${o.line}:${o.column}`)).toEqual([
      'src/transforms/a.d.ts:3:30',
      'src/transforms/a.d.ts:3:42',
      'src/transforms/a.d.ts:4:28',
    ]);
    expect(runCheck(dir, ['src/nn/']).status).toBe(0);
  });

  it('the emitted declarations (src/ and laws/) have no `any` outside the allow-list', () => {
    const out = mkdtempSync(join(tmpdir(), 'cotangent-dts-'));
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--emitDeclarationOnly', '--outDir', out], {
      cwd: root,
      stdio: 'pipe',
    });
    const { found } = runCheck(out, []);
    expect(found.map((o) => `${o.file}:${o.line}: ${o.text}`)).toEqual([]);
  });
});
