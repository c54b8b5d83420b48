/**
 * Memory and placement on the wasm backend: the allocator reuses freed blocks
 * of the same size class; linear memory grows on demand and values written
 * before a growth survive it (views are refreshed); memoryStats() counts wasm
 * tensors and bytes; the plain synchronous trainStep loop (no scope, dispose
 * or await) holds live tensors, blocks and bytes flat; mixing backends and f64
 * on wasm are clear errors; a user primitive without a wasm kernel runs its
 * CPU kernel on the data in linear memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { getBackendByName } from '../../src/backends/registry.js';
import { sizeClass } from '../../src/backends/wasm/allocator.js';
import type { WasmBackend } from '../../src/backends/wasm/WasmBackend.js';
import { expectFlat, runPlainLoop } from '../nn/plain-loop.js';

const STEPS = 10_000;
const SAMPLE_EVERY = 1_000;

let wasm: WasmBackend;

describe('the wasm backend: memory, placement, user primitives', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'wasm' });
    wasm = getBackendByName('wasm') as WasmBackend;
  });
  afterAll(async () => {
    await ct.init({ backend: 'cpu' });
  });

  it('size classes: 16-byte multiples up to 256, then four per power of two, never smaller than asked', () => {
    for (let b = 0; b < 5000; b += 7) {
      const c = sizeClass(b);
      expect(c % 16).toBe(0);
      expect(c).toBeGreaterThanOrEqual(b);
      expect(c).toBeLessThanOrEqual(Math.max(16, b <= 256 ? b + 15 : b * 1.25 + 16));
    }
  });

  it('the allocator reuses a freed block of the same size class (no heap growth)', () => {
    const t0 = ct.tensor(new Float32Array(100));
    const p0 = wasm.ptrOf((t0 as unknown as { handle: { storage: ct.Storage } }).handle.storage);
    t0.dispose();
    const top = wasm.memoryStats().heapTop;
    const t1 = ct.tensor(new Float32Array(97).fill(1)); // 388 bytes: the class of 400 bytes (448)
    expect(wasm.ptrOf((t1 as unknown as { handle: { storage: ct.Storage } }).handle.storage)).toBe(p0);
    expect(wasm.memoryStats().heapTop).toBe(top);
    ct.scope(() => {
      ct.exp(ct.add(t1, 0));
    });
    const after = wasm.memoryStats().heapTop;
    for (let i = 1; i < 100; i++)
      ct.scope(() => {
        ct.exp(ct.add(t1, i));
      });
    expect(wasm.memoryStats().heapTop).toBe(after); // later iterations reuse the first one's blocks
    t1.dispose();
  });

  it('linear memory grows on demand; values written before the growth are intact after it', () => {
    const before = wasm.memoryStats().memoryBytes;
    const small = ct.tensor([1.5, -2, 3.25]);
    const big = ct.full([8 * 1024 * 1024], 0.5); // 32 MiB, past the initial memory
    expect(wasm.memoryStats().memoryBytes).toBeGreaterThan(before);
    expect(Array.from(small.dataSync())).toEqual([1.5, -2, 3.25]);
    const s = ct.sum(big).dataSync()[0]!;
    expect(s).toBe(4 * 1024 * 1024);
    expect(Array.from(ct.mul(small, 2).dataSync())).toEqual([3, -4, 6.5]);
    big.dispose();
    small.dispose();
  });

  it('memoryStats() counts wasm tensors and bytes; a reshape shares its input block', () => {
    const m0 = ct.memoryStats();
    const b0 = m0.backendBuffers.wasm!;
    const x = ct.tensor([1, 2, 3, 4, 5, 6]);
    const y = ct.reshape(x, [2, 3]);
    const m1 = ct.memoryStats();
    expect(m1.byBackend.wasm!.tensors - (m0.byBackend.wasm?.tensors ?? 0)).toBe(2);
    expect(m1.byBackend.wasm!.bytes - (m0.byBackend.wasm?.bytes ?? 0)).toBe(48);
    expect(m1.backendBuffers.wasm!.buffers - b0.buffers).toBe(1);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    y.dispose();
    expect(ct.memoryStats().backendBuffers.wasm).toEqual(b0);
  });

  it('mixing a wasm tensor with a cpu tensor is an error naming the backends; f64 goes to the cpu backend unless wasm is named', () => {
    const a = ct.tensor([1, 2]);
    const c = ct.tensor([1, 2], { dtype: 'f64', backend: 'cpu' });
    expect(() => ct.add(a, c)).toThrow(/add: inputs live on different backends \(wasm, cpu\); move them with toBackend\(\)/);
    expect(() => ct.matmul(ct.reshape(a, [1, 2]), ct.tensor([[1], [2]], { backend: 'cpu' }))).toThrow(
      /matmul: inputs live on different backends \(wasm, cpu\)/,
    );
    // f64 asked for without a backend goes to the cpu backend; naming wasm for it is an error
    expect(ct.tensor([1], { dtype: 'f64' }).backendName).toBe('cpu');
    expect(ct.zeros([2], { dtype: 'f64' }).backendName).toBe('cpu');
    expect(() => ct.add(a, ct.tensor([1, 2], { dtype: 'f64' }))).toThrow(/add: inputs live on different backends \(wasm, cpu\)/);
    expect(() => ct.tensor([1], { dtype: 'f64', backend: 'wasm' })).toThrow(/wasm backend does not support dtype f64 \(f64 is CPU-only\)/);
    expect(() => ct.cast(a, 'f64')).toThrow(/cast: the wasm backend does not support dtype f64/);
    expect(() => wasm.upload(new Float64Array(2), 'f64')).toThrow(/f64 lives on the cpu backend/);
  });

  it('a user primitive without a wasm kernel runs its CPU kernel on the data in linear memory', () => {
    const softsign = ct.definePrimitive({
      name: 'wasmtest.softsign',
      shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      cpu: ([x]) => x!.data.map((v) => v / (1 + Math.abs(v))),
      ...ct.elementwiseRules(([x]) => ct.reciprocal(ct.square(ct.add(1, ct.abs(x!))))),
    });
    const x = ct.tensor([-3, -0.5, 0, 2, 7]);
    const y = softsign(x);
    expect(y.backendName).toBe('wasm');
    expect(Array.from(y.dataSync())).toEqual(Array.from(Float32Array.from([-3, -0.5, 0, 2, 7].map((v) => v / (1 + Math.abs(v))))));
    const g = ct.grad((t: ct.Tensor) => ct.sum(softsign(t)))(x);
    expect(Array.from(g.dataSync()).map((v) => Number(v.toFixed(6)))).toEqual(
      [-3, -0.5, 0, 2, 7].map((v) => Number((1 / (1 + Math.abs(v)) ** 2).toFixed(6))),
    );
  });

  it(`a plain synchronous trainStep loop holds live tensors, blocks and bytes flat over ${STEPS.toLocaleString('en')} steps`, () => {
    const sample = () => {
      const m = ct.memoryStats();
      const a = wasm.memoryStats();
      return { tensors: m.liveTensors, bytes: m.liveBytes, blocks: a.liveBlocks, heapTop: a.heapTop, memory: a.memoryBytes };
    };
    let first = NaN;
    let last = NaN;
    const { samples } = runPlainLoop({
      steps: STEPS,
      every: SAMPLE_EVERY,
      sample,
      onFirst: (r) => {
        first = r.loss.dataSync()[0]!;
      },
      onLast: (r) => {
        last = r.loss.dataSync()[0]!;
      },
    });
    expectFlat(samples, STEPS, SAMPLE_EVERY);
    expect(last).toBeLessThan(first * 0.5);
  }, 120_000);
});
