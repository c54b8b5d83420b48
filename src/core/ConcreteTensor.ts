/**
 * ConcreteTensor: a Tensor whose values sit in a backend buffer. Created only
 * by the evaluator and the creation functions; freed by scopes, `dispose()`
 * or the garbage-collection backstop.
 */
import type { Backend, Storage } from '../backends/Backend.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import { describe, formatData } from '../tensor/format.js';
import type { Shape } from '../tensor/shape.js';
import { ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { release, track, type Handle } from './memory.js';

/** A tensor with data: a buffer on one backend, freed by scopes, `dispose()` or, as a backstop, the garbage collector. */
export class ConcreteTensor extends Tensor {
  readonly handle: Handle;

  constructor(
    backend: Backend,
    storage: Storage,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {
    super();
    Object.freeze(shape);
    this.handle = { backend, storage, scope: null };
    track(this, this.handle);
  }

  get backend(): Backend {
    return this.handle.backend;
  }

  get backendName(): string {
    return this.handle.backend.name;
  }

  get disposed(): boolean {
    return this.handle.storage === null;
  }

  /** The live storage; throws a clear error naming `op` when the tensor was disposed. */
  storageFor(op: string): Storage {
    const s = this.handle.storage;
    if (!s) {
      const why =
        this.handle.freedBy ?? 'was disposed (freed by dispose() or by the end of its scope; keep() it or return it from the scope)';
      throw new ValueError(op, `input ${describe(this.dtype, this.shape)} ${why}`);
    }
    return s;
  }

  data(): Promise<TypedArray> {
    try {
      return this.handle.backend.read(this.storageFor('data'), this.dtype, this.size);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  dataSync(): TypedArray {
    return this.handle.backend.readSync(this.storageFor('dataSync'), this.dtype, this.size);
  }

  dispose(): void {
    release(this.handle);
  }

  override toString(): string {
    if (this.disposed) return `Tensor(${describe(this.dtype, this.shape)}, ${this.handle.freedBy ? 'freed' : 'disposed'})`;
    let body: string;
    try {
      body = formatData(this.dataSync(), this.shape, this.dtype);
    } catch {
      body = `<on ${this.backendName}: await t.data() to read>`;
    }
    return `Tensor(${body}, ${describe(this.dtype, this.shape)}${this.backendName === 'cpu' ? '' : `, ${this.backendName}`})`;
  }
}
