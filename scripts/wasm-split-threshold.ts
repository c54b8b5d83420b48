// Where splitting one wasm call across 2 threads starts to pay: each op at growing sizes, run
// with the pool forced to split every call (splitMinWork 0) and forbidden to (Infinity), in one
// process, the two alternating run by run so that changing load hits both; the median of REPS
// runs of each. Feeds SPLIT_MIN_WORK in src/backends/wasm/threads.ts.
//   npx tsx scripts/wasm-split-threshold.ts
import { loadavg } from 'node:os';
import * as ct from '../src/index.js';
import { registerBackend, setDefaultBackend } from '../src/backends/registry.js';
import { WasmBackend } from '../src/backends/wasm/WasmBackend.js';

const REPS = 41;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of `whole` and `split`, run alternately. */
function timePair(whole: () => void, split: () => void): [number, number] {
  for (let i = 0; i < 3; i++) {
    whole();
    split();
  }
  const ts: [number[], number[]] = [[], []];
  for (let r = 0; r < REPS; r++) {
    [whole, split].forEach((f, k) => {
      const t0 = performance.now();
      f();
      ts[k]!.push(performance.now() - t0);
    });
  }
  return [median(ts[0]), median(ts[1])];
}

/** A thunk that runs `f` with `b` as the wasm backend (tensors made on it stay on it). */
function on(b: WasmBackend, f: () => void): () => void {
  return () => {
    registerBackend(b);
    setDefaultBackend('wasm');
    f();
  };
}

const values = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5);

type Case = { name: string; sizes: number[]; work: (s: number) => string; run: (s: number) => () => void };

const cases: Case[] = [
  {
    name: 'matmul N×N',
    sizes: [32, 48, 64, 80, 96, 128, 192, 256],
    work: (n) => `${((2 * n * n * n) / 1e6).toFixed(2)} Mflop`,
    run: (n) => {
      const a = ct.keep(ct.reshape(ct.tensor(values(n * n)), [n, n]));
      return () => ct.scope(() => void ct.matmul(a, a));
    },
  },
  ...(
    [
      ['exp', ct.exp],
      ['tanh', ct.tanh],
      ['neg', ct.neg],
    ] as const
  ).map(
    ([op, f]): Case => ({
      name: `unary ${op}`,
      sizes: [4096, 8192, 16384, 32768, 65536, 131072, 262144],
      work: (n) => `${n} el`,
      run: (n) => {
        const a = ct.keep(ct.tensor(values(n)));
        return () => ct.scope(() => void f(a));
      },
    }),
  ),
  {
    name: 'add (same shape)',
    sizes: [16384, 32768, 65536, 131072, 262144],
    work: (n) => `${n} el`,
    run: (n) => {
      const a = ct.keep(ct.tensor(values(n)));
      return () => ct.scope(() => void ct.add(a, a));
    },
  },
  {
    name: 'add row bias [n/256, 256]',
    sizes: [16384, 32768, 65536, 131072, 262144],
    work: (n) => `${n} el`,
    run: (n) => {
      const a = ct.keep(ct.reshape(ct.tensor(values(n)), [n / 256, 256]));
      const b = ct.keep(ct.tensor(values(256)));
      return () => ct.scope(() => void ct.add(a, b));
    },
  },
  {
    name: 'transpose [n/256, 256]',
    sizes: [16384, 32768, 65536, 131072, 262144],
    work: (n) => `${n} el`,
    run: (n) => {
      const a = ct.keep(ct.reshape(ct.tensor(values(n)), [n / 256, 256]));
      return () => ct.scope(() => void ct.transpose(a));
    },
  },
  {
    name: 'sum rows [n/256, 256] axis 1',
    sizes: [16384, 32768, 65536, 131072, 262144],
    work: (n) => `${n} el`,
    run: (n) => {
      const a = ct.keep(ct.reshape(ct.tensor(values(n)), [n / 256, 256]));
      return () => ct.scope(() => void ct.sum(a, 1));
    },
  },
];

const backends = {
  whole: await WasmBackend.create({ threads: 2, splitMinWork: Number.POSITIVE_INFINITY }),
  split: await WasmBackend.create({ threads: 2, splitMinWork: 0 }),
};
console.log(
  `threads 2, median of ${REPS} alternating runs; ms for one op with its call kept whole vs split in 2; load ${loadavg()[0]!.toFixed(2)}`,
);
for (const c of cases) {
  for (const s of c.sizes) {
    registerBackend(backends.whole);
    setDefaultBackend('wasm');
    const whole = c.run(s);
    registerBackend(backends.split);
    setDefaultBackend('wasm');
    const split = c.run(s);
    const [w, sp] = timePair(on(backends.whole, whole), on(backends.split, split));
    const ms = { whole: w, split: sp };
    const ratio = ms.whole! / ms.split!;
    console.log(
      `${c.name.padEnd(30)} ${String(s).padStart(7)} (${c.work(s)})  whole ${ms.whole!.toFixed(4)}  split ` +
        `${ms.split!.toFixed(4)}  speed-up ${ratio.toFixed(2)}${ratio > 1 ? '  *' : ''}`,
    );
  }
}
for (const b of Object.values(backends)) b.destroy();
console.log(`load at end ${loadavg()[0]!.toFixed(2)}`);
