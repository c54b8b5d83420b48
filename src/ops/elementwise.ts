/**
 * Elementwise primitives: unary maths, broadcasting binary arithmetic,
 * comparisons and `where`. Each record states its shape rule, its kernels
 * (CPU function, WGSL expression) and its derivative once, as partial
 * derivatives (`elementwise` in ops/rules.ts builds both the JVP and the VJP
 * from them, with broadcasting and unbroadcasting done there).
 * Conventions: relu'(0) = 0, abs'(0) = 0 (sign(0) = 0), maximum/minimum send
 * the derivative to the first argument on ties; relu, maximum and minimum
 * propagate NaN; d/da a^b is 0 where b = 0 (also at a = 0); softplus'(0) = 1/2;
 * logaddexp sends 1/2 to each argument at a tie (also at ±∞ ties).
 */
import { expand, mapBinary, mapUnary } from '../backends/cpu/kernels.js';
import {
  binaryKernel as wasmBinary,
  compareKernel as wasmCompare,
  unaryKernel as wasmUnary,
  whereKernel as wasmWhere,
  type WasmBinaryOp,
  type WasmCompareOp,
  type WasmUnaryOp,
} from '../backends/wasm/kernels.js';
import { compareExpr, compareKernel, mapKernel, whereKernel } from '../backends/webgpu/kernels.js';
import type { Partial, Rules } from '../core/Primitive.js';
import { bind } from '../core/trace.js';
import { Zero, type MaybeZero } from '../core/Zero.js';
import { allocArray } from '../tensor/dtype.js';
import { broadcastShapes, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/Tensor.js';
import { asTensor, zerosLike, type TensorLike } from './creation.js';
import { bilinear, elementwise, handWritten, zeroDerivative, type Arithmetic, type Builtin as BuiltinOf } from './rules.js';
import { batchOps, broadcastTo, unbroadcast } from './structural.js';
import { broadcastingBatch } from './batching.js';
import { binaryShape, pair, sameDtype, unaryShape } from './util.js';
import { erf64, erfc64, logaddexp64, SPECIAL_WGSL, softplus64 } from './special.js';

type NoParams = Record<string, never>;
const NO_PARAMS: NoParams = {};

type Builtin = BuiltinOf<NoParams>;

/** vmap of an elementwise map: batched inputs aligned at the front (a one-input map keeps its batch axis). */
const mapBatch = broadcastingBatch<NoParams>(batchOps);

/** The arithmetic the rule builders apply (called only when a rule runs, after this module has loaded). */
const arithmetic: Arithmetic = {
  add: (a, b) => add(a, b),
  mul: (a, b) => mul(a, b),
  neg: (a) => neg(a),
  broadcastTo: (x, shape) => broadcastTo(x, shape),
  unbroadcast: (ct, shape) => unbroadcast(ct, shape),
};

/** ∂/∂x as a function of the input `x` or the output `y`. */
const ofX =
  (d: (x: Tensor) => Tensor): Partial =>
  ([x]) =>
    d(x!);
const ofY =
  (d: (y: Tensor) => Tensor): Partial =>
  (_, y) =>
    d(y);

interface UnarySpec {
  /** Float inputs only (exp, log, …). */
  readonly floatOnly: boolean;
  /** The CPU function. */
  readonly f: (v: number) => number;
  /** The WGSL expression over `x0` (`t` is the WGSL type) and helper functions it calls. */
  readonly wgsl: (t: string) => string;
  readonly prelude?: string;
  /** The operation of the wasm unary kernel. */
  readonly wasm: WasmUnaryOp;
  /** d out / dx, or 'zero' for a piecewise-constant op. */
  readonly derivative: Partial | 'zero';
}

const unary = (name: string, spec: UnarySpec): Builtin => ({
  name,
  shape: unaryShape(name, spec.floatOnly),
  cpu: ([x], _p, out) => mapUnary(x!, out, spec.f),
  webgpu: mapKernel(spec.wgsl, spec.prelude),
  wasm: wasmUnary(spec.wasm),
  batch: mapBatch,
  fusion: { f: spec.f, wgsl: spec.wgsl, ...(spec.prelude ? { prelude: spec.prelude } : {}), wasm: { kind: 'unary', op: spec.wasm } },
  ...(spec.derivative === 'zero' ? zeroDerivative<NoParams>(1) : elementwise<NoParams>(arithmetic, spec.derivative)),
});

const sigmoidF = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

const SIGMOID_WGSL = `
fn sigmoid_f(x: f32) -> f32 {
  if (x >= 0.0) {
    return 1.0 / (1.0 + exp(-x));
  }
  let e = exp(x);
  return e / (1.0 + e);
}`;

// a^b with JavaScript's Math.pow conventions for a ≤ 0 (WGSL's pow is undefined there).
const POW_WGSL = `
fn pow_f(a: f32, b: f32) -> f32 {
  if (b == 0.0) {
    return 1.0;
  }
  if (a == 0.0) {
    return select(f32_inf(), 0.0, b > 0.0);
  }
  let r = exp2(b * log2(abs(a)));
  if (a > 0.0) {
    return r;
  }
  if (floor(b) != b) {
    return f32_nan();
  }
  let half = b * 0.5;
  return select(r, -r, floor(half) != half);
}`;

/** NaN-aware selection in WGSL: integers have no NaN. */
const orNan = (t: string, v: string): string => (t === 'f32' ? ` || is_nan(${v})` : '');

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * a − b, with 0 where a and b are the same infinity (where a − b is NaN): the argument of the
 * partials of logaddexp, σ(a − b) = e^(a − out), which are then 1/2 at every tie.
 */
const tieDifference = (a: Tensor, b: Tensor): Tensor => {
  const d = sub(a, b);
  return where(mul(equal(a, b), equal(abs(a), Infinity)), 0, d);
};

/** The records of the unary elementwise primitives (shape rule, CPU and WGSL kernels, derivative), by name. */
export const unaryPrims = {
  // d(-x) = -dx
  neg: unary('neg', { wasm: 'neg', floatOnly: false, f: (v) => -v, wgsl: () => '-x0', derivative: -1 }),
  // d exp x = exp x · dx
  exp: unary('exp', { wasm: 'exp', floatOnly: true, f: Math.exp, wgsl: () => 'exp(x0)', derivative: ofY((y) => y) }),
  // d ln x = dx / x
  log: unary('log', { wasm: 'log', floatOnly: true, f: Math.log, wgsl: () => 'log(x0)', derivative: ofX((x) => reciprocal(x)) }),
  // d sin x = cos x · dx
  sin: unary('sin', { wasm: 'sin', floatOnly: true, f: Math.sin, wgsl: () => 'sin(x0)', derivative: ofX((x) => cos(x)) }),
  // d cos x = -sin x · dx
  cos: unary('cos', { wasm: 'cos', floatOnly: true, f: Math.cos, wgsl: () => 'cos(x0)', derivative: ofX((x) => neg(sin(x))) }),
  // d tanh x = (1 - tanh² x) · dx   (WGSL clamps: tanh(±15) is ±1 in f32, and some implementations overflow past it)
  tanh: unary('tanh', {
    wasm: 'tanh',
    floatOnly: true,
    f: Math.tanh,
    wgsl: () => 'tanh(clamp(x0, -15.0, 15.0))',
    derivative: ofY((y) => sub(1, square(y))),
  }),
  // d σ(x) = σ(x)(1 - σ(x)) · dx
  sigmoid: unary('sigmoid', {
    wasm: 'sigmoid',
    floatOnly: true,
    f: sigmoidF,
    wgsl: () => 'sigmoid_f(x0)',
    prelude: SIGMOID_WGSL,
    derivative: ofY((y) => mul(y, sub(1, y))),
  }),
  // d relu x = [x > 0] · dx   (relu'(0) = 0; relu(NaN) = NaN)
  relu: unary('relu', {
    wasm: 'relu',
    floatOnly: false,
    f: (v) => (v > 0 || Number.isNaN(v) ? v : 0),
    wgsl: (t) => `select(${t}(0), x0, x0 > ${t}(0)${orNan(t, 'x0')})`,
    derivative: ofX((x) => greater(x, 0)),
  }),
  // d √x = dx / (2 √x)
  sqrt: unary('sqrt', { wasm: 'sqrt', floatOnly: true, f: Math.sqrt, wgsl: () => 'sqrt(x0)', derivative: ofY((y) => div(0.5, y)) }),
  // d x² = 2x · dx
  square: unary('square', { wasm: 'square', floatOnly: false, f: (v) => v * v, wgsl: () => 'x0 * x0', derivative: ofX((x) => mul(x, 2)) }),
  // d |x| = sign(x) · dx   (abs'(0) = 0)
  abs: unary('abs', { wasm: 'abs', floatOnly: false, f: Math.abs, wgsl: () => 'abs(x0)', derivative: ofX((x) => sign(x)) }),
  // d (1/x) = -dx / x² = -(1/x)² · dx
  reciprocal: unary('reciprocal', {
    wasm: 'reciprocal',
    floatOnly: true,
    f: (v) => 1 / v,
    wgsl: () => '1.0 / x0',
    derivative: ofY((y) => neg(square(y))),
  }),
  // sign is piecewise constant: d sign x = 0
  sign: unary('sign', {
    wasm: 'sign',
    floatOnly: false,
    f: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
    wgsl: (t) => `select(select(x0, ${t}(-1), x0 < ${t}(0)), ${t}(1), x0 > ${t}(0))`,
    derivative: 'zero',
  }),
  // d erf x = 2/√π · e^(−x²) · dx
  erf: unary('erf', {
    wasm: 'erf',
    floatOnly: true,
    f: erf64,
    wgsl: () => 'erf_f(x0)',
    prelude: SPECIAL_WGSL,
    derivative: ofX((x) => mul(exp(neg(square(x))), TWO_OVER_SQRT_PI)),
  }),
  // d erfc x = −2/√π · e^(−x²) · dx
  erfc: unary('erfc', {
    wasm: 'erfc',
    floatOnly: true,
    f: erfc64,
    wgsl: () => 'erfc_f(x0)',
    prelude: SPECIAL_WGSL,
    derivative: ofX((x) => mul(exp(neg(square(x))), -TWO_OVER_SQRT_PI)),
  }),
  // d log(1 + x) = dx / (1 + x)
  log1p: unary('log1p', {
    wasm: 'log1p',
    floatOnly: true,
    f: Math.log1p,
    wgsl: () => 'log1p_f(x0)',
    prelude: SPECIAL_WGSL,
    derivative: ofX((x) => reciprocal(add(x, 1))),
  }),
  // d (eˣ − 1) = eˣ · dx = (expm1 x + 1) · dx
  expm1: unary('expm1', {
    wasm: 'expm1',
    floatOnly: true,
    f: Math.expm1,
    wgsl: () => 'expm1_f(x0)',
    prelude: SPECIAL_WGSL,
    derivative: ofY((y) => add(y, 1)),
  }),
  // d softplus x = σ(x) · dx   (softplus'(0) = 1/2)
  softplus: unary('softplus', {
    wasm: 'softplus',
    floatOnly: true,
    f: softplus64,
    wgsl: () => 'softplus_f(x0)',
    prelude: SPECIAL_WGSL,
    derivative: ofX((x) => sigmoid(x)),
  }),
} satisfies Record<string, Builtin>;

interface BinarySpec {
  readonly floatOnly: boolean;
  readonly f: (a: number, b: number) => number;
  /** The WGSL expression over `x0`, `x1`. */
  readonly wgsl: (t: string) => string;
  readonly prelude?: string;
  /** The operation of the wasm binary kernel. */
  readonly wasm: WasmBinaryOp;
  /** ∂out/∂a and ∂out/∂b (broadcast against the inputs), or the rules of a bilinear op. */
  readonly derivative: readonly [Partial, Partial] | ReturnType<typeof bilinear<NoParams>>;
}

const binary = (name: string, spec: BinarySpec): Builtin => ({
  name,
  shape: binaryShape(name, spec.floatOnly),
  cpu: ([a, b], _p, out) => mapBinary(a!, b!, out, spec.f),
  webgpu: mapKernel(spec.wgsl, spec.prelude),
  wasm: wasmBinary(spec.wasm),
  batch: mapBatch,
  fusion: { f: spec.f, wgsl: spec.wgsl, ...(spec.prelude ? { prelude: spec.prelude } : {}), wasm: { kind: 'binary', op: spec.wasm } },
  ...('jvp' in spec.derivative ? spec.derivative : elementwise<NoParams>(arithmetic, ...spec.derivative)),
});

/** Piecewise-constant comparisons: 1 where the relation holds, else 0; zero derivative everywhere. */
const comparison = (name: string, op: WasmCompareOp, f: (a: number, b: number) => boolean): Builtin => ({
  name,
  shape: binaryShape(name, false),
  cpu: ([a, b], _p, out) => mapBinary(a!, b!, out, (x, y) => (f(x, y) ? 1 : 0)),
  webgpu: compareKernel(op),
  wasm: wasmCompare(op),
  batch: mapBatch,
  fusion: { f: (x, y) => (f(x, y) ? 1 : 0), wgsl: compareExpr(op), wasm: { kind: 'binary', op } },
  ...zeroDerivative<NoParams>(2),
});

/** log(a) where a > 0 and 0 elsewhere, without evaluating log at a ≤ 0. */
const safeLog = (a: Tensor): Tensor => {
  const pos = greater(a, 0);
  return where(pos, log(where(pos, a, 1)), 0);
};

/** The records of the binary elementwise primitives and comparisons, by name. */
export const binaryPrims = {
  // d(a + b) = da + db
  add: binary('add', { wasm: 'add', floatOnly: false, f: (a, b) => a + b, wgsl: () => 'x0 + x1', derivative: [1, 1] }),
  // d(a - b) = da - db
  sub: binary('sub', { wasm: 'sub', floatOnly: false, f: (a, b) => a - b, wgsl: () => 'x0 - x1', derivative: [1, -1] }),
  // d(a · b) = da · b + a · db   (bilinear: ā = ct · b, b̄ = a · ct, unbroadcast)
  mul: binary('mul', {
    wasm: 'mul',
    floatOnly: false,
    f: (a, b) => a * b,
    wgsl: () => 'x0 * x1',
    derivative: bilinear<NoParams>(
      arithmetic,
      (a, b) => mul(a, b),
      (ct, a, b) => unbroadcast(mul(ct, b), a.shape),
      (ct, a, b) => unbroadcast(mul(a, ct), b.shape),
    ),
  }),
  // d(a / b) = da / b - (a / b) · db / b
  div: binary('div', {
    wasm: 'div',
    floatOnly: true,
    f: (a, b) => a / b,
    wgsl: () => 'x0 / x1',
    derivative: [([, b]) => reciprocal(b!), ([, b], y) => neg(div(y, b!))],
  }),
  // d(a^b) = b · a^(b-1) · da + a^b · ln a · db   (ln a taken as 0 where a ≤ 0; at a = b = 0 the exponent b-1 is
  // replaced by 1 so that the first term is 0 · 0 = 0, not 0 · ∞: d/da a^0 = 0 everywhere)
  pow: binary('pow', {
    wasm: 'pow',
    floatOnly: true,
    f: Math.pow,
    wgsl: () => 'pow_f(x0, x1)',
    prelude: POW_WGSL,
    derivative: [([a, b]) => mul(b!, pow(a!, where(mul(equal(a!, 0), equal(b!, 0)), 1, sub(b!, 1)))), ([a], y) => mul(y, safeLog(a!))],
  }),
  // d max(a, b) = [a ≥ b] · da + [a < b] · db   (ties: the first argument; NaN propagates)
  maximum: binary('maximum', {
    wasm: 'maximum',
    floatOnly: false,
    f: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
    wgsl: (t) => (t === 'f32' ? 'select(x1, x0, x0 >= x1 || is_nan(x0))' : 'max(x0, x1)'),
    derivative: [([a, b]) => greaterEqual(a!, b!), ([a, b]) => less(a!, b!)],
  }),
  // d min(a, b) = [a ≤ b] · da + [a > b] · db   (ties: the first argument; NaN propagates)
  minimum: binary('minimum', {
    wasm: 'minimum',
    floatOnly: false,
    f: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
    wgsl: (t) => (t === 'f32' ? 'select(x1, x0, x0 <= x1 || is_nan(x0))' : 'min(x0, x1)'),
    derivative: [([a, b]) => lessEqual(a!, b!), ([a, b]) => greater(a!, b!)],
  }),
  // d logaddexp(a, b) = e^(a − out) · da + e^(b − out) · db = σ(a − b) · da + σ(b − a) · db   (1/2 each at a tie)
  logaddexp: binary('logaddexp', {
    wasm: 'logaddexp',
    floatOnly: true,
    f: logaddexp64,
    wgsl: () => 'logaddexp_f(x0, x1)',
    prelude: SPECIAL_WGSL,
    derivative: [([a, b]) => sigmoid(tieDifference(a!, b!)), ([a, b]) => sigmoid(tieDifference(b!, a!))],
  }),
  greater: comparison('greater', '>', (a, b) => a > b),
  greaterEqual: comparison('greaterEqual', '>=', (a, b) => a >= b),
  less: comparison('less', '<', (a, b) => a < b),
  lessEqual: comparison('lessEqual', '<=', (a, b) => a <= b),
  equal: comparison('equal', '==', (a, b) => a === b),
  notEqual: comparison('notEqual', '!=', (a, b) => a !== b),
} satisfies Record<string, Builtin>;

/** where(mask, ta, tb) for tangents, materialising a zero side only when the other is non-zero. */
function selectTangents(mask: Tensor, ta: MaybeZero, tb: MaybeZero, a: Tensor, b: Tensor): MaybeZero {
  if (ta === Zero && tb === Zero) return Zero;
  return where(mask, ta === Zero ? zerosLike(a) : ta, tb === Zero ? zerosLike(b) : tb);
}

/** The record of `where`: selection by a mask; d where(c, a, b) = where(c, da, db), no derivative in c. */
export const wherePrim: Builtin = {
  name: 'where',
  shape: ([c, a, b]) => {
    sameDtype('where', a!, b!);
    return { shape: broadcastShapes('where', c!.shape, a!.shape, b!.shape), dtype: a!.dtype };
  },
  cpu: ([c, a, b], _p, out) => {
    const n = sizeOf(out.shape);
    const cd = expand(c!, out.shape);
    const ad = expand(a!, out.shape);
    const bd = expand(b!, out.shape);
    const r = allocArray(out.dtype, n);
    for (let i = 0; i < n; i++) r[i] = cd[i] !== 0 ? ad[i]! : bd[i]!;
    return r;
  },
  webgpu: whereKernel,
  wasm: wasmWhere,
  batch: mapBatch,
  fusion: { f: (c, a, b) => (c !== 0 ? a : b), wgsl: (t) => `select(x2, x1, x0 != ${t}(0))`, wasm: { kind: 'where' } },
  ...handWritten<NoParams>(
    // d where(c, a, b) = where(c, da, db)   (c is not differentiable)
    ([c, a, b], [, ta, tb]) => selectTangents(c!, ta!, tb!, a!, b!),
    // ct flows to a where c holds and to b elsewhere
    (ct, [c, a, b], _p, _y, needed) => [
      Zero,
      needed[1] ? unbroadcast(where(c!, ct, 0), a!.shape) : Zero,
      needed[2] ? unbroadcast(where(c!, 0, ct), b!.shape) : Zero,
    ],
  ),
};

// ---- public op functions ----
const unaryOp =
  (p: Builtin) =>
  (x: TensorLike): Tensor =>
    bind(p, [asTensor(x)], NO_PARAMS);
const binaryOp =
  (p: Builtin) =>
  (a: TensorLike, b: TensorLike): Tensor =>
    bind(p, pair(a, b), NO_PARAMS);

/** A unary elementwise op. */
export type UnaryOp = (x: TensorLike) => Tensor;
/** A binary (broadcasting) elementwise op; a number operand takes the other's dtype and backend. */
export type BinaryOp = (a: TensorLike, b: TensorLike) => Tensor;

/** The names of the unary elementwise primitives. */
export type UnaryName = keyof typeof unaryPrims;
/** The names of the binary elementwise primitives (arithmetic and comparisons). */
export type BinaryName = keyof typeof binaryPrims;

const mapRecord = <K extends string, A, B>(r: Readonly<Record<K, A>>, f: (a: A) => B): Record<K, B> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, f(v as A)])) as Record<K, B>;

/** Every unary elementwise op by name (derived from the records): `unaryOps.exp(x)`. */
export const unaryOps: { readonly [K in UnaryName]: UnaryOp } = mapRecord(unaryPrims, unaryOp);
/** Every binary elementwise op by name (derived from the records): `binaryOps.add(a, b)`. */
export const binaryOps: { readonly [K in BinaryName]: BinaryOp } = mapRecord(binaryPrims, binaryOp);

/**
 * The rules of an elementwise primitive from its partial derivatives, one per
 * input (`null` for an input without a derivative): d out = Σᵢ ∂ᵢ · dxᵢ,
 * x̄ᵢ = unbroadcast(ct · ∂ᵢ). For user primitives (definePrimitive) and the
 * mutation suite.
 * @example
 * // d softsign x = 1 / (1 + |x|)² · dx
 * const rules = elementwiseRules(([x]) => ct.reciprocal(ct.square(ct.add(1, ct.abs(x)))));
 */
export const elementwiseRules = <P = NoParams>(...partials: readonly (Partial | null)[]): Rules<P> =>
  elementwise<P>(arithmetic, ...partials);

/** −x. d(−x) = −dx */
export const neg: UnaryOp = unaryOps.neg;
/** e^x. d exp x = exp x · dx */
export const exp: UnaryOp = unaryOps.exp;
/** Natural logarithm ln x. d ln x = dx / x */
export const log: UnaryOp = unaryOps.log;
/** sin x. d sin x = cos x · dx */
export const sin: UnaryOp = unaryOps.sin;
/** cos x. d cos x = −sin x · dx */
export const cos: UnaryOp = unaryOps.cos;
/** tanh x. d tanh x = (1 − tanh² x) · dx */
export const tanh: UnaryOp = unaryOps.tanh;
/** σ(x) = 1 / (1 + e^−x), computed stably. d σ(x) = σ(x)(1 − σ(x)) · dx */
export const sigmoid: UnaryOp = unaryOps.sigmoid;
/** max(x, 0); NaN propagates. d relu x = [x > 0] · dx (relu'(0) = 0) */
export const relu: UnaryOp = unaryOps.relu;
/** √x. d √x = dx / (2√x) */
export const sqrt: UnaryOp = unaryOps.sqrt;
/** x². d x² = 2x · dx */
export const square: UnaryOp = unaryOps.square;
/** |x|. d |x| = sign(x) · dx (abs'(0) = 0) */
export const abs: UnaryOp = unaryOps.abs;
/** 1 / x. d (1/x) = −dx / x² */
export const reciprocal: UnaryOp = unaryOps.reciprocal;
/** −1, 0 or 1 by the sign of x (sign(0) = 0). Piecewise constant: d sign x = 0 */
export const sign: UnaryOp = unaryOps.sign;

/**
 * The error function erf(x) = 2/√π ∫₀ˣ e^(−s²) ds (double precision on the cpu backend: about 1e-16 relative).
 * d erf x = 2/√π · e^(−x²) · dx
 */
export const erf: UnaryOp = unaryOps.erf;
/**
 * The complementary error function erfc(x) = 1 − erf(x), accurate in its tail (no cancellation).
 * d erfc x = −2/√π · e^(−x²) · dx
 */
export const erfc: UnaryOp = unaryOps.erfc;
/** log(1 + x), accurate for small x. d log1p x = dx / (1 + x) */
export const log1p: UnaryOp = unaryOps.log1p;
/** eˣ − 1, accurate for small x. d expm1 x = eˣ · dx */
export const expm1: UnaryOp = unaryOps.expm1;
/** softplus(x) = log(1 + eˣ), computed without overflow. d softplus x = σ(x) · dx (softplus'(0) = 1/2) */
export const softplus: UnaryOp = unaryOps.softplus;

/** a + b, broadcasting. d(a + b) = da + db (cotangents unbroadcast to each input's shape) */
export const add: BinaryOp = binaryOps.add;
/** a − b, broadcasting. d(a − b) = da − db */
export const sub: BinaryOp = binaryOps.sub;
/** a · b elementwise, broadcasting. d(a · b) = da · b + a · db */
export const mul: BinaryOp = binaryOps.mul;
/** a / b, broadcasting. d(a / b) = da / b − (a / b) · db / b */
export const div: BinaryOp = binaryOps.div;
/**
 * a^b, broadcasting (JavaScript's Math.pow conventions).
 * d(a^b) = b · a^(b−1) · da + a^b · ln a · db, with ln a taken as 0 where a ≤ 0 and d/da a^0 = 0 (also at a = 0)
 */
export const pow: BinaryOp = binaryOps.pow;
/** max(a, b) elementwise, broadcasting; NaN propagates. d max(a, b) = [a ≥ b] · da + [a < b] · db (ties: the first argument) */
export const maximum: BinaryOp = binaryOps.maximum;
/** min(a, b) elementwise, broadcasting; NaN propagates. d min(a, b) = [a ≤ b] · da + [a > b] · db (ties: the first argument) */
export const minimum: BinaryOp = binaryOps.minimum;
/**
 * log(eᵃ + eᵇ), broadcasting, computed stably (max + log1p(e^−|a−b|));
 * logaddexp(−∞, −∞) = −∞, logaddexp(∞, ∞) = ∞.
 * d logaddexp(a, b) = e^(a − out) · da + e^(b − out) · db, i.e. σ(a − b) and σ(b − a) (1/2 each at a tie)
 */
export const logaddexp: BinaryOp = binaryOps.logaddexp;
/** 1 where a > b, else 0, in the operands' dtype; broadcasting. No derivative (zero everywhere) */
export const greater: BinaryOp = binaryOps.greater;
/** 1 where a ≥ b, else 0, in the operands' dtype; broadcasting. No derivative (zero everywhere) */
export const greaterEqual: BinaryOp = binaryOps.greaterEqual;
/** 1 where a < b, else 0, in the operands' dtype; broadcasting. No derivative (zero everywhere) */
export const less: BinaryOp = binaryOps.less;
/** 1 where a ≤ b, else 0, in the operands' dtype; broadcasting. No derivative (zero everywhere) */
export const lessEqual: BinaryOp = binaryOps.lessEqual;
/** 1 where a = b, else 0, in the operands' dtype; broadcasting. No derivative (zero everywhere) */
export const equal: BinaryOp = binaryOps.equal;
/** 1 where a ≠ b, else 0, in the operands' dtype; broadcasting. No derivative (zero everywhere) */
export const notEqual: BinaryOp = binaryOps.notEqual;

/** where(cond, a, b): a where cond ≠ 0, else b; all three broadcast. */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = pair(a, b);
  const c = asTensor(cond, x);
  return bind(wherePrim, [c, x, y], NO_PARAMS);
}
