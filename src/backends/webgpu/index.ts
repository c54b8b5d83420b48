/**
 * The WebGPU backend's public surface: creating and destroying the backend,
 * the user kernel format, and stats.
 */
export { WebGpuBackend, type WebGpuStats } from './WebGpuBackend.js';
export { acquireDevice, type WebGpuOptions, type AdapterChoice } from './device.js';
export type { WgslKernel, WgslCallInfo } from './userKernel.js';
