/**
 * memoryStats(): live concrete tensors and bytes (per backend), plus the
 * buffers each backend holds (WebGPU includes its pool).
 */
import { allBackends } from '../backends/registry.js';
import { tensorStats, type MemoryStats } from './memory.js';

/** Live concrete tensors and bytes (per backend) and the buffers each backend holds (WebGPU counts its pool). */
export function memoryStats(): MemoryStats {
  return {
    ...tensorStats(),
    backendBuffers: Object.fromEntries(allBackends().map((b) => [b.name, b.stats()])),
  };
}
