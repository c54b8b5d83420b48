/**
 * Shapes: immutable arrays of non-negative integer dimensions, numpy-style
 * broadcasting, axis normalisation and row-major strides.
 */
import { bytesPerElement, type DType } from './dtype.js';
import { ShapeError } from './ShapeError.js';

/** A shape: an immutable array of non-negative integer dimensions (`[]` for a scalar). */
export type Shape = readonly number[];

/** `[2,3]`: a shape as text. */
export const fmt = (s: Shape): string => `[${s.join(',')}]`;

/** The number of elements of a shape (1 for a scalar). */
export const sizeOf = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** Whether two shapes are equal. */
export const shapesEqual = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** The row-major strides of a shape, in elements. */
export function stridesOf(s: Shape): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i]!;
  }
  return st;
}

/**
 * The per-tensor limit: at most 2 GiB of data, that is 2^29 = 536,870,912
 * elements of f32 or i32 and 2^28 = 268,435,456 of f64. Past it a creation op
 * or a shape rule throws (naming the op, the shape and the limit) before
 * anything is allocated, instead of failing deep inside a typed-array
 * constructor or allocating many gigabytes without a word.
 */
export const MAX_TENSOR_BYTES = 2 ** 31;
/** The most elements a tensor of the given element size may have. */
export const maxTensorElements = (bytesPerElement = 4): number => Math.floor(MAX_TENSOR_BYTES / bytesPerElement);

const count = (n: number): string => (Number.isSafeInteger(n) ? n.toLocaleString('en-US') : n.toExponential(3));
const gib = (bytes: number): string => `${+(bytes / 2 ** 30).toPrecision(3)} GiB`;
/** A size just past the limit in bytes (GiB would round it to the limit itself). */
const size = (bytes: number): string => (bytes < MAX_TENSOR_BYTES * 1.01 ? `${count(bytes)} bytes` : gib(bytes));

/** A shape given where one is expected: an array of non-negative integers (anything else names the op and what it got). */
function checkShapeValue(op: string, s: unknown): asserts s is Shape {
  if (!Array.isArray(s)) {
    const got =
      typeof s === 'number'
        ? `the number ${s} (write [${s}] for a 1-D shape)`
        : typeof s === 'string'
          ? `the string '${s}'`
          : s === null
            ? 'null'
            : typeof s;
    throw new ShapeError(op, `a shape must be an array of non-negative integers, got ${got}`);
  }
  for (const d of s as unknown[]) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw new ShapeError(op, `invalid shape ${fmt(s as number[])}: dimensions must be non-negative integers`);
  }
}

/**
 * Checks a shape given to `op`: an array of non-negative integer dimensions
 * whose element count fits the per-tensor limit (MAX_TENSOR_BYTES) for
 * `dtype` (without one, for 4-byte elements, the smallest dtype).
 */
export function checkShape(op: string, s: Shape, dtype?: DType): Shape {
  checkShapeValue(op, s);
  checkTensorLimit(op, s, dtype);
  return s;
}

/** Throws, naming the op, the shape and the limit, when a tensor of shape `s` would pass MAX_TENSOR_BYTES. */
export function checkTensorLimit(op: string, s: Shape, dtype?: DType): void {
  const bytes = dtype ? bytesPerElement(dtype) : 4;
  const name = dtype ?? 'f32/i32';
  const n = sizeOf(s);
  if (n * bytes > MAX_TENSOR_BYTES) {
    throw new ShapeError(
      op,
      `shape ${fmt(s)} has ${count(n)} elements (${size(n * bytes)} as ${name}), past the per-tensor limit of ${gib(MAX_TENSOR_BYTES)} ` +
        `(${count(maxTensorElements(bytes))} elements of ${name})`,
    );
  }
}

/** Strides of `s` read from a broadcast target (0 on broadcast and missing dims). */
export function broadcastStrides(s: Shape, target: Shape): number[] {
  const st = stridesOf(s);
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < s.length; i++) {
    const j = target.length - s.length + i;
    out[j] = s[i] === 1 ? 0 : st[i]!;
  }
  return out;
}

/** numpy broadcasting of any number of shapes; throws naming the op and all shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): Shape {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!;
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new ShapeError(op, `shapes cannot be broadcast together: ${shapes.map(fmt).join(' and ')}`);
      }
    }
  }
  return out;
}

/** True when `from` broadcasts to `to` without changing `to`. */
export function broadcastsTo(from: Shape, to: Shape): boolean {
  if (from.length > to.length) return false;
  for (let i = 0; i < from.length; i++) {
    const d = from[i]!;
    const t = to[to.length - from.length + i]!;
    if (d !== 1 && d !== t) return false;
  }
  return true;
}

/** An axis in [−rank, rank) made non-negative; a ShapeError naming `op` when out of bounds. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1) || (rank === 0 && axis !== 0 && axis !== -1)) {
    throw new ShapeError(op, `axis ${axis} is out of bounds for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalise a list of axes (undefined means all axes), sorted, without duplicates. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) {
      throw new ShapeError(op, `axis ${a} is out of bounds for a tensor of rank ${rank}`);
    }
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new ShapeError(op, `repeated axis in [${list.join(',')}]`);
  return out.sort((a, b) => a - b);
}
