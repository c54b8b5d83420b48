/**
 * ns/element of the wasm transcendental map kernels (src/backends/wasm/assembly/math.ts)
 * against plain JavaScript Math.* loops over a Float32Array, single thread.
 * Run: npx tsx bench/wasm-math.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'cotangent-wasm-math-bench-'));
const wasmPath = join(dir, 'math.wasm');
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/assemblyscript/bin/asc.js'),
    join(root, 'src/backends/wasm/assembly/math.ts'),
    '-o',
    wasmPath,
    ...['-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--sharedMemory', '--initialMemory', '16'],
    ...['--maximumMemory', '65536', '--enable', 'simd', '--enable', 'threads'],
  ],
  { stdio: 'pipe' },
);
const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { env: { memory } });
rmSync(dir, { recursive: true, force: true });
type Map1 = (x: number, out: number, n: number) => void;
const ex = instance.exports as unknown as Record<string, Map1> & { map_pow_f32: (a: number, b: number, out: number, n: number) => void };

const N = 65536;
const X = 0;
const Y = 4 * N;
const OUT = 8 * N;
const heap = new Float32Array(memory.buffer);
for (let i = 0; i < N; i++) {
  heap[X / 4 + i] = Math.fround(-5 + (10 * i) / N);
  heap[Y / 4 + i] = Math.fround(0.1 + (3 * i) / N);
}

function time(f: () => void): number {
  for (let i = 0; i < 20; i++) f();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) f();
    best = Math.min(best, (performance.now() - t0) / 20);
  }
  return (best * 1e6) / N;
}

const js: Record<string, (x: number) => number> = {
  exp: Math.exp,
  log: (x) => Math.log(Math.abs(x)),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};
const xs = new Float32Array(N);
xs.set(heap.subarray(X / 4, X / 4 + N));
const ys = new Float32Array(N);
ys.set(heap.subarray(Y / 4, Y / 4 + N));
const out = new Float32Array(N);
console.log(`| kernel | wasm ns/elem | JS Math loop ns/elem | speed-up |`);
console.log(`|---|---|---|---|`);
for (const name of ['exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'pow']) {
  let w: number;
  let j: number;
  if (name === 'pow') {
    w = time(() => ex.map_pow_f32(Y, X, OUT, N));
    j = time(() => {
      for (let i = 0; i < N; i++) out[i] = ys[i]! ** xs[i]!;
    });
  } else {
    const input = name === 'log' ? Y : X;
    const kernel = ex[`map_${name}_f32`]!;
    w = time(() => kernel(input, OUT, N));
    const f = js[name]!;
    const src = name === 'log' ? ys : xs;
    j = time(() => {
      for (let i = 0; i < N; i++) out[i] = f(src[i]!);
    });
  }
  console.log(`| ${name} | ${w.toFixed(2)} | ${j.toFixed(2)} | ${(j / w).toFixed(1)}x |`);
}
