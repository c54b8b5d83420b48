/**
 * Memory: scopes free intermediates and keep what they return; 1,000
 * valueAndGrad steps of a small MLP inside scopes keep the live-tensor count flat.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

const live = () => ct.memoryStats().liveTensors;

describe('scopes', () => {
  it('free everything created inside except the result', () => {
    const x = ct.tensor([1, 2, 3]);
    const before = live();
    const y = ct.scope(() => ct.sum(ct.exp(ct.mul(x, 2))));
    expect(live()).toBe(before + 1);
    expect(y.dataSync()[0]).toBeCloseTo(Math.exp(2) + Math.exp(4) + Math.exp(6), 2);
  });

  it('keep results nested in arrays and records, and free the rest on error', () => {
    const before = live();
    const r = ct.scope(() => ({ a: [ct.ones([2]), ct.zeros([3])], b: ct.scalar(1), note: 'x' }));
    expect(live()).toBe(before + 3);
    expect(r.note).toBe('x');
    const mid = live();
    expect(() =>
      ct.scope(() => {
        ct.ones([4]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(live()).toBe(mid);
  });

  it('nest: a result moves to the enclosing scope and is freed when that one ends', () => {
    const before = live();
    ct.scope(() => {
      const inner = ct.scope(() => ct.add(ct.ones([2]), 1));
      expect(inner.dataSync()[0]).toBe(2);
      return null;
    });
    expect(live()).toBe(before);
  });

  it('keep() exempts a tensor, dispose() frees one now, and a disposed tensor gives a clear error', () => {
    const before = live();
    let k: ct.Tensor | null = null;
    const kept = ct.scope(() => {
      k = ct.keep(ct.ones([2]));
      ct.zeros([2]);
      return null;
    });
    expect(kept).toBeNull();
    expect(live()).toBe(before + 1);
    expect(Array.from(k!.dataSync())).toEqual([1, 1]);
    const t = ct.ones([3]);
    t.dispose();
    expect(() => ct.exp(t)).toThrow(/exp: input f32\[3\] was disposed/);
    expect(() => t.dataSync()).toThrow(/disposed/);
  });

  it('transformations free their own intermediates', () => {
    const x = ct.tensor([0.1, 0.2, 0.3]);
    const before = live();
    const g = ct.grad((v: ct.Tensor) => ct.sum(ct.tanh(ct.mul(ct.exp(v), v))))(x);
    expect(live()).toBe(before + 1);
    expect(g.shape).toEqual([3]);
  });
});

describe('1,000 training steps of a small MLP', () => {
  it('hold the live-tensor count and bytes flat', () => {
    let params = {
      W1: ct.tensor(
        Array.from({ length: 16 * 4 }, (_, i) => Math.sin(i) * 0.3),
        { shape: [16, 4] },
      ),
      b1: ct.zeros([16]),
      W2: ct.tensor(
        Array.from({ length: 3 * 16 }, (_, i) => Math.cos(i) * 0.3),
        { shape: [3, 16] },
      ),
      b2: ct.zeros([3]),
    };
    const x = ct.tensor(
      Array.from({ length: 8 * 4 }, (_, i) => Math.sin(i * 1.3)),
      { shape: [8, 4] },
    );
    const labels = ct.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'i32' });
    type P = typeof params;
    const loss = (p: P) => {
      const h = ct.relu(ct.add(ct.matmul(x, ct.transpose(p.W1)), p.b1));
      return ct.softmaxCrossEntropy(ct.add(ct.matmul(h, ct.transpose(p.W2)), p.b2), labels);
    };
    const step = (p: P): [P, ct.Tensor] =>
      ct.scope(() => {
        const [l, g] = ct.valueAndGrad(loss)(p) as [ct.Tensor, P];
        const next = {
          W1: ct.sub(p.W1, ct.mul(g.W1, 0.1)),
          b1: ct.sub(p.b1, ct.mul(g.b1, 0.1)),
          W2: ct.sub(p.W2, ct.mul(g.W2, 0.1)),
          b2: ct.sub(p.b2, ct.mul(g.b2, 0.1)),
        };
        return [next, l];
      });
    const counts: number[] = [];
    const bytes: number[] = [];
    let first = Infinity;
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const [next, l] = step(params);
      for (const t of Object.values(params)) t.dispose();
      params = next;
      const v = l.dataSync()[0]!;
      if (i === 0) first = v;
      last = v;
      l.dispose();
      if (i % 100 === 99) {
        counts.push(live());
        bytes.push(ct.memoryStats().liveBytes);
      }
    }
    expect(new Set(counts).size).toBe(1);
    expect(new Set(bytes).size).toBe(1);
    expect(last).toBeLessThan(first * 0.5);
  });
});
