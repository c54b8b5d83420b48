/**
 * `npm test` type-checks the project: vitest strips types without checking
 * them, so this runs the compiler over tsconfig.json (src, laws, tests, bench,
 * examples), which makes the `expectTypeOf` and `@ts-expect-error` assertions
 * in tests/types/ (and every other test's types) part of the suite. The
 * playground page (browser code, DOM types) has its own project,
 * playground/tsconfig.json, checked the same way.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

/** The compiler's errors over one project ('' when there are none). */
function typeErrors(project: string): string {
  try {
    execFileSync(process.execPath, [tsc, '-p', join(root, project), '--noEmit', '--pretty', 'false'], {
      cwd: root,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return '';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}` || String(e);
  }
}

describe('the type check', () => {
  it('tsc --noEmit over src, laws, tests, bench and examples reports no error', () => {
    expect(typeErrors('tsconfig.json')).toBe('');
  });
  it('tsc --noEmit over the playground page reports no error', () => {
    expect(typeErrors('playground/tsconfig.json')).toBe('');
  });
});
