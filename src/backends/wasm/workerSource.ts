/**
 * The source of a wasm pool worker, as a string (run by Node's worker_threads
 * with `eval: true`, or by a Web Worker from a Blob URL), so no separate file
 * has to be found at run time. A worker receives the kernel module, the shared
 * memory and the control block once, instantiates the module on that memory
 * (the module has no data segments or start function: instantiating it again
 * writes nothing), says 'ready', and then loops: wait on the generation word
 * (a short spin first, then Atomics.wait), claim chunks of the current call
 * with compare-and-exchange on the claim word, run each, count it done, and
 * wake the caller when the last chunk is done. Worker `id` (1, 2, …; the caller
 * is 0) uses scratch block `id` whatever chunk it runs. Layout: src/backends/wasm/layout.ts.
 */
import { CTRL, DESC, WORKER_SPIN } from './layout.js';

/** The worker's program (plain JavaScript; Node worker_threads or a Web Worker). */
export const WORKER_SOURCE = `'use strict';
const GEN = ${CTRL.gen}, CLAIM = ${CTRL.claim}, DONE = ${CTRL.done}, ERR = ${CTRL.error}, \
QUIT = ${CTRL.quit}, WORKER_CHUNKS = ${CTRL.workerChunks};
const FN = ${DESC.fn}, NARGS = ${DESC.nargs}, SPLIT = ${DESC.split}, SCRATCH = ${DESC.scratch}, \
COUNT = ${DESC.count}, ALIGN = ${DESC.align}, ARGS = ${DESC.args}, PTRS = ${DESC.scratchPtrs};
function bound(count, chunks, align, j) {
  if (j >= chunks) return count;
  return Math.min(count, Math.floor(Math.floor((count * j) / chunks) / align) * align);
}
function start(m, post) {
  const instance = new WebAssembly.Instance(m.module, { env: { memory: m.memory } });
  const fns = m.names.map((n) => instance.exports[n]);
  const ctrl = new Int32Array(m.ctrl);
  const desc = new Float64Array(m.desc);
  let seen = Atomics.load(ctrl, GEN);
  post('ready');
  for (;;) {
    let g = Atomics.load(ctrl, GEN);
    for (let s = 0; g === seen && s < ${WORKER_SPIN}; s++) g = Atomics.load(ctrl, GEN);
    if (g === seen) {
      Atomics.wait(ctrl, GEN, seen);
      continue;
    }
    seen = g;
    if (Atomics.load(ctrl, QUIT) !== 0) return;
    const tag = g & 0x7fff;
    for (;;) {
      const w = Atomics.load(ctrl, CLAIM);
      if (w >>> 16 !== tag) break;
      const chunks = (w >>> 8) & 255;
      const i = w & 255;
      if (i >= chunks) break;
      if (Atomics.compareExchange(ctrl, CLAIM, w, w + 1) !== w) continue;
      try {
        const n = desc[NARGS];
        const args = new Array(n);
        for (let a = 0; a < n; a++) args[a] = desc[ARGS + a];
        const count = desc[COUNT], align = desc[ALIGN], split = desc[SPLIT], scratch = desc[SCRATCH];
        args[split] = bound(count, chunks, align, i);
        args[split + 1] = bound(count, chunks, align, i + 1);
        if (scratch >= 0) args[scratch] = desc[PTRS + m.id];
        if (args[split] < args[split + 1]) fns[desc[FN]](...args);
      } catch (e) {
        Atomics.store(ctrl, ERR, 1);
      }
      Atomics.add(ctrl, WORKER_CHUNKS, 1);
      if (Atomics.add(ctrl, DONE, 1) + 1 === chunks) Atomics.notify(ctrl, DONE);
    }
  }
}
if (typeof self === 'undefined' || typeof self.postMessage !== 'function') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (m) => start(m, (x) => parentPort.postMessage(x)));
} else {
  self.onmessage = (e) => start(e.data, (x) => self.postMessage(x));
}
`;
