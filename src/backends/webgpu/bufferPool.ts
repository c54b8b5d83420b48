/**
 * The buffer pool: freed GPU buffers are kept by size class and handed out
 * again instead of creating new ones. A buffer freed since the last queue
 * submission may still be read by commands recorded in the open batch, so it
 * is only reused for kernel outputs recorded after those commands (ordered by
 * the encoder); uploads (queue.writeBuffer runs before the open batch) only
 * take buffers freed before the last submission.
 */
const MIN_BYTES = 16;

/** Round up to a size class: 4 steps per power of two (at most 25% slack). */
export function sizeClass(bytes: number): number {
  const b = Math.max(MIN_BYTES, bytes);
  if (b <= 256) return Math.ceil(b / 16) * 16;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly ready = new Map<number, GPUBuffer[]>();
  private readonly recent = new Map<number, GPUBuffer[]>();
  pooledBuffers = 0;
  pooledBytes = 0;
  /** Buffers created and not destroyed (live + pooled). */
  totalBuffers = 0;
  totalBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private readonly maxPooledBytes: number,
  ) {}

  acquire(bytes: number, forUpload: boolean): GPUBuffer {
    const size = sizeClass(bytes);
    const hit = (forUpload ? undefined : this.recent.get(size)?.pop()) ?? this.ready.get(size)?.pop();
    if (hit) {
      this.pooledBuffers--;
      this.pooledBytes -= size;
      return hit;
    }
    const buffer = this.device.createBuffer({ size, usage: this.usage });
    this.totalBuffers++;
    this.totalBytes += size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    if (this.pooledBytes + size > this.maxPooledBytes) {
      this.destroy(buffer);
      return;
    }
    let list = this.recent.get(size);
    if (!list) this.recent.set(size, (list = []));
    list.push(buffer);
    this.pooledBuffers++;
    this.pooledBytes += size;
  }

  /** Called after each queue submission: every recently freed buffer is now safe for anything. */
  afterSubmit(): void {
    for (const [size, list] of this.recent) {
      let r = this.ready.get(size);
      if (!r) this.ready.set(size, (r = []));
      r.push(...list);
    }
    this.recent.clear();
  }

  /** Destroy every pooled buffer (live ones stay). */
  drain(): void {
    for (const m of [this.ready, this.recent]) {
      for (const list of m.values()) for (const b of list) this.destroy(b);
      m.clear();
    }
    this.pooledBuffers = 0;
    this.pooledBytes = 0;
  }

  private destroy(b: GPUBuffer): void {
    this.totalBuffers--;
    this.totalBytes -= b.size;
    b.destroy();
  }
}
