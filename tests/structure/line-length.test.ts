/**
 * No line of a tracked TypeScript or .mjs file is longer than 140 characters
 * (the Biome line width): Biome cannot break long string literals or
 * comments, so this test catches them. The generated files (WGSL sources,
 * kernel binary) and the AssemblyScript sources are left out.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAX = 140;
const EXCLUDED = ['src/backends/webgpu/shaderSources.ts', 'src/backends/wasm/kernelsBinary.ts'];
const EXCLUDED_DIR = 'src/backends/wasm/assembly/';

function trackedFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '*.ts', '*.mjs'], { cwd: root, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((f) => f !== '')
    .filter((f) => !EXCLUDED.includes(f) && !f.startsWith(EXCLUDED_DIR));
}

describe('line length', () => {
  it(`no line of a tracked .ts/.mjs file is longer than ${MAX} characters`, () => {
    const files = trackedFiles();
    expect(files.length).toBeGreaterThan(0);
    const offenders: string[] = [];
    for (const file of files) {
      const lines = readFileSync(join(root, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        const length = [...line.replace(/\r$/, '')].length;
        if (length > MAX) offenders.push(`${file}:${i + 1} (${length})`);
      });
    }
    expect(offenders, `lines longer than ${MAX} characters:\n${offenders.join('\n')}`).toEqual([]);
  });
});
