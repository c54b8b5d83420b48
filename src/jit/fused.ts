/**
 * The reference semantics of a fused kernel (src/backends/fused.ts): each
 * node run as its own primitive through the ordinary, unfused kernels of the
 * inputs' backend. Every backend's fused code is tested against it.
 */
import type { FusedKernel } from '../backends/fused.js';
import { bind } from '../core/trace.js';
import type { Tensor } from '../tensor/Tensor.js';
import { full } from '../ops/creation.js';
import { broadcastTo } from '../ops/structural.js';
import { lookupPrimitive } from '../ops/primitives.js';

/**
 * Runs `k` one primitive at a time (inputs and literals broadcast to the group's shape first); returns its outputs, then
 * its reductions.
 */
export function runFusedEagerly(k: FusedKernel, given: readonly Tensor[]): Tensor[] {
  // with a matmul, the inputs are [a, b, input 1, …]: input 0 is their product
  const inputs = k.matmul ? [bind(lookupPrimitive('matmul')!, [given[0]!, given[1]!], {}), ...given.slice(2)] : given;
  if (inputs.length !== k.inputs.length) throw new Error(`fused kernel: ${k.inputs.length} inputs expected, got ${inputs.length}`);
  const backend = given[0]?.backendName as 'cpu' | 'wasm' | 'webgpu' | undefined;
  const values: Tensor[] = [];
  for (const n of k.nodes) {
    if (n.kind === 'input') values.push(broadcastTo(inputs[n.input]!, k.shape));
    else if (n.kind === 'literal') values.push(full(k.shape, n.value, { dtype: n.dtype, ...(backend ? { backend } : {}) }));
    else {
      const prim = lookupPrimitive(n.op);
      if (!prim?.fusion) throw new Error(`fused kernel: '${n.op}' is not a fusible elementwise primitive`);
      values.push(
        bind(
          prim,
          n.args.map((a) => values[a]!),
          {},
        ),
      );
    }
  }
  const reduced = (k.reductions ?? []).map((r) => bind(lookupPrimitive(r.op)!, [values[r.node]!], { axes: r.axes }));
  return [...k.outputs.map((o) => values[o]!), ...reduced];
}
