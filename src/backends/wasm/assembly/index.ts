// The wasm backend's module: every kernel export (compiled by scripts/build-wasm.mjs into
// src/backends/wasm/kernelsBinary.ts). Kernels read and write linear memory at addresses the host
// allocates above heap_base(); they never allocate.

export {
  matmul_f32,
  matmul_f32_fused,
  matmul_f32_jobs,
  matmul_f32_scratch_bytes,
  matmul_i32,
  matmul_i32_fused,
  matmul_i32_jobs,
} from './matmul';
export {
  map_exp_f32,
  map_log_f32,
  map_sin_f32,
  map_cos_f32,
  map_tanh_f32,
  map_sigmoid_f32,
  map_pow_f32,
  map_pow_scalar_b_f32,
} from './math';
export * from './elementwise';
export { fused_32 } from './fused';
export * from './structural';
export { conv_f32, conv_input_grad_f32, conv_filter_grad_f32, conv_flip_f32 } from './conv';
export { index_first_bad, index_at, take_32, scatter_add_f32, scatter_add_i32 } from './indexing';
export { cumsum_f32, cumsum_i32, argsort_f32, argsort_i32 } from './order';

/** The first address past the module's static data: the host's allocator starts here. */
export function heap_base(): usize {
  return __heap_base;
}
