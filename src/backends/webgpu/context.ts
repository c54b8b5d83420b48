/**
 * What a WebGPU kernel sees: buffer allocation (pooled), zero-copy sharing,
 * the pipeline cache and command recording. Kernels enqueue work and return
 * the output buffer at once; nothing here waits for the GPU.
 */
import type { Storage } from '../Backend.js';
import type { DType } from '../../tensor/dtype.js';
import { MAX_GROUPS_PER_DIM, WORKGROUP } from './gpuConstants.js';

/** A GPU buffer shared by the storages that view it (reshape shares without copying). */
export interface SharedBuffer {
  readonly buffer: GPUBuffer;
  refs: number;
}

/** WebGPU storage handed to tensors. */
export interface GpuStorage extends Storage {
  readonly backend: 'webgpu';
  readonly buf: SharedBuffer;
}

export interface KernelContext {
  /** The kind of adapter the device runs on: kernels may pick variants tuned for it (matmul on llvmpipe). */
  readonly adapterKind: 'hardware' | 'llvmpipe' | 'swiftshader';
  /** A fresh output buffer of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): SharedBuffer;
  /** The same buffer again, for a zero-copy view (reshape, stopGradient). */
  share(s: Storage): SharedBuffer;
  bufferOf(s: Storage): GPUBuffer;
  /** Storage buffers one kernel may bind (inputs and outputs together; the device's limit). */
  readonly maxStorageBuffers: number;
  /** A cached pipeline with `inputs` inputs and `outputs` outputs (default 1); `source` is only called when `key` is new. */
  pipeline(key: string, source: () => string, entryPoint: string, inputs: number, label: string, outputs?: number): GPUComputePipeline;
  /** Record one dispatch; `output` is a list for kernels with several outputs (bound in order after the inputs). */
  dispatch(
    pipeline: GPUComputePipeline,
    inputs: readonly GPUBuffer[],
    output: GPUBuffer | readonly GPUBuffer[],
    meta: readonly number[],
    groups: readonly [number, number, number],
  ): void;
  /** Zero the first `bytes` bytes of `buffer`. */
  clear(buffer: GPUBuffer, bytes: number): void;
}

export function wgslType(op: string, dtype: DType): 'f32' | 'i32' {
  if (dtype === 'f32' || dtype === 'i32') return dtype;
  throw new Error(`${op}: dtype ${dtype} is not supported on WebGPU (f64 is CPU-only)`);
}

/** Workgroup grid for `groups` workgroups, folded into 2-D past the per-dimension limit. */
export function grid(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS_PER_DIM) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS_PER_DIM);
  if (y > MAX_GROUPS_PER_DIM) throw new Error(`webgpu: ${groups} workgroups exceed one dispatch`);
  const x = Math.ceil(groups / y);
  return [x, y, 1];
}

/** Grid for one thread per element. */
export const threadsGrid = (n: number): [number, number, number] => grid(Math.ceil(n / WORKGROUP));
