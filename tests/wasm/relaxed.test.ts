/**
 * Law: both embedded kernel modules (src/backends/wasm/kernelsBinary.ts: the plain build, whose
 * matmul multiplies then adds, and the relaxed-SIMD build, whose micro-kernel uses
 * f32x4.relaxed_madd) compute f32 matmul within the Higham bound of the naive reference
 * (tests/kernels/reference.ts): |got − Σ a·b| ≤ γ_{k+1} Σ |a|·|b|, γ_j = j·u / (1 − j·u),
 * u = 2⁻²⁴, whether or not the multiply-add is fused (a fused one rounds once where the other
 * rounds twice). The backend uses the relaxed module wherever the engine accepts it (Node 20:
 * after turning on --experimental-wasm-relaxed-simd), and `relaxed: false` or
 * COTANGENT_WASM_RELAXED=0 forces the plain one; backendInfo says which.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from '../../src/backends/wasm/kernelsBinary.js';
import { relaxedSimdSupported, WasmBackend } from '../../src/backends/wasm/WasmBackend.js';
import * as ref from '../kernels/reference.js';
import { mulberry32 as rng } from '../../src/core/seededRandom.js';

interface Exports {
  heap_base(): number;
  matmul_f32(...args: number[]): void;
  matmul_f32_jobs(batch: number, m: number, k: number, n: number): number;
  matmul_f32_scratch_bytes(m: number, k: number, n: number): number;
}

/** Instantiates an embedded module on a fresh shared memory (the backend's import). */
function instantiate(base64: string): { memory: WebAssembly.Memory; wasm: Exports } {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  const module = new WebAssembly.Module(new Uint8Array(Buffer.from(base64, 'base64')));
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { memory, wasm: instance.exports as unknown as Exports };
}

const values = (count: number, seed: number): number[] => {
  const r = rng(seed);
  return Array.from({ length: count }, () => Math.fround(2 * r() - 1));
};

/** out = a (m×k) · b (k×n) by the module's matmul_f32 over all its jobs. */
function wasmMatmul(
  { memory, wasm }: ReturnType<typeof instantiate>,
  a: number[],
  b: number[],
  m: number,
  k: number,
  n: number,
): Float32Array {
  const align = (p: number) => (p + 15) & ~15;
  const pa = align(wasm.heap_base());
  const pb = align(pa + 4 * a.length);
  const pout = align(pb + 4 * b.length);
  const scratch = align(pout + 4 * m * n);
  const top = scratch + wasm.matmul_f32_scratch_bytes(m, k, n);
  const pages = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  new Float32Array(memory.buffer, pa, a.length).set(a);
  new Float32Array(memory.buffer, pb, b.length).set(b);
  wasm.matmul_f32(pa, pb, pout, 1, m, k, n, m * k, k * n, scratch, 0, wasm.matmul_f32_jobs(1, m, k, n));
  return new Float32Array(memory.buffer, pout, m * n).slice();
}

const gamma = (j: number) => (j * 2 ** -24) / (1 - j * 2 ** -24);

describe('the relaxed-SIMD kernel module', () => {
  const saved = process.env['COTANGENT_WASM_RELAXED'];
  afterEach(() => {
    if (saved === undefined) delete process.env['COTANGENT_WASM_RELAXED'];
    else process.env['COTANGENT_WASM_RELAXED'] = saved;
  });

  it('is accepted in Node (the V8 flag turned on where it is off by default), and differs from the plain module', () => {
    expect(relaxedSimdSupported()).toBe(true);
    expect(KERNELS_RELAXED_WASM_BASE64).not.toBe(KERNELS_WASM_BASE64);
  });

  it(
    'both modules: f32 matmul = the naive reference within γ_{k+1} Σ|a||b| (sizes across the 4×8 tile, the 64-row jobs and the ' +
      '256-long k slices)',
    () => {
      expect(relaxedSimdSupported()).toBe(true);
      const modules = { plain: instantiate(KERNELS_WASM_BASE64), relaxed: instantiate(KERNELS_RELAXED_WASM_BASE64) };
      const size = fc.constantFrom(1, 3, 4, 5, 8, 9, 17, 33, 65, 129);
      fc.assert(
        fc.property(size, fc.constantFrom(0, 1, 7, 64, 257, 300), size, fc.integer({ min: 1, max: 2 ** 30 }), (m, k, n, seed) => {
          const a = values(m * k, seed);
          const b = values(k * n, seed + 1);
          const want = ref.matmul({ shape: [m, k], data: a }, { shape: [k, n], data: b });
          const absProd = ref.matmul({ shape: [m, k], data: a.map(Math.abs) }, { shape: [k, n], data: b.map(Math.abs) });
          for (const [name, mod] of Object.entries(modules)) {
            const got = wasmMatmul(mod, a, b, m, k, n);
            for (let i = 0; i < m * n; i++) {
              const err = Math.abs(got[i]! - (want.data[i] as number));
              const tol = gamma(k + 1) * (absProd.data[i] as number);
              if (!(err <= tol))
                throw new Error(`${name} m ${m} k ${k} n ${n} seed ${seed} [${i}]: ${got[i]} vs ${want.data[i]} (tol ${tol})`);
            }
          }
          return true;
        }),
        { numRuns: 40 },
      );
    },
  );

  it(
    'is the backend default, and relaxed: false or COTANGENT_WASM_RELAXED=0 forces the plain module ' + '(backendInfo says which)',
    async () => {
      const on = WasmBackend.createSync({ threads: 1 });
      const off = WasmBackend.createSync({ threads: 1, relaxed: false });
      process.env['COTANGENT_WASM_RELAXED'] = '0';
      const offByEnv = await WasmBackend.create({ threads: 1 });
      const onAnyway = await WasmBackend.create({ threads: 1, relaxed: true });
      try {
        expect([on.relaxed, off.relaxed, offByEnv.relaxed, onAnyway.relaxed]).toEqual([true, false, false, true]);
        expect(on.describe()).toContain('f32x4 + relaxed FMA;');
        expect(off.describe()).toContain('(f32x4;');
        expect(offByEnv.describe()).toContain('(f32x4;');
        expect(onAnyway.describe()).toContain('f32x4 + relaxed FMA;');
      } finally {
        for (const b of [on, off, offByEnv, onAnyway]) b.destroy();
      }
    },
  );
});
