/**
 * Moving tensors between backends (explicit, never implicit).
 */
import type { BackendName } from '../backends/Backend.js';
import { getBackendByName } from '../backends/registry.js';
import { ConcreteTensor } from '../core/ConcreteTensor.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { fromTypedArray } from './creation.js';

/** A copy of a concrete tensor on another backend (async: the source may be on the GPU). */
export async function toBackend(t: Tensor, name: BackendName): Promise<Tensor> {
  if (!(t instanceof ConcreteTensor)) throw new ValueError('toBackend', 'cannot move a traced value between backends');
  if (t.backendName === name) return t;
  const data = await t.data();
  return fromTypedArray(data, t.shape, t.dtype, getBackendByName(name));
}
