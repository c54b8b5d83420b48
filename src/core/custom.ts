/**
 * Custom calls: a function written with ops that carries its own derivative
 * rules (customJvp / customVjp in transforms/custom.ts). A custom call is a
 * `CustomCall` record with an `impl` (run with ops, not a kernel): `bind` runs
 * it on values no trace claims, the JVP trace calls its `jvp` rule, the VJP
 * tape records it as one node whose backward calls its `vjp` rule, and the
 * graph trace inlines it. Its shape rule is abstract evaluation of `impl`.
 */
import type { Aval } from '../tensor/Aval.js';
import type { Tensor } from '../tensor/Tensor.js';
import { GraphTrace } from './graphTrace.js';
import type { CustomCall, JvpRule, VjpRule } from './Primitive.js';

/** A custom call: a function of tensors with its own JVP and VJP rules. */
export interface CustomCallSpec {
  readonly name: string;
  readonly impl: (inputs: readonly Tensor[]) => Tensor;
  readonly jvp: JvpRule<Record<string, never>>;
  readonly vjp: VjpRule<Record<string, never>>;
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

/** The custom-call record of `spec`. */
export function customCall(spec: CustomCallSpec): CustomCall<Record<string, never>> {
  return {
    name: spec.name,
    shape: (avals) => abstractEval(spec.impl, avals),
    jvp: spec.jvp,
    vjp: spec.vjp,
    declared: { kind: 'rules' },
    impl: (inputs) => spec.impl(inputs),
  };
}
