/**
 * The command line end to end on the embedded data: train one short run
 * (checkpoint, history, SVG plot), eval it (accuracy + confusion matrix),
 * graph (DOT), help, and one-line errors with non-zero exit codes for
 * unknown flags, bad numbers and missing files. One test also runs the real
 * executable in a child process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir, tsx } from './harness.js';

const dir = tempDir('cotangent-cli-');

describe('cotangent command line', () => {
  const runDir = join(dir, 'run');

  it('train: a short run prints progress and the test accuracy, writes checkpoint, history and plot', async () => {
    const r = await cli('train', '--epochs', '2', '--batch', '128', '--out', runDir, '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/model 64-128-10 \(9610 parameters\)/);
    expect(r.err).toMatch(/epoch 1\/2 \[#+\] 12\/12 +\d+ steps\/s +loss \d\.\d{4}/);
    expect(r.err).toMatch(/test loss \d\.\d{4} acc \d+\.\d\d%/);
    const m = /test accuracy (\d+\.\d\d)% \(\d+\/359\) after 2 epochs; training [\d.]+ s/.exec(r.out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(80);
    expect(existsSync(join(runDir, 'model.safetensors'))).toBe(true);
    const svg = readFileSync(join(runDir, 'training.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    const h = JSON.parse(readFileSync(join(runDir, 'history.json'), 'utf8'));
    expect(h.epochs).toHaveLength(2);
  });

  it('eval: accuracy and a confusion matrix from the checkpoint', async () => {
    const r = await cli('eval', '--checkpoint', runDir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/accuracy \d+\.\d\d% \(\d+\/359\)/);
    const rows = r.out.split('\n').filter((l) => /^\d +( +\d+){10}$/.test(l));
    expect(rows).toHaveLength(10);
    const total = rows.flatMap((l) => l.trim().split(/ +/).slice(1).map(Number)).reduce((a, b) => a + b, 0);
    expect(total).toBe(359);
  });

  it('graph: the seed function as DOT with its five operations', async () => {
    const r = await cli('graph');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^digraph/);
    for (const op of ['log', 'mul', 'add', 'sin', 'sub']) expect(r.out).toContain(op);
    const t = await cli('graph', '--format', 'text', '--example', 'mlp');
    expect(t.out).toMatch(/matmul/);
    const w = await cli('graph', '--out', join(dir, 'g.dot'));
    expect(w.code).toBe(0);
    expect(readFileSync(join(dir, 'g.dot'), 'utf8')).toMatch(/^digraph/);
    // and its drawing beside it, by Graphviz's WebAssembly build (no system Graphviz needed)
    expect(w.out).toContain(`wrote ${join(dir, 'g.svg')}`);
    expect(readFileSync(join(dir, 'g.svg'), 'utf8')).toMatch(/<svg/);
  });

  it('help documents every command and flag', async () => {
    const main = await cli('--help');
    expect(main.code).toBe(0);
    expect(main.out).toMatch(/train.*\n.*eval.*\n.*graph/);
    const t = await cli('train', '--help');
    for (const f of ['--data', '--model', '--epochs', '--batch', '--lr', '--optimizer', '--backend', '--seed', '--out'])
      expect(t.out).toContain(f);
    expect((await cli('eval', '--help')).out).toContain('--checkpoint');
    expect((await cli('graph', '--help')).out).toContain('--format');
  });

  it('bad arguments give one line and a non-zero exit code', async () => {
    const cases: [string[], number, RegExp][] = [
      [['train', '--epoch', '3'], 2, /unknown flag --epoch for 'train'/],
      [['train', '--epochs', 'three'], 2, /--epochs must be an integer ≥ 1, got "three"/],
      [['train', '--lr', '-1'], 2, /--lr must be a number > 0/],
      [['train', '--optimizer', 'adadelta'], 2, /--optimizer must be one of sgd, momentum, adam, adamw, rmsprop, adagrad, lion/],
      [['train', '--data', join(dir, 'nope.csv')], 2, /--data: '.*nope\.csv' is not digits, fashion-mnist or an existing file/],
      [['train', '--model', '64-10-3'], 2, /the last size must be the number of classes of digits, 10/],
      [['eval'], 2, /eval needs --checkpoint/],
      [['eval', '--checkpoint', join(dir, 'missing')], 1, /missing\/model\.safetensors: file not found/],
      [['frobnicate'], 2, /unknown command 'frobnicate'/],
      [['train', '--seed'], 2, /--seed must be an integer ≥ 0, got \(no value\)/],
    ];
    for (const [argv, code, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
  });

  it('the executable runs (child process): exit codes reach the shell', () => {
    const ok = spawnSync(tsx(), ['src/cli/main.ts', 'graph', '--example', 'seed'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^digraph/);
    const bad = spawnSync(tsx(), ['src/cli/main.ts', 'train', '--bogus'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe("cotangent: unknown flag --bogus for 'train' (see cotangent train --help)");
  });
});
