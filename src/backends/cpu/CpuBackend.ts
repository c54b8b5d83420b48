/**
 * The CPU backend: the reference oracle. Data lives in typed arrays (f32, f64,
 * i32); every kernel is the primitive record's own CPU function.
 */
import type { Backend, KernelCall, Storage } from '../Backend.js';
import type { FusedBackend, FusedKernel } from '../fused.js';
import { fusedCpuSource, runFusedCpu } from './fused.js';
import { bytesPerElement, type DType, type TypedArray } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';

/** A CPU buffer: a typed array. */
export interface CpuStorage extends Storage {
  readonly backend: 'cpu';
  readonly data: TypedArray;
}

let liveBuffers = 0;
let liveBytes = 0;

const make = (data: TypedArray): CpuStorage => {
  liveBuffers++;
  liveBytes += data.byteLength;
  return { backend: 'cpu', bytes: data.byteLength, data };
};

/**
 * The CPU backend: the reference oracle (f32, f64 and i32), running each primitive's CPU kernel on typed arrays,
 * and fused elementwise kernels (with fused sum and max reductions, or fused into a matmul as its epilogue) as generated
 * JavaScript loops (cpu/fused.ts).
 */
export const cpuBackend: Backend & FusedBackend = {
  name: 'cpu',
  supports: (_dtype: DType) => true,
  upload: (data: TypedArray) => make(data),
  read: async (s: Storage) => (s as CpuStorage).data.slice(),
  readSync: (s: Storage) => (s as CpuStorage).data.slice(),
  run(call: KernelCall): Storage {
    const inputs = call.inputs.map((i) => ({ shape: i.shape, dtype: i.dtype, data: (i.storage as CpuStorage).data }));
    const out = call.cpu(inputs, call.params, call.out);
    if (out.length !== sizeOf(call.out.shape) || out.BYTES_PER_ELEMENT !== bytesPerElement(call.out.dtype)) {
      throw new Error(
        `${call.name}: CPU kernel returned ${out.length} elements of ${out.BYTES_PER_ELEMENT} bytes for ` +
          `${call.out.dtype}[${call.out.shape.join(',')}]`,
      );
    }
    return make(out);
  },
  runFused(kernel: FusedKernel, inputs: readonly Storage[]): Storage[] {
    const data = inputs.map((s, j) => {
      if (s.backend !== 'cpu') throw new Error(`fused kernel: input ${j} is a ${s.backend} buffer, not a cpu one`);
      return (s as CpuStorage).data;
    });
    return runFusedCpu(kernel, data).map(make);
  },
  fusedSource: (kernel: FusedKernel) => fusedCpuSource(kernel),
  fusesReductions: true,
  fusesMatmul: true,
  free(s: Storage): void {
    liveBuffers--;
    liveBytes -= s.bytes;
  },
  stats: () => ({ buffers: liveBuffers, bytes: liveBytes }),
  describe: () => 'CPU (typed arrays, reference oracle)',
};
