/**
 * Backend: where tensor data lives and kernels run. A backend allocates
 * (uploads), reads, runs one primitive application and frees. The CPU backend
 * is the reference oracle; the WebGPU backend runs WGSL kernels; the wasm
 * backend runs WebAssembly SIMD kernels on f32 and i32.
 */
import type { DType, TypedArray } from '../tensor/dtype.js';
import type { Aval } from '../tensor/Aval.js';

/** The backends a tensor can live on. */
export type BackendName = 'cpu' | 'webgpu' | 'wasm';

/** An opaque buffer handle owned by one backend. */
export interface Storage {
  readonly backend: BackendName;
  readonly bytes: number;
}

export type { Aval } from '../tensor/Aval.js';

/** An input of a kernel call: its shape, dtype and buffer. */
export interface KernelInput extends Aval {
  readonly storage: Storage;
}

/** Everything a backend needs to run one primitive application. */
export interface KernelCall<P = unknown> {
  /** The primitive's name (built-in or user-defined). */
  readonly name: string;
  readonly params: P;
  readonly inputs: readonly KernelInput[];
  readonly out: Aval;
  /**
   * CPU kernel from the primitive record (used by the CPU backend); a method, so calls with concrete parameters are usable where
   * any call is.
   */
  cpu(inputs: readonly CpuInput[], params: P, out: Aval): TypedArray;
  /** The built-in WebGPU kernel from the primitive record (a `WebGpuKernel`, see backends/webgpu/kernels.ts). */
  readonly webgpu?: unknown;
  /** The built-in wasm kernel from the primitive record (a `WasmKernel`, see backends/wasm/kernels.ts). */
  readonly wasm?: unknown;
  /** The WGSL kernel description of a user primitive (`definePrimitive`), compiled by the WebGPU backend. */
  readonly wgsl?: unknown;
}

/** A CPU kernel: typed arrays in, a fresh typed array (row-major, out.dtype) out. */
export type CpuKernel<P> = (inputs: readonly CpuInput[], params: P, out: Aval) => TypedArray;

/** An input of a CPU kernel: its shape, dtype and data (row-major). */
export interface CpuInput extends Aval {
  readonly data: TypedArray;
}

/** The buffers a backend holds and their bytes. */
export interface BackendStats {
  readonly buffers: number;
  readonly bytes: number;
}

/** A backend: allocates (uploads), reads, runs one primitive application and frees buffers. */
export interface Backend {
  readonly name: BackendName;
  /** Which dtypes this backend can hold. */
  supports(dtype: DType): boolean;
  upload(data: TypedArray, dtype: DType): Storage;
  read(storage: Storage, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read; throws on backends that cannot (WebGPU). */
  readSync(storage: Storage, dtype: DType, size: number): TypedArray;
  run<P>(call: KernelCall<P>): Storage;
  free(storage: Storage): void;
  stats(): BackendStats;
  /** A human description (adapter name on WebGPU). */
  describe(): string;
}
