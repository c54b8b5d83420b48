/**
 * Custom calls: a function written with ops that carries its own derivative
 * rules (customJvp / customVjp in transforms/custom.ts). A custom call is a
 * Primitive record with an `impl` (run with ops, not a kernel): `bind` runs
 * it on values no trace claims, the JVP trace calls its `jvp` rule, the VJP
 * tape records it as one node whose backward calls its `vjp` rule, and the
 * graph trace inlines it. Its shape rule is abstract evaluation of `impl`.
 */
import type { Aval } from '../backends/Backend.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { GraphTrace } from './graphTrace.js';
import type { Primitive } from './Primitive.js';

export interface CustomCallSpec {
  readonly name: string;
  readonly impl: (inputs: readonly Tensor[]) => Tensor;
  readonly jvp: Primitive['jvp'];
  readonly vjp: Primitive['vjp'];
}

/** Output shape and dtype of `impl` on abstract inputs (no data computed). */
function abstractEval(impl: (inputs: readonly Tensor[]) => Tensor, avals: readonly Aval[]): Aval {
  const trace = new GraphTrace();
  try {
    const y = impl(avals.map((a) => trace.input(a)));
    return { shape: y.shape, dtype: y.dtype };
  } finally {
    trace.active = false;
  }
}

export function customCall(spec: CustomCallSpec): Primitive<Record<string, never>> {
  return {
    name: spec.name,
    shape: (avals) => abstractEval(spec.impl, avals),
    cpu: () => {
      throw new ValueError(spec.name, 'a custom function runs its ops, not a kernel');
    },
    jvp: spec.jvp,
    vjp: spec.vjp,
    impl: (inputs) => spec.impl(inputs),
  };
}
