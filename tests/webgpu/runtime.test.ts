/**
 * The WebGPU runtime: ops enqueue without waiting and are submitted in
 * batches; freed buffers are pooled and reused; a training loop holds GPU
 * memory flat; dispatches past 65,535 workgroups work; errors are clear
 * (f64, synchronous reads, user primitives without WGSL, bad WGSL, a
 * destroyed device) and never silent zeros; user WGSL kernels run.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import type { Primitive } from '../../src/core/Primitive.js';
import { bind } from '../../src/core/trace.js';
import { getBackendByName } from '../../src/backends/registry.js';
import { grid } from '../../src/backends/webgpu/context.js';
import { renderShaderModule } from '../../scripts/embed-shaders.mjs';
import { acquireGpu, ADAPTER, closeMessage, values } from './gpu.js';

const ok = await acquireGpu();

const gpuStats = () => ct.memoryStats().backendBuffers['webgpu'] as ct.WebGpuStats;

/** A user primitive record as definePrimitive builds it (elementwise, CPU kernel + optional WGSL). */
function userPrim(name: string, wgsl: unknown, cpu: (a: number, b: number) => number): Primitive {
  return {
    name,
    shape: ([a]) => ({ shape: a!.shape, dtype: a!.dtype }),
    cpu: ([a, b], _p, out) => {
      const r = new Float32Array(a!.data.length);
      for (let i = 0; i < r.length; i++) r[i] = cpu(a!.data[i]!, b!.data[i]!);
      return out.dtype === 'f32' ? r : Float64Array.from(r);
    },
    ...(wgsl === undefined ? {} : { wgsl }),
    jvp: () => ct.Zero,
    vjp: () => [ct.Zero, ct.Zero],
  };
}

describe.skipIf(!ok)('WebGPU runtime', () => {
  afterAll(() => ct.shutdown());

  it('the embedded shaders match shaders/*.wgsl (run `npm run shaders` after editing)', () => {
    const embedded = readFileSync(new URL('../../src/backends/webgpu/shaderSources.ts', import.meta.url), 'utf8');
    expect(embedded).toBe(renderShaderModule());
  });

  it('reports its adapter and placement', () => {
    expect(ct.getBackend()).toBe('webgpu');
    expect(ct.backendInfo()).toMatch(/^WebGPU \(/);
    const t = ct.ones([2]);
    expect((t as unknown as { backendName: string }).backendName).toBe('webgpu');
    expect(t.toString()).toContain('webgpu');
  });

  it('ops enqueue without submitting; a read submits the whole chain in one batch', async () => {
    const x = ct.tensor(values(64, 1), { backend: 'webgpu' });
    await x.data();
    const before = gpuStats().submissions;
    let y = x;
    for (let i = 0; i < 50; i++) y = ct.add(ct.mul(y, 0.5), 1);
    expect(gpuStats().submissions).toBe(before);
    const v = await y.data();
    expect(gpuStats().submissions).toBe(before + 1);
    const xv = await x.data();
    let e = xv[0]!;
    for (let i = 0; i < 50; i++) e = e * 0.5 + 1;
    expect(v[0]).toBeCloseTo(e, 5);
  });

  it('freed buffers are reused from the pool and pipelines are cached', async () => {
    const run = () => ct.scope(() => ct.sum(ct.exp(ct.matmul(ct.ones([33, 17]), ct.ones([17, 9])))));
    const first = run();
    await first.data();
    first.dispose();
    const s1 = gpuStats();
    for (let i = 0; i < 20; i++) {
      const r = run();
      await r.data();
      r.dispose();
    }
    const s2 = gpuStats();
    expect(s2.pipelines).toBe(s1.pipelines);
    expect(s2.buffers).toBe(s1.buffers);
    expect(s2.liveBuffers).toBe(s1.liveBuffers);
  });

  it('a 1,000-step training loop holds GPU memory flat', async () => {
    const X = ct.keep(ct.tensor(values(32 * 8, 3), { shape: [32, 8] }));
    const Y = ct.keep(
      ct.tensor(
        Array.from({ length: 32 }, (_, i) => i % 3),
        { dtype: 'i32' },
      ),
    );
    let params = ct.keep([
      ct.tensor(values(8 * 16, 4, 'small'), { shape: [8, 16] }),
      ct.zeros([16]),
      ct.tensor(values(16 * 3, 5, 'small'), { shape: [16, 3] }),
      ct.zeros([3]),
    ]);
    const loss = (p: ct.Tensor[]) =>
      ct.softmaxCrossEntropy(ct.add(ct.matmul(ct.relu(ct.add(ct.matmul(X, p[0]!), p[1]!)), p[2]!), p[3]!), Y);
    const step = () => {
      const next = ct.scope(() => {
        const [l, g] = ct.valueAndGrad(loss)(params);
        return { l, p: params.map((w, i) => ct.sub(w, ct.mul((g as ct.Tensor[])[i]!, 0.1))) };
      });
      for (const w of params) w.dispose();
      params = ct.keep(next.p);
      return next.l;
    };
    const l0 = step();
    const first = (await l0.data())[0]!;
    l0.dispose();
    for (let i = 0; i < 99; i++) step().dispose();
    const after100 = gpuStats();
    const tensors100 = ct.memoryStats().liveTensors;
    let last = step();
    for (let i = 0; i < 899; i++) {
      last.dispose();
      last = step();
    }
    const final = (await last.data())[0]!;
    last.dispose();
    const after1000 = gpuStats();
    // live tensors and buffers do not grow (garbage left by earlier tests may be collected
    // meanwhile, so they can only shrink); the pool (bounded by size classes) may settle by a
    // few small buffers (a leak of one step's intermediates would add ~30 KB per step, 27 MB in all)
    expect(ct.memoryStats().liveTensors).toBeLessThanOrEqual(tensors100);
    expect(after1000.liveBytes).toBeLessThanOrEqual(after100.liveBytes);
    expect(after1000.bytes - after100.bytes).toBeLessThanOrEqual(Math.max(0.05 * after100.bytes, 64 * 1024));
    expect(final).toBeLessThan(first);
    console.log(
      `[webgpu tests] 1,000 training steps: loss ${first.toFixed(4)} -> ${final.toFixed(4)}; GPU ${after1000.buffers} buffers / ` +
        `${after1000.bytes} bytes (live ${after1000.liveBytes}, pooled ${after1000.pooledBytes}); ${after1000.submissions} ` +
        `submissions for ${after1000.dispatches} dispatches`,
    );
    for (const w of params) w.dispose();
    X.dispose();
    Y.dispose();
  });

  it('workgroup grids fold into 2-D past 65,535 per dimension', () => {
    for (const g of [1, 65535, 65536, 70000, 65535 * 3 + 1, 4_000_000]) {
      const [x, y, z] = grid(g);
      expect(x).toBeLessThanOrEqual(65535);
      expect(y).toBeLessThanOrEqual(65535);
      expect(z).toBe(1);
      expect(x * y).toBeGreaterThanOrEqual(g);
      expect(x * (y - 1)).toBeLessThan(g);
    }
  });

  // 17 million elements: a few seconds on llvmpipe, minutes on SwiftShader (which then only runs the per-cell kernels)
  it('dispatches beyond 65,535 workgroups in one dimension (elementwise, reduction, argmax)', { timeout: 240_000 }, async () => {
    if (ADAPTER !== 'swiftshader') {
      const n = 65536 * 256 + 300; // 65,538 workgroups of 256 threads
      const x = ct.fromTypedArray(new Float32Array(n).fill(1), [n], 'f32');
      const y = ct.add(x, x);
      const v = await y.data();
      expect(v[0]).toBe(2);
      expect(v[n - 1]).toBe(2);
      expect(v[n >> 1]).toBe(2);
      for (const t of [x, y]) t.dispose();
    }
    const rows = 70000; // one workgroup per output cell: 70,000 workgroups
    const m = ct.fromTypedArray(
      Float32Array.from({ length: rows * 3 }, (_, i) => (i % 3 === 1 ? 5 : i % 3)),
      [rows, 3],
      'f32',
    );
    const am = await ct.argmax(m, 1).data();
    expect(am.every((k) => k === 1)).toBe(true);
    const rs = await ct.sum(ct.transpose(m), 0).data(); // 70,000 outputs
    expect(rs.length).toBe(rows);
    expect(rs.every((s) => s === 7)).toBe(true);
    m.dispose();
  });

  it('f64 goes to the cpu backend unless WebGPU is named (then a clear error); synchronous reads are clear errors', () => {
    expect(ct.tensor([1, 2], { dtype: 'f64' }).backendName).toBe('cpu');
    expect(() => ct.tensor([1, 2], { dtype: 'f64', backend: 'webgpu' })).toThrow(
      /webgpu backend does not support dtype f64 \(f64 is CPU-only\)/,
    );
    expect(() => ct.ones([2]).dataSync()).toThrow(/await t\.data\(\)/);
  });

  it('a user primitive without a WGSL kernel names itself and the fix', () => {
    const p = userPrim('myOp', undefined, (a, b) => a + b);
    expect(() => bind(p, [ct.ones([2]), ct.ones([2])], {})).toThrow(
      /myOp: this user primitive has no WGSL kernel, so it cannot run on the webgpu backend/,
    );
  });

  it('user WGSL kernels: elementwise expression (with broadcasting) and a raw module', async () => {
    const fma = userPrim('fmaPlusOne', { kind: 'elementwise', expr: 'x0 * x1 + 1.0' } satisfies ct.WgslKernel, (a, b) => a * b + 1);
    const a = ct.tensor([1, 2, 3]);
    const b = ct.tensor([4, 5, 6]);
    expect(Array.from(await bind(fma, [a, b], {}).data())).toEqual([5, 11, 19]);
    const code = `
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < m(0u)) { out[g.x] = a[g.x] - 2.0 * b[g.x]; }
}`;
    const mod = userPrim(
      'axpyModule',
      { kind: 'module', code, workgroups: ({ out }) => [Math.ceil(out.shape.reduce((x, y) => x * y, 1) / 64)] } satisfies ct.WgslKernel,
      (x, y) => x - 2 * y,
    );
    expect(Array.from(await bind(mod, [a, b], {}).data())).toEqual([-7, -8, -9]);
  });

  it('invalid WGSL surfaces as an error on the read, not as zeros', async () => {
    const bad = userPrim('badKernel', { kind: 'elementwise', expr: 'x0 +* x1' } satisfies ct.WgslKernel, (x) => x);
    const y = bind(bad, [ct.ones([4]), ct.ones([4])], {});
    await expect(y.data()).rejects.toThrow(/WebGPU|WGSL|validation/i);
    // the backend keeps working afterwards
    expect(Array.from(await ct.add(ct.ones([2]), 1).data())).toEqual([2, 2]);
  });

  it('tensors moved between backends keep their values', async () => {
    const c = ct.tensor([1.5, -2, 3], { backend: 'cpu' });
    const g = await ct.toBackend(c, 'webgpu');
    const back = await ct.toBackend(ct.mul(g, 2), 'cpu');
    expect(back.dataSync()).toEqual(Float32Array.from([3, -4, 6]));
    expect(() => ct.add(c, g)).toThrow(/different backends/);
  });

  it('a lost device is a clear error on the next op and read, not a hang; init recovers', async () => {
    const t = ct.ones([3]);
    await t.data();
    const backend = getBackendByName('webgpu') as unknown as { device: GPUDevice };
    backend.device.destroy(); // as if the GPU went away
    await backend.device.lost;
    await new Promise((r) => setTimeout(r, 0));
    expect(() => ct.add(t, t)).toThrow(/device was lost/);
    await expect(t.data()).rejects.toThrow(/device was lost/);
    await ct.init({ backend: 'webgpu', webgpu: { adapter: ADAPTER } });
    expect(Array.from(await ct.add(ct.ones([2]), 2).data())).toEqual([3, 3]);
  });

  it('after shutdown, ops on old tensors say so; init gives a fresh device', async () => {
    const t = ct.ones([3]);
    await ct.shutdown();
    expect(ct.getBackend()).toBe('cpu');
    expect(() => ct.add(t, t)).toThrow(/shut down/);
    await expect(t.data()).rejects.toThrow(/shut down/);
    await ct.init({ backend: 'webgpu', webgpu: { adapter: ADAPTER } });
    expect(closeMessage('after re-init', await ct.add(ct.ones([3]), 1).data(), [2, 2, 2], { rtol: 0, atol: 0 })).toBeNull();
  });
});
