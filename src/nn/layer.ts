/**
 * Layer: a pure value `Layer<In, Out, P>` pairing `init(key, inputShape)`
 * (which checks the input shape and returns fresh parameters and the output
 * shape) with `apply(params, x, ctx?)` (a differentiable function of the
 * parameters and the input). Parameters are plain immutable trees of tensors
 * whose type `P` is inferred from the composition.
 *
 * `In` and `Out` describe shapes at the type level: a tuple of dimensions
 * (literal where known, `number` otherwise; the batch axis comes first),
 * `Same` for layers that keep the shape of their input (activations,
 * dropout), or an array of shapes for layers with several inputs/outputs
 * (`fanOut`, `parallel`, `fanInSum`, ...). At run time shapes are plain arrays
 * and the batch axis may be -1 ("any").
 */
import type { Tensor } from '../tensor/Tensor.js';
import type { Key } from './random.js';

/** A shape at the type level. */
export type ShapeT = readonly number[];
/** The type-level marker of a shape-preserving layer. */
export interface Same {
  readonly __sameShape: true;
}
/** A layer's input or output at the type level: one shape, `Same`, or several shapes. */
export type Arity = ShapeT | Same | readonly ShapeT[];

/** The run-time shape of a layer input: one shape or a list of them (multi-input). */
export type RShape = readonly number[] | readonly RShape[];

/** The value a layer takes or returns: a tensor, or an array of tensors for multi-shapes. */
export type ValueOf<S> = S extends readonly (readonly number[])[] ? (S extends readonly [] ? Tensor : Tensor[]) : Tensor;
/** A run-time layer value. */
export type Value = Tensor | readonly Value[];

/** Per-call context: a PRNG key and the training flag (dropout uses both). */
export interface ApplyContext {
  readonly key?: Key;
  readonly training?: boolean;
}

/** A JSON description of an architecture (rebuilt by `fromSpec`). */
export interface LayerSpec {
  readonly type: string;
  readonly [arg: string]: unknown;
}

/** What a layer's `init` returns: fresh parameters and the output shape. */
export interface InitResult<P> {
  readonly params: P;
  readonly outputShape: RShape;
}

/**
 * A layer: `init(key, inputShape)` checks the input shape and returns fresh parameters and the output shape; `apply(params, x,
 * ctx?)` is a differentiable function of both.
 *
 * @example
 * ```ts
 * const layer = nn.dense(10);
 * const { params, outputShape } = layer.init(nn.random.key(0), [-1, 64]); // outputShape [-1, 10]
 * const y = layer.apply(params, x); // x: [batch, 64] → y: [batch, 10]
 * ```
 */
export interface Layer<In extends Arity, Out extends Arity, P> {
  /** A short human-readable name used in error messages, e.g. `dense(10)`. */
  readonly name: string;
  readonly spec: LayerSpec;
  init(key: Key, inputShape: RShape): InitResult<P>;
  apply(params: P, x: ValueOf<In>, ctx?: ApplyContext): ValueOf<Out>;
  /** Phantom fields carrying the shape types (never set at run time). */
  readonly __in?: In;
  readonly __out?: Out;
}

/** Any layer (used as a constraint). */
// biome-ignore lint/suspicious/noExplicitAny: the constraint every layer satisfies (Layer is invariant in its input type)
export type AnyLayer = Layer<any, any, any>;
/** The parameter type of a layer type. */
// biome-ignore lint/suspicious/noExplicitAny: the positions not being inferred are wildcards
export type ParamsOf<L> = L extends Layer<any, any, infer P> ? P : never;
/** The type-level input shape of a layer type. */
// biome-ignore lint/suspicious/noExplicitAny: the positions not being inferred are wildcards
export type InOf<L> = L extends Layer<infer I, any, any> ? I : never;
/** The type-level output shape of a layer type. */
// biome-ignore lint/suspicious/noExplicitAny: the positions not being inferred are wildcards
export type OutOf<L> = L extends Layer<any, infer O, any> ? O : never;

/** Parameters of a layer with none. */
export type NoParams = Readonly<Record<never, never>>;
/** The (frozen, empty) parameters of a layer with none. */
export const noParams: NoParams = Object.freeze({});

/** Whether a run-time shape is a list of shapes (a multi-input or multi-output layer). */
export const isMultiShape = (s: RShape): s is readonly RShape[] => s.length > 0 && Array.isArray(s[0]);

/** Construct a layer (freezes it; the phantom type fields stay absent). */
export function makeLayer<In extends Arity, Out extends Arity, P>(l: {
  name: string;
  spec: LayerSpec;
  init: (key: Key, inputShape: RShape) => InitResult<P>;
  apply: (params: P, x: ValueOf<In>, ctx?: ApplyContext) => ValueOf<Out>;
}): Layer<In, Out, P> {
  return Object.freeze({ name: l.name, spec: l.spec, init: l.init, apply: l.apply });
}
