/**
 * Backend selection: `await init({ backend: 'cpu' | 'webgpu' })` makes that
 * backend the default for new tensors; `getBackend()` names it. Nothing ever
 * falls back silently: a missing WebGPU adapter is an error that says why.
 */
import type { BackendName } from './Backend.js';
import { defaultBackend, setDefaultBackend } from './registry.js';

export interface InitOptions {
  backend?: BackendName;
}

export async function init(opts: InitOptions = {}): Promise<BackendName> {
  const name = opts.backend ?? 'cpu';
  if (name === 'cpu') {
    setDefaultBackend('cpu');
    return name;
  }
  if (name === 'webgpu') {
    throw new Error("init: the 'webgpu' backend is not available in this build");
  }
  throw new Error(`init: unknown backend '${String(name)}' (expected 'cpu' or 'webgpu')`);
}

export function getBackend(): BackendName {
  return defaultBackend().name;
}
