/**
 * The backend registry: which backends exist, which one new tensors go to.
 * `init({ backend })` selects; nothing silently falls back.
 */
import type { Backend, BackendName } from './Backend.js';
import { cpuBackend } from './cpu/CpuBackend.js';

const backends = new Map<BackendName, Backend>([['cpu', cpuBackend]]);
let current: Backend = cpuBackend;

export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}

export function getBackendByName(name: BackendName): Backend {
  const b = backends.get(name);
  if (!b) throw new Error(`backend '${name}' is not initialised: call await init({ backend: '${name}' }) first`);
  return b;
}

export function hasBackend(name: BackendName): boolean {
  return backends.has(name);
}

export function setDefaultBackend(name: BackendName): void {
  current = getBackendByName(name);
}

export function defaultBackend(): Backend {
  return current;
}

export function allBackends(): Backend[] {
  return [...backends.values()];
}
