/**
 * The wasm worker pool. Law: threads = 1 and threads = 2 give bitwise the same
 * results, for every kernel family that is split: matmul (jobs partition the
 * output and each element's k order is fixed), elementwise maps, where, cast,
 * gathers and scatters (each element computed alone), and reductions (split
 * over output rows only, so each output's summation order is fixed: bitwise
 * too, no tolerance needed). Checked on large shapes that cross the default
 * thresholds, and with every splittable call forced to split (splitMinWork 0)
 * on odd shapes that put chunk boundaries everywhere; the worker is checked
 * to have run chunks, so a pool that computed nothing would fail. Also: many
 * ops in a row (no deadlock), memory growth seen by the worker, a Node
 * process with a 2-thread pool exits without shutdown(), shutdown() then
 * init() again, tensors of a shut-down backend are a clear error, and the
 * single-thread fallback on an unshared memory.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { getBackendByName, registerBackend, setDefaultBackend, unregisterBackend } from '../../src/backends/registry.js';
import { chunkBound } from '../../src/backends/wasm/layout.js';
import { partsOf, SPLIT_MIN_WORK } from '../../src/backends/wasm/threads.js';
import { unsharedModuleBytes, WasmBackend } from '../../src/backends/wasm/WasmBackend.js';

const root = resolve(import.meta.dirname, '../..');

/** Deterministic values in [-2, 2) with a few specials (0, -0, NaN, ±inf, tiny). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  const specials = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40];
  for (let i = 0; i < n && i < 6 * 97; i += 97) out[i] = specials[(i / 97) % 6]!;
  return out;
}

/** A program: inputs (shape, seed) made on the active backend, outputs read back as raw bits. */
interface Program {
  readonly name: string;
  readonly inputs: readonly (readonly number[])[];
  readonly run: (xs: ct.Tensor[]) => ct.Tensor[];
  /** Inputs without special values (matmul: NaN would spread over whole rows and hide differences). */
  readonly finite?: boolean;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function runOn(b: WasmBackend, p: Program): Uint32Array[] {
  registerBackend(b);
  setDefaultBackend('wasm');
  return ct.scope(() => {
    const xs = p.inputs.map((s, i) => {
      const v = values(size(s), 17 + 31 * i + size(s));
      if (p.finite) for (let j = 0; j < v.length; j++) if (!Number.isFinite(v[j]!) || Math.abs(v[j]!) < 1e-30) v[j] = 0.5;
      return ct.tensor(v, { shape: [...s], backend: 'wasm' });
    });
    return p.run(xs).map((t) => {
      const d = t.dataSync();
      return new Uint32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
    });
  });
}

/** The first index where two bit patterns differ, or -1. */
function firstDiff(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function expectSameBits(p: Program, one: WasmBackend, many: WasmBackend): void {
  const a = runOn(one, p);
  const b = runOn(many, p);
  expect(b.length).toBe(a.length);
  a.forEach((x, i) => {
    expect(firstDiff(x, b[i]!), `${p.name}: output ${i} differs at element`).toBe(-1);
  });
}

/** Every split kernel family, on shapes above the default thresholds. */
const large: Program[] = [
  {
    name: 'matmul 300×700 · 700×520',
    inputs: [
      [300, 700],
      [700, 520],
    ],
    run: ([a, b]) => [ct.matmul(a!, b!)],
    finite: true,
  },
  {
    name: 'batched matmul 3×65×130 · 130×600',
    inputs: [
      [3, 65, 130],
      [130, 600],
    ],
    run: ([a, b]) => [ct.matmul(a!, b!)],
    finite: true,
  },
  {
    name: 'vector × matrix 2×3000 · 3000×1100',
    inputs: [
      [2, 3000],
      [3000, 1100],
    ],
    run: ([a, b]) => [ct.matmul(a!, b!)],
    finite: true,
  },
  {
    name: 'exp, tanh, sigmoid, log, sin of 200,003',
    inputs: [[200_003]],
    run: ([x]) => [ct.exp(x!), ct.tanh(x!), ct.sigmoid(x!), ct.log(x!), ct.sin(x!)],
  },
  { name: 'neg, relu, sqrt, abs of 300,001', inputs: [[300_001]], run: ([x]) => [ct.neg(x!), ct.relu(x!), ct.sqrt(x!), ct.abs(x!)] },
  {
    name: 'add, mul, div, pow, maximum (same shape, one long row)',
    inputs: [[150_001], [150_001]],
    run: ([a, b]) => [ct.add(a!, b!), ct.mul(a!, b!), ct.div(a!, b!), ct.pow(a!, b!), ct.maximum(a!, b!)],
  },
  { name: 'scalar operand', inputs: [[140_007]], run: ([a]) => [ct.mul(a!, 3), ct.sub(2, a!)] },
  { name: 'row broadcast [517, 389] + [389]', inputs: [[517, 389], [389]], run: ([a, b]) => [ct.add(a!, b!), ct.greater(a!, b!)] },
  { name: 'where', inputs: [[451, 300], [451, 300], [300]], run: ([c, a, b]) => [ct.where(ct.greater(c!, 0), a!, b!)] },
  {
    name: 'cast f32 → i32 → f32',
    inputs: [[250_001]],
    run: ([x]) => [ct.cast(ct.mul(x!, 1000), 'i32'), ct.cast(ct.cast(ct.mul(x!, 100), 'i32'), 'f32')],
  },
  {
    name: 'transpose, slice, broadcastTo',
    inputs: [[517, 389]],
    run: ([x]) => [ct.transpose(x!), ct.slice(x!, [3, 5], [500, 300]), ct.broadcastTo(ct.slice(x!, [0, 0], [1, 389]), [400, 389])],
  },
  {
    name: 'pad, concat',
    inputs: [
      [517, 389],
      [100, 389],
    ],
    run: ([a, b]) => [
      ct.pad(a!, [
        [2, 3],
        [1, 4],
      ]),
      ct.concat([a!, b!], 0),
    ],
  },
  {
    name: 'sum, max over rows; argmax',
    inputs: [[1000, 301]],
    run: ([x]) => [ct.sum(x!, 1), ct.max(x!, 1), ct.argmax(x!, 1), ct.sum(ct.transpose(x!), 0)],
  },
  { name: 'sum over a middle axis [40, 300, 17]', inputs: [[40, 300, 17]], run: ([x]) => [ct.sum(x!, 1), ct.max(x!, [0, 2])] },
];

/** Odd and prime shapes, forced to split: chunk boundaries in the SIMD body, the tail, row edges. */
const small: Program[] = [
  {
    name: 'matmul 67×13 · 13×9',
    inputs: [
      [67, 13],
      [13, 9],
    ],
    run: ([a, b]) => [ct.matmul(a!, b!)],
    finite: true,
  },
  {
    name: 'matmul 129×257 · 257×515',
    inputs: [
      [129, 257],
      [257, 515],
    ],
    run: ([a, b]) => [ct.matmul(a!, b!)],
    finite: true,
  },
  {
    name: 'batched matmul 5×7×3 · 5×3×11',
    inputs: [
      [5, 7, 3],
      [5, 3, 11],
    ],
    run: ([a, b]) => [ct.matmul(a!, b!)],
    finite: true,
  },
  { name: 'exp, neg of 37', inputs: [[37]], run: ([x]) => [ct.exp(x!), ct.neg(x!)] },
  { name: 'add of 9,001 (a long row cut in rows + tail)', inputs: [[9001], [9001]], run: ([a, b]) => [ct.add(a!, b!), ct.sub(a!, 1)] },
  { name: 'add [7, 5] + [5]', inputs: [[7, 5], [5]], run: ([a, b]) => [ct.add(a!, b!)] },
  { name: 'where [3, 11]', inputs: [[3, 11], [3, 11], [11]], run: ([c, a, b]) => [ct.where(ct.less(c!, 0), a!, b!)] },
  {
    name: 'transpose, pad, concat [13, 7]',
    inputs: [
      [13, 7],
      [2, 7],
    ],
    run: ([a, b]) => [
      ct.transpose(a!),
      ct.pad(a!, [
        [1, 0],
        [0, 2],
      ]),
      ct.concat([a!, b!], 0),
    ],
  },
  {
    name: 'sum, max, argmax [11, 3, 5]',
    inputs: [[11, 3, 5]],
    run: ([x]) => [ct.sum(x!, 1), ct.max(x!, 2), ct.argmax(x!, 0), ct.sum(x!, [0, 2])],
  },
  { name: 'cast of 19', inputs: [[19]], run: ([x]) => [ct.cast(ct.mul(x!, 7), 'i32')] },
];

let one: WasmBackend;
let two: WasmBackend;
let twoAlways: WasmBackend;
let workersOnly: WasmBackend;

describe('wasm worker pool: threads = 1 and threads = 2 agree bitwise', () => {
  beforeAll(async () => {
    one = await WasmBackend.create({ threads: 1 });
    two = await WasmBackend.create({ threads: 2 });
    twoAlways = await WasmBackend.create({ threads: 2, splitMinWork: 0 });
    workersOnly = await WasmBackend.create({ threads: 3, splitMinWork: 0, callerRuns: false });
  });
  afterAll(() => {
    for (const b of [one, two, twoAlways, workersOnly]) b.destroy();
    unregisterBackend('wasm');
  });

  it('describes its threads', () => {
    expect(one.describe()).toContain('1 thread;');
    expect(two.describe()).toContain('2 threads: the calling one and 1 worker');
  });

  it('chunks partition the range, aligned, the same on every thread', () => {
    for (const [count, parts, align] of [
      [10, 2, 1],
      [37, 2, 16],
      [1, 2, 16],
      [100_003, 3, 16],
      [5, 4, 1],
    ] as const) {
      const b = Array.from({ length: parts + 1 }, (_, j) => chunkBound(count, parts, align, j));
      expect(b[0]).toBe(0);
      expect(b[parts]).toBe(count);
      for (let j = 1; j < parts; j++) {
        expect(b[j]! % align).toBe(0);
        expect(b[j]!).toBeGreaterThanOrEqual(b[j - 1]!);
      }
    }
    expect(partsOf(2, 100, SPLIT_MIN_WORK.map - 1, SPLIT_MIN_WORK.map)).toBe(1);
    expect(partsOf(2, 100, SPLIT_MIN_WORK.map, SPLIT_MIN_WORK.map)).toBe(2);
    expect(partsOf(2, 1, 1e12, 1)).toBe(1);
    expect(partsOf(1, 100, 1e12, 1)).toBe(1);
  });

  for (const p of large)
    it(`large shapes, default thresholds: ${p.name}`, () => {
      const before = two.memoryStats().splitCalls;
      expectSameBits(p, one, two);
      expect(two.memoryStats().splitCalls, 'the op crossed the threshold and was split').toBeGreaterThan(before);
    });

  for (const p of small)
    it(`every call split: ${p.name}`, () => {
      const before = twoAlways.memoryStats().splitCalls;
      expectSameBits(p, one, twoAlways);
      expect(twoAlways.memoryStats().splitCalls).toBeGreaterThan(before);
      // the same with every chunk on the workers (2 workers, the caller only waits)
      const chunks = workersOnly.memoryStats().workerChunks;
      expectSameBits(p, one, workersOnly);
      expect(workersOnly.memoryStats().workerChunks).toBeGreaterThan(chunks);
    });

  it('the workers really ran chunks (a pool that skipped its range would differ above)', () => {
    expect(two.memoryStats().workerChunks).toBeGreaterThan(0);
    expect(workersOnly.memoryStats().workerChunks).toBeGreaterThanOrEqual(workersOnly.memoryStats().splitCalls * 2);
  });

  it('small ops stay on the calling thread', () => {
    const before = two.memoryStats().splitCalls;
    runOn(two, {
      name: 'small',
      inputs: [[1000], [1000]],
      run: ([a, b]) => [ct.add(a!, b!), ct.exp(a!), ct.matmul(ct.reshape(a!, [10, 100]), ct.reshape(b!, [100, 10]))],
    });
    expect(two.memoryStats().splitCalls).toBe(before);
  });

  it('many ops in a row, small and large alternating (no deadlock), still bitwise equal', () => {
    const chain: Program = {
      name: 'chain',
      inputs: [
        [256, 300],
        [300, 300],
      ],
      run: ([a, w]) => {
        let x = a!;
        for (let i = 0; i < 300; i++) {
          x = ct.tanh(ct.matmul(x, ct.mul(w!, 0.05)));
          x = ct.add(x, ct.sum(ct.slice(x, [0, 0], [1, 300]), 1));
        }
        return [x];
      },
      finite: true,
    };
    const t0 = performance.now();
    expectSameBits(chain, one, twoAlways);
    expect(performance.now() - t0).toBeLessThan(60_000);
  });

  it('memory growth: the worker computes on blocks above the old memory size', () => {
    const p: Program = {
      name: 'after growth',
      inputs: [[4_000_000], [4_000_000], [700, 500], [500, 600]],
      run: ([x, y, a, b]) => [ct.add(x!, y!), ct.exp(x!), ct.matmul(a!, b!)],
      finite: true,
    };
    const mem0 = workersOnly.memoryStats().memoryBytes;
    expectSameBits(p, one, workersOnly); // every chunk on the workers, above the old size
    expect(workersOnly.memoryStats().memoryBytes).toBeGreaterThan(mem0);
  });

  it('a kernel that traps on a worker is an error on the calling thread, and the pool keeps working', () => {
    const n = 1 << 16;
    const bad = {
      fn: 'unary_f32',
      args: [0, 0xfffff000, 1 << 20, 0, n],
      split: { index: 3, count: n, work: n, kind: 'map' as const, align: 16 },
    };
    expect(() => workersOnly.execute([bad], 'exp')).toThrow(/exp \(unary_f32\): the kernel failed on a worker thread/);
    expect(() => twoAlways.execute([bad], 'exp')).toThrow();
    expectSameBits(small[4]!, one, workersOnly);
    expectSameBits(small[4]!, one, twoAlways);
  });

  it('single-thread fallback on an unshared memory (a page without SharedArrayBuffer): same results', async () => {
    const bytes = new Uint8Array(Buffer.from((await import('../../src/backends/wasm/kernelsBinary.js')).KERNELS_WASM_BASE64, 'base64'));
    const imports = (b: Uint8Array) => WebAssembly.Module.imports(new WebAssembly.Module(b as Uint8Array<ArrayBuffer>));
    expect(imports(unsharedModuleBytes(bytes))).toEqual(imports(bytes));
    expect(
      () =>
        new WebAssembly.Instance(new WebAssembly.Module(unsharedModuleBytes(bytes) as Uint8Array<ArrayBuffer>), {
          env: { memory: new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true }) },
        }),
    ).toThrow();
    const unshared = await WasmBackend.create({ threads: 2, sharedMemory: false });
    try {
      expect(unshared.threads).toBe(1);
      expect(unshared.memory.buffer).toBeInstanceOf(ArrayBuffer);
      expectSameBits(large[0]!, one, unshared);
      expectSameBits(small[4]!, one, unshared);
    } finally {
      unshared.destroy();
    }
  });
});

describe('wasm pool lifecycle through init and shutdown', () => {
  afterAll(async () => {
    await ct.shutdown('wasm');
    await ct.init({ backend: 'cpu' });
  });

  it('threads defaults to the available cores; a different count while running is an error', async () => {
    await ct.init({ backend: 'wasm' });
    const { availableParallelism } = await import('node:os');
    const b = getBackendByName('wasm') as WasmBackend;
    expect(b.threads).toBe(Math.min(availableParallelism(), 64));
    await expect(ct.init({ backend: 'wasm', threads: b.threads + 1 })).rejects.toThrow(
      /already runs with .* call await shutdown\(\) before/,
    );
    await expect(ct.init({ backend: 'wasm', threads: b.threads })).resolves.toBe('wasm');
    await ct.shutdown('wasm');
    await expect(ct.init({ backend: 'wasm', threads: 0 })).rejects.toThrow(/threads must be an integer from 1 to 64/);
  });

  it('shutdown() ends the pool and forgets the tensors; using one is a clear error; init again works', async () => {
    await ct.init({ backend: 'wasm', threads: 2 });
    const x = ct.tensor(values(70_000, 3), { shape: [280, 250] });
    const y = ct.keep(ct.matmul(x, ct.transpose(x)));
    const before = Array.from(y.dataSync());
    expect(ct.memoryStats().byBackend.wasm?.tensors).toBeGreaterThan(0);
    await ct.shutdown();
    expect(ct.memoryStats().byBackend.wasm?.tensors ?? 0).toBe(0);
    expect(ct.getBackend()).toBe('cpu');
    expect(() => y.dataSync()).toThrow(/wasm backend, which was shut down \(shutdown\(\)\).*init\(\{ backend: 'wasm' \}\)/);
    expect(() => ct.add(x, 1)).toThrow(/shut down/);
    expect(() => ct.tensor([1], { backend: 'wasm' })).toThrow(/not initialised/);
    await ct.init({ backend: 'wasm', threads: 2 });
    const x2 = ct.tensor(values(70_000, 3), { shape: [280, 250] });
    expect(Array.from(ct.matmul(x2, ct.transpose(x2)).dataSync())).toEqual(before);
    expect(ct.backendInfo()).toContain('2 threads');
  });

  it('a Node process with a 2-thread pool exits on its own (no shutdown()) within seconds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cotangent-threads-'));
    try {
      const script = join(dir, 'exit.mts');
      writeFileSync(
        script,
        [
          `import * as ct from ${JSON.stringify(join(root, 'src/index.ts'))};`,
          "await ct.init({ backend: 'wasm', threads: 2 });",
          'const a = ct.reshape(ct.tensor(new Float32Array(512 * 512).fill(0.5)), [512, 512]);',
          'const c = ct.matmul(a, a).dataSync();',
          "console.log('matmul', c[0], ct.backendInfo());",
        ].join('\n'),
      );
      const t0 = performance.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, timeout: 30_000, encoding: 'utf8' });
      const seconds = (performance.now() - t0) / 1000;
      expect(r.stderr).toBe('');
      // f32x4, or f32x4 + relaxed FMA (the relaxed module: the default in Node, COTANGENT_WASM_RELAXED=0 turns it off)
      expect(r.stdout).toMatch(/matmul 128 WebAssembly SIMD \(f32x4( \+ relaxed FMA)?; 2 threads/);
      expect(r.signal).toBeNull();
      expect(r.status).toBe(0);
      expect(seconds).toBeLessThan(15); // tsx startup included; a pool holding the process would hit the 30 s timeout
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
