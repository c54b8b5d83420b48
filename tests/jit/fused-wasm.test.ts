/**
 * Fused elementwise kernels on the wasm backend (src/backends/wasm/fused.ts, assembly/fused.ts).
 * Law: `runFused` equals `runFusedEagerly` (the same nodes one primitive at a time through the
 * unfused wasm kernels) bit for bit (NaN equals NaN), on random f32 and i32 kernels with random
 * broadcasting inputs; every op code of each dtype alone against its unfused kernel; hand-written
 * cases: broadcasting, scalar inputs, empty shapes, several outputs, sizes that are not multiples of
 * 4 or of the block, a kernel split across threads (the workers checked to have run chunks), `where`
 * with an i32 condition on f32 values, NaN propagation; a few results against values computed here
 * by hand; `wasmFusible` against the primitives' fusion descriptions; clear errors for what wasm lacks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FusedBackend, FusedKernel, FusedNode } from '../../src/backends/fused.js';
import { isFusedBackend } from '../../src/backends/fused.js';
import { defaultBackend, getBackendByName } from '../../src/backends/registry.js';
import { FUSED_BLOCK, wasmFusible } from '../../src/backends/wasm/fused.js';
import { WasmBackend } from '../../src/backends/wasm/WasmBackend.js';
import { fromTypedArray } from '../../src/ops/creation.js';
import { lookupPrimitive } from '../../src/ops/primitives.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import {
  arbFusedKernel,
  COMPARISONS,
  FLOAT_BINARY,
  FLOAT_UNARY,
  INT_BINARY,
  INT_UNARY,
  expectFusedSame,
  forAllKernels,
  inputNode as input,
  lcgValues,
  literalNode as literal,
  opNode,
} from './fusedKernels.js';

let wasm: WasmBackend;

beforeAll(() => {
  defaultBackend();
  wasm = getBackendByName('wasm') as WasmBackend;
});

/**
 * The fused outputs on `fusedOn` equal the eager ones on the registered wasm backend bit for bit (NaN = NaN); returns the
 * fused outputs.
 */
const expectSame = (k: FusedKernel, data: readonly TypedArray[], fusedOn: WasmBackend = wasm): TypedArray[] =>
  expectFusedSame(k, data, fusedOn, wasm);

/** Deterministic f32 values in [-3, 3) with specials (0, -0, NaN, ±inf, 1, a subnormal) every 13 elements. */
function values(n: number, seed: number): Float32Array {
  const out = lcgValues(n, seed);
  const specials = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1, 1e-40];
  for (let i = 5; i < n; i += 13) out[i] = specials[((i / 13) % specials.length) | 0]!;
  return out;
}

/** Deterministic i32 values in [-20, 20] with a few extremes. */
function ints(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s % 41) - 20;
  }
  const specials = [0, -2147483648, 2147483647, 65536, -1];
  for (let i = 3; i < n; i += 11) out[i] = specials[((i / 11) % specials.length) | 0]!;
  return out;
}

describe('wasm fused kernels equal the unfused wasm ops (runFusedEagerly), bit for bit', () => {
  it('the wasm backend is a fused backend', () => {
    expect(isFusedBackend(wasm)).toBe(true);
  });

  it('random f32 kernels', () => {
    forAllKernels(arbFusedKernel(), expectSame, 150);
  });

  it('random i32 kernels', () => {
    forAllKernels(arbFusedKernel({ dtype: 'i32' }), expectSame, 150);
  });

  it('random f32 kernels over more than a block (a partial last block, strided inputs)', () => {
    forAllKernels(arbFusedKernel({ maxRank: 3, maxDim: 13, maxNodes: 6 }), expectSame, 40);
  });

  it('random i32 kernels over more than a block', () => {
    forAllKernels(arbFusedKernel({ dtype: 'i32', maxRank: 3, maxDim: 13, maxNodes: 6 }), expectSame, 30);
  });

  it('every unary and binary op of each dtype alone, on 37 elements (vector body and partial vector)', () => {
    const cases: [string, DType, number][] = [
      ...FLOAT_UNARY.map((op): [string, DType, number] => [op, 'f32', 1]),
      ...INT_UNARY.map((op): [string, DType, number] => [op, 'i32', 1]),
      ...[...FLOAT_BINARY, ...COMPARISONS].map((op): [string, DType, number] => [op, 'f32', 2]),
      ...[...INT_BINARY, ...COMPARISONS].map((op): [string, DType, number] => [op, 'i32', 2]),
    ];
    for (const [op, dtype, arity] of cases) {
      const args = arity === 1 ? [0] : [0, 1];
      const k: FusedKernel = {
        shape: [37],
        inputs: args.map(() => ({ shape: [37], dtype })),
        nodes: [...args.map((i) => input(i, dtype)), opNode(op, args, dtype)],
        outputs: [arity],
      };
      const data = args.map((i) => (dtype === 'f32' ? values(37, 7 + i) : ints(37, 7 + i)));
      const [got] = expectSame(k, data);
      // and the op really ran: a wrong op code would give other values
      if (op === 'neg') expect(Array.from(got!.slice(0, 4))).toEqual(Array.from(data[0]!.slice(0, 4)).map((v) => (v === 0 ? 0 : -v)));
    }
  });
});

describe('wasm fused kernels: hand-written cases', () => {
  it('broadcasting [3, 1] × [1, 4], against values computed here', () => {
    const k: FusedKernel = {
      shape: [3, 4],
      inputs: [
        { shape: [3, 1], dtype: 'f32' },
        { shape: [1, 4], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('mul', [0, 1], 'f32'), opNode('sub', [2, 0], 'f32')],
      outputs: [3],
    };
    const a = Float32Array.of(1, 2, 3);
    const b = Float32Array.of(10, 20, 30, 40);
    const [got] = expectSame(k, [a, b]);
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) want.push(a[i]! * b[j]! - a[i]!);
    expect(Array.from(got!)).toEqual(want);
  });

  it('broadcasting a middle axis and a transposed-like [4, 1, 5] × [3, 1] × [5] → [4, 3, 5]', () => {
    const k: FusedKernel = {
      shape: [4, 3, 5],
      inputs: [
        { shape: [4, 1, 5], dtype: 'f32' },
        { shape: [3, 1], dtype: 'f32' },
        { shape: [5], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), input(2), opNode('add', [0, 1], 'f32'), opNode('maximum', [3, 2], 'f32')],
      outputs: [4],
    };
    expectSame(k, [values(20, 1), values(3, 2), values(5, 3)]);
  });

  it('a scalar input and literals', () => {
    const k: FusedKernel = {
      shape: [2, 3],
      inputs: [
        { shape: [2, 3], dtype: 'f32' },
        { shape: [], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), literal(0.5), opNode('mul', [0, 1], 'f32'), opNode('add', [3, 2], 'f32')],
      outputs: [4],
    };
    const x = Float32Array.of(1, 2, 3, 4, 5, 6);
    const [got] = expectSame(k, [x, Float32Array.of(3)]);
    expect(Array.from(got!)).toEqual([3.5, 6.5, 9.5, 12.5, 15.5, 18.5]);
  });

  it('a rank-0 kernel, and an output that is an input, a literal or a repeated node', () => {
    const k: FusedKernel = {
      shape: [],
      inputs: [{ shape: [], dtype: 'f32' }],
      nodes: [input(0), literal(2), opNode('pow', [0, 1], 'f32')],
      outputs: [2, 0, 1, 2],
    };
    const got = expectSame(k, [Float32Array.of(-3)]);
    expect(got.map((g) => g[0])).toEqual([9, -3, 2, 9]);
    const big: FusedKernel = {
      shape: [1000],
      inputs: [{ shape: [1000], dtype: 'f32' }],
      nodes: [input(0), literal(-1.5), opNode('sigmoid', [0], 'f32')],
      outputs: [0, 2, 1, 2],
    };
    expectSame(big, [values(1000, 5)]);
  });

  it('0-size shapes', () => {
    for (const shape of [[0], [3, 0], [0, 4]]) {
      const k: FusedKernel = {
        shape,
        inputs: [
          { shape, dtype: 'f32' },
          { shape: [1], dtype: 'f32' },
        ],
        nodes: [input(0), input(1), opNode('add', [0, 1], 'f32'), opNode('exp', [2], 'f32')],
        outputs: [3, 2],
      };
      const got = expectSame(k, [new Float32Array(0), Float32Array.of(1)]);
      expect(got.map((g) => g.length)).toEqual([0, 0]);
    }
  });

  it('two outputs of different dtypes (a comparison of i32 and an f32 chain)', () => {
    const n = 103;
    const k: FusedKernel = {
      shape: [n],
      inputs: [
        { shape: [n], dtype: 'f32' },
        { shape: [n], dtype: 'i32' },
      ],
      nodes: [input(0), input(1, 'i32'), literal(3, 'i32'), opNode('greater', [1, 2], 'i32'), opNode('tanh', [0], 'f32')],
      outputs: [4, 3],
    };
    const [t, g] = expectSame(k, [values(n, 9), ints(n, 9)]);
    expect(t).toBeInstanceOf(Float32Array);
    expect(g).toBeInstanceOf(Int32Array);
  });

  it('sizes not a multiple of 4, of the block, and above it: 1, 3, 5, 511, 513, 1024 (full blocks only), 1000, 70000', () => {
    for (const n of [1, 3, 5, FUSED_BLOCK - 1, FUSED_BLOCK + 1, 2 * FUSED_BLOCK, 1000, 70000]) {
      const k: FusedKernel = {
        shape: [n],
        inputs: [
          { shape: [n], dtype: 'f32' },
          { shape: [n], dtype: 'f32' },
        ],
        nodes: [
          input(0),
          input(1),
          opNode('exp', [0], 'f32'),
          opNode('mul', [2, 1], 'f32'),
          opNode('relu', [3], 'f32'),
          literal(0.25),
          opNode('pow', [4, 5], 'f32'),
          opNode('minimum', [6, 0], 'f32'),
        ],
        outputs: [7, 3],
      };
      expectSame(k, [values(n, n), values(n, n + 1)]);
    }
  });

  it('a strided broadcast over a partial block: [70, 13] + [70, 1] and [13] (rows crossing blocks)', () => {
    const k: FusedKernel = {
      shape: [70, 13],
      inputs: [
        { shape: [70, 1], dtype: 'f32' },
        { shape: [13], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('div', [0, 1], 'f32'), opNode('sin', [2], 'f32')],
      outputs: [3],
    };
    expectSame(k, [values(70, 4), values(13, 5)]);
  });

  it('where with an i32 condition on f32 values, and an f32 condition on i32 values', () => {
    const n = 45;
    const k: FusedKernel = {
      shape: [n],
      inputs: [
        { shape: [n], dtype: 'i32' },
        { shape: [n], dtype: 'f32' },
        { shape: [1], dtype: 'f32' },
      ],
      nodes: [input(0, 'i32'), input(1), input(2), opNode('where', [0, 1, 2], 'f32'), opNode('neg', [3], 'f32')],
      outputs: [4],
    };
    const c = ints(n, 3);
    const a = values(n, 4);
    const [got] = expectSame(k, [c, a, Float32Array.of(7)]);
    for (let i = 0; i < n; i++)
      expect(Object.is(got![i], c[i] !== 0 ? -a[i]! : -7) || (Number.isNaN(got![i]) && Number.isNaN(a[i]))).toBe(true);
    const k2: FusedKernel = {
      shape: [3, n],
      inputs: [
        { shape: [3, 1], dtype: 'f32' },
        { shape: [n], dtype: 'i32' },
        { shape: [3, n], dtype: 'i32' },
      ],
      nodes: [input(0), input(1, 'i32'), input(2, 'i32'), opNode('where', [0, 1, 2], 'i32')],
      outputs: [3],
    };
    const [w] = expectSame(k2, [Float32Array.of(Number.NaN, -0, 2), ints(n, 5), ints(3 * n, 6)]);
    const b = ints(3 * n, 6);
    const ys = ints(n, 5);
    // NaN is a true condition, -0 a false one
    expect(Array.from(w!.slice(0, n))).toEqual(Array.from(ys));
    expect(Array.from(w!.slice(n, 2 * n))).toEqual(Array.from(b.slice(n, 2 * n)));
  });

  it('NaN propagation: relu, maximum, minimum, comparisons, sign of NaN, ±0', () => {
    const xs = Float32Array.of(Number.NaN, 1, Number.NaN, -0, 0, Number.NEGATIVE_INFINITY, 2, Number.NaN, 5);
    const ys = Float32Array.of(1, Number.NaN, Number.NaN, 0, -0, 3, Number.NaN, -1, 5);
    const n = xs.length;
    const k: FusedKernel = {
      shape: [n],
      inputs: [
        { shape: [n], dtype: 'f32' },
        { shape: [n], dtype: 'f32' },
      ],
      nodes: [
        input(0),
        input(1),
        opNode('relu', [0], 'f32'),
        opNode('maximum', [0, 1], 'f32'),
        opNode('minimum', [0, 1], 'f32'),
        opNode('notEqual', [0, 1], 'f32'),
        opNode('equal', [0, 1], 'f32'),
        opNode('sign', [0], 'f32'),
        opNode('add', [3, 4], 'f32'),
      ],
      outputs: [2, 3, 4, 5, 6, 7, 8],
    };
    const [relu, mx, mn, ne, eq, sg] = expectSame(k, [xs, ys]);
    expect(Number.isNaN(relu![0])).toBe(true);
    expect(Object.is(relu![3], 0)).toBe(true);
    expect(Number.isNaN(mx![0]) && Number.isNaN(mn![0])).toBe(true); // a NaN first operand wins
    expect(mx![1]).toBeNaN(); // maximum(1, NaN): 1 >= NaN is false, so b = NaN
    expect(Array.from(ne!)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 0]);
    expect(Array.from(eq!)).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 1]);
    expect(Number.isNaN(sg![0]) && Object.is(sg![3], -0) && sg![5] === -1).toBe(true);
  });

  it('many live values (registers reused without clobbering)', () => {
    const n = 600;
    const nodes: FusedNode[] = [input(0), input(1)];
    for (let i = 0; i < 12; i++) nodes.push(opNode(i % 2 ? 'sin' : 'cos', [i % 2], 'f32'));
    let acc = 2;
    for (let i = 3; i < 14; i++) {
      nodes.push(opNode(i % 3 ? 'add' : 'mul', [acc, i], 'f32'));
      acc = nodes.length - 1;
    }
    const k: FusedKernel = {
      shape: [n],
      inputs: [
        { shape: [n], dtype: 'f32' },
        { shape: [n], dtype: 'f32' },
      ],
      nodes,
      outputs: [acc, 5],
    };
    expectSame(k, [values(n, 1), values(n, 2)]);
    expect(wasm.fusedSource(k)).toMatch(/registers/);
  });
});

describe('wasm fused kernels split across threads', () => {
  let split: WasmBackend;
  beforeAll(async () => {
    // every splittable call split; the workers run every chunk, so a pool that computed nothing would fail
    split = await WasmBackend.create({ threads: 3, splitMinWork: 0, callerRuns: false });
  });
  afterAll(() => split.destroy());

  it('70,000 elements (137 blocks) and a strided broadcast, split by blocks, equal the unfused ops', () => {
    const n = 70000;
    const k: FusedKernel = {
      shape: [n],
      inputs: [
        { shape: [n], dtype: 'f32' },
        { shape: [], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), opNode('tanh', [0], 'f32'), opNode('mul', [2, 1], 'f32'), opNode('log', [3], 'f32')],
      outputs: [4, 2],
    };
    const before = split.memoryStats();
    expectSame(k, [values(n, 11), Float32Array.of(1.5)], split);
    const k2: FusedKernel = {
      shape: [350, 201],
      inputs: [
        { shape: [350, 1], dtype: 'i32' },
        { shape: [201], dtype: 'i32' },
      ],
      nodes: [input(0, 'i32'), input(1, 'i32'), opNode('mul', [0, 1], 'i32'), opNode('abs', [2], 'i32'), opNode('less', [3, 1], 'i32')],
      outputs: [3, 4],
    };
    expectSame(k2, [ints(350, 12), ints(201, 13)], split);
    const after = split.memoryStats();
    expect(after.splitCalls - before.splitCalls).toBe(2);
    expect(after.workerChunks).toBeGreaterThan(before.workerChunks + 2);
  });
});

describe('wasmFusible and errors', () => {
  it('wasmFusible agrees with the fusion descriptions of the primitives and with the i32 kernels', () => {
    for (const name of [...FLOAT_UNARY, ...FLOAT_BINARY, ...COMPARISONS, 'where']) {
      const spec = lookupPrimitive(name)?.fusion;
      expect(spec, name).toBeDefined();
      expect(wasmFusible(name, 'f32'), name).toBe(true);
      expect(wasmFusible(spec!, 'f32'), name).toBe(true);
      const intOk = INT_UNARY.includes(name) || INT_BINARY.includes(name) || COMPARISONS.includes(name) || name === 'where';
      expect(wasmFusible(name, 'i32'), `${name} i32`).toBe(intOk);
      expect(wasmFusible(spec!, 'i32'), `${name} i32`).toBe(intOk);
      expect(wasmFusible(name, 'f64'), `${name} f64`).toBe(false);
    }
    expect(wasm.canFuse('greaterEqual', 'i32')).toBe(true);
    expect(wasm.canFuse('div', 'i32')).toBe(false);
    expect((wasm as FusedBackend).fusesReductions).toBe(true);
    expect(wasmFusible('matmul', 'f32')).toBe(false);
    expect(wasmFusible('noSuchOp', 'f32')).toBe(false);
  });

  it('an op without an i32 kernel, and f64, are clear errors naming the op and dtype', () => {
    const k: FusedKernel = {
      shape: [4],
      inputs: [{ shape: [4], dtype: 'i32' }],
      nodes: [input(0, 'i32'), opNode('exp', [0], 'i32')],
      outputs: [1],
    };
    const x = fromTypedArray(Int32Array.of(1, 2, 3, 4), [4], 'i32', wasm);
    const stats = wasm.stats();
    expect(() => wasm.runFused(k, [x.storageFor('test')])).toThrow(/exp.*i32|i32.*exp/);
    expect(() => wasm.fusedSource(k)).toThrow(/no i32 kernel for exp/);
    expect(wasm.stats()).toEqual(stats);
    const k64: FusedKernel = { shape: [4], inputs: [{ shape: [4], dtype: 'f64' }], nodes: [input(0, 'f64')], outputs: [0] };
    expect(() => wasm.fusedSource(k64)).toThrow(/f64/);
    const bad: FusedKernel = { shape: [2, 3], inputs: [{ shape: [2], dtype: 'f32' }], nodes: [input(0)], outputs: [0] };
    expect(() => wasm.fusedSource(bad)).toThrow(/does not broadcast/);
    x.dispose();
  });

  it('fusedSource: one line per instruction', () => {
    const k: FusedKernel = {
      shape: [3, 4],
      inputs: [
        { shape: [3, 1], dtype: 'f32' },
        { shape: [3, 4], dtype: 'f32' },
      ],
      nodes: [input(0), input(1), literal(2), opNode('add', [0, 1], 'f32'), opNode('mul', [3, 2], 'f32')],
      outputs: [4],
    };
    const text = wasm.fusedSource(k);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^wasm fused_32 \[3,4\] 12 elements, 1 block of \d+/);
    expect(lines.slice(1).map((l) => l.trim().split(' = ')[1]?.split(' ')[0] ?? l.trim().split(' ')[0])).toEqual([
      'splat',
      'gather',
      'load',
      'binaryF32',
      'binaryF32',
      'store',
    ]);
  });
});
