/**
 * A user primitive with a WGSL kernel runs on WebGPU and agrees with its CPU
 * kernel (backend-equivalence law), gradients included; without a WGSL
 * kernel it is a clear error. Skipped, with a message, without an adapter.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { acquireGpuKeepCpuDefault } from '../webgpu/gpu.js';
import { backendsAgree } from '../../laws/index.js';

// softsign(x) = x / (1 + |x|);  d softsign = dx / (1 + |x|)²
const softsign = ct.definePrimitive({
  name: 'test.softsign',
  shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  cpu: ([x]) => x!.data.map((v) => v / (1 + Math.abs(v))),
  wgsl: { kind: 'elementwise', expr: 'x0 / (1.0 + abs(x0))' },
  jvp: ([x], [t]) => ct.div(t!, ct.square(ct.add(1, ct.abs(x!)))),
  vjp: (c, [x]) => [ct.div(c, ct.square(ct.add(1, ct.abs(x!))))],
});
const cpuOnly = ct.definePrimitive({
  name: 'test.cpuOnly',
  shape: ([x]) => x!,
  cpu: ([x]) => x!.data.slice(),
  jvp: (_x, [t]) => t!,
  vjp: (c) => [c],
});
let gpu = false;
beforeAll(async () => {
  gpu = await acquireGpuKeepCpuDefault();
});
afterAll(async () => {
  if (gpu) await ct.shutdown();
});

it('definePrimitive with a WGSL kernel: WebGPU f32 = CPU f64, value and gradient', async (ctx) => {
  if (!gpu) {
    console.warn(`[laws] SKIPPED user primitive on WebGPU: no adapter (see the message above)`);
    ctx.skip();
    return;
  }
  const inputs = [{ shape: [2, 3], values: [-2, -0.5, 0.1, 0.7, 1.5, 3] }];
  const f = (x: ct.Tensor) => [softsign(x), ct.grad((y: ct.Tensor) => ct.sum(ct.mul(softsign(y), y)))(x)];
  const r = await backendsAgree(f, inputs);
  expect(r).toEqual({ ok: true, law: 'backend equivalence' });
  const x = ct.tensor([1, 2], { backend: 'webgpu' });
  expect(() => cpuOnly(x)).toThrow(/test\.cpuOnly.*no WGSL kernel/);
});
