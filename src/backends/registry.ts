/**
 * The backend registry: which backends exist, which one new tensors go to.
 * `init({ backend })` selects; nothing silently falls back.
 */
import type { Backend, BackendName } from './Backend.js';
import { cpuBackend } from './cpu/CpuBackend.js';

const backends = new Map<BackendName, Backend>([['cpu', cpuBackend]]);
let current: Backend = cpuBackend;

/** Register a backend under its name (replacing one of the same name). */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}

/** Remove a backend (after its shutdown; the cpu backend stays). */
export function unregisterBackend(name: BackendName): void {
  if (name === 'cpu') return;
  if (current.name === name) current = cpuBackend;
  backends.delete(name);
}

/** The registered backend of that name; an error saying how to initialise it when there is none. */
export function getBackendByName(name: BackendName): Backend {
  const b = backends.get(name);
  if (!b) throw new Error(`backend '${name}' is not initialised: call await init({ backend: '${name}' }) first`);
  return b;
}

/** Whether a backend of that name is registered. */
export function hasBackend(name: BackendName): boolean {
  return backends.has(name);
}

/** Make a registered backend the default for new tensors. */
export function setDefaultBackend(name: BackendName): void {
  current = getBackendByName(name);
}

/** The backend new tensors go to (the CPU backend until `init` says otherwise). */
export function defaultBackend(): Backend {
  return current;
}

/** Every registered backend. */
export function allBackends(): Backend[] {
  return [...backends.values()];
}
