/**
 * The backend registry: which backends exist, which one new tensors go to.
 * `init({ backend })` selects; nothing silently falls back.
 *
 * Until `init` names one, the default is the platform's: in Node (where
 * WebAssembly SIMD is available and a module may be compiled synchronously)
 * the wasm backend, created on the first use of the default (importing the
 * library starts nothing: no memory, no worker before the first tensor);
 * elsewhere (browsers) `cpu` until `await init()`.
 */
import type { Backend, BackendName } from './Backend.js';
import { cpuBackend } from './cpu/CpuBackend.js';
import { syncCompileAllowed, WasmBackend, wasmSupported } from './wasm/WasmBackend.js';

const backends = new Map<BackendName, Backend>([['cpu', cpuBackend]]);
/** The default backend; null: the platform's, not chosen yet ({@link platformDefaultName}). */
let current: Backend | null = null;

let platformName: BackendName | undefined;
/**
 * The backend new tensors go to until `init` names one: 'wasm' in Node with WebAssembly SIMD,
 * else 'cpu' (browsers: `await init()` picks wasm there).
 */
export function platformDefaultName(): BackendName {
  platformName ??= syncCompileAllowed() && wasmSupported() ? 'wasm' : 'cpu';
  return platformName;
}

/** Register a backend under its name (replacing one of the same name). */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}

/** Remove a backend (after its shutdown; the cpu backend stays). */
export function unregisterBackend(name: BackendName): void {
  if (name === 'cpu') return;
  if (current?.name === name) current = cpuBackend;
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

/**
 * The backend new tensors go to: the one `init` chose, else the platform's
 * ({@link platformDefaultName}), created here on first use (the wasm backend synchronously,
 * its workers starting in the background).
 */
export function defaultBackend(): Backend {
  if (current) return current;
  if (platformDefaultName() === 'wasm') {
    const live = backends.get('wasm');
    if (live) current = live;
    else {
      const b = WasmBackend.createSync();
      registerBackend(b);
      current = b;
    }
  } else current = cpuBackend;
  return current;
}

/** The name of the default backend, without creating it. */
export function defaultBackendName(): BackendName {
  return current?.name ?? platformDefaultName();
}

/** Every registered backend. */
export function allBackends(): Backend[] {
  return [...backends.values()];
}
