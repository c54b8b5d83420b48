/**
 * Forward mode. A JvpTracer pairs a primal with its tangent (or symbolic
 * Zero). Processing a primitive evaluates it on the primals one level down
 * and applies its JVP rule; when every tangent is Zero the rule is skipped and
 * the plain primal is returned.
 */
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import type { Bindable } from './Primitive.js';
import { bind, Trace, Tracer } from './trace.js';
import { isZero, Zero, type MaybeZero } from './Zero.js';

/** A forward-mode value: its primal and its tangent (or the symbolic Zero). */
export class JvpTracer extends Tracer {
  constructor(
    readonly trace: JvpTrace,
    readonly primal: Tensor,
    readonly tangent: MaybeZero,
  ) {
    super();
  }
  get shape() {
    return this.primal.shape;
  }
  get dtype() {
    return this.primal.dtype;
  }
  primalValue(): Tensor {
    return this.primal;
  }
  override retained(): unknown[] {
    return [this.primal, isZero(this.tangent) ? null : this.tangent];
  }
}

/** Forward mode: applies each primitive to the primals and its JVP rule to the tangents. */
export class JvpTrace extends Trace {
  readonly kind = 'jvp';

  lift(x: Tensor): { primal: Tensor; tangent: MaybeZero } {
    if (x instanceof JvpTracer && x.trace === this) return { primal: x.primal, tangent: x.tangent };
    return { primal: x, tangent: Zero };
  }

  process(prim: Bindable, inputs: readonly Tensor[], params: unknown): Tensor {
    const lifted = inputs.map((x) => this.lift(x));
    const primals = lifted.map((l) => l.primal);
    const tangents = lifted.map((l) => l.tangent);
    const out = bind(prim, primals, params);
    if (tangents.every(isZero)) return out;
    const t = prim.jvp(primals, tangents, params, out);
    if (isZero(t)) return out;
    if (!shapesEqual(t.shape, out.shape) || t.dtype !== out.dtype)
      throw new ShapeError(
        prim.name,
        `JVP rule returned a tangent ${describe(t.dtype, t.shape)} for an output ${describe(out.dtype, out.shape)}`,
      );
    return new JvpTracer(this, out, t);
  }
}
