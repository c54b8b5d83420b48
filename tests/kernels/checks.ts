/**
 * Reference checks shared by the kernel suites of the f32 backends (wasm,
 * WebGPU): for one drawn case, the results of the public ops on the backend
 * (the tensors put there by `put`) and what the naive references say, with
 * their tolerances. Each suite reads the results its way (synchronously on
 * wasm, asynchronously on WebGPU) and compares them with `expectMatches`.
 */
import type fc from 'fast-check';
import * as ct from '../../src/index.js';
import {
  array,
  expectMatches,
  type argmaxArb,
  type concatArb,
  type matmulArb,
  type padArb,
  type sliceArb,
  type transposeArb,
} from './cases.js';
import * as ref from './reference.js';

type Of<A> = A extends fc.Arbitrary<infer T> ? T : never;

/** A reference array on the backend under test, as f32 (default) or i32. */
export type Put = (x: ref.NdArray, dtype?: 'f32' | 'i32') => ct.Tensor;

/** A result on the backend and what the reference says it must be. */
export interface KernelCheck {
  readonly label: string;
  readonly out: ct.Tensor;
  readonly want: ref.NdArray;
  readonly rtol?: number;
  readonly atol?: number;
}

/** The read-back results of `checks` (read by `read`, one after another) match their references. */
export function expectChecks(
  checks: readonly KernelCheck[],
  read: (t: ct.Tensor) => { shape: readonly number[]; data: ArrayLike<number> },
): void {
  for (const c of checks) expectMatches(c.label, read(c.out), c.want, c.rtol, c.atol);
}

/** Like `expectChecks`, with an asynchronous read. */
export async function expectChecksAsync(
  checks: readonly KernelCheck[],
  read: (t: ct.Tensor) => Promise<{ shape: readonly number[]; data: ArrayLike<number> }>,
): Promise<void> {
  for (const c of checks) expectMatches(c.label, await read(c.out), c.want, c.rtol, c.atol);
}

/** matmul on f32 ('small' values, atol 2e-7 per term) or i32 (exact); labelled `${name} f32|i32 [a] x [b]`. */
export function matmulChecks(
  put: Put,
  { aShape, bShape, sa, sb }: Of<ReturnType<typeof matmulArb>>,
  int: boolean,
  name: string,
): KernelCheck[] {
  const a = array(aShape, sa, int ? 'ints' : 'small');
  const b = array(bShape, sb, int ? 'ints' : 'small');
  const k = aShape[aShape.length - 1]!;
  return [
    {
      label: `${name} ${int ? 'i32' : 'f32'} [${aShape}] x [${bShape}]`,
      out: ct.matmul(put(a, int ? 'i32' : 'f32'), put(b, int ? 'i32' : 'f32')),
      want: ref.matmul(a, b),
      rtol: 0,
      atol: int ? 0 : 2e-7 * k,
    },
  ];
}

/** argmax on 'ints' values as f32, on values with NaN as f32, or on 'ints' as i32: exact. */
export function argmaxChecks(
  put: Put,
  { shape, axis, seed }: Of<ReturnType<typeof argmaxArb>>,
  kind: 'ints' | 'nan' | 'i32',
): KernelCheck[] {
  const x = array(shape, seed, kind === 'nan' ? 'nan' : 'ints');
  return [
    {
      label: `argmax ${kind} [${shape}] axis ${axis}`,
      out: ct.argmax(put(x, kind === 'i32' ? 'i32' : 'f32'), axis),
      want: ref.argmax(x, axis),
    },
  ];
}

/** transpose, slice and pad, exactly; transpose and pad on i32 ('ints' values) with `int`. */
export function stridedChecks(
  put: Put,
  t: Of<typeof transposeArb>,
  s: Of<typeof sliceArb>,
  p: Of<typeof padArb>,
  int = false,
): KernelCheck[] {
  const dt = int ? 'i32' : 'f32';
  const x = array(t.shape, t.seed, int ? 'ints' : 'real');
  const y = array(s.shape, s.seed);
  const begin = s.window.map((q) => q[0]);
  const size = s.window.map((q) => q[1]);
  const z = array(p.shape, p.seed, int ? 'ints' : 'real');
  return [
    { label: `transpose [${t.shape}] perm [${t.perm}]`, out: ct.transpose(put(x, dt), t.perm), want: ref.transpose(x, t.perm) },
    { label: `slice [${s.shape}] begin [${begin}] size [${size}]`, out: ct.slice(put(y), begin, size), want: ref.slice(y, begin, size) },
    { label: `pad [${p.shape}] widths ${JSON.stringify(p.widths)}`, out: ct.pad(put(z, dt), p.widths), want: ref.pad(z, p.widths) },
  ];
}

/** concat along the drawn axis and broadcastTo from `from` to its broadcast with `to`, exactly. */
export function concatBroadcastChecks(put: Put, c: Of<typeof concatArb>, from: number[], to: number[], seed: number): KernelCheck[] {
  const xs = c.shapes.map((s, i) => array(s, c.seed + i));
  const target = ref.broadcastShape(from, to);
  const x = array(from, seed);
  return [
    {
      label: `concat ${JSON.stringify(c.shapes)} axis ${c.axis}`,
      out: ct.concat(
        xs.map((v) => put(v)),
        c.axis,
      ),
      want: ref.concat(xs, c.axis),
    },
    { label: `broadcastTo [${from}] -> [${target}]`, out: ct.broadcastTo(put(x), target), want: ref.broadcastTo(x, target) },
  ];
}
