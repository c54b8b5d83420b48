/**
 * Law predicates on differentiable functions `f(...args) -> Tensor` (no test
 * runner here: each predicate returns a `LawResult`). These are the laws every
 * primitive, composite function and layer must pass:
 *
 * - `jvpMatchesFiniteDifferences`: the JVP equals central differences,
 *   (f(x + h·t) − f(x − h·t)) / 2h with h = eps · max(1, max|x|);
 * - `transposeLaw`: <ct, J·t> = <Jᵀ·ct, t> between the JVP and the VJP;
 * - `jvpIsLinear` / `vjpIsLinear`: J(a·t₁ + b·t₂) = a·J t₁ + b·J t₂, same for Jᵀ;
 * - `jacfwdEqualsJacrev`;
 * - `secondOrder`: grad∘grad (forward-over-reverse, reverse-over-reverse and
 *   reverse-over-forward Hessian-vector products) equals finite differences
 *   of grad, so the rules are themselves differentiable;
 * - `hessianIsSymmetric`;
 * - `zeroDerivative`: piecewise-constant functions have zero JVP and VJP.
 *
 * Every predicate catches errors thrown by the rules and reports them as a
 * failure naming the suspect rule.
 */
import * as ct from '../src/index.js';
import {
  compare,
  dot,
  F32_TOL,
  F64_TOL,
  isFloatDtype,
  lawBackend,
  looser,
  maxAbs,
  norm,
  randomLike,
  valuesOf,
  type Tolerance,
} from './numeric.js';
import { pass, type LawResult, type Suspect } from './result.js';

/** A function of tensors to a tensor: what the law predicates check. */
export type TensorFn = (...args: ct.Tensor[]) => ct.Tensor;

/** Options every law takes: tolerance and finite-difference step. */
export interface LawOptions {
  /** Tolerance override (default: by dtype; f64 rtol 1e-6 / atol 1e-8 for finite differences). */
  readonly tol?: Partial<Tolerance>;
  /** Relative finite-difference step (default 1e-6 in f64, 3e-3 when f32 is involved). */
  readonly eps?: number;
}

/** Run a law body, turning a thrown error into a failure naming the suspect. */
export function guard(law: string, suspect: Suspect, body: () => LawResult): LawResult {
  try {
    return ct.scope(body);
  } catch (e) {
    const err = e as Error;
    return { ok: false, law, suspect, message: `threw ${err.name ?? 'Error'}: ${err.message}` };
  }
}

const involvesF32 = (xs: readonly ct.Tensor[]): boolean => xs.some((x) => x.dtype === 'f32');

function tolerance(xs: readonly ct.Tensor[], base: Tolerance, opts: LawOptions): Tolerance {
  const t = involvesF32(xs) ? looser(base, F32_TOL) : base;
  return { rtol: opts.tol?.rtol ?? t.rtol, atol: opts.tol?.atol ?? t.atol };
}

/** x + s·t computed in x's dtype, as a fresh concrete tensor. */
function axpy(x: ct.Tensor, s: number, t: ct.Tensor): ct.Tensor {
  const xv = x.dataSync();
  const tv = t.dataSync();
  const v = new Float64Array(xv.length);
  for (let i = 0; i < v.length; i++) v[i] = xv[i]! + s * tv[i]!;
  return ct.tensor(v, { shape: [...x.shape], dtype: x.dtype, backend: lawBackend(x) });
}

/** Central finite difference of f at args along tangents. */
export function finiteDifference(f: TensorFn, args: readonly ct.Tensor[], tangents: readonly ct.Tensor[], eps: number): number[] {
  const h = eps * Math.max(1, ...args.map((a) => maxAbs(a.dataSync())));
  const plus = valuesOf(f(...args.map((x, i) => axpy(x, h, tangents[i]!))));
  const minus = valuesOf(f(...args.map((x, i) => axpy(x, -h, tangents[i]!))));
  // the step actually taken may differ from h after rounding in f32; central differences use the nominal h
  return plus.map((p, i) => (p - minus[i]!) / (2 * h));
}

const defaultEps = (xs: readonly ct.Tensor[], opts: LawOptions): number => opts.eps ?? (involvesF32(xs) ? 3e-3 : 1e-6);

function outTangent(f: TensorFn, args: readonly ct.Tensor[], tangents: readonly ct.Tensor[]): ct.Tensor {
  const [, t] = ct.jvp(f, args, tangents);
  return t;
}

function pullback(f: TensorFn, args: readonly ct.Tensor[], cot: ct.Tensor): ct.Tensor[] {
  const [, pb] = ct.vjp(f, ...args);
  return pb(cot) as ct.Tensor[];
}

/** Law: the JVP matches central finite differences. */
export function jvpMatchesFiniteDifferences(
  f: TensorFn,
  args: readonly ct.Tensor[],
  tangents: readonly ct.Tensor[],
  opts: LawOptions = {},
): LawResult {
  const law = 'jvp = finite differences';
  return guard(law, 'jvp', () => {
    const y = f(...args);
    if (!isFloatDtype(y.dtype)) return pass(law);
    const jt = outTangent(f, args, tangents);
    const fd = finiteDifference(f, args, tangents, defaultEps([...args, y], opts));
    const base = tolerance([...args, y], F64_TOL, opts);
    const tol = { rtol: base.rtol, atol: base.atol * Math.max(1, maxAbs(y.dataSync())) };
    const worst = compare(fd, valuesOf(jt), y.shape, tol);
    if (!worst) return pass(law);
    return {
      ok: false,
      law,
      suspect: 'jvp',
      message:
        `the JVP J·t differs from central finite differences (eps ${defaultEps([...args, y], opts)}, rtol ${tol.rtol}, atol ` +
        `${tol.atol})`,
      expectedLabel: 'finite differences',
      actualLabel: 'JVP',
      expected: fd,
      actual: valuesOf(jt),
      worst,
    };
  });
}

/** Law: <ct, J·t> = <Jᵀ·ct, t> (the hand-written JVP and VJP are adjoint). */
export function transposeLaw(
  f: TensorFn,
  args: readonly ct.Tensor[],
  tangents: readonly ct.Tensor[],
  cotangent: ct.Tensor,
  opts: LawOptions = {},
): LawResult {
  const law = 'transpose <ct, J t> = <Jᵀ ct, t>';
  return guard(law, 'jvp or vjp', () => {
    const jt = valuesOf(outTangent(f, args, tangents));
    const c = valuesOf(cotangent);
    let gs: ct.Tensor[];
    try {
      gs = pullback(f, args, cotangent);
    } catch (e) {
      return { ok: false, law, suspect: 'vjp', message: `the VJP threw ${(e as Error).name}: ${(e as Error).message}` };
    }
    const lhs = dot(c, jt);
    let rhs = 0;
    let bound = norm(c) * norm(jt);
    gs.forEach((g, i) => {
      const gv = valuesOf(g);
      const tv = valuesOf(tangents[i]!);
      rhs += dot(gv, tv);
      bound += norm(gv) * norm(tv);
    });
    const tol = tolerance([...args, cotangent], { rtol: 1e-9, atol: 1e-12 }, opts);
    const err = Math.abs(lhs - rhs);
    const allowed = tol.atol + tol.rtol * bound;
    if (err <= allowed) return pass(law);
    // decide which rule is suspect: the one that disagrees with finite differences
    let suspect: Suspect = 'jvp or vjp';
    try {
      const fdOk = jvpMatchesFiniteDifferences(f, args, tangents, opts).ok;
      suspect = fdOk ? 'vjp' : 'jvp';
    } catch {
      /* keep the undecided suspect */
    }
    return {
      ok: false,
      law,
      suspect,
      message:
        `<ct, J t> (via JVP) = ${lhs} but <Jᵀ ct, t> (via VJP) = ${rhs}; |difference| ${err.toExponential(3)} > ` +
        `${allowed.toExponential(3)}`,
      expectedLabel: '<ct, J t> via JVP',
      actualLabel: '<Jᵀ ct, t> via VJP',
      expected: [lhs],
      actual: [rhs],
    };
  });
}

function combine(a: number, x: ct.Tensor, b: number, y: ct.Tensor): ct.Tensor {
  const xv = x.dataSync();
  const yv = y.dataSync();
  const v = new Float64Array(xv.length);
  for (let i = 0; i < v.length; i++) v[i] = a * xv[i]! + b * yv[i]!;
  return ct.tensor(v, { shape: [...x.shape], dtype: x.dtype, backend: lawBackend(x) });
}

const combineAll = (a: number, xs: readonly ct.Tensor[], b: number, ys: readonly ct.Tensor[]) => xs.map((x, i) => combine(a, x, b, ys[i]!));

/** Law: the JVP is linear in the tangent: J(a·t₁ + b·t₂) = a·J t₁ + b·J t₂. */
export function jvpIsLinear(
  f: TensorFn,
  args: readonly ct.Tensor[],
  t1: readonly ct.Tensor[],
  t2: readonly ct.Tensor[],
  a: number,
  b: number,
  opts: LawOptions = {},
): LawResult {
  const law = 'JVP linearity';
  return guard(law, 'jvp', () => {
    const y = f(...args);
    if (!isFloatDtype(y.dtype)) return pass(law);
    const lhs = valuesOf(outTangent(f, args, combineAll(a, t1, b, t2)));
    const j1 = valuesOf(outTangent(f, args, t1));
    const j2 = valuesOf(outTangent(f, args, t2));
    const rhs = j1.map((v, i) => a * v + b * j2[i]!);
    const worst = compare(rhs, lhs, y.shape, tolerance([...args, y], { rtol: 1e-9, atol: 1e-12 }, opts));
    if (!worst) return pass(law);
    return {
      ok: false,
      law,
      suspect: 'jvp',
      message: `J(${a}·t₁ + ${b}·t₂) ≠ ${a}·J t₁ + ${b}·J t₂`,
      expectedLabel: 'a·J t₁ + b·J t₂',
      actualLabel: 'J(a·t₁ + b·t₂)',
      expected: rhs,
      actual: lhs,
      worst,
    };
  });
}

/** Law: the VJP is linear in the cotangent. */
export function vjpIsLinear(
  f: TensorFn,
  args: readonly ct.Tensor[],
  c1: ct.Tensor,
  c2: ct.Tensor,
  a: number,
  b: number,
  opts: LawOptions = {},
): LawResult {
  const law = 'VJP linearity';
  return guard(law, 'vjp', () => {
    const lhs = pullback(f, args, combine(a, c1, b, c2));
    const g1 = pullback(f, args, c1);
    const g2 = pullback(f, args, c2);
    const tol = tolerance([...args, c1], { rtol: 1e-9, atol: 1e-12 }, opts);
    for (let k = 0; k < args.length; k++) {
      const l = valuesOf(lhs[k]!);
      const r = valuesOf(g1[k]!).map((v, i) => a * v + b * valuesOf(g2[k]!)[i]!);
      const worst = compare(r, l, args[k]!.shape, tol);
      if (worst) {
        return {
          ok: false,
          law,
          suspect: 'vjp',
          message: `Jᵀ(${a}·c₁ + ${b}·c₂) ≠ ${a}·Jᵀc₁ + ${b}·Jᵀc₂ for argument ${k}`,
          expectedLabel: 'a·Jᵀc₁ + b·Jᵀc₂',
          actualLabel: 'Jᵀ(a·c₁ + b·c₂)',
          expected: r,
          actual: l,
          worst,
        };
      }
    }
    return pass(law);
  });
}

/** Law: the Jacobian by forward mode equals the Jacobian by reverse mode (argument k). */
export function jacfwdEqualsJacrev(f: TensorFn, args: readonly ct.Tensor[], k: number, opts: LawOptions = {}): LawResult {
  const law = 'jacfwd = jacrev';
  return guard(law, 'jvp or vjp', () => {
    const y = f(...args);
    if (!isFloatDtype(y.dtype)) return pass(law);
    const jf = ct.jacfwd(f, { argnums: k })(...args);
    const jr = ct.jacrev(f, { argnums: k })(...args);
    const worst = compare(valuesOf(jf), valuesOf(jr), jf.shape, tolerance([...args, y], { rtol: 1e-9, atol: 1e-12 }, opts));
    if (!worst) return pass(law);
    return {
      ok: false,
      law,
      suspect: 'jvp or vjp',
      message: `the Jacobians w.r.t. argument ${k} differ (shape [${jf.shape.join(',')}] = output ++ input)`,
      expectedLabel: 'jacfwd',
      actualLabel: 'jacrev',
      expected: valuesOf(jf),
      actual: valuesOf(jr),
      worst,
    };
  });
}

/**
 * Law (second order), for a scalar-valued f: the Hessian-vector product by
 * forward-over-reverse (jvp of grad), reverse-over-reverse (grad of
 * <grad f, v>) and reverse-over-forward (grad of jvp(f)(x; v)) all equal
 * central differences of grad f along v.
 */
export function secondOrder(f: TensorFn, args: readonly ct.Tensor[], k: number, v: ct.Tensor, opts: LawOptions = {}): LawResult {
  const law = 'grad∘grad = finite differences of grad';
  return guard(law, 'second-order rules', () => {
    const g: TensorFn = (...xs) => ct.grad(f, { argnums: k })(...xs) as ct.Tensor;
    const x = args[k]!;
    const fd = finiteDifference((xk) => g(...args.map((a, i) => (i === k ? xk : a))), [x], [v], defaultEps(args, opts));
    const tol = tolerance(args, { rtol: 1e-5, atol: 1e-7 }, opts);
    const scaled = { rtol: tol.rtol, atol: tol.atol * Math.max(1, maxAbs(g(...args).dataSync())) };
    const fwd = valuesOf(ct.jvp((xk: ct.Tensor) => g(...args.map((a, i) => (i === k ? xk : a))), [x], [v])[1]);
    let worst = compare(fd, fwd, x.shape, scaled);
    if (worst)
      return {
        ok: false,
        law,
        suspect: 'second-order rules',
        message: `forward-over-reverse H·v (jvp of grad, argument ${k}) differs from finite differences of grad`,
        expectedLabel: 'finite differences of grad',
        actualLabel: 'jvp(grad f)',
        expected: fd,
        actual: fwd,
        worst,
      };
    const rev = valuesOf(ct.grad((...xs: ct.Tensor[]) => ct.sum(ct.mul(g(...xs), v)), { argnums: k })(...args) as ct.Tensor);
    worst = compare(fd, rev, x.shape, scaled);
    if (worst)
      return {
        ok: false,
        law,
        suspect: 'second-order rules',
        message: `reverse-over-reverse Hᵀ·v (grad of <grad f, v>, argument ${k}) differs from finite differences of grad`,
        expectedLabel: 'finite differences of grad',
        actualLabel: 'grad(<grad f, v>)',
        expected: fd,
        actual: rev,
        worst,
      };
    // reverse-over-forward: grad of the directional derivative (differentiates the JVP rules themselves)
    const rof = valuesOf(
      ct.grad((...xs: ct.Tensor[]) => ct.jvp((xk: ct.Tensor) => f(...xs.map((a, i) => (i === k ? xk : a))), [xs[k]!], [v])[1], {
        argnums: k,
      })(...args) as ct.Tensor,
    );
    worst = compare(fd, rof, x.shape, scaled);
    if (worst)
      return {
        ok: false,
        law,
        suspect: 'second-order rules',
        message:
          `reverse-over-forward H·v (grad of jvp(f)(x; v), argument ${k}) differs from finite differences of grad: a JVP rule is ` +
          'not differentiable',
        expectedLabel: 'finite differences of grad',
        actualLabel: 'grad(jvp f · v)',
        expected: fd,
        actual: rof,
        worst,
      };
    return pass(law);
  });
}

/**
 * Law: mixed second derivatives. Along a joint direction `vs` (one tangent
 * per argument), the derivative of each argument's gradient, computed
 * forward-over-reverse (jvp of grad) and reverse-over-reverse (grad of
 * Σₖ <∇ₖ f, vₖ>) and reverse-over-forward (grad of the joint JVP), equals
 * central finite differences of that gradient. The
 * per-argument `secondOrder` law cannot see ∂²f/∂xᵢ∂xⱼ for i ≠ j; this one
 * does (a VJP rule that treats the other inputs as constants fails it).
 * Only f64 arguments vary; the others get zero tangents.
 */
export function mixedSecondOrder(f: TensorFn, args: readonly ct.Tensor[], vs: readonly ct.Tensor[], opts: LawOptions = {}): LawResult {
  const law = 'mixed second derivatives = finite differences of grad';
  return guard(law, 'second-order rules', () => {
    const ks = args.flatMap((a, i) => (a.dtype === 'f64' ? [i] : []));
    if (ks.length < 2) return pass(law);
    const tangents = args.map((a, i) => (ks.includes(i) ? vs[i]! : ct.zerosLike(a)));
    const grads = (...xs: ct.Tensor[]) => ct.grad(f, { argnums: ks })(...xs) as ct.Tensor[];
    const tol = tolerance(args, { rtol: 1e-5, atol: 1e-7 }, opts);
    const eps = defaultEps(args, opts);
    const rev = ct.grad(
      (...xs: ct.Tensor[]) =>
        grads(...xs).reduce((acc: ct.Tensor, g, j) => ct.add(acc, ct.sum(ct.mul(g, tangents[ks[j]!]!))), ct.scalar(0, { dtype: 'f64' })),
      {
        argnums: ks,
      },
    )(...args) as ct.Tensor[];
    // reverse-over-forward: the gradient of the joint directional derivative differentiates the JVP rules
    const rof = ct.grad((...xs: ct.Tensor[]) => ct.jvp(f, xs, tangents)[1], { argnums: ks })(...args) as ct.Tensor[];
    for (let j = 0; j < ks.length; j++) {
      const k = ks[j]!;
      const gk: TensorFn = (...xs) => grads(...xs)[j]!;
      const fd = finiteDifference(gk, args, tangents, eps);
      const scaled = { rtol: tol.rtol, atol: tol.atol * Math.max(1, maxAbs(gk(...args).dataSync())) };
      const fwd = valuesOf(ct.jvp(gk, args, tangents)[1]);
      let worst = compare(fd, fwd, args[k]!.shape, scaled);
      if (worst)
        return {
          ok: false,
          law,
          suspect: 'second-order rules',
          message:
            `jvp of grad along all arguments at once differs from finite differences of the gradient of argument ${k}: a rule ` +
            'loses a mixed second derivative',
          expectedLabel: 'finite differences of grad',
          actualLabel: 'jvp(grad f)',
          expected: fd,
          actual: fwd,
          worst,
        };
      const r = valuesOf(rev[j]!);
      worst = compare(fd, r, args[k]!.shape, scaled);
      if (worst)
        return {
          ok: false,
          law,
          suspect: 'second-order rules',
          message:
            `grad of Σ<grad f, v> differs from finite differences of the gradient of argument ${k}: a rule loses a mixed second ` +
            'derivative',
          expectedLabel: 'finite differences of grad',
          actualLabel: 'grad(<grad f, v>)',
          expected: fd,
          actual: r,
          worst,
        };
      const q = valuesOf(rof[j]!);
      worst = compare(fd, q, args[k]!.shape, scaled);
      if (worst)
        return {
          ok: false,
          law,
          suspect: 'second-order rules',
          message:
            `grad of jvp(f)(x; v) along all arguments differs from finite differences of the gradient of argument ${k}: a JVP rule ` +
            'loses a mixed second derivative',
          expectedLabel: 'finite differences of grad',
          actualLabel: 'grad(jvp f · v)',
          expected: fd,
          actual: q,
          worst,
        };
    }
    return pass(law);
  });
}

/** Law: the Hessian of a scalar function is symmetric (argument k). */
export function hessianIsSymmetric(f: TensorFn, args: readonly ct.Tensor[], k: number, opts: LawOptions = {}): LawResult {
  const law = 'symmetric Hessian';
  return guard(law, 'second-order rules', () => {
    const h = valuesOf(ct.hessian(f, { argnums: k })(...args));
    const n = args[k]!.size;
    const ht = h.map((_, idx) => h[(idx % n) * n + Math.floor(idx / n)]!);
    const worst = compare(ht, h, [n, n], tolerance(args, { rtol: 1e-8, atol: 1e-10 }, opts));
    if (!worst) return pass(law);
    return {
      ok: false,
      law,
      suspect: 'second-order rules',
      message: `H ≠ Hᵀ for argument ${k} (flattened ${n}×${n})`,
      expectedLabel: 'Hᵀ',
      actualLabel: 'H',
      expected: ht,
      actual: h,
      worst,
    };
  });
}

/**
 * Law: a piecewise-constant (or non-differentiable-by-design) function has a
 * zero JVP and a zero VJP; with `finiteDifferences`, central differences are
 * zero too (inputs must then be away from the jumps).
 */
export function zeroDerivative(
  f: TensorFn,
  args: readonly ct.Tensor[],
  tangents: readonly ct.Tensor[],
  cotangent: ct.Tensor,
  opts: LawOptions & { finiteDifferences?: boolean } = {},
): LawResult {
  const law = 'zero derivative';
  return guard(law, 'jvp or vjp', () => {
    const jt = valuesOf(outTangent(f, args, tangents));
    if (maxAbs(jt) !== 0)
      return {
        ok: false,
        law,
        suspect: 'jvp',
        message: 'the JVP of a function with zero derivative is not zero',
        expectedLabel: 'zeros',
        actualLabel: 'JVP',
        expected: jt.map(() => 0),
        actual: jt,
      };
    const gs = pullback(f, args, cotangent);
    for (let k = 0; k < gs.length; k++) {
      const g = valuesOf(gs[k]!);
      if (maxAbs(g) !== 0)
        return {
          ok: false,
          law,
          suspect: 'vjp',
          message: `the VJP (argument ${k}) of a function with zero derivative is not zero`,
          expectedLabel: 'zeros',
          actualLabel: 'VJP',
          expected: g.map(() => 0),
          actual: g,
        };
    }
    if (opts.finiteDifferences) {
      const y = f(...args);
      if (isFloatDtype(y.dtype)) {
        const fd = finiteDifference(f, args, tangents, defaultEps(args, opts));
        if (maxAbs(fd) > 1e-9)
          return {
            ok: false,
            law,
            suspect: 'kernel',
            message: 'finite differences are not zero: the function is not piecewise constant here',
            expectedLabel: 'zeros',
            actualLabel: 'finite differences',
            expected: fd.map(() => 0),
            actual: fd,
          };
      }
    }
    return pass(law);
  });
}

/** Random tangents for the float arguments (zeros for integer ones), from a seed. */
export function randomTangents(args: readonly ct.Tensor[], rand: () => number): ct.Tensor[] {
  return args.map((a) => (isFloatDtype(a.dtype) ? randomLike(a, rand) : ct.zerosLike(a)));
}

/**
 * Law: the VJP matches finite differences without going through the JVP rule:
 * <ct, (f(x + h·t) − f(x − h·t)) / 2h> = <Jᵀ·ct, t>.
 */
export function vjpMatchesFiniteDifferences(
  f: TensorFn,
  args: readonly ct.Tensor[],
  tangents: readonly ct.Tensor[],
  cotangent: ct.Tensor,
  opts: LawOptions = {},
): LawResult {
  const law = 'vjp = finite differences';
  return guard(law, 'vjp', () => {
    const y = f(...args);
    if (!isFloatDtype(y.dtype)) return pass(law);
    const fd = finiteDifference(f, args, tangents, defaultEps([...args, y], opts));
    const c = valuesOf(cotangent);
    const lhs = dot(c, fd);
    const gs = pullback(f, args, cotangent);
    let rhs = 0;
    let bound = norm(c) * norm(fd);
    gs.forEach((g, i) => {
      const gv = valuesOf(g);
      const tv = valuesOf(tangents[i]!);
      rhs += dot(gv, tv);
      bound += norm(gv) * norm(tv);
    });
    const base = tolerance([...args, y], F64_TOL, opts);
    const allowed = base.atol * Math.max(1, maxAbs(y.dataSync())) * Math.max(1, norm(c)) + base.rtol * bound;
    if (Math.abs(lhs - rhs) <= allowed) return pass(law);
    return {
      ok: false,
      law,
      suspect: 'vjp',
      message:
        `<ct, finite differences> = ${lhs} but <Jᵀ ct, t> (via VJP) = ${rhs}; |difference| ${Math.abs(lhs - rhs).toExponential(3)} ` +
        `> ${allowed.toExponential(3)}`,
      expectedLabel: '<ct, FD>',
      actualLabel: '<Jᵀ ct, t>',
      expected: [lhs],
      actual: [rhs],
    };
  });
}
