/**
 * DType: the element types. `f32` everywhere (the default), `f64` on the CPU
 * backend only, `i32` for labels and indices.
 */
export type DType = 'f32' | 'f64' | 'i32';
/** The typed array of each dtype: Float32Array, Float64Array, Int32Array. */
export type TypedArray = Float32Array | Float64Array | Int32Array;

/** Every dtype. */
export const DTYPES: readonly DType[] = ['f32', 'f64', 'i32'];

/** Whether a dtype is a float type (f32 or f64). */
export const isFloat = (d: DType): boolean => d === 'f32' || d === 'f64';

/** Bytes per element of a dtype. */
export const bytesPerElement = (d: DType): number => (d === 'f64' ? 8 : 4);

/** A zero-filled typed array of `n` elements of `dtype`. */
export function allocArray(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(n);
    case 'f64':
      return new Float64Array(n);
    case 'i32':
      return new Int32Array(n);
  }
}

/** A typed array of `dtype` holding `data` (truncated toward zero for i32). */
export function toTypedArray(dtype: DType, data: ArrayLike<number>): TypedArray {
  switch (dtype) {
    case 'f32':
      return Float32Array.from(data);
    case 'f64':
      return Float64Array.from(data);
    case 'i32':
      return Int32Array.from(data, (v) => Math.trunc(v));
  }
}

/** The dtype of a typed array. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Int32Array) return 'i32';
  return 'f32';
}
