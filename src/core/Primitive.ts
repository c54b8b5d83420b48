/**
 * The primitive record: one per primitive, holding its name, its shape/dtype
 * rule (abstract evaluation), its kernels (CPU, and WebGPU for built-ins or a
 * WGSL description for user primitives), its JVP rule and its VJP rule. Rules
 * are written with ops, so they are themselves differentiable and every
 * transformation nests. A custom call (customJvp / customVjp) is a different
 * kind of record: it runs ops instead of a kernel (`CustomCall`).
 */
import type { CpuInput } from '../backends/Backend.js';
import type { FusionSpec } from '../backends/fused.js';
import type { TypedArray } from '../tensor/dtype.js';
import type { Aval } from '../tensor/Aval.js';
import type { Tensor } from '../tensor/Tensor.js';
import type { MaybeZero } from './Zero.js';

/**
 * Forward mode: the output tangent given the input tangents (symbolic `Zero`
 * where an input does not vary). Not called when every tangent is Zero. The
 * result has the output's shape and dtype.
 */
export type JvpRule<P = unknown> = (primals: readonly Tensor[], tangents: readonly MaybeZero[], params: P, out: Tensor) => MaybeZero;

/**
 * Reverse mode: one cotangent per input (`Zero` where none flows, or where
 * `needed[i]` is false). Cotangents have the input's shape (unbroadcast).
 */
export type VjpRule<P = unknown> = (
  cotangent: Tensor,
  primals: readonly Tensor[],
  params: P,
  out: Tensor,
  needed: readonly boolean[],
) => readonly MaybeZero[];

/**
 * How a record's rules were declared (see ops/rules.ts). Builders keep their
 * declaration so that the mutation suite can break the declaration itself
 * (a partial derivative negated, a transpose doubled) as well as each emitted
 * rule.
 */
export type RuleDeclaration =
  | { readonly kind: 'elementwise'; readonly partials: readonly (Partial | null)[] }
  | { readonly kind: 'linear' }
  | { readonly kind: 'bilinear' }
  | { readonly kind: 'zero' }
  | { readonly kind: 'rules' };

/**
 * One partial derivative of an elementwise op: ∂out/∂xᵢ as a function of the
 * inputs and the output (broadcast against them), or the constant 1 or -1.
 */
export type Partial = ((inputs: readonly Tensor[], out: Tensor) => Tensor) | 1 | -1;

/**
 * Batching (vmap): the primitive applied to inputs that carry a batch axis
 * (`dims[i]`: its position in `inputs[i]`, or null for an input shared by every
 * example), `size` examples; returns the batched output and its batch axis.
 * `self` is the record itself (rules re-apply it to rearranged inputs).
 * Rules are written with ops (`bind`), so batched values stay differentiable
 * and vmaps nest.
 */
export type BatchRule<P = unknown> = (
  inputs: readonly Tensor[],
  dims: readonly (number | null)[],
  params: P,
  size: number,
  self: Primitive<P>,
) => readonly [Tensor, number | null];

/** The rules every primitive carries: both modes, however they were declared. */
// Rules and kernels are declared as methods so that a record with concrete
// parameters (`Primitive<SliceParams>`) is usable where any record is expected.
export interface Rules<P = unknown> {
  jvp(primals: readonly Tensor[], tangents: readonly MaybeZero[], params: P, out: Tensor): MaybeZero;
  vjp(cotangent: Tensor, primals: readonly Tensor[], params: P, out: Tensor, needed: readonly boolean[]): readonly MaybeZero[];
  /** The declaration the rules were built from (absent for hand-written pairs). */
  readonly declared?: RuleDeclaration;
  /**
   * The batching rule (vmap): required on built-ins; a user primitive without
   * one is batched by a loop over the examples.
   */
  batch?(
    inputs: readonly Tensor[],
    dims: readonly (number | null)[],
    params: P,
    size: number,
    self: Primitive<P>,
  ): readonly [Tensor, number | null];
}

/** A primitive evaluated by a kernel: the record every built-in and user primitive has. */
export interface Primitive<P = unknown> extends Rules<P> {
  /** Present on elementwise primitives that `jit` may fuse (unary and binary maths, comparisons, where). */
  readonly fusion?: FusionSpec;
  readonly name: string;
  /** Shape/dtype rule; throws ShapeError naming the op and the shapes. */
  shape(inputs: readonly Aval[], params: P): Aval;
  /** CPU kernel (reference oracle, f32 / f64 / i32): typed arrays in, a fresh row-major typed array out. */
  cpu(inputs: readonly CpuInput[], params: P, out: Aval): TypedArray;
  /** The WebGPU kernel of a built-in (a `WebGpuKernel<P>` from backends/webgpu/kernels.ts). */
  readonly webgpu?: unknown;
  /** The wasm kernel of a built-in (a `WasmKernel<P>` from backends/wasm/kernels.ts). */
  readonly wasm?: unknown;
  /** The WGSL kernel description of a user primitive (definePrimitive). */
  readonly wgsl?: unknown;
}

/**
 * A custom call (customJvp / customVjp, see core/custom.ts): a function of
 * ops with its own rules. `bind` runs `impl` on values no trace claims; a
 * graph trace inlines it; JVP and VJP traces use its rules.
 */
export interface CustomCall<P = unknown> extends Rules<P> {
  readonly name: string;
  /** Shape/dtype rule (abstract evaluation of `impl`). */
  shape(inputs: readonly Aval[], params: P): Aval;
  /** Evaluate by running ops instead of a kernel. */
  impl(inputs: readonly Tensor[], params: P): Tensor;
}

/** Anything `bind` applies: a kernel primitive or a custom call. */
export type Bindable<P = unknown> = Primitive<P> | CustomCall<P>;

/** Whether a bindable is a custom call (customJvp / customVjp) rather than a kernel primitive. */
export const isCustomCall = (p: Bindable): p is CustomCall => 'impl' in p && typeof (p as CustomCall).impl === 'function';

export type { FusionSpec } from '../backends/fused.js';
