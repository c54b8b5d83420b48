/**
 * Async scopes on a platform without AsyncLocalStorage (browsers): the
 * library is loaded with the Node built-in hidden. At most one async scope
 * may be pending: a second one (nested or concurrent) is a clear error instead
 * of silently sharing tensors; sync scopes inside it work as usual.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';

const proc = process as unknown as { getBuiltinModule?: unknown };
const original = proc.getBuiltinModule;
proc.getBuiltinModule = undefined;
vi.resetModules();
const ct = await import('../../src/index.js');
const memory = await import('../../src/core/memory.js');
proc.getBuiltinModule = original;

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('async scopes without AsyncLocalStorage', () => {
  afterAll(() => vi.resetModules());

  it('the library loads and says scopes do not follow the async context', () => {
    expect(memory.scopesFollowAsyncContext).toBe(false);
  });

  it('one async scope at a time frees its intermediates; sync scopes nest inside it', async () => {
    const before = ct.memoryStats().liveTensors;
    const out = await ct.scopeAsync(async () => {
      const a = ct.ones([2]);
      await pause(1);
      const inner = ct.scope(() => ct.add(ct.mul(a, 3), 1));
      await pause(1);
      return ct.add(inner, a);
    });
    expect(Array.from(out.dataSync())).toEqual([5, 5]);
    expect(ct.memoryStats().liveTensors).toBe(before + 1);
    await expect(ct.scopeAsync(async () => ct.scopeAsync(async () => ct.ones([1])))).rejects.toThrow(/another scopeAsync is pending/);
  });

  it('a second scopeAsync while one is pending is a clear error', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = ct.scopeAsync(async () => {
      const t = ct.ones([2]);
      await gate;
      return ct.sum(t);
    });
    await expect(ct.scopeAsync(async () => ct.zeros([1]))).rejects.toThrow(
      /scopeAsync: another scopeAsync is pending and this platform has no AsyncLocalStorage/,
    );
    release();
    expect((await first).dataSync()[0]).toBe(2);
    // once it has settled, the next one may start
    const next = await ct.scopeAsync(async () => ct.ones([1]));
    expect(Array.from(next.dataSync())).toEqual([1]);
  });
});
