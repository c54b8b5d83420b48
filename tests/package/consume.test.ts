/**
 * The package as npm ships it: `npm run build` emits ESM + .d.ts under dist/,
 * `npm pack` makes the tarball from the `files` list of package.json, and a
 * separate consumer project with only that tarball (extracted into
 * node_modules/cotangent, as `npm install <tarball>` does) and the
 * dependencies it declares (linked from this checkout's node_modules) imports
 * every entry point ('cotangent', '/nn', '/io', '/laws'), type-checks against
 * the declarations, runs (a gradient, the embedded digits data, a law), and
 * its `bin` prints a graph. A file missing from `files`, an entry point or a
 * dependency left out of package.json fails here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** Links `name` and, recursively, its own dependencies from this checkout's node_modules (hoisted, as npm installs them). */
function linkDependency(nodeModules: string, name: string): void {
  const target = join(nodeModules, name);
  if (existsSync(target)) return;
  const source = join(root, 'node_modules', name);
  if (!existsSync(source)) throw new Error(`dependency ${name} is not installed in ${join(root, 'node_modules')}`);
  mkdirSync(resolve(target, '..'), { recursive: true });
  symlinkSync(source, target, 'dir');
  const pkg = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies ?? {})) linkDependency(nodeModules, dep);
}

describe('the packed package', () => {
  it('packs the files list, installs from the tarball, type-checks in a consumer project and runs', () => {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'pipe' });
    expect(existsSync(join(root, 'dist/src/index.js'))).toBe(true);

    const work = mkdtempSync(join(tmpdir(), 'cotangent-pack-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--offline', '--pack-destination', work], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as PackResult[];
    const tarball = join(work, packed[0]!.filename);
    const listed = new Set(packed[0]!.files.map((f) => f.path));
    for (const needed of [
      'package.json',
      'README.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/nn/index.js',
      'dist/src/io/index.js',
      'dist/laws/index.js',
      'dist/src/cli/main.js',
      'data/digits.csv.gz',
    ]) {
      expect(listed.has(needed), `${needed} is in the tarball`).toBe(true);
    }
    for (const path of listed)
      expect(path, 'only built code, data, shaders and docs are shipped').toMatch(
        /^(dist\/|data\/|shaders\/|README\.md$|package\.json$|LICEN[CS]E)/,
      );

    // the consumer: node_modules/cotangent is the extracted tarball, nothing from the checkout
    const dir = join(work, 'consumer');
    const nodeModules = join(dir, 'node_modules');
    mkdirSync(nodeModules, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', work]);
    renameSync(join(work, 'package'), join(nodeModules, 'cotangent'));
    const manifest = JSON.parse(readFileSync(join(nodeModules, 'cotangent', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies)) linkDependency(nodeModules, dep);

    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', type: 'module', private: true, dependencies: { cotangent: `file:${tarball}` } }),
    );
    const source = [
      "import fc from 'fast-check';",
      "import * as ct from 'cotangent';",
      "import * as nn from 'cotangent/nn';",
      "import { loadDigits } from 'cotangent/io';",
      "import { arb, checkGrads, program } from 'cotangent/laws';",
      'const f = (x: ct.Tensor): ct.Tensor => ct.sum(ct.mul(ct.sin(x), x));',
      "const g: ct.Tensor = ct.grad(f)(ct.tensor([0.5, 1], { dtype: 'f64' }));",
      'const digits = loadDigits();',
      'const model = nn.serial(nn.dense(4), nn.relu, nn.dense(10));',
      'const { outputShape } = model.init(nn.random.key(0), [-1, 64]);',
      "fc.assert(checkGrads((x: ct.Tensor) => ct.sum(ct.tanh(x)), arb.concreteTensor({ dtype: 'f64' }).map((x) => [x])), { numRuns: 3 });",
      'const programs = fc.sample(program(), { numRuns: 1, seed: 1 }).length;',
      'console.log(JSON.stringify({ g: g.arraySync(), examples: digits.y.length, outputShape, programs }));',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'main.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          types: [],
          lib: ['ES2022', 'DOM'],
        },
      }),
    );
    execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, stdio: 'pipe' });
    const out = JSON.parse(execFileSync(process.execPath, [join(dir, 'main.js')], { cwd: dir, encoding: 'utf8' })) as {
      g: number[];
      examples: number;
      outputShape: number[];
      programs: number;
    };
    // d/dx [x sin x] = sin x + x cos x
    expect(out.g[0]).toBeCloseTo(Math.sin(0.5) + 0.5 * Math.cos(0.5), 12);
    expect(out.g[1]).toBeCloseTo(Math.sin(1) + Math.cos(1), 12);
    expect(out.examples).toBe(1797);
    expect(out.outputShape).toEqual([-1, 10]);
    expect(out.programs).toBe(1);

    // the bin, from the installed package
    const graph = execFileSync(process.execPath, [join(nodeModules, 'cotangent', 'dist/src/cli/main.js'), 'graph', '--format', 'text'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(graph).toMatch(/log a/);
  });
});
