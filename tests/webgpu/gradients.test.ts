/**
 * Derivatives on WebGPU. The JVP and VJP rules are written with ops, so they
 * run unchanged on the GPU; these laws check that they do, in f32:
 * - transpose law <c, J·t> = <Jᵀ·c, t> for every differentiable primitive and
 *   a few composites (rtol 1e-5 of |c|·|J t| + Σ|Jᵀc|·|t|);
 * - jacfwd(f) = jacrev(f);
 * - grad / jvp / hessian on WebGPU equal the CPU f64 results (f32 tolerance).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import {
  expectTransposeLaw,
  logSoftmaxSubject,
  makeArgs,
  mlpSubject,
  primitiveSubjects,
  type Subject,
  transposeLawTensors,
  u,
} from '../backends/gradients.js';
import { acquireGpu, closeMessage, onCpu, values } from './gpu.js';

const ok = await acquireGpu();

const subjects: Subject[] = [
  ...primitiveSubjects([
    'neg',
    'exp',
    'sin',
    'cos',
    'tanh',
    'sigmoid',
    'relu',
    'square',
    'abs',
    'sign',
    'erf',
    'erfc',
    'expm1',
    'softplus',
  ]),
  logSoftmaxSubject,
  { name: 'softmax', f: (x) => ct.softmax(x, 0), args: [[[4, 3], 'any']] },
  mlpSubject,
];

describe.skipIf(!ok)('derivatives on WebGPU (f32)', () => {
  afterAll(() => ct.shutdown());

  for (const s of subjects) {
    it(`transpose law <c, J t> = <Jᵀ c, t>: ${s.name}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 1 << 30 }), async (seed) => {
          const { ts, jt, c, gs } = transposeLawTensors(s, seed, 'webgpu');
          const jtv = await jt.data();
          const cv = await c.data();
          const gvs: ArrayLike<number>[] = [];
          const tvs: ArrayLike<number>[] = [];
          for (let i = 0; i < gs.length; i++) {
            gvs.push(await gs[i]!.data());
            tvs.push(await ts[i]!.data());
          }
          expectTransposeLaw(cv, jtv, gvs, tvs);
        }),
        { numRuns: 3 },
      );
    });
  }

  it('jacfwd = jacrev on WebGPU', async () => {
    const fs: Subject[] = [
      subjects.find((s) => s.name === 'logSoftmax')!,
      subjects.find((s) => s.name === 'matmul')!,
      u('tanh'),
      { name: 'max', f: (x) => ct.max(x, 1), args: [[[3, 4], 'any']] },
    ];
    for (const s of fs) {
      const args = makeArgs(s, 42, 'webgpu', 'f32');
      const jf = ct.jacfwd((x: ct.Tensor) => s.f(x, ...args.slice(1)))(args[0]!);
      const jr = ct.jacrev((x: ct.Tensor) => s.f(x, ...args.slice(1)))(args[0]!);
      expect(jf.shape).toEqual(jr.shape);
      expect(closeMessage(`${s.name} jacfwd vs jacrev`, await jf.data(), await jr.data(), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    }
  });

  it('grad on WebGPU equals grad on the CPU in f64 (every subject, summed output)', async () => {
    for (const s of subjects) {
      const loss = (...xs: ct.Tensor[]) => ct.sum(ct.mul(s.f(...xs), s.f(...xs)));
      const argnums = s.args.map((_, i) => i);
      const g = ct.grad(loss, { argnums })(...makeArgs(s, 5, 'webgpu', 'f32')) as ct.Tensor[];
      const got = await Promise.all(g.map((t) => t.data()));
      const want = await onCpu(() => (ct.grad(loss, { argnums })(...makeArgs(s, 5, 'cpu', 'f64')) as ct.Tensor[]).map((t) => t.dataSync()));
      got.forEach((v, i) => {
        const scale = Math.max(1, ...Array.from(want[i]!, Math.abs));
        // sin/cos: WGSL allows them an absolute error of 2^-11 (SwiftShader uses it); the loss squares them
        const atol = (s.name === 'sin' || s.name === 'cos' ? 4 * 2 ** -11 : 1e-5) * scale;
        expect(closeMessage(`${s.name} d/dx${i}`, v, want[i]!, { rtol: 1e-4, atol })).toBeNull();
      });
    }
  });

  it('jvp and hessian on WebGPU equal the CPU f64 results', async () => {
    const f = (x: ct.Tensor) => ct.add(ct.logsumexp(x), ct.sum(ct.mul(ct.tanh(x), ct.square(x))));
    const x0 = values(5, 11, 'small').map(Math.fround);
    const h = ct.hessian(f)(ct.tensor(x0, { backend: 'webgpu' }));
    const [, jt] = ct.jvp(f, [ct.tensor(x0, { backend: 'webgpu' })], [ct.ones([5], { backend: 'webgpu' })]);
    const hv = await h.data();
    const jv = await jt.data();
    const [hw, jw] = await onCpu(() => {
      const xc = ct.tensor(x0, { dtype: 'f64', backend: 'cpu' });
      return [ct.hessian(f)(xc).dataSync(), ct.jvp(f, [xc], [ct.ones([5], { dtype: 'f64', backend: 'cpu' })])[1].dataSync()];
    });
    expect(h.shape).toEqual([5, 5]);
    expect(closeMessage('hessian', hv, hw, { rtol: 1e-4, atol: 1e-5 })).toBeNull();
    expect(closeMessage('jvp', jv, jw, { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    // symmetric
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(Math.abs(hv[i * 5 + j]! - hv[j * 5 + i]!)).toBeLessThan(1e-5);
  });

  it('softmax cross-entropy training gradient with i32 labels (oneHot on the GPU)', async () => {
    const logits = ct.tensor(values(4 * 10, 3, 'any').map(Math.fround), { shape: [4, 10], backend: 'webgpu' });
    const labels = ct.tensor([1, 9, 0, 3], { dtype: 'i32', backend: 'webgpu' });
    const g = ct.grad((l: ct.Tensor) => ct.softmaxCrossEntropy(l, labels))(logits);
    const gv = await g.data();
    const want = await onCpu(() => {
      const lc = ct.tensor(values(4 * 10, 3, 'any').map(Math.fround), { shape: [4, 10], dtype: 'f64', backend: 'cpu' });
      const yc = ct.tensor([1, 9, 0, 3], { dtype: 'i32', backend: 'cpu' });
      return ct
        .grad((l: ct.Tensor) => ct.softmaxCrossEntropy(l, yc))(lc)
        .dataSync();
    });
    expect(closeMessage('d CE / d logits', gv, want, { rtol: 1e-5, atol: 1e-7 })).toBeNull();
  });
});
