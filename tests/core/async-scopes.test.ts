/**
 * Async scopes follow the async context: concurrent scopeAsync blocks with
 * random awaits never free each other's tensors; what a block returns
 * escapes it and everything else it made is freed; a plain scope() or a
 * trainStep run while an async scope is pending keeps its result.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { prng } from '../../laws/numeric.js';

const live = () => ct.memoryStats().liveTensors;
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Whether a tensor's buffer was freed (reading it then fails with the disposed error). */
function freed(t: ct.Tensor): boolean {
  try {
    t.dataSync();
    return false;
  } catch (e) {
    if (/was disposed/.test((e as Error).message)) return true;
    throw e;
  }
}

describe('concurrent async scopes', () => {
  it('10 concurrent scopeAsync blocks with random awaits keep their own tensors; results escape only when returned', async () => {
    const rand = prng(42);
    const before = live();
    const intermediates: ct.Tensor[][] = [];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, k) => {
        const waits = Array.from({ length: 6 }, () => Math.floor(rand() * 8));
        const mine: ct.Tensor[] = [];
        intermediates.push(mine);
        return ct.scopeAsync(async () => {
          let acc = ct.tensor([k, k + 1, k + 2]);
          mine.push(acc);
          for (let i = 0; i < waits.length; i++) {
            await pause(waits[i]!);
            // every tensor this block made so far is still alive and holds its value
            for (const [j, t] of mine.entries()) expect(Array.from(t.dataSync())).toEqual([k + j, k + 1 + j, k + 2 + j]);
            acc = ct.add(acc, 1);
            mine.push(acc);
          }
          return { k, value: acc };
        });
      }),
    );
    for (const { k, value } of results) expect(Array.from(value.dataSync())).toEqual([k + 6, k + 7, k + 8]);
    // intermediates were freed (the returned one is the last of each list)
    for (const list of intermediates) {
      for (const t of list.slice(0, -1)) expect(freed(t)).toBe(true);
      expect(freed(list[list.length - 1]!)).toBe(false);
    }
    expect(live()).toBe(before + 10);
    for (const { value } of results) value.dispose();
    expect(live()).toBe(before);
  });

  it('two interleaved blocks: A keeps its intermediate when B closes, B keeps its result when A closes', async () => {
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => (releaseA = r));
    let aMid: ct.Tensor | null = null;
    const a = ct.scopeAsync(async () => {
      aMid = ct.tensor([1, 2]);
      await gateA;
      return ct.mul(aMid, 3);
    });
    const b = await ct.scopeAsync(async () => {
      await pause(1);
      return ct.tensor([7]);
    });
    // B has closed; A's intermediate is still alive
    expect(Array.from(aMid!.dataSync())).toEqual([1, 2]);
    releaseA();
    const av = await a;
    expect(Array.from(av.dataSync())).toEqual([3, 6]);
    expect(Array.from(b.dataSync())).toEqual([7]); // A closing did not free B's result
    expect(freed(aMid!)).toBe(true);
  });

  it('a scope() or trainStep run while a scopeAsync is pending keeps its result after the async scope closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const pending = ct.scopeAsync(async () => {
      const t = ct.ones([2]);
      await gate;
      return ct.sum(t);
    });
    // outside the async block (a different async context)
    const s = ct.scope(() => ct.exp(ct.zeros([3])));
    const model = nn.serial(nn.dense(3));
    const { params } = model.init(nn.random.key(0), [-1, 2]);
    const opt = nn.sgd(0.1);
    const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt);
    const x = ct.tensor([
      [1, 2],
      [3, 4],
    ]);
    const y = ct.tensor([0, 2], { dtype: 'i32' });
    const r = step(params, opt.init(params), x, y);
    release();
    expect((await pending).dataSync()[0]).toBe(2);
    expect(Array.from(s.dataSync())).toEqual([1, 1, 1]);
    expect(r.params[0].W.dataSync()).toHaveLength(6);
    expect(r.loss.dataSync()[0]).toBeGreaterThan(0);
  });

  it('nested: a scope() inside a scopeAsync hands its result to the async scope, which frees it unless returned', async () => {
    const before = live();
    let inner: ct.Tensor | null = null;
    const out = await ct.scopeAsync(async () => {
      await pause(1);
      inner = ct.scope(() => ct.add(ct.ones([2]), 1));
      const kept = ct.scope(() => ct.mul(ct.ones([2]), 5));
      await pause(1);
      expect(Array.from(inner.dataSync())).toEqual([2, 2]);
      return kept;
    });
    expect(freed(inner!)).toBe(true);
    expect(Array.from(out.dataSync())).toEqual([5, 5]);
    expect(live()).toBe(before + 1);
    out.dispose();
  });

  it('a failing async scope frees what it made and rethrows', async () => {
    const before = live();
    await expect(
      ct.scopeAsync(async () => {
        ct.ones([4]);
        await pause(1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(live()).toBe(before);
  });
});
