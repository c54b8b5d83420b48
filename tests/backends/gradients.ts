/**
 * Shared machinery of the derivative suites on the f32 backends (wasm,
 * WebGPU): the subjects (primitives and composites with their argument
 * shapes and domains), their arguments on a given backend and dtype, and the
 * transpose law <c, J·t> = <Jᵀ·c, t> within rtol 1e-5 of
 * |c|·|J t| + Σ|Jᵀc|·|t|.
 */
import { expect } from 'vitest';
import * as ct from '../../src/index.js';
import { values, type Domain } from '../webgpu/gpu.js';

export type Fn = (...xs: ct.Tensor[]) => ct.Tensor;
export interface Subject {
  readonly name: string;
  readonly f: Fn;
  readonly args: readonly (readonly [number[], Domain])[];
}

export const u = (name: ct.UnaryName, domain: Domain = 'any'): Subject => ({
  name,
  f: (x) => ct.unaryOps[name](x),
  args: [[[3, 5], domain]],
});
export const b = (name: ct.BinaryName, da: Domain = 'any', db: Domain = 'any'): Subject => ({
  name,
  f: (x, y) => ct.binaryOps[name](x, y),
  args: [
    [[3, 1, 5], da],
    [[4, 5], db],
  ],
});

/** The unary subjects on 'any' inputs, then log, sqrt and reciprocal on their domains, then the binary ops and the structural ones. */
export const primitiveSubjects = (anyUnary: readonly ct.UnaryName[]): Subject[] => [
  ...anyUnary.map((n) => u(n)),
  u('log', 'pos'),
  u('sqrt', 'pos'),
  u('reciprocal', 'nonzero'),
  u('log1p', 'pos'),
  ...(['add', 'sub', 'mul', 'maximum', 'minimum'] as const).map((n) => b(n)),
  b('div', 'any', 'nonzero'),
  b('pow', 'pos', 'small'),
  b('logaddexp'),
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
];

export const logSoftmaxSubject: Subject = { name: 'logSoftmax', f: (x) => ct.logSoftmax(x, -1), args: [[[3, 6], 'any']] };
export const mlpSubject: Subject = {
  name: 'mlp',
  f: (w, x) => ct.tanh(ct.matmul(ct.relu(ct.matmul(x, w)), ct.transpose(w))),
  args: [
    [[5, 7], 'small'],
    [[3, 5], 'any'],
  ],
};

export const makeArgs = (s: Subject, seed: number, backend: ct.BackendName, dtype: 'f32' | 'f64') =>
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

const dot = (a: ArrayLike<number>, c: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * c[i]!;
  return s;
};
const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));

/** The tensors of the transpose law for `s` at `seed` on `backend` (f32): tangents ts, J·t, a cotangent c, and Jᵀ·c. */
export function transposeLawTensors(s: Subject, seed: number, backend: ct.BackendName) {
  const args = makeArgs(s, seed, backend, 'f32');
  const ts = args.map((a, i) => ct.tensor(values(a.size, seed + 101 + i, 'small').map(Math.fround), { shape: [...a.shape], backend }));
  const [y, jt] = ct.jvp(s.f, args, ts);
  const c = ct.tensor(values(y.size, seed + 999, 'small').map(Math.fround), { shape: [...y.shape], backend });
  const [, pb] = ct.vjp(s.f, ...args);
  const gs = pb(c) as ct.Tensor[];
  return { args, ts, jt, c, gs };
}

/** Asserts <c, J t> = Σ <gs[i], ts[i]> within 1e-5 of |c|·|J t| + Σ|gs[i]|·|ts[i]| (plus 1e-6), on the read-back values. */
export function expectTransposeLaw(
  cv: ArrayLike<number>,
  jtv: ArrayLike<number>,
  gvs: ArrayLike<number>[],
  tvs: ArrayLike<number>[],
): void {
  let rhs = 0;
  let bound = norm(cv) * norm(jtv);
  gvs.forEach((gv, i) => {
    const tv = tvs[i]!;
    rhs += dot(gv, tv);
    bound += norm(gv) * norm(tv);
  });
  expect(Math.abs(dot(cv, jtv) - rhs)).toBeLessThanOrEqual(1e-5 * bound + 1e-6);
}
