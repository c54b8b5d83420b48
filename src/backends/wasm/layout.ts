/**
 * The layout of the wasm pool's control block, shared by the calling thread
 * (threads.ts) and the workers (workerSource.ts): an Int32Array of control
 * words and a Float64Array describing the call being split.
 *
 * Control words: `gen` counts calls (a worker waits on it); `claim` packs
 * (gen & 0x7fff) << 16 | chunks << 8 | next chunk, so a thread claims chunk i
 * of the current call only (compare-and-exchange), and a late worker can never
 * claim a chunk of a call it has not read; `done` counts finished chunks;
 * `error` is set when a chunk throws; `quit` ends the workers; `workerChunks`
 * counts the chunks workers ran (statistics).
 *
 * Chunk i of a call with `count` units in `chunks` chunks is
 * [bound(i), bound(i + 1)), bound(j) = ⌊⌊count·j/chunks⌋ / align⌋·align
 * (bound(chunks) = count), the same on every thread.
 */

/** Indices of the control words (Int32Array). */
export const CTRL = { gen: 0, claim: 1, done: 2, error: 3, quit: 4, probe: 5, workerChunks: 6 } as const;
/** Int32 words of the control block. */
export const CTRL_WORDS = 8;

/** Most threads of a pool. */
export const MAX_THREADS = 64;
/** Most chunks of one call (the claim word has 8 bits for the count). */
export const MAX_CHUNKS = 255;

/**
 * Indices of the description (Float64Array): export index, argument count, the split and scratch argument indices, units,
 * alignment, arguments, one scratch address per thread.
 */
export const DESC = { fn: 0, nargs: 1, split: 2, scratch: 3, count: 4, align: 5, args: 8, scratchPtrs: 32 } as const;
/** Most arguments of a split call. */
export const MAX_ARGS = DESC.scratchPtrs - DESC.args;
/** Float64 slots of the description. */
export const DESC_SLOTS = DESC.scratchPtrs + MAX_THREADS;

/**
 * Loads of the generation word a worker makes before it sleeps in Atomics.wait (about 60 µs on
 * the 2-core VM). Short on purpose: the caller claims every chunk no worker has started, so a
 * sleeping worker costs parallelism, never a stall, while a long spin burns a core the caller
 * or another process could use (MLP step, threads 2, scripts/wasm-threads-bench.ts: 8.3 ms with
 * 2,000 loads, 8.3 with 20,000 (600 µs), at a load average of 1.3-1.5).
 */
export const WORKER_SPIN = 2000;

/** Start of chunk j of `count` units in `chunks` chunks, a multiple of `align` (bound(chunks) = count). */
export function chunkBound(count: number, chunks: number, align: number, j: number): number {
  if (j >= chunks) return count;
  return Math.min(count, Math.floor(Math.floor((count * j) / chunks) / align) * align);
}

/** The claim word of chunk `next` of call `gen` in `chunks` chunks. */
export const claimWord = (gen: number, chunks: number, next: number): number => ((gen & 0x7fff) << 16) | (chunks << 8) | next;
