/**
 * The primitive record: one per primitive, holding its name, its shape/dtype
 * rule (abstract evaluation), its CPU kernel, an optional WGSL kernel, its JVP
 * rule and its VJP rule. Rules are written with ops, so they are themselves
 * differentiable and every transformation nests.
 */
import type { Aval, CpuKernel } from '../backends/Backend.js';
import type { Tensor } from '../tensor/Tensor.js';
import type { MaybeZero } from './Zero.js';

export interface Primitive<P = any> {
  readonly name: string;
  /** Shape/dtype rule; throws ShapeError naming the op and the shapes. */
  readonly shape: (inputs: readonly Aval[], params: P) => Aval;
  /** CPU kernel (reference oracle, f32 / f64 / i32). */
  readonly cpu: CpuKernel<P>;
  /** WGSL kernel description for user primitives (built-ins live in the WebGPU kernel table). */
  readonly wgsl?: unknown;
  /**
   * Forward mode: the output tangent given input tangents (symbolic `Zero`
   * where an input does not vary). Not called when every tangent is Zero.
   */
  readonly jvp: (primals: readonly Tensor[], tangents: readonly MaybeZero[], params: P, out: Tensor) => MaybeZero;
  /**
   * Reverse mode: one cotangent per input (`Zero` where none flows, or where
   * `needed[i]` is false). Cotangents have the input's shape (unbroadcast).
   */
  readonly vjp: (cotangent: Tensor, primals: readonly Tensor[], params: P, out: Tensor, needed: readonly boolean[]) => readonly MaybeZero[];
  /**
   * Custom calls only (customJvp / customVjp, see core/custom.ts): evaluate by
   * running ops instead of a kernel. `bind` calls it on values no trace claims;
   * a graph trace inlines it.
   */
  readonly impl?: (inputs: readonly Tensor[], params: P) => Tensor;
}
