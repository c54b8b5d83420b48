/**
 * Backend selection: `await init({ backend: 'cpu' | 'wasm' | 'webgpu' })` makes that
 * backend the default for new tensors; `getBackend()` names it. Nothing ever
 * falls back silently: a missing WebGPU adapter is an error that says why and
 * how to get a software one. `shutdown()` releases the WebGPU device and the
 * wasm backend's worker pool (whose workers never keep a Node process alive
 * anyway).
 */
import type { BackendName } from '../backends/Backend.js';
import {
  defaultBackend,
  defaultBackendName,
  getBackendByName,
  hasBackend,
  registerBackend,
  setDefaultBackend,
  unregisterBackend,
} from '../backends/registry.js';
import { WasmBackend, wasmSupported } from '../backends/wasm/WasmBackend.js';
import { acquireDevice, type WebGpuOptions } from '../backends/webgpu/device.js';
import { forgetBackend } from './memory.js';
import { setSubmitCounter } from './debug.js';

// WebGPU queue submissions for debugCounters(): the current WebGPU backend's count
setSubmitCounter(() => {
  if (!hasBackend('webgpu')) return 0;
  const stats = getBackendByName('webgpu').stats() as { submissions?: number };
  return stats.submissions ?? 0;
});
import { WebGpuBackend } from '../backends/webgpu/WebGpuBackend.js';

/**
 * Options of {@link init}: the backend (default 'wasm' where WebAssembly SIMD is available, else 'cpu') and, for WebGPU, the
 * adapter choice.
 */
export interface InitOptions {
  /** The backend (default: 'wasm' where WebAssembly SIMD is available, else 'cpu'). */
  backend?: BackendName;
  /** WebGPU adapter choice and options (used when backend is 'webgpu'). */
  webgpu?: WebGpuOptions;
  /**
   * Threads of the wasm backend, the calling one included (default: the available cores;
   * 1: no worker pool). Fixed until shutdown(): init with another count is an error.
   */
  threads?: number;
}

let wasmPending: Promise<WasmBackend> | null = null;
/** The threads the pending or live wasm backend was asked for (undefined: the default). */
let wasmRequested: number | undefined;

function liveWasm(): WasmBackend | null {
  if (!hasBackend('wasm')) return null;
  const b = getBackendByName('wasm');
  return b instanceof WasmBackend && !b.isDestroyed ? b : null;
}

/** The wasm backend, instantiated on first use (one memory and one worker pool until shutdown()). */
async function wasmBackend(threads: number | undefined): Promise<WasmBackend> {
  if (!wasmPending) {
    // the default backend, created on first use (registry.ts): adopt it
    const live = liveWasm();
    if (live) {
      wasmPending = Promise.resolve(live);
      wasmRequested = undefined;
    }
  }
  if (wasmPending && threads !== undefined && threads !== wasmRequested) {
    const b = await wasmPending;
    if (threads !== b.threads)
      throw new Error(
        `init: the wasm backend already runs with ${b.threads} thread${b.threads === 1 ? '' : 's'}; call await shutdown() before ` +
          `init({ backend: 'wasm', threads: ${threads} })`,
      );
  }
  if (!wasmPending) {
    wasmRequested = threads;
    const p = WasmBackend.create(threads === undefined ? {} : { threads }).then((b) => {
      registerBackend(b);
      return b;
    });
    wasmPending = p;
    p.catch(() => {
      if (wasmPending === p) wasmPending = null;
    });
  }
  return wasmPending;
}

/** Ends the wasm backend: its worker pool stops, its tensors are forgotten (using one says why). */
function shutdownWasm(): void {
  wasmPending = null;
  const b = liveWasm();
  if (defaultBackendName() === 'wasm') setDefaultBackend('cpu');
  if (!b) return;
  forgetBackend(
    b,
    "is on the wasm backend, which was shut down (shutdown()); its tensors are gone: call await init({ backend: 'wasm' }) and " +
      'create them again',
  );
  b.destroy();
  unregisterBackend('wasm');
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
 * Makes a backend the default for new tensors (creating the WebGPU device or the wasm backend on first use); resolves to its name.
 * Without a backend: 'wasm' where WebAssembly SIMD is available, else 'cpu' (in a browser, where the
 * library's default is 'cpu' until then, `await init()` is how to get wasm).
 * No fallback: a missing WebGPU adapter is an error that says how to get a software one.
 *
 * @example
 * ```ts
 * await ct.init({ backend: 'webgpu', webgpu: { adapter: 'llvmpipe' } });
 * ct.getBackend(); // 'webgpu'
 * ```
 */
export async function init(opts: InitOptions = {}): Promise<BackendName> {
  const name = opts.backend ?? (wasmSupported() ? 'wasm' : 'cpu');
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

/** The name of the default backend of new tensors (naming it creates nothing). */
export function getBackend(): BackendName {
  return defaultBackendName();
}

/** A description of a backend (WebGPU: the adapter in use; the default one is created if it was not yet). */
export function backendInfo(name: BackendName = getBackend()): string {
  return (name === defaultBackendName() ? defaultBackend() : getBackendByName(name)).describe();
}

/**
 * Release the WebGPU device and every buffer it holds, and end the wasm
 * backend (its worker pool and its memory); with a name, only that backend.
 * The default backend goes back to 'cpu'. Tensors on them leave
 * `memoryStats()` and using one is an error saying the backend was shut down.
 * Lets a Node process exit (the wasm workers never hold it anyway); `init`
 * starts a backend again.
 */
export async function shutdown(backend?: 'webgpu' | 'wasm'): Promise<void> {
  if (backend !== 'webgpu') shutdownWasm();
  if (backend !== 'wasm') await shutdownWebGpu();
}

async function shutdownWebGpu(): Promise<void> {
  const b = liveWebGpu();
  if (!b) {
    if (defaultBackendName() === 'webgpu') setDefaultBackend('cpu');
    return;
  }
  if (defaultBackendName() === 'webgpu') setDefaultBackend('cpu');
  try {
    await b.sync();
  } catch {
    /* a lost device cannot be synchronised; destroy it anyway */
  }
  // its tensors leave the statistics, and using one says why
  forgetBackend(
    b,
    "is on the WebGPU backend, which was shut down (shutdown()); its tensors are gone: call await init({ backend: 'webgpu' }) " +
      'and create them again',
  );
  b.destroy();
}

/** Submit queued WebGPU work and wait for it to finish (benchmarks; reads do this themselves). */
export async function syncBackend(): Promise<void> {
  await liveWebGpu()?.sync();
}
