/**
 * Text form of tensor data: numpy-like, nested brackets, truncated with `...`
 * for long axes, plus the nested-array view used by `t.array()`.
 */
import type { DType, TypedArray } from './dtype.js';
import { fmt, type Shape } from './shape.js';

/** Nested arrays of numbers (what `t.array()` returns and `tensor(...)` takes). */
export type Nested = number | Nested[];

/** Row-major data as nested arrays of `shape`. */
export function toNested(data: ArrayLike<number>, shape: Shape): Nested {
  if (shape.length === 0) return data[0]!;
  let offset = 0;
  const build = (dim: number): Nested[] => {
    const n = shape[dim]!;
    const out: Nested[] = [];
    for (let i = 0; i < n; i++) {
      if (dim === shape.length - 1) out.push(data[offset++]!);
      else out.push(build(dim + 1));
    }
    return out;
  };
  return build(0);
}

const EDGE = 3;
const LIMIT = 8;

function fmtNumber(v: number, dtype: DType): string {
  if (dtype === 'i32') return String(v);
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return `${v}.`;
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(4);
  return String(Number(v.toPrecision(dtype === 'f32' ? 6 : 8)));
}

/** Tensor data as numpy-like text (nested brackets, long axes truncated with `...`). */
export function formatData(data: TypedArray, shape: Shape, dtype: DType): string {
  const strides: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i]!;
  }
  const rec = (dim: number, offset: number, indent: string): string => {
    if (dim === shape.length) return fmtNumber(data[offset]!, dtype);
    const n = shape[dim]!;
    const idx: (number | null)[] = [];
    if (n > LIMIT) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    const parts = idx.map((i) => (i === null ? '...' : rec(dim + 1, offset + i * strides[dim]!, `${indent} `)));
    const sep = dim === shape.length - 1 ? ', ' : `,\n${indent} `;
    return `[${parts.join(sep)}]`;
  };
  return rec(0, 0, '');
}

/** `f32[2,3]`: a dtype and shape as text. */
export const describe = (dtype: DType, shape: Shape): string => `${dtype}${fmt(shape)}`;
