/**
 * The WGSL special functions (erf_f, erfc_f, log1p_f, expm1_f, softplus_f, logaddexp_f of
 * src/ops/special.ts) on the software GPU against the cpu backend's f64 kernels on the same f32
 * inputs, over wide sweeps with their tails: relative error about 1e-6 (f32 grade) where the result is
 * a normal f32, plus the exact special values. Also fused (jit) with each other. The measured maxima are printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { acquireGpu, onCpu } from './gpu.js';

const ok = await acquireGpu();

/** Deterministic f32 sweep over [lo, hi]. */
function sweep32(lo: number, hi: number, n: number): number[] {
  let s = 777;
  return Array.from({ length: n }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(lo + ((hi - lo) * (i + s / 2 ** 32)) / n);
  });
}

/** Relative error bound of the WGSL functions where the result is a normal f32 (the target: about 1e-6). */
const RTOL = 1e-6;
/** Below the smallest normal f32 the GPU may flush to zero. */
const ATOL = 2e-38;

const measured: string[] = [];

async function compare(name: string, run: (xs: ct.Tensor[]) => ct.Tensor, inputs: number[][]): Promise<void> {
  const gpu = Array.from(await run(inputs.map((v) => ct.tensor(v, { backend: 'webgpu' }))).data());
  const cpu = await onCpu(() => Array.from(run(inputs.map((v) => ct.tensor(v, { dtype: 'f64', backend: 'cpu' }))).dataSync()));
  let worst = 0;
  let at = '';
  cpu.forEach((want, i) => {
    const got = gpu[i]!;
    const err = Math.abs(got - want);
    const rel = err <= ATOL ? 0 : err / Math.abs(want);
    if (rel > worst) {
      worst = rel;
      at = inputs.map((v) => v[i]).join(', ');
    }
  });
  measured.push(`${name.padEnd(10)} ${cpu.length} points  max rel ${worst.toExponential(2)} at (${at})`);
  expect(worst, `${name} at (${at})`).toBeLessThanOrEqual(RTOL);
}

describe.skipIf(!ok)('WGSL special functions = the f64 kernels, to f32 accuracy', () => {
  afterAll(() => {
    console.log(`WebGPU f32 against cpu f64:\n${measured.join('\n')}`);
    ct.shutdown();
  });

  it('erf over [-5, 5], erfc over [-5, 9] (its tail), log1p over (-1, 1e30], expm1 over [-20, 80], softplus over [-80, 80]', async () => {
    await compare('erf', ([x]) => ct.erf(x!), [[...sweep32(-5, 5, 2000), 1e-30, -1e-6, 0.5, -0.5]]);
    await compare('erfc', ([x]) => ct.erfc(x!), [[...sweep32(-5, 9, 2000), 1e-30, 0.5, -0.5]]);
    await compare('log1p', ([x]) => ct.log1p(x!), [[...sweep32(-0.9999, 3, 1500), ...sweep32(3, 1e30, 300), 1e-30, -1e-7]]);
    await compare('expm1', ([x]) => ct.expm1(x!), [[...sweep32(-20, 80, 2000), 1e-30, -1e-7, 0.5, -0.5]]);
    await compare('softplus', ([x]) => ct.softplus(x!), [[...sweep32(-80, 80, 2000), 0]]);
  });

  it('logaddexp over pairs in [-60, 60]', async () => {
    await compare('logaddexp', ([a, b]) => ct.logaddexp(a!, b!), [sweep32(-60, 60, 2000), sweep32(-60, 60, 2000).reverse()]);
  });

  it('special values: signs of zero, infinities, NaN, ties', async () => {
    const u = async (op: (x: ct.Tensor) => ct.Tensor, xs: number[]) => Array.from(await op(ct.tensor(xs, { backend: 'webgpu' })).data());
    expect(await u(ct.erf, [0, Infinity, -Infinity, Number.NaN, 30])).toEqual([0, 1, -1, Number.NaN, 1]);
    expect(await u(ct.erfc, [0, Infinity, -Infinity, Number.NaN, 30, -30])).toEqual([1, 0, 2, Number.NaN, 0, 2]);
    expect(await u(ct.log1p, [0, -1, -2, Infinity, Number.NaN])).toEqual([0, -Infinity, Number.NaN, Infinity, Number.NaN]);
    // the largest f32 whose e^x rounds to a finite f32 is just below 88.72283935546875
    expect(await u(ct.expm1, [0, -Infinity, Number.NaN, 200, 88.72283935546875])).toEqual([0, -1, Number.NaN, Infinity, Infinity]);
    const below = await u(ct.expm1, [88.72283172607422]);
    expect(Math.abs(below[0]! / Math.expm1(88.72283172607422) - 1)).toBeLessThan(1e-6);
    expect(await u(ct.softplus, [Infinity, -Infinity, Number.NaN, 200, -200])).toEqual([Infinity, 0, Number.NaN, 200, 0]);
    const l = await ct
      .logaddexp(
        ct.tensor([-Infinity, Infinity, Infinity, Number.NaN, 2], { backend: 'webgpu' }),
        ct.tensor([-Infinity, Infinity, -Infinity, 1, 2], { backend: 'webgpu' }),
      )
      .data();
    expect(Array.from(l)).toEqual([-Infinity, Infinity, Infinity, Number.NaN, Math.fround(2 + Math.LN2)]);
  });

  it("derivative conventions on WebGPU: softplus'(0) = 1/2, logaddexp's 1/2 at ties and infinities", async () => {
    const g = (v: number[]) => ct.tensor(v, { backend: 'webgpu' });
    expect(
      Array.from(
        await ct
          .grad((x: ct.Tensor) => ct.sum(ct.softplus(x)))(g([0, -0]))
          .data(),
      ),
    ).toEqual([0.5, 0.5]);
    const as = [1, -Infinity, Infinity, Infinity, -Infinity];
    const bs = [1, -Infinity, Infinity, 3, 3];
    const [ga, gb] = ct.grad((a: ct.Tensor, b: ct.Tensor) => ct.sum(ct.logaddexp(a, b)), { argnums: [0, 1] })(g(as), g(bs));
    expect(Array.from(await ga.data())).toEqual([0.5, 0.5, 0.5, 1, 0]);
    expect(Array.from(await gb.data())).toEqual([0.5, 0.5, 0.5, 0, 1]);
  });

  it('jit fuses the special functions (one shared WGSL prelude) and matches the cpu', async () => {
    const f = (x: ct.Tensor, y: ct.Tensor) =>
      // a sum of non-negative terms (no cancellation: its relative error is at most the terms')
      ct.add(
        ct.add(ct.mul(ct.erfc(x), ct.softplus(y)), ct.square(ct.logaddexp(x, y))),
        ct.add(ct.mul(ct.expm1(ct.abs(y)), ct.log1p(ct.abs(x))), ct.erf(ct.abs(x))),
      );
    const jf = ct.jit(f);
    await compare('fused', ([x, y]) => jf(x!, y!), [sweep32(-3, 3, 500), sweep32(-2, 4, 500).reverse()]);
    expect(jf.lower(ct.tensor(sweep32(-3, 3, 5), { backend: 'webgpu' }), ct.tensor(sweep32(-2, 4, 5), { backend: 'webgpu' }))).toMatch(
      /\(1 fused kernels?\)/,
    );
  });
});
