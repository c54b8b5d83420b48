/**
 * The wasm backend: f32 and i32 tensors in the linear memory of one shared
 * WebAssembly.Memory, and kernels compiled from AssemblyScript with 128-bit
 * SIMD (src/backends/wasm/assembly, embedded in kernelsBinary.ts). f64 lives
 * on the cpu backend. Each built-in primitive's `wasm` kernel
 * (src/backends/wasm/kernels.ts) returns a list of export calls that `run`
 * executes; a call that can be split names its range, so a worker pool
 * sharing the memory can run parts of it. User primitives (definePrimitive)
 * run their CPU kernel on typed-array views of the linear memory.
 */
import type { Backend, BackendStats, CpuInput, KernelCall, Storage } from '../Backend.js';
import { allocArray, bytesPerElement, type DType, type TypedArray } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import { Allocator, type AllocatorStats } from './allocator.js';
import type { WasmCall, WasmContext, WasmKernel } from './kernels.js';
import { KERNELS_WASM_BASE64 } from './kernelsBinary.js';

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
  /** Worker threads for the kernels (accepted and stored; the kernels run on the calling thread for now). */
  readonly threads?: number;
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

let compiled: Promise<WebAssembly.Module> | null = null;

/** The kernel module, compiled once per process. */
function kernelModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  return compiled;
}

/** Whether this JavaScript engine runs the wasm backend (WebAssembly SIMD and shared memory). */
export function wasmSupported(): boolean {
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return WebAssembly.validate(decodeBase64(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

const isBlockStorage = (s: Storage): s is WasmStorage => s.backend === 'wasm' && 'block' in s;

/** The wasm backend (create it with `await WasmBackend.create()`, or `init({ backend: 'wasm' })`). */
export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  private readonly allocator: Allocator;
  private buffer: ArrayBufferLike;
  private u8: Uint8Array;
  private readonly blocks = new Set<Block>();
  private liveBytes = 0;
  private kernelCalls = 0;

  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly exports: Exports,
    readonly threads: number,
  ) {
    this.allocator = new Allocator(memory, exports.heap_base!());
    this.buffer = memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
  }

  /** Instantiates the kernels on a fresh shared memory. */
  static async create(opts: WasmOptions = {}): Promise<WasmBackend> {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`init: threads must be a positive integer, got ${String(opts.threads)}`);
    if (!wasmSupported())
      throw new Error(
        'init: this JavaScript engine lacks WebAssembly SIMD or shared memory, which the wasm backend needs; use the cpu backend',
      );
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(await kernelModule(), { env: { memory } });
    return new WasmBackend(memory, instance.exports as unknown as Exports, threads);
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
    if (!isBlockStorage(s)) throw new Error(`${op}: a ${s.backend} buffer reached the wasm backend`);
    return s;
  }

  /** The address of a buffer's data (for tests and the worker pool). */
  ptrOf(s: Storage): number {
    return this.storage(s, 'ptrOf').block.ptr;
  }

  upload(data: TypedArray, dtype: DType): Storage {
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
      this.execute(calls);
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

  /** Runs a list of export calls, each over its whole range, on the calling thread. */
  execute(calls: readonly WasmCall[]): void {
    for (const c of calls) {
      this.fn(c.fn)(...c.args);
      this.kernelCalls++;
    }
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
        `${call.name}: CPU kernel returned ${r.length} elements of ${r.BYTES_PER_ELEMENT} bytes for ${call.out.dtype}[${call.out.shape.join(',')}]`,
      );
    }
    return this.upload(r, call.out.dtype);
  }

  free(s: Storage): void {
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

  /** The allocator's counts (live and pooled blocks by size class, memory size). */
  memoryStats(): AllocatorStats & { readonly kernelCalls: number } {
    return { ...this.allocator.stats(), kernelCalls: this.kernelCalls };
  }

  describe(): string {
    return `WebAssembly SIMD (f32x4; ${this.threads} thread${this.threads === 1 ? '' : 's'} requested, kernels on the calling thread; ${(this.memory.buffer.byteLength / 2 ** 20).toFixed(0)} MiB linear memory)`;
  }
}
