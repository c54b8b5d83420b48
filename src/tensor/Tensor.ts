/**
 * Tensor: the immutable handle every op takes and returns. Concrete tensors
 * (backed by a backend buffer) and tracers (values seen by a transformation)
 * are both Tensors, so user functions are written once and transformed freely.
 * No method mutates a tensor.
 */
import type { DType, TypedArray } from './dtype.js';
import { toNested, type Nested } from './format.js';
import type { Shape } from './shape.js';

/**
 * The immutable tensor handle every op takes and returns: `shape`, `dtype`, `size`, `ndim` and data readers.
 * Concrete tensors and the tracers a transformation sees are both Tensors, so user functions are written once.
 * No method mutates a tensor.
 *
 * @example
 * ```ts
 * const x = ct.tensor([[1, 2], [3, 4]]); // f32, shape [2, 2]
 * await ct.mul(x, 2).array(); // [[2, 4], [6, 8]]
 * ```
 */
export abstract class Tensor {
  abstract readonly shape: Shape;
  abstract readonly dtype: DType;

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Row-major copy of the values (waits for the backend; for tracers, the primal's values). */
  abstract data(): Promise<TypedArray>;

  /** Synchronous read where the backend allows it (the CPU backend). */
  abstract dataSync(): TypedArray;

  /** Values as nested JS arrays (a number for a scalar). */
  async array(): Promise<Nested> {
    return toNested(await this.data(), this.shape);
  }

  arraySync(): Nested {
    return toNested(this.dataSync(), this.shape);
  }

  /** Release the backing buffer now instead of at the end of the enclosing scope. */
  abstract dispose(): void;

  /** The backend holding the data (a `BackendName`: 'cpu' | 'wasm' | 'webgpu'), undefined for a tracer. */
  abstract readonly backendName: string | undefined;
}
