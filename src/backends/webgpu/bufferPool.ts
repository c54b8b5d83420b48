/**
 * The buffer pool: freed GPU buffers are kept by size class and handed out
 * again instead of creating new ones. A buffer freed since the last queue
 * submission may still be read by commands recorded in the open batch, so it
 * is only reused for kernel outputs recorded after those commands (ordered by
 * the encoder); uploads (queue.writeBuffer runs before the open batch) only
 * take buffers freed before the last submission. The pool trims itself: it
 * holds at most `maxBuffers` buffers and `maxBytes` bytes, and a buffer that
 * nothing has reused for `idleSubmissions` queue submissions is destroyed.
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

/** Pool bounds: at most this many buffers and bytes pooled, and a pooled buffer unused for IDLE_SUBMISSIONS submissions is destroyed. */
export interface PoolLimits {
  readonly maxBytes: number;
  readonly maxBuffers: number;
  readonly idleSubmissions: number;
}

interface Pooled {
  readonly buffer: GPUBuffer;
  /** The submission count when it became reusable (for idle trimming). */
  readonly since: number;
}

export class BufferPool {
  /** Per size class, oldest first (reuse takes the newest, so the oldest are the idle ones). */
  private readonly ready = new Map<number, Pooled[]>();
  private readonly recent = new Map<number, GPUBuffer[]>();
  /** Freed past the limits while the open batch may still use them: destroyed after the next submission. */
  private doomed: GPUBuffer[] = [];
  private submits = 0;
  pooledBuffers = 0;
  pooledBytes = 0;
  /** Buffers created and not destroyed (live + pooled + waiting to be destroyed). */
  totalBuffers = 0;
  totalBytes = 0;
  /** Buffers destroyed by the limits or idle trimming (for stats and tests). */
  trimmed = 0;
  private readonly limits: PoolLimits;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    limits: number | Partial<PoolLimits>,
  ) {
    const l = typeof limits === 'number' ? { maxBytes: limits } : limits;
    this.limits = { maxBytes: l.maxBytes ?? 256 << 20, maxBuffers: l.maxBuffers ?? 2048, idleSubmissions: l.idleSubmissions ?? 64 };
  }

  acquire(bytes: number, forUpload: boolean): GPUBuffer {
    const size = sizeClass(bytes);
    const hit = (forUpload ? undefined : this.recent.get(size)?.pop()) ?? this.ready.get(size)?.pop()?.buffer;
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
    if (this.pooledBytes + size > this.limits.maxBytes || this.pooledBuffers + 1 > this.limits.maxBuffers) {
      // the open batch may still read it: destroy only once that batch is submitted
      this.doomed.push(buffer);
      this.trimmed++;
      return;
    }
    let list = this.recent.get(size);
    if (!list) {
      list = [];
      this.recent.set(size, list);
    }
    list.push(buffer);
    this.pooledBuffers++;
    this.pooledBytes += size;
  }

  /** Called after each queue submission: every recently freed buffer is now safe for anything; idle ones are destroyed. */
  afterSubmit(): void {
    this.submits++;
    for (const b of this.doomed) this.destroy(b);
    this.doomed = [];
    for (const [size, list] of this.recent) {
      let r = this.ready.get(size);
      if (!r) {
        r = [];
        this.ready.set(size, r);
      }
      for (const buffer of list) r.push({ buffer, since: this.submits });
    }
    this.recent.clear();
    this.trimIdle();
  }

  /** Destroy pooled buffers that nothing has reused for `idleSubmissions` submissions. */
  private trimIdle(): void {
    const cutoff = this.submits - this.limits.idleSubmissions;
    for (const [size, list] of this.ready) {
      let n = 0;
      while (n < list.length && list[n]!.since <= cutoff) n++;
      if (n === 0) continue;
      for (const { buffer } of list.splice(0, n)) {
        this.pooledBuffers--;
        this.pooledBytes -= size;
        this.trimmed++;
        this.destroy(buffer);
      }
      if (list.length === 0) this.ready.delete(size);
    }
  }

  /** Destroy every pooled buffer (live ones stay). */
  drain(): void {
    for (const list of this.ready.values()) for (const p of list) this.destroy(p.buffer);
    for (const list of this.recent.values()) for (const b of list) this.destroy(b);
    for (const b of this.doomed) this.destroy(b);
    this.ready.clear();
    this.recent.clear();
    this.doomed = [];
    this.pooledBuffers = 0;
    this.pooledBytes = 0;
  }

  private destroy(b: GPUBuffer): void {
    this.totalBuffers--;
    this.totalBytes -= b.size;
    b.destroy();
  }
}
