/**
 * `customJvp(f, jvpRule)` and `customVjp(f, forward, backward)`: functions
 * that carry their own derivative rules, like JAX's custom_jvp / custom_vjp
 * (numerically stable gradients, straight-through estimators, gradient
 * clipping in the backward pass). Both work in every transformation and
 * nesting: reverse mode through a customJvp function transposes the user's
 * (linear) JVP rule by taping it; forward mode through a customVjp function
 * differentiates `f` itself. Graphs inline the function.
 */
import { customCall } from '../core/custom.js';
import { isZero, Zero, type MaybeZero } from '../core/Zero.js';
import { bind } from '../core/trace.js';
import { isFloat } from '../tensor/dtype.js';
import { ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { asTensor, zerosLike, type TensorLike } from '../ops/creation.js';
import { broadcastTo } from '../ops/structural.js';
import { jvp as jvpTransform } from './jvp.js';
import { vjp as vjpTransform } from './vjp.js';

let counter = 0;

const functionName = (prefix: string, f: { readonly name: string }): string => `${prefix}(${f.name || 'anonymous'})#${++counter}`;

function toTensors(op: string, args: readonly TensorLike[]): Tensor[] {
  const like = args.find((a): a is Tensor => a instanceof Tensor);
  return args.map((a, i) => {
    if (a instanceof Tensor) return a;
    if (typeof a === 'number') return asTensor(a, like);
    throw new ValueError(op, `argument ${i} must be a tensor or a number (got ${typeof a})`);
  });
}

function checkOut(op: string, y: unknown): Tensor {
  if (!(y instanceof Tensor))
    throw new ValueError(op, `the function must return a single tensor (got ${Array.isArray(y) ? 'an array' : typeof y})`);
  return y;
}

/** The indices of the float arguments among those marked in `wanted`. */
const floatIndices = (xs: readonly Tensor[], wanted: readonly boolean[]): number[] =>
  xs.flatMap((x, i) => (wanted[i] && isFloat(x.dtype) ? [i] : []));

const materialise = (ts: readonly MaybeZero[], like: readonly Tensor[]): Tensor[] =>
  ts.map((t, i) => (isZero(t) ? zerosLike(like[i]!) : t));

/**
 * The JVP rule: `(primals, tangents, out) => outputTangent`, linear in the
 * tangents (zero tangents are passed as zero tensors).
 */
export type CustomJvpRule = (primals: readonly Tensor[], tangents: readonly Tensor[], out: Tensor) => Tensor;

/**
 * `customJvp(f, rule)`: `f` with the forward-mode derivative given by `rule`,
 * `d f(x) = rule(x, dx, f(x))`. Reverse mode uses the transpose of `rule`
 * (obtained by taping it), so `rule` must be linear in the tangents.
 *
 * @example
 * // softplus(x) = log(1 + eˣ), d softplus = sigmoid(x) · dx (stable for large x)
 * const softplus = ct.customJvp(
 *   (x) => ct.log(ct.add(1, ct.exp(x!))),
 *   ([x], [dx]) => ct.mul(ct.sigmoid(x!), dx!),
 * );
 * ct.grad((x: ct.Tensor) => ct.sum(softplus(x)))(ct.tensor([1000], { dtype: 'f64' })); // [1]
 */
export function customJvp(f: (...args: Tensor[]) => Tensor, rule: CustomJvpRule): (...args: TensorLike[]) => Tensor {
  if (typeof f !== 'function' || typeof rule !== 'function') throw new ValueError('customJvp', 'expects (f, jvpRule) functions');
  const name = functionName('customJvp', f);
  const jvpRule = (primals: readonly Tensor[], tangents: readonly MaybeZero[], _p: unknown, out: Tensor): MaybeZero => {
    const t = rule(primals, materialise(tangents, primals), out);
    if (!(t instanceof Tensor)) throw new ValueError(name, 'the JVP rule must return a tensor (the output tangent)');
    return t;
  };
  const prim = customCall({
    name,
    impl: (xs) => checkOut(name, f(...xs)),
    jvp: jvpRule,
    // transpose of the linear map t ↦ rule(primals, t, out), by taping it;
    // only the float arguments the tape needs are differentiated (integer
    // arguments have no tangent space)
    vjp: (cot, primals, _p, out, needed) => {
      const wrt = floatIndices(primals, needed);
      const tangentsFrom = (ts: readonly Tensor[]): Tensor[] =>
        primals.map((x, i) => (wrt.includes(i) ? ts[wrt.indexOf(i)]! : zerosLike(x)));
      const [, pullback] = vjpTransform(
        (...ts: Tensor[]) => checkOut(name, rule(primals, tangentsFrom(ts), out)),
        ...wrt.map((i) => zerosLike(primals[i]!)),
      );
      const cts = pullback(cot);
      return primals.map((_, i) => (wrt.includes(i) ? cts[wrt.indexOf(i)]! : Zero));
    },
  });
  return (...args: TensorLike[]) => bind(prim, toTensors(name, args), {});
}

/**
 * `customVjp(f, forward, backward)`: `f` with a reverse-mode derivative given
 * by `backward`, the vector-Jacobian product `cᵀ·∂f/∂xᵢ` for each argument.
 * `forward(...args)` returns `[output, residuals]` (any value);
 * `backward(residuals, cotangent)` returns one cotangent per argument (a
 * tensor of the argument's shape, a number, or null for none). Forward mode
 * (jvp, jacfwd, hessian) differentiates `f` itself, with respect to its float
 * arguments.
 *
 * @example
 * // gradient clipping: the identity forward, the cotangent clipped to [-1, 1] backward
 * const clipGrad = ct.customVjp(
 *   (x) => x!,
 *   (x) => [x!, null] as const,
 *   (_r, c) => [ct.maximum(ct.minimum(c, 1), -1)],
 * );
 * ct.grad((x: ct.Tensor) => ct.sum(ct.mul(clipGrad(x), 10)))(ct.tensor([1, 2])); // [1, 1]
 */
export function customVjp<R>(
  f: (...args: Tensor[]) => Tensor,
  forward: (...args: Tensor[]) => readonly [Tensor, R],
  backward: (residuals: R, cotangent: Tensor) => readonly (Tensor | number | null)[],
): (...args: TensorLike[]) => Tensor {
  if (typeof f !== 'function' || typeof forward !== 'function' || typeof backward !== 'function') {
    throw new ValueError('customVjp', 'expects (f, forward, backward) functions');
  }
  const name = functionName('customVjp', f);
  const residuals = new WeakMap<Tensor, R>();
  const prim = customCall({
    name,
    impl: (xs) => {
      const r = forward(...xs);
      if (!Array.isArray(r) || r.length !== 2) throw new ValueError(name, 'forward must return [output, residuals]');
      const y = checkOut(name, r[0]);
      residuals.set(y, r[1] as R);
      return y;
    },
    // forward mode: differentiate f itself with respect to its float arguments
    // (integer arguments have no tangent space and are held fixed)
    jvp: (primals, tangents) => {
      const wrt = floatIndices(
        primals,
        primals.map(() => true),
      );
      const ts = materialise(tangents, primals);
      const withFloats = (xs: readonly Tensor[]): Tensor[] => primals.map((x, i) => (wrt.includes(i) ? xs[wrt.indexOf(i)]! : x));
      return jvpTransform(
        (...xs: Tensor[]) => checkOut(name, f(...withFloats(xs))),
        wrt.map((i) => primals[i]!),
        wrt.map((i) => ts[i]!),
      )[1];
    },
    vjp: (cot, primals, _p, out) => {
      const res = residuals.has(out) ? residuals.get(out)! : (forward(...primals)[1] as R);
      const cts = backward(res, cot);
      if (!Array.isArray(cts) || cts.length !== primals.length) {
        throw new ValueError(
          name,
          `backward must return one cotangent per argument (${primals.length}), got ${Array.isArray(cts) ? cts.length : typeof cts}`,
        );
      }
      return cts.map((c, i) => {
        if (c === null || c === undefined) return Zero;
        if (typeof c === 'number') return broadcastTo(asTensor(c, primals[i]), primals[i]!.shape);
        return c;
      });
    },
  });
  return (...args: TensorLike[]) => bind(prim, toTensors(name, args), {});
}
