/**
 * `cotangent export`: a checkpoint trained by `cotangent train` written as an
 * ONNX file whose outputs in ONNX Runtime match the restored model's on the
 * digits test split (and so give the accuracy that `cotangent eval` prints);
 * usage errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { decodeOnnx, digitsSplit, readCheckpoint, restoreModel } from '../../src/io/index.js';
import { expectSame, runOnnx } from '../io/onnxRuntime.js';
import { cli, tempDir } from './harness.js';

describe('cotangent export', () => {
  const dir = tempDir('cotangent-export-');
  const run = join(dir, 'run');

  beforeAll(async () => {
    const r = await cli('train', '--epochs', '2', '--batch', '128', '--out', run, '--seed', '1');
    expect(r.code, r.err).toBe(0);
  });

  it('writes the trained MLP as ONNX; ONNX Runtime gives its logits and cotangent eval’s accuracy on the test split', async () => {
    const file = join(dir, 'model.onnx');
    const r = await cli('export', '--checkpoint', run, '--format', 'onnx', '--out', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      new RegExp(`^wrote ${file} \\(\\d+ bytes, ONNX opset 17\\): input 'input' f32\\[batch,64\\], output 'output' f32\\[batch,10\\]`),
    );
    const bytes = new Uint8Array(readFileSync(file));
    expect(decodeOnnx(bytes).graph.initializer.length).toBeGreaterThanOrEqual(4);

    const ck = readCheckpoint(run);
    if (E.isLeft(ck)) throw ck.left;
    const restored = restoreModel(ck.right);
    if (E.isLeft(restored)) throw restored.left;
    const { model, params } = restored.right;
    const { test } = digitsSplit();
    const x = ct.tensor(test.x, { shape: [test.y.length, 64], dtype: 'f32' });
    const logits = model.apply(params, x) as ct.Tensor;
    const got = (await runOnnx(bytes, { input: x })).output;
    expectSame(got, logits, 'logits of the test split');

    const correct = Array.from(test.y).filter((label, i) => {
      const row = got!.data.slice(i * 10, i * 10 + 10);
      return row.indexOf(Math.max(...row)) === label;
    }).length;
    const ev = await cli('eval', '--checkpoint', run);
    expect(ev.out).toContain(`(${correct}/359)`);
  });

  it('--opset chooses the opset; usage errors name the flag', async () => {
    const file = join(dir, 'm18.onnx');
    expect((await cli('export', '--checkpoint', run, '--out', file, '--opset', '18')).code).toBe(0);
    expect(decodeOnnx(new Uint8Array(readFileSync(file))).opset_import[0]!.version).toBe(18);
    const cases: [string[], number, RegExp][] = [
      [['export', '--out', file], 2, /export needs --checkpoint PATH/],
      [['export', '--checkpoint', run], 2, /export needs --out FILE/],
      [['export', '--checkpoint', run, '--out', file, '--format', 'pb'], 2, /--format must be one of onnx/],
      [['export', '--checkpoint', run, '--out', file, '--opset', '99'], 1, /opset 99 is not supported/],
      [['export', '--checkpoint', join(dir, 'missing'), '--out', join(dir, 'x.onnx')], 1, /missing/],
    ];
    for (const [argv, code, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.err).toMatch(msg);
    }
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
    expect((await cli('export', '--help')).out).toMatch(/--checkpoint PATH[\s\S]*--format onnx[\s\S]*--out FILE[\s\S]*--opset N/);
  });
});
