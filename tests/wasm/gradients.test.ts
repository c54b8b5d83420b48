/**
 * Derivatives on wasm. The JVP and VJP rules are written with ops, so they run
 * unchanged on the wasm backend; these laws check that they do, in f32:
 * - transpose law <c, J·t> = <Jᵀ·c, t> for every differentiable primitive and
 *   a few composites (cast has no derivative on wasm, where it converts only
 *   between f32 and i32; within 1e-5 of |c|·|J t| + Σ|Jᵀc|·|t|);
 * - jacfwd(f) = jacrev(f) for every subject;
 * - grad on wasm (every subject, and a small MLP) equals the CPU f64 result.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import {
  expectTransposeLaw,
  logSoftmaxSubject,
  makeArgs,
  mlpSubject,
  primitiveSubjects,
  type Subject,
  transposeLawTensors,
} from '../backends/gradients.js';
import { closeMessage, values } from '../webgpu/gpu.js';

const subjects: Subject[] = [
  ...primitiveSubjects(['neg', 'exp', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'square', 'abs', 'erf', 'erfc', 'expm1', 'softplus']),
  { name: 'stopGradient', f: (x) => ct.mul(x, ct.stopGradient(x)), args: [[[5], 'any']] },
  logSoftmaxSubject,
  mlpSubject,
];

/** Run `fn` with the CPU as the default backend (reference computations create constants on the default one), then back to wasm. */
async function onCpu<T>(fn: () => T): Promise<T> {
  await ct.init({ backend: 'cpu' });
  try {
    return fn();
  } finally {
    await ct.init({ backend: 'wasm' });
  }
}

describe('derivatives on wasm (f32)', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'wasm' });
  });
  afterAll(async () => {
    await ct.init({ backend: 'cpu' });
  });

  for (const s of subjects) {
    it(`transpose law <c, J t> = <Jᵀ c, t> and jacfwd = jacrev: ${s.name}`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1 << 30 }), (seed) =>
          ct.scope(() => {
            const { args, ts, jt, c, gs } = transposeLawTensors(s, seed, 'wasm');
            expect(jt.backendName).toBe('wasm');
            expectTransposeLaw(
              c.dataSync(),
              jt.dataSync(),
              gs.map((g) => g.dataSync()),
              ts.map((t) => t.dataSync()),
            );
            const rest = args.slice(1);
            const jf = ct.jacfwd((x: ct.Tensor) => s.f(x, ...rest))(args[0]!);
            const jr = ct.jacrev((x: ct.Tensor) => s.f(x, ...rest))(args[0]!);
            expect(jf.shape).toEqual(jr.shape);
            expect(closeMessage(`${s.name} jacfwd vs jacrev`, jf.dataSync(), jr.dataSync(), { rtol: 1e-5, atol: 1e-6 })).toBeNull();
            return true;
          }),
        ),
        { numRuns: 3 },
      );
    });
  }

  it('grad on wasm equals grad on the CPU in f64 (every subject, summed squared output)', async () => {
    for (const s of subjects) {
      await ct.scopeAsync(async () => {
        const loss = (...xs: ct.Tensor[]) => ct.sum(ct.mul(s.f(...xs), s.f(...xs)));
        const argnums = s.args.map((_, i) => i);
        const got = (ct.grad(loss, { argnums })(...makeArgs(s, 5, 'wasm', 'f32')) as ct.Tensor[]).map((t) => t.dataSync());
        const want = await onCpu(() =>
          (ct.grad(loss, { argnums })(...makeArgs(s, 5, 'cpu', 'f64')) as ct.Tensor[]).map((t) => t.dataSync()),
        );
        got.forEach((v, i) => {
          const scale = Math.max(1, ...Array.from(want[i]!, Math.abs));
          expect(closeMessage(`${s.name} d/dx${i}`, v, want[i]!, { rtol: 1e-4, atol: 1e-5 * scale })).toBeNull();
        });
      });
    }
  });

  it('a small MLP: grad of the softmax cross-entropy on wasm equals the CPU f64 gradient', async () => {
    const model = nn.serial(nn.dense(16), nn.relu, nn.dense(8), nn.tanh, nn.dense(3));
    const { params } = model.init(nn.random.key(3), [-1, 4]);
    const xs = values(8 * 4, 17, 'any').map(Math.fround);
    const labels = [0, 1, 2, 0, 1, 2, 2, 1];
    const gradOn = (backend: 'wasm' | 'cpu', dtype: 'f32' | 'f64') => {
      const p = ct.treeMap(params, (t) => {
        const leaf = t as ct.Tensor;
        return ct.tensor(Array.from(leaf.dataSync()), { shape: [...leaf.shape], dtype, backend });
      }) as typeof params;
      const x = ct.tensor(xs, { shape: [8, 4], dtype, backend });
      const y = ct.tensor(labels, { dtype: 'i32', backend });
      const g = ct.grad((q: typeof p) => nn.softmaxCrossEntropy(model.apply(q, x), y))(p);
      return ct.treeLeaves(g).map((t) => (t as ct.Tensor).dataSync());
    };
    const got = gradOn('wasm', 'f32');
    const want = await onCpu(() => gradOn('cpu', 'f64'));
    expect(got.length).toBe(want.length);
    for (const [i, v] of got.entries()) expect(closeMessage(`mlp leaf ${i}`, v, want[i]!, { rtol: 1e-4, atol: 1e-6 })).toBeNull();
  });
});
