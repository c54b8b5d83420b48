/**
 * Micro-benchmark of the wasm backend's matmul kernel (src/backends/wasm/assembly/matmul.ts,
 * compiled here with the backend's asc flags, one thread: all jobs in one call) beside
 * jax-js's wasm matmul (one thread in Node), in the same process on the same data.
 * Repetitions of the two alternate, so that a change of load on a shared machine hits
 * both alike; medians (and the best repetition) in GFLOP/s, and their ratio.
 *
 *   npx tsx bench/wasm-matmul.ts            (BENCH_SIZES=256,512,1024,257,1000 by default)
 */
import { loadavg } from 'node:os';
import { instantiateMatmulKernel } from '../tests/wasm/matmul-kernel.js';
import { gflops, uniform } from './data.js';

const SIZES = (process.env['BENCH_SIZES'] ?? '256,512,1024,257,1000').split(',').map(Number);
const MIN_MS = Number(process.env['BENCH_MIN_MS'] ?? 3000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => x.toFixed(1).padStart(6);

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`load average (1, 5, 15 min) at start: ${load()}`);
const { exports: mm, memory } = await instantiateMatmulKernel();
const jax = await import('@jax-js/jax');
const devices: string[] = await jax.init('wasm');
if (!devices.includes('wasm')) throw new Error(`jax-js wasm device not available (got ${devices.join(', ')})`);
jax.defaultDevice('wasm');
const np = jax.numpy;

console.log('   N | cotangent wasm GFLOP/s (median, best) | jax-js wasm GFLOP/s (median, best) | ratio (medians)');
for (const n of SIZES) {
  const aData = uniform(n * n, 1);
  const bData = uniform(n * n, 2);
  // Our kernel: A, B, out and scratch in the shared memory, 16-byte aligned.
  const base = 1024;
  const pa = base;
  const pb = pa + 4 * n * n;
  const pc = pb + 4 * n * n;
  const ps = pc + 4 * n * n;
  const top = ps + mm.matmul_f32_scratch_bytes(n, n, n);
  const pages = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  new Float32Array(memory.buffer, pa, n * n).set(aData);
  new Float32Array(memory.buffer, pb, n * n).set(bData);
  const jobs = mm.matmul_f32_jobs(1, n, n, n);
  const ours = () => mm.matmul_f32(pa, pb, pc, 1, n, n, n, 0, 0, ps, 0, jobs);
  const a = np.array(aData).reshape([n, n]);
  const b = np.array(bData).reshape([n, n]);
  // jax-js arrays are lazy: the product must be realised before the clock stops.
  const theirs = async () => (await np.matmul(a.ref, b.ref).blockUntilReady()).dispose();

  // Both agree (a sanity check that the timed kernels compute the product).
  ours();
  const check = (await np.matmul(a.ref, b.ref).data()) as Float32Array;
  const got = new Float32Array(memory.buffer, pc, n * n);
  let maxDiff = 0;
  for (let i = 0; i < n * n; i += 97) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - check[i]!));
  if (maxDiff > 1e-3) throw new Error(`N = ${n}: cotangent and jax-js differ by ${maxDiff}`);

  await theirs();
  ours();
  const tOurs: number[] = [];
  const tTheirs: number[] = [];
  const start = performance.now();
  while (tOurs.length < 5 || (performance.now() - start < MIN_MS && tOurs.length < 200)) {
    let t0 = performance.now();
    ours();
    tOurs.push(performance.now() - t0);
    t0 = performance.now();
    await theirs();
    tTheirs.push(performance.now() - t0);
  }
  a.dispose();
  b.dispose();
  const g = (ms: number) => gflops(n, ms);
  const [om, ob, tm, tb] = [g(median(tOurs)), g(Math.min(...tOurs)), g(median(tTheirs)), g(Math.min(...tTheirs))];
  console.log(
    `${String(n).padStart(4)} | ${fmt(om)} ${fmt(ob)}${' '.repeat(25)} | ` +
      `${fmt(tm)} ${fmt(tb)}${' '.repeat(21)} | ${(om / tm).toFixed(2)}×`,
  );
}
console.log(`load average (1, 5, 15 min) at end: ${load()}`);
