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
import { closeMessage, values, type Domain } from '../webgpu/gpu.js';

type Fn = (...xs: ct.Tensor[]) => ct.Tensor;
interface Subject {
  readonly name: string;
  readonly f: Fn;
  readonly args: readonly (readonly [number[], Domain])[];
}

const u = (name: ct.UnaryName, domain: Domain = 'any'): Subject => ({ name, f: (x) => ct.unaryOps[name](x), args: [[[3, 5], domain]] });
const b = (name: ct.BinaryName, da: Domain = 'any', db: Domain = 'any'): Subject => ({
  name,
  f: (x, y) => ct.binaryOps[name](x, y),
  args: [
    [[3, 1, 5], da],
    [[4, 5], db],
  ],
});

const subjects: Subject[] = [
  ...(['neg', 'exp', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'square', 'abs'] as const).map((n) => u(n)),
  u('log', 'pos'),
  u('sqrt', 'pos'),
  u('reciprocal', 'nonzero'),
  ...(['add', 'sub', 'mul', 'maximum', 'minimum'] as const).map((n) => b(n)),
  b('div', 'any', 'nonzero'),
  b('pow', 'pos', 'small'),
  {
    name: 'where',
    f: (x, y) => ct.where(ct.greater(x, 0), x, y),
    args: [
      [[4, 3], 'any'],
      [[3], 'any'],
    ],
  },
  {
    name: 'matmul',
    f: (x, y) => ct.matmul(x, y),
    args: [
      [[3, 4], 'any'],
      [[4, 5], 'any'],
    ],
  },
  {
    name: 'batched matmul',
    f: (x, y) => ct.matmul(x, y),
    args: [
      [[2, 3, 4], 'any'],
      [[4, 5], 'any'],
    ],
  },
  { name: 'sum', f: (x) => ct.sum(x, [0, 2]), args: [[[3, 4, 5], 'any']] },
  { name: 'max', f: (x) => ct.max(x, [1]), args: [[[3, 7], 'any']] },
  { name: 'transpose', f: (x) => ct.transpose(x, [2, 0, 1]), args: [[[2, 3, 4], 'any']] },
  { name: 'reshape/broadcastTo', f: (x) => ct.broadcastTo(ct.reshape(x, [3, 1, 2]), [3, 4, 2]), args: [[[6], 'any']] },
  {
    name: 'slice/pad',
    f: (x) =>
      ct.pad(ct.slice(x, [1, 0], [2, 3]), [
        [1, 0],
        [2, 1],
      ]),
    args: [[[4, 5], 'any']],
  },
  {
    name: 'concat',
    f: (x, y) => ct.concat([x, y, x], 1),
    args: [
      [[2, 3], 'any'],
      [[2, 2], 'any'],
    ],
  },
  { name: 'stopGradient', f: (x) => ct.mul(x, ct.stopGradient(x)), args: [[[5], 'any']] },
  { name: 'logSoftmax', f: (x) => ct.logSoftmax(x, -1), args: [[[3, 6], 'any']] },
  {
    name: 'mlp',
    f: (w, x) => ct.tanh(ct.matmul(ct.relu(ct.matmul(x, w)), ct.transpose(w))),
    args: [
      [[5, 7], 'small'],
      [[3, 5], 'any'],
    ],
  },
];

const makeArgs = (s: Subject, seed: number, backend: 'wasm' | 'cpu', dtype: 'f32' | 'f64') =>
  s.args.map(([shape, domain], i) =>
    ct.tensor(
      values(
        shape.reduce((a, c) => a * c, 1),
        seed + 7 * i,
        domain,
      ).map(Math.fround),
      { shape, dtype, backend },
    ),
  );

/** Run `fn` with the CPU as the default backend (reference computations create constants on the default one), then back to wasm. */
async function onCpu<T>(fn: () => T): Promise<T> {
  await ct.init({ backend: 'cpu' });
  try {
    return fn();
  } finally {
    await ct.init({ backend: 'wasm' });
  }
}

const dot = (a: ArrayLike<number>, c: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * c[i]!;
  return s;
};
const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));

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
            const args = makeArgs(s, seed, 'wasm', 'f32');
            const ts = args.map((a, i) =>
              ct.tensor(values(a.size, seed + 101 + i, 'small').map(Math.fround), { shape: [...a.shape], backend: 'wasm' }),
            );
            const [y, jt] = ct.jvp(s.f, args, ts);
            expect(jt.backendName).toBe('wasm');
            const c = ct.tensor(values(y.size, seed + 999, 'small').map(Math.fround), { shape: [...y.shape], backend: 'wasm' });
            const [, pb] = ct.vjp(s.f, ...args);
            const gs = pb(c) as ct.Tensor[];
            const jtv = jt.dataSync();
            const cv = c.dataSync();
            let rhs = 0;
            let bound = norm(cv) * norm(jtv);
            gs.forEach((g, i) => {
              const gv = g.dataSync();
              const tv = ts[i]!.dataSync();
              rhs += dot(gv, tv);
              bound += norm(gv) * norm(tv);
            });
            expect(Math.abs(dot(cv, jtv) - rhs)).toBeLessThanOrEqual(1e-5 * bound + 1e-6);
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
