/**
 * Creation functions: tensors from JS data (nested arrays, flat arrays or
 * typed arrays plus a shape) and the usual constants. New tensors go to the
 * default backend (see `init`) unless `backend` is given.
 */
import type { Backend, BackendName } from '../backends/Backend.js';
import { defaultBackend, getBackendByName } from '../backends/registry.js';
import { ConcreteTensor } from '../core/ConcreteTensor.js';
import { GraphTracer } from '../core/graphTrace.js';
import { Tracer } from '../core/trace.js';
import { allocArray, DTYPES, dtypeOfArray, toTypedArray, type DType, type TypedArray } from '../tensor/dtype.js';
import type { Nested } from '../tensor/format.js';
import { checkShape, fmt, sizeOf, type Shape } from '../tensor/shape.js';
import { ShapeError, ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';

/**
 * Options of the tensor constructors: dtype (default f32, or the data's for typed arrays), shape and backend (default: the current one).
 */
export interface CreateOptions {
  dtype?: DType;
  shape?: Shape;
  backend?: BackendName;
}

/** An op operand: a tensor or a number (a number takes the dtype of the tensor operand). */
export type TensorLike = Tensor | number;

const isTyped = (x: unknown): x is TypedArray => x instanceof Float32Array || x instanceof Float64Array || x instanceof Int32Array;

function checkDtype(op: string, d: DType): DType {
  if (!DTYPES.includes(d)) throw new ValueError(op, `unknown dtype '${String(d)}' (expected one of ${DTYPES.join(', ')})`);
  return d;
}

function inferShape(op: string, v: unknown): number[] {
  if (typeof v === 'number' || typeof v === 'boolean') return [];
  if (Array.isArray(v)) {
    if (v.length === 0) return [0];
    const inner = inferShape(op, v[0]);
    return [v.length, ...inner];
  }
  if (isTyped(v)) return [v.length];
  throw new ValueError(op, `cannot make a tensor from ${typeof v}`);
}

function flatten(op: string, v: unknown, shape: Shape, dim: number, out: number[]): void {
  if (dim === shape.length) {
    if (typeof v === 'boolean') out.push(v ? 1 : 0);
    else if (typeof v === 'number') out.push(v);
    else throw new ValueError(op, `ragged nested array: expected a number at depth ${dim} for shape ${fmt(shape)}`);
    return;
  }
  if (!Array.isArray(v) && !isTyped(v))
    throw new ValueError(op, `ragged nested array: expected an array at depth ${dim} for shape ${fmt(shape)}`);
  if (v.length !== shape[dim])
    throw new ValueError(op, `ragged nested array: length ${v.length} at depth ${dim}, expected ${shape[dim]} for shape ${fmt(shape)}`);
  for (const e of Array.from(v as ArrayLike<unknown>)) flatten(op, e, shape, dim + 1, out);
}

/**
 * The backend named in the options, else the default one — except that an f64
 * tensor asked for without a backend goes to the cpu backend when the default
 * one (wasm, webgpu) holds no f64: f64 work is the CPU reference's. Naming a
 * backend that lacks the dtype stays an error.
 */
export function backendFor(opts?: { backend?: BackendName }, dtype?: DType): Backend {
  if (opts?.backend) return getBackendByName(opts.backend);
  const d = defaultBackend();
  return dtype === 'f64' && !d.supports('f64') ? getBackendByName('cpu') : d;
}

/** Make a concrete tensor from a typed array already in the right dtype (no copy). */
export function fromTypedArray(data: TypedArray, shape: Shape, dtype: DType, backend: Backend = defaultBackend()): ConcreteTensor {
  if (data.length !== sizeOf(shape))
    throw new ValueError('tensor', `data has ${data.length} elements but shape ${fmt(shape)} needs ${sizeOf(shape)}`);
  if (!backend.supports(dtype))
    throw new ValueError(
      'tensor',
      `the ${backend.name} backend does not support dtype ${dtype}${dtype === 'f64' ? ' (f64 is CPU-only)' : ''}`,
    );
  return new ConcreteTensor(backend, backend.upload(data, dtype), [...shape], dtype);
}

/**
 * `tensor([[1, 2], [3, 4]])`, `tensor(new Float64Array(6), { shape: [2, 3] })`,
 * `tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'i32' })`.
 */
export function tensor(values: Nested | boolean | readonly Nested[] | TypedArray | readonly number[], opts: CreateOptions = {}): Tensor {
  const op = 'tensor';
  const dtype = checkDtype(op, opts.dtype ?? (isTyped(values) ? dtypeOfArray(values) : 'f32'));
  let flat: ArrayLike<number>;
  let shape: Shape;
  if (isTyped(values)) {
    flat = values;
    shape = opts.shape ? checkShape(op, opts.shape, dtype) : [values.length];
  } else {
    const inferred = inferShape(op, values);
    const out: number[] = [];
    flatten(op, values, inferred, 0, out);
    flat = out;
    shape = opts.shape ? checkShape(op, opts.shape, dtype) : inferred;
  }
  if (flat.length !== sizeOf(shape)) {
    throw new ShapeError(op, `data has ${flat.length} elements but shape ${fmt(shape)} needs ${sizeOf(shape)}`);
  }
  return fromTypedArray(toTypedArray(dtype, flat), shape, dtype, backendFor(opts, dtype));
}

/** A rank-0 tensor holding `value` (f32 unless `dtype` says otherwise). */
export function scalar(value: number, opts: Omit<CreateOptions, 'shape'> = {}): Tensor {
  return tensor(value, opts);
}

/** A fill value: a number (or a boolean, as 0/1); anything else is an error naming the op. */
function checkValue(op: string, value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const got = typeof value === 'string' ? `the string '${value}'` : value === null ? 'null' : typeof value;
  throw new ValueError(op, `the fill value must be a number, got ${got}`);
}

/** A count argument (arange's length, linspace's num, eye's sizes): a non-negative integer. */
function checkCount(op: string, what: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new ValueError(
      op,
      `${what} must be a non-negative integer, got ${typeof n === 'number' ? n : typeof n === 'string' ? `the string '${n}'` : typeof n}`,
    );
  return n;
}

function filled(op: string, shape: Shape, value: unknown, opts: Omit<CreateOptions, 'shape'>): Tensor {
  const v = checkValue(op, value);
  const dtype = checkDtype(op, opts.dtype ?? 'f32');
  checkShape(op, shape, dtype);
  const a = allocArray(dtype, sizeOf(shape));
  if (!Object.is(v, 0)) a.fill(v); // a fresh array holds +0; -0 is filled
  return fromTypedArray(a, shape, dtype, backendFor(opts, dtype));
}

/** A tensor of `shape` filled with `value` (f32 unless `dtype` says otherwise). */
export const full = (shape: Shape, value: number, opts: Omit<CreateOptions, 'shape'> = {}): Tensor => filled('full', shape, value, opts);
/** A tensor of `shape` filled with 0 (f32 unless `dtype` says otherwise). */
export const zeros = (shape: Shape, opts: Omit<CreateOptions, 'shape'> = {}): Tensor => filled('zeros', shape, 0, opts);
/** A tensor of `shape` filled with 1 (f32 unless `dtype` says otherwise). */
export const ones = (shape: Shape, opts: Omit<CreateOptions, 'shape'> = {}): Tensor => filled('ones', shape, 1, opts);

/** The concrete backend a value ultimately lives on (a tracer's innermost primal). */
export function backendOf(t: Tensor): Backend {
  let v: Tensor | undefined = t;
  while (v instanceof Tracer) {
    const inner: Tensor | undefined = v.primalValue();
    // an abstract value of a graph being compiled for a backend (jit) lives there
    if (!inner && v instanceof GraphTracer && v.trace.backend) return v.trace.backend;
    v = inner;
  }
  return v instanceof ConcreteTensor ? v.backend : backendFor(undefined, t.dtype);
}

function filledLike(op: string, t: Tensor, value: unknown, dtype: DType): Tensor {
  const v = checkValue(op, value);
  const a = allocArray(checkDtype(op, dtype), t.size);
  if (!Object.is(v, 0)) a.fill(v); // a fresh array holds +0; -0 is filled
  // an f64 tensor like one on a backend without f64 (wasm, webgpu) goes to cpu, as f64 tensors made without a backend do
  const b = backendOf(t);
  return fromTypedArray(a, t.shape, dtype, b.supports(dtype) ? b : backendFor(undefined, dtype));
}

/** Zeros of `t`'s shape, dtype (unless given) and backend. */
export const zerosLike = (t: Tensor, opts: { dtype?: DType } = {}): Tensor => filledLike('zerosLike', t, 0, opts.dtype ?? t.dtype);
/** Ones of `t`'s shape, dtype (unless given) and backend. */
export const onesLike = (t: Tensor, opts: { dtype?: DType } = {}): Tensor => filledLike('onesLike', t, 1, opts.dtype ?? t.dtype);
/** `value` in every element, with `t`'s shape, dtype and backend. */
export const fullLike = (t: Tensor, value: number): Tensor => filledLike('fullLike', t, value, t.dtype);

/** `arange(stop)`, `arange(start, stop, step?)`; f32 unless dtype says otherwise. */
export function arange(a: number, b?: number, step = 1, opts: Omit<CreateOptions, 'shape'> = {}): Tensor {
  const [start, stop] = b === undefined ? [0, a] : [a, b];
  for (const [what, v] of [
    ['start', start],
    ['stop', stop],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ValueError('arange', `${what} must be a finite number, got ${typeof v === 'number' ? v : typeof v}`);
  }
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step))
    throw new ValueError('arange', `step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDtype('arange', opts.dtype ?? 'f32');
  checkShape('arange', [n], dtype);
  const vals = allocArray(dtype, n);
  for (let i = 0; i < n; i++) vals[i] = start + i * step;
  return fromTypedArray(vals, [n], dtype, backendFor(opts, dtype));
}

/** `num` evenly spaced values from `start` to `stop`, both included (f32 unless `dtype` says otherwise). */
export function linspace(start: number, stop: number, num: number, opts: Omit<CreateOptions, 'shape'> = {}): Tensor {
  checkCount('linspace', 'num', num);
  const dtype = checkDtype('linspace', opts.dtype ?? 'f32');
  checkShape('linspace', [num], dtype);
  const vals = Array.from({ length: num }, (_, i) => (num === 1 ? start : start + ((stop - start) * i) / (num - 1)));
  return tensor(vals, { ...opts, shape: [num] });
}

/** The n × m identity matrix (m defaults to n; f32 unless `dtype` says otherwise). */
export function eye(n: number, m: number = n, opts: Omit<CreateOptions, 'shape'> = {}): Tensor {
  checkCount('eye', 'the number of rows', n);
  checkCount('eye', 'the number of columns', m);
  const dtype = checkDtype('eye', opts.dtype ?? 'f32');
  checkShape('eye', [n, m], dtype);
  const vals = allocArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) vals[i * m + i] = 1;
  return fromTypedArray(vals, [n, m], dtype, backendFor(opts, dtype));
}

/** Numbers become scalars of `like`'s dtype on `like`'s backend; tensors pass through. */
export function asTensor(x: TensorLike, like?: Tensor): Tensor {
  if (typeof x !== 'number') return x;
  if (!like) return fromTypedArray(toTypedArray('f32', [x]), [], 'f32');
  return fromTypedArray(toTypedArray(like.dtype, [x]), [], like.dtype, backendOf(like));
}
