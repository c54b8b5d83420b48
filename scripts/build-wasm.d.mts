/** Types for scripts/build-wasm.mjs. */
export const ENTRY: string;
export const ASC_FLAGS: readonly string[];
export const ASC_RELAXED_FLAGS: readonly string[];
/** `relaxed: true`: compile with relaxed SIMD besides (ASC_RELAXED_FLAGS). */
export interface CompileOptions {
  readonly relaxed?: boolean;
}
/** The two builds of the kernels: SIMD, and SIMD with relaxed SIMD. */
export interface KernelBuilds {
  readonly plain: Uint8Array;
  readonly relaxed: Uint8Array;
}
export function compileAssemblyScript(entry: string, outFile: string, options?: CompileOptions): Uint8Array<ArrayBuffer>;
export function compileAssemblyScriptBytes(entry: string, options?: CompileOptions): Uint8Array<ArrayBuffer>;
export function compileKernels(outFile: string, options?: CompileOptions): Uint8Array;
export function renderKernelsModule(builds: KernelBuilds): string;
export function buildKernels(): KernelBuilds;
