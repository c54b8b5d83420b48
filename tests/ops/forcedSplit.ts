/**
 * Wasm backends that split every call over their threads, for the tests of a
 * kernel family's threaded paths: one with 2 threads (the caller among them)
 * and one with 3 workers and the caller idle, both with no minimum of work.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { registerBackend, setDefaultBackend, unregisterBackend } from '../../src/backends/registry.js';
import { WasmBackend } from '../../src/backends/wasm/WasmBackend.js';

/**
 * Creates the two pools before the enclosing block's tests (after the hooks registered before this call) and destroys
 * them after; returns `eachPool(body)`, which runs `body` with each pool registered as the default 'wasm' backend and
 * then checks that its calls were split and that its workers ran chunks.
 */
export function forcedSplitPools(): (body: () => void) => void {
  let pools: WasmBackend[] = [];
  beforeAll(async () => {
    pools = [
      await WasmBackend.create({ threads: 2, splitMinWork: 0 }),
      await WasmBackend.create({ threads: 3, splitMinWork: 0, callerRuns: false }),
    ];
  });
  afterAll(() => {
    for (const b of pools) b.destroy();
    unregisterBackend('wasm');
  });
  return (body) => {
    for (const b of pools) {
      registerBackend(b);
      setDefaultBackend('wasm');
      const before = b.memoryStats().splitCalls;
      body();
      expect(b.memoryStats().splitCalls, 'the calls were split').toBeGreaterThan(before);
      expect(b.memoryStats().workerChunks, 'the workers ran chunks').toBeGreaterThan(0);
    }
  };
}
