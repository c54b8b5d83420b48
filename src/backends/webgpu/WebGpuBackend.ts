/**
 * The WebGPU backend: tensors live in GPU buffers, primitives run as WGSL
 * compute kernels (shaders/), recorded into batched command buffers and
 * submitted only when a read needs them or a batch fills. Freed buffers go to
 * a pool; pipelines are cached by shader source. f32 and i32 only (f64 is
 * CPU-only). Device loss and validation errors surface on the next op or read.
 */
import type { Backend, BackendStats, KernelCall, Storage } from '../Backend.js';
import type { FusedBackend, FusedKernel } from '../fused.js';
import { allocArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { BufferPool } from './bufferPool.js';
import { CommandBatcher } from './commands.js';
import type { GpuStorage, KernelContext, SharedBuffer } from './context.js';
import type { AcquiredDevice } from './device.js';
import { BufferUsage, MapModeRead } from './gpuConstants.js';
import { fusedMatmulSource, fusedSources, reducedShape, runFusedKernel, runFusedMatmul } from './fused.js';
import { elementwise, type WebGpuKernel } from './kernels.js';
import { PipelineCache } from './pipelines.js';
import { runUserKernel } from './userKernel.js';
import { sizeOf } from '../../tensor/shape.js';

/** The WebGPU backend's statistics: live and pooled buffers, pipelines, submissions and dispatches. */
export interface WebGpuStats extends BackendStats {
  /** Buffers held by tensors (a reshape shares its input's buffer). */
  readonly liveBuffers: number;
  readonly liveBytes: number;
  /** Freed buffers kept for reuse. */
  readonly pooledBuffers: number;
  readonly pooledBytes: number;
  readonly pipelines: number;
  readonly submissions: number;
  readonly dispatches: number;
}

/** The pool of freed buffers trims itself: bounded by bytes and count, and idle buffers are destroyed. */
const POOL_LIMITS = { maxBytes: 512 << 20, maxBuffers: 4096, idleSubmissions: 64 };

export class WebGpuBackend implements Backend, FusedBackend {
  readonly name = 'webgpu' as const;
  /** Kernels with sum and max reductions run as generated WGSL that folds the reduced nodes without storing them. */
  readonly fusesReductions = true;
  /** Elementwise epilogues run inside the matmul kernel, applied where it stores each value of the product. */
  readonly fusesMatmul = true;
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly featureLevel: string;
  readonly adapterKind: AcquiredDevice['kind'];
  /** Kept referenced so the device stays alive (the Node GPU object); dropped by destroy(). */
  keepAlive: unknown;
  private readonly pool: BufferPool;
  private readonly staging: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly batch: CommandBatcher;
  private readonly ctx: KernelContext;
  private lost: string | null = null;
  private destroyed = false;
  private liveBuffers = 0;
  private liveBytes = 0;

  constructor(acquired: AcquiredDevice) {
    this.device = acquired.device;
    this.adapterName = acquired.adapterName;
    this.featureLevel = acquired.featureLevel;
    this.adapterKind = acquired.kind;
    this.keepAlive = acquired.keepAlive;
    const d = this.device;
    this.pool = new BufferPool(d, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, POOL_LIMITS);
    this.staging = new BufferPool(d, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 64 << 20);
    this.pipelines = new PipelineCache(d);
    this.batch = new CommandBatcher(d, this.pipelines, [this.pool]);
    void d.lost.then((info) => {
      if (!this.destroyed) this.lost = `the WebGPU device was lost (${info.reason}: ${info.message})`;
    });
    d.addEventListener?.('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.batch.record(`WebGPU error: ${e.message}`);
    });
    this.ctx = {
      adapterKind: acquired.kind,
      alloc: (bytes) => this.newShared(bytes),
      share: (s) => {
        const buf = (s as GpuStorage).buf;
        buf.refs++;
        return buf;
      },
      bufferOf: (s) => (s as GpuStorage).buf.buffer,
      maxStorageBuffers: this.device.limits.maxStorageBuffersPerShaderStage,
      pipeline: (key, source, entry, inputs, label, outputs) => {
        this.batch.open();
        return this.pipelines.get(key, source, entry, inputs, label, outputs);
      },
      dispatch: (p, ins, out, meta, groups) => this.batch.dispatch(p, ins, out, meta, groups),
      clear: (buffer, bytes) => this.batch.clear(buffer, bytes),
    };
  }

  supports(dtype: DType): boolean {
    return dtype === 'f32' || dtype === 'i32';
  }

  /** Throws the pending device-loss or validation error, if any (each validation error once). */
  private check(op: string): void {
    if (this.destroyed)
      throw new Error(
        `${op}: the WebGPU backend was shut down (shutdown()); its tensors are gone: call await init({ backend: 'webgpu' }) and ` +
          'create them again',
      );
    if (this.lost) throw new Error(`${op}: ${this.lost}; call await init({ backend: 'webgpu' }) to get a new device`);
    const e = this.batch.takeError();
    if (e) {
      throw new Error(`${op}: an earlier WebGPU command failed: ${e}`);
    }
  }

  private newShared(bytes: number): SharedBuffer {
    const buffer = this.pool.acquire(Math.max(bytes, 4), false);
    this.liveBuffers++;
    this.liveBytes += buffer.size;
    return { buffer, refs: 1 };
  }

  private storage(buf: SharedBuffer, bytes: number): GpuStorage {
    return { backend: 'webgpu', bytes, buf };
  }

  upload(data: TypedArray, dtype: DType): Storage {
    this.check('upload');
    if (!this.supports(dtype)) throw new Error(`upload: dtype ${dtype} is not supported on WebGPU (f64 is CPU-only; cast to f32 first)`);
    const bytes = data.byteLength;
    const buffer = this.pool.acquire(Math.max(bytes, 4), true);
    this.liveBuffers++;
    this.liveBytes += buffer.size;
    if (bytes > 0) this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, bytes);
    return this.storage({ buffer, refs: 1 }, bytes);
  }

  async read(s: Storage, dtype: DType, size: number): Promise<TypedArray> {
    this.check('data');
    const out = allocArray(dtype, size);
    if (size === 0) return out;
    const bytes = out.byteLength;
    const staging = this.staging.acquire(bytes, false);
    this.batch.copy((s as GpuStorage).buf.buffer, staging, bytes);
    this.batch.flush();
    this.staging.afterSubmit();
    try {
      await staging.mapAsync(MapModeRead, 0, bytes);
    } catch (e) {
      await this.batch.settle();
      this.check('data');
      throw new Error(`data: reading a WebGPU buffer failed: ${(e as Error).message}`);
    }
    new Uint8Array(out.buffer).set(new Uint8Array(staging.getMappedRange(0, bytes)));
    staging.unmap();
    this.staging.release(staging);
    await this.batch.settle();
    this.check('data');
    return out;
  }

  readSync(): TypedArray {
    throw new Error('dataSync: WebGPU tensors cannot be read synchronously; use await t.data() or await t.array()');
  }

  run(call: KernelCall): Storage {
    this.check(call.name);
    const k = call.webgpu as WebGpuKernel | undefined;
    const buf = k ? k(this.ctx, call) : runUserKernel(this.ctx, call, elementwise);
    return this.storage(buf, sizeOf(call.out.shape) * (call.out.dtype === 'f64' ? 8 : 4));
  }

  /**
   * Runs a fused kernel as generated WGSL dispatches (recorded in the open batch like every kernel): its elementwise
   * outputs, then its reductions; a kernel with a matmul (inputs `[a, b, input 1, …]`) as the matmul kernel with the
   * nodes applied where it stores the product.
   */
  runFused(kernel: FusedKernel, inputs: readonly Storage[]): Storage[] {
    this.check('fused kernel');
    const run = kernel.matmul ? runFusedMatmul : runFusedKernel;
    const bufs = run(
      this.ctx,
      kernel,
      inputs.map((s) => (s as GpuStorage).buf.buffer),
      (b) => {
        this.free(this.storage(b, 0));
      },
    );
    const bytes = sizeOf(kernel.shape) * 4;
    const reds = kernel.reductions ?? [];
    return bufs.map((b, j) =>
      this.storage(b, j < kernel.outputs.length ? bytes : sizeOf(reducedShape(kernel, reds[j - kernel.outputs.length]!)) * 4),
    );
  }

  /**
   * The WGSL sources `runFused` compiles for `kernel` (for a kernel with reductions, one per group of reductions; with
   * a matmul, the matmul kernel with the epilogue).
   */
  fusedSource(kernel: FusedKernel): string {
    if (kernel.matmul) return fusedMatmulSource(this.ctx, kernel);
    return fusedSources(kernel, this.ctx.maxStorageBuffers);
  }

  free(s: Storage): void {
    const buf = (s as GpuStorage).buf;
    if (--buf.refs > 0) return;
    this.liveBuffers--;
    this.liveBytes -= buf.buffer.size;
    if (this.destroyed) return;
    this.pool.release(buf.buffer);
  }

  /** Submit everything recorded so far (reads do this themselves). */
  flush(): void {
    this.batch.flush();
  }

  /** Wait until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.batch.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.batch.settle();
    this.check('sync');
  }

  stats(): WebGpuStats {
    return {
      buffers: this.liveBuffers + this.pool.pooledBuffers,
      bytes: this.liveBytes + this.pool.pooledBytes,
      liveBuffers: this.liveBuffers,
      liveBytes: this.liveBytes,
      pooledBuffers: this.pool.pooledBuffers,
      pooledBytes: this.pool.pooledBytes,
      pipelines: this.pipelines.size,
      submissions: this.batch.submissions,
      dispatches: this.batch.dispatches,
    };
  }

  describe(): string {
    return `WebGPU (${this.adapterName}; ${this.adapterKind}, ${this.featureLevel})`;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** The device was lost (the backend can only be replaced, by init). */
  get isLost(): boolean {
    return this.lost !== null;
  }

  /** Release every buffer and the device (lets a Node process exit). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pool.drain();
    this.staging.drain();
    this.batch.destroy();
    this.device.destroy();
    this.keepAlive = null;
  }
}
