/**
 * The allocator of the wasm backend's linear memory: blocks are 16-byte
 * aligned and rounded up to a size class (multiples of 16 bytes up to 256,
 * then four classes per power of two, so a block wastes at most a quarter of
 * its size). Freed blocks go to their class's free list and are reused first;
 * new blocks are cut from the top of the heap, which grows the memory on
 * demand (memory.grow, 64 KiB pages). Memory is never returned to the
 * WebAssembly instance (it cannot shrink); a training loop reuses its blocks.
 */

const PAGE = 65536;

/** The size class of a request: the bytes a block for it really takes (at least 16). */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(16, Math.ceil(bytes / 16) * 16);
  const step = 2 ** (Math.floor(Math.log2(bytes - 1)) - 2);
  return Math.ceil(bytes / step) * step;
}

/** Counts of an allocator: live and pooled (freed, reusable) blocks and bytes, and the heap's extent. */
export interface AllocatorStats {
  readonly liveBlocks: number;
  readonly liveBytes: number;
  readonly pooledBlocks: number;
  readonly pooledBytes: number;
  /** Bytes of linear memory (the WebAssembly memory's size). */
  readonly memoryBytes: number;
  /** The top of the heap (the highest address ever handed out). */
  readonly heapTop: number;
}

/** Size-class free lists over a WebAssembly memory, from `base` upwards. */
export class Allocator {
  private readonly free = new Map<number, number[]>();
  private top: number;
  private live = 0;
  private liveBytes = 0;
  private pooled = 0;
  private pooledBytes = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = Math.ceil(base / 16) * 16;
  }

  /** A 16-byte aligned block of at least `bytes` bytes; grows the memory when the heap is full. */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) {
      this.pooled--;
      this.pooledBytes -= size;
    } else {
      ptr = this.top;
      this.ensure(ptr + size);
      this.top = ptr + size;
    }
    this.live++;
    this.liveBytes += size;
    return ptr;
  }

  /** Returns a block (allocated for `bytes`) to its class's free list. */
  release(ptr: number, bytes: number): void {
    const size = sizeClass(bytes);
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(ptr);
    this.live--;
    this.liveBytes -= size;
    this.pooled++;
    this.pooledBytes += size;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new Error(
        `wasm: out of memory: cannot grow linear memory from ${have} to ${have + pages * PAGE} bytes (${(e as Error).message}); ` +
          'the wasm backend holds at most 4 GiB',
      );
    }
  }

  stats(): AllocatorStats {
    return {
      liveBlocks: this.live,
      liveBytes: this.liveBytes,
      pooledBlocks: this.pooled,
      pooledBytes: this.pooledBytes,
      memoryBytes: this.memory.buffer.byteLength,
      heapTop: this.top,
    };
  }
}
