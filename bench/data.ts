/**
 * Benchmark workloads and their seeded data, shared by every peer so that all
 * of them compute the same thing: square matmuls, and one SGD step of an MLP
 * 784-256-128-10 (ReLU, softmax cross-entropy, batch 128, learning rate 0.1).
 */
import { mulberry32 } from '../src/core/seededRandom.js';

export const MATMUL_SIZES = (process.env['BENCH_SIZES'] ?? '256,512,1024').split(',').map(Number);
/** Matmuls per timed repetition (then one wait): amortises the read-back on fast GPUs. */
export const MM_BATCH = Number(process.env['BENCH_MM_BATCH'] ?? 1);
export const MLP = { sizes: [784, 256, 128, 10], batch: 128, lr: 0.1 } as const;

/** mulberry32: a small deterministic PRNG (the library's; a module without imports, so a peer loads no cotangent). */
export const rng: (seed: number) => () => number = mulberry32;

export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export interface MlpData {
  /** [W1, b1, W2, b2, W3, b3] as flat arrays with their shapes. */
  readonly params: { data: Float32Array; shape: number[] }[];
  readonly x: Float32Array;
  readonly labels: Int32Array;
}

export function mlpData(): MlpData {
  const s = MLP.sizes;
  const params: { data: Float32Array; shape: number[] }[] = [];
  for (let i = 0; i < s.length - 1; i++) {
    const lim = Math.sqrt(6 / (s[i]! + s[i + 1]!));
    params.push({ data: uniform(s[i]! * s[i + 1]!, 100 + i, -lim, lim), shape: [s[i]!, s[i + 1]!] });
    params.push({ data: new Float32Array(s[i + 1]!), shape: [s[i + 1]!] });
  }
  const r = rng(7);
  return { params, x: uniform(MLP.batch * s[0], 9, 0, 1), labels: Int32Array.from({ length: MLP.batch }, () => Math.floor(r() * 10)) };
}

export interface Timing {
  /** Median milliseconds of one repetition. */
  readonly ms: number;
  readonly reps: number;
}

/**
 * BENCH_QUICK=1 (`npm run bench -- --quick`): one warm-up and two repetitions per figure, a smoke test of the runner, not a
 * measurement.
 */
export const QUICK = process.env['BENCH_QUICK'] === '1';

/** Warm up, then repeat `fn` until `minMs` have passed (at least `minReps`, at most `maxReps`); median time. */
export async function time(
  fn: () => Promise<unknown>,
  opts: { warmup?: number; minReps?: number; maxReps?: number; minMs?: number } = {},
): Promise<Timing> {
  const { warmup = 1, minReps = 3, maxReps = 50, minMs = 1500 } = QUICK ? { warmup: 1, minReps: 2, maxReps: 2, minMs: 0 } : opts;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || (times.length < maxReps && performance.now() - start < minMs)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, reps: times.length };
}

/** One peer's results, printed by its worker as one JSON line. */
export interface PeerResult {
  readonly peer: string;
  readonly device: string;
  readonly matmul: { n: number; ms: number; gflops: number }[];
  readonly mlp: { msPerStep: number; stepsPerSec: number; firstLoss: number; reps: number } | null;
  /** cotangent only: the same step compiled with jit (and its WebGPU queue submissions per step). */
  readonly mlpJit?: { msPerStep: number; stepsPerSec: number; firstLoss: number; reps: number; submitsPerStep: number };
  /** cotangent cpu / wasm only: jacfwd and jacrev batched with vmap vs one pass per basis vector (bench/jacobian.ts). */
  readonly jacobian?: JacobianResult;
  readonly error?: string;
}

/** Jacobians of an n → n function in ms: one batched pass (vectorized) vs one pass per basis vector (loop). */
export interface JacobianResult {
  readonly n: number;
  readonly fwdVectorizedMs: number;
  readonly fwdLoopMs: number;
  readonly revVectorizedMs: number;
  readonly revLoopMs: number;
}

export const gflops = (n: number, ms: number): number => (2 * n ** 3) / (ms * 1e6);
