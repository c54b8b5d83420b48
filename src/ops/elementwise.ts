/**
 * Elementwise primitives: unary maths, broadcasting binary arithmetic,
 * comparisons and `where`. Each record: shape rule, CPU kernel, JVP, VJP.
 * Conventions: relu'(0) = 0, abs'(0) = 0 (sign(0) = 0), maximum/minimum send
 * the derivative to the first argument on ties.
 */
import { mapBinary, mapUnary, expand } from '../backends/cpu/kernels.js';
import type { Primitive } from '../core/Primitive.js';
import { bind } from '../core/trace.js';
import { lin, Zero } from '../core/Zero.js';
import { allocArray } from '../tensor/dtype.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, zerosLike, type TensorLike } from './creation.js';
import { broadcastTo, unbroadcast } from './structural.js';
import { jvpHooks } from '../core/jvpTrace.js';
import { vjpHooks } from '../core/vjpTrace.js';
import { addT, binaryShape, pair, sameDtype, unaryShape } from './util.js';

type NoParams = Record<string, never>;
const P: NoParams = {};

const unary = (name: string, floatOnly: boolean, f: (v: number) => number, rules: Pick<Primitive<NoParams>, 'jvp' | 'vjp'>): Primitive<NoParams> => ({
  name,
  shape: unaryShape(name, floatOnly),
  cpu: ([x], _p, out) => mapUnary(x!, out, f),
  ...rules,
});

const sigmoidF = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

export const unaryPrims = {
  // d(-x) = -dx
  neg: unary('neg', false, (v) => -v, { jvp: (_, [t]) => lin(t!, neg), vjp: (ct) => [neg(ct)] }),
  // d exp x = exp x · dx
  exp: unary('exp', true, Math.exp, { jvp: (_, [t], __, y) => lin(t!, (t) => mul(t, y)), vjp: (ct, _, __, y) => [mul(ct, y)] }),
  // d ln x = dx / x
  log: unary('log', true, Math.log, { jvp: ([x], [t]) => lin(t!, (t) => div(t, x!)), vjp: (ct, [x]) => [div(ct, x!)] }),
  // d sin x = cos x · dx
  sin: unary('sin', true, Math.sin, { jvp: ([x], [t]) => lin(t!, (t) => mul(t, cos(x!))), vjp: (ct, [x]) => [mul(ct, cos(x!))] }),
  // d cos x = -sin x · dx
  cos: unary('cos', true, Math.cos, { jvp: ([x], [t]) => lin(t!, (t) => neg(mul(t, sin(x!)))), vjp: (ct, [x]) => [neg(mul(ct, sin(x!)))] }),
  // d tanh x = (1 - tanh² x) · dx
  tanh: unary('tanh', true, Math.tanh, {
    jvp: (_, [t], __, y) => lin(t!, (t) => mul(t, sub(1, square(y)))),
    vjp: (ct, _, __, y) => [mul(ct, sub(1, square(y)))],
  }),
  // d σ(x) = σ(x)(1 - σ(x)) · dx
  sigmoid: unary('sigmoid', true, sigmoidF, {
    jvp: (_, [t], __, y) => lin(t!, (t) => mul(t, mul(y, sub(1, y)))),
    vjp: (ct, _, __, y) => [mul(ct, mul(y, sub(1, y)))],
  }),
  // d relu x = [x > 0] · dx   (relu'(0) = 0)
  relu: unary('relu', false, (v) => (v > 0 ? v : 0), {
    jvp: ([x], [t]) => lin(t!, (t) => mul(t, greater(x!, 0))),
    vjp: (ct, [x]) => [mul(ct, greater(x!, 0))],
  }),
  // d √x = dx / (2 √x)
  sqrt: unary('sqrt', true, Math.sqrt, { jvp: (_, [t], __, y) => lin(t!, (t) => div(t, mul(y, 2))), vjp: (ct, _, __, y) => [div(ct, mul(y, 2))] }),
  // d x² = 2x · dx
  square: unary('square', false, (v) => v * v, { jvp: ([x], [t]) => lin(t!, (t) => mul(t, mul(x!, 2))), vjp: (ct, [x]) => [mul(ct, mul(x!, 2))] }),
  // d |x| = sign(x) · dx   (abs'(0) = 0)
  abs: unary('abs', false, Math.abs, { jvp: ([x], [t]) => lin(t!, (t) => mul(t, sign(x!))), vjp: (ct, [x]) => [mul(ct, sign(x!))] }),
  // d (1/x) = -dx / x² = -(1/x)² · dx
  reciprocal: unary('reciprocal', true, (v) => 1 / v, {
    jvp: (_, [t], __, y) => lin(t!, (t) => neg(mul(t, square(y)))),
    vjp: (ct, _, __, y) => [neg(mul(ct, square(y)))],
  }),
  // sign is piecewise constant: d sign x = 0
  sign: unary('sign', false, (v) => (v > 0 ? 1 : v < 0 ? -1 : v), { jvp: () => Zero, vjp: () => [Zero] }),
} satisfies Record<string, Primitive<NoParams>>;

const binary = (name: string, floatOnly: boolean, f: (a: number, b: number) => number, rules: Pick<Primitive<NoParams>, 'jvp' | 'vjp'>): Primitive<NoParams> => ({
  name,
  shape: binaryShape(name, floatOnly),
  cpu: ([a, b], _p, out) => mapBinary(a!, b!, out, f),
  ...rules,
});

/** Cotangent of a broadcasting binary input: reduce back to its shape, or skip when not needed. */
const ctFor = (needed: boolean, ct: () => Tensor, x: Tensor) => (needed ? unbroadcast(ct(), x.shape) : Zero);

/** Piecewise-constant comparisons: zero derivative everywhere. */
const comparison = (name: string, f: (a: number, b: number) => boolean): Primitive<NoParams> =>
  binary(name, false, (a, b) => (f(a, b) ? 1 : 0), { jvp: () => Zero, vjp: () => [Zero, Zero] });

/** log(a) where a > 0 and 0 elsewhere, without evaluating log at a ≤ 0. */
const safeLog = (a: Tensor): Tensor => {
  const pos = greater(a, 0);
  return where(pos, log(where(pos, a, 1)), 0);
};

export const binaryPrims = {
  // d(a + b) = da + db
  add: binary('add', false, (a, b) => a + b, {
    jvp: (_, [ta, tb]) => addT(add, ta!, tb!),
    vjp: (ct, [a, b], _p, _y, n) => [ctFor(n[0]!, () => ct, a!), ctFor(n[1]!, () => ct, b!)],
  }),
  // d(a - b) = da - db
  sub: binary('sub', false, (a, b) => a - b, {
    jvp: (_, [ta, tb]) => addT(add, ta!, lin(tb!, neg)),
    vjp: (ct, [a, b], _p, _y, n) => [ctFor(n[0]!, () => ct, a!), ctFor(n[1]!, () => neg(ct), b!)],
  }),
  // d(a · b) = da · b + a · db
  mul: binary('mul', false, (a, b) => a * b, {
    jvp: ([a, b], [ta, tb]) => addT(add, lin(ta!, (t) => mul(t, b!)), lin(tb!, (t) => mul(a!, t))),
    vjp: (ct, [a, b], _p, _y, n) => [ctFor(n[0]!, () => mul(ct, b!), a!), ctFor(n[1]!, () => mul(a!, ct), b!)],
  }),
  // d(a / b) = da / b - (a / b) · db / b
  div: binary('div', true, (a, b) => a / b, {
    jvp: ([, b], [ta, tb], _p, y) => addT(add, lin(ta!, (t) => div(t, b!)), lin(tb!, (t) => neg(div(mul(t, y), b!)))),
    vjp: (ct, [a, b], _p, y, n) => [ctFor(n[0]!, () => div(ct, b!), a!), ctFor(n[1]!, () => neg(div(mul(ct, y), b!)), b!)],
  }),
  // d(a^b) = b · a^(b-1) · da + a^b · ln a · db   (ln a taken as 0 where a ≤ 0)
  pow: binary('pow', true, Math.pow, {
    jvp: ([a, b], [ta, tb], _p, y) =>
      addT(add, lin(ta!, (t) => mul(t, mul(b!, pow(a!, sub(b!, 1))))), lin(tb!, (t) => mul(t, mul(y, safeLog(a!))))),
    vjp: (ct, [a, b], _p, y, n) => [
      ctFor(n[0]!, () => mul(ct, mul(b!, pow(a!, sub(b!, 1)))), a!),
      ctFor(n[1]!, () => mul(ct, mul(y, safeLog(a!))), b!),
    ],
  }),
  // d max(a, b) = [a ≥ b] · da + [a < b] · db   (ties: the first argument)
  maximum: binary('maximum', false, (a, b) => (a >= b || Number.isNaN(a) ? a : b), {
    jvp: ([a, b], [ta, tb]) => selectT(greaterEqual(a!, b!), ta!, tb!, a!, b!),
    vjp: (ct, [a, b], _p, _y, n) => {
      const m = greaterEqual(a!, b!);
      return [ctFor(n[0]!, () => where(m, ct, 0), a!), ctFor(n[1]!, () => where(m, 0, ct), b!)];
    },
  }),
  // d min(a, b) = [a ≤ b] · da + [a > b] · db   (ties: the first argument)
  minimum: binary('minimum', false, (a, b) => (a <= b || Number.isNaN(a) ? a : b), {
    jvp: ([a, b], [ta, tb]) => selectT(lessEqual(a!, b!), ta!, tb!, a!, b!),
    vjp: (ct, [a, b], _p, _y, n) => {
      const m = lessEqual(a!, b!);
      return [ctFor(n[0]!, () => where(m, ct, 0), a!), ctFor(n[1]!, () => where(m, 0, ct), b!)];
    },
  }),
  greater: comparison('greater', (a, b) => a > b),
  greaterEqual: comparison('greaterEqual', (a, b) => a >= b),
  less: comparison('less', (a, b) => a < b),
  lessEqual: comparison('lessEqual', (a, b) => a <= b),
  equal: comparison('equal', (a, b) => a === b),
  notEqual: comparison('notEqual', (a, b) => a !== b),
} satisfies Record<string, Primitive<NoParams>>;

/** where(mask, ta, tb) for tangents, materialising a zero side only when the other is non-zero. */
function selectT(mask: Tensor, ta: Tensor | typeof Zero, tb: Tensor | typeof Zero, a: Tensor, b: Tensor) {
  if (ta === Zero && tb === Zero) return Zero;
  return where(mask, ta === Zero ? zerosLike(a) : ta, tb === Zero ? zerosLike(b) : tb);
}

export const wherePrim: Primitive<NoParams> = {
  name: 'where',
  shape: ([c, a, b]) => {
    sameDtype('where', a!, b!);
    return { shape: broadcastShapes('where', c!.shape, a!.shape, b!.shape), dtype: a!.dtype };
  },
  cpu: ([c, a, b], _p, out) => {
    const n = out.shape.reduce((x, y) => x * y, 1);
    const cd = expand(c!, out.shape);
    const ad = expand(a!, out.shape);
    const bd = expand(b!, out.shape);
    const r = allocArray(out.dtype, n);
    for (let i = 0; i < n; i++) r[i] = cd[i] !== 0 ? ad[i]! : bd[i]!;
    return r;
  },
  // d where(c, a, b) = where(c, da, db)   (c is not differentiable)
  jvp: ([c, a, b], [, ta, tb]) => selectT(c!, ta!, tb!, a!, b!),
  // ct flows to a where c holds and to b elsewhere
  vjp: (ct, [c, a, b], _p, _y, n) => [Zero, ctFor(n[1]!, () => where(c!, ct, 0), a!), ctFor(n[2]!, () => where(c!, 0, ct), b!)],
};

// ---- public op functions ----
const u = (p: Primitive<NoParams>) => (x: TensorLike): Tensor => bind(p, [asTensor(x)], P);
const b2 = (p: Primitive<NoParams>) => (a: TensorLike, b: TensorLike): Tensor => bind(p, pair(a, b), P);

export const neg = u(unaryPrims.neg);
export const exp = u(unaryPrims.exp);
export const log = u(unaryPrims.log);
export const sin = u(unaryPrims.sin);
export const cos = u(unaryPrims.cos);
export const tanh = u(unaryPrims.tanh);
export const sigmoid = u(unaryPrims.sigmoid);
export const relu = u(unaryPrims.relu);
export const sqrt = u(unaryPrims.sqrt);
export const square = u(unaryPrims.square);
export const abs = u(unaryPrims.abs);
export const reciprocal = u(unaryPrims.reciprocal);
export const sign = u(unaryPrims.sign);

export const add = b2(binaryPrims.add);
export const sub = b2(binaryPrims.sub);
export const mul = b2(binaryPrims.mul);
export const div = b2(binaryPrims.div);
export const pow = b2(binaryPrims.pow);
export const maximum = b2(binaryPrims.maximum);
export const minimum = b2(binaryPrims.minimum);
export const greater = b2(binaryPrims.greater);
export const greaterEqual = b2(binaryPrims.greaterEqual);
export const less = b2(binaryPrims.less);
export const lessEqual = b2(binaryPrims.lessEqual);
export const equal = b2(binaryPrims.equal);
export const notEqual = b2(binaryPrims.notEqual);

/** where(cond, a, b): a where cond ≠ 0, else b; all three broadcast. */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = pair(a, b);
  const c = asTensor(cond, x);
  return bind(wherePrim, [c, x, y], P);
}


// The traces need `add` (cotangent accumulation) and `broadcastTo` (tangent
// fix-up) but sit below ops; every op module imports this one, so installing
// them here makes any entry point (root, nn, io, a single op file) work.
vjpHooks.add = add;
jvpHooks.broadcastTo = broadcastTo;
