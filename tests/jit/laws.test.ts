/**
 * The laws of jit (laws/jit.ts) on every built-in primitive and on the
 * fuzzer's random programs: jit(f) computes what f computes, and so do jvp,
 * vjp, grad (grad(jit f) and jit(grad f)) and hessian through it; a jitted
 * function traces once per signature.
 *
 * - cpu (f64 and f32): bit for bit (`exact`), since a fused kernel rounds
 *   every node to its dtype as the unfused op does, the cpu's fused reductions
 *   sum in the unfused kernel's order, and the graph passes are exact;
 *   wasm (f32): within the f32 tolerance (a backend's fused reductions may sum
 *   in another order). Every primitive on its own and followed by an
 *   elementwise chain (y + y·y, so elementwise primitives land in a fused
 *   kernel), and random programs (fusion groups, reductions, matmuls,
 *   structural ops, nested grad/jvp/vjp inside the jitted function).
 * - WebGPU (f32, when an adapter is present): a sample of primitives and
 *   programs, within the f32 tolerance, without Hessians (pipelines compile
 *   slowly on a software adapter).
 *
 * The primitives come from `ct.primNames` and their cases from the typed
 * domain table `builtinCases` (a new primitive without a case does not
 * compile).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import {
  bindCaseOn,
  caseFits,
  describeCase,
  jitCacheLaw,
  jitEquivalenceLaw,
  jitEquivalenceLawAsync,
  jitPrimitiveProperty,
  jitProgramProperty,
  LawViolation,
  program,
  programOn,
  programToString,
  specOn,
  type JitSide,
  type PrimCase,
  type TensorFn,
} from '../../laws/index.js';
import { builtinCases } from '../../laws/domains.js';
import { acquireGpu } from '../webgpu/gpu.js';

/** The primitive followed by an elementwise chain: an elementwise primitive is fused with it. */
const chained =
  (f: TensorFn): TensorFn =>
  (...xs) => {
    const y = f(...xs);
    return ct.add(y, ct.mul(y, y));
  };

/** The primitive with its parameters as a static argument, all inputs as arguments (for the cache law). */
const applyPrim =
  (prim: ct.Primitive) =>
  (params: unknown, ...xs: ct.Tensor[]): ct.Tensor =>
    ct.bind(prim, xs, params);

const PRIM_RUNS = 4;
const PROGRAM_RUNS = 30;
const CACHE_RUNS = 2;

const sides: readonly JitSide[] = [
  { backend: 'cpu', dtype: 'f64' },
  { backend: 'cpu', dtype: 'f32' },
  { backend: 'wasm', dtype: 'f32' },
];
/** Bit for bit where the backend promises it (see above). */
const exactOn = (side: JitSide): boolean => side.backend === 'cpu';

let primitiveCases = 0;
let programs = 0;

for (const side of sides) {
  describe(`jit laws on ${side.backend}/${side.dtype}`, () => {
    beforeAll(async () => {
      await ct.init({ backend: side.backend }); // the default backend is the one the tensors live on
    });

    for (const name of ct.primNames) {
      const prim = ct.primitives[name];
      it(`${name}: jit ≡ eager in value, jvp, vjp, grad, jit(grad), hessian; alone and fused into a chain`, () => {
        fc.assert(
          jitPrimitiveProperty(prim, builtinCases[name], side, { exact: exactOn(side) }).afterEach(() => primitiveCases++),
          { numRuns: PRIM_RUNS },
        );
        fc.assert(
          fc.property(
            builtinCases[name].filter((c) => caseFits(c, side)),
            fc.integer(),
            (c, seed) =>
              ct.scope(() => {
                const b = bindCaseOn(prim, c, side);
                const r = jitEquivalenceLaw(chained(b.f), b.args, { exact: exactOn(side), seed });
                if (!r.ok)
                  throw new LawViolation(r, `jit of ${name} followed by y + y·y on ${side.backend}/${side.dtype}`, describeCase(c));
                return true;
              }),
          ),
          { numRuns: PRIM_RUNS },
        );
      });

      it(`${name}: one trace per signature (parameters static)`, () => {
        fc.assert(
          fc.property(
            builtinCases[name].filter((c) => caseFits(c, side)),
            builtinCases[name].filter((c) => caseFits(c, side)),
            (c1, c2) =>
              ct.scope(() => {
                const on = (c: PrimCase, reverse = false) => [
                  c.params,
                  ...c.inputs.map((s) => specOn(reverse ? { ...s, values: [...s.values].reverse() } : s, side)),
                ];
                const calls = [on(c1), on(c1, true), on(c2), on(c1), on(c2, true)];
                const r = jitCacheLaw(applyPrim(prim), calls, { jit: { staticArgnums: 0 } });
                if (!r.ok) throw new LawViolation(r, `jit of ${name}`, `${describeCase(c1)} | ${describeCase(c2)}`);
                return true;
              }),
          ),
          { numRuns: CACHE_RUNS },
        );
      });
    }

    it('random programs: jit ≡ eager in value and every derivative', () => {
      fc.assert(
        jitProgramProperty(side, program(), { exact: exactOn(side) }, () => programs++),
        { numRuns: PROGRAM_RUNS },
      );
    });
  });
}

describe('the cache law counts traces', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'cpu' });
  });

  it('numbers are static leaves, records and arrays are structure', () => {
    const f = (a: { x: ct.Tensor; k: number }, b: ct.Tensor[]) => ct.mul(ct.add(a.x, b[0]!), a.k);
    const x = (n: number) =>
      ct.tensor(
        Float64Array.from({ length: n }, (_, i) => i / 3),
        { backend: 'cpu' },
      );
    const r = ct.scope(() =>
      jitCacheLaw(f, [
        [{ x: x(3), k: 2 }, [x(3)]],
        [{ k: 2, x: x(3) }, [x(3)]], // same record (keys in another order)
        [{ x: x(3), k: 3 }, [x(3)]], // a new static number
        [{ x: x(4), k: 2 }, [x(4)]], // a new shape
        [{ x: x(3), k: 2 }, [x(3), x(3)]], // a new structure
        [{ x: x(3), k: 3 }, [x(3)]],
      ]),
    );
    expect(r).toEqual({ ok: true, law: 'jit traces once per signature' });
  });

  it('fails for a function that reads mutable state (frozen into the program at its trace)', () => {
    let k = 1;
    const f = (x: ct.Tensor) => ct.mul(x, k++);
    const x = ct.tensor([1, 2], { backend: 'cpu' });
    const r = ct.scope(() => jitCacheLaw(f, [[x], [x]]));
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.message).toMatch(/values differ/);
  });
});

describe('jit laws on WebGPU (f32)', () => {
  let gpu = false;
  const side: JitSide = { backend: 'webgpu', dtype: 'f32' };
  beforeAll(async () => {
    gpu = await acquireGpu(); // WebGPU becomes the default backend
  });
  afterAll(async () => {
    if (gpu) await ct.shutdown();
    console.log(
      `[jit laws] checked ${primitiveCases} primitive cases and ${programs} random programs on cpu/f64, cpu/f32 (bit for bit) and ` +
        `wasm/f32, ${gpuChecked} cases on WebGPU`,
    );
  });
  let gpuChecked = 0;

  const sample: readonly ct.PrimName[] = ['exp', 'mul', 'where', 'sum', 'matmul', 'transpose'];
  const title = `a sample of primitives (${sample.join(', ')}) fused into a chain, and random programs (skipped loudly without an adapter)`;
  it(title, async (ctx) => {
    if (!gpu) {
      console.warn('[jit laws] SKIPPED the WebGPU part: no WebGPU adapter (see the message above)');
      ctx.skip();
      return;
    }
    for (const name of sample) {
      await fc.assert(
        fc.asyncProperty(builtinCases[name], fc.integer(), async (c, seed) => {
          const { f, args, inputs } = ct.scope(() => bindCaseOn(ct.primitives[name], c, side));
          const r = await jitEquivalenceLawAsync(chained(f), args, { seed, hessianLimit: 0 });
          for (const t of inputs) t.dispose();
          if (!r.ok) throw new LawViolation(r, `jit of ${name} followed by y + y·y on webgpu/f32`, describeCase(c));
          gpuChecked++;
          return true;
        }),
        { numRuns: 2 },
      );
    }
    await fc.assert(
      fc.asyncProperty(program({ maxNodes: 5, nestings: ['none', 'grad'] }), async (spec) => {
        const p = programOn(spec, side);
        const r = await jitEquivalenceLawAsync(p.f, p.args, { seed: spec.seed, hessianLimit: 0 });
        if (!r.ok) throw new LawViolation(r, 'jit of a random program on webgpu/f32', programToString(spec));
        gpuChecked++;
        return true;
      }),
      { numRuns: 4 },
    );
  });
});
