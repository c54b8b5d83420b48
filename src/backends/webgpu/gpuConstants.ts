/**
 * Numeric WebGPU flag constants (GPUBufferUsage, GPUMapMode), spelled out so
 * the backend does not depend on the globals a WebGPU implementation may or
 * may not install (Dawn in Node does not by default).
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

export const MapModeRead = 0x0001;

/** Threads per workgroup of the 1-D kernel families (map, reduce, argmax). */
export const WORKGROUP = 256;
/** Largest workgroup count in one dispatch dimension (WebGPU's default limit). */
export const MAX_GROUPS_PER_DIM = 65535;
/** Highest rank a kernel sees after collapsing dimensions. */
export const MAX_RANK = 8;
/** Bytes of one per-dispatch parameter slot (128 u32, `Meta` in shaders/common.wgsl). */
export const META_BYTES = 512;
