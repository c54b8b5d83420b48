/**
 * The command line refuses, before any training, what would fail or be lost
 * after it: an output folder that cannot be written (never hanging), test
 * data that does not fit the training data, labels outside the model's
 * classes in `eval`. Files are written in one atomic step, and temporaries
 * left by a killed write are cleaned by the next one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDigits } from '../../src/io/index.js';
import { idx } from '../io/idx.js';
import { cli, tempDir } from './harness.js';

const dir = tempDir('cotangent-cli-rel-');

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('cotangent train: checks before the first step', () => {
  it('an output folder under a file is refused before training, in one line', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const r = await cli('train', '--epochs', '1', '--out', join(file, 'run'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(`^cotangent: error: ${join(file, 'run').replace(/[.]/g, '\\.')}: cannot create the folder.*is a file\\n$`),
    );
    expect(r.err).not.toMatch(/epoch/);
  });

  it('--out /proc/x is an error, not a hang', async () => {
    const r = await cli('train', '--epochs', '1', '--out', '/proc/cotangent-x/run');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^cotangent: error: \/proc\/cotangent-x\/run: cannot create the folder \(ENOENT at \/proc\/cotangent-x\)\n$/);
  }, 20_000);

  it('train and test images of different sizes are refused before training, naming both shapes', async () => {
    const m = join(dir, 'mixed');
    mkdirSync(m);
    writeFileSync(join(m, 'train-images-idx3-ubyte'), idx(0x08, [4, 28, 28], new Uint8Array(4 * 784)));
    writeFileSync(join(m, 'train-labels-idx1-ubyte'), idx(0x08, [4], Uint8Array.from([0, 1, 2, 3])));
    writeFileSync(join(m, 't10k-images-idx3-ubyte'), idx(0x08, [2, 8, 8], new Uint8Array(2 * 64)));
    writeFileSync(join(m, 't10k-labels-idx1-ubyte'), idx(0x08, [2], Uint8Array.from([0, 1])));
    const r = await cli('train', '--data', m, '--epochs', '1', '--out', join(dir, 'mixed-run'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^cotangent: error: data: examples of .*mixed-train are \[784\] but those of .*mixed-test are \[64\]/);
    expect(r.err).not.toMatch(/epoch/);
    expect(existsSync(join(dir, 'mixed-run'))).toBe(false);
  });
});

describe('checkpoint, history and plot', () => {
  const out = join(dir, 'run');
  it('are written together; a temporary left by a killed write is removed by the next write', async () => {
    mkdirSync(out, { recursive: true });
    const stale = join(out, `.model.safetensors.tmp-${deadPid()}-abc123`);
    writeFileSync(stale, 'half a checkpoint');
    const mine = join(out, `.model.safetensors.tmp-${process.pid}-keepme`); // a live writer's temporary stays
    writeFileSync(mine, 'in flight');
    const r = await cli('train', '--epochs', '1', '--batch', '256', '--out', out);
    expect(r.code).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(mine)).toBe(true);
    expect(readdirSync(out).filter((n) => n.includes('.tmp-')).length).toBe(1);
    expect(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')).epochs).toHaveLength(1);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it('eval: a label outside the model classes is one line; a label past the class limit too', async () => {
    const d = loadDigits();
    const row = (label: number) => [...Array.from(d.x.subarray(0, 64), (v) => v.toFixed(3)), String(label)].join(',');
    const bad = join(dir, 'bad-label.csv');
    writeFileSync(bad, `${[row(1), row(12), row(3)].join('\n')}\n`);
    const r = await cli('eval', '--checkpoint', out, '--data', bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^cotangent: error: .*bad-label\.csv: label 12 of example 1 is outside the checkpoint model's 10 classes \[0, 10\)\n$/,
    );
    const huge = join(dir, 'huge-label.csv');
    writeFileSync(huge, `${[row(1), row(1e8)].join('\n')}\n`);
    const t0 = performance.now();
    const h = await cli('eval', '--checkpoint', out, '--data', huge);
    expect(h.code).toBe(1);
    expect(h.err).toMatch(/^cotangent: error: .*huge-label\.csv: line 2: label 100000000 is at or above the limit of 65536 classes/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('eval: a header with numeric column names is data unless --header yes says otherwise', async () => {
    const d = loadDigits();
    const rows = [0, 1, 2].map((i) => [...Array.from(d.x.subarray(64 * i, 64 * (i + 1)), (v) => v.toFixed(3)), String(d.y[i])].join(','));
    const f = join(dir, 'numbered-header.csv');
    writeFileSync(f, `${[[...Array.from({ length: 64 }, (_, i) => String(i)), 'label'].join(','), ...rows].join('\n')}\n`);
    const r = await cli('eval', '--checkpoint', out, '--data', f);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/numbered-header\.csv: line 1, column 65: 'label' is not a number .*--header yes/);
    const h = await cli('eval', '--checkpoint', out, '--data', f, '--header', 'yes');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/data .*numbered-header\.csv: 3 examples/);
  });
});
