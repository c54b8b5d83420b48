/**
 * Example: a user-defined primitive, logcosh(x) = log(cosh(x)), with its own
 * shape rule, CPU kernel (computed stably), JVP and VJP rules and the input
 * domain its laws sample from. In your project import from 'cotangent'.
 */
import * as ct from '../src/index.js';

export const logcosh = ct.definePrimitive({
  name: 'example.logcosh',
  // shape/dtype rule: elementwise, floats only
  shape: ([x]) => {
    if (x!.dtype === 'i32') throw new ct.ShapeError('logcosh', `expected a float tensor, got i32[${x!.shape.join(',')}]`);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  // log cosh x = |x| + log1p(exp(-2|x|)) - log 2, without overflow
  cpu: ([x]) => x!.data.map((v) => Math.abs(v) + Math.log1p(Math.exp(-2 * Math.abs(v))) - Math.LN2),
  // d logcosh x = tanh x · dx
  jvp: ([x], [t]) => ct.mul(t!, ct.tanh(x!)),
  // x̄ = tanh x · ȳ
  vjp: (c, [x]) => [ct.mul(c, ct.tanh(x!))],
  // smooth everywhere: real values (cotangent/laws `ValueDomain`)
  domain: { values: 'real' },
});

/** A robust regression loss built on it. */
export const logcoshLoss = (pred: ct.Tensor, target: ct.Tensor): ct.Tensor => ct.mean(logcosh(ct.sub(pred, target)));
