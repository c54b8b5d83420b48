/**
 * The control-flow and memory laws of the kit (laws/control.ts): scan equals
 * the loop written out (values and gradients), checkpoint(f) equals f (value,
 * gradient, JVP), linearize equals jvp — on random inputs, cpu f64 and wasm
 * f32; and each law fails on a broken transformation (a scan that drops its
 * last step, a "checkpoint" that stops the gradient, a linear map that
 * doubles).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { checkpointLaw, linearizeLaw, scanLaw, type ScanBody } from '../../laws/index.js';

const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 3.7 + i * 1.3));
const body: ScanBody = (c, x) => {
  const c2 = ct.tanh(ct.add(ct.mul(c, 0.9), x));
  return [c2, ct.mul(c2, c2)];
};
const mlp = (x: ct.Tensor) => ct.softmax(ct.tanh(ct.mul(ct.add(x, 0.5), x)), -1);

describe('control-flow and memory laws', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'wasm' });
  });
  for (const [backend, dtype] of [
    ['cpu', 'f64'],
    ['wasm', 'f32'],
  ] as const) {
    it(`${backend} ${dtype}: scan, checkpoint and linearize satisfy their laws on random inputs`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.nat(1000), (n, w, seed) => {
          const t = (v: number[], shape: number[]) => ct.tensor(v, { shape, dtype, backend });
          const xs = t(values(n * w, seed), [n, w]);
          const init = t(values(w, seed + 1), [w]);
          const x = t(values(2 * w, seed + 2), [2, w]);
          for (const r of [scanLaw(body, init, xs, seed), checkpointLaw(mlp, x, seed), linearizeLaw(mlp, x, seed)]) {
            if (!r.ok) throw new Error(`${r.law}: ${r.message}`);
          }
        }),
        { numRuns: 8 },
      );
    });
  }

  describe('the laws catch broken transformations', () => {
    const x = () => ct.tensor(values(6, 1), { shape: [2, 3], dtype: 'f64', backend: 'cpu' });
    const xs = () => ct.tensor(values(12, 2), { shape: [4, 3], dtype: 'f64', backend: 'cpu' });
    const init = () => ct.tensor(values(3, 3), { shape: [3], dtype: 'f64', backend: 'cpu' });

    it('the unbroken transformations pass', () => {
      expect(scanLaw(body, init(), xs()).ok).toBe(true);
      expect(checkpointLaw(mlp, x()).ok).toBe(true);
      expect(linearizeLaw(mlp, x()).ok).toBe(true);
    });

    it('a scan that drops its last step, or runs the steps in reverse', () => {
      const dropLast: typeof ct.scan = (f, c, v, o) =>
        ct.scan(f, c, ct.slice(v as ct.Tensor, [0, 0], [(v as ct.Tensor).shape[0]! - 1, 3]) as typeof v, o);
      const reversed: typeof ct.scan = (f, c, v, o) => ct.scan(f, c, v, { ...o, reverse: true });
      expect(scanLaw(body, init(), xs(), 1, dropLast).ok).toBe(false);
      expect(scanLaw(body, init(), xs(), 1, reversed).ok).toBe(false);
    });

    it('a checkpoint that stops the gradient', () => {
      const stopped = <F extends (v: ct.Tensor) => ct.Tensor>(f: F): F => ((v: ct.Tensor) => ct.stopGradient(f(v))) as F;
      expect(checkpointLaw(mlp, x(), 1, stopped).ok).toBe(false);
    });

    it('a linear map that doubles', () => {
      const doubled = (f: (v: ct.Tensor) => ct.Tensor, v: ct.Tensor): [ct.Tensor, (t: ct.Tensor) => ct.Tensor] => {
        const [y, lin] = ct.linearize(f, v) as [ct.Tensor, (t: ct.Tensor) => ct.Tensor];
        return [y, (t) => ct.mul(lin(t), 2)];
      };
      expect(linearizeLaw(mlp, x(), 1, doubled).ok).toBe(false);
    });
  });
});
