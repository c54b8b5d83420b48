/**
 * The matmul kernel of the wasm backend (src/backends/wasm/assembly/matmul.ts)
 * compiled alone with the backend's asc flags, on a fresh shared memory, with
 * its exports typed: for the kernel's test (tests/wasm/matmul.test.ts) and its
 * micro-benchmark (bench/wasm-matmul.ts).
 */
import { compileAssemblyScriptBytes } from '../../scripts/build-wasm.mjs';

/** One matmul entry: jobs [jobStart, jobEnd) of out[t] = A[t]·B[t] (see matmul.ts). */
export type MatmulKernel = (
  a: number,
  b: number,
  out: number,
  batch: number,
  m: number,
  k: number,
  n: number,
  aBatchStride: number,
  bBatchStride: number,
  scratch: number,
  jobStart: number,
  jobEnd: number,
) => void;

/** The exports of matmul.ts. */
export interface MatmulExports {
  matmul_f32: MatmulKernel;
  matmul_i32: MatmulKernel;
  matmul_f32_jobs(batch: number, m: number, k: number, n: number): number;
  matmul_f32_scratch_bytes(m: number, k: number, n: number): number;
}

/** Compiles matmul.ts and instantiates it on a new shared memory (1 MiB, growable to 4 GiB). */
export async function instantiateMatmulKernel(): Promise<{ exports: MatmulExports; memory: WebAssembly.Memory }> {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  const { instance } = await WebAssembly.instantiate(compileAssemblyScriptBytes('src/backends/wasm/assembly/matmul.ts'), {
    env: { memory },
  });
  return { exports: instance.exports as unknown as MatmulExports, memory };
}
