/**
 * A minimal Web Worker on Node's worker_threads, enough for jax-js's wasm
 * worker pool (node_modules/@jax-js/jax, src/backend/wasm/parallel.ts upstream).
 * jax-js starts its pool only when `SharedArrayBuffer` and a global `Worker`
 * exist, with `navigator.hardwareConcurrency` workers (4 when unknown), each
 * created as `new Worker(URL.createObjectURL(blob), { type: 'module' })` and
 * spoken to with `postMessage` / `onmessage` (the shared WebAssembly.Memory
 * and the compiled WebAssembly.Module are posted to it). Node 20 has neither
 * a global `Worker` nor `navigator`, so jax-js is single-threaded there; this
 * shim supplies both so the benchmark can also run it on N worker threads.
 *
 * The blob's source runs as a worker_threads script behind a prelude that
 * gives it `self`, `postMessage` and `onmessage`. Messages posted before the
 * thread exists (the blob is read asynchronously) are queued.
 */
import { resolveObjectURL } from 'node:buffer';
import { Worker as NodeWorker } from 'node:worker_threads';

const PRELUDE = `
const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
parentPort.on('message', (data) => { if (typeof globalThis.onmessage === 'function') globalThis.onmessage({ data }); });
`;

/** Threads started by the shim (checked by the benchmark: a pool that never started would be a single-thread figure). */
export let shimWorkersStarted = 0;

class NodeWebWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  #thread: NodeWorker | null = null;
  #queued: unknown[] = [];
  #terminated = false;

  constructor(url: string | URL, _opts?: { type?: string }) {
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`web-worker shim: only blob: URLs are supported, got ${String(url)}`);
    blob.text().then(
      (source) => {
        if (this.#terminated) return;
        const t = new NodeWorker(PRELUDE + source, { eval: true });
        shimWorkersStarted++;
        t.on('message', (data: unknown) => this.onmessage?.({ data }));
        t.on('error', (e: Error) => this.onerror?.({ message: e.message }));
        this.#thread = t;
        for (const m of this.#queued) t.postMessage(m);
        this.#queued = [];
      },
      (e: Error) => this.onerror?.({ message: e.message }),
    );
  }

  postMessage(message: unknown): void {
    if (this.#thread) this.#thread.postMessage(message);
    else this.#queued.push(message);
  }

  terminate(): void {
    this.#terminated = true;
    void this.#thread?.terminate();
  }
}

/** Install the global `Worker` and a `navigator` reporting `threads` cores (before jax-js initialises). */
export function installWebWorkerShim(threads: number): void {
  Object.defineProperty(globalThis, 'Worker', { value: NodeWebWorker, configurable: true, writable: true });
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...nav, hardwareConcurrency: threads },
    configurable: true,
    writable: true,
  });
}
