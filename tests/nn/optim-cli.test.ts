/**
 * `cotangent train --optimizer` with the composed optimisers: a short run
 * with each writes a checkpoint whose optimiser configuration and slots are
 * that optimiser's, and `eval` reads it back.
 */
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/io/index.js';
import { cli, tempDir } from '../cli/harness.js';

const dir = tempDir('cotangent-optim-cli-');

describe('train --optimizer', () => {
  for (const [name, slots] of [
    ['lion', ['m']],
    ['rmsprop', ['nu']],
    ['adagrad', ['acc']],
    ['adamw', ['m', 'v']],
  ] as const) {
    it(`${name}: one epoch, a checkpoint with its state, and eval reads it`, async () => {
      const out = join(dir, name);
      const r = await cli('train', '--optimizer', name, '--epochs', '1', '--batch', '256', '--out', out, '--backend', 'cpu');
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`${name} lr`);
      const ck = readCheckpoint(out);
      if (E.isLeft(ck)) throw ck.left;
      expect(ck.right.meta.optimizer!.config.name).toBe(name);
      expect(ck.right.meta.optimizer!.slots).toEqual(slots);
      expect(ck.right.meta.optimizer!.step).toBe(Math.ceil(1437 / 256));
      const e = await cli('eval', '--checkpoint', out, '--backend', 'cpu');
      expect(e.code, e.err).toBe(0);
      expect(e.out).toMatch(/accuracy/);
    });
  }
});
