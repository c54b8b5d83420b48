/**
 * memoryStats(): live concrete tensors and bytes (per backend), plus the
 * buffers each backend holds (WebGPU includes its pool).
 */
import { allBackends } from '../backends/registry.js';
import { tensorStats, type MemoryStats } from './memory.js';

export function memoryStats(): MemoryStats {
  return {
    ...tensorStats(),
    backendBuffers: Object.fromEntries(allBackends().map((b) => [b.name, b.stats()])),
  };
}
