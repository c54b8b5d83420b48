/**
 * The package can be consumed as an ordinary npm dependency: `npm run build`
 * emits ESM + .d.ts under dist/, and a separate project importing
 * 'cotangent' type-checks against the declarations and runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

describe('the built package', () => {
  it('builds, type-checks in a consumer project and computes a gradient', () => {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'pipe' });
    expect(existsSync(join(root, 'dist/src/index.js'))).toBe(true);
    expect(existsSync(join(root, 'dist/src/index.d.ts'))).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'cotangent-consumer-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'cotangent'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    const source = [
      "import * as ct from 'cotangent';",
      'const f = (x: ct.Tensor): ct.Tensor => ct.sum(ct.mul(ct.sin(x), x));',
      "const g: ct.Tensor = ct.grad(f)(ct.tensor([0.5, 1], { dtype: 'f64' }));",
      'console.log(JSON.stringify(g.arraySync()));',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'main.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [], lib: ['ES2022', 'DOM'] } }),
    );
    execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, stdio: 'pipe' });
    const out = execFileSync(process.execPath, [join(dir, 'main.js')], { cwd: dir, encoding: 'utf8' });
    const g = JSON.parse(out) as number[];
    // d/dx [x sin x] = sin x + x cos x
    expect(g[0]).toBeCloseTo(Math.sin(0.5) + 0.5 * Math.cos(0.5), 12);
    expect(g[1]).toBeCloseTo(Math.sin(1) + Math.cos(1), 12);
  });
});
