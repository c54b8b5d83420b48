/**
 * Fuzzing whole programs: random DAGs of primitives (broadcasting, fan-out,
 * reductions, matmuls, structural ops, nested grad/jvp/vjp) checked against
 * finite differences, the transpose law and evalGraph(makeGraph(f)); CPU f64
 * vs wasm f32 equivalence of each program and its gradient; and, when a
 * WebGPU adapter is present, CPU f64 vs WebGPU f32 the same way. `npm run
 * fuzz` runs the same with a larger budget (FC_SCALE).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { acquireGpuKeepCpuDefault } from '../webgpu/gpu.js';
import { programBackendProperty, programProperty } from '../../laws/fuzz.js';
import { runs } from '../laws/budget.js';

let checked = 0;
let checkedOnWasm = 0;
let checkedOnGpu = 0;

describe('random programs on the CPU (f64)', () => {
  it('satisfy finite differences, the transpose law and the graph round trip', () => {
    fc.assert(
      programProperty({}, () => checked++),
      { numRuns: runs(250) },
    );
    expect(checked).toBe(runs(250));
  });

  it('the fuzzer finds a planted bug (a custom JVP rule off by 1% in the argument)', () => {
    const badSin = ct.customJvp(
      (x) => ct.sin(x),
      ([x], [t]) => ct.mul(t!, ct.cos(ct.mul(x!, 1.01))),
    );
    const r = fc.check(programProperty({ unaryOps: { badSin } }), { numRuns: 300 });
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/badSin/);
  });
});

describe('random programs on wasm (f32) vs the CPU (f64)', () => {
  beforeAll(async () => {
    await ct.init({ backend: 'wasm' }); // instantiates the backend; the inputs are placed on it explicitly
    await ct.init({ backend: 'cpu' });
  });

  it('agree with the CPU, value and gradient', async () => {
    await fc.assert(
      programBackendProperty({ candidate: { backend: 'wasm', dtype: 'f32' } }, () => checkedOnWasm++),
      { numRuns: runs(200) },
    );
    expect(checkedOnWasm).toBe(runs(200));
    expect(ct.getBackend()).toBe('cpu');
  });

  it('the equivalence check catches a wasm-only bug (a kernel off by 1e-3 on wasm)', async () => {
    // sin computed on wasm as sin(x)·(1 + 1e-3): far outside f32 tolerance, invisible on the CPU
    const skewedSin = (x: ct.Tensor) => (x.backendName === 'wasm' ? ct.mul(ct.sin(x), 1.001) : ct.sin(x));
    const r = await fc.check(
      programBackendProperty({ maxNodes: 4, candidate: { backend: 'wasm', dtype: 'f32' }, unaryOps: { skewedSin } }),
      { numRuns: 200 },
    );
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/skewedSin/);
  });
});

describe('random programs on WebGPU (f32) vs the CPU (f64)', () => {
  let gpu = false;
  beforeAll(async () => {
    gpu = await acquireGpuKeepCpuDefault();
  });
  afterAll(async () => {
    if (gpu) await ct.shutdown();
    console.log(
      `[fuzz] random programs checked: ${checked} on the CPU (laws), ${checkedOnWasm} on wasm vs CPU and ${checkedOnGpu} on ` +
        'WebGPU vs CPU (backend equivalence)',
    );
  });

  it('agree with the CPU, value and gradient (skipped loudly without an adapter)', async (ctx) => {
    if (!gpu) {
      console.warn(`[fuzz] SKIPPED backend equivalence of random programs: no WebGPU adapter (see the message above)`);
      ctx.skip();
      return;
    }
    await fc.assert(
      programBackendProperty({ maxNodes: 6 }, () => checkedOnGpu++),
      { numRuns: runs(30) },
    );
    expect(checkedOnGpu).toBe(runs(30));
  });
});
