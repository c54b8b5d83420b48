/**
 * User primitives on WebGPU: `definePrimitive` with a WGSL kernel (the
 * elementwise form and a raw module) runs on the GPU, its rules (written with
 * ops) differentiate there, and the results equal the CPU kernel's.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { acquireGpu, closeMessage, onCpu, values } from './gpu.js';

const ok = await acquireGpu();

// f(x, y) = x·y + sin(x), elementwise
const fmaSin = ct.definePrimitive({
  name: 'webgpuTestFmaSin',
  shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  cpu: ([x, y], _p, out) => {
    const r = out.dtype === 'f64' ? new Float64Array(x!.data.length) : new Float32Array(x!.data.length);
    for (let i = 0; i < r.length; i++) r[i] = x!.data[i]! * y!.data[i]! + Math.sin(x!.data[i]!);
    return r;
  },
  wgsl: { kind: 'elementwise', expr: 'x0 * x1 + sin(x0)' },
  // d f = (y + cos x) dx + x dy
  jvp: ([x, y], [tx, ty]) => ct.add(ct.mul(tx!, ct.add(y!, ct.cos(x!))), ct.mul(x!, ty!)),
  vjp: (c, [x, y]) => [ct.mul(c, ct.add(y!, ct.cos(x!))), ct.mul(c, x!)],
});

// reverse a vector, as a raw WGSL module
const reverse: ct.DefinedPrimitive<Record<string, never>, unknown> = ct.definePrimitive({
  name: 'webgpuTestReverse',
  shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  cpu: ([x]) => x!.data.slice().reverse(),
  wgsl: {
    kind: 'module',
    code: `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let n = m(0u);
  if (g.x < n) { out[g.x] = x[n - 1u - g.x]; }
}`,
    workgroups: ({ out }) => [Math.ceil(out.shape[0]! / 64)],
  },
  // linear: the derivative reverses the tangent; the adjoint reverses the cotangent
  jvp: (_, [t]): ct.Tensor => reverse(t!),
  vjp: (c): ct.Tensor[] => [reverse(c)],
});

describe.skipIf(!ok)('user primitives on WebGPU', () => {
  afterAll(() => ct.shutdown());

  it('value and gradient of an elementwise WGSL primitive match the CPU kernel', async () => {
    const xs = values(37, 1, 'any').map(Math.fround);
    const ys = values(37, 2, 'any').map(Math.fround);
    const loss = (x: ct.Tensor, y: ct.Tensor) => ct.sum(ct.square(fmaSin(x, y)));
    const [v, g] = ct.valueAndGrad(loss, { argnums: [0, 1] })(ct.tensor(xs), ct.tensor(ys));
    const got = [await v.data(), ...(await Promise.all((g as ct.Tensor[]).map((t) => t.data())))];
    const want = await onCpu(() => {
      const [cv, cg] = ct.valueAndGrad(loss, { argnums: [0, 1] })(ct.tensor(xs, { dtype: 'f64' }), ct.tensor(ys, { dtype: 'f64' }));
      return [cv.dataSync(), ...(cg as ct.Tensor[]).map((t) => t.dataSync())];
    });
    got.forEach((a, i) => {
      expect(closeMessage(`output ${i}`, a, want[i]!, { rtol: 1e-4, atol: 4 * 2 ** -11 * 10 })).toBeNull();
    });
  });

  it('a raw WGSL module primitive runs and differentiates (jvp and vjp)', async () => {
    const x = ct.tensor([1, 2, 3, 4, 5]);
    expect(Array.from(await reverse(x).data())).toEqual([5, 4, 3, 2, 1]);
    const g = ct.grad((v: ct.Tensor) => ct.sum(ct.mul(reverse(v), ct.tensor([1, 10, 100, 1000, 10000]))))(x);
    expect(Array.from(await g.data())).toEqual([10000, 1000, 100, 10, 1]);
    const [, t] = ct.jvp(reverse, [x], [ct.tensor([0, 0, 1, 0, 2])]);
    expect(Array.from(await t.data())).toEqual([2, 0, 1, 0, 0]);
  });
});
