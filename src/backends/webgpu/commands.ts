/**
 * Command batching: kernels are recorded into one command encoder (one
 * compute pass between encoder-level copies and clears) and submitted
 * together, only when a read needs the results or the batch is full. Each
 * dispatch's parameters go to a slot of one uniform arena, written once per
 * submission. A validation error scope spans each batch; its outcome is
 * checked on the next op or read.
 */
import type { BufferPool } from './bufferPool.js';
import { META_BYTES } from './gpuConstants.js';
import { BufferUsage } from './gpuConstants.js';
import type { PipelineCache } from './pipelines.js';

const SLOTS = 512;

export class CommandBatcher {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly metaGpu: GPUBuffer;
  private readonly metaCpu: Uint32Array;
  private readonly slotU32: number;
  private slots = 0;
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;
  /** Submissions made so far (for stats and tests of batching). */
  submissions = 0;
  dispatches = 0;
  private readonly errorChecks = new Set<Promise<void>>();
  /** First error seen by an error scope and not yet reported. */
  pendingError: string | null = null;
  /** Errors from batches up to this number were already reported (one error per failed batch). */
  private reportedThrough = -1;

  constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: PipelineCache,
    private readonly pools: readonly BufferPool[],
  ) {
    const align = device.limits.minUniformBufferOffsetAlignment;
    const slotBytes = Math.ceil(META_BYTES / align) * align;
    this.slotU32 = slotBytes / 4;
    this.metaGpu = device.createBuffer({
      size: slotBytes * SLOTS,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      label: 'cotangent meta arena',
    });
    this.metaCpu = new Uint32Array(this.slotU32 * SLOTS);
  }

  /** Open a batch (and its error scopes) now, so pipeline creation errors land in it too. */
  open(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('validation');
      this.device.pushErrorScope('out-of-memory');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.open().beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    const enc = this.open();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return enc;
  }

  /** Record one dispatch of `pipeline` over `inputs` -> `output` (or several outputs) with parameters `meta` (u32s). */
  dispatch(
    pipeline: GPUComputePipeline,
    inputs: readonly GPUBuffer[],
    output: GPUBuffer | readonly GPUBuffer[],
    meta: readonly number[],
    groups: readonly [number, number, number],
  ): void {
    if (meta.length > META_BYTES / 4) throw new Error(`webgpu: ${meta.length} kernel parameters exceed the ${META_BYTES / 4}-word slot`);
    if (this.slots === SLOTS) this.flush();
    const pass = this.computePass();
    const slot = this.slots++;
    const base = slot * this.slotU32;
    for (let i = 0; i < meta.length; i++) this.metaCpu[base + i] = meta[i]!;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(inputs, Array.isArray(output) ? output : [output as GPUBuffer]), [base * 4]);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.dispatches++;
  }

  /**
   * Bind groups are cached by the buffers they bind (the parameter slot is a
   * dynamic offset), so a training loop, whose pooled buffers recur step after
   * step, stops creating them. Keys use per-buffer ids that are never reused,
   * so a destroyed buffer's groups are simply never hit again.
   */
  private bindGroup(inputs: readonly GPUBuffer[], outputs: readonly GPUBuffer[]): GPUBindGroup {
    let key = `${inputs.length}/${outputs.length}`;
    for (const b of inputs) key += `,${this.idOf(b)}`;
    for (const b of outputs) key += `,${this.idOf(b)}`;
    let g = this.groups.get(key);
    if (!g) {
      if (this.groups.size >= 8192) this.groups.clear();
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.metaGpu, offset: 0, size: META_BYTES } }];
      inputs.forEach((b, i) => {
        entries.push({ binding: i + 1, resource: { buffer: b } });
      });
      outputs.forEach((b, j) => {
        entries.push({ binding: inputs.length + 1 + j, resource: { buffer: b } });
      });
      g = this.device.createBindGroup({ layout: this.pipelines.layout(inputs.length, outputs.length).group, entries });
      this.groups.set(key, g);
    }
    return g;
  }

  private idOf(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(b, id);
    }
    return id;
  }

  clear(buffer: GPUBuffer, bytes: number): void {
    const n = Math.ceil(bytes / 4) * 4;
    if (n > 0) this.endPass().clearBuffer(buffer, 0, n);
  }

  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    if (bytes > 0) this.endPass().copyBufferToBuffer(src, 0, dst, 0, Math.ceil(bytes / 4) * 4);
  }

  get pending(): boolean {
    return this.encoder !== null;
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    const enc = this.endPass();
    if (this.slots > 0) this.device.queue.writeBuffer(this.metaGpu, 0, this.metaCpu.buffer, 0, this.slots * this.slotU32 * 4);
    this.device.queue.submit([enc.finish()]);
    this.encoder = null;
    this.slots = 0;
    this.submissions++;
    for (const p of this.pools) p.afterSubmit();
    const oom = this.device.popErrorScope();
    const validation = this.device.popErrorScope();
    const batchNo = this.submissions - 1;
    const check: Promise<void> = Promise.all([oom, validation]).then(
      ([o, v]) => {
        this.errorChecks.delete(check);
        const e = v ?? o;
        if (e) this.record(`${v ? 'validation error' : 'out of memory'}: ${e.message}`, batchNo);
      },
      () => {
        this.errorChecks.delete(check);
      },
    );
    this.errorChecks.add(check);
  }

  /** Note an error from batch `batchNo` (default: the one being recorded) unless that batch already reported one. */
  record(message: string, batchNo: number = this.submissions): void {
    if (batchNo <= this.reportedThrough || this.pendingError) return;
    this.pendingError = message;
  }

  /** Take the pending error (reported once); later errors from the batches so far are dropped. */
  takeError(): string | null {
    const e = this.pendingError;
    if (e) {
      this.pendingError = null;
      this.reportedThrough = this.submissions;
    }
    return e;
  }

  /** Wait for the error scopes of every submission so far (after a read). */
  async settle(): Promise<void> {
    await Promise.all([...this.errorChecks]);
  }

  destroy(): void {
    this.groups.clear();
    this.encoder = null;
    this.pass = null;
    this.metaGpu.destroy();
  }
}
