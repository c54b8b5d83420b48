/**
 * The wasm backend: f32 and i32 tensors in the linear memory of one shared
 * WebAssembly.Memory, and kernels compiled from AssemblyScript with 128-bit
 * SIMD (src/backends/wasm/assembly, embedded in kernelsBinary.ts; where the
 * engine accepts relaxed SIMD, the build whose matmul uses f32x4.relaxed_madd:
 * see relaxedSimdSupported). f64 lives
 * on the cpu backend. Each built-in primitive's `wasm` kernel
 * (src/backends/wasm/kernels.ts) returns a list of export calls that `run`
 * executes; a call that can be split names its range, and above a size
 * threshold the worker pool (threads.ts), which shares the memory, runs parts
 * of it on other threads. User primitives (definePrimitive) run their CPU
 * kernel on typed-array views of the linear memory.
 */
import type { Backend, BackendStats, CpuInput, KernelCall, Storage } from '../Backend.js';
import type { FusedBackend, FusedKernel } from '../fused.js';
import { allocArray, bytesPerElement, type DType, type TypedArray } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import { Allocator, type AllocatorStats } from './allocator.js';
import { fusedProgram, programWords, wasmFusible } from './fused.js';
import { matmulCalls, type WasmCall, type WasmContext, type WasmKernel } from './kernels.js';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernelsBinary.js';
import { MAX_THREADS } from './layout.js';
import { availableCores, chunksOf, partsOf, poolUnavailable, SPLIT_MIN_WORK, ThreadPool } from './threads.js';

/** A block of linear memory; shared by the storages of a reshape and its input, freed when the last is. */
interface Block {
  readonly ptr: number;
  readonly bytes: number;
  refs: number;
}

/** A wasm buffer: a reference to a block of linear memory. */
export interface WasmStorage extends Storage {
  readonly backend: 'wasm';
  readonly block: Block;
}

/** Options of the wasm backend. */
export interface WasmOptions {
  /** Threads running the kernels, the calling one included (default: the available cores; 1: no worker pool). */
  readonly threads?: number;
  /** Split every splittable call with at least this much work, whatever its kind (tests and measurements; default: SPLIT_MIN_WORK). */
  readonly splitMinWork?: number;
  /** false: an unshared memory and no pool, as where SharedArrayBuffer is unavailable (tests). */
  readonly sharedMemory?: boolean;
  /** false: the calling thread only waits, the workers run every chunk of a split call (tests). */
  readonly callerRuns?: boolean;
  /**
   * false: the plain kernel module (f32x4.mul + f32x4.add) even where relaxed SIMD is available
   * (tests and comparisons; also the environment variable COTANGENT_WASM_RELAXED=0). Default: the
   * relaxed module (the matmul's multiply-adds fused) wherever the engine accepts it.
   */
  readonly relaxed?: boolean;
}

type Exports = Record<string, (...args: number[]) => number>;

const INITIAL_PAGES = 16;
const MAXIMUM_PAGES = 65536;

function decodeBase64(s: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(s, 'base64'));
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let v = 0;
  let shift = 0;
  let p = at;
  for (;;) {
    const b = bytes[p++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [v, p];
  }
}

/**
 * The module with its memory import made unshared (the limits flag's shared bit cleared), for
 * platforms without SharedArrayBuffer (a browser page that is not cross-origin isolated). The
 * kernels use no atomics, so the same code runs on an unshared memory.
 */
export function unsharedModuleBytes(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  let p = 8;
  while (p < out.length) {
    const id = out[p]!;
    const [size, body] = readLeb(out, p + 1);
    if (id === 2) {
      let q = body;
      let count: number;
      [count, q] = readLeb(out, q);
      for (let i = 0; i < count; i++) {
        for (let s = 0; s < 2; s++) {
          const [len, at] = readLeb(out, q);
          q = at + len;
        }
        const kind = out[q++]!;
        if (kind === 0) q = readLeb(out, q)[1];
        else if (kind === 1 || kind === 2) {
          if (kind === 1) q++;
          const flag = out[q]!;
          if (kind === 2) out[q] = flag & ~2;
          q = readLeb(out, q + 1)[1];
          if (flag & 1) q = readLeb(out, q)[1];
        } else q += 2;
      }
    }
    p = body + size;
  }
  return out;
}

/** Which kernel module: shared or unshared memory import, relaxed SIMD or not. */
interface ModuleKind {
  readonly shared: boolean;
  readonly relaxed: boolean;
}
const kindKey = (k: ModuleKind): string => `${k.shared ? 'shared' : 'unshared'}/${k.relaxed ? 'relaxed' : 'plain'}`;

const compiled = new Map<string, Promise<WebAssembly.Module>>();
const compiledSync = new Map<string, WebAssembly.Module>();

const kernelBytes = ({ shared, relaxed }: ModuleKind): Uint8Array<ArrayBuffer> => {
  const bytes = decodeBase64(relaxed ? KERNELS_RELAXED_WASM_BASE64 : KERNELS_WASM_BASE64);
  return (shared ? bytes : unsharedModuleBytes(bytes)) as Uint8Array<ArrayBuffer>;
};

/** The kernel module of that kind, compiled once per process. */
function kernelModule(kind: ModuleKind): Promise<WebAssembly.Module> {
  const key = kindKey(kind);
  let m = compiled.get(key);
  if (!m) {
    const sync = compiledSync.get(key);
    m = sync ? Promise.resolve(sync) : WebAssembly.compile(kernelBytes(kind));
    compiled.set(key, m);
  }
  return m;
}

/** The kernel module compiled synchronously (Node; a browser's main thread may refuse a module this large). */
function kernelModuleSync(kind: ModuleKind): WebAssembly.Module {
  const key = kindKey(kind);
  let m = compiledSync.get(key);
  if (!m) {
    m = new WebAssembly.Module(kernelBytes(kind));
    compiledSync.set(key, m);
  }
  return m;
}

let relaxedSupport: boolean | undefined;
/**
 * Whether this engine runs the relaxed-SIMD kernel module (once per process). Node 20 ships relaxed
 * SIMD behind a flag: there, where the module does not validate yet, the flag is turned on
 * (`v8.setFlagsFromString('--experimental-wasm-relaxed-simd')`, before any relaxed module is
 * compiled) and validation asked again. Current browsers accept it as it is; elsewhere the plain
 * module (f32x4.mul + f32x4.add) runs.
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupport !== undefined) return relaxedSupport;
  const bytes = unsharedModuleBytes(decodeBase64(KERNELS_RELAXED_WASM_BASE64)) as Uint8Array<ArrayBuffer>;
  const validates = (): boolean => {
    try {
      return WebAssembly.validate(bytes);
    } catch {
      return false;
    }
  };
  let ok = validates();
  const g = globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (m: string) => unknown } };
  if (!ok && typeof g.process?.versions?.node === 'string') {
    try {
      const v8 = g.process.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
      v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
      ok = validates();
    } catch {
      ok = false;
    }
  }
  relaxedSupport = ok;
  return ok;
}

/** Whether the relaxed module is wanted: not turned off by `relaxed: false` or COTANGENT_WASM_RELAXED=0. */
function relaxedWanted(opts: WasmOptions): boolean {
  if (opts.relaxed !== undefined) return opts.relaxed;
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.['COTANGENT_WASM_RELAXED'] !== '0';
}

/**
 * Whether the wasm backend can be created synchronously here ({@link WasmBackend.createSync}):
 * in Node, where compiling a module synchronously is allowed whatever its size. Browsers allow
 * it only for small modules on the main thread, so there the backend is created by `await init()`.
 */
export function syncCompileAllowed(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  return typeof g.process?.versions?.node === 'string';
}

/** Whether a shared WebAssembly.Memory can be created here (Node; a cross-origin-isolated page). */
export function sharedMemorySupported(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return typeof SharedArrayBuffer !== 'undefined';
  } catch {
    return false;
  }
}

let wasmSupport: boolean | undefined;
/** Whether this JavaScript engine runs the wasm backend (WebAssembly SIMD); validated once per process. */
export function wasmSupported(): boolean {
  if (wasmSupport !== undefined) return wasmSupport;
  try {
    wasmSupport = WebAssembly.validate(unsharedModuleBytes(decodeBase64(KERNELS_WASM_BASE64)) as Uint8Array<ArrayBuffer>);
  } catch {
    wasmSupport = false;
  }
  return wasmSupport;
}

let warned = false;
/** The one-line notice that the pool is unavailable (once per process). */
function warnSingleThread(why: string, threads: number): void {
  if (warned) return;
  warned = true;
  console.warn(`cotangent: the wasm backend runs on 1 thread instead of ${threads}: ${why}`);
}

const isBlockStorage = (s: Storage): s is WasmStorage => s.backend === 'wasm' && 'block' in s;

/** The wasm backend (create it with `await WasmBackend.create()`, `WasmBackend.createSync()` in Node, or `init({ backend: 'wasm' })`). */
export class WasmBackend implements Backend, FusedBackend {
  readonly name = 'wasm' as const;
  private readonly allocator: Allocator;
  private buffer: ArrayBufferLike;
  private u8: Uint8Array;
  private readonly blocks = new Set<Block>();
  private liveBytes = 0;
  private kernelCalls = 0;
  private splitCalls = 0;
  private destroyed = false;
  private readonly fnIndex: ReadonlyMap<string, number>;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly exports: Exports,
    names: readonly string[],
    /** Threads that run the kernels, the calling one included (1 without a pool). */
    private nThreads: number,
    private pool: ThreadPool | null,
    private readonly splitMinWork: number | undefined,
    private readonly callerRuns: boolean,
    /** Whether the kernels are the relaxed-SIMD module (the matmul's multiply-adds fused). */
    readonly relaxed: boolean,
  ) {
    this.allocator = new Allocator(memory, exports.heap_base!());
    this.buffer = memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
    this.fnIndex = new Map(names.map((n, i) => [n, i]));
  }

  /** Threads that run the kernels, the calling one included (1 without a pool, or once a pool failed to start). */
  get threads(): number {
    return this.nThreads;
  }

  /** The threads to use: checked, and 1 (with the one-line notice) where no pool can run. */
  private static threadsFor(opts: WasmOptions): ModuleKind & { threads: number } {
    const requested = opts.threads ?? Math.min(availableCores(), MAX_THREADS);
    if (!Number.isInteger(requested) || requested < 1 || requested > MAX_THREADS)
      throw new Error(`init: threads must be an integer from 1 to ${MAX_THREADS}, got ${String(opts.threads)}`);
    if (!wasmSupported())
      throw new Error('init: this JavaScript engine lacks WebAssembly SIMD, which the wasm backend needs; use the cpu backend');
    const shared = opts.sharedMemory !== false && sharedMemorySupported();
    let threads = requested;
    if (threads > 1) {
      const why = !shared ? 'shared WebAssembly memory is unavailable' : poolUnavailable();
      if (why) {
        if (opts.sharedMemory !== false) warnSingleThread(why, threads);
        threads = 1;
      }
    }
    return { threads, shared, relaxed: relaxedWanted(opts) && relaxedSimdSupported() };
  }

  private static names(module: WebAssembly.Module): string[] {
    return WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
  }

  /**
   * Instantiates the kernels on a fresh memory and starts `threads - 1` workers sharing it
   * (default: the available cores), resolving once every worker is ready. Without
   * SharedArrayBuffer, one thread and a one-line notice.
   */
  static async create(opts: WasmOptions = {}): Promise<WasmBackend> {
    const { threads, shared, relaxed } = WasmBackend.threadsFor(opts);
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared });
    const module = await kernelModule({ shared, relaxed });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const names = WasmBackend.names(module);
    const pool = threads > 1 ? await ThreadPool.start({ module, memory, names }, threads) : null;
    return new WasmBackend(
      memory,
      instance.exports as unknown as Exports,
      names,
      threads,
      pool,
      opts.splitMinWork,
      opts.callerRuns !== false,
      relaxed,
    );
  }

  /**
   * The same, synchronously (Node: {@link syncCompileAllowed}); the library's default backend there.
   * The workers start in the background: until every one listens, each call runs whole on the
   * calling thread (the results are the same bitwise: a split never changes them). A worker that
   * fails to start leaves the backend on one thread, after a one-line notice. `callerRuns: false`
   * is not accepted (the workers could not run every chunk before they listen).
   */
  static createSync(opts: WasmOptions = {}): WasmBackend {
    if (opts.callerRuns === false) throw new Error('WasmBackend.createSync: callerRuns: false needs the workers ready; use create()');
    if (!syncCompileAllowed()) throw new Error('WasmBackend.createSync: synchronous compilation is for Node; use await init()');
    const { threads, shared, relaxed } = WasmBackend.threadsFor(opts);
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared });
    const module = kernelModuleSync({ shared, relaxed });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const names = WasmBackend.names(module);
    const b = new WasmBackend(memory, instance.exports as unknown as Exports, names, threads, null, opts.splitMinWork, true, relaxed);
    if (threads > 1) {
      try {
        const { pool, ready } = ThreadPool.launch({ module, memory, names }, threads);
        b.pool = pool;
        ready.then(
          () => {
            if (b.destroyed) pool.terminate();
          },
          (e: unknown) => b.poolFailed(e),
        );
      } catch (e) {
        b.poolFailed(e);
      }
    }
    return b;
  }

  /** A pool that could not start: one thread from now on, and a one-line notice. */
  private poolFailed(e: unknown): void {
    const threads = this.nThreads;
    this.pool?.terminate();
    this.pool = null;
    this.nThreads = 1;
    if (!this.destroyed) warnSingleThread(e instanceof Error ? e.message : String(e), threads);
  }

  /** Ends the worker pool; every later use of this backend is an error (shutdown()). */
  destroy(): void {
    this.destroyed = true;
    this.pool?.terminate();
  }

  /** Whether destroy() was called. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  private checkLive(op: string): void {
    if (this.destroyed)
      throw new Error(
        `${op}: the wasm backend was shut down (shutdown()); its tensors are gone: call await init({ backend: 'wasm' }) and ` +
          'create them again',
      );
  }

  /** Bytes of the linear memory, refreshed after memory.grow. */
  bytes(): Uint8Array {
    if (this.memory.buffer.byteLength !== this.u8.byteLength) {
      this.buffer = this.memory.buffer;
      this.u8 = new Uint8Array(this.buffer);
    }
    return this.u8;
  }

  /** A typed-array view of `size` elements of `dtype` at `ptr` (valid until the next allocation). */
  view(ptr: number, dtype: DType, size: number): Float32Array | Int32Array {
    const buf = this.bytes().buffer;
    if (dtype === 'i32') return new Int32Array(buf, ptr, size);
    if (dtype === 'f32') return new Float32Array(buf, ptr, size);
    throw this.noF64('view');
  }

  private noF64(op: string): Error {
    return new Error(
      `${op}: the wasm backend holds f32 and i32 only; f64 lives on the cpu backend (create it with { backend: 'cpu' } or cast to f32)`,
    );
  }

  supports(dtype: DType): boolean {
    return dtype === 'f32' || dtype === 'i32';
  }

  private allocBlock(bytes: number): WasmStorage {
    const ptr = this.allocator.alloc(bytes);
    const block: Block = { ptr, bytes, refs: 1 };
    this.blocks.add(block);
    this.liveBytes += bytes;
    return { backend: 'wasm', bytes, block };
  }

  private storage(s: Storage, op: string): WasmStorage {
    this.checkLive(op);
    if (!isBlockStorage(s)) throw new Error(`${op}: a ${s.backend} buffer reached the wasm backend`);
    return s;
  }

  /** The address of a buffer's data (for tests and the worker pool). */
  ptrOf(s: Storage): number {
    return this.storage(s, 'ptrOf').block.ptr;
  }

  upload(data: TypedArray, dtype: DType): Storage {
    this.checkLive('upload');
    if (!this.supports(dtype)) throw this.noF64('upload');
    const s = this.allocBlock(data.byteLength);
    this.bytes().set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), s.block.ptr);
    return s;
  }

  readSync(s: Storage, dtype: DType, size: number): TypedArray {
    const ws = this.storage(s, 'readSync');
    const out = allocArray(dtype, size);
    if (out.BYTES_PER_ELEMENT !== 4) throw this.noF64('readSync');
    new Uint8Array(out.buffer).set(this.bytes().subarray(ws.block.ptr, ws.block.ptr + size * 4));
    return out;
  }

  read(s: Storage, dtype: DType, size: number): Promise<TypedArray> {
    try {
      return Promise.resolve(this.readSync(s, dtype, size));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  run<P>(call: KernelCall<P>): Storage {
    this.checkLive(call.name);
    const kernel = call.wasm as WasmKernel<P> | undefined;
    if (kernel === undefined) return this.runCpu(call);
    const temps: [number, number][] = [];
    const outputs: WasmStorage[] = [];
    const calls: WasmCall[] = [];
    const ctx: WasmContext = {
      ptr: (s) => this.storage(s, call.name).block.ptr,
      ptrOf: (s) => this.storage(s, call.name).block.ptr,
      output: (bytes) => {
        const s = this.allocBlock(bytes);
        outputs.push(s);
        return s;
      },
      share: (s) => {
        const ws = this.storage(s, call.name);
        ws.block.refs++;
        return { backend: 'wasm', bytes: ws.bytes, block: ws.block } satisfies WasmStorage;
      },
      temp: (bytes) => {
        const p = this.allocator.alloc(bytes);
        temps.push([p, bytes]);
        return p;
      },
      words: (values) => {
        const p = ctx.temp(values.length * 4);
        this.view(p, 'i32', values.length).set(values);
        return p;
      },
      query: (fn, ...args) => this.fn(fn)(...args),
      call: (c) => {
        calls.push(c);
      },
    };
    try {
      const out = kernel(ctx, call);
      this.execute(calls, call.name);
      return out;
    } catch (e) {
      for (const s of outputs) this.free(s);
      throw e;
    } finally {
      for (const [p, bytes] of temps) this.allocator.release(p, bytes);
    }
  }

  private fn(name: string): (...args: number[]) => number {
    const f = this.exports[name];
    if (typeof f !== 'function') throw new Error(`wasm: the kernel module has no export '${name}'`);
    return f;
  }

  /** Runs a list of export calls in order; a splittable call above its threshold is shared with the pool. */
  execute(calls: readonly WasmCall[], op = 'wasm'): void {
    for (const c of calls) {
      const f = this.fn(c.fn);
      this.kernelCalls++;
      const sp = c.split;
      // a pool still starting (createSync) shares nothing yet: the call runs whole here
      const pool = this.pool?.isReady ? this.pool : null;
      const parts = pool && sp ? partsOf(this.nThreads, sp.count, sp.work, this.splitMinWork ?? SPLIT_MIN_WORK[sp.kind]) : 1;
      if (!pool || !sp || parts <= 1) {
        f(...c.args);
        continue;
      }
      this.splitCalls++;
      // the calling thread uses the call's scratch, each worker a block of its own
      const extra: number[] = [];
      try {
        if (c.scratch) for (let i = 1; i < this.nThreads; i++) extra.push(this.allocator.alloc(c.scratch.bytes));
        pool.run(
          {
            fnIndex: this.fnIndex.get(c.fn)!,
            fn: f,
            args: c.args,
            splitIndex: sp.index,
            count: sp.count,
            align: sp.align ?? 1,
            ...(c.scratch ? { scratch: { index: c.scratch.index, ptrs: [c.args[c.scratch.index]!, ...extra] } } : {}),
          },
          chunksOf(parts, sp.count),
          this.callerRuns ? parts - 1 : parts,
          `${op} (${c.fn})`,
          this.callerRuns,
        );
      } finally {
        if (c.scratch) for (const p of extra) this.allocator.release(p, c.scratch.bytes);
      }
    }
  }

  /** Kernels with `reductions` (sum and max, f32 and i32) run here, the reductions fused into the same pass. */
  readonly fusesReductions = true;

  /**
   * Kernels with a `matmul` run here as one call of matmul_f32_fused (matmul_i32_fused): the product is
   * computed exactly as by the matmul kernel (same jobs, same accumulation order, so bitwise the same
   * values) and the program runs over each block of rows of it as soon as the block is final, on the
   * thread that computed it; the split across threads is the matmul's split into jobs.
   */
  readonly fusesMatmul = true;

  /**
   * Runs a fused elementwise kernel (src/backends/fused.ts) as one call of the interpreter export
   * `fused_32` (src/backends/wasm/fused.ts), split by blocks across the pool like any map; returns
   * one fresh buffer per output, then one per reduction. With reductions, the call's split is
   * rounded to whole units (rows) so each reduced element is accumulated by one thread, and a
   * kernel whose reduction spans the whole iteration (over its leading axis, or all axes) runs on
   * one thread. With a matmul (see fusesMatmul), the buffers are [a, b, input 1, …] and the
   * product goes to the output that is the product itself, else to a scratch buffer of the call.
   * Throws, naming the op and dtype, for an op without a wasm kernel for its dtype (see wasmFusible).
   */
  runFused(kernel: FusedKernel, inputs: readonly Storage[]): Storage[] {
    this.checkLive('runFused');
    const mm = kernel.matmul;
    // with a matmul, the buffers are [a, b, input 1, …]: input 0 is their product, computed here
    const avals = mm ? [mm.a, mm.b, ...kernel.inputs.slice(1)] : kernel.inputs;
    if (inputs.length !== avals.length)
      throw new Error(
        `runFused (wasm): the kernel has ${avals.length} input buffers${mm ? ' (a, b of its matmul, then inputs 1, …)' : ''}, ` +
          `got ${inputs.length}`,
      );
    const ptrs = inputs.map((s, i) => {
      const ws = this.storage(s, 'runFused');
      const need = sizeOf(avals[i]!.shape) * 4;
      if (ws.bytes < need) throw new Error(`runFused (wasm): input buffer ${i} holds ${ws.bytes} bytes, its shape needs ${need}`);
      return ws.block.ptr;
    });
    const prog = fusedProgram(kernel);
    const outputs = [
      ...kernel.outputs.map(() => this.allocBlock(prog.size * 4)),
      ...prog.reductions.map((r) => {
        const s = this.allocBlock(r.size * 4);
        // the identity the reduction accumulates onto (also the sum over an empty axis)
        if (r.size > 0) this.view(s.block.ptr, 'i32', r.size).fill(r.identity);
        return s;
      }),
    ];
    if (prog.size === 0) return outputs;
    const temps: [number, number][] = [];
    const temp = (bytes: number): number => {
      const p = this.allocator.alloc(bytes);
      temps.push([p, bytes]);
      return p;
    };
    try {
      // the product's buffer: the output that is the product itself, else a scratch buffer for this call
      const product = mm ? (prog.productOutput !== null ? outputs[prog.productOutput]!.block.ptr : temp(prog.size * 4)) : 0;
      const words = programWords(
        prog,
        mm ? [product, ...ptrs.slice(2)] : ptrs,
        outputs.map((o) => o.block.ptr),
      );
      const at = temp(words.length * 4);
      this.view(at, 'i32', words.length).set(words);
      const calls: WasmCall[] = [];
      if (mm) {
        matmulCalls(
          { query: (fn, ...args) => this.fn(fn)(...args), temp, call: (c) => calls.push(c) },
          mm.a.dtype as 'f32' | 'i32',
          { shape: mm.a.shape, ptr: ptrs[0]! },
          { shape: mm.b.shape, ptr: ptrs[1]! },
          kernel.shape,
          product,
          { prog: at, regBytes: prog.scratchBytes, ops: prog.ops },
        );
      } else {
        const scratch = temp(prog.scratchBytes);
        calls.push({
          fn: 'fused_32',
          args: [at, 0, prog.blocks, scratch],
          ...(prog.unit < prog.size
            ? {
                split: {
                  index: 1,
                  count: prog.blocks,
                  work: prog.size * Math.max(1, prog.ops),
                  kind: prog.transcendental ? ('transcendental' as const) : ('map' as const),
                },
              }
            : {}),
          scratch: { index: 3, bytes: prog.scratchBytes },
        });
      }
      this.execute(calls, 'runFused');
      return outputs;
    } catch (e) {
      for (const s of outputs) this.free(s);
      throw e;
    } finally {
      for (const [p, bytes] of temps) this.allocator.release(p, bytes);
    }
  }

  /** Whether a node of the elementwise primitive `op` on operands of `dtype` runs in a fused kernel here (wasmFusible). */
  canFuse(op: string, dtype: DType): boolean {
    return wasmFusible(op, dtype);
  }

  /** The program `runFused` runs for `kernel`, as text (one line per instruction). */
  fusedSource(kernel: FusedKernel): string {
    return fusedProgram(kernel).text;
  }

  /** A user primitive without a wasm kernel: its CPU kernel on views of the linear memory, the result copied in. */
  private runCpu<P>(call: KernelCall<P>): Storage {
    const inputs: CpuInput[] = call.inputs.map((x) => ({
      shape: x.shape,
      dtype: x.dtype,
      data: this.view(this.storage(x.storage, call.name).block.ptr, x.dtype, sizeOf(x.shape)),
    }));
    const r = call.cpu(inputs, call.params, call.out);
    const n = sizeOf(call.out.shape);
    if (r.length !== n || r.BYTES_PER_ELEMENT !== bytesPerElement(call.out.dtype)) {
      throw new Error(
        `${call.name}: CPU kernel returned ${r.length} elements of ${r.BYTES_PER_ELEMENT} bytes for ` +
          `${call.out.dtype}[${call.out.shape.join(',')}]`,
      );
    }
    return this.upload(r, call.out.dtype);
  }

  free(s: Storage): void {
    if (this.destroyed) return; // shutdown forgot every block with the memory
    const ws = this.storage(s, 'free');
    const b = ws.block;
    if (--b.refs > 0) return;
    this.blocks.delete(b);
    this.liveBytes -= b.bytes;
    this.allocator.release(b.ptr, b.bytes);
  }

  /** Live blocks and their bytes (a reshape shares its input's block). */
  stats(): BackendStats {
    return { buffers: this.blocks.size, bytes: this.liveBytes };
  }

  /**
   * The allocator's counts (live and pooled blocks by size class, memory size), export calls run, how many were split across
   * threads, and the chunks workers ran.
   */
  memoryStats(): AllocatorStats & { readonly kernelCalls: number; readonly splitCalls: number; readonly workerChunks: number } {
    return {
      ...this.allocator.stats(),
      kernelCalls: this.kernelCalls,
      splitCalls: this.splitCalls,
      workerChunks: this.pool?.workerChunks ?? 0,
    };
  }

  describe(): string {
    const threads =
      this.threads === 1
        ? '1 thread'
        : `${this.threads} threads: the calling one and ${this.threads - 1} ` +
          `worker${this.threads === 2 ? '' : 's'}${this.pool?.isReady ? '' : ', starting'}`;
    return (
      `WebAssembly SIMD (f32x4${this.relaxed ? ' + relaxed FMA' : ''}; ${threads}; ` +
      `${(this.memory.buffer.byteLength / 2 ** 20).toFixed(0)} MiB linear memory${this.destroyed ? '; shut down' : ''})`
    );
  }
}
