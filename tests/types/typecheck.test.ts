/**
 * `npm test` type-checks the project: vitest strips types without checking
 * them, so this runs the compiler over tsconfig.json (src, laws, tests, bench,
 * examples), which makes the `expectTypeOf` and `@ts-expect-error` assertions
 * in tests/types/ (and every other test's types) part of the suite.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

describe('the type check', () => {
  it('tsc --noEmit over src, laws, tests, bench and examples reports no error', () => {
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], {
        cwd: root,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      output = `${err.stdout ?? ''}${err.stderr ?? ''}` || String(e);
    }
    expect(output).toBe('');
  });
});
