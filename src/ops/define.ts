/**
 * `definePrimitive`: a user primitive with its own shape rule, CPU kernel,
 * optional WGSL kernel, JVP and VJP rules (and a declared input domain for
 * the laws). It is registered by name (so `evalGraph` finds it) and returned
 * as an op function that works in every transformation and nesting. Rules
 * are written with ops; zero tangents reach the JVP rule as zero tensors.
 */
import type { CpuKernel } from '../backends/Backend.js';
import type { Aval } from '../tensor/Aval.js';
import { noWgslKernel, type WgslKernel } from '../backends/webgpu/userKernel.js';
import type { BatchRule, Primitive } from '../core/Primitive.js';
import { bind } from '../core/trace.js';
import { isZero, Zero, type MaybeZero } from '../core/Zero.js';
import { ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { broadcastsTo, shapesEqual } from '../tensor/shape.js';
import { asTensor, zerosLike, type TensorLike } from './creation.js';
import { broadcastTo } from './structural.js';
import { registerPrimitive } from './primitives.js';

/**
 * What `definePrimitive` takes: the name, shape rule, CPU kernel, optional WGSL kernel, JVP and VJP rules, the laws' input domain
 * and default parameters.
 */
export interface PrimitiveDefinition<P = Record<string, never>, D = unknown> {
  readonly name: string;
  /** Shape/dtype rule: throw a ShapeError naming the op for bad inputs. */
  readonly shape: (inputs: readonly Aval[], params: P) => Aval;
  /** CPU kernel: typed arrays in, a fresh row-major typed array of the output dtype out. */
  readonly cpu: CpuKernel<P>;
  /** WGSL kernel for the WebGPU backend (without it, running on WebGPU is an error). */
  readonly wgsl?: WgslKernel;
  /** d out = jvp(primals, tangents, params, out); tangents of inputs that do not vary are zero tensors. */
  readonly jvp: (primals: readonly Tensor[], tangents: readonly Tensor[], params: P, out: Tensor) => Tensor | MaybeZero;
  /** One cotangent per input (input-shaped: unbroadcast yourself), or Zero / null for none. */
  readonly vjp: (
    cotangent: Tensor,
    primals: readonly Tensor[],
    params: P,
    out: Tensor,
    needed: readonly boolean[],
  ) => readonly (MaybeZero | null)[];
  /**
   * The batching rule (vmap): the primitive applied to inputs carrying a batch axis (`dims[i]`, or null for an input
   * shared by every example) of `size` examples, returning the batched output and its batch axis. Write it with ops,
   * re-applying the primitive (`self`, or the op itself) to rearranged inputs. Without it, vmap runs the primitive
   * once per example and stacks the results (with a one-time notice).
   */
  readonly batch?: BatchRule<P>;
  /** The input domain its laws sample from (see `cotangent/laws`: PrimDomain). */
  readonly domain?: D;
  /** Default parameters (default {}). */
  readonly params?: P;
}

/** The op returned by `definePrimitive`: call it on tensors, or `.withParams(p)` first. */
export interface DefinedPrimitive<P, D> {
  (...inputs: TensorLike[]): Tensor;
  withParams(params: P): (...inputs: TensorLike[]) => Tensor;
  /** The primitive record (for `bind`, the laws and the backends). */
  readonly primitive: Primitive<P>;
  readonly domain: D | undefined;
}

function requireFn(name: string, field: string, v: unknown): void {
  if (typeof v !== 'function') throw new ValueError('definePrimitive', `'${name}': field '${field}' must be a function (got ${typeof v})`);
}

/**
 * A user primitive with its own shape rule, CPU kernel, optional WGSL kernel, JVP and VJP rules (and optionally a
 * batching rule for vmap); the returned op works
 * in every transformation and nesting, and `evalGraph` finds it by name.
 *
 * @example
 * ```ts
 * // logcosh(x) = log(cosh(x));  d logcosh x = tanh x · dx
 * const logcosh = ct.definePrimitive({
 *   name: 'example.logcosh',
 *   shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
 *   cpu: ([x]) => x!.data.map((v) => Math.abs(v) + Math.log1p(Math.exp(-2 * Math.abs(v))) - Math.LN2),
 *   jvp: ([x], [t]) => ct.mul(t!, ct.tanh(x!)),
 *   vjp: (c, [x]) => [ct.mul(c, ct.tanh(x!))],
 *   domain: { values: 'real' },
 * });
 * ct.grad((x: ct.Tensor) => ct.sum(logcosh(x)))(ct.tensor([0, 1])); // tanh x
 * ```
 */
export function definePrimitive<P = Record<string, never>, D = unknown>(def: PrimitiveDefinition<P, D>): DefinedPrimitive<P, D> {
  if (!def || typeof def.name !== 'string' || def.name.length === 0)
    throw new ValueError('definePrimitive', "field 'name' must be a non-empty string");
  const name = def.name;
  for (const f of ['shape', 'cpu', 'jvp', 'vjp'] as const) requireFn(name, f, def[f]);
  if (def.batch !== undefined) requireFn(name, 'batch', def.batch);
  const primitive: Primitive<P> = {
    name,
    shape: def.shape,
    cpu: def.cpu,
    ...(def.wgsl !== undefined ? { wgsl: def.wgsl } : {}),
    ...(def.batch !== undefined ? { batch: def.batch } : {}),
    jvp: (primals, tangents, params, out) => {
      const t = def.jvp(
        primals,
        tangents.map((t, i) => (isZero(t) ? zerosLike(primals[i]!) : t)),
        params,
        out,
      );
      if (t !== Zero && !(t instanceof Tensor)) throw new ValueError(name, 'the JVP rule must return a tensor (or Zero)');
      // a tangent that broadcasts to the output (a rule written with broadcasting ops) is broadcast here
      return t !== Zero && !shapesEqual(t.shape, out.shape) && broadcastsTo(t.shape, out.shape) ? broadcastTo(t, out.shape) : t;
    },
    vjp: (cot, primals, params, out, needed) => {
      const cts = def.vjp(cot, primals, params, out, needed);
      if (!Array.isArray(cts) || cts.length !== primals.length) {
        throw new ValueError(
          name,
          `the VJP rule must return one cotangent per input (${primals.length}), got ${Array.isArray(cts) ? cts.length : typeof cts}`,
        );
      }
      return cts.map((c, i) => (!needed[i] || c === null || c === undefined ? Zero : c));
    },
  };
  registerPrimitive(primitive as Primitive);
  const apply =
    (params: P) =>
    (...inputs: TensorLike[]): Tensor => {
      if (inputs.length === 0) throw new ValueError(name, 'needs at least one input');
      const like = inputs.find((x): x is Tensor => x instanceof Tensor);
      const xs = inputs.map((x) => asTensor(x, like));
      if (def.wgsl === undefined && xs.some((x) => x.backendName === 'webgpu')) {
        throw new ValueError(name, noWgslKernel(name).slice(name.length + 2));
      }
      return bind(primitive, xs, params);
    };
  const op = apply((def.params ?? {}) as P) as DefinedPrimitive<P, D>;
  Object.defineProperties(op, {
    withParams: { value: (params: P) => apply(params) },
    primitive: { value: primitive },
    domain: { value: def.domain },
    name: { value: name },
  });
  return op;
}
