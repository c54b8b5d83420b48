/**
 * The wasm backend's worker pool: `threads - 1` workers that instantiate the
 * same kernel module on the same shared WebAssembly.Memory (Node
 * worker_threads; Web Workers in a cross-origin-isolated page). A call is
 * split synchronously, without postMessage: the calling thread writes the
 * call into a control block in a SharedArrayBuffer (layout.ts), bumps the
 * generation word and wakes the workers (Atomics.notify), then claims and runs
 * chunks itself like any worker, and waits until every chunk is done
 * (Atomics.wait where the calling thread may block: Node's main thread and
 * workers; a browser's main thread may not, so there it spins on Atomics.load,
 * which only ever waits for chunks a running worker has already claimed: a
 * worker that is slow to wake finds the chunks taken). Workers are unref'd
 * (Node): the pool never keeps a process alive; `terminate()` ends them.
 *
 * Which calls are split, and into how many parts: {@link partsOf}, with the
 * thresholds measured on the 2-core machine of the benchmarks
 * ({@link SPLIT_MIN_WORK}).
 */
import { CTRL, CTRL_WORDS, chunkBound, claimWord, DESC, DESC_SLOTS, MAX_ARGS, MAX_CHUNKS } from './layout.js';
import { WORKER_SOURCE } from './workerSource.js';

/**
 * The least work (elements; flops for matmul) of one call at which a second
 * thread pays, measured with `npx tsx scripts/wasm-split-threshold.ts` on the
 * 2-core benchmark VM (Node 20.20, load average 1.6 at start and end: another
 * job shared the machine): each op with its call split (4 chunks per thread)
 * vs kept whole, 2 threads, median of 41 alternating runs; speed-up of the
 * whole op (tensor creation and scope included):
 *   matmul N×N:  N = 64 (0.5 Mflop) 1.01, 80 0.92, 96 (1.8 Mflop) 1.25, 128 1.29, 192 1.32, 256 1.70;
 *   exp:         4K 0.80, 8K 1.04, 16K 1.19, 32K 1.39, 256K 1.89; tanh: 4K 1.22, 8K 1.40, 64K 1.95;
 *   neg:         16K 0.95, 64K 0.98, 128K 1.39, 256K 1.47;
 *   add (same shape): 64K 0.96, 128K 1.10, 256K 1.21; row-bias add: 64K 1.01, 128K 1.13;
 *   transpose:   16K 1.19, 64K 1.48, 128K 1.54; row sums: 32K 0.93, 64K 1.13, 128K 1.23.
 * (A first run, one chunk per thread at load 1.0, put the same boundaries.)
 * Memory-bound maps gain little below about 128K elements (their whole op is
 * then a few tens of microseconds, near the cost of waking a worker).
 * A call with work w is shared by min(threads, units, 1 + ⌊w / threshold⌋)
 * threads, cut into CHUNKS_PER_THREAD chunks per thread (at most one per unit)
 * that the threads claim one at a time, so a worker that wakes late takes fewer.
 */
export const SPLIT_MIN_WORK = {
  /** matmul: 2·batch·m·n·k flops (2 Mflop: a square product of N ≈ 100). */
  matmul: 1 << 21,
  /** Transcendental maps (exp, log, sin, cos, tanh, sigmoid, pow): elements. */
  transcendental: 1 << 13,
  /** Other maps, where, casts, gathers, scatters, reductions and argmax: elements read or written. */
  map: 1 << 17,
} as const;

/** The kind of work of a call, for its threshold. */
export type WorkKind = keyof typeof SPLIT_MIN_WORK;

/** Chunks per sharing thread (load balance when a worker wakes late or is descheduled). */
export const CHUNKS_PER_THREAD = 4;

/** Threads that should share a call with `units` splittable units and `work` above `threshold` per thread (1: no split). */
export function partsOf(threads: number, units: number, work: number, threshold: number): number {
  if (threads <= 1 || units <= 1) return 1;
  return Math.max(1, Math.min(threads, units, 1 + Math.floor(work / Math.max(threshold, 1))));
}

/** Chunks of a call shared by `parts` threads. */
export const chunksOf = (parts: number, units: number): number => Math.min(units, parts * CHUNKS_PER_THREAD, MAX_CHUNKS);

/** A started worker, as the pool needs it. */
interface WorkerHandle {
  terminate(): void;
}

/** The pieces of a module instance shared with the workers. */
export interface PoolModule {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Export names, in the order the pool's export indices refer to. */
  readonly names: readonly string[];
}

/** One split call: the export, its arguments, which pair is the range, which argument is per-thread scratch. */
export interface SplitCall {
  readonly fnIndex: number;
  readonly fn: (...args: number[]) => number;
  readonly args: readonly number[];
  readonly splitIndex: number;
  readonly count: number;
  readonly align: number;
  /** The scratch argument's index and one address per thread (the caller's first). */
  readonly scratch?: { readonly index: number; readonly ptrs: readonly number[] };
}

type NodeWorker = {
  postMessage(m: unknown): void;
  once(ev: string, f: (x: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
};
type NodeWorkerModule = { Worker: new (src: string, opts: { eval: boolean }) => NodeWorker };

/** Node's worker_threads, found without a static import (the browser bundle loads unchanged). */
function nodeWorkers(): NodeWorkerModule | null {
  const g = globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } };
  try {
    return (g.process?.getBuiltinModule?.('node:worker_threads') as NodeWorkerModule | undefined) ?? null;
  } catch {
    return null;
  }
}

/** The available cores: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers, else 1. */
export function availableCores(): number {
  const g = globalThis as {
    process?: { getBuiltinModule?: (m: string) => unknown };
    navigator?: { hardwareConcurrency?: number };
  };
  try {
    const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus?: () => unknown[] } | undefined;
    if (os) return Math.max(1, os.availableParallelism?.() ?? os.cpus?.().length ?? 1);
  } catch {
    /* not Node */
  }
  return Math.max(1, g.navigator?.hardwareConcurrency ?? 1);
}

/** Why this platform cannot run a pool (null when it can). */
export function poolUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined')
    return 'SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: COOP/COEP headers)';
  if (nodeWorkers()) return null;
  const g = globalThis as { Worker?: unknown; crossOriginIsolated?: boolean };
  if (typeof g.Worker !== 'function') return 'this platform has no worker threads';
  if (g.crossOriginIsolated === false) return 'the page is not cross-origin isolated (COOP/COEP headers), so workers cannot share memory';
  return null;
}

/** A worker being started: its handle now, and a promise that resolves once it listens (rejects if it fails to start). */
interface StartingWorker {
  readonly handle: WorkerHandle;
  readonly listening: Promise<void>;
}

function startNodeWorker(wt: NodeWorkerModule, init: unknown): StartingWorker {
  const w = new wt.Worker(WORKER_SOURCE, { eval: true });
  w.unref();
  const listening = new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
    w.once('exit', (code) => reject(new Error(`the worker exited (code ${String(code)}) before it was ready`)));
    w.postMessage(init);
  });
  return { handle: { terminate: () => void w.terminate() }, listening };
}

function startWebWorker(init: unknown): StartingWorker {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  const listening = new Promise<void>((resolve, reject) => {
    w.onmessage = () => {
      URL.revokeObjectURL(url);
      resolve();
    };
    w.onerror = (e) => reject(new Error(`wasm worker failed to start: ${e.message}`));
    w.postMessage(init);
  });
  return { handle: { terminate: () => w.terminate() }, listening };
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function mayBlock(ctrl: Int32Array): boolean {
  try {
    Atomics.wait(ctrl, CTRL.probe, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Loads of the done word the calling thread makes before it sleeps in Atomics.wait. */
const MAIN_SPIN = 2000;

/** A pool of workers sharing one module's memory; `run` splits one call across them and the calling thread. */
export class ThreadPool {
  private gen = 0;
  private terminated = false;

  private listening = false;

  private constructor(
    /** Threads, the calling one included. */
    readonly threads: number,
    private readonly ctrl: Int32Array,
    private readonly desc: Float64Array,
    private readonly workers: readonly WorkerHandle[],
    private readonly canBlock: boolean,
  ) {}

  /**
   * Starts `threads - 1` workers on the module's memory without waiting for them: the pool is
   * returned at once and `ready` resolves once every worker listens (then {@link isReady} is true),
   * or rejects, after terminating the pool, if one fails to start (a worker that cannot even be
   * created throws here). Until then nothing should be
   * split on it (the caller would claim every chunk anyway: no worker that is not listening
   * claims one, so `run` never waits for it).
   */
  static launch(mod: PoolModule, threads: number): { readonly pool: ThreadPool; readonly ready: Promise<void> } {
    const ctrlBuffer = new SharedArrayBuffer(CTRL_WORDS * 4);
    const descBuffer = new SharedArrayBuffer(DESC_SLOTS * 8);
    const init = { module: mod.module, memory: mod.memory, names: mod.names, ctrl: ctrlBuffer, desc: descBuffer };
    const wt = nodeWorkers();
    const starting: StartingWorker[] = [];
    const ctrl = new Int32Array(ctrlBuffer);
    let pool: ThreadPool;
    try {
      for (let i = 0; i < threads - 1; i++) {
        const msg = { ...init, id: i + 1 };
        starting.push(wt ? startNodeWorker(wt, msg) : startWebWorker(msg));
      }
      pool = new ThreadPool(
        threads,
        ctrl,
        new Float64Array(descBuffer),
        starting.map((s) => s.handle),
        mayBlock(ctrl),
      );
    } catch (e) {
      for (const s of starting) {
        s.handle.terminate();
        s.listening.catch(() => {});
      }
      throw new Error(`a wasm worker thread failed to start: ${e instanceof Error ? e.message : String(e)}`);
    }
    const ready = Promise.all(starting.map((s) => s.listening)).then(
      () => {
        if (!pool.terminated) pool.listening = true;
      },
      (e: unknown) => {
        pool.terminate();
        throw new Error(`a wasm worker thread failed to start: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    ready.catch(() => {});
    return { pool, ready };
  }

  /** Starts `threads - 1` workers on the module's memory; resolves once each has instantiated it. */
  static async start(mod: PoolModule, threads: number): Promise<ThreadPool> {
    try {
      const { pool, ready } = ThreadPool.launch(mod, threads);
      await ready;
      return pool;
    } catch (e) {
      throw new Error(`init: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Whether every worker listens (launch's `ready` resolved) and the pool was not terminated. */
  get isReady(): boolean {
    return this.listening && !this.terminated;
  }

  /**
   * Runs `call` in `chunks` chunks, claimed by the workers and this thread (only by the workers
   * when `callerRuns` is false: tests, so that workers run every chunk), waking `wake` workers;
   * returns when all are done.
   */
  run(call: SplitCall, chunks: number, wake: number, name: string, callerRuns = true): void {
    if (this.terminated) throw new Error(`${name}: the wasm thread pool was shut down`);
    if (call.args.length > MAX_ARGS) throw new Error(`${name}: ${call.args.length} arguments, the pool passes at most ${MAX_ARGS}`);
    const { ctrl, desc } = this;
    desc[DESC.fn] = call.fnIndex;
    desc[DESC.nargs] = call.args.length;
    desc[DESC.split] = call.splitIndex;
    desc[DESC.scratch] = call.scratch ? call.scratch.index : -1;
    desc[DESC.count] = call.count;
    desc[DESC.align] = call.align;
    desc.set(call.args, DESC.args);
    if (call.scratch) desc.set(call.scratch.ptrs, DESC.scratchPtrs);
    this.gen = (this.gen + 1) & 0x3fffffff;
    const gen = this.gen;
    Atomics.store(ctrl, CTRL.done, 0);
    Atomics.store(ctrl, CTRL.error, 0);
    Atomics.store(ctrl, CTRL.claim, claimWord(gen, chunks, 0));
    Atomics.store(ctrl, CTRL.gen, gen);
    Atomics.notify(ctrl, CTRL.gen, wake);
    // this thread's share: claim chunks until none is left
    const args = [...call.args];
    let failure: unknown = null;
    while (callerRuns) {
      const w = Atomics.load(ctrl, CTRL.claim);
      const i = w & 255;
      if (i >= chunks) break;
      if (Atomics.compareExchange(ctrl, CTRL.claim, w, w + 1) !== w) continue;
      const start = chunkBound(call.count, chunks, call.align, i);
      const end = chunkBound(call.count, chunks, call.align, i + 1);
      args[call.splitIndex] = start;
      args[call.splitIndex + 1] = end;
      if (call.scratch) args[call.scratch.index] = call.scratch.ptrs[0]!;
      try {
        if (start < end) call.fn(...args);
      } catch (e) {
        failure ??= e;
      }
      Atomics.add(ctrl, CTRL.done, 1);
    }
    // wait for the chunks the workers claimed
    for (let s = 0; ; s++) {
      const d = Atomics.load(ctrl, CTRL.done);
      if (d >= chunks) break;
      if (this.canBlock && s >= MAIN_SPIN) Atomics.wait(ctrl, CTRL.done, d);
    }
    if (failure) throw failure;
    if (Atomics.load(ctrl, CTRL.error) !== 0)
      throw new Error(`${name}: the kernel failed on a worker thread (a trap: an address or size outside the memory)`);
  }

  /** Ends the workers (they leave their loop, then are terminated). */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.listening = false;
    Atomics.store(this.ctrl, CTRL.quit, 1);
    Atomics.store(this.ctrl, CTRL.gen, (this.gen + 1) & 0x3fffffff);
    Atomics.notify(this.ctrl, CTRL.gen);
    for (const w of this.workers) w.terminate();
  }

  /** Chunks the workers have run (the calling thread runs the others). */
  get workerChunks(): number {
    return Atomics.load(this.ctrl, CTRL.workerChunks);
  }

  /** Whether terminate() was called. */
  get isTerminated(): boolean {
    return this.terminated;
  }
}
