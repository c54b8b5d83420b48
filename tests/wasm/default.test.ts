/**
 * The wasm backend as the library's default in Node: importing the library
 * starts nothing (no wasm backend, no worker, before the first tensor); the
 * first use of the default creates it synchronously, with its workers
 * starting in the background (calls run whole on the calling thread until
 * they listen: the same bits as on one thread); a worker pool that fails to
 * start leaves the backend on one thread after a one-line notice, never a
 * hang; f64 work goes to cpu; `init({ backend: 'cpu' })` goes back to cpu,
 * `init()` picks wasm; a Node process exits without shutdown().
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as ct from '../../src/index.js';
import { hasBackend } from '../../src/backends/registry.js';
import { ThreadPool } from '../../src/backends/wasm/threads.js';
import { WasmBackend } from '../../src/backends/wasm/WasmBackend.js';
import { fromTypedArray } from '../../src/ops/creation.js';

const root = resolve(import.meta.dirname, '../..');

const bits = (t: ct.Tensor): Uint32Array => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);

/** A chain of ops large enough to be split on 2 threads (matmul, a transcendental map, a reduction). */
function program(x: ct.Tensor): ct.Tensor {
  return ct.scope(() => ct.sum(ct.tanh(ct.matmul(x, x)), [1]));
}

describe('the default backend in Node', () => {
  afterAll(async () => {
    await ct.shutdown('wasm');
  });

  it('importing the library creates no backend; the first tensor creates wasm', () => {
    expect(ct.getBackend()).toBe('wasm');
    expect(hasBackend('wasm')).toBe(false);
    expect(Object.keys(ct.memoryStats().backendBuffers)).toEqual(['cpu']);
    const x = ct.tensor([1, 2, 3]);
    expect(x.backendName).toBe('wasm');
    expect(hasBackend('wasm')).toBe(true);
    expect(ct.backendInfo()).toMatch(/^WebAssembly SIMD/);
    expect(Object.keys(ct.memoryStats().backendBuffers).sort()).toEqual(['cpu', 'wasm']);
    // init({ backend: 'wasm' }) adopts the default one
    return ct.init({ backend: 'wasm' }).then((name) => {
      expect(name).toBe('wasm');
      expect(ct.add(x, 1).dataSync()).toEqual(new Float32Array([2, 3, 4]));
    });
  });

  it('f64 tensors made without a backend go to cpu; mixing them with wasm tensors is an error naming both', () => {
    const d = ct.tensor([1, 2], { dtype: 'f64' });
    expect(d.backendName).toBe('cpu');
    expect(ct.zerosLike(ct.tensor([1, 2]), { dtype: 'f64' }).backendName).toBe('cpu');
    expect(ct.random.normal(ct.random.key(0), [2], { dtype: 'f64' }).backendName).toBe('cpu');
    expect(() => ct.add(ct.tensor([1, 2]), d)).toThrow(/different backends \(wasm, cpu\)/);
  });

  it('init({ backend: "cpu" }) goes back to cpu; init() picks wasm', async () => {
    await ct.init({ backend: 'cpu' });
    expect(ct.getBackend()).toBe('cpu');
    expect(ct.tensor([1]).backendName).toBe('cpu');
    await expect(ct.init()).resolves.toBe('wasm');
    expect(ct.tensor([1]).backendName).toBe('wasm');
  });
});

describe('WasmBackend.createSync', () => {
  const x = new Float32Array(160 * 160).map((_, i) => Math.sin(i) * 0.1);
  /** The program on backend `b` (160×160 matmul: 8 Mflop, split on 2 threads), its result's bits. */
  const oneRun = (b: WasmBackend, data: Float32Array): Uint32Array => bits(program(fromTypedArray(data, [160, 160], 'f32', b)));

  it('runs at once, before its workers listen, with the bits of one thread; then splits', async () => {
    const one = await WasmBackend.create({ threads: 1 });
    const two = WasmBackend.createSync({ threads: 2 });
    try {
      expect(two.threads).toBe(2);
      expect(two.describe()).toMatch(/1 worker, starting/);
      const ref = oneRun(one, x);
      expect(oneRun(two, x)).toEqual(ref);
      expect(two.memoryStats().splitCalls).toBe(0);
      for (let i = 0; i < 500 && !/1 worker;/.test(two.describe()); i++) await new Promise((r) => setTimeout(r, 10));
      expect(two.describe()).toMatch(/1 worker;/);
      expect(oneRun(two, x)).toEqual(ref);
      expect(two.memoryStats().splitCalls).toBeGreaterThan(0);
      // which thread claims a chunk depends on scheduling (on a loaded machine the caller may take
      // all of one call): run again, each time with the same bits, until the worker has run one
      for (let i = 0; i < 50 && two.memoryStats().workerChunks === 0; i++) expect(oneRun(two, x)).toEqual(ref);
      expect(two.memoryStats().workerChunks).toBeGreaterThan(0);
    } finally {
      one.destroy();
      two.destroy();
    }
  });

  it('a worker that fails to start: one thread, a one-line notice, no hang', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const realLaunch = ThreadPool.launch.bind(ThreadPool);
    // the workers get a memory the module cannot import (one page, below its minimum): instantiating it fails in the worker
    const tiny = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const launch = vi.spyOn(ThreadPool, 'launch').mockImplementation((mod, threads) => realLaunch({ ...mod, memory: tiny }, threads));
    try {
      const ref = await WasmBackend.create({ threads: 1 });
      const b = WasmBackend.createSync({ threads: 2 });
      try {
        expect(launch).toHaveBeenCalledTimes(1);
        expect(oneRun(b, x)).toEqual(oneRun(ref, x));
        for (let i = 0; i < 500 && b.threads !== 1; i++) await new Promise((r) => setTimeout(r, 10));
        expect(b.threads).toBe(1);
        expect(b.describe()).toMatch(/1 thread;/);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(String(warn.mock.calls[0]?.[0])).toMatch(
          /^cotangent: the wasm backend runs on 1 thread instead of 2: a wasm worker thread failed to start/,
        );
        expect(oneRun(b, x)).toEqual(oneRun(ref, x));
        expect(b.memoryStats().splitCalls).toBe(0);
      } finally {
        b.destroy();
        ref.destroy();
      }
      // create() (init) reports the same failure as an error
      await expect(WasmBackend.create({ threads: 2 })).rejects.toThrow(/^init: a wasm worker thread failed to start/);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('a Node process whose default backend is wasm exits without shutdown()', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ct-default-'));
    try {
      const file = join(dir, 'main.mts');
      writeFileSync(
        file,
        `import * as ct from ${JSON.stringify(join(root, 'src/index.ts'))};
const x = ct.ones([256, 256]);
console.log(ct.getBackend(), ct.matmul(x, x).dataSync()[0]);
`,
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('wasm 256');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
