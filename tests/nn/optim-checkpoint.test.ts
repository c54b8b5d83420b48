/**
 * Optimiser state in checkpoints: the state of every optimiser (chains with
 * prefixed slot names and masked slots included) saves and loads, and
 * training resumed from the loaded state equals training that never
 * stopped; a checkpoint in the layout written before optimisers were
 * composed (slots `m`, `v` of Adam) loads into today's `adam`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { encodeSafetensors, loadOptState, loadParams, readCheckpoint, saveCheckpoint } from '../../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cotangent-optim-ckpt-'));
const right = <A>(e: E.Either<Error, A>): A => {
  if (E.isLeft(e)) throw e.left;
  return e.right;
};
const f64 = { dtype: 'f64' } as const;
const params0 = () => ({
  w: ct.tensor(
    [
      [0.5, -1],
      [2, 0.25],
    ],
    f64,
  ),
  b: ct.tensor([0.1, -0.3], f64),
});
type P = ReturnType<typeof params0>;
const gradAt = (t: number): P => ({
  w: ct.tensor(
    [
      [Math.sin(t), Math.cos(2 * t)],
      [0.5 * t, -1],
    ],
    f64,
  ),
  b: ct.tensor([Math.sin(3 * t), 0.2], f64),
});
const values = (t: unknown): number[] => ct.treeLeaves(t).flatMap((l) => Array.from((l as ct.Tensor).dataSync()));

function steps(opt: nn.Optimizer, p: P, s: nn.OptState, from: number, to: number): { p: P; s: nn.OptState } {
  for (let t = from; t < to; t++) ({ params: p, state: s } = opt.update(gradAt(t), s, p, { donate: false }));
  return { p, s };
}

describe('optimiser state in checkpoints', () => {
  const weightsOnly = (p: unknown) => ct.treeMap(p, (w) => (w as ct.Tensor).ndim > 1);
  const cases: [string, () => nn.Optimizer][] = [
    ['rmsprop (centred, momentum)', () => nn.rmsprop(0.01, { centered: true, momentum: 0.9 })],
    ['adagrad', () => nn.adagrad(0.1)],
    ['lion with a mask', () => nn.lion(0.01, { mask: weightsOnly })],
    [
      'a chain with shared slot names and a masked member',
      () => nn.asOptimizer(nn.chain(nn.traceMomentum(), nn.masked(nn.scaleByAdam(), weightsOnly), nn.scaleByLearningRate(0.01))),
    ],
  ];
  for (const [name, make] of cases) {
    it(`${name}: saved after 3 steps, loaded, 2 more steps equal 5 uninterrupted steps`, async () => {
      const opt = make();
      const p0 = params0();
      const mid = steps(opt, p0, opt.init(p0), 0, 3);
      const file = await saveCheckpoint(join(dir, `${name.replace(/[^a-z]+/g, '-')}.safetensors`), {
        params: mid.p,
        optimizer: opt,
        optState: mid.s,
      });
      const ck = right(readCheckpoint(file));
      expect(ck.meta.optimizer!.config.name).toBe(opt.name);
      expect(ck.meta.optimizer!.slots).toEqual(Object.keys(mid.s.slots));
      const p = right(loadParams(ck, params0()));
      const s = right(loadOptState(ck, p))!;
      expect(s.step).toBe(3);
      const resumed = steps(make(), p, s, 3, 5);
      const straight = steps(opt, p0, opt.init(p0), 0, 5);
      expect(values(resumed.p)).toEqual(values(straight.p));
      expect(values(resumed.s.slots)).toEqual(values(straight.s.slots));
    });
  }

  it('a checkpoint in the earlier layout (adam: slots m and v, config by name) loads and continues', () => {
    // written out by hand as the earlier saveCheckpoint wrote it
    const m = { w: [0.1, -0.2, 0.3, 0.05], b: [0.01, -0.02] };
    const v = { w: [0.001, 0.002, 0.003, 0.0005], b: [0.0001, 0.0002] };
    const raw = (data: number[], shape: number[]) => ({ dtype: 'f64' as const, shape, data: Float64Array.from(data) });
    const file = join(dir, 'earlier.safetensors');
    writeFileSync(
      file,
      encodeSafetensors(
        [
          ['params.b', raw([0.1, -0.3], [2])],
          ['params.w', raw([0.5, -1, 2, 0.25], [2, 2])],
          ['optimizer.m.b', raw(m.b, [2])],
          ['optimizer.m.w', raw(m.w, [2, 2])],
          ['optimizer.v.b', raw(v.b, [2])],
          ['optimizer.v.w', raw(v.w, [2, 2])],
        ],
        {
          format: 'cotangent',
          version: '1',
          optimizer: JSON.stringify({
            config: { name: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
            step: 2,
            slots: ['m', 'v'],
          }),
        },
      ),
    );
    const ck = right(readCheckpoint(file));
    const p = right(loadParams(ck, params0()));
    const s = right(loadOptState(ck, p))!;
    const { params: q } = nn.adam(0.01).update(gradAt(7), s, p, { donate: false });
    // the Adam rule at t = 3 from the saved moments
    const g = values(gradAt(7)); // flatten order: b then w
    const mm = [...m.b, ...m.w];
    const vv = [...v.b, ...v.w];
    const p0 = [0.1, -0.3, 0.5, -1, 2, 0.25];
    values(q).forEach((x, i) => {
      const m3 = 0.9 * mm[i]! + 0.1 * g[i]!;
      const v3 = 0.999 * vv[i]! + 0.001 * g[i]! ** 2;
      const want = p0[i]! - (0.01 * (m3 / (1 - 0.9 ** 3))) / (Math.sqrt(v3 / (1 - 0.999 ** 3)) + 1e-8);
      expect(x).toBeCloseTo(want, 12);
    });
  });
});
