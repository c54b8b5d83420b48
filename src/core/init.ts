/**
 * Backend selection: `await init({ backend: 'cpu' | 'wasm' | 'webgpu' })` makes that
 * backend the default for new tensors; `getBackend()` names it. Nothing ever
 * falls back silently: a missing WebGPU adapter is an error that says why and
 * how to get a software one. `shutdown()` releases the WebGPU device so a
 * Node process can exit.
 */
import type { BackendName } from '../backends/Backend.js';
import { defaultBackend, getBackendByName, hasBackend, registerBackend, setDefaultBackend } from '../backends/registry.js';
import { WasmBackend } from '../backends/wasm/WasmBackend.js';
import { acquireDevice, type WebGpuOptions } from '../backends/webgpu/device.js';
import { forgetBackend } from './memory.js';
import { WebGpuBackend } from '../backends/webgpu/WebGpuBackend.js';

/** Options of {@link init}: the backend (default 'cpu') and, for WebGPU, the adapter choice. */
export interface InitOptions {
  backend?: BackendName;
  /** WebGPU adapter choice and options (used when backend is 'webgpu'). */
  webgpu?: WebGpuOptions;
  /** Worker threads of the wasm backend (stored; the kernels run on the calling thread until the worker pool lands). */
  threads?: number;
}

let wasmPending: Promise<WasmBackend> | null = null;

/** The wasm backend, instantiated on first use (one shared memory per process). */
function wasmBackend(threads: number | undefined): Promise<WasmBackend> {
  if (!wasmPending) {
    wasmPending = WasmBackend.create(threads === undefined ? {} : { threads }).then((b) => {
      registerBackend(b);
      return b;
    });
    wasmPending.catch(() => {
      wasmPending = null;
    });
  }
  return wasmPending;
}

let pending: Promise<WebGpuBackend> | null = null;

function liveWebGpu(): WebGpuBackend | null {
  if (!hasBackend('webgpu')) return null;
  const b = getBackendByName('webgpu');
  if (!(b instanceof WebGpuBackend) || b.isDestroyed) return null;
  if (b.isLost) {
    // a lost device cannot come back: release what is left, init makes a new one
    forgetBackend(b, "is gone: the WebGPU device was lost (create it again after await init({ backend: 'webgpu' }))");
    b.destroy();
    return null;
  }
  return b;
}

async function webgpuBackend(opts: WebGpuOptions | undefined): Promise<WebGpuBackend> {
  const live = liveWebGpu();
  if (live) return live;
  if (!pending) {
    pending = acquireDevice(opts).then((acq) => {
      const b = new WebGpuBackend(acq);
      registerBackend(b);
      return b;
    });
    pending.then(
      () => (pending = null),
      () => (pending = null),
    );
  }
  return pending;
}

/**
 * Makes a backend the default for new tensors (creating the WebGPU device on first use); resolves to its name.
 * No fallback: a missing WebGPU adapter is an error that says how to get a software one.
 *
 * @example
 * ```ts
 * await ct.init({ backend: 'webgpu', webgpu: { adapter: 'llvmpipe' } });
 * ct.getBackend(); // 'webgpu'
 * ```
 */
export async function init(opts: InitOptions = {}): Promise<BackendName> {
  const name = opts.backend ?? 'cpu';
  if (name === 'cpu') {
    setDefaultBackend('cpu');
    return name;
  }
  if (name === 'wasm') {
    await wasmBackend(opts.threads);
    setDefaultBackend('wasm');
    return name;
  }
  if (name === 'webgpu') {
    await webgpuBackend(opts.webgpu);
    setDefaultBackend('webgpu');
    return name;
  }
  throw new Error(`init: unknown backend '${String(name)}' (expected 'cpu', 'wasm' or 'webgpu')`);
}

/** The name of the default backend of new tensors. */
export function getBackend(): BackendName {
  return defaultBackend().name;
}

/** A description of a backend (WebGPU: the adapter in use). */
export function backendInfo(name: BackendName = getBackend()): string {
  return getBackendByName(name).describe();
}

/**
 * Release the WebGPU device and every buffer it holds; the default backend
 * goes back to 'cpu'. Tensors on it leave `memoryStats()` and using one is an
 * error saying the backend was shut down. Lets a Node process exit.
 */
export async function shutdown(): Promise<void> {
  const b = liveWebGpu();
  if (!b) {
    if (defaultBackend().name === 'webgpu') setDefaultBackend('cpu');
    return;
  }
  if (defaultBackend() === b) setDefaultBackend('cpu');
  try {
    await b.sync();
  } catch {
    /* a lost device cannot be synchronised; destroy it anyway */
  }
  // its tensors leave the statistics, and using one says why
  forgetBackend(
    b,
    "is on the WebGPU backend, which was shut down (shutdown()); its tensors are gone: call await init({ backend: 'webgpu' }) and create them again",
  );
  b.destroy();
}

/** Submit queued WebGPU work and wait for it to finish (benchmarks; reads do this themselves). */
export async function syncBackend(): Promise<void> {
  await liveWebGpu()?.sync();
}
