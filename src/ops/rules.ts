/**
 * Rule builders by kind, so that each derivative is declared once and both
 * the JVP and the VJP rule of a record are built from the declaration:
 * - `elementwise(ar, ...partials)`: ∂out/∂xᵢ per input; JVP Σ ∂ᵢ·dxᵢ, VJP
 *   ct·∂ᵢ unbroadcast to each input's shape;
 * - `linear(apply, transpose)`: a linear primitive with its transpose;
 * - `bilinear(ar, op, transposes)`: d op(a, b) = op(da, b) + op(a, db);
 * - `zeroDerivative(arity)`: piecewise-constant or integer-valued primitives.
 * Builders receive the arithmetic they need (`Arithmetic`) from the module
 * that defines it, so this module depends on no op file and no op file
 * depends on another in a cycle.
 */
import type { WasmKernel } from '../backends/wasm/kernels.js';
import type { WebGpuKernel } from '../backends/webgpu/kernels.js';
import type { JvpRule, Partial, Primitive, Rules, VjpRule } from '../core/Primitive.js';
import { isZero, Zero, type MaybeZero } from '../core/Zero.js';
import { shapesEqual, type Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/Tensor.js';
import { zerosLike } from './creation.js';

/** A built-in primitive record: a kernel record whose WebGPU and wasm kernels and batching rule are required. */
export type Builtin<P> = Primitive<P> & {
  readonly webgpu: WebGpuKernel<P>;
  readonly wasm: WasmKernel<P>;
} & Required<Pick<Rules<P>, 'batch'>>;

/** The ops the builders apply: supplied by ops/elementwise.ts, where they are defined. */
export interface Arithmetic {
  readonly add: (a: Tensor, b: Tensor) => Tensor;
  readonly mul: (a: Tensor, b: Tensor) => Tensor;
  readonly neg: (a: Tensor) => Tensor;
  readonly broadcastTo: (x: Tensor, shape: Shape) => Tensor;
  readonly unbroadcast: (ct: Tensor, shape: Shape) => Tensor;
}

/** Apply a linear map to a tangent, keeping symbolic zeros symbolic. */
export const mapTangent = (t: MaybeZero, f: (t: Tensor) => Tensor): MaybeZero => (isZero(t) ? Zero : f(t));

/** Zero-aware sum of tangents. */
export function sumTangents(add: Arithmetic['add'], ...ts: readonly MaybeZero[]): MaybeZero {
  let acc: MaybeZero = Zero;
  for (const t of ts) {
    if (isZero(t)) continue;
    acc = isZero(acc) ? t : add(acc, t);
  }
  return acc;
}

/** `v · ∂` for a partial that may be the constant 1 or -1. */
function scaleBy(ar: Arithmetic, v: Tensor, partial: Partial, inputs: readonly Tensor[], out: Tensor): Tensor {
  if (partial === 1) return v;
  if (partial === -1) return ar.neg(v);
  return ar.mul(v, partial(inputs, out));
}

/**
 * Rules of an elementwise (broadcasting) primitive from its partial
 * derivatives, one per input: d out = Σᵢ ∂ᵢ · dxᵢ (broadcast to the output),
 * x̄ᵢ = unbroadcast(ct · ∂ᵢ) to xᵢ's shape. Inputs whose partial is `null`
 * carry no derivative (a condition, for example).
 */
export function elementwise<P = unknown>(ar: Arithmetic, ...partials: readonly (Partial | null)[]): Rules<P> {
  const jvp: JvpRule<P> = (xs, ts, _p, out) => {
    const terms = ts.map((t, i) => {
      const d = partials[i];
      return d === null || d === undefined ? Zero : mapTangent(t, (v) => scaleBy(ar, v, d, xs, out));
    });
    return mapTangent(sumTangents(ar.add, ...terms), (t) => (shapesEqual(t.shape, out.shape) ? t : ar.broadcastTo(t, out.shape)));
  };
  const vjp: VjpRule<P> = (ct, xs, _p, out, needed) =>
    xs.map((x, i) => {
      const d = partials[i];
      if (d === null || d === undefined || !needed[i]) return Zero;
      return ar.unbroadcast(scaleBy(ar, ct, d, xs, out), x.shape);
    });
  return { jvp, vjp, declared: { kind: 'elementwise', partials } };
}

/**
 * Rules of a linear primitive: d f(x) = f(dx) (`apply`, called with every
 * tangent, zeros materialised only when some input varies and others do
 * not; it may return Zero where the map is zero, as a cast to integers), and
 * x̄ = fᵀ(ct) (`transpose`, one cotangent per input).
 */
export function linear<P = unknown>(
  apply: (tangents: readonly Tensor[], params: P, primals: readonly Tensor[]) => MaybeZero,
  transpose: (ct: Tensor, primals: readonly Tensor[], params: P, needed: readonly boolean[]) => readonly MaybeZero[],
): Rules<P> {
  return {
    jvp: (xs, ts, p) =>
      ts.every(isZero)
        ? Zero
        : apply(
            ts.map((t, i) => (isZero(t) ? zerosLike(xs[i]!) : t)),
            p,
            xs,
          ),
    vjp: (ct, xs, p, _out, needed) => transpose(ct, xs, p, needed),
    declared: { kind: 'linear' },
  };
}

/**
 * Rules of a bilinear primitive op(a, b): d op = op(da, b) + op(a, db);
 * ā = transposeA(ct, a, b), b̄ = transposeB(ct, a, b) (each unbroadcast to
 * its input's shape by the caller's transpose).
 */
export function bilinear<P = unknown>(
  ar: Arithmetic,
  op: (a: Tensor, b: Tensor) => Tensor,
  transposeA: (ct: Tensor, a: Tensor, b: Tensor) => Tensor,
  transposeB: (ct: Tensor, a: Tensor, b: Tensor) => Tensor,
): Rules<P> {
  return {
    jvp: ([a, b], [ta, tb]) =>
      sumTangents(
        ar.add,
        mapTangent(ta!, (t) => op(t, b!)),
        mapTangent(tb!, (t) => op(a!, t)),
      ),
    vjp: (ct, [a, b], _p, _out, needed) => [needed[0] ? transposeA(ct, a!, b!) : Zero, needed[1] ? transposeB(ct, a!, b!) : Zero],
    declared: { kind: 'bilinear' },
  };
}

/** Rules of a primitive whose derivative is zero everywhere it exists (comparisons, sign, argmax, stopGradient). */
export function zeroDerivative<P = unknown>(arity: number): Rules<P> {
  return {
    jvp: () => Zero,
    vjp: () => Array.from({ length: arity }, () => Zero),
    declared: { kind: 'zero' },
  };
}

/** Hand-written rules (max, where, user primitives): kept as given and marked as such. */
export function handWritten<P = unknown>(jvp: JvpRule<P>, vjp: VjpRule<P>): Rules<P> {
  return { jvp, vjp, declared: { kind: 'rules' } };
}
