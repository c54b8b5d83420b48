/**
 * The law kit itself: arbitraries produce what they promise, suspects are
 * named correctly, reports carry the largest error, backend equivalence
 * compares generically, and checkGrads passes the public composite ops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import {
  arb,
  backendsAgree,
  checkGrads,
  formatFailure,
  jvpMatchesFiniteDifferences,
  prng,
  randomLike,
  resultsAgree,
  transposeLaw,
  builtinCases,
  PRIMITIVE_LAWS,
  primitiveLaw,
  type LawFailure,
  type TensorFn,
} from '../../laws/index.js';

const f64 = (v: number[], shape = [v.length]) => ct.tensor(v, { dtype: 'f64', shape });

describe('arbitraries', () => {
  it('shapes cover ranks 0-4 with dims 1-3 and at most 24 elements', () => {
    const ranks = new Set<number>();
    fc.assert(
      fc.property(arb.shape(), (s) => {
        ranks.add(s.length);
        return s.length <= 4 && s.every((d) => d >= 1 && d <= 3) && s.reduce((a, b) => a * b, 1) <= 24;
      }),
      { numRuns: 300 },
    );
    expect([...ranks].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('broadcast pairs broadcast (the result equals what add computes), and some differ', () => {
    let differ = 0;
    fc.assert(
      fc.property(arb.broadcastPair(), ({ a, b, out }) => {
        if (JSON.stringify(a) !== JSON.stringify(b)) differ++;
        const y = ct.add(ct.zeros(a), ct.zeros(b));
        return JSON.stringify(y.shape) === JSON.stringify(out);
      }),
      { numRuns: 200 },
    );
    expect(differ).toBeGreaterThan(50);
  });

  it('value domains hold: positive, away from zero, grid vs offset grid (no ties), distinct values', () => {
    fc.assert(
      fc.property(arb.value('positive'), (v) => v >= 0.5),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(arb.value('awayFromZero'), (v) => Math.abs(v) >= 0.2),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(arb.value('grid'), arb.value('gridOffset'), (a, b) => Math.abs(a - b) > 0.15),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(arb.shape({ minRank: 1 }).chain(arb.distinctTensorOf), (t) => {
        const s = [...t.values].sort((a, b) => a - b);
        return s.every((v, i) => i === 0 || v - s[i - 1]! >= 0.19);
      }),
      { numRuns: 100 },
    );
  });

  it('pytrees of tensors become trees that transformations accept', () => {
    fc.assert(
      fc.property(arb.pytree({ maxSize: 6 }), (tree) => {
        const t = arb.treeToTensors(tree);
        const g = ct.grad((p: unknown) =>
          ct.treeLeaves(p as never).reduce<ct.Tensor>((acc, l) => ct.add(acc, ct.sum(l as ct.Tensor)), ct.scalar(0, { dtype: 'f64' })),
        )(t);
        return ct.treeLeaves(g as never).every((l) => Array.from((l as ct.Tensor).dataSync()).every((v) => v === 1));
      }),
      { numRuns: 30 },
    );
  });

  it('permutations are permutations', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5 }).chain(arb.permutation), (p) => [...p].sort().every((v, i) => v === i)),
      { numRuns: 50 },
    );
  });
});

describe('reports', () => {
  const x = [f64([0.3, -1.2, 2])];
  const t = [f64([1, 0.5, -1])];
  const c = f64([0.2, 1, -0.7]);
  const brokenJvp = ct.customJvp(
    (v) => ct.sin(v),
    ([v], [dv]) => ct.mul(dv!, ct.cos(ct.mul(v!, 2))),
  );
  const brokenVjp = ct.customVjp(
    (v) => ct.sin(v),
    (v) => [ct.sin(v), v] as const,
    (v, g) => [ct.mul(g, ct.sin(v))],
  );

  const sinWith = (name: string, jvpScale: number, vjpScale: number) =>
    ct.definePrimitive({
      name,
      shape: ([v]) => v!,
      cpu: ([v]) => v!.data.map(Math.sin),
      jvp: ([v], [dv]) => ct.mul(dv!, ct.mul(ct.cos(v!), jvpScale)),
      vjp: (g, [v]) => [ct.mul(g, ct.mul(ct.cos(v!), vjpScale))],
    });

  it('the transpose law names the suspect rule by asking finite differences', () => {
    const a = transposeLaw(sinWith('test.kit.badJvp', -1, 1), x, t, c);
    const b = transposeLaw(sinWith('test.kit.badVjp', 1, 2), x, t, c);
    expect(a.ok || (a as LawFailure).suspect).toBe('jvp');
    expect(b.ok || (b as LawFailure).suspect).toBe('vjp');
    // a customJvp's VJP is the transpose of its own JVP rule: a wrong rule is consistent, so only finite differences catch it
    expect(transposeLaw(brokenJvp as TensorFn, x, t, c).ok).toBe(true);
    expect(jvpMatchesFiniteDifferences(brokenJvp as TensorFn, x, t).ok).toBe(false);
  });

  it('a failed finite-difference law reports expected, actual and the largest error with its index', () => {
    const r = jvpMatchesFiniteDifferences(brokenJvp as TensorFn, x, t) as LawFailure;
    expect(r.ok).toBe(false);
    const text = formatFailure(r, 'the function');
    expect(text).toMatch(/expected \(finite differences\)/);
    expect(text).toMatch(/actual {3}\(JVP\)/);
    expect(text).toMatch(/largest error at index \[\d\]/);
  });

  it('checkGrads reports inputs and the seed on failure', () => {
    const r = fc.check(checkGrads(brokenVjp as TensorFn, x, { order: 1 }), { numRuns: 3, seed: 42 });
    expect(r.failed).toBe(true);
    expect(r.seed).toBe(42);
    expect(String((r.errorInstance as Error).message)).toMatch(/inputs: f64\[3\]/);
  });
});

describe('no leaks', () => {
  it('running every law on every built-in primitive leaves no live tensor behind', () => {
    const before = ct.memoryStats().liveTensors;
    for (const name of ct.primNames) {
      for (const c of fc.sample(builtinCases[name], { numRuns: 2, seed: 1 })) {
        for (const law of PRIMITIVE_LAWS) expect(primitiveLaw(ct.primitives[name], c, law, 1).ok).toBe(true);
      }
    }
    expect(ct.memoryStats().liveTensors).toBe(before);
  });
});

describe('backend equivalence (generic)', () => {
  it('compares a reference and a candidate backend/dtype, and catches a difference', async () => {
    const inputs = [{ shape: [2, 2], values: [0.1, -0.5, 1.5, 2] }];
    const f = (a: ct.Tensor) => [ct.tanh(ct.matmul(a, a)), ct.grad((b: ct.Tensor) => ct.sum(ct.sin(b)))(a)];
    expect(
      (await backendsAgree(f, inputs, { reference: { backend: 'cpu', dtype: 'f64' }, candidate: { backend: 'cpu', dtype: 'f32' } })).ok,
    ).toBe(true);
    const g = (a: ct.Tensor) => (a.dtype === 'f32' ? ct.mul(a, 1.01) : a);
    const r = await backendsAgree(g, inputs, { candidate: { backend: 'cpu', dtype: 'f32' } });
    expect(r.ok).toBe(false);
    expect((r as LawFailure).suspect).toBe('backend');
    expect(resultsAgree([1, 2], [1, 2.0001], [2]).ok).toBe(true);
  });
});

describe('checkGrads on the public composite ops', () => {
  const tensors = (opts: Parameters<typeof arb.tensor>[0] = {}) =>
    arb.tensor({ minRank: 1, maxSize: 12, ...opts }).map((s) => [ct.tensor(Float64Array.from(s.values), { shape: s.shape, dtype: 'f64' })]);
  const cases: [string, TensorFn][] = [
    ['mean', (x) => ct.mean(x, -1)],
    ['logsumexp', (x) => ct.logsumexp(x, -1)],
    ['softmax', (x) => ct.softmax(x, -1)],
    ['logSoftmax', (x) => ct.logSoftmax(x, -1)],
    ['min (no ties)', (x) => ct.min(ct.mul(x, f64([1])), -1)],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      const arbx = name.startsWith('min')
        ? arb
            .shape({ minRank: 1, maxSize: 12 })
            .chain(arb.distinctTensorOf)
            .map((s) => [ct.tensor(Float64Array.from(s.values), { shape: s.shape, dtype: 'f64' })])
        : tensors();
      fc.assert(checkGrads(f, arbx), { numRuns: 15 });
    });
  }

  it('softmaxCrossEntropy w.r.t. the logits', () => {
    const rand = prng(3);
    const labels = ct.tensor([0, 2], { dtype: 'i32', backend: 'cpu' }); // beside f64 logits, on cpu
    const logits = randomLike({ shape: [2, 3], dtype: 'f64' }, rand);
    fc.assert(
      checkGrads((l) => ct.softmaxCrossEntropy(l, labels), [logits]),
      { numRuns: 5 },
    );
  });
});
