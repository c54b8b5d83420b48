/**
 * `--backend` on the command line: one epoch of training on the wasm backend
 * (same losses as the CPU backend within f32 rounding, a checkpoint that
 * records the backend), eval of that checkpoint on wasm and on the CPU (same
 * accuracy), the executable with `--backend wasm` in a child process (it
 * exits: nothing the backend starts keeps Node alive), and the flag's errors.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { readCheckpoint } from '../../src/io/checkpoint.js';
import { cli, tempDir, tsx } from './harness.js';

const dir = tempDir('cotangent-cli-backend-');

/** The train loss, test loss and test accuracy of each epoch line. */
const epochLines = (err: string): number[][] =>
  [...err.matchAll(/train loss (\d+\.\d+) acc [\d.]+% \| test loss (\d+\.\d+) acc ([\d.]+)%/g)].map((m) => m.slice(1, 4).map(Number));

describe('cotangent --backend', () => {
  afterAll(async () => {
    await ct.init({ backend: 'cpu' }); // the CLI leaves its backend as the default; other files expect the CPU
  });

  const wasmDir = join(dir, 'wasm');

  it('train --backend wasm: one epoch, the same losses as on the CPU (f32 rounding), checkpoint records the backend', async () => {
    const common = ['--epochs', '1', '--batch', '128', '--seed', '1'];
    const w = await cli('train', ...common, '--backend', 'wasm', '--out', wasmDir);
    expect(w.code, w.err).toBe(0);
    expect(w.err).toMatch(/, 1 epochs, backend wasm, seed 1/);
    expect(ct.getBackend()).toBe('wasm');
    const c = await cli('train', ...common, '--backend', 'cpu', '--out', join(dir, 'cpu'));
    expect(c.code, c.err).toBe(0);
    const [lw, lc] = [epochLines(w.err), epochLines(c.err)];
    expect(lw).toHaveLength(1);
    expect(lc).toHaveLength(1);
    expect(Math.abs(lw[0]![0]! - lc[0]![0]!)).toBeLessThanOrEqual(2e-3); // train loss
    expect(Math.abs(lw[0]![1]! - lc[0]![1]!)).toBeLessThanOrEqual(2e-3); // test loss
    expect(Math.abs(lw[0]![2]! - lc[0]![2]!)).toBeLessThanOrEqual(100 * (2 / 359)); // at most 2 test examples differ
    expect(lw[0]![2]!).toBeGreaterThan(40);
    const ck = readCheckpoint(wasmDir);
    if (E.isLeft(ck)) throw ck.left;
    expect((ck.right.meta.info as { backend?: string } | undefined)?.backend).toBe('wasm');
  });

  it('eval --backend wasm and --backend cpu give the same accuracy on the wasm-trained checkpoint', async () => {
    const w = await cli('eval', '--checkpoint', wasmDir, '--backend', 'wasm');
    expect(w.code, w.err).toBe(0);
    const c = await cli('eval', '--checkpoint', wasmDir, '--backend', 'cpu');
    expect(c.code, c.err).toBe(0);
    const acc = (s: string) => /accuracy (\d+\.\d\d)% \((\d+)\/359\)/.exec(s)?.[2];
    expect(acc(w.out)).toBeDefined();
    expect(acc(w.out)).toBe(acc(c.out));
  });

  it('help and errors name every backend', async () => {
    for (const cmd of ['train', 'eval']) {
      const h = await cli(cmd, '--help');
      expect(h.out).toContain('--backend cpu|wasm|webgpu');
      const bad = await cli(cmd, '--backend', 'gpu', ...(cmd === 'eval' ? ['--checkpoint', wasmDir] : []));
      expect(bad.code).toBe(2);
      expect(bad.err.trim()).toBe('cotangent: --backend must be one of cpu, wasm, webgpu, got "gpu"');
    }
  });

  it('the executable trains on wasm and exits (child process)', () => {
    const r = spawnSync(
      tsx(),
      ['src/cli/main.ts', 'train', '--backend', 'wasm', '--epochs', '1', '--batch', '256', '--out', join(dir, 'child')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.error).toBeUndefined(); // no timeout: the process exited by itself
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/backend wasm/);
    expect(r.stdout).toMatch(/test accuracy \d+\.\d\d% \(\d+\/359\) after 1 epochs/);
  });
});
