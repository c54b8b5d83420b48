/**
 * Law: every CPU kernel equals the naive reference (tests/kernels/reference.ts)
 * on random shapes. Finite differences run through the kernel under test, so
 * they cannot see a kernel bug that keeps the op linear (a matmul that drops a
 * column); only an independent reference can. Checked twice: the kernels of
 * src/backends/cpu/kernels.ts called directly (every dtype), and the
 * primitives' CPU functions through the public ops (f64), which add the
 * stride and offset computations of transpose, slice, pad, concat and
 * broadcastTo. f64 results must be exact: the references add in the same
 * order as the kernels.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as ct from '../../src/index.js';
import { argmaxAlong, gather, mapBinary, mapUnary, matmulKernel, reduce, scatter } from '../../src/backends/cpu/kernels.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import * as ref from './reference.js';
import {
  argmaxArb,
  array,
  broadcastShapesArb,
  concatArb,
  expectMatches,
  matmulArb,
  padArb,
  reduceArb,
  seedArb,
  shapeArb,
  sliceArb,
  stridedArb,
  transposeArb,
  valuesOf,
} from './cases.js';

const RUNS = 60;
const DTYPES: readonly DType[] = ['f64', 'f32', 'i32'];
const dtypeArb = fc.constantFrom(...DTYPES);

const typed = (dtype: DType, data: readonly number[]): TypedArray =>
  dtype === 'f64' ? Float64Array.from(data) : dtype === 'f32' ? Float32Array.from(data) : Int32Array.from(data, Math.trunc);
/** The reference's values as the kernel's dtype stores them. */
const rounded = (dtype: DType, x: ref.NdArray): ref.NdArray => ({ shape: x.shape, data: Array.from(typed(dtype, x.data)) });
const input = (dtype: DType, x: ref.NdArray) => ({ shape: x.shape, dtype, data: typed(dtype, x.data) });
const f64 = (x: ref.NdArray) => ct.tensor(Float64Array.from(x.data), { shape: [...x.shape], dtype: 'f64' });
const result = (t: ct.Tensor) => ({ shape: t.shape, data: t.dataSync() });

describe('CPU kernels (src/backends/cpu/kernels.ts) = naive references', () => {
  it('gather: out[idx] = src[offset + Σ idx·strides], any strides (0 = broadcast), empty shapes', () => {
    fc.assert(
      fc.property(stridedArb, dtypeArb, ({ shape, strides, offset, span, seed }, dtype) => {
        const src = valuesOf(span, seed, 'real');
        const got = gather(typed(dtype, src), shape, strides, offset, dtype);
        expectMatches(
          `gather ${dtype} [${shape}] strides [${strides}] offset ${offset}`,
          { shape, data: got },
          rounded(dtype, ref.gather(src, shape, strides, offset)),
        );
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('scatter: dst[offset + Σ idx·strides] = src[idx], any strides, empty shapes', () => {
    fc.assert(
      fc.property(stridedArb, dtypeArb, ({ shape, strides, offset, span, seed }, dtype) => {
        const src = array(shape, seed, 'real');
        const dst = valuesOf(span + 2, seed + 1, 'ints');
        const out = typed(dtype, dst);
        scatter(typed(dtype, src.data), shape, out, strides, offset);
        const want = ref.scatter(src, dst, strides, offset);
        expectMatches(
          `scatter ${dtype} [${shape}] strides [${strides}] offset ${offset}`,
          { shape: [out.length], data: out },
          rounded(dtype, { shape: [want.length], data: want }),
        );
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('mapUnary and mapBinary (broadcasting, scalar fast paths) = the reference map', () => {
    const f1 = (v: number) => 3 * v - v * v;
    const f2 = (a: number, b: number) => 2 * a - b * b + a * b;
    fc.assert(
      fc.property(broadcastShapesArb(2), seedArb, dtypeArb, ([sa, sb], seed, dtype) => {
        const a = array(sa!, seed, 'ints');
        const b = array(sb!, seed + 1, 'ints');
        const out = { shape: ref.broadcastShape(sa!, sb!), dtype };
        expectMatches(
          `mapBinary ${dtype} [${sa}] [${sb}]`,
          { shape: out.shape, data: mapBinary(input(dtype, a), input(dtype, b), out, f2) },
          rounded(dtype, ref.map(f2, a, b)),
        );
        expectMatches(
          `mapUnary ${dtype} [${sa}]`,
          { shape: sa!, data: mapUnary(input(dtype, a), { shape: sa!, dtype }, f1) },
          rounded(dtype, ref.map(f1, a)),
        );
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('reduce (sum and max) over any subset of axes, NaN propagating through max', () => {
    fc.assert(
      fc.property(reduceArb('real'), fc.constantFrom<'real' | 'nan'>('real', 'nan'), dtypeArb, ({ shape, axes, seed }, kind, dtype) => {
        const x = array(shape, seed, dtype === 'i32' ? 'ints' : kind);
        const outShape = shape.filter((_, k) => !axes.includes(k));
        const s = reduce(input(dtype, x), axes, { shape: outShape, dtype }, 0, (a, v) => a + v);
        const m = reduce(input(dtype, x), axes, { shape: outShape, dtype }, -Infinity, (a, v) => (v > a || Number.isNaN(v) ? v : a));
        const xr = rounded(dtype, x);
        expectMatches(`sum ${dtype} [${shape}] axes [${axes}]`, { shape: outShape, data: s }, rounded(dtype, ref.sum(xr, axes)));
        expectMatches(`max ${dtype} [${shape}] axes [${axes}]`, { shape: outShape, data: m }, rounded(dtype, ref.max(xr, axes)));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('argmaxAlong: the first maximum along any axis; the first NaN wins', () => {
    fc.assert(
      fc.property(argmaxArb('nan'), fc.boolean(), ({ shape, axis, seed }, withNan) => {
        const x = array(shape, seed, withNan ? 'nan' : 'ints');
        const got = argmaxAlong(input('f64', x), axis);
        expectMatches(`argmax [${shape}] axis ${axis}`, { shape: shape.filter((_, k) => k !== axis), data: got }, ref.argmax(x, axis));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('matmulKernel: sizes across its 4×2 register blocks, k = 0, broadcast batch dims, every dtype', () => {
    fc.assert(
      fc.property(matmulArb([1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 5, 8]), dtypeArb, ({ aShape, bShape, sa, sb }, dtype) => {
        const a = array(aShape, sa, dtype === 'i32' ? 'ints' : 'real');
        const b = array(bShape, sb, dtype === 'i32' ? 'ints' : 'real');
        const want = ref.matmul(rounded(dtype, a), rounded(dtype, b));
        const got = matmulKernel(input(dtype, a), input(dtype, b), { shape: want.shape, dtype });
        expectMatches(`matmul ${dtype} [${aShape}] x [${bShape}]`, { shape: want.shape, data: got }, rounded(dtype, want));
        return true;
      }),
      { numRuns: 2 * RUNS },
    );
  });
});

describe('CPU primitives through the public ops (f64) = naive references', () => {
  it('transpose', () => {
    fc.assert(
      fc.property(transposeArb, ({ shape, perm, seed }) => {
        const x = array(shape, seed);
        expectMatches(`transpose [${shape}] perm [${perm}]`, result(ct.transpose(f64(x), perm)), ref.transpose(x, perm));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('slice', () => {
    fc.assert(
      fc.property(sliceArb, ({ shape, window, seed }) => {
        const x = array(shape, seed);
        const begin = window.map((w) => w[0]);
        const size = window.map((w) => w[1]);
        expectMatches(`slice [${shape}] begin [${begin}] size [${size}]`, result(ct.slice(f64(x), begin, size)), ref.slice(x, begin, size));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('pad', () => {
    fc.assert(
      fc.property(padArb, ({ shape, widths, seed }) => {
        const x = array(shape, seed);
        expectMatches(`pad [${shape}] widths ${JSON.stringify(widths)}`, result(ct.pad(f64(x), widths)), ref.pad(x, widths));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('concat', () => {
    fc.assert(
      fc.property(concatArb, ({ shapes, axis, seed }) => {
        const xs = shapes.map((s, i) => array(s, seed + i));
        expectMatches(`concat ${JSON.stringify(shapes)} axis ${axis}`, result(ct.concat(xs.map(f64), axis)), ref.concat(xs, axis));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('broadcastTo', () => {
    fc.assert(
      fc.property(broadcastShapesArb(2), seedArb, ([from, to], seed) => {
        const target = ref.broadcastShape(from!, to!);
        const x = array(from!, seed);
        expectMatches(`broadcastTo [${from}] -> [${target}]`, result(ct.broadcastTo(f64(x), target)), ref.broadcastTo(x, target));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('sum, max, argmax', () => {
    fc.assert(
      fc.property(reduceArb('ints'), ({ shape, axes, seed }) => {
        const x = array(shape, seed, 'ints');
        expectMatches(`sum [${shape}] axes [${axes}]`, result(ct.sum(f64(x), axes)), ref.sum(x, axes));
        if (axes.length > 0) expectMatches(`max [${shape}] axes [${axes}]`, result(ct.max(f64(x), axes)), ref.max(x, axes));
        if (shape.length > 0)
          expectMatches(`argmax [${shape}] axis ${shape.length - 1}`, result(ct.argmax(f64(x), -1)), ref.argmax(x, shape.length - 1));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('matmul (batched, broadcast batch dims)', () => {
    fc.assert(
      fc.property(matmulArb([1, 2, 3, 4, 5, 9], [1, 2, 3, 7]), ({ aShape, bShape, sa, sb }) => {
        const a = array(aShape, sa);
        const b = array(bShape, sb);
        expectMatches(`matmul [${aShape}] x [${bShape}]`, result(ct.matmul(f64(a), f64(b))), ref.matmul(a, b));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('elementwise ops with broadcasting: arithmetic, comparisons, where', () => {
    const binary: [string, (a: ct.Tensor, b: ct.Tensor) => ct.Tensor, (a: number, b: number) => number][] = [
      ['add', ct.add, (a, b) => a + b],
      ['sub', ct.sub, (a, b) => a - b],
      ['mul', ct.mul, (a, b) => a * b],
      ['div', ct.div, (a, b) => a / b],
      ['greater', ct.greater, (a, b) => (a > b ? 1 : 0)],
      ['lessEqual', ct.lessEqual, (a, b) => (a <= b ? 1 : 0)],
      ['equal', ct.equal, (a, b) => (a === b ? 1 : 0)],
    ];
    fc.assert(
      fc.property(broadcastShapesArb(3), seedArb, fc.nat(binary.length - 1), ([sa, sb, sc], seed, which) => {
        const [name, op, f] = binary[which]!;
        const a = array(sa!, seed, 'ints');
        const b = array(sb!, seed + 1, 'ints');
        expectMatches(`${name} [${sa}] [${sb}]`, result(op(f64(a), f64(b))), ref.map(f, a, b));
        const c = array(sc!, seed + 2, 'ints');
        expectMatches(`where [${sc}] [${sa}] [${sb}]`, result(ct.where(f64(c), f64(a), f64(b))), ref.where(c, a, b));
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('unary maps: neg, square, abs, exp, tanh, sin', () => {
    const unary: [string, (x: ct.Tensor) => ct.Tensor, (v: number) => number][] = [
      ['neg', ct.neg, (v) => -v],
      ['square', ct.square, (v) => v * v],
      ['abs', ct.abs, Math.abs],
      ['exp', ct.exp, Math.exp],
      ['tanh', ct.tanh, Math.tanh],
      ['sin', ct.sin, Math.sin],
    ];
    fc.assert(
      fc.property(shapeArb(4), seedArb, fc.nat(unary.length - 1), (shape, seed, which) => {
        const [name, op, f] = unary[which]!;
        const x = array(shape, seed, 'real');
        expectMatches(`${name} [${shape}]`, result(op(f64(x))), ref.map(f, x), 1e-15);
        return true;
      }),
      { numRuns: RUNS },
    );
  });
});
