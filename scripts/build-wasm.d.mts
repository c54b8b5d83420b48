/** Types for scripts/build-wasm.mjs. */
export const ENTRY: string;
export const ASC_FLAGS: readonly string[];
export function compileAssemblyScript(entry: string, outFile: string): Uint8Array<ArrayBuffer>;
export function compileAssemblyScriptBytes(entry: string): Uint8Array<ArrayBuffer>;
export function compileKernels(outFile: string): Uint8Array;
export function renderKernelsModule(bytes: Uint8Array): string;
export function buildKernels(): Uint8Array;
