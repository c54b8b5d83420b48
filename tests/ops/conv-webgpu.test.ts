/**
 * The convolution family on WebGPU (shaders/conv.wgsl) against the naive references of tests/ops/convReference.ts:
 * conv2d, conv2dInputGrad and conv2dFilterGrad for strides, dilations, groups and paddings on small shapes
 * (software GPU), the gradient of a conv2d through the three kernels, and convTranspose2d.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { functional as F } from '../../src/nn/index.js';
import { acquireGpu } from '../webgpu/gpu.js';
import { compare, convCases, lcg, refConv, refConvTranspose, refFilterGrad, refInputGrad, type RefGeometry } from './convReference.js';

const ok = await acquireGpu();
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe.skipIf(!ok)('the convolution family on WebGPU = the seven-loop references', () => {
  afterAll(() => ct.shutdown());

  it('conv2d, conv2dInputGrad, conv2dFilterGrad (strides, dilations, groups; valid, same, explicit padding)', async () => {
    await fc.assert(
      fc.asyncProperty(convCases({ maxSize: 6, maxCh: 3 }), async (c) => {
        const g: RefGeometry = c.g;
        const xs = [g.n, g.h, g.w, g.cin];
        const ws = [g.kh, g.kw, g.cin / g.groups, g.cout];
        const ys = [g.n, g.ho, g.wo, g.cout];
        const xv = lcg(size(xs), c.seed);
        const wv = lcg(size(ws), c.seed + 1);
        const gv = lcg(size(ys), c.seed + 2);
        const t = (v: number[], shape: number[]) => ct.tensor(v, { shape, backend: 'webgpu' });
        const p = { stride: g.stride, dilation: g.dilation, pads: g.pads, groups: g.groups };
        const y = F.conv2d(t(xv, xs), t(wv, ws), { stride: g.stride, dilation: g.dilation, padding: c.padding, groups: g.groups });
        const xb = ct.conv2dInputGrad(t(gv, ys), t(wv, ws), { ...p, inputSize: [g.h, g.w] });
        const wb = ct.conv2dFilterGrad(t(xv, xs), t(gv, ys), { ...p, kernelSize: [g.kh, g.kw] });
        expect(y.backendName).toBe('webgpu');
        const what = JSON.stringify({ ...g, padding: c.padding });
        const msgs = [
          compare(await y.data(), refConv(xv, wv, g), 1e-5, 1e-6 * g.kh * g.kw * g.cin, `conv2d ${what}`),
          compare(await xb.data(), refInputGrad(gv, wv, g), 1e-5, 1e-6 * g.kh * g.kw * g.cout, `conv2dInputGrad ${what}`),
          compare(await wb.data(), refFilterGrad(xv, gv, g), 1e-5, 1e-6 * g.n * g.ho * g.wo, `conv2dFilterGrad ${what}`),
        ];
        expect(msgs).toEqual(['', '', '']);
      }),
      { numRuns: 12 },
    );
  });

  it('the gradient of a strided grouped conv2d runs on the GPU and equals the CPU one', async () => {
    const xs = [2, 7, 6, 4];
    const ws = [3, 2, 2, 6];
    const xv = lcg(size(xs), 11);
    const wv = lcg(size(ws), 12);
    const opts = { stride: [2, 1] as const, padding: 'same' as const, groups: 2 };
    const grads = (backend: ct.BackendName) =>
      ct.grad((a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.square(F.conv2d(a, b, opts))), { argnums: [0, 1] })(
        ct.tensor(xv, { shape: xs, backend }),
        ct.tensor(wv, { shape: ws, backend }),
      );
    const gpu = grads('webgpu');
    const cpu = grads('cpu');
    for (let k = 0; k < 2; k++) {
      expect(gpu[k]!.backendName).toBe('webgpu');
      expect(compare(await gpu[k]!.data(), cpu[k]!.dataSync(), 1e-4, 1e-4, `gradient ${k}`)).toBe('');
    }
  });

  it("convTranspose2d ('same', stride 2) = its loop definition", async () => {
    const xs = [1, 3, 4, 2];
    const ws = [3, 3, 2, 3];
    const xv = lcg(size(xs), 21);
    const wv = lcg(size(ws), 22);
    const y = F.convTranspose2d(ct.tensor(xv, { shape: xs, backend: 'webgpu' }), ct.tensor(wv, { shape: ws, backend: 'webgpu' }), {
      stride: 2,
      padding: 'same',
    });
    expect(y.shape).toEqual([1, 6, 8, 3]);
    // full output 7 x 9, cropped by max(3 - 2, 0) = 1: nothing at the start, 1 at the end
    const want = refConvTranspose(xv, xs, wv, ws, [2, 2], [1, 1], [0, 0], [6, 8]);
    expect(compare(await y.data(), want, 1e-5, 1e-5, 'convTranspose2d')).toBe('');
  });
});
