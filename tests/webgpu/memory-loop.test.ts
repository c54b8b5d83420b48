/**
 * WebGPU memory in the loop people write: `({ params, state } = step(params, state, x, y))`
 * with no scope, dispose or await holds live tensors, live bytes and the
 * buffers the backend holds (live + pooled) flat; the pool trims itself;
 * donated tensors give a clear error; after shutdown() the backend's tensors
 * leave memoryStats() and using one says the backend was shut down.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { runPlainLoop } from '../nn/plain-loop.js';
import { acquireGpu, ADAPTER } from './gpu.js';

const ok = await acquireGpu();

/** Steps on the software adapter (about 13 ms a step on llvmpipe; the CPU test runs 10,000); sampled every SAMPLE_EVERY. */
const STEPS = 1_000;
const SAMPLE_EVERY = 100;

const gpuStats = () => ct.memoryStats().backendBuffers['webgpu'] as ct.WebGpuStats;

describe.skipIf(!ok)('WebGPU: a plain synchronous training loop', () => {
  afterAll(() => ct.shutdown());

  it(`holds live tensors and GPU buffers flat over ${STEPS.toLocaleString('en')} steps`, async () => {
    let firstLoss: ct.Tensor | null = null;
    let lastLoss: ct.Tensor | null = null;
    const { samples } = runPlainLoop({
      warmup: 1,
      steps: STEPS,
      every: SAMPLE_EVERY,
      sample: () => {
        const m = ct.memoryStats();
        const g = gpuStats();
        return { tensors: m.liveTensors, bytes: m.liveBytes, buffers: g.buffers, gpuBytes: g.bytes, pooled: g.pooledBuffers };
      },
      onFirst: (r) => {
        firstLoss = ct.keep(r.loss);
      },
      onLast: (r) => {
        lastLoss = r.loss;
      },
    });
    const l0 = (await firstLoss!.data())[0]!;
    const l1 = (await lastLoss!.data())[0]!;
    console.log(`[webgpu tests] ${STEPS} plain-loop steps: loss ${l0.toFixed(4)} -> ${l1.toFixed(4)}; samples ${JSON.stringify(samples)}`);
    // live tensors and their bytes: exactly flat
    for (const s of samples) expect([s.tensors, s.bytes]).toEqual([samples[0]!.tensors, samples[0]!.bytes]);
    // buffers held (live + pooled): no growth after the first sample (the pool's contents
    // depend on where in a command batch the sample falls, so allow a step's worth of jitter)
    const buffers = samples.map((s) => s.buffers);
    expect(Math.max(...buffers) - Math.min(...buffers)).toBeLessThanOrEqual(64);
    expect(buffers[buffers.length - 1]!).toBeLessThanOrEqual(buffers[0]! + 64);
    expect(Math.max(...samples.map((s) => s.gpuBytes))).toBeLessThan(4 << 20);
    expect(l1).toBeLessThan(l0 * 0.5);
  });

  it('using a donated tensor is a clear error; the pool trims idle buffers', async () => {
    const model = nn.serial(nn.dense(4));
    const { params } = model.init(nn.random.key(1), [-1, 2]);
    const opt = nn.sgd(0.1);
    const step = nn.trainStep(model, nn.softmaxCrossEntropy, opt);
    const x = ct.tensor([
      [1, 2],
      [3, 4],
    ]);
    const y = ct.tensor([0, 3], { dtype: 'i32' });
    const r = step(params, opt.init(params), x, y);
    expect(() => ct.exp(params[0].W)).toThrow(/exp: input f32\[4,2\] was donated to trainStep and freed; use the returned params/);
    await expect(params[0].b.data()).rejects.toThrow(/data: input f32\[4\] was donated to trainStep/);
    expect((await r.params[0].W.data()).length).toBe(8);
    // free many buffers of one size, then keep submitting work that does not reuse them: they are trimmed
    const junk = Array.from({ length: 200 }, () => ct.ones([1000]));
    for (const t of junk) t.dispose();
    await ct.syncBackend();
    const pooled = gpuStats().pooledBuffers;
    expect(pooled).toBeGreaterThanOrEqual(200);
    for (let i = 0; i < 80; i++) {
      const t = ct.add(x, i);
      await t.data(); // one submission each
      t.dispose();
    }
    expect(gpuStats().pooledBuffers).toBeLessThan(pooled - 150);
  });
});

describe.skipIf(!ok)('WebGPU: after shutdown()', () => {
  it('its tensors leave memoryStats() and using one says the backend was shut down', async () => {
    await ct.init({ backend: 'webgpu', webgpu: { adapter: ADAPTER } });
    const ts = Array.from({ length: 42 }, (_, i) => ct.full([3], i));
    const c = ct.tensor([1, 2, 3], { backend: 'cpu' });
    expect(ct.memoryStats().byBackend['webgpu']!.tensors).toBeGreaterThanOrEqual(42);
    const cpuBefore = ct.memoryStats().byBackend['cpu']!;
    await ct.shutdown();
    const m = ct.memoryStats();
    expect(m.byBackend['webgpu'] ?? { tensors: 0, bytes: 0 }).toEqual({ tensors: 0, bytes: 0 });
    expect(m.byBackend['cpu']).toEqual(cpuBefore);
    const t = ts[5]!;
    expect(() => ct.exp(t)).toThrow(/exp: input f32\[3\] is on the WebGPU backend, which was shut down/);
    expect(() => ct.add(t, t)).toThrow(/shut down/);
    expect(() => ct.add(t, 1)).toThrow(/shut down/);
    await expect(t.data()).rejects.toThrow(/data: input f32\[3\] is on the WebGPU backend, which was shut down/);
    expect(String(t)).toMatch(/freed/);
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]); // CPU tensors are untouched
    // init gives a fresh device; new tensors work and are counted again
    await ct.init({ backend: 'webgpu', webgpu: { adapter: ADAPTER } });
    const u = ct.add(ct.ones([2]), 2);
    expect(Array.from(await u.data())).toEqual([3, 3]);
    expect(ct.memoryStats().byBackend['webgpu']!.tensors).toBeGreaterThanOrEqual(1);
    await ct.shutdown();
  });
});
